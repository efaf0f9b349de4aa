"""What-if scenarios: open or close facilities, build a walking link, close a street.

A :class:`Scenario` lists changes; :func:`run_scenario` measures the region with them
against an existing :class:`~livingcircle.geo.gaps.Analysis` (the *before*) and returns the
*after* as another ``Analysis`` plus the figures and difference layers a planner compares
(:class:`ScenarioResult`). A scenario is a computation, never an edit: the region, its
network and its stored data are left as they were.

Nothing is re-analysed whole:

* **Facility changes** update each changed category's distance field in place
  (:mod:`livingcircle.geo.incremental`): an opened facility by the elementwise minimum of
  the old field and a search from the new facility only; a closed one by finding the nodes
  whose nearest it was (their distance equals the distance through it) and recomputing just
  those from their neighbours. Counts and k nearest are redone for the homes within the
  analysis horizon of a changed facility, from the facilities within the horizon of them.
* **Network changes** work on the region's network split where a link meets a street
  (:class:`NetworkChange`, node and edge ids of the region kept): a closed street's walks
  are found and recomputed as a closed facility's are, a link's improvements spread as an
  opened facility's do, and counts are redone for the homes within the horizon of a changed
  street. Homes and facilities keep their place on the street unless theirs is closed (they
  move to the nearest open street) or a new link passes closer (they move onto it), as a
  region built with the changed network would place them.

Exactness against a full re-analysis is checked in ``tests/geo/test_scenario.py``.
"""

from __future__ import annotations

import difflib
import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from livingcircle.geo import config, incremental
from livingcircle.geo.accessibility import points_distance
from livingcircle.geo.demand import Demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.gaps import Analysis, CategoryAccess, _k_and_counts
from livingcircle.geo.network import FloatArray, StreetNetwork, geodesic_m
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import Snap, search, snap_points

#: A link end is snapped onto the nearest street within this many metres by default.
LINK_SNAP_M = 50.0
#: A street to close is found within this many metres of the point given.
CLOSE_SNAP_M = 50.0
#: A link end this close to a street's end node joins that node (no new node), metres.
NODE_MERGE_M = 1.0
#: Longest walk searched between the two points of a ``between`` closure, metres.
CLOSE_PATH_MAX_M = 3_000.0
#: Most changes one scenario may list.
MAX_CHANGES = 1_000
#: Longest walking link a scenario may add, metres.
MAX_LINK_M = 2_000.0
Lonlat = tuple[float, float]


class ScenarioError(InvalidParameter):
    """A scenario that cannot be run; ``problems`` lists every reason, one sentence each."""

    def __init__(self, problems: Sequence[str], source: str = "the scenario") -> None:
        head = f"{source} has {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
        super().__init__(head + "; ".join(problems))
        self.problems = list(problems)


# -- what a scenario says -----------------------------------------------------------------


@dataclass(frozen=True)
class NewFacility:
    """A facility to open: its category, where (WGS 84), a name and an optional capacity."""

    category: str
    lon: float
    lat: float
    name: str = ""
    capacity: float | None = None
    id: str = ""


@dataclass(frozen=True)
class NewLink:
    """A walking link (crossing, footbridge) between two points (lon, lat).

    Each end joins the nearest street within ``max_snap_m``; the link is walkable both ways
    unless ``oneway`` (then only from ``start`` to ``end``).
    """

    start: Lonlat
    end: Lonlat
    oneway: bool = False
    name: str = ""
    max_snap_m: float = LINK_SNAP_M


@dataclass(frozen=True)
class ClosedStreet:
    """Streets to close: an OSM way, the street nearest a point, or a walk between two.

    Give exactly one of ``way_id`` (every edge of that way), ``at`` (the edge nearest the
    point, lon/lat) or ``between`` (the edges of the shortest walk between two points).
    """

    way_id: int | None = None
    at: Lonlat | None = None
    between: tuple[Lonlat, Lonlat] | None = None
    name: str = ""
    max_snap_m: float = CLOSE_SNAP_M


@dataclass(frozen=True)
class Scenario:
    """A named list of changes; ``close_facilities`` are facility ids of the region."""

    name: str = "scenario"
    add_facilities: tuple[NewFacility, ...] = ()
    close_facilities: tuple[str, ...] = ()
    add_links: tuple[NewLink, ...] = ()
    close_streets: tuple[ClosedStreet, ...] = ()

    @property
    def changes_network(self) -> bool:
        """Whether it changes the street network (links or closed streets)."""
        return bool(self.add_links or self.close_streets)

    def __len__(self) -> int:
        return (
            len(self.add_facilities)
            + len(self.close_facilities)
            + len(self.add_links)
            + len(self.close_streets)
        )


