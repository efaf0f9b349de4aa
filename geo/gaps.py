"""The planner's gap analysis: who is not within the standard's walk of each service.

:func:`analyse` measures, for every demand point and category, the walking distance to the
nearest facility (exact, any distance up to the engine's search limit), to the ``k`` nearest
and the number reachable within each of ``minutes`` (both within the longest of those
minutes). The k nearest and the counts are one multi-label pass from the facilities of every
category together (the compiled kernel of :mod:`livingcircle.geo.kernels`; without Numba, a
tiled SciPy pass, :mod:`livingcircle.geo.reach`); the nearest is one pass per category over
the street graph, which with the compiled kernel starts from the field the multi-label pass
leaves within its horizon. Never a search per home.

The result (:class:`Analysis`) then answers the planner's questions without more searching:
which GB 50180 requirements each point misses per tier (:meth:`Analysis.compliance`), the
share of residents covered and their population-weighted mean time per district or community
(:meth:`Analysis.coverage`, the 15-minute-city literature's measures), and the street areas
beyond a category's radius with the residents they hold (:func:`gap_areas`). Where to build
next is :func:`livingcircle.geo.siting.best_sites`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from livingcircle.geo import config, kernels
from livingcircle.geo.accessibility import beyond, points_distance
from livingcircle.geo.catchment import ring_polygons
from livingcircle.geo.demand import Demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.kernels_numpy import k_and_counts_from_pairs
from livingcircle.geo.network import FloatArray
from livingcircle.geo.positions import EdgeGroups
from livingcircle.geo.profile_views import walked_demand
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import Snap
from livingcircle.geo.standards import Requirement, Standard

#: Demand points per category kept by default for the k-nearest columns.
DEFAULT_K = 5
#: The whole region, as a community name in :meth:`Analysis.coverage`.
DISTRICT = "(district)"
#: ``progress(stage, done, total)``: told as work goes on, for a progress bar. Stages that
#: share the text before a colon are one stage; after it comes what is being done now.
StepProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CategoryAccess:
    """One category's accessibility, per street node and per demand point.

    Attributes
    ----------
    category
        Category id.
    radius_m
        Its GB 50180 service radius (the tightest requirement naming it; 1000 m if none).
    node_m
        Every street node's walking distance to the nearest facility (``inf`` if none within
        the engine's search limit), for painting streets and drawing gaps.
    nearest_m
        Per demand point, access legs included: the distance ``Region.nearest`` answers.
    k_nearest_m
        ``(points, k)`` distances to the k nearest within the analysis horizon, ascending;
        ``inf`` where fewer are that close (float32: sub-millimetre at walking distances).
    within
        ``(points, len(minutes))`` facilities reachable within each of the minutes.
    """

    category: str
    radius_m: float
    node_m: FloatArray
    nearest_m: FloatArray
    k_nearest_m: NDArray[np.float32]
    within: NDArray[np.int32]


@dataclass(frozen=True)
class Compliance:
    """The standard's check per demand point.

    Attributes
    ----------
    requirements
        ``(tier minutes, requirement)`` in the standard's order; only requirements whose
        categories were all analysed.
    met
        ``(points, requirements)`` booleans.
    score
        Share of the requirements each point meets (0 to 1): the living-circle score.
    """

    requirements: list[tuple[int, Requirement]]
    met: NDArray[np.bool_]
    score: FloatArray

    def missing(self, point: int) -> dict[int, list[str]]:
        """Ids of the requirements a point misses, per tier minutes."""
        out: dict[int, list[str]] = {}
        for (minutes, req), ok in zip(self.requirements, self.met[point], strict=True):
            if not ok:
                out.setdefault(minutes, []).append(req.id)
        return out

    def tier_met(self, minutes: int) -> NDArray[np.bool_]:
        """Points meeting every analysed requirement of the tier of ``minutes``."""
        cols = [i for i, (m, _) in enumerate(self.requirements) if m == minutes]
        return np.asarray(self.met[:, cols].all(axis=1), dtype=np.bool_)


@dataclass(frozen=True)
class Analysis:
    """Accessibility of every demand point to every analysed category.

    ``categories`` maps category id to :class:`CategoryAccess`; ``speed_m_s`` turns distances
    into times; ``minutes`` are the ring limits of ``within``; ``horizon_m`` bounds the k
    nearest and the counts; ``profile`` is the walking profile the homes were judged at and
    ``notes`` what its answers say it left out or assumed (``geo/profile_views.py``).
    """

    region: str
    standard: Standard
    demand: Demand
    speed_m_s: float
    minutes: tuple[int, ...]
    k: int
    horizon_m: float
    categories: dict[str, CategoryAccess]
    timings_s: dict[str, float] = field(default_factory=dict)
    profile: str = "standard"
    notes: tuple[str, ...] = ()

    def minutes_to(self, category: str) -> FloatArray:
        """Walking time (minutes) from each demand point to the nearest ``category``."""
        return self.access(category).nearest_m / self.speed_m_s / 60.0

    def covered(self, category: str, radius_m: float | None = None) -> NDArray[np.bool_]:
        """Points whose nearest ``category`` is within its radius (or ``radius_m``)."""
        acc = self.access(category)
        limit = acc.radius_m if radius_m is None else radius_m
        return np.asarray(acc.nearest_m <= limit, dtype=np.bool_)

    def access(self, category: str) -> CategoryAccess:
        """One analysed category's arrays; raises :class:`InvalidParameter` if not analysed."""
        if category not in self.categories:
            raise InvalidParameter(
                f"category {category!r} was not analysed; analysed: {', '.join(self.categories)}"
            )
        return self.categories[category]

    def compliance(self) -> Compliance:
        """Which GB 50180 requirements each point meets, and its living-circle score."""
        reqs = [
            (t.minutes, r)
            for t in self.standard.tiers
            for r in t.requirements
            if all(c in self.categories for c in r.categories)
        ]
        n = len(self.demand)
        met = np.zeros((n, len(reqs)), dtype=bool)
        for j, (_, req) in enumerate(reqs):
            best = np.min([self.categories[c].nearest_m for c in req.categories], axis=0)
            met[:, j] = best <= req.radius_m
        score = met.mean(axis=1) if reqs else np.ones(n)
        return Compliance(reqs, met, np.asarray(score, dtype=np.float64))

    def coverage(self, by_community: bool = True) -> pd.DataFrame:
        """Residents covered and their mean time, per community (and the whole district).

        One row per (community, category): ``population``, ``covered_population``,
        ``covered_share`` (nearest within the category's radius), ``within_share`` (within the
        longest of ``minutes``), ``mean_minutes`` (population-weighted time to the nearest;
        residents with none reachable are counted in ``unreachable_population`` and left
        out of the mean) and ``radius_m``.
        """
        groups = self._groups(by_community)
        rows = []
        longest = max(self.minutes) * 60 * self.speed_m_s
        for name, idx in groups:
            pop = self.demand.population[idx]
            total = float(pop.sum())
            for cat, acc in self.categories.items():
                near = acc.nearest_m[idx]
                reach = np.isfinite(near)
                cov = float(pop[near <= acc.radius_m].sum())
                within = float(pop[near <= longest].sum())
                w = float(pop[reach].sum())
                mean = (
                    float((pop[reach] * near[reach]).sum() / w / self.speed_m_s / 60)
                    if w > 0
                    else np.nan
                )
                rows.append(
                    {
                        "community": name,
                        "category": cat,
                        "radius_m": acc.radius_m,
                        "population": total,
                        "covered_population": cov,
                        "covered_share": cov / total if total else np.nan,
                        "within_share": within / total if total else np.nan,
                        "mean_minutes": mean,
                        "unreachable_population": float(pop[~reach].sum()),
                    }
                )
        return pd.DataFrame(rows)

    def tier_coverage(self, by_community: bool = True) -> pd.DataFrame:
        """Share of residents meeting each requirement, and each whole tier, per community.

        One row per (community, tier, requirement); the requirement ``"(all)"`` is the whole
        tier (every analysed requirement of it met). ``mean_score`` on the ``"(all)"`` rows of
        tier 0 is the population-weighted living-circle score.
        """
        comp = self.compliance()
        rows = []
        for name, idx in self._groups(by_community):
            pop = self.demand.population[idx]
            total = float(pop.sum())

            def share(ok: NDArray[np.bool_], pop: FloatArray = pop, total: float = total) -> float:
                return float(pop[ok].sum()) / total if total else np.nan

            for j, (minutes, req) in enumerate(comp.requirements):
                rows.append(
                    {
                        "community": name,
                        "tier_minutes": minutes,
                        "requirement": req.id,
                        "radius_m": req.radius_m,
                        "population": total,
                        "met_share": share(comp.met[idx, j]),
                    }
                )
            for tier in self.standard.tiers:
                rows.append(
                    {
                        "community": name,
                        "tier_minutes": tier.minutes,
                        "requirement": "(all)",
                        "radius_m": tier.distance_m,
                        "population": total,
                        "met_share": share(comp.tier_met(tier.minutes)[idx]),
                    }
                )
            mean_score = float((comp.score[idx] * pop).sum() / total) if total else np.nan
            rows.append(
                {
                    "community": name,
                    "tier_minutes": 0,
                    "requirement": "(score)",
                    "radius_m": np.nan,
                    "population": total,
                    "met_share": mean_score,
                }
            )
        return pd.DataFrame(rows)

    def _groups(self, by_community: bool) -> list[tuple[str, NDArray[np.intp]]]:
        everyone = np.arange(len(self.demand))
        groups = [(DISTRICT, everyone)]
        if by_community:
            names = self.demand.community
            for name in sorted(set(names.tolist()) - {""}):
                groups.append((name, np.flatnonzero(names == name)))
        return groups

    def points_frame(self, categories: Iterable[str] | None = None) -> gpd.GeoDataFrame:
        """Demand points with their score, missing requirements and per-category minutes.

        Per point: the living-circle ``score`` and ``missing_<tier>min`` requirement ids; per
        category: ``<c>_min`` (minutes to the nearest), ``<c>_ok`` (within its radius) and
        ``<c>_n<longest>`` (facilities within the longest of ``minutes``). EPSG:4326.
        """
        cats = list(categories) if categories is not None else list(self.categories)
        frame = self.demand.frame[["id", "population", "community", "geometry"]].copy()
        comp = self.compliance()
        frame["score"] = comp.score
        for tier in self.standard.tiers:
            cols = [j for j, (m, _) in enumerate(comp.requirements) if m == tier.minutes]
            names = np.array([comp.requirements[j][1].id for j in cols], dtype=object)
            frame[f"missing_{tier.minutes}min"] = (
                [",".join(names[~row]) for row in comp.met[:, cols]] if cols else ""
            )
        columns: dict[str, NDArray[np.generic]] = {}
        for c in cats:
            acc = self.access(c)
            columns[f"{c}_min"] = acc.nearest_m / self.speed_m_s / 60
            columns[f"{c}_ok"] = acc.nearest_m <= acc.radius_m
            columns[f"{c}_n{max(self.minutes)}"] = acc.within[:, -1]
        frame = pd.concat([frame, pd.DataFrame(columns, index=frame.index)], axis=1)
        return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def analyse(
    region: Region,
    demand: Demand,
    categories: Iterable[str] | None = None,
    k: int = DEFAULT_K,
    minutes: Sequence[int] = config.DEFAULT_MINUTES,
    speed_m_s: float | None = None,
    horizon_m: float | None = None,
    graph: ReachGraph | None = None,
    progress: StepProgress | None = None,
    profile: str = "standard",
) -> Analysis:
    """Walking accessibility of every demand point to every category, one pass each.

    Parameters
    ----------
    region
        The loaded region (network and snapped facilities).
    demand
        Demand points placed on its network (:func:`livingcircle.geo.demand.place_demand`).
    categories
        Category ids; all the standard's categories when None.
    k
        How many nearest facilities to keep per point (the literature averages the 20
        nearest; memory is points x k x 4 bytes per category).
    minutes
        Count facilities within each of these walking times.
    speed_m_s
        Walking speed, overriding the profile's (GB 50180 plans with 1 m/s).
    horizon_m
        Limit of the k nearest and the counts; defaults to the longest of ``minutes``.
    graph
        A reversed graph of ``region.net`` to reuse (built here if None).
    progress
        Called as ``progress(stage, done, total)`` while it works (for a progress bar).
    profile
        The walking profile homes are judged at. A profile with street rules (step-free,
        elderly) walks its own network (:meth:`Region.walked_at`): ``demand`` is placed on
        it again and ``graph`` is used only if it is that network's.
    """
    tell = progress or no_progress
    region, demand = walked_demand(region, demand, profile, speed_m_s)
    if graph is not None and graph.net is not region.net:
        graph = None
    cats = region.standard.resolve_categories(categories)
    mins = tuple(sorted({int(m) for m in minutes}))
    if not 1 <= k <= config.MAX_K or not mins or mins[0] < 1 or mins[-1] > config.MAX_MINUTES:
        raise InvalidParameter(
            f"k={k} must be 1 to {config.MAX_K} and minutes {list(minutes)} "
            f"1 to {config.MAX_MINUTES}"
        )
    if (walking := region.walking.profile) is not None:  # a view: at its own profile's speed
        profile, speed = walking.id, walking.speed_m_s if speed_m_s is None else speed_m_s
    else:
        speed = region.standard.speed(profile, speed_m_s)
    limits = np.asarray(mins, dtype=np.float64) * 60 * speed
    horizon = float(limits[-1] if horizon_m is None else max(horizon_m, limits[-1]))
    t0, c0 = time.perf_counter(), time.process_time()
    rg = graph if graph is not None else ReachGraph(region.net)
    codes = np.array([region.standard.category_index(c) for c in cats], dtype=np.int64)
    timings = {"graph": time.perf_counter() - t0, "graph_cpu": time.process_time() - c0}
    steps = _Steps(timings)
    fac = region.facilities
    counting = f"counting facilities within {', '.join(map(str, mins))} min"
    tell(counting, 0, 1)
    rows = np.flatnonzero(np.isin(fac.category, codes))
    slot = np.full(max(len(region.standard.categories), 1), -1, dtype=np.int64)
    slot[codes] = np.arange(len(codes))
    places, slots = fac.snap[rows], (slot[fac.category[rows]], len(cats))
    with steps("k_and_counts"):  # one tiled pass from every facility of every category
        if rg.compiled:
            homes = kernels.Homes(rg.net, demand.snap)
            lim32 = limits.astype(np.float32).astype(np.float64)  # as the SciPy pass compares
            found = kernels.k_and_counts(rg.arrays, homes, places, slots, k, lim32, horizon)
            k_best, within = list(found.best), found.within
        else:
            k_best, within = k_and_counts_from_pairs(
                rg.pairs_within(places, demand.snap, horizon), *slots, len(demand), k, limits
            )
    tell(counting, 1, 1)
    node_m, nearest = {}, {}
    by_edge = None if rg.compiled else EdgeGroups(demand.snap.edge)
    with steps("nearest"):
        for i, (c, code) in enumerate(zip(cats, codes, strict=True)):
            tell(f"nearest facility: {c}", i, len(cats))
            mine = fac.snap[np.flatnonzero(fac.category == code)]
            known = found.field[i] if rg.compiled else None  # filled in where it is
            node_m[c] = rg.nearest(mine, config.NEAREST_MAX_RADIUS_M, known)
            if by_edge is not None:
                nearest[c] = _points_nearest(region, node_m[c], demand, mine, by_edge)
        if rg.compiled:
            limit = config.NEAREST_MAX_RADIUS_M
            nearest = dict(zip(cats, kernels.points_nearest(found, homes, limit), strict=True))
        tell("nearest facility: every category", len(cats), len(cats))
    out = {
        c: CategoryAccess(
            c, region.radius_for(c), node_m[c], nearest[c], k_best[i], within[:, i, :]
        )
        for i, c in enumerate(cats)
    }
    return Analysis(
        region.name, region.standard, demand, speed, mins, k, horizon, out, timings,
        profile, region.walking.notes,
    )  # fmt: skip


