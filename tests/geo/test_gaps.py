"""The planner analysis: times, counts, coverage shares, population weights, gaps, siting.

Hand-built networks give answers known by hand; on the real Helsinki sample every point's
time equals what the per-query engine answers for the same point.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from livingcircle.geo.demand import Demand, demand_frame, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.gaps import DISTRICT, Analysis, analyse, gap_areas
from livingcircle.geo.siting import best_sites
from livingcircle.geo.standards import Standard
from tests.geo.test_reference_dijkstra import query_points
from tests.handmade import lonlat, region


def demand_at(
    reg: Region, xy: list[tuple[float, float]], pop: list[float], community: list[str] | None = None
) -> Demand:
    ll = np.array([lonlat(x, y) for x, y in xy])
    frame = demand_frame(
        gpd.points_from_xy(ll[:, 0], ll[:, 1]),
        np.asarray(pop, float),
        np.array([f"p{i}" for i in range(len(xy))], dtype=object),
        None if community is None else np.array(community, dtype=object),
    )
    return place_demand(reg.net, frame)


@pytest.fixture(scope="module")
def line(standard: Standard) -> tuple[Region, Demand, Analysis]:
    """A 1 km street with clinics at 100 m and 620 m and four homes."""
    reg = region(
        {"A": (0, 0), "B": (1000, 0)},
        [("A", "B")],
        {"c1": ("clinic", 100, 0), "c2": ("clinic", 620, 0)},
        standard,
    )
    dem = demand_at(
        reg, [(0, 0), (350, 40), (880, 0), (1000, 0)], [10, 20, 30, 40], ["a", "a", "b", "b"]
    )
    return reg, dem, analyse(reg, dem, k=3, minutes=(5, 15))


def test_times_k_nearest_and_counts_on_a_line(line: tuple[Region, Demand, Analysis]) -> None:
    _, _, res = line
    acc = res.categories["clinic"]
    # the second home stands 40 m off the street: its access leg counts (measured in the
    # UTM projection, a few decimetres from the hand-made plane)
    assert acc.nearest_m == pytest.approx([100, 290, 260, 380], abs=0.3)
    assert acc.k_nearest_m[:, 0] == pytest.approx([100, 290, 260, 380], abs=0.3)
    assert acc.k_nearest_m[:, 1] == pytest.approx([620, 310, 780, np.inf], abs=0.3)
    assert np.isinf(acc.k_nearest_m[:, 2]).all()  # only two clinics
    # within 5 min (300 m) and 15 min (900 m) at 1 m/s
    assert acc.within.tolist() == [[1, 2], [1, 2], [1, 2], [0, 1]]
    assert res.minutes_to("clinic") == pytest.approx(np.array([100, 290, 260, 380]) / 60, abs=0.01)
    assert np.isinf(res.categories["hospital"].nearest_m).all()


def test_coverage_shares_and_population_weighted_time(
    line: tuple[Region, Demand, Analysis],
) -> None:
    _, _, res = line
    cov = res.coverage().set_index(["community", "category"])
    clinic = cov.loc[(DISTRICT, "clinic")]
    assert clinic["radius_m"] == 300
    assert clinic["population"] == 100
    assert clinic["covered_population"] == 60  # the home at B, 380 m away, is not covered
    assert clinic["covered_share"] == pytest.approx(0.6)
    mean_m = (10 * 100 + 20 * 290 + 30 * 260 + 40 * 380) / 100
    assert clinic["mean_minutes"] == pytest.approx(mean_m / 60, abs=1e-3)
    assert cov.loc[("a", "clinic"), "covered_share"] == pytest.approx(1.0)
    assert cov.loc[("b", "clinic"), "covered_share"] == pytest.approx(30 / 70)
    assert cov.loc[("b", "clinic"), "mean_minutes"] == pytest.approx(
        (30 * 260 + 40 * 380) / 70 / 60, abs=1e-3
    )
    hospital = cov.loc[(DISTRICT, "hospital")]
    assert hospital["covered_share"] == 0 and hospital["unreachable_population"] == 100
    assert np.isnan(hospital["mean_minutes"])


def test_compliance_per_tier(line: tuple[Region, Demand, Analysis]) -> None:
    _, _, res = line
    comp = res.compliance()
    ids = [r.id for _, r in comp.requirements]
    station, centre = ids.index("health_station"), ids.index("health_centre")
    assert comp.met[:, station].tolist() == [True, True, True, False]
    assert comp.met[:, centre].tolist() == [True] * 4  # a clinic within 1000 m
    assert comp.score == pytest.approx(comp.met.sum(axis=1) / len(ids))
    assert "health_station" in comp.missing(3)[5]
    assert "health_station" not in comp.missing(0).get(5, [])
    assert not comp.tier_met(5).any()  # nothing else of the 5-minute tier is there
    tiers = res.tier_coverage().set_index(["community", "tier_minutes", "requirement"])
    assert tiers.loc[(DISTRICT, 5, "health_station"), "met_share"] == pytest.approx(0.6)
    assert tiers.loc[("b", 15, "health_centre"), "met_share"] == pytest.approx(1.0)
    score = tiers.loc[(DISTRICT, 0, "(score)"), "met_share"]
    assert score == pytest.approx((comp.score * [10, 20, 30, 40]).sum() / 100)


def test_points_frame_columns(line: tuple[Region, Demand, Analysis]) -> None:
    _, _, res = line
    frame = res.points_frame(["clinic"])
    assert frame.crs.to_epsg() == 4326
    assert frame["clinic_ok"].tolist() == [True, True, True, False]
    assert frame["clinic_n15"].tolist() == [2, 2, 2, 1]
    assert "health_station" in frame.loc[3, "missing_5min"]


def test_one_way_street_changes_who_is_covered(standard: Standard) -> None:
    # A -> B one way for walkers; a clinic at 100 m; B is joined back to A by a long detour
    nodes = {"A": (0, 0), "B": (400, 0), "C": (200, 300)}
    reg = region(
        nodes, [("A", "B", True), ("B", "C"), ("C", "A")], {"c": ("clinic", 100, 0)}, standard
    )
    dem = demand_at(reg, [(50, 0), (250, 0)], [1, 1])
    acc = analyse(reg, dem, categories=["clinic"]).categories["clinic"]
    detour = 2 * np.hypot(200, 300)
    assert acc.nearest_m[0] == pytest.approx(50, abs=0.05)  # straight ahead
    assert acc.nearest_m[1] == pytest.approx(150 + detour + 100, abs=0.2)  # round the loop
    assert acc.within[:, -1].tolist() == [1, 0]  # 971 m is past 15 minutes


def test_gap_areas_hold_the_uncovered_population(line: tuple[Region, Demand, Analysis]) -> None:
    reg, _, res = line
    gaps = gap_areas(reg, res, "clinic")
    assert len(gaps) == 1
    assert gaps.loc[0, "population"] == 40 and gaps.loc[0, "points"] == 1
    # streets beyond 300 m: the last 80 m before B (620 + 300 = 920)
    assert gaps.loc[0, "street_km"] == pytest.approx(0.08, abs=0.001)
    lon, lat = lonlat(1000, 0)
    assert gaps.geometry[0].contains(gpd.points_from_xy([lon], [lat])[0])
    everywhere = gap_areas(reg, res, "hospital")
    assert everywhere["population"].sum() == 100


@pytest.fixture(scope="module")
def street(standard: Standard) -> tuple[Region, Analysis]:
    """Five junctions 400 m apart, no clinic, homes in three clusters."""
    nodes = {n: (400 * i, 0) for i, n in enumerate("ABCDE")}
    reg = region(
        nodes,
        [(a, b) for a, b in zip("ABCD", "BCDE", strict=True)],
        {"s": ("supermarket", 0, 0)},
        standard,
    )
    dem = demand_at(reg, [(0, 0), (800, 0), (850, 0), (1600, 0), (1450, 0)], [5, 50, 10, 20, 1])
    return reg, analyse(reg, dem, categories=["clinic", "supermarket"])


def test_greedy_siting_picks_by_gain_and_updates_what_is_left(
    street: tuple[Region, Analysis],
) -> None:
    reg, res = street
    siting = best_sites(reg, res, "clinic", n=5)
    picks = siting.picks
    assert siting.radius_m == 300 and siting.uncovered_population == 86
    # C covers 800 and 850 (60), E covers 1600 and 1450 (21), then A (5); D would only
    # cover 1450, which E already did, so the greedy stops after three picks
    assert picks["candidate"].tolist() == [2, 4, 0]
    assert picks["gain_population"].tolist() == [60, 21, 5]
    assert picks["gain_points"].tolist() == [2, 2, 1]
    assert picks["covered_population"].tolist() == [60, 81, 86]
    assert picks["remaining_population"].tolist() == [26, 5, 0]
    assert siting.covered_by.tolist() == [3, 1, 1, 2, 2]
    lon, lat = lonlat(800, 0)
    assert picks.geometry[0].x == pytest.approx(lon) and picks.geometry[0].y == pytest.approx(lat)


def test_siting_on_parcels_and_a_custom_radius(street: tuple[Region, Analysis]) -> None:
    reg, res = street
    ll = [lonlat(820, 30), lonlat(1500, 20), lonlat(100, 900)]  # the last is far from streets
    parcels = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*np.array(ll).T), crs="EPSG:4326")
    siting = best_sites(reg, res, "clinic", n=2, parcels=parcels, radius_m=200)
    # from the parcel at 820 (30 m off the street): 800 is 20 + 30 = 50 m, 850 is 60 m
    assert siting.picks["candidate"].tolist() == [0, 1]
    assert siting.picks["gain_population"].tolist() == [60, 21]


def test_siting_when_everyone_is_covered(street: tuple[Region, Analysis]) -> None:
    reg, res = street
    siting = best_sites(reg, res, "supermarket", n=3, radius_m=5000)
    assert len(siting.picks) == 0 and siting.uncovered_population == 0
    with pytest.raises(InvalidParameter):
        best_sites(reg, res, "bank", n=1)  # not analysed
    with pytest.raises(InvalidParameter):
        best_sites(reg, res, "clinic", n=0)


def test_bad_parameters(line: tuple[Region, Demand, Analysis]) -> None:
    reg, dem, _ = line
    with pytest.raises(InvalidParameter):
        analyse(reg, dem, k=0)
    with pytest.raises(InvalidParameter):
        analyse(reg, dem, minutes=(0, 5))
    with pytest.raises(KeyError):
        analyse(reg, dem, categories=["nope"])


def test_every_point_equals_the_engine_on_the_sample(
    sample_region: Region, standard: Standard
) -> None:
    reg = sample_region
    points = query_points(reg, 40, seed=11)
    ll = np.array(points)
    frame = demand_frame(
        gpd.points_from_xy(ll[:, 0], ll[:, 1]),
        np.ones(len(ll)),
        np.array([f"q{i}" for i in range(len(ll))], dtype=object),
    )
    dem = place_demand(reg.net, frame, reg.max_snap_m)
    kept = [p for p, ok in zip(points, np.isin(frame["id"], dem.frame["id"]), strict=True) if ok]
    res = analyse(reg, dem, k=3)
    checked = 0
    for i, (lon, lat) in enumerate(kept):
        near = reg.nearest(lon, lat, k=1, routes=False).by_category
        within = reg.nearest(lon, lat, k=50, max_minutes=15, routes=False).by_category
        for cat in standard.category_ids:
            acc = res.categories[cat]
            hits = near[cat]
            if not hits:
                assert np.isinf(acc.nearest_m[i])
                continue
            assert acc.nearest_m[i] == pytest.approx(hits[0].distance_m, abs=1e-6), cat
            close = [h.distance_m for h in within[cat]]
            got = acc.k_nearest_m[i][np.isfinite(acc.k_nearest_m[i])]
            assert got == pytest.approx(close[:3], abs=1e-3), cat
            if len(close) < 50:
                assert acc.within[i, -1] == len(close), cat
            checked += 1
    assert checked > 200