# -- the changed network ------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkChange:
    """The scenario's street network, built around the region's.

    ``net`` holds the region's nodes and edges with their ids, then the new nodes where a
    link meets the middle of a street, then the pieces of the streets split there, then the
    links. ``closed``, ``replaced`` (split into pieces) and ``link`` flag edges; ``pieces``
    maps a split edge to its cut offsets (metres from ``u``, starting at 0) and piece ids.
    """

    net: StreetNetwork
    n_base_nodes: int
    n_base_edges: int
    closed: NDArray[np.bool_]
    replaced: NDArray[np.bool_]
    link: NDArray[np.bool_]
    pieces: dict[int, tuple[FloatArray, NDArray[np.int64]]]

    @property
    def before_ok(self) -> NDArray[np.bool_]:
        """Edges of the region's network (as split), closed ones included."""
        return np.asarray(~self.replaced & ~self.link, dtype=np.bool_)

    @property
    def closed_ok(self) -> NDArray[np.bool_]:
        """The region's network without the closed streets, links not yet built."""
        return np.asarray(self.before_ok & ~self.closed, dtype=np.bool_)

    @property
    def after_ok(self) -> NDArray[np.bool_]:
        """The scenario's network: closed streets gone, links built."""
        return np.asarray(~self.replaced & ~self.closed, dtype=np.bool_)

    def final_network(self) -> tuple[StreetNetwork, NDArray[np.int64]]:
        """The scenario's network alone (every node kept) and each edge's id in it (-1: gone)."""
        keep = self.after_ok
        ids = np.full(self.net.n_edges, -1, dtype=np.int64)
        ids[keep] = np.arange(int(keep.sum()))
        n = self.net
        final = StreetNetwork(
            n.crs,
            n.node_xy,
            n.edge_u[keep],
            n.edge_v[keep],
            n.edge_length[keep],
            n.edge_oneway[keep],
            n.edge_geom[keep],
        )
        return final, ids

    def remap(self, snap: Snap) -> Snap:
        """Positions on the region's edges as positions on the pieces of split edges."""
        edge, off = snap.edge.astype(np.int64).copy(), snap.offset_m.copy()
        for e, (cuts, ids) in self.pieces.items():
            on = np.flatnonzero(edge == e)
            if len(on):
                i = np.clip(np.searchsorted(cuts, off[on], side="right") - 1, 0, len(ids) - 1)
                edge[on], off[on] = ids[i], off[on] - cuts[i]
        return Snap(edge.astype(np.int32), off, snap.access_m, snap.xy)


def _base_cut(region: Region, xy: FloatArray, limit: float) -> tuple[Snap, FloatArray]:
    """Snap points onto the region's streets, and each one's distance to the nearest street."""
    net = region.net
    _, dist = net.edge_tree.query_nearest(
        shapely.points(xy), return_distance=True, all_matches=False
    )
    return snap_points(net, xy, limit), np.asarray(dist, dtype=np.float64)


def _net_with(
    region: Region,
    cut_edge: list[int],
    cut_off: list[float],
    links: list[tuple[int, int, bool]],
    closed: NDArray[np.bool_],
) -> NetworkChange:
    """The region's network with edges split at the cuts and links between nodes."""
    net = region.net
    n0, e0 = net.n_nodes, net.n_edges
    node_xy = [net.node_xy]
    u, v, length, oneway, geoms = (
        [net.edge_u],
        [net.edge_v],
        [net.edge_length],
        [net.edge_oneway],
        [net.edge_geom],
    )
    pieces: dict[int, tuple[FloatArray, NDArray[np.int64]]] = {}
    next_node, next_edge = n0, e0
    for e in sorted(set(cut_edge)):
        offs = np.unique([o for ce, o in zip(cut_edge, cut_off, strict=True) if ce == e])
        nodes = np.arange(next_node, next_node + len(offs))
        next_node += len(offs)
        node_xy.append(net.points_at(np.full(len(offs), e, dtype=np.int32), offs))
        ends = np.concatenate([[net.edge_u[e]], nodes, [net.edge_v[e]]])
        cuts = np.concatenate([[0.0], offs, [net.edge_length[e]]])
        frac = cuts * (net.geom_length[e] / net.edge_length[e])
        geom = net.edge_geom[e]
        geoms.append(
            np.array(
                [shapely.ops.substring(geom, a, b) for a, b in itertools.pairwise(frac)],
                dtype=object,
            )
        )
        u.append(ends[:-1].astype(np.int32))
        v.append(ends[1:].astype(np.int32))
        length.append(np.diff(cuts))
        oneway.append(np.full(len(offs) + 1, net.edge_oneway[e]))
        ids = np.arange(next_edge, next_edge + len(offs) + 1, dtype=np.int64)
        next_edge += len(ids)
        pieces[e] = (cuts[:-1], ids)
    xy = np.vstack(node_xy)
    lonlat = region.unproject(xy)
    for a, b, one in links:
        u.append(np.array([a], np.int32))
        v.append(np.array([b], np.int32))
        length.append(np.array([geodesic_m(lonlat[[a, b]])]))
        oneway.append(np.array([one]))
        geoms.append(np.array([shapely.LineString(xy[[a, b]])], dtype=object))
    full = StreetNetwork(
        net.crs,
        xy,
        np.concatenate(u),
        np.concatenate(v),
        np.concatenate(length),
        np.concatenate(oneway).astype(bool),
        np.concatenate(geoms),
    )
    m = full.n_edges
    flag_closed = np.zeros(m, dtype=bool)
    flag_closed[:e0] = closed
    replaced = np.zeros(m, dtype=bool)
    for e, (_, ids) in pieces.items():
        replaced[e] = True
        flag_closed[ids] = closed[e]
    link = np.zeros(m, dtype=bool)
    link[m - len(links) :] = True
    return NetworkChange(full, n0, e0, flag_closed, replaced, link, pieces)


