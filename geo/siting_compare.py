"""Greedy siting against the optimum: MCLP and p-median on the same candidates.

:func:`compare_sites` puts greedy (:mod:`livingcircle.geo.siting`) beside the exact
maximal-coverage (MCLP) and p-median optimum on the same candidates
(:mod:`livingcircle.geo.siting_models`), with the objective, the residents newly covered and
the solver time of each, and :func:`shortfall` says where greedy falls short.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from livingcircle.geo.demand import Demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.gaps import Analysis
from livingcircle.geo.network import FloatArray
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import Snap
from livingcircle.geo.siting import greedy, node_places, parcel_candidates
from livingcircle.geo.siting_models import DEFAULT_TIME_LIMIT_S, Pairs, Problem, mclp, pmedian
from livingcircle.geo.supply import catchment_pairs

#: The siting methods :func:`compare_sites` knows.
METHODS = ("greedy", "mclp", "pmedian")
#: Street-point candidates kept for the models by default: the best-covering street node of
#: each cell (half the radius wide) holding uncovered residents, the top ones by coverage.
DEFAULT_MAX_CANDIDATES = 100


@dataclass(frozen=True)
class _Instance:
    """One category's siting problem: candidates, their labels and the pairs that matter."""

    places: Snap
    labels: NDArray[np.int64]
    capacity: FloatArray | None
    radius_m: float
    bound_m: float
    uncovered: NDArray[np.int64]  # demand positions beyond the radius of every facility
    cover: Pairs  # (candidate, position in ``uncovered``) within the radius
    cost: Pairs | None  # (candidate, demand position) nearer than the fallback, for p-median
    fallback_m: FloatArray  # per demand point: min(nearest existing, bound)


