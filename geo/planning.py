"""The whole planner's gap analysis in one call, as tables ready to write out or to map.

:func:`plan` runs :func:`livingcircle.geo.gaps.analyse` once, then draws the gap areas and sites new
facilities for the categories asked about. :class:`PlannerTables` holds everything a report,
a file or a planner map needs, in WGS 84.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from livingcircle.geo import config
from livingcircle.geo.demand import Demand
from livingcircle.geo.engine import Region
from livingcircle.geo.equity import equity
from livingcircle.geo.gaps import (
    DEFAULT_K,
    Analysis,
    StepProgress,
    analyse,
    gap_areas,
    no_progress,
)
from livingcircle.geo.profile_analysis import group_walks
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.siting import Siting, best_sites, picks_frame
from livingcircle.geo.siting_compare import compare_for_plan
from livingcircle.geo.supply import scores_frame, supply_scores


@dataclass(frozen=True)
class PlannerTables:
    """The analysis and its tables.

    Attributes
    ----------
    analysis
        Per-point, per-category arrays (:class:`livingcircle.geo.gaps.Analysis`): ``node_m`` per
        category
        paints streets, ``nearest_m`` per point colours homes.
    points
        Demand points with score, missing requirements and per-category minutes.
    coverage
        Per community and category: residents covered, shares, population-weighted minutes.
    tiers
        Per community, tier and requirement: the share of residents for whom it is met.
    gaps
        Areas beyond each focus category's radius, with the residents they hold.
    sites
        Greedy picks per focus category, with the residents each newly covers.
    focus
        The categories gaps and sites were made for.
    access_scores
        Per home and focus category: 2SFCA, E2SFCA and gravity supply-demand scores
        (:func:`livingcircle.geo.supply.scores_frame`).
    equity
        Per community, resident group and focus category: weighted times, tier shares, Gini
        and the worst-served decile (:func:`livingcircle.geo.equity.equity`).
    siting_comparison, compared_sites
        With more ``methods`` than greedy: per focus category and method the residents newly
        covered, the weighted walk, the objective and the solver time, and the sites each
        chose (:func:`livingcircle.geo.siting_compare.compare_sites`); empty otherwise.
    """

    analysis: Analysis
    points: gpd.GeoDataFrame
    coverage: pd.DataFrame
    tiers: pd.DataFrame
    gaps: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    sitings: list[Siting]
    focus: tuple[str, ...]
    access_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    equity: pd.DataFrame = field(default_factory=pd.DataFrame)
    siting_comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    compared_sites: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)


def plan(
    region: Region,
    demand: Demand,
    focus: Iterable[str] | None = None,
    n_sites: int = 5,
    parcels: gpd.GeoDataFrame | None = None,
    k: int = DEFAULT_K,
    minutes: Sequence[int] = config.DEFAULT_MINUTES,
    speed_m_s: float | None = None,
    progress: StepProgress | None = None,
    capacities: Mapping[str, float] | None = None,
    methods: Sequence[str] = ("greedy",),
) -> PlannerTables:
    """Analyse every category, then draw gaps and site ``n_sites`` for each focus category.

    Parameters
    ----------
    region, demand
        The region and its placed demand points.
    focus
        Categories for gap areas and siting; the ones the standard requires when None.
    n_sites
        Picks per focus category (0 for none).
    parcels
        Candidate parcels for the sites (street nodes when None).
    k, minutes, speed_m_s, progress
        As :func:`livingcircle.geo.gaps.analyse`.
    capacities
        Stated facility capacities by facility id, for the supply-demand scores
        (:func:`livingcircle.geo.supply.capacities_from_frame`); the standards file's
        defaults when None.
    methods
        Siting methods to compare on the same candidates (``"greedy"``, ``"mclp"``,
        ``"pmedian"``); greedy alone (the default) adds no comparison.
    """
    tell = progress or no_progress
    graph = ReachGraph(region.net)
    analysis = analyse(
        region, demand, k=k, minutes=minutes, speed_m_s=speed_m_s, graph=graph, progress=progress
    )
    cats = region.standard.resolve_categories(focus) if focus else required(region)
    gaps = []
    for i, c in enumerate(cats):
        tell("drawing gap areas", i, len(cats))
        gaps.append(gap_areas(region, analysis, c))
    tell("drawing gap areas", len(cats), len(cats))
    sitings = []
    for i, c in enumerate(cats if n_sites > 0 else ()):
        tell(f"choosing {n_sites} new sites per category", i, len(cats))
        sitings.append(best_sites(region, analysis, c, n_sites, parcels=parcels, graph=graph))
    if sitings:
        tell(f"choosing {n_sites} new sites per category", len(cats), len(cats))
    gap_frame = (
        gpd.GeoDataFrame(pd.concat(gaps, ignore_index=True), crs="EPSG:4326")
        if gaps
        else gpd.GeoDataFrame({"category": []}, geometry=[], crs="EPSG:4326")
    )
    tell("supply and demand scores", 0, 1)
    scores = scores_frame(demand, supply_scores(region, demand, cats, capacities, graph=graph))
    tell("supply and demand scores", 1, 1)
    compared = (pd.DataFrame(), gpd.GeoDataFrame())
    if n_sites > 0 and set(methods) - {"greedy"}:
        tell(f"comparing siting methods: {', '.join(methods)}", 0, 1)
        compared = compare_for_plan(region, analysis, cats, n_sites, parcels, methods, graph)
        tell(f"comparing siting methods: {', '.join(methods)}", 1, 1)
    return PlannerTables(
        analysis,
        analysis.points_frame(),
        analysis.coverage(),
        analysis.tier_coverage(),
        gap_frame,
        picks_frame(sitings),
        sitings,
        tuple(cats),
        scores,
        equity(analysis, cats, walks=group_walks(region, demand, cats)),
        *compared,
    )


def required(region: Region) -> tuple[str, ...]:
    """Categories some GB 50180 requirement names, in the standard's category order."""
    named = {c for t in region.standard.tiers for r in t.requirements for c in r.categories}
    return tuple(c for c in region.standard.category_ids if c in named)