# -- checking a scenario against a region -------------------------------------------------


@dataclass
class _Resolved:
    """A scenario resolved against a region: rows, edges and snapped points."""

    closed_rows: NDArray[np.int64]
    new_xy: FloatArray
    new_codes: NDArray[np.int64]
    closed_edges: NDArray[np.bool_]
    cut_edge: list[int] = field(default_factory=list)
    cut_off: list[float] = field(default_factory=list)
    link_ends: list[tuple[tuple[int, float], tuple[int, float], bool]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _resolve(region: Region, scenario: Scenario, way_ids: NDArray[np.int64] | None) -> _Resolved:
    """Check every change and resolve it to rows, edges and snapped points."""
    res = _Resolved(
        np.zeros(0, np.int64),
        np.zeros((0, 2)),
        np.zeros(0, np.int64),
        np.zeros(region.net.n_edges, dtype=bool),
    )
    if len(scenario) == 0:
        res.problems.append(
            "it lists no change; allowed: add_facility, close_facility, add_link, close_street"
        )
    if len(scenario) > MAX_CHANGES:
        res.problems.append(
            f"it lists {len(scenario):,} changes; at most {MAX_CHANGES:,} are allowed"
        )
        return res
    _resolve_new(region, scenario.add_facilities, res)
    ids = region.facilities.text["id"]
    wanted = set(scenario.close_facilities)
    index = {fid: i for i, fid in enumerate(ids) if fid in wanted} if wanted else {}
    rows = []
    for i, fid in enumerate(scenario.close_facilities, start=1):
        if fid in index:
            rows.append(index[fid])
            continue
        close = difflib.get_close_matches(fid, ids, n=3)
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else f"ids look like {ids[0]!r}"
            if ids
            else "the region has no facility"
        )
        res.problems.append(
            f"close_facility #{i}: no facility {fid!r} in region "
            f"{region.name!r}; allowed: the id of one of its "
            f"{len(ids):,} facilities ({hint})"
        )
    res.closed_rows = np.unique(np.asarray(rows, dtype=np.int64))
    for i, street in enumerate(scenario.close_streets, start=1):
        _resolve_closure(region, street, i, way_ids, res)
    for i, link in enumerate(scenario.add_links, start=1):
        _resolve_link(region, link, i, res)
    return res


def _resolve_new(region: Region, new: Sequence[NewFacility], res: _Resolved) -> None:
    std = region.standard
    codes, xy = [], []
    for i, fac in enumerate(new, start=1):
        where = f"add_facility #{i}" + (f" ({fac.name})" if fac.name else "")
        if fac.category not in std.category_ids:
            close = difflib.get_close_matches(fac.category, std.category_ids, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            res.problems.append(
                f"{where}: unknown category {fac.category!r}{hint}; allowed: "
                f"{', '.join(sorted(std.category_ids))}"
            )
            continue
        if fac.capacity is not None and not (np.isfinite(fac.capacity) and fac.capacity >= 0):
            res.problems.append(f"{where}: capacity {fac.capacity} must be a number >= 0")
            continue
        if not _inside(region, fac.lon, fac.lat, where, res):
            continue
        codes.append(std.category_index(fac.category))
        xy.append(region.project(fac.lon, fac.lat)[0])
    res.new_codes = np.asarray(codes, dtype=np.int64)
    res.new_xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)


def _inside(region: Region, lon: float, lat: float, where: str, res: _Resolved) -> bool:
    if not (np.isfinite([lon, lat]).all() and -180 <= lon <= 180 and -90 <= lat <= 90):
        res.problems.append(
            f"{where}: coordinates lon={lon}, lat={lat} are invalid; allowed: "
            "lon -180 to 180, lat -90 to 90 (WGS 84 degrees)"
        )
        return False
    if not region.contains(lon, lat):
        w, s, e, n = region.boundary.bounds
        res.problems.append(
            f"{where}: point (lon {lon:.6f}, lat {lat:.6f}) is outside region "
            f"{region.name!r}, which covers lon {w:.4f} to {e:.4f}, lat "
            f"{s:.4f} to {n:.4f}"
        )
        return False
    return True