def compare_sites(
    region: Region,
    analysis: Analysis,
    category: str,
    n: int = 5,
    parcels: gpd.GeoDataFrame | None = None,
    methods: Sequence[str] = METHODS,
    *,
    radius_m: float | None = None,
    max_walk_m: float | None = None,
    capacity: str | float | None = None,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    graph: ReachGraph | None = None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Greedy, maximal coverage (MCLP) and p-median sites for ``category``, on the same candidates.

    Existing facilities stay: residents within the radius of one are covered already (MCLP,
    greedy), and every resident's walk to the nearest existing one bounds their cost
    (p-median: served by the nearer of that and the chosen sites). Costs are the exact
    walking distances of :meth:`ReachGraph.pairs_within`.

    Parameters
    ----------
    region, analysis, category
        As :func:`best_sites`.
    n
        Sites each method chooses (MCLP and p-median choose exactly ``n``).
    parcels
        Candidate parcels (all of those on a street are candidates); street points near
        uncovered residents when None (at most ``max_candidates``).
    methods
        Some of ``"greedy"``, ``"mclp"`` and ``"pmedian"``.
    radius_m
        Walking radius a site covers; the category's GB 50180 radius by default.
    max_walk_m
        The p-median's bound: walks longer than this count as this long (the nearest existing
        facility's walk is capped the same way). Default: the longer of the radius and the
        analysis horizon (its longest minutes).
    capacity
        Residents a new site can serve: a column of ``parcels`` or one number for every
        candidate; a ``capacity`` column of ``parcels`` when None. Respected by p-median and
        by MCLP (then a capacitated MCLP: residents are assigned within reach and within
        capacity); greedy ignores it.
    max_candidates
        Street-point candidates kept (never limits parcels).
    time_limit_s
        Longest each model may run; a model stopped by it says so (``optimal`` False, with
        its gap).
    graph
        A reversed graph of ``region.net`` to reuse.

    Returns
    -------
    summary : pandas.DataFrame
        One row per method: ``category``, ``method``, ``candidates``, ``sites``,
        ``newly_covered_population`` (uncovered residents within the radius of a chosen site),
        ``share_of_mclp_optimum``, ``total_weighted_m`` and ``mean_m`` (population-weighted
        walk to the nearest of existing and chosen sites, capped at ``max_walk_m``),
        ``objective`` and ``objective_kind``, ``optimal``, ``gap``, ``solve_s``.
    sites : geopandas.GeoDataFrame
        One row per chosen site and method (EPSG:4326): ``category``, ``method``, ``rank``
        (by the residents it adds to the sites ranked above it), ``candidate`` (node id or
        parcel row), ``gain_population``, ``served_population`` (residents for whom it is the
        nearest, p-median's view) and ``capacity``.
    """
    wanted = _methods(methods)
    if n < 1:
        raise InvalidParameter(f"n={n} must be at least 1")
    inst = _instance(
        region,
        analysis,
        category,
        parcels,
        radius_m,
        max_walk_m,
        capacity,
        max_candidates,
        graph or ReachGraph(region.net),
        "pmedian" in wanted,
    )
    if len(inst.labels) < n:
        raise InvalidParameter(
            f"cannot choose {n} {category} sites from {len(inst.labels)} candidate sites: ask "
            f"for at most {len(inst.labels)}"
            + ("" if parcels is not None else ", or give parcels to choose among")
        )
    return _compare(region, analysis, category, inst, n, wanted, time_limit_s)


def compare_for_plan(
    region: Region,
    analysis: Analysis,
    categories: Sequence[str],
    n: int,
    parcels: gpd.GeoDataFrame | None,
    methods: Sequence[str],
    graph: ReachGraph | None = None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """:func:`compare_sites` for several categories, as one summary and one sites frame.

    A category without candidates (everyone covered, no parcels) is left out; one with fewer
    candidates than ``n`` gets as many sites as it has candidates.
    """
    wanted = _methods(methods)
    rg = graph or ReachGraph(region.net)
    summaries, frames = [], []
    for cat in categories:
        inst = _instance(
            region,
            analysis,
            cat,
            parcels,
            None,
            None,
            None,
            DEFAULT_MAX_CANDIDATES,
            rg,
            "pmedian" in wanted,
        )
        if len(inst.labels) == 0:
            continue
        summary, sites = _compare(
            region, analysis, cat, inst, min(n, len(inst.labels)), wanted, DEFAULT_TIME_LIMIT_S
        )
        summaries.append(summary)
        frames.append(sites)
    if not summaries:
        return pd.DataFrame({"category": [], "method": []}), gpd.GeoDataFrame(
            {"category": [], "method": []}, geometry=[], crs="EPSG:4326"
        )
    return pd.concat(summaries, ignore_index=True), gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), crs="EPSG:4326"
    )


def _compare(
    region: Region,
    analysis: Analysis,
    category: str,
    inst: _Instance,
    n: int,
    wanted: tuple[str, ...],
    time_limit_s: float,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Every wanted method on one instance: the summary rows and the chosen sites."""
    pop = analysis.demand.population
    chosen: dict[str, tuple[NDArray[np.int64], float, bool, float, float]] = {}
    for method in wanted:
        chosen[method] = _run(method, inst, pop, n, time_limit_s)
    rows = [_summary_row(m, inst, pop, *chosen[m]) for m in wanted]
    summary = pd.DataFrame(rows)
    summary.insert(0, "category", category)
    best = summary.loc[summary["method"] == "mclp", "newly_covered_population"]
    summary["share_of_mclp_optimum"] = (
        summary["newly_covered_population"] / best.iloc[0]
        if len(best) and best.iloc[0] > 0
        else np.nan
    )
    frames = [_sites_frame(region, m, inst, pop, chosen[m][0]) for m in wanted]
    sites = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    sites.insert(0, "category", category)
    return summary, sites


def shortfall(summary: pd.DataFrame) -> list[str]:
    """Where greedy falls short of the optimum, in words, per category of ``summary``."""
    notes: list[str] = []
    if summary.empty or "category" not in summary.columns:
        return notes
    for cat, rows in summary.groupby("category", sort=False):
        by = rows.set_index("method")
        if "greedy" not in by.index:
            continue
        g = by.loc["greedy"]
        if "mclp" in by.index and by.loc["mclp", "newly_covered_population"] > 0:
            m = float(by.loc["mclp", "newly_covered_population"])
            share = float(g["newly_covered_population"]) / m
            notes.append(
                f"{cat}: greedy covers {100 * share:.1f}% of the MCLP optimum "
                f"({g['newly_covered_population']:,.0f} of {m:,.0f} residents newly "
                "covered)"
                if share < 1 - 1e-9
                else f"{cat}: greedy reaches the MCLP optimum ({m:,.0f} residents newly covered)"
            )
        if "pmedian" in by.index and by.loc["pmedian", "mean_m"] > 0:
            best, mine = float(by.loc["pmedian", "mean_m"]), float(g["mean_m"])
            notes.append(
                f"{cat}: greedy's mean walk is {mine:,.0f} m against the p-median "
                f"optimum {best:,.0f} m (+{100 * (mine / best - 1):.1f}%)"
            )
    return notes


def _methods(methods: Sequence[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(str(m).strip().lower() for m in methods))
    bad = [m for m in wanted if m not in METHODS]
    if bad or not wanted:
        raise InvalidParameter(
            f"unknown siting method(s) {', '.join(bad) or '(none)'}: allowed {', '.join(METHODS)}"
        )
    return wanted


def _instance(
    region: Region,
    analysis: Analysis,
    category: str,
    parcels: gpd.GeoDataFrame | None,
    radius_m: float | None,
    max_walk_m: float | None,
    capacity: str | float | None,
    max_candidates: int,
    rg: ReachGraph,
    with_cost: bool,
) -> _Instance:
    """Candidates and the pairs every method reads."""
    acc = analysis.access(category)
    radius = acc.radius_m if radius_m is None else float(radius_m)
    bound = max(radius, analysis.horizon_m) if max_walk_m is None else float(max_walk_m)
    if bound < radius:
        raise InvalidParameter(f"max_walk_m={bound:.0f} must be at least the radius {radius:.0f} m")
    demand = analysis.demand
    uncovered = np.flatnonzero(acc.nearest_m > radius).astype(np.int64)
    if parcels is None:
        places, labels = _street_candidates(region, demand, uncovered, radius, max_candidates, rg)
    else:
        places, labels = parcel_candidates(region, parcels)
    caps = _candidate_capacity(parcels, labels, capacity)
    fallback = np.minimum(acc.nearest_m, bound)
    if not with_cost:
        cover = _pairs(rg, places, demand.snap[uncovered], radius)
        return _Instance(places, labels, caps, radius, bound, uncovered, cover, None, fallback)
    every = _pairs(rg, places, demand.snap, bound)
    slot = np.full(len(demand), -1, np.int64)
    slot[uncovered] = np.arange(len(uncovered))
    near = (every.dist_m <= radius) & (slot[every.point] >= 0)
    cover = Pairs(every.place[near], slot[every.point[near]], every.dist_m[near])
    cost = every.subset(every.dist_m < fallback[every.point])
    return _Instance(places, labels, caps, radius, bound, uncovered, cover, cost, fallback)


def _pairs(rg: ReachGraph, places: Snap, points: Snap, radius: float) -> Pairs:
    point, place, dist = catchment_pairs(rg, places, points, radius)
    return Pairs(place, point, dist)


def _street_candidates(
    region: Region,
    demand: Demand,
    uncovered: NDArray[np.int64],
    radius: float,
    limit: int,
    rg: ReachGraph,
) -> tuple[Snap, NDArray[np.int64]]:
    """Up to ``limit`` street nodes near uncovered residents, the best-covering first.

    Uncovered residents are binned into cells half the radius wide; each cell offers the
    street node nearest its residents' weighted centre, and the nodes covering the most
    uncovered residents are kept (one bounded search per cell, not per node).
    """
    if limit < 1:
        raise InvalidParameter(f"max_candidates={limit} must be at least 1")
    if len(uncovered) == 0:
        return node_places(region, np.zeros(0, np.int64)), np.zeros(0, np.int64)
    xy, pop = demand.snap.xy[uncovered], demand.population[uncovered]
    cell = np.floor(xy / (radius / 2)).astype(np.int64)
    _, inverse = np.unique(cell, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    w = np.maximum(pop, 1e-9)
    total = np.bincount(inverse, weights=w)
    centre = np.column_stack([np.bincount(inverse, weights=w * xy[:, i]) / total for i in range(2)])
    nodes = np.unique(cKDTree(region.net.node_xy).query(centre)[1]).astype(np.int64)
    places = node_places(region, nodes)
    cover = _pairs(rg, places, demand.snap[uncovered], radius)
    gain = np.bincount(cover.place, weights=pop[cover.point], minlength=len(nodes))
    order = np.lexsort((nodes, -gain))
    keep = np.sort(order[gain[order] > 0][:limit])
    return places[keep], nodes[keep]


def _candidate_capacity(
    parcels: gpd.GeoDataFrame | None, labels: NDArray[np.int64], capacity: str | float | None
) -> FloatArray | None:
    """Per candidate, residents it may serve (inf: no limit); None when nothing is limited."""
    if capacity is None:
        if parcels is None or "capacity" not in parcels.columns:
            return None
        capacity = "capacity"
    if isinstance(capacity, str):
        if parcels is None or capacity not in parcels.columns:
            raise InvalidParameter(
                f"capacity column {capacity!r} needs parcels that have it; "
                "give a number for street-point candidates"
            )
        values = pd.to_numeric(parcels[capacity], errors="coerce").to_numpy(np.float64)
        caps = values[labels]
    else:
        caps = np.full(len(labels), float(capacity))
    caps = np.where(np.isnan(caps), np.inf, caps)
    if (caps < 0).any():
        raise InvalidParameter("capacities must be 0 or more (empty for no limit)")
    return caps


def _run(
    method: str, inst: _Instance, pop: FloatArray, n: int, time_limit_s: float
) -> tuple[NDArray[np.int64], float, bool, float, float]:
    """Chosen candidates, objective, optimal?, gap and seconds for one method."""
    t0 = time.perf_counter()
    pop_unc = pop[inst.uncovered]
    if method == "greedy":
        _, gains, _, picked = greedy(_cover_matrix(inst), pop_unc, n)
        return picked, float(gains.sum()), False, np.nan, time.perf_counter() - t0
    if method == "mclp":
        groups, weight = _merge_points(inst.cover, pop_unc, len(inst.labels))
        problem = Problem(groups, weight, len(inst.labels), inst.capacity, time_limit_s)
        sol = mclp(problem, n)
    else:
        cost, w, fallback, constant = _relevant(inst, pop)
        problem = Problem(cost, w, len(inst.labels), inst.capacity, time_limit_s)
        sol = pmedian(problem, n, fallback)
        sol = replace(sol, objective=sol.objective + constant)
    return sol.chosen, sol.objective, sol.optimal, sol.gap, time.perf_counter() - t0


def _cover_matrix(inst: _Instance) -> csr_matrix:
    c = inst.cover
    return csr_matrix(
        (np.ones(len(c)), (c.place, c.point)), shape=(len(inst.labels), len(inst.uncovered))
    )


def _merge_points(cover: Pairs, pop: FloatArray, n_cand: int) -> tuple[Pairs, FloatArray]:
    """Points that the same candidates cover, as one weighted point (an exact reduction)."""
    words = np.zeros((len(pop), (n_cand + 63) // 64), dtype=np.uint64)
    np.bitwise_or.at(
        words,
        (cover.point, cover.place // 64),
        np.left_shift(np.uint64(1), (cover.place % 64).astype(np.uint64)),
    )
    reached = np.flatnonzero(words.any(axis=1))
    _, first, group = np.unique(words[reached], axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    weight = np.asarray(
        np.bincount(group, weights=pop[reached], minlength=len(first)), dtype=np.float64
    )
    slot = np.full(len(pop), -1, np.int64)
    slot[reached[first]] = np.arange(len(first))
    mine = slot[cover.point] >= 0  # the pairs of each group's first point stand for it
    return Pairs(cover.place[mine], slot[cover.point[mine]], cover.dist_m[mine]), weight


def _relevant(inst: _Instance, pop: FloatArray) -> tuple[Pairs, FloatArray, FloatArray, float]:
    """The p-median's points that some candidate serves better than the fallback.

    The others are served by the fallback whatever is built: a constant of the objective.
    """
    assert inst.cost is not None
    points, local = np.unique(inst.cost.point, return_inverse=True)
    cost = Pairs(inst.cost.place, local.ravel().astype(np.int64), inst.cost.dist_m)
    constant = float(pop @ inst.fallback_m - pop[points] @ inst.fallback_m[points])
    return cost, pop[points], inst.fallback_m[points], constant


def _summary_row(
    method: str,
    inst: _Instance,
    pop: FloatArray,
    chosen: NDArray[np.int64],
    objective: float,
    optimal: bool,
    gap: float,
    seconds: float,
) -> dict[str, object]:
    open_ = np.zeros(len(inst.labels), dtype=bool)
    open_[chosen] = True
    reached = np.zeros(len(inst.uncovered), dtype=bool)
    reached[inst.cover.point[open_[inst.cover.place]]] = True
    total = _walks(inst, open_) @ pop if inst.cost is not None else np.nan
    people = float(pop.sum())
    return {
        "method": method,
        "candidates": len(inst.labels),
        "sites": len(chosen),
        "newly_covered_population": float(pop[inst.uncovered][reached].sum()),
        "share_of_mclp_optimum": np.nan,
        "total_weighted_m": float(total),
        "mean_m": float(total) / people if people > 0 else np.nan,
        "objective": objective,
        "objective_kind": "weighted walk (m)" if method == "pmedian" else "residents newly covered",
        "optimal": optimal,
        "gap": gap,
        "solve_s": seconds,
    }


def _walks(inst: _Instance, open_: NDArray[np.bool_]) -> FloatArray:
    """Per demand point, the walk to the nearest of the existing and the open sites (capped)."""
    assert inst.cost is not None
    walk = inst.fallback_m.copy()
    mine = open_[inst.cost.place]
    np.minimum.at(walk, inst.cost.point[mine], inst.cost.dist_m[mine])
    return walk


def _sites_frame(
    region: Region, method: str, inst: _Instance, pop: FloatArray, chosen: NDArray[np.int64]
) -> gpd.GeoDataFrame:
    """The chosen sites ranked by what each adds to those above it."""
    sub = _cover_matrix(inst)[chosen]
    _, gains, _, order = greedy(sub, pop[inst.uncovered], len(chosen))
    rest = np.setdiff1d(np.arange(len(chosen)), order)  # sites adding nobody come last
    order = np.concatenate([order, rest]).astype(np.int64)
    gains = np.concatenate([gains, np.zeros(len(rest))])
    ranked = chosen[order]
    served = (
        _served(inst, pop, chosen)[order] if inst.cost is not None else np.full(len(ranked), np.nan)
    )
    lonlat = region.unproject(inst.places.xy[ranked]) if len(ranked) else np.zeros((0, 2))
    caps = inst.capacity[ranked] if inst.capacity is not None else np.full(len(ranked), np.inf)
    return gpd.GeoDataFrame(
        {
            "method": method,
            "rank": np.arange(1, len(ranked) + 1),
            "candidate": inst.labels[ranked],
            "gain_population": gains,
            "served_population": served,
            "capacity": caps,
        },
        geometry=gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]),
        crs="EPSG:4326",
    )


def _served(inst: _Instance, pop: FloatArray, chosen: NDArray[np.int64]) -> FloatArray:
    """Residents for whom each chosen site is nearer than the existing and the other sites."""
    assert inst.cost is not None
    slot = np.full(len(inst.labels), -1, np.int64)
    slot[chosen] = np.arange(len(chosen))
    mine = inst.cost.subset(slot[inst.cost.place] >= 0)
    walk = _walks(inst, slot >= 0)
    best = mine.dist_m <= walk[mine.point]
    point, site = mine.point[best], slot[mine.place[best]]
    _, first = np.unique(point, return_index=True)  # ties go to one site only
    return np.asarray(
        np.bincount(site[first], weights=pop[point[first]], minlength=len(chosen)), dtype=np.float64
    )
