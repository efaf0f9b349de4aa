"""Who is served worst: population-weighted times, tier shares and inequality across homes.

Per community (and the whole district), per resident group and per category, from the
analysis's exact time to the nearest facility:

* the population-weighted mean time, and the share of residents within each GB 50180 tier's
  radius and within the category's own radius;
* the Gini coefficient of the time to the nearest across residents (0: everyone equally far;
  towards 1: a few walk far, most are next door), as Bruno et al. (2024) report per city;
* the worst-served decile: the tenth of homes with the longest walk, the share of residents
  living there and their mean time.

Groups are every resident, and, when homes carry them, age groups: an ``elderly`` or
``children`` column (residents of that group per home) or ``elderly_share`` /
``children_share`` (a share of the home's population), or a mapping given by the caller.
A group named like a walking profile of the standards file (``elderly``) walks at its speed,
and is judged by the time it needs: a tier of 300 m at the planning pace of 1 m/s allows five
minutes, which an older resident at 0.8 m/s walks in 240 m. Given the group's own walk
(:class:`GroupWalk`, from :func:`livingcircle.geo.profile_analysis.group_walks`), its times
are the profile's on its own network: the crossings it waits at, the steps it climbs slowly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from livingcircle.geo.demand import Demand
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.gaps import DISTRICT, Analysis
from livingcircle.geo.network import FloatArray

#: The group of every resident.
EVERYONE = "everyone"
#: Age-group columns homes may carry (residents per home, or ``<name>_share`` of them).
AGE_GROUPS = ("elderly", "children")
#: The walking profile each age group is judged at, where one fits it.
GROUP_PROFILES = {"elderly": "elderly", "children": "child"}
#: The share of homes in the worst-served part.
WORST_SHARE = 0.1


def gini(values: ArrayLike, weights: ArrayLike | None = None) -> float:
    """The (weighted) Gini coefficient of non-negative values.

    ``sum_ij w_i w_j |x_i - x_j| / (2 W^2 mean)``, computed from the Lorenz curve in
    O(n log n). NaN for no weight or an all-zero total; values must be finite and >= 0.
    """
    x = np.asarray(values, dtype=np.float64)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    if x.shape != w.shape or x.ndim != 1:
        raise InvalidParameter(f"gini needs one weight per value ({x.shape} and {w.shape})")
    if (~np.isfinite(x)).any() or (x < 0).any() or (~np.isfinite(w)).any() or (w < 0).any():
        raise InvalidParameter("gini needs finite values >= 0 and finite weights >= 0")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    total_w, total_xw = w.sum(), (x * w).sum()
    if total_w <= 0 or total_xw <= 0:
        return np.nan if total_w <= 0 else 0.0
    lorenz = np.concatenate([[0.0], np.cumsum(x * w) / total_xw])
    area = (w / total_w * (lorenz[1:] + lorenz[:-1])).sum()
    return float(1.0 - area)


@dataclass(frozen=True)
class Worst:
    """The worst-served tenth of homes: how many, their residents, share and mean minutes."""

    homes: int
    population: float
    share: float
    mean_minutes: float


def worst_decile(minutes: FloatArray, population: FloatArray, share: float = WORST_SHARE) -> Worst:
    """The ``share`` of homes (with residents) that walk longest, unreachable ones first.

    The mean is over those of them that can reach a facility (NaN if none can).
    """
    has = population > 0
    t, pop = minutes[has], population[has]
    n = int(np.ceil(share * len(t)))
    if n == 0:
        return Worst(0, 0.0, np.nan, np.nan)
    worst = np.argsort(-t, kind="stable")[:n]  # inf sorts first
    wt, wp = t[worst], pop[worst]
    reach = np.isfinite(wt)
    mean = float((wt[reach] * wp[reach]).sum() / wp[reach].sum()) if wp[reach].sum() > 0 else np.nan
    return Worst(n, float(wp.sum()), float(wp.sum() / pop.sum()), mean)


def resident_groups(
    demand: Demand, groups: Mapping[str, str | ArrayLike] | None = None
) -> dict[str, FloatArray]:
    """Residents per home of each group: everyone, then age groups.

    Parameters
    ----------
    demand
        The placed homes; their frame's ``elderly``/``children`` (residents) or
        ``elderly_share``/``children_share`` columns are used when ``groups`` is None.
    groups
        Group name to a column of the homes' frame or to one value per home (residents).

    Raises
    ------
    InvalidParameter
        A named column is missing, or a group's residents are not numbers between 0 and the
        home's population.
    """
    out = {EVERYONE: demand.population}
    wanted: Mapping[str, str | ArrayLike] = (
        groups
        if groups is not None
        else {g: c for g in AGE_GROUPS for c in (g, f"{g}_share") if c in demand.frame}
    )
    for name, spec in wanted.items():
        if name == EVERYONE:
            raise InvalidParameter(
                f"group name {EVERYONE!r} is taken by every resident; name the group otherwise"
            )
        out[name] = _group_values(demand, name, spec)
    return out


def _group_values(demand: Demand, name: str, spec: str | ArrayLike) -> FloatArray:
    frame, pop = demand.frame, demand.population
    if isinstance(spec, str):
        if spec not in frame:
            raise InvalidParameter(
                f"group {name!r}: the homes have no column {spec!r}; "
                f"columns: {', '.join(map(str, frame.columns))}"
            )
        values = pd.to_numeric(frame[spec], errors="coerce").to_numpy(dtype=np.float64)
        if spec.endswith("_share"):
            _check_range(name, spec, values, np.ones(len(values)), "a share from 0 to 1")
            return np.asarray(values * pop, dtype=np.float64)
    else:
        values = np.asarray(spec, dtype=np.float64)
        spec = "(given values)"
        if values.shape != pop.shape:
            raise InvalidParameter(
                f"group {name!r}: {values.shape[0] if values.ndim else 0} "
                f"values for {len(pop)} homes; allowed: one per home"
            )
    _check_range(name, spec, values, pop, "residents from 0 to the home's population")
    return np.asarray(values, dtype=np.float64)


def _check_range(name: str, column: str, values: FloatArray, top: FloatArray, allowed: str) -> None:
    bad = ~np.isfinite(values) | (values < 0) | (values > top * (1 + 1e-9) + 1e-9)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InvalidParameter(
            f"group {name!r}, column {column!r}: {bad.sum():,} homes have "
            f"no valid value (the first: {values[first]!r}); allowed: "
            f"{allowed}"
        )


@dataclass(frozen=True)
class GroupWalk:
    """A resident group's walk at its own profile: per category, each home's distance.

    ``nearest_m`` holds, per category, one distance per home of the analysis (equivalent
    metres at ``speed_m_s``; ``inf`` where the profile reaches none, or cannot place the home).
    """

    speed_m_s: float
    nearest_m: dict[str, FloatArray] = field(default_factory=dict)


def group_speeds(analysis: Analysis, names: Iterable[str]) -> dict[str, float]:
    """Walking speed per group: one named like a profile walks at it, others at the analysis's."""
    profiles = analysis.standard.profiles
    return {
        g: profiles[g].speed_m_s if g in profiles and g != EVERYONE else analysis.speed_m_s
        for g in names
    }