def _snap_end(
    region: Region, point: Lonlat, limit: float, where: str, res: _Resolved
) -> tuple[int, float] | None:
    """A point on the nearest street within ``limit``: (edge, offset), or a problem told."""
    if not _inside(region, point[0], point[1], where, res):
        return None
    if not 0 < limit <= region.max_snap_m:
        res.problems.append(
            f"{where}: max_snap_m {limit} is out of range; allowed: more "
            f"than 0 up to {region.max_snap_m:.0f} m"
        )
        return None
    snap, dist = _base_cut(region, region.project(point[0], point[1]), limit)
    if snap.edge[0] < 0:
        res.problems.append(
            f"{where}: (lon {point[0]:.6f}, lat {point[1]:.6f}) is "
            f"{dist[0]:,.0f} m from the nearest street; the limit is "
            f"{limit:,.0f} m (move it nearer a street, or raise max_snap_m "
            f"up to {region.max_snap_m:.0f})"
        )
        return None
    return int(snap.edge[0]), float(snap.offset_m[0])


def _resolve_closure(
    region: Region, street: ClosedStreet, i: int, way_ids: NDArray[np.int64] | None, res: _Resolved
) -> None:
    where = f"close_street #{i}" + (f" ({street.name})" if street.name else "")
    given = [x is not None for x in (street.way_id, street.at, street.between)]
    if sum(given) != 1:
        res.problems.append(
            f"{where}: give exactly one of way_id, at (a point) or between (two points)"
        )
        return
    if street.way_id is not None:
        if way_ids is None:
            res.problems.append(
                f"{where}: this region's way ids are not known here; close "
                "the street by a point (at) or two points (between)"
            )
            return
        hit = way_ids == int(street.way_id)
        if not hit.any():
            res.problems.append(
                f"{where}: no street of way id {street.way_id} in region "
                f"{region.name!r}; allowed: the OSM way id of one of its "
                f"{len(np.unique(way_ids)):,} ways"
            )
        res.closed_edges |= hit
        return
    if street.at is not None:
        end = _snap_end(region, street.at, street.max_snap_m, where, res)
        if end is not None:
            res.closed_edges[end[0]] = True
        return
    assert street.between is not None
    a = _snap_end(region, street.between[0], street.max_snap_m, f"{where} start", res)
    b = _snap_end(region, street.between[1], street.max_snap_m, f"{where} end", res)
    if a is not None and b is not None:
        edges = _path_edges(region, a, b)
        if edges is None:
            res.problems.append(
                f"{where}: no walk of at most {CLOSE_PATH_MAX_M:,.0f} m joins "
                "its two points; allowed: two points on one street or on "
                "streets joined within that walk"
            )
        else:
            res.closed_edges[edges] = True


def _path_edges(region: Region, a: tuple[int, float], b: tuple[int, float]) -> list[int] | None:
    """The edges of the shortest walk from a to b (both ends' edges included)."""
    if a[0] == b[0]:
        return [a[0]]
    net = region.net
    start = Snap(
        np.array([a[0]], np.int32),
        np.array([a[1]]),
        np.zeros(1),
        net.points_at(np.array([a[0]], np.int32), np.array([a[1]])),
    )
    srch = search(net, start, CLOSE_PATH_MAX_M)
    ends = np.array([net.edge_u[b[0]], net.edge_v[b[0]]])
    dist = srch.node_dist(ends) + np.array([b[1], net.edge_length[b[0]] - b[1]])
    if not np.isfinite(dist).any() or dist.min() > CLOSE_PATH_MAX_M:
        return None
    steps = srch.path_edges(int(ends[int(np.argmin(dist))]))
    return [a[0], *[e for e, _ in steps], b[0]]


def _resolve_link(region: Region, link: NewLink, i: int, res: _Resolved) -> None:
    where = f"add_link #{i}" + (f" ({link.name})" if link.name else "")
    a = _snap_end(region, link.start, link.max_snap_m, f"{where} start", res)
    b = _snap_end(region, link.end, link.max_snap_m, f"{where} end", res)
    if a is None or b is None:
        return
    for end, name in ((a, "start"), (b, "end")):
        if res.closed_edges[end[0]]:
            res.problems.append(
                f"{where}: its {name} joins a street this scenario closes; "
                "allowed: ends on open streets"
            )
            return
    net = region.net
    xy = net.points_at(np.array([a[0], b[0]], np.int32), np.array([a[1], b[1]]))
    span = float(np.hypot(*(xy[1] - xy[0])))
    if span <= NODE_MERGE_M:
        res.problems.append(
            f"{where}: both ends meet the streets at the same point; allowed: "
            f"ends more than {NODE_MERGE_M:.0f} m apart"
        )
        return
    if span > MAX_LINK_M:
        res.problems.append(
            f"{where}: the link would be {span:,.0f} m long; at most {MAX_LINK_M:,.0f} m is allowed"
        )
        return
    res.link_ends.append((a, b, link.oneway))


