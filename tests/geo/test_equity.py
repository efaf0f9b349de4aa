"""Equity figures: Gini on known arrays, the worst-served decile, age groups at their pace."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from livingcircle.geo.demand import Demand, demand_frame, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.equity import EVERYONE, equity, gini, resident_groups, worst_decile
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.gaps import DISTRICT, Analysis, analyse
from livingcircle.geo.standards import Standard
from tests.handmade import lonlat, region


def pairwise_gini(x: np.ndarray, w: np.ndarray) -> float:
    """The definition: weighted mean absolute difference over twice the weighted mean."""
    diff = np.abs(x[:, None] - x[None, :]) * w[:, None] * w[None, :]
    return float(diff.sum() / (2 * w.sum() ** 2 * (x * w).sum() / w.sum()))


def test_gini_on_known_arrays() -> None:
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)  # (n - 1) / n: one has everything
    assert gini([5, 5, 5]) == pytest.approx(0, abs=1e-12)
    assert gini([0, 0]) == 0
    assert np.isnan(gini([]))
    # weights are repeats: 1 three times and 2 once
    assert gini([2, 1], [1, 3]) == pytest.approx(gini([1, 1, 1, 2]))
    rng = np.random.default_rng(3)
    x, w = rng.exponential(8, 300), rng.integers(0, 50, 300).astype(float)
    assert gini(x, w) == pytest.approx(pairwise_gini(x, w), rel=1e-12)
    with pytest.raises(InvalidParameter, match="finite values >= 0"):
        gini([1, np.inf])
    with pytest.raises(InvalidParameter, match="one weight per value"):
        gini([1, 2], [1])


def test_worst_decile() -> None:
    t = np.arange(1, 21, dtype=float)
    pop = np.arange(1, 21, dtype=float)
    worst = worst_decile(t, pop)  # the 2 of 20 homes that walk longest: 19 and 20 min
    assert worst.homes == 2 and worst.population == 39
    assert worst.share == pytest.approx(39 / 210)
    assert worst.mean_minutes == pytest.approx((19 * 19 + 20 * 20) / 39)
    # unreachable homes are the worst served; an empty home is no home
    t[4], pop[0] = np.inf, 0
    worst = worst_decile(t, pop)
    assert worst.homes == 2 and worst.population == 5 + 20
    assert worst.mean_minutes == pytest.approx(20)
    assert worst_decile(np.full(3, np.inf), np.ones(3)).mean_minutes != worst.mean_minutes
    assert worst_decile(np.zeros(0), np.zeros(0)).homes == 0


def homes(
    reg: Region, xs: list[float], pop: list[float], community: list[str], **columns: list[float]
) -> Demand:
    ll = np.array([lonlat(x, 0) for x in xs])
    frame = demand_frame(
        gpd.points_from_xy(ll[:, 0], ll[:, 1]),
        np.asarray(pop, float),
        np.array([f"h{i}" for i in range(len(xs))], dtype=object),
        np.array(community, dtype=object),
    )
    for name, values in columns.items():
        frame[name] = values
    return place_demand(reg.net, frame)


@pytest.fixture(scope="module")
def street(standard: Standard) -> tuple[Region, Demand, Analysis]:
    """A 1.2 km street with a clinic at 0 m; homes at 100, 280, 450, 800 m and one at 1200."""
    reg = region({"A": (0, 0), "B": (1200, 0)}, [("A", "B")], {"c": ("clinic", 0, 0)}, standard)
    dem = homes(
        reg,
        [100, 280, 450, 800, 1200],
        [10, 20, 30, 40, 50],
        ["a", "a", "b", "b", "b"],
        elderly=[5, 10, 0, 20, 0],
    )
    return reg, dem, analyse(reg, dem, ["clinic", "hospital"], k=1, minutes=(5, 10, 15))


def test_everyone_per_community_and_district(street: tuple[Region, Demand, Analysis]) -> None:
    _, _, res = street
    table = equity(res)
    assert set(table["group"]) == {EVERYONE, "elderly"}
    assert table["community"].iloc[0] == DISTRICT
    row = table.set_index(["community", "group", "category"]).loc[(DISTRICT, EVERYONE, "clinic")]
    t = np.array([100, 280, 450, 800, 1200]) / 60
    pop = np.array([10, 20, 30, 40, 50.0])
    assert row["population"] == 150 and row["unreachable_population"] == 0
    assert row["mean_minutes"] == pytest.approx((t * pop).sum() / 150, abs=1e-3)
    cov = res.coverage().set_index(["community", "category"]).loc[(DISTRICT, "clinic")]
    assert row["mean_minutes"] == pytest.approx(cov["mean_minutes"])
    # tiers: 300 m, 500 m, 1000 m at 1 m/s; the clinic's own radius is 300 m
    assert row["within_5min_share"] == pytest.approx(30 / 150)
    assert row["within_10min_share"] == pytest.approx(60 / 150)
    assert row["within_15min_share"] == pytest.approx(100 / 150)
    assert row["within_radius_share"] == pytest.approx(30 / 150)
    assert row["gini"] == pytest.approx(gini(t, pop), abs=1e-4)
    assert row["worst_decile_homes"] == 1 and row["worst_decile_population"] == 50
    assert row["worst_decile_mean_minutes"] == pytest.approx(20, abs=1e-3)
    b = table.set_index(["community", "group", "category"]).loc[("b", EVERYONE, "clinic")]
    assert b["population"] == 120 and b["within_5min_share"] == 0
    hospital = table.set_index(["community", "group", "category"]).loc[
        (DISTRICT, EVERYONE, "hospital")
    ]
    assert hospital["unreachable_population"] == 150 and np.isnan(hospital["mean_minutes"])
    # no one reaches a hospital: the worst tenth is the first home of the ties
    assert np.isnan(hospital["gini"]) and hospital["worst_decile_share"] == pytest.approx(10 / 150)


def test_older_residents_walk_at_the_elderly_pace(street: tuple[Region, Demand, Analysis]) -> None:
    _, _, res = street
    table = equity(res, ["clinic"]).set_index(["community", "group"])
    old = table.loc[(DISTRICT, "elderly")]
    assert old["speed_m_s"] == res.standard.profiles["elderly"].speed_m_s == 0.8
    assert old["population"] == 35
    # at 0.8 m/s: 100 m is 2.1 min, 280 m is 5.8 min (over five minutes: 240 m), 800 m 16.7
    assert old["mean_minutes"] == pytest.approx((5 * 100 + 10 * 280 + 20 * 800) / 35 / 48, abs=1e-3)
    assert old["within_5min_share"] == pytest.approx(5 / 35)
    assert old["within_10min_share"] == pytest.approx(15 / 35)  # 500 m at 1 m/s: 400 m
    assert old["within_15min_share"] == pytest.approx(15 / 35)  # 800 m: 800 at 0.8 m/s
    assert table.loc[("b", "elderly"), "population"] == 20


def test_groups_from_shares_and_a_mapping(
    street: tuple[Region, Demand, Analysis], standard: Standard
) -> None:
    reg, _, _ = street
    dem = homes(reg, [100, 800], [10, 40], ["a", "b"], children_share=[0.5, 0.25], under3=[1, 2])
    groups = resident_groups(dem)
    assert list(groups) == [EVERYONE, "children"]
    assert groups["children"].tolist() == [5, 10]
    mapped = resident_groups(dem, {"toddlers": "under3", "given": [1, 1]})
    assert mapped["toddlers"].tolist() == [1, 2] and mapped["given"].tolist() == [1, 1]
    res = analyse(reg, dem, ["clinic"], k=1)
    kids = equity(res).set_index(["community", "group"]).loc[(DISTRICT, "children")]
    assert kids["speed_m_s"] == res.speed_m_s  # no children's profile: the planning pace


def test_bad_groups_say_what_is_allowed(street: tuple[Region, Demand, Analysis]) -> None:
    reg, dem, _ = street
    with pytest.raises(InvalidParameter, match=r"no column 'over65'; columns: id, population"):
        resident_groups(dem, {"elderly": "over65"})
    bad = homes(reg, [100, 800], [10, 40], ["a", "b"], elderly=[11, 2])
    with pytest.raises(
        InvalidParameter,
        match=r"'elderly'.*1 homes.*allowed: residents from 0 "
        r"to the home's population",
    ):
        resident_groups(bad)
    bad = homes(reg, [100, 800], [10, 40], ["a", "b"], elderly_share=[0.5, 1.5])
    with pytest.raises(InvalidParameter, match="allowed: a share from 0 to 1"):
        resident_groups(bad)
    with pytest.raises(InvalidParameter, match="one per home"):
        resident_groups(dem, {"x": [1, 2]})
    with pytest.raises(InvalidParameter, match="taken by every resident"):
        resident_groups(dem, {EVERYONE: "population"})
