"""What-if scenarios: open or close facilities, build a walking link, close a street.

A :class:`~livingcircle.geo.scenario_spec.Scenario` lists changes; :func:`run_scenario`
measures the region with them against an existing :class:`~livingcircle.geo.gaps.Analysis`
(the *before*) and returns the *after* as another ``Analysis`` plus the figures and
difference layers a planner compares
(:class:`~livingcircle.geo.scenario_result.ScenarioResult`). A scenario is a computation,
never an edit: the region, its network and its stored data are left as they were.

The rooms: ``scenario_spec`` (what a scenario says), ``scenario_check`` (the changes checked
and resolved against a region), ``scenario_network`` (the changed street network and where
points stand on it), ``scenario_result`` (the figures and layers) and this module (the
computation).

Nothing is re-analysed whole:

* **Facility changes** update each changed category's distance field in place
  (:mod:`livingcircle.geo.incremental`): an opened facility by the elementwise minimum of
  the old field and a search from the new facility only; a closed one by finding the nodes
  whose nearest it was (their distance equals the distance through it) and recomputing just
  those from their neighbours. Counts and k nearest are redone for the homes within the
  analysis horizon of a changed facility, from the facilities within the horizon of them.
* **Network changes** work on the region's network split where a link meets a street
  (:class:`~livingcircle.geo.scenario_network.NetworkChange`, node and edge ids of the
  region kept): a closed street's walks are found and recomputed as a closed facility's
  are, a link's improvements spread as an opened facility's do, and counts are redone for
  the homes within the horizon of a changed street. Homes and facilities keep their place
  on the street unless theirs is closed (they move to the nearest open street) or a new
  link passes closer (they move onto it), as a region built with the changed network would
  place them.

Exactness against a full re-analysis is checked in ``tests/geo/test_scenario.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from livingcircle.geo import config, incremental
from livingcircle.geo.accessibility import points_distance
from livingcircle.geo.demand import Demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.gaps import Analysis, CategoryAccess
from livingcircle.geo.kernels_numpy import k_and_counts_from_pairs
from livingcircle.geo.network import FloatArray
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import Snap, snap_points
from livingcircle.geo.scenario_check import Resolved, check_scenario, link_nodes, resolve
from livingcircle.geo.scenario_network import (
    NetworkChange,
    nearest_open,
    network_with,
    place_points,
)
from livingcircle.geo.scenario_result import ScenarioResult, facility_layer, street_layer
from livingcircle.geo.scenario_spec import (
    ClosedStreet,
    NewFacility,
    NewLink,
    Scenario,
    ScenarioError,
)

# The scenario's public door: what callers outside geo/ import from here.
__all__ = [
    "ClosedStreet",
    "NetworkChange",
    "NewFacility",
    "NewLink",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "check_scenario",
    "run_scenario",
]


@dataclass(frozen=True)
class _Facilities:
    """The facilities after the scenario, on the network the computation uses."""

    snap: Snap
    category: NDArray[np.int64]
    removed: NDArray[np.int64]  # rows of the region's facilities that are gone or moved
    removed_snap: Snap  # their positions before (on the split network)
    added_snap: Snap  # opened facilities and moved ones, where they are now
    added_category: NDArray[np.int64]


def run_scenario(
    region: Region,
    demand: Demand,
    before: Analysis,
    scenario: Scenario,
    graph: ReachGraph | None = None,
    way_ids: NDArray[np.int64] | None = None,
    source: str = "the scenario",
) -> ScenarioResult:
    """The region with a scenario's changes, computed from ``before`` where they reach.

    Parameters
    ----------
    region
        The loaded region (left unchanged).
    demand
        The homes ``before`` was computed for.
    before
        :func:`livingcircle.geo.gaps.analyse` of ``region`` and ``demand``; the after
        analysis keeps its categories, minutes, k, horizon and speed.
    scenario
        The changes.
    graph
        The region's reversed graph, if one is at hand (built here if not).
    way_ids
        Each stored edge's OSM way id (the stored edges' ``way_id``), for closing a street
        by way. At a profile's view of the region, closures are resolved on the stored
        streets and then on the view's (see :func:`~livingcircle.geo.scenario_check.resolve`).
    source
        What to call the scenario in error messages (its file name).

    Raises
    ------
    ScenarioError
        A change names an unknown category or facility, a point outside the region or too
        far from any street, and so on; every problem is listed.
    """
    t0 = time.perf_counter()
    res = resolve(region, scenario, way_ids)
    if res.problems:
        raise ScenarioError(res.problems, source)
    if len(demand) != len(before.demand):
        raise InvalidParameter(
            f"the analysis has {len(before.demand):,} homes but demand "
            f"{len(demand):,}; pass the demand the analysis was made for"
        )
    rg = graph if graph is not None else ReachGraph(region.net)
    links = link_nodes(region, res) if scenario.changes_network else []
    change = (
        network_with(region, res.cut_edge, res.cut_off, links, res.closed_edges)
        if scenario.changes_network
        else None
    )
    t1 = time.perf_counter()
    run = _Run(region, demand, before, res, change, rg)
    after = run.after()
    t2 = time.perf_counter()
    cats = tuple(before.categories) if change is not None else run.changed_categories
    return ScenarioResult(
        scenario,
        before,
        after,
        cats,
        change,
        facility_layer(region, scenario, res.closed_rows),
        street_layer(region, change),
        {"prepare": t1 - t0, "compute": t2 - t1, **run.timings},
        tuple(res.notes),
    )


class _Run:
    """One scenario's computation over every analysed category."""

    def __init__(
        self,
        region: Region,
        demand: Demand,
        before: Analysis,
        res: Resolved,
        change: NetworkChange | None,
        rg: ReachGraph,
    ) -> None:
        self.region, self.demand, self.before, self.res = region, demand, before, res
        self.change, self.rg = change, rg
        self.timings: dict[str, float] = {}
        base = region.net
        t = time.perf_counter()
        if change is None:
            self.net = base
            self.graph = incremental.Graph.from_reach(rg)
            self.homes, self.homes_moved = demand.snap, np.zeros(len(demand), dtype=bool)
        else:
            self.net = change.net
            self.graph = incremental.Graph.from_network(change.net)
            home_xy = _project(region, demand.frame)
            self.homes, self.homes_moved = place_points(
                change, base, home_xy, demand.snap, region.max_snap_m
            )
        self.fac = self._facilities()
        self.timings["place"] = time.perf_counter() - t
        codes = np.unique(
            np.concatenate([self.fac.added_category, region.facilities.category[self.fac.removed]])
        )
        ids = region.standard.category_ids
        self.changed_categories = tuple(
            c for c in before.categories if change is not None or ids.index(c) in codes
        )

    def _facilities(self) -> _Facilities:
        region, res, change = self.region, self.res, self.change
        fac = region.facilities
        n = len(fac.category)
        gone = np.zeros(n, dtype=bool)
        gone[res.closed_rows] = True
        limit = config.MAX_FACILITY_SNAP_M
        if change is None:
            snap, moved = fac.snap, np.zeros(n, dtype=bool)
            new = snap_points(region.net, res.new_xy, limit)
        else:
            snap, moved = place_points(change, region.net, fac.anchor_xy, fac.snap, limit)
            new = nearest_open(change, region.net, res.new_xy, limit)
        before = change.remap(fac.snap) if change is not None else fac.snap
        removed = np.flatnonzero(gone | moved)
        stays = np.flatnonzero(~gone & (snap.edge >= 0))
        moved_ok = np.flatnonzero(moved & ~gone & (snap.edge >= 0))
        new_ok = np.flatnonzero(new.edge >= 0)
        cat = fac.category.astype(np.int64)
        added = _concat_snaps([snap[moved_ok], new[new_ok]])
        added_cat = np.concatenate([cat[moved_ok], res.new_codes[new_ok]])
        after = _concat_snaps([snap[stays], new[new_ok]])
        after_cat = np.concatenate([cat[stays], res.new_codes[new_ok]])
        return _Facilities(after, after_cat, removed, before[removed], added, added_cat)

    def after(self) -> Analysis:
        """The analysis with the scenario, category by category."""
        todo = self.changed_categories  # the others keep their arrays
        t = time.perf_counter()
        fields = {c: self._field(c) for c in todo}
        self.timings["fields"] = time.perf_counter() - t
        t = time.perf_counter()
        nearest = {c: self._nearest(c, *fields[c]) for c in todo}
        self.timings["nearest"] = time.perf_counter() - t
        t = time.perf_counter()
        k_within = self._k_and_counts(todo)
        self.timings["k_and_counts"] = time.perf_counter() - t
        cats = dict(self.before.categories)
        for c in todo:
            acc = cats[c]
            k_best, within = k_within.get(c, (acc.k_nearest_m, acc.within))
            cats[c] = CategoryAccess(c, acc.radius_m, fields[c][0], nearest[c], k_best, within)
        demand = replace(self.demand, snap=self.homes)
        return replace(self.before, demand=demand, categories=cats, timings_s=dict(self.timings))

    # -- fields ---------------------------------------------------------------------------

    def _field(self, category: str) -> tuple[FloatArray, NDArray[np.bool_]]:
        """The category's node field after the scenario, and which nodes it changed."""
        code = self.region.standard.category_index(category)
        old = self.before.access(category).node_m
        field = self._extended(old, code)
        start = field.copy()
        g, net, change, fac = self.graph, self.net, self.change, self.fac
        before = incremental.Walk(g, change.before_ok if change else None)
        after = incremental.Walk(g, change.after_ok if change else None)
        gone = np.flatnonzero(self.region.facilities.category[fac.removed] == code)
        remaining = self._remaining(code)
        if len(gone):
            via = incremental.facility_sources(net, fac.removed_snap[gone])
            field, _ = incremental.close(before, before, field, via, remaining)
        if change is not None and change.closed.any():
            closed = np.flatnonzero(change.closed & ~change.replaced)
            via = incremental.arc_sources(net, closed, field)
            closed_walk = incremental.Walk(g, change.closed_ok)
            field, _ = incremental.close(before, closed_walk, field, via, remaining)
        if change is not None and change.link.any():
            via = incremental.arc_sources(net, np.flatnonzero(change.link), field)
            field, _ = incremental.improve(after, field, via)
        mine = np.flatnonzero(fac.added_category == code)
        if len(mine):
            via = incremental.facility_sources(net, fac.added_snap[mine])
            field, _ = incremental.improve(after, field, via)
        return field, field != start

    def _remaining(self, code: int) -> incremental.Sources:
        """Entries of the category's facilities that stay where they were."""
        fac, region = self.fac, self.region
        rows = np.flatnonzero(region.facilities.category == code)
        rows = rows[~np.isin(rows, fac.removed)]
        snap = region.facilities.snap[rows]
        if self.change is not None:
            snap = self.change.remap(snap)
        return incremental.facility_sources(self.net, snap)

    def _extended(self, old: FloatArray, code: int) -> FloatArray:
        """The old field on the split network: new nodes read off the edge they split."""
        if self.change is None or self.change.net.n_nodes == len(old):
            return old.copy()
        region, change = self.region, self.change
        cut_edge = np.asarray(self.res.cut_edge, dtype=np.int32)
        cut_off = np.asarray(self.res.cut_off, dtype=np.float64)
        at = Snap(
            cut_edge, cut_off, np.zeros(len(cut_edge)), region.net.points_at(cut_edge, cut_off)
        )
        mine = region.facilities.snap[np.flatnonzero(region.facilities.category == code)]
        extra = points_distance(region.net, old, at, mine)
        extra = np.where(extra <= config.NEAREST_MAX_RADIUS_M, extra, np.inf)
        return np.concatenate(
            [old, extra, np.full(change.net.n_nodes - len(old) - len(extra), np.inf)]
        )

    # -- homes ------------------------------------------------------------------------------

    def _nearest(self, category: str, node_m: FloatArray, changed: NDArray[np.bool_]) -> FloatArray:
        """Each home's walk to the nearest, redone where its street or field changed."""
        code = self.region.standard.category_index(category)
        out = self.before.access(category).nearest_m.copy()
        homes, net, fac = self.homes, self.net, self.fac
        ok = homes.edge >= 0
        edge = np.where(ok, homes.edge, 0)
        touched = np.zeros(net.n_edges, dtype=bool)
        touched[fac.removed_snap.edge[self.region.facilities.category[fac.removed] == code]] = 1
        touched[fac.added_snap.edge[fac.added_category == code]] = True
        redo = ok & (
            changed[net.edge_u[edge]] | changed[net.edge_v[edge]] | touched[edge] | self.homes_moved
        )
        if self.change is not None:
            redo |= ok & (self.change.link[edge] | (edge >= self.change.n_base_edges))
        idx = np.flatnonzero(redo)
        mine = self.fac.snap[np.flatnonzero(self.fac.category == code)]
        dist = points_distance(net, node_m, homes[idx], mine)
        out[idx] = np.where(dist <= config.NEAREST_MAX_RADIUS_M, dist, np.inf)
        out[~ok] = np.inf
        return out

    def _k_and_counts(
        self, todo: Sequence[str]
    ) -> dict[str, tuple[NDArray[np.float32], NDArray[np.int32]]]:
        """The k nearest and counts for the homes within the horizon of a change."""
        before, homes = self.before, self.homes
        reach = config.disc_radius(before.horizon_m)
        ok = homes.edge >= 0
        near_net = self._near_network(reach) | self.homes_moved
        std = self.region.standard
        per_cat: dict[str, NDArray[np.bool_]] = {}
        for c in todo:
            code = std.category_index(c)
            pts = np.vstack(
                [
                    self.fac.removed_snap.xy[
                        self.region.facilities.category[self.fac.removed] == code
                    ],
                    self.fac.added_snap.xy[self.fac.added_category == code],
                ]
            )
            mask = near_net | _near_points(homes.xy, pts, reach, ok)
            if mask.any():
                per_cat[c] = mask & ok
        if not per_cat:
            return {}
        union = np.flatnonzero(np.any(list(per_cat.values()), axis=0))
        if len(union) == 0:
            return {}
        return self._recount(per_cat, union, reach)

    def _recount(
        self, per_cat: dict[str, NDArray[np.bool_]], union: NDArray[np.intp], reach: float
    ) -> dict[str, tuple[NDArray[np.float32], NDArray[np.int32]]]:
        before, std, fac = self.before, self.region.standard, self.fac
        codes = np.array([std.category_index(c) for c in per_cat], dtype=np.int64)
        slot = np.full(len(std.categories), -1, dtype=np.int64)
        slot[codes] = np.arange(len(codes))
        wanted = np.flatnonzero(np.isin(fac.category, codes))
        if len(wanted):
            d, _ = cKDTree(self.homes.xy[union]).query(
                fac.snap.xy[wanted], distance_upper_bound=reach
            )
            wanted = wanted[np.isfinite(d)]
        rg, places, points = self._pair_graph(fac.snap[wanted], self.homes[union])
        limits = np.asarray(before.minutes, dtype=np.float64) * 60 * before.speed_m_s
        chunks = rg.pairs_within(
            places, points, before.horizon_m, tile_m=max(before.horizon_m, 500.0)
        )
        best, within = k_and_counts_from_pairs(
            chunks, slot[fac.category[wanted]], len(codes), len(union), before.k, limits
        )
        out = {}
        for j, c in enumerate(per_cat):
            acc = before.access(c)
            k_best, counts = acc.k_nearest_m.copy(), acc.within.copy()
            rows = per_cat[c][union]
            k_best[union[rows]] = best[j][rows]
            counts[union[rows]] = within[rows, j, :]
            lost = self.homes.edge < 0
            k_best[lost], counts[lost] = np.inf, 0
            out[c] = (k_best, counts)
        return out

    def _pair_graph(self, places: Snap, points: Snap) -> tuple[ReachGraph, Snap, Snap]:
        """The graph pairs are counted on, with places and points on its edge ids."""
        if self.change is None:
            return self.rg, places, points
        final, ids = self.change.final_network()

        def on(s: Snap) -> Snap:
            return Snap(ids[s.edge].astype(np.int32), s.offset_m, s.access_m, s.xy)

        return ReachGraph(final), on(places), on(points)

    def _near_network(self, reach: float) -> NDArray[np.bool_]:
        """Homes within ``reach`` of a closed street or a new link."""
        n = len(self.homes)
        if self.change is None:
            return np.zeros(n, dtype=bool)
        change = self.change
        edges = np.flatnonzero((change.closed & ~change.replaced) | change.link)
        return _near_lines(self.homes.xy, change.net.edge_geom[edges], reach)