def _link_nodes(region: Region, res: _Resolved) -> list[tuple[int, int, bool]]:
    """Each link end as a node: an edge's end node if near one, else a cut to make."""
    net = region.net
    ends: list[tuple[str, int, float]] = []
    for a, b, _ in res.link_ends:
        for edge, off in (a, b):
            length = float(net.edge_length[edge])
            if off <= NODE_MERGE_M:
                ends.append(("node", int(net.edge_u[edge]), 0.0))
            elif length - off <= NODE_MERGE_M:
                ends.append(("node", int(net.edge_v[edge]), 0.0))
            else:
                ends.append(("cut", edge, off))
    cuts = sorted({(e, o) for kind, e, o in ends if kind == "cut"})
    merged: dict[tuple[int, float], tuple[int, float]] = {}
    for e, o in cuts:  # cuts within a metre on one edge share their node
        prev = next(
            (k for k in merged.values() if k[0] == e and abs(k[1] - o) <= NODE_MERGE_M), None
        )
        merged[(e, o)] = prev or (e, o)
    kept = sorted(set(merged.values()))
    res.cut_edge, res.cut_off = [e for e, _ in kept], [o for _, o in kept]
    number = {c: net.n_nodes + i for i, c in enumerate(kept)}
    ids = [n if kind == "node" else number[merged[(n, o)]] for kind, n, o in ends]
    return [(ids[2 * i], ids[2 * i + 1], one) for i, (_, _, one) in enumerate(res.link_ends)]


# -- placing points on the changed network -------------------------------------------------


def _nearest_open(change: NetworkChange, base: StreetNetwork, xy: FloatArray, limit: float) -> Snap:
    """Snap points onto the nearest open edge of the changed network (edge -1: none)."""
    n = len(xy)
    out = Snap(
        np.full(n, -1, np.int32), np.full(n, np.nan), np.full(n, np.nan), np.full((n, 2), np.nan)
    )
    if n == 0:
        return out
    pts = shapely.points(xy)
    src, hit = base.edge_tree.query(pts, predicate="dwithin", distance=limit)
    hit = hit.astype(np.int64)
    ok = ~change.closed[hit]
    src, hit = src[ok], hit[ok]
    links = np.flatnonzero(change.link & ~change.closed)
    l_src = np.repeat(np.arange(n), len(links))
    l_hit = np.tile(links, n)
    all_src = np.concatenate([src, l_src])
    all_hit = np.concatenate([hit, l_hit])
    geoms = change.net.edge_geom[all_hit]
    dist = shapely.distance(geoms, pts[all_src])
    keep = dist <= limit
    all_src, all_hit, dist, geoms = all_src[keep], all_hit[keep], dist[keep], geoms[keep]
    order = np.lexsort((all_hit, dist, all_src))
    first = order[np.unique(all_src[order], return_index=True)[1]]
    who, edge = all_src[first], all_hit[first]
    along = shapely.line_locate_point(geoms[first], pts[who])
    glen = np.maximum(shapely.length(geoms[first]), 1e-9)
    off = np.clip(along / glen, 0.0, 1.0) * change.net.edge_length[edge]
    on = shapely.line_interpolate_point(geoms[first], along)
    snap = change.remap(Snap(edge.astype(np.int32), off, dist[first], shapely.get_coordinates(on)))
    out.edge[who], out.offset_m[who] = snap.edge, snap.offset_m
    out.access_m[who], out.xy[who] = snap.access_m, snap.xy
    return out


def _place(
    change: NetworkChange, base: StreetNetwork, xy: FloatArray, snap: Snap, limit: float
) -> tuple[Snap, NDArray[np.bool_]]:
    """Points on the changed network: kept, moved off a closed street, or onto a link.

    Returns the new positions and which points moved.
    """
    placed = change.remap(snap)
    moved = np.zeros(len(snap), dtype=bool)
    ok = placed.edge >= 0
    moved[ok] = change.closed[placed.edge[ok]]
    links = np.flatnonzero(change.link)
    if len(links):
        bounds = shapely.bounds(change.net.edge_geom[links])
        lo, hi = bounds[:, :2].min(axis=0) - limit, bounds[:, 2:].max(axis=0) + limit
        near = np.flatnonzero(ok & (xy >= lo).all(axis=1) & (xy <= hi).all(axis=1) & ~moved)
        if len(near):
            pts = shapely.points(xy[near])
            d = np.min([shapely.distance(change.net.edge_geom[e], pts) for e in links], axis=0)
            moved[near[d < placed.access_m[near]]] = True
    idx = np.flatnonzero(moved)
    if len(idx):
        again = _nearest_open(change, base, xy[idx], limit)
        placed = Snap(
            placed.edge.copy(), placed.offset_m.copy(), placed.access_m.copy(), placed.xy.copy()
        )
        placed.edge[idx], placed.offset_m[idx] = again.edge, again.offset_m
        placed.access_m[idx], placed.xy[idx] = again.access_m, again.xy
    return placed, moved