def no_progress(stage: str, done: int, total: int) -> None:
    """A progress callback that tells no one."""


def _points_nearest(
    region: Region, node_m: FloatArray, demand: Demand, mine: Snap, by_edge: EdgeGroups
) -> FloatArray:
    dist = points_distance(region.net, node_m, demand.snap, mine, by_edge)
    # the engine searches no farther than its limit: beyond it there is "none"
    return np.where(dist <= config.NEAREST_MAX_RADIUS_M, dist, np.inf)


class _Steps:
    """Wall and CPU seconds per named step, added up over the times each is entered."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t
            cpu = f"{name}_cpu"
            self.timings[cpu] = self.timings.get(cpu, 0.0) + time.process_time() - c


def gap_areas(
    region: Region, analysis: Analysis, category: str, radius_m: float | None = None
) -> gpd.GeoDataFrame:
    """Areas beyond a category's radius, as polygons with the residents they hold.

    The streets from which the nearest facility is farther than the radius are drawn as a band
    (as catchments are, :func:`livingcircle.geo.catchment.ring_polygons`), split into separate
    areas; each
    uncovered demand point counts in the area nearest its place on the street.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326; ``category``, ``radius_m``, ``population``, ``points``, ``area_m2``,
        ``street_km``, largest population first.
    """
    acc = analysis.access(category)
    radius = acc.radius_m if radius_m is None else float(radius_m)
    net = region.net
    code = region.standard.category_index(category)
    mine = region.facilities.snap[np.flatnonzero(region.facilities.category == code)]
    pieces = beyond(net, acc.node_m, radius, mine)
    polygon = ring_polygons(net, [pieces])[0]
    parts = shapely.get_parts(polygon) if not polygon.is_empty else np.array([], dtype=object)
    population = np.zeros(len(parts))
    count = np.zeros(len(parts), dtype=np.int64)
    outside = np.flatnonzero(acc.nearest_m > radius)
    if len(parts) and len(outside):
        tree = shapely.STRtree(parts)
        points = shapely.points(analysis.demand.snap.xy[outside])
        src, hit = tree.query_nearest(points, all_matches=False)
        np.add.at(population, hit, analysis.demand.population[outside][src])
        np.add.at(count, hit, 1)
    street = _street_km(region, pieces, parts)
    frame = gpd.GeoDataFrame(
        {
            "category": category,
            "radius_m": radius,
            "population": population,
            "points": count,
            "area_m2": shapely.area(parts) if len(parts) else np.zeros(0),
            "street_km": street,
        },
        geometry=[region.unproject_geom(p) for p in parts],
        crs="EPSG:4326",
    )
    return frame.sort_values(["population", "area_m2"], ascending=False, kind="stable").reset_index(
        drop=True
    )


def _street_km(
    region: Region,
    pieces: tuple[NDArray[np.int32], FloatArray, FloatArray],
    parts: NDArray[np.object_],
) -> FloatArray:
    """Length of gap street per area (a stretch counts in the area nearest its middle)."""
    out = np.zeros(len(parts))
    edge, start, end = pieces
    if not len(parts) or not len(edge):
        return out
    net = region.net
    middle = (start + end) / 2 / net.edge_length[edge]
    points = shapely.line_interpolate_point(net.edge_geom[edge], middle, normalized=True)
    src, hit = shapely.STRtree(parts).query_nearest(points, all_matches=False)
    np.add.at(out, hit, (end - start)[src] / 1000)
    return out
