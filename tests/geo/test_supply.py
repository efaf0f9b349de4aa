"""Supply-demand scores: a case worked by hand, and PySAL ``access`` on the real sample.

``access`` (PySAL, BSD-3-Clause) is the reference: it is given the same (home, facility,
walking distance) table as a long origin-destination frame, the same populations and
capacities, and must agree with our sparse-matrix scores to 1e-9.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from access import Access, weights

from livingcircle.geo.demand import Demand, demand_from_nodes, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter, UnknownCategory
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.standards import Standard
from livingcircle.geo.supply import (
    METHODS,
    SCORE_COLUMNS,
    SupplyRules,
    capacities_from_frame,
    catchment_pairs,
    decay_weights,
    facility_capacity,
    fca_scores,
    parse_supply,
    scores_frame,
    step_edges,
    supply_scores,
)
from tests.geo.test_gaps import demand_at
from tests.handmade import region

RTOL = ATOL = 1e-9


# -- by hand ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def street(standard: Standard) -> tuple[Region, Demand]:
    """A 1 km street, clinics f1 at 100 m and f2 at 700 m, homes at 0, 400 and 1000 m."""
    reg = region(
        {"A": (0, 0), "B": (1000, 0)},
        [("A", "B")],
        {"f1": ("clinic", 100, 0), "f2": ("clinic", 700, 0)},
        standard,
    )
    return reg, demand_at(reg, [(0, 0), (400, 0), (1000, 0)], [10, 20, 30], ["a", "a", "b"])


def test_three_homes_two_clinics_by_hand(street: tuple[Region, Demand]) -> None:
    reg, dem = street
    # catchment 350 m: home 0 reaches f1 (100 m); home 1 both (300 m each); home 2 f2 (300 m)
    sup = supply_scores(reg, dem, ["clinic"], {"f1": 60, "f2": 150}, catchment_m=350)["clinic"]
    assert sup.facilities.tolist() == [1, 2, 1]
    assert sup.capacity.tolist() == [60, 150] and sup.capacity_source.tolist() == ["stated"] * 2
    # 2SFCA: R1 = 60 / (10 + 20) = 2, R2 = 150 / (20 + 30) = 3
    assert sup.ratios["2sfca"] == pytest.approx([2, 3])
    assert sup.scores["2sfca"] == pytest.approx([2, 5, 3])
    # E2SFCA, zones of 116.7 m weighted 1, 0.68, 0.22: 100 m is in the first, 300 m the last
    r1, r2 = 60 / (10 + 20 * 0.22), 150 / (50 * 0.22)
    assert sup.ratios["e2sfca"] == pytest.approx([r1, r2])
    assert sup.scores["e2sfca"] == pytest.approx([r1, 0.22 * (r1 + r2), 0.22 * r2])
    # gravity, w = 350 / d: R1 = 60 / (35 + 70 / 3) = 36/35, R2 = 150 / (50 * 7 / 6) = 18/7
    assert sup.scores["gravity"] == pytest.approx([3.6, 4.2, 3.0], rel=2e-3)
    frame = scores_frame(dem, {"clinic": sup})
    assert frame.columns.tolist() == list(SCORE_COLUMNS)
    assert SCORE_COLUMNS[-3:] == ("score_2sfca", "score_e2sfca", "score_gravity")
    assert frame["id"].tolist() == ["p0", "p1", "p2"] and frame["category"].eq("clinic").all()


def test_defaults_median_and_count(street: tuple[Region, Demand], standard: Standard) -> None:
    reg, dem = street
    rows = np.array([0, 1])
    cap, source = facility_capacity(reg, "clinic", rows, {"f2": 80})
    assert cap.tolist() == [80, 80] and source.tolist() == ["median", "stated"]
    cap, source = facility_capacity(reg, "clinic", rows)
    assert cap.tolist() == [standard.supply.default_capacity["clinic"]] * 2
    assert source.tolist() == ["default"] * 2
    cap, source = facility_capacity(reg, "bus_stop", rows[:0])
    assert len(cap) == 0
    # the default radius is the category's: 300 m leaves the homes at 300 m (within 0.3 m
    # of the hand-made plane) out or in, but home 0 always sees f1 alone
    sup = supply_scores(reg, dem, ["clinic", "hospital"])
    assert sup["clinic"].catchment_m == 300
    assert sup["hospital"].scores["2sfca"].tolist() == [0, 0, 0]  # no hospital at all


def test_step_zones_and_decays() -> None:
    rules = SupplyRules()
    assert step_edges(300, 3).tolist() == [100, 200, 300]
    d = np.array([0, 100, 100.0001, 200, 250, 300])
    assert decay_weights(d, 300, "e2sfca", rules).tolist() == [1, 1, 0.68, 0.68, 0.22, 0.22]
    gauss = decay_weights(np.array([0, 150.0]), 300, "e2sfca", replace(rules, decay="gaussian"))
    assert gauss == pytest.approx([1, np.exp(-0.5)])
    assert decay_weights(np.array([10, 150.0]), 300, "gravity", rules) == pytest.approx([6, 2])
    with pytest.raises(InvalidParameter, match="allowed: 2sfca, e2sfca, gravity"):
        decay_weights(d, 300, "3sfca", rules)


def test_capacities_from_columns_and_tags() -> None:
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "capacity": [120, None, None, None, "lots", -3],
            "tags": [
                json.dumps({"beds": "9"}),
                json.dumps({"beds": "40", "seats": "7"}),
                {"places": 25},
                json.dumps({"capacity:disabled": "3", "seats": "12.5"}),
                "{}",
                json.dumps({"name": "beds"}),
            ],
        }
    )
    assert capacities_from_frame(frame) == {"a": 120, "b": 40, "c": 25, "d": 12.5}
    assert capacities_from_frame(frame.drop(columns=["tags"])) == {"a": 120}
    assert capacities_from_frame(frame.iloc[:0]) == {}


def test_standards_file_checks(standard: Standard) -> None:
    cats = standard.category_ids
    assert standard.supply.decay == "steps" and standard.supply.steps == (1.0, 0.68, 0.22)
    with pytest.raises(UnknownCategory, match="'clinics'"):
        parse_supply({}, {"default": {"clinics": 10}}, cats)
    with pytest.raises(InvalidParameter, match=r"clinic = -1.*above 0"):
        parse_supply({}, {"default": {"clinic": -1}}, cats)
    with pytest.raises(InvalidParameter, match="allowed: steps, gaussian"):
        parse_supply({"decay": "linear"}, {}, cats)
    with pytest.raises(InvalidParameter, match="steps"):
        parse_supply({"steps": []}, {}, cats)


def test_homes_without_population_are_refused(street: tuple[Region, Demand]) -> None:
    reg, dem = street
    with pytest.raises(
        InvalidParameter,
        match=r"need a 'population' column.*the homes have: "
        r"id, community, geometry; allowed: rename",
    ):
        place_demand(reg.net, dem.frame.drop(columns=["population"]))


def test_bad_catchment(street: tuple[Region, Demand]) -> None:
    reg, dem = street
    with pytest.raises(InvalidParameter, match="allowed: above 0"):
        supply_scores(reg, dem, ["clinic"], catchment_m={"clinic": 0})


# -- against PySAL access ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_pairs(
    sample_region: Region,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Demand, float]:
    """Every street node of the sample a home with a random population; restaurants with
    random capacities; the (home, restaurant, metres) table within 600 m."""
    reg = sample_region
    frame = demand_from_nodes(reg.net, reg.unproject(reg.net.node_xy))
    rng = np.random.default_rng(14)
    frame["population"] = rng.integers(1, 200, len(frame)).astype(float)
    dem = place_demand(reg.net, frame)
    rows = np.flatnonzero(reg.facilities.category == reg.standard.category_index("restaurant"))
    radius = 600.0
    home, fac, dist = catchment_pairs(
        ReachGraph(reg.net), reg.facilities.snap[rows], dem.snap, radius
    )
    cost = pd.DataFrame({"origin": home, "dest": fac, "cost": dist})
    demand_df = pd.DataFrame({"pop": dem.population}, index=pd.RangeIndex(len(dem), name="id"))
    supply_df = pd.DataFrame(
        {"cap": rng.uniform(10, 500, len(rows))}, index=pd.RangeIndex(len(rows), name="id")
    )
    return cost, demand_df, supply_df, dem, radius


def _access(cost: pd.DataFrame, demand_df: pd.DataFrame, supply_df: pd.DataFrame) -> Access:
    return Access(
        demand_df=demand_df,
        demand_index=True,
        demand_value="pop",
        supply_df=supply_df,
        supply_index=True,
        supply_value="cap",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )


def _ours(
    cost: pd.DataFrame, demand_df: pd.DataFrame, supply_df: pd.DataFrame, weight: np.ndarray
) -> np.ndarray:
    score, _ = fca_scores(
        cost["origin"].to_numpy(),
        cost["dest"].to_numpy(),
        weight,
        demand_df["pop"].to_numpy(),
        supply_df["cap"].to_numpy(),
    )
    return score


def _theirs(series: pd.DataFrame, n: int) -> np.ndarray:
    # homes no facility reaches are missing (NaN) in access's table: their score is 0
    return series.iloc[:, 0].reindex(range(n)).fillna(0).to_numpy()


def test_2sfca_matches_access(
    sample_pairs: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Demand, float],
) -> None:
    cost, demand_df, supply_df, _, radius = sample_pairs
    assert len(cost) > 10_000 and cost["origin"].nunique() > 1000  # a real test
    ref = _access(cost, demand_df, supply_df).two_stage_fca(name="t", max_cost=radius)
    ours = _ours(
        cost,
        demand_df,
        supply_df,
        decay_weights(cost["cost"].to_numpy(), radius, "2sfca", SupplyRules()),
    )
    np.testing.assert_allclose(ours, _theirs(ref, len(demand_df)), rtol=RTOL, atol=ATOL)
    assert (ours > 0).sum() == cost["origin"].nunique()


@pytest.mark.parametrize("decay", ["steps", "gaussian"])
def test_e2sfca_matches_access(
    sample_pairs: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Demand, float], decay: str
) -> None:
    cost, demand_df, supply_df, _, radius = sample_pairs
    rules = replace(SupplyRules(), decay=decay)
    if decay == "steps":
        fn = weights.step_fn(dict(zip(step_edges(radius, 3).tolist(), rules.steps, strict=True)))
    else:
        fn = weights.gaussian(rules.gaussian_sigma * radius)
    ref = _access(cost, demand_df, supply_df).enhanced_two_stage_fca(
        name="e", max_cost=radius, weight_fn=fn
    )
    ours = _ours(
        cost, demand_df, supply_df, decay_weights(cost["cost"].to_numpy(), radius, "e2sfca", rules)
    )
    np.testing.assert_allclose(ours, _theirs(ref, len(demand_df)), rtol=RTOL, atol=ATOL)


def test_gravity_matches_access(
    sample_pairs: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Demand, float],
) -> None:
    cost, demand_df, supply_df, _, radius = sample_pairs
    rules = SupplyRules()
    fn = weights.gravity(scale=radius, alpha=-rules.gravity_beta, min_dist=rules.gravity_min_m)
    ref = _access(cost, demand_df, supply_df).two_stage_fca(name="g", max_cost=radius, weight_fn=fn)
    ours = _ours(
        cost, demand_df, supply_df, decay_weights(cost["cost"].to_numpy(), radius, "gravity", rules)
    )
    np.testing.assert_allclose(ours, _theirs(ref, len(demand_df)), rtol=RTOL, atol=ATOL)


def test_supply_scores_on_the_sample_match_access(
    sample_region: Region,
    sample_pairs: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Demand, float],
) -> None:
    """The whole path (pairs, capacities by id, every method) against access."""
    cost, demand_df, supply_df, dem, radius = sample_pairs
    rows = np.flatnonzero(
        sample_region.facilities.category == sample_region.standard.category_index("restaurant")
    )
    ids = np.asarray(sample_region.facilities.text["id"], dtype=object)[rows]
    stated = dict(zip(ids.tolist(), supply_df["cap"].tolist(), strict=True))
    sup = supply_scores(sample_region, dem, ["restaurant"], stated, catchment_m=radius)
    ref = _access(cost, demand_df, supply_df).two_stage_fca(name="t", max_cost=radius)
    np.testing.assert_allclose(
        sup["restaurant"].scores["2sfca"], _theirs(ref, len(dem)), rtol=RTOL, atol=ATOL
    )
    assert set(sup["restaurant"].scores) == set(METHODS)