# -- running it -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facilities:
    """The facilities after the scenario, on the network the computation uses."""

    snap: Snap
    category: NDArray[np.int64]
    removed: NDArray[np.int64]  # rows of the region's facilities that are gone or moved
    removed_snap: Snap  # their positions before (on the split network)
    added_snap: Snap  # opened facilities and moved ones, where they are now
    added_category: NDArray[np.int64]


@dataclass(frozen=True)
class ScenarioResult:
    """The region before and after a scenario, and what changed for whom.

    Attributes
    ----------
    scenario
        What was asked.
    before, after
        The analyses; ``after`` is what a full re-analysis with the changes gives.
    categories
        The categories whose walks may have changed (every category for network changes).
    network
        The changed network, for network scenarios.
    facilities, streets
        The changes as map layers (see :meth:`layers`).
    timings_s
        Seconds per stage.
    """

    scenario: Scenario
    before: Analysis
    after: Analysis
    categories: tuple[str, ...]
    network: NetworkChange | None
    facilities: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    timings_s: dict[str, float]

    def summary(self) -> pd.DataFrame:
        """Per changed category: residents covered within its radius, mean minutes, before/after.

        Columns: ``category``, ``label_zh``, ``label_en``, ``radius_m``, ``population``,
        ``covered_before``, ``covered_after``, ``covered_change`` (residents whose nearest is
        within the radius), ``covered_share_before``/``_after``, ``mean_minutes_before``/
        ``_after`` (population-weighted, residents with none reachable left out),
        ``mean_change_min``, ``unreachable_before``/``_after`` (residents), ``homes_changed``.
        """
        rows = [self._summary_row(c) for c in self.categories]
        return pd.DataFrame(
            rows,
            columns=[
                "category",
                "label_zh",
                "label_en",
                "radius_m",
                "population",
                "covered_before",
                "covered_after",
                "covered_change",
                "covered_share_before",
                "covered_share_after",
                "mean_minutes_before",
                "mean_minutes_after",
                "mean_change_min",
                "unreachable_before",
                "unreachable_after",
                "homes_changed",
            ],
        )

    def _summary_row(self, category: str) -> dict[str, object]:
        cat = self.before.standard.category(category)
        pop = self.before.demand.population
        total = float(pop.sum())
        row: dict[str, object] = {
            "category": category,
            "label_zh": cat.label_zh,
            "label_en": cat.label_en,
            "population": total,
        }
        for when, res in (("before", self.before), ("after", self.after)):
            acc = res.access(category)
            near = acc.nearest_m
            row["radius_m"] = acc.radius_m
            cov = float(pop[near <= acc.radius_m].sum())
            reach = np.isfinite(near)
            w = float(pop[reach].sum())
            row[f"covered_{when}"] = cov
            row[f"covered_share_{when}"] = cov / total if total else np.nan
            row[f"mean_minutes_{when}"] = (
                float((pop[reach] * near[reach]).sum() / w / res.speed_m_s / 60) if w else np.nan
            )
            row[f"unreachable_{when}"] = float(pop[~reach].sum())
        num = {k: v for k, v in row.items() if isinstance(v, float)}
        row["covered_change"] = num["covered_after"] - num["covered_before"]
        row["mean_change_min"] = num["mean_minutes_after"] - num["mean_minutes_before"]
        row["homes_changed"] = int(self._changed(category).sum())
        return row

    def tiers(self) -> pd.DataFrame:
        """Per GB 50180 tier: residents meeting every analysed requirement, before/after.

        Columns: ``tier_minutes``, ``label_zh``, ``label_en``, ``population``,
        ``met_before``, ``met_after``, ``met_change`` (residents), ``share_before``,
        ``share_after``, ``homes_gained``, ``homes_lost``.
        """
        pop = self.before.demand.population
        total = float(pop.sum())
        rows = []
        for tier, (b, a) in zip(self.before.standard.tiers, self._tier_met(), strict=True):
            met_b, met_a = float(pop[b].sum()), float(pop[a].sum())
            rows.append(
                {
                    "tier_minutes": tier.minutes,
                    "label_zh": tier.label_zh,
                    "label_en": tier.label_en,
                    "population": total,
                    "met_before": met_b,
                    "met_after": met_a,
                    "met_change": met_a - met_b,
                    "share_before": met_b / total if total else np.nan,
                    "share_after": met_a / total if total else np.nan,
                    "homes_gained": int((a & ~b).sum()),
                    "homes_lost": int((b & ~a).sum()),
                }
            )
        return pd.DataFrame(rows)

    def _tier_met(self) -> list[tuple[NDArray[np.bool_], NDArray[np.bool_]]]:
        cb, ca = self.before.compliance(), self.after.compliance()
        return [
            (cb.tier_met(t.minutes), ca.tier_met(t.minutes)) for t in self.before.standard.tiers
        ]

    def _changed(self, category: str, tol_min: float = 1e-6) -> NDArray[np.bool_]:
        b = self.before.minutes_to(category)
        a = self.after.minutes_to(category)
        both = np.isfinite(a) & np.isfinite(b)
        step = np.subtract(a, b, out=np.zeros_like(a), where=both)
        return np.asarray(
            np.where(both, np.abs(step) > tol_min, np.isfinite(a) != np.isfinite(b)), dtype=np.bool_
        )

    def changes(self, tol_min: float = 1e-6) -> gpd.GeoDataFrame:
        """The difference layer: one row per home and category whose walk changed.

        Columns (EPSG:4326 home points):

        ``home_id``, ``community``, ``population``; ``category``, ``label_zh``, ``label_en``,
        ``radius_m``; ``minutes_before``, ``minutes_after`` (walk to the nearest, NaN where
        none is within reach); ``change_min`` (after minus before: negative is nearer; NaN
        when one side is unreachable); ``status`` (``nearer``, ``farther``,
        ``newly reachable``, ``no longer reachable``); ``covered_before``,
        ``covered_after`` (within the category's radius); per tier ``tier<m>_before``,
        ``tier<m>_after`` (the home meets every analysed requirement of the ``m``-minute
        tier); ``tiers_gained``, ``tiers_lost`` (tier minutes, comma separated, "" if none).
        """
        tiers = self._tier_met()
        parts = [
            pd.DataFrame(self._category_rows(c, np.flatnonzero(self._changed(c, tol_min)), tiers))
            for c in self.categories
        ]
        frame = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=["home_id", "geometry"])
        )
        return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")

    def _category_rows(
        self,
        category: str,
        idx: NDArray[np.intp],
        tiers: list[tuple[NDArray[np.bool_], NDArray[np.bool_]]],
    ) -> dict[str, object]:
        dem = self.before.demand
        before = self.before.minutes_to(category)[idx]
        after = self.after.minutes_to(category)[idx]
        fb, fa = np.isfinite(before), np.isfinite(after)
        status = np.where(
            fb & fa,
            np.where(after < before, "nearer", "farther"),
            np.where(fa, "newly reachable", "no longer reachable"),
        )
        cat = self.before.standard.category(category)
        radius = self.before.access(category).radius_m
        limit_min = radius / self.before.speed_m_s / 60
        rows: dict[str, object] = {
            "home_id": dem.frame["id"].to_numpy()[idx],
            "community": dem.community[idx],
            "population": dem.population[idx],
            "category": category,
            "label_zh": cat.label_zh,
            "label_en": cat.label_en,
            "radius_m": radius,
            "minutes_before": np.where(fb, before, np.nan),
            "minutes_after": np.where(fa, after, np.nan),
            "change_min": np.subtract(after, before, out=np.full(len(idx), np.nan), where=fb & fa),
            "status": status,
            "covered_before": before <= limit_min,
            "covered_after": after <= limit_min,
        }
        gained = [[] for _ in idx]  # type: list[list[str]]
        lost = [[] for _ in idx]  # type: list[list[str]]
        for tier, (b, a) in zip(self.before.standard.tiers, tiers, strict=True):
            rows[f"tier{tier.minutes}_before"], rows[f"tier{tier.minutes}_after"] = b[idx], a[idx]
            for i in np.flatnonzero(a[idx] & ~b[idx]).tolist():
                gained[i].append(str(tier.minutes))
            for i in np.flatnonzero(b[idx] & ~a[idx]).tolist():
                lost[i].append(str(tier.minutes))
        rows["tiers_gained"] = [",".join(g) for g in gained]
        rows["tiers_lost"] = [",".join(x) for x in lost]
        rows["geometry"] = dem.frame.geometry.to_numpy()[idx]
        return rows

    def layers(self) -> dict[str, pd.DataFrame]:
        """Every output layer by name.

        ``summary`` (:meth:`summary`), ``tiers`` (:meth:`tiers`), ``changes``
        (:meth:`changes`), and the changes themselves for a map:

        ``facilities``: the opened (``change == "add"``, at the point given) and closed
        (``"close"``, at their entrance) facilities with ``id``, ``name``, ``category``,
        ``capacity``. ``streets``: the links (``"link"``) and closed streets
        (``"closed"``) as lines, with ``name`` and ``length_m``.
        """
        return {
            "summary": self.summary(),
            "tiers": self.tiers(),
            "changes": self.changes(),
            "facilities": self.facilities,
            "streets": self.streets,
        }