def _project(region: Region, frame: gpd.GeoDataFrame) -> FloatArray:
    geom = frame.geometry.to_numpy()
    return region.project(shapely.get_x(geom), shapely.get_y(geom))


def _near_points(
    xy: FloatArray, centres: FloatArray, reach: float, ok: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Which of the points (those ``ok``) lie within ``reach`` of a centre."""
    out = np.zeros(len(xy), dtype=bool)
    if len(centres) == 0 or not ok.any():
        return out
    lo, hi = centres.min(axis=0) - reach, centres.max(axis=0) + reach
    idx = np.flatnonzero(ok & (xy >= lo).all(axis=1) & (xy <= hi).all(axis=1))
    d, _ = cKDTree(centres).query(xy[idx], distance_upper_bound=reach)
    out[idx] = np.isfinite(d)
    return out


def _near_lines(xy: FloatArray, lines: NDArray[np.object_], reach: float) -> NDArray[np.bool_]:
    out = np.zeros(len(xy), dtype=bool)
    if len(lines) == 0:
        return out
    bounds = shapely.bounds(lines)
    lo, hi = bounds[:, :2].min(axis=0) - reach, bounds[:, 2:].max(axis=0) + reach
    cand = np.flatnonzero((xy >= lo).all(axis=1) & (xy <= hi).all(axis=1))
    if len(cand):
        tree = shapely.STRtree(lines)
        src, _ = tree.query(shapely.points(xy[cand]), predicate="dwithin", distance=reach)
        out[cand[np.unique(src)]] = True
    return out


def _concat_snaps(parts: Iterable[Snap]) -> Snap:
    parts = list(parts)
    return Snap(
        np.concatenate([p.edge for p in parts]).astype(np.int32),
        np.concatenate([p.offset_m for p in parts]),
        np.concatenate([p.access_m for p in parts]),
        np.concatenate([p.xy for p in parts]).reshape(-1, 2),
    )
