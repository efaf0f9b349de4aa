"""Homes analysed at several walking profiles in one run, and what each profile loses.

The planner's question behind issue 19: GB 50180 wants elderly day-care within a 5-minute
walk, but a 5-minute walk is shorter for an older resident, and longer still round the steps
for a wheelchair. :func:`analyse_profiles` runs the gap analysis
(:func:`livingcircle.geo.gaps.analyse`) once per profile on the profile's own network
(:meth:`Region.walked_at`), with the homes placed on it; :func:`homes_losing` counts, per
profile and category, the homes with a facility within ``minutes`` at the reference profile
and none at the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from livingcircle.geo import config
from livingcircle.geo.demand import Demand, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.equity import AGE_GROUPS, GROUP_PROFILES, GroupWalk
from livingcircle.geo.gaps import Analysis, analyse

#: The ``category`` of :func:`homes_losing`'s row for homes that lose any category.
ANY = "any"
#: The column that carries each home's row of the frame given through every placement.
HOME_ROW = "home_row"


def analyse_profiles(
    region: Region,
    homes: gpd.GeoDataFrame,
    profiles: Iterable[str],
    categories: Iterable[str] | None = None,
    minutes: Sequence[int] = config.DEFAULT_MINUTES,
    k: int = 1,
) -> dict[str, Analysis]:
    """The gap analysis of ``homes`` (with ``population``) at each of ``profiles``.

    Each profile walks its own network: homes by streets it excludes snap to the nearest
    street it may walk, or are dropped (``Analysis.demand.dropped``). Each analysis's demand
    frame keeps the homes' row in ``homes`` as ``home_row``.
    """
    marked = homes.assign(**{HOME_ROW: np.arange(len(homes))})
    demand = place_demand(region.net, marked, region.max_snap_m)
    return {
        name: analyse(region, demand, categories, k=k, minutes=minutes, profile=name)
        for name in dict.fromkeys(profiles)
    }


def group_walks(region: Region, demand: Demand, categories: Sequence[str]) -> dict[str, GroupWalk]:
    """Each age group of the homes named like a profile with street rules, walked at it.

    GB 50180 judges older residents' 5-minute walk to day-care; an ``elderly`` column on the
    homes (or ``elderly_share``) makes the equity table time them at the ``elderly``
    profile on its own network (crossing waits, steps, slopes), not the standard network at
    a slower speed. None when ``region`` is already a profile's view (every home walks it).
    """
    if region.walking.profile is not None or not categories:
        return {}
    out = {}
    for group in AGE_GROUPS:
        profile = GROUP_PROFILES.get(group, group)
        rules = region.standard.profiles.get(profile)
        carried = group in demand.frame or f"{group}_share" in demand.frame
        if rules is None or not rules.has_edge_rules or not carried:
            continue
        rows = np.arange(len(demand))
        marked = replace(demand, frame=demand.frame.assign(**{HOME_ROW: rows}))
        walked = analyse(region, marked, categories, k=1, profile=profile)
        placed = walked.demand.frame[HOME_ROW].to_numpy(np.int64)
        out[group] = GroupWalk(walked.speed_m_s, {})
        for category in categories:
            dist = np.full(len(demand), np.inf)
            dist[placed] = walked.access(category).nearest_m
            out[group].nearest_m[category] = dist
    return out


def within(analysis: Analysis, category: str, minutes: float, n_homes: int) -> NDArray[np.bool_]:
    """Per home of the original frame: a ``category`` facility within ``minutes``."""
    ok = np.zeros(n_homes, dtype=bool)
    rows = analysis.demand.frame[HOME_ROW].to_numpy(np.int64)
    ok[rows] = analysis.minutes_to(category) <= minutes + 1e-9
    return ok


def homes_losing(
    analyses: dict[str, Analysis], minutes: float = 5, reference: str = "standard"
) -> pd.DataFrame:
    """Per profile and category: homes within ``minutes`` at ``reference`` and not at it.

    Columns ``profile``, ``category``, ``homes`` (placed at ``reference``),
    ``within_reference``, ``lost`` (homes), ``lost_residents``; per profile a last row,
    category ``any``, counts the homes that lose at least one category (``within_reference``
    is then the same count). The ``reference`` analysis must be among them.
    """
    base = analyses[reference]
    n = 1 + max(int(a.demand.frame[HOME_ROW].to_numpy().max(initial=-1)) for a in analyses.values())
    population = np.zeros(n)
    population[base.demand.frame[HOME_ROW].to_numpy(np.int64)] = base.demand.population
    rows = []
    for name, other in analyses.items():
        if name == reference:
            continue
        any_lost = np.zeros(n, dtype=bool)
        for category in base.categories:
            at_ref = within(base, category, minutes, n)
            lost = at_ref & ~within(other, category, minutes, n)
            any_lost |= lost
            rows.append(_row(name, category, len(base.demand), at_ref, lost, population))
        rows.append(_row(name, ANY, len(base.demand), any_lost, any_lost, population))
    return pd.DataFrame(rows)


def _row(
    profile: str,
    category: str,
    homes: int,
    at_ref: NDArray[np.bool_],
    lost: NDArray[np.bool_],
    population: NDArray[np.float64],
) -> dict[str, object]:
    return {
        "profile": profile,
        "category": category,
        "homes": homes,
        "within_reference": int(at_ref.sum()),
        "lost": int(lost.sum()),
        "lost_residents": float(population[lost].sum()),
    }
