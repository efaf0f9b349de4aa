"""Capacity-aware accessibility: supply-demand scores from exact walking distances.

A home near a clinic that already serves more residents than it can is not served as well as
one near an idle clinic. The floating catchment family measures that:

* **2SFCA** (two-step floating catchment area, Luo & Wang 2003): each facility ``j`` shares
  its capacity ``S_j`` among the residents within its catchment, ``R_j = S_j / sum_i P_i``;
  a home's score is the sum of ``R_j`` over the facilities within the catchment of it.
* **E2SFCA** (enhanced, Luo & Qi 2009): both sums weigh each pair by a distance decay
  ``w(d)`` (stepped zones or a Gaussian, from the standards file's ``[supply]``), so a
  facility at the edge of the catchment counts less than one next door.
* **gravity** (Joseph & Bantock 1982, as a 2SFCA with power decay): ``w(d) = d^-beta``.

In all three ``R_j = S_j / sum_i P_i w(d_ij)`` and ``A_i = sum_j R_j w(d_ij)``, over the
pairs within the catchment (PySAL ``access`` computes the same, and the tests check it
to 1e-9). With capacities in residents served, a score of 1 means there is capacity for
every resident; 0 means no facility within the catchment.

The (facility, home) pairs come from one bounded search per facility
(:meth:`livingcircle.geo.reach.ReachGraph.pairs_within`), distances include both access legs,
and both steps are sparse matrix products: no loop per home or facility.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from livingcircle.geo.demand import Demand
from livingcircle.geo.errors import InvalidParameter, UnknownCategory
from livingcircle.geo.network import FloatArray
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import Snap

if TYPE_CHECKING:
    from livingcircle.geo.engine import Region

#: The scores, in the order of the output columns (``score_<method>``).
METHODS = ("2sfca", "e2sfca", "gravity")
#: The columns of :func:`scores_frame`, in order.
SCORE_COLUMNS = (
    "id",
    "community",
    "category",
    "population",
    "catchment_m",
    "facilities",
    *(f"score_{m}" for m in METHODS),
)
#: E2SFCA decay functions a standards file may name.
DECAYS = ("steps", "gaussian")
#: Where a facility's own capacity is read, first found wins: its ``capacity`` column, then
#: these keys of its tags (department imports fill them).
CAPACITY_TAGS = ("capacity", "beds", "places", "seats")


@dataclass(frozen=True)
class SupplyRules:
    """The ``[supply]`` and ``[capacity.default]`` tables of a standards file.

    Attributes
    ----------
    default_capacity
        Residents one facility serves, per category id, where a facility states none.
    decay
        The E2SFCA decay: ``"steps"`` or ``"gaussian"``.
    steps
        Weights of equal zones of the catchment, nearest first (``"steps"``).
    gaussian_sigma
        The Gaussian's width as a share of the catchment (``"gaussian"``).
    gravity_beta, gravity_min_m
        Gravity weight ``(max(d, min) / catchment) ** -beta``.
    """

    default_capacity: Mapping[str, float] = field(default_factory=dict)
    decay: str = "steps"
    steps: tuple[float, ...] = (1.0, 0.68, 0.22)
    gaussian_sigma: float = 0.5
    gravity_beta: float = 1.0
    gravity_min_m: float = 50.0


def parse_supply(
    supply: Mapping[str, Any], capacity: Mapping[str, Any], categories: Iterable[str]
) -> SupplyRules:
    """Read ``[supply]`` and ``[capacity]`` of a standards file (checked, with defaults)."""
    known = set(categories)
    defaults = dict(capacity.get("default", {}))
    for cat, value in defaults.items():
        if cat not in known:
            raise UnknownCategory(cat, known)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise InvalidParameter(
                f"[capacity.default] {cat} = {value!r}: allowed: a number of residents above 0"
            )
    base = SupplyRules()
    rules = SupplyRules(
        {k: float(v) for k, v in defaults.items()},
        str(supply.get("decay", base.decay)),
        tuple(float(s) for s in supply.get("steps", base.steps)),
        float(supply.get("gaussian_sigma", base.gaussian_sigma)),
        float(supply.get("gravity_beta", base.gravity_beta)),
        float(supply.get("gravity_min_m", base.gravity_min_m)),
    )
    _check_rules(rules)
    return rules


def _check_rules(rules: SupplyRules) -> None:
    if rules.decay not in DECAYS:
        raise InvalidParameter(f"[supply] decay = {rules.decay!r}; allowed: {', '.join(DECAYS)}")
    if not rules.steps or min(rules.steps) < 0 or max(rules.steps) <= 0:
        raise InvalidParameter(
            f"[supply] steps = {list(rules.steps)}: allowed: one or more "
            "weights >= 0, at least one above 0"
        )
    if not 0 < rules.gaussian_sigma <= 10:
        raise InvalidParameter(
            f"[supply] gaussian_sigma = {rules.gaussian_sigma}: allowed: "
            "above 0, at most 10 (a share of the catchment)"
        )
    if not 0 <= rules.gravity_beta <= 10 or not 0 < rules.gravity_min_m <= 10_000:
        raise InvalidParameter(
            f"[supply] gravity_beta = {rules.gravity_beta} (allowed 0 to "
            f"10) or gravity_min_m = {rules.gravity_min_m} (allowed above "
            "0, at most 10000)"
        )


# -- the scores -------------------------------------------------------------------------------


def decay_weights(
    dist_m: FloatArray, catchment_m: float, method: str, rules: SupplyRules
) -> FloatArray:
    """Each pair's weight ``w(d)`` for ``method`` (one of :data:`METHODS`).

    Distances are within the catchment already; 2SFCA weighs every pair 1.
    """
    if method == "2sfca":
        return np.ones(len(dist_m))
    if method == "gravity":
        floor = np.maximum(dist_m, rules.gravity_min_m) / catchment_m
        return np.asarray(floor**-rules.gravity_beta, dtype=np.float64)
    if method != "e2sfca":
        raise InvalidParameter(f"unknown score {method!r}; allowed: {', '.join(METHODS)}")
    if rules.decay == "gaussian":
        sigma = rules.gaussian_sigma * catchment_m
        return np.asarray(np.exp(-dist_m * dist_m / (2 * sigma * sigma)), dtype=np.float64)
    edges = step_edges(catchment_m, len(rules.steps))
    zone = np.minimum(np.searchsorted(edges, dist_m, side="left"), len(edges) - 1)
    return np.asarray(np.asarray(rules.steps, dtype=np.float64)[zone])


def step_edges(catchment_m: float, n: int) -> FloatArray:
    """Outer edges of ``n`` equal zones of the catchment (a distance on an edge is inside)."""
    return np.asarray(catchment_m * np.arange(1, n + 1) / n, dtype=np.float64)


def fca_scores(
    home: NDArray[np.int64],
    facility: NDArray[np.int64],
    weight: FloatArray,
    population: FloatArray,
    capacity: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """The two floating-catchment steps over weighted (home, facility) pairs.

    Parameters
    ----------
    home, facility, weight
        One entry per pair within the catchment (each pair once).
    population
        Residents per home.
    capacity
        Supply per facility.

    Returns
    -------
    score, ratio
        Per home ``A_i = sum_j R_j w_ij``; per facility ``R_j = S_j / sum_i P_i w_ij`` (0 for a
        facility no resident is within the catchment of).
    """
    w = csr_matrix((weight, (home, facility)), shape=(len(population), len(capacity)))
    demand = np.asarray(w.T @ population, dtype=np.float64)
    ratio = np.divide(capacity, demand, out=np.zeros(len(capacity)), where=demand > 0)
    return np.asarray(w @ ratio, dtype=np.float64), ratio


@dataclass(frozen=True)
class CategorySupply:
    """One category's supply-demand scores.

    Attributes
    ----------
    category, catchment_m
        The category and its catchment (walking distance, access legs included).
    capacity, capacity_source
        Per facility of the category (in the region's facility order): its supply, and where
        it came from (``"stated"`` for the facility, ``"median"`` of the stated ones,
        ``"default"`` from the standards file, or ``"count"``: 1 each).
    scores
        Per method of :data:`METHODS`, the score of every home.
    ratios
        Per method, every facility's capacity per (weighted) resident in its catchment.
    facilities
        Per home, the number of facilities within the catchment.
    """

    category: str
    catchment_m: float
    capacity: FloatArray
    capacity_source: NDArray[np.object_]
    scores: dict[str, FloatArray]
    ratios: dict[str, FloatArray]
    facilities: NDArray[np.int64]


def supply_scores(
    region: Region,
    demand: Demand,
    categories: Iterable[str] | None = None,
    capacities: Mapping[str, float] | None = None,
    catchment_m: float | Mapping[str, float] | None = None,
    graph: ReachGraph | None = None,
) -> dict[str, CategorySupply]:
    """2SFCA, E2SFCA and gravity scores of every home, per category.

    Parameters
    ----------
    region, demand
        The region and its placed homes (with their population).
    categories
        Category ids; the standard's every category when None.
    capacities
        Facility id to its stated capacity (:func:`capacities_from_frame` reads them from a
        store's facilities); the standards file's defaults fill the rest.
    catchment_m
        The catchment, one for all or per category; each category's GB 50180 radius by
        default.
    graph
        A reversed graph of ``region.net`` to reuse.
    """
    cats = region.standard.resolve_categories(categories)
    rg = graph if graph is not None else ReachGraph(region.net)
    out = {}
    for cat in cats:
        radius = _catchment(region, cat, catchment_m)
        rows = np.flatnonzero(region.facilities.category == region.standard.category_index(cat))
        cap, source = facility_capacity(region, cat, rows, capacities)
        home, fac, dist = catchment_pairs(rg, region.facilities.snap[rows], demand.snap, radius)
        out[cat] = _category_supply(
            region, cat, radius, demand.population, cap, source, (home, fac, dist)
        )
    return out


def _category_supply(
    region: Region,
    cat: str,
    radius: float,
    population: FloatArray,
    cap: FloatArray,
    source: NDArray[np.object_],
    pairs: tuple[NDArray[np.int64], NDArray[np.int64], FloatArray],
) -> CategorySupply:
    home, fac, dist = pairs
    rules = region.standard.supply
    scores, ratios = {}, {}
    for method in METHODS:
        weight = decay_weights(dist, radius, method, rules)
        scores[method], ratios[method] = fca_scores(home, fac, weight, population, cap)
    count = np.bincount(home, minlength=len(population)).astype(np.int64)
    return CategorySupply(cat, radius, cap, source, scores, ratios, count)


def _catchment(
    region: Region, category: str, catchment_m: float | Mapping[str, float] | None
) -> float:
    value = catchment_m.get(category) if isinstance(catchment_m, Mapping) else catchment_m
    radius = region.radius_for(category) if value is None else float(value)
    if not 0 < radius <= 20_000:
        raise InvalidParameter(
            f"catchment {radius} m for {category!r}: allowed: above 0, at most 20000 m"
        )
    return radius


def catchment_pairs(
    graph: ReachGraph, places: Snap, points: Snap, radius_m: float
) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]:
    """Every (home, facility) pair within ``radius_m`` on foot: home, facility, distance."""
    chunks = list(graph.pairs_within(places, points, radius_m))
    if not chunks:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return (
        np.concatenate([c.point for c in chunks]).astype(np.int64),
        np.concatenate([c.place for c in chunks]).astype(np.int64),
        np.concatenate([c.dist_m for c in chunks]),
    )


# -- capacities -------------------------------------------------------------------------------


def facility_capacity(
    region: Region,
    category: str,
    rows: NDArray[np.int64],
    capacities: Mapping[str, float] | None = None,
) -> tuple[FloatArray, NDArray[np.object_]]:
    """Supply of each facility ``rows`` of ``category``, and where each value came from.

    A stated capacity (``capacities``, by facility id) wins; the others of the category get
    the median of the stated ones (so one category never mixes units), else the standards
    file's default for the category, else 1 each.
    """
    ids = np.asarray(region.facilities.text["id"], dtype=object)[rows]
    cap = (
        pd.Series(capacities, dtype=np.float64).reindex(ids).to_numpy(dtype=np.float64)
        if capacities
        else np.full(len(rows), np.nan)
    )
    given = np.isfinite(cap) & (cap >= 0)
    source = np.where(given, "stated", "").astype(object)
    if given.any():
        fill, how = float(np.median(cap[given])), "median"
    elif category in region.standard.supply.default_capacity:
        fill, how = region.standard.supply.default_capacity[category], "default"
    else:
        fill, how = 1.0, "count"
    source[~given] = how
    return np.where(given, cap, fill), source


def capacities_from_frame(facilities: pd.DataFrame) -> dict[str, float]:
    """Stated capacities by facility id: a ``capacity`` column, else a capacity tag.

    Tags (a JSON object as text, or a dict) are read for ``capacity``, ``beds``, ``places``
    and ``seats``, first found wins; values that are no number >= 0 are ignored.
    """
    if "id" not in facilities or len(facilities) == 0:
        return {}
    ids = facilities["id"].astype(str).to_numpy()
    cap = (
        pd.to_numeric(facilities["capacity"], errors="coerce").to_numpy(dtype=np.float64, copy=True)
        if "capacity" in facilities
        else np.full(len(ids), np.nan)
    )
    if "tags" in facilities:
        missing = ~np.isfinite(cap)
        cap[missing] = _tag_capacity(facilities["tags"].to_numpy()[missing])
    ok = np.isfinite(cap) & (cap >= 0)
    return dict(zip(ids[ok].tolist(), cap[ok].tolist(), strict=True))


def _tag_capacity(tags: NDArray[np.object_]) -> FloatArray:
    """The first capacity tag of each tag set as a number (NaN where none is).

    Tags are JSON objects as the loaders write them (text; a dict is written out first); the
    keys are found by pattern over the whole column at once, not parsed row by row.
    """
    text = (
        pd.Series(tags, dtype=object)
        .map(lambda t: json.dumps(t) if isinstance(t, Mapping) else str(t))
        .astype(str)
    )
    out = np.full(len(tags), np.nan)
    for key in CAPACITY_TAGS:
        found = text.str.extract(_number_of(key), expand=False)
        value = pd.to_numeric(found, errors="coerce").to_numpy(dtype=np.float64)
        take = ~np.isfinite(out) & np.isfinite(value)
        out[take] = value[take]
    return out


def _number_of(key: str) -> str:
    """A pattern for ``"key": "12"`` or ``"key": 12`` in a JSON object, capturing the number."""
    return rf'"{key}"\s*:\s*"?\s*([0-9]+(?:\.[0-9]*)?)\s*"?\s*[,}}]'


# -- tables -----------------------------------------------------------------------------------


def scores_frame(demand: Demand, supplies: Mapping[str, CategorySupply]) -> pd.DataFrame:
    """The tidy table: one row per home and category, its scores and catchment.

    Columns ``id``, ``community``, ``category``, ``population``, ``catchment_m``,
    ``facilities`` (within the catchment) and ``score_<method>`` per method.
    """
    n = len(demand)
    ids = (
        demand.frame["id"].astype(str).to_numpy(dtype=object)
        if "id" in demand.frame
        else np.arange(n).astype(str).astype(object)
    )
    parts = []
    for cat, sup in supplies.items():
        part = {
            "id": ids,
            "community": demand.community,
            "category": np.full(n, cat, object),
            "population": demand.population,
            "catchment_m": np.full(n, sup.catchment_m),
            "facilities": sup.facilities,
        }
        part |= {f"score_{m}": sup.scores[m] for m in METHODS}
        parts.append(pd.DataFrame(part))
    if not parts:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    return pd.concat(parts, ignore_index=True).astype(
        {"id": "str", "community": "str", "category": "str"}
    )