def equity(
    analysis: Analysis,
    categories: Iterable[str] | None = None,
    groups: Mapping[str, str | ArrayLike] | None = None,
    walks: Mapping[str, GroupWalk] | None = None,
) -> pd.DataFrame:
    """The equity table: one row per community, group and category.

    Parameters
    ----------
    analysis
        The gap analysis (its times to the nearest are reused, nothing is searched again).
    categories
        Analysed categories; all of them when None.
    groups
        As :func:`resident_groups` (the homes' age-group columns when None).
    walks
        Groups judged on their own profile's network (its street rules, not only its
        speed); the others walk the analysis's distances at their speed.

    Returns
    -------
    pandas.DataFrame
        ``community`` (``"(district)"`` first), ``group``, ``category``, ``speed_m_s``,
        ``population``, ``mean_minutes`` (population-weighted, reachable residents),
        ``unreachable_population``, ``within_radius_share`` (the category's radius, judged
        as time at the group's speed), ``within_<m>min_share`` per tier, ``gini``,
        ``worst_decile_homes``, ``worst_decile_population``, ``worst_decile_share`` and
        ``worst_decile_mean_minutes``.
    """
    cats = list(categories) if categories is not None else list(analysis.categories)
    residents = resident_groups(analysis.demand, groups)
    speeds = group_speeds(analysis, residents)
    own = walks or {}
    speeds |= {g: w.speed_m_s for g, w in own.items() if g in residents}
    rows = []
    for community, idx in communities(analysis.demand):
        for group, pop in residents.items():
            for cat in cats:
                acc = analysis.access(cat)
                walk = own.get(group)
                dist = walk.nearest_m[cat] if walk is not None else acc.nearest_m
                rows.append(
                    {
                        "community": community,
                        "group": group,
                        "category": cat,
                        "speed_m_s": speeds[group],
                    }
                    | _figures(analysis, dist[idx], acc.radius_m, pop[idx], speeds[group])
                )
    return pd.DataFrame(rows)


def communities(demand: Demand) -> list[tuple[str, NDArray[np.intp]]]:
    """The district (every home) and each named community's homes, by name."""
    names = demand.community
    out = [(DISTRICT, np.arange(len(demand)))]
    for name in sorted(set(names.tolist()) - {""}):
        out.append((name, np.flatnonzero(names == name)))
    return out


def _figures(
    analysis: Analysis, dist_m: FloatArray, radius_m: float, pop: FloatArray, speed: float
) -> dict[str, float]:
    """Every figure of one row: times at the group's speed, limits as the planning pace's."""
    minutes = dist_m / speed / 60
    pace = analysis.speed_m_s
    total = float(pop.sum())
    reach = np.isfinite(minutes)
    weight = float(pop[reach].sum())

    def share(limit_m: float) -> float:
        return float(pop[minutes <= limit_m / pace / 60].sum()) / total if total else np.nan

    worst = worst_decile(minutes, pop)
    out = {
        "population": total,
        "mean_minutes": float((minutes[reach] * pop[reach]).sum() / weight) if weight else np.nan,
        "unreachable_population": float(pop[~reach].sum()),
        "within_radius_share": share(radius_m),
    }
    out |= {f"within_{t.minutes}min_share": share(t.distance_m) for t in analysis.standard.tiers}
    out |= {
        "gini": gini(minutes[reach], pop[reach]) if weight else np.nan,
        "worst_decile_homes": worst.homes,
        "worst_decile_population": worst.population,
        "worst_decile_share": worst.share,
        "worst_decile_mean_minutes": worst.mean_minutes,
    }
    return out