def check_scenario(
    region: Region,
    scenario: Scenario,
    way_ids: NDArray[np.int64] | None = None,
    source: str = "the scenario",
) -> None:
    """Check a scenario against a region without computing it (cheap: snaps and lookups).

    Raises
    ------
    ScenarioError
        As :func:`run_scenario` would, before any walk is computed.
    """
    res = _resolve(region, scenario, way_ids)
    if res.problems:
        raise ScenarioError(res.problems, source)


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
        Each edge's OSM way id (the stored edges' ``way_id``), for closing a street by way.
    source
        What to call the scenario in error messages (its file name).

    Raises
    ------
    ScenarioError
        A change names an unknown category or facility, a point outside the region or too
        far from any street, and so on; every problem is listed.
    """
    t0 = time.perf_counter()
    res = _resolve(region, scenario, way_ids)
    if res.problems:
        raise ScenarioError(res.problems, source)
    if len(demand) != len(before.demand):
        raise InvalidParameter(
            f"the analysis has {len(before.demand):,} homes but demand "
            f"{len(demand):,}; pass the demand the analysis was made for"
        )
    rg = graph if graph is not None else ReachGraph(region.net)
    links = _link_nodes(region, res) if scenario.changes_network else []
    change = (
        _net_with(region, res.cut_edge, res.cut_off, links, res.closed_edges)
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
        _facility_layer(region, scenario, res),
        _street_layer(region, change),
        {"prepare": t1 - t0, "compute": t2 - t1, **run.timings},
    )


class _Run:
    """One scenario's computation over every analysed category."""

    def __init__(
        self,
        region: Region,
        demand: Demand,
        before: Analysis,
        res: _Resolved,
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
            self.homes, self.homes_moved = _place(
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
            snap, moved = _place(change, region.net, fac.anchor_xy, fac.snap, limit)
            new = _nearest_open(change, region.net, res.new_xy, limit)
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
        before_ok = change.before_ok if change else None
        after_ok = change.after_ok if change else None
        gone = np.flatnonzero(self.region.facilities.category[fac.removed] == code)
        remaining = self._remaining(code)
        if len(gone):
            via = incremental.facility_sources(net, fac.removed_snap[gone])
            field, _ = incremental.close(g, field, via, remaining, before_ok, before_ok)
        if change is not None and change.closed.any():
            closed = np.flatnonzero(change.closed & ~change.replaced)
            via = incremental.arc_sources(net, closed, field)
            field, _ = incremental.close(g, field, via, remaining, before_ok, change.closed_ok)
        if change is not None and change.link.any():
            via = incremental.arc_sources(net, np.flatnonzero(change.link), field)
            field, _ = incremental.improve(g, field, via, after_ok)
        mine = np.flatnonzero(fac.added_category == code)
        if len(mine):
            field, _ = incremental.improve(
                g, field, incremental.facility_sources(net, fac.added_snap[mine]), after_ok
            )
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
        best, within = _k_and_counts(
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


def _facility_layer(region: Region, scenario: Scenario, res: _Resolved) -> gpd.GeoDataFrame:
    rows = [
        {
            "change": "add",
            "id": f.id or f"scenario:{i}",
            "name": f.name,
            "category": f.category,
            "capacity": f.capacity,
            "geometry": shapely.Point(f.lon, f.lat),
        }
        for i, f in enumerate(scenario.add_facilities, start=1)
    ]
    fac = region.facilities
    for r in res.closed_rows.tolist():
        lon, lat = fac.anchor_lonlat[r]
        rows.append(
            {
                "change": "close",
                "id": fac.text["id"][r],
                "name": fac.text["name"][r],
                "category": region.standard.category_ids[int(fac.category[r])],
                "capacity": None,
                "geometry": shapely.Point(lon, lat),
            }
        )
    frame = pd.DataFrame(rows, columns=["change", "id", "name", "category", "capacity", "geometry"])
    frame["capacity"] = frame["capacity"].astype(float)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def _street_layer(region: Region, change: NetworkChange | None) -> gpd.GeoDataFrame:
    cols = ["change", "edge", "length_m", "geometry"]
    if change is None:
        return gpd.GeoDataFrame(pd.DataFrame(columns=cols), geometry="geometry", crs="EPSG:4326")
    closed = np.flatnonzero(change.closed & ~change.replaced & ~change.link)
    links = np.flatnonzero(change.link)
    edges = np.concatenate([closed, links])
    geoms = np.asarray(shapely.transform(change.net.edge_geom[edges], region.unproject))
    frame = pd.DataFrame(
        {
            "change": ["closed"] * len(closed) + ["link"] * len(links),
            "edge": edges,
            "length_m": change.net.edge_length[edges],
            "geometry": geoms,
        }
    )
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
