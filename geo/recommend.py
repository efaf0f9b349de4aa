"""What each proposed site would change: residents newly within its radius, tiers completed.

The sites come from siting (greedy today, MCLP or p-median when a ``method`` column says so),
one row per pick in rank order. For each (category, method) the picks are taken in rank
order: a pick gains the residents it brings within the category's radius who were neither
covered already nor by an earlier pick. A resident *completes a tier* when the new facility
meets the last requirement of that tier they were missing (the facility counts for every
requirement naming its category whose radius is at least the category's). One bounded search
per site (:meth:`livingcircle.geo.reach.ReachGraph.pairs_within`), never per home.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from livingcircle.geo import config
from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import Analysis, Compliance
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import snap_geometries


def site_effects(
    region: Region, analysis: Analysis, sites: gpd.GeoDataFrame, graph: ReachGraph | None = None
) -> pd.DataFrame:
    """Per site row: residents it brings within reach and residents completing each tier.

    Parameters
    ----------
    region, analysis
        The region and its planner analysis.
    sites
        Proposed sites (EPSG:4326 points) with ``category`` and ``rank``, and ``method``
        when several siting methods are compared.
    graph
        A reversed graph of ``region.net`` to reuse.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``sites``: ``gain_population`` and ``tier_<m>min`` (residents whose tier
        of ``m`` minutes becomes complete) per row.
    """
    tiers = [t.minutes for t in analysis.standard.tiers]
    out = pd.DataFrame(
        0.0, index=sites.index, columns=["gain_population", *(f"tier_{m}min" for m in tiers)]
    )
    if sites.empty:
        return out
    rg = graph or ReachGraph(region.net)
    comp = analysis.compliance()
    keys = ["category", "method"] if "method" in sites else ["category"]
    for _, group in sites.groupby(keys, sort=False):
        ordered = group.sort_values("rank") if "rank" in group else group
        category = str(ordered["category"].iloc[0])
        if category not in analysis.categories:
            continue
        rows = _effects(region, analysis, comp, category, ordered.geometry.to_numpy(), rg)
        out.loc[ordered.index, :] = rows
    return out


def _effects(
    region: Region,
    analysis: Analysis,
    comp: Compliance,
    category: str,
    points: NDArray[np.object_],
    rg: ReachGraph,
) -> NDArray[np.float64]:
    """Rows of (gain, tier completions...) for one category's picks in rank order."""
    acc = analysis.access(category)
    radius = acc.radius_m
    pop = analysis.demand.population
    metric = np.array(
        [shapely.transform(g, lambda c: region.project(c[:, 0], c[:, 1])) for g in points],
        dtype=object,
    )
    places, _ = snap_geometries(region.net, metric, config.MAX_FACILITY_SNAP_M)
    open_ = np.flatnonzero(acc.nearest_m > radius)
    none = len(points)
    pick = np.full(len(analysis.demand), none, dtype=np.int64)  # the first pick reaching
    ok = np.flatnonzero(places.edge >= 0)
    if len(ok) and len(open_):
        for chunk in rg.pairs_within(places[ok], analysis.demand.snap[open_], radius):
            np.minimum.at(pick, open_[chunk.point], ok[chunk.place])
    helped = _newly_met(comp, category, radius)
    before = _tiers_met(comp, comp.met, analysis)
    after = _tiers_met(comp, comp.met | helped[None, :], analysis)
    rows = np.zeros((len(points), 1 + before.shape[1]))
    for i in range(len(points)):
        mine = pick == i
        rows[i, 0] = pop[mine].sum()
        rows[i, 1:] = (pop[mine, None] * (after[mine] & ~before[mine])).sum(axis=0)
    return rows


def _newly_met(comp: Compliance, category: str, radius_m: float) -> NDArray[np.bool_]:
    """Which requirements a facility of ``category`` within ``radius_m`` meets."""
    return np.array(
        [category in req.categories and req.radius_m >= radius_m for _, req in comp.requirements],
        dtype=bool,
    )


def _tiers_met(comp: Compliance, met: NDArray[np.bool_], analysis: Analysis) -> NDArray[np.bool_]:
    """``(points, tiers)``: every analysed requirement of the tier met."""
    cols = []
    for tier in analysis.standard.tiers:
        mine = [j for j, (m, _) in enumerate(comp.requirements) if m == tier.minutes]
        cols.append(met[:, mine].all(axis=1) if mine else np.zeros(len(met), dtype=bool))
    return np.column_stack(cols) if cols else np.zeros((len(met), 0), dtype=bool)
