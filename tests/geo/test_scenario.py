"""What-if scenarios: the incremental result equals a full re-analysis, and bad input is told.

The reference is what the brief calls a full re-analysis: a new Region built with the changed
facilities (and the changed network), and :func:`analyse` run on it from scratch. Facilities
are given as points (their entrance) so that a polygon touching two streets, whose choice
of street is a tie the spatial index breaks arbitrarily, cannot differ between the two.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from livingcircle.data.scenario_file import read_scenario, write_scenario_result
from livingcircle.data.synthetic import grid_city
from livingcircle.geo.demand import demand_frame, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import Analysis, analyse
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.scenario import (
    ClosedStreet,
    NewFacility,
    NewLink,
    Scenario,
    ScenarioError,
    ScenarioResult,
    run_scenario,
)
from livingcircle.geo.standards import Standard
from tests.handmade import facilities, lonlat, region
from tests.scenario_inputs import middle_street_points, random_homes

TOL_S = 1e-6


class City:
    """A region with homes, its before analysis and what a full re-analysis needs."""

    def __init__(
        self,
        reg: Region,
        facilities: gpd.GeoDataFrame,
        homes: gpd.GeoDataFrame,
        way_ids: np.ndarray | None = None,
    ) -> None:
        self.region, self.facilities, self.homes, self.way_ids = reg, facilities, homes, way_ids
        self.demand = place_demand(reg.net, homes)
        self.graph = ReachGraph(reg.net)
        self.before = analyse(reg, self.demand, graph=self.graph)

    def run(self, scenario: Scenario) -> ScenarioResult:
        return run_scenario(
            self.region, self.demand, self.before, scenario, self.graph, self.way_ids
        )

    def full(self, scenario: Scenario, result: ScenarioResult) -> Analysis:
        """The reference: a new region with the changes, analysed from scratch."""
        fac = self.facilities[~self.facilities["id"].isin(scenario.close_facilities)]
        new = gpd.GeoDataFrame(
            {
                "id": [f"scenario:{i}" for i in range(1, len(scenario.add_facilities) + 1)],
                "name": [f.name for f in scenario.add_facilities],
                "category": [f.category for f in scenario.add_facilities],
            },
            geometry=[shapely.Point(f.lon, f.lat) for f in scenario.add_facilities],
            crs="EPSG:4326",
        )
        fac = pd.concat([fac, new], ignore_index=True)
        net = self.region.net if result.network is None else result.network.final_network()[0]
        ref = Region(self.region.name, net, fac, self.region.standard)
        demand = place_demand(net, self.homes)
        assert len(demand) == len(self.demand)  # no home lost its street
        return analyse(ref, demand)


def pointed(reg: Region, facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The snapped facilities as points at their entrances (full precision)."""
    ll = reg.unproject(reg.facilities.anchor_xy)
    out = facilities.set_index("id").loc[reg.facilities.text["id"]].reset_index()
    return out.set_geometry(gpd.points_from_xy(ll[:, 0], ll[:, 1]), crs="EPSG:4326")


def assert_same(result: ScenarioResult, full: Analysis) -> None:
    """0 mismatches above 1e-6 s in times (homes and street nodes), counts equal."""
    speed = full.speed_m_s
    for c, ref in full.categories.items():
        got = result.after.access(c)
        for mine, theirs in ((got.nearest_m, ref.nearest_m), (got.node_m, ref.node_m)):
            assert (np.isfinite(mine) == np.isfinite(theirs)).all(), c
            both = np.isfinite(mine)
            bad = np.abs(mine[both] - theirs[both]) / speed > TOL_S
            assert not bad.any(), f"{c}: {int(bad.sum())} mismatches"
        assert (got.within == ref.within).all(), c
        k_mine, k_ref = got.k_nearest_m.astype(float), ref.k_nearest_m.astype(float)
        assert (np.isfinite(k_mine) == np.isfinite(k_ref)).all(), c
        assert np.allclose(k_mine[np.isfinite(k_mine)], k_ref[np.isfinite(k_ref)], atol=1e-3)


# -- by hand --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def river(standard: Standard) -> City:
    """Two streets 200 m apart joined only at the west end; a clinic at the far east bank.

    A---------B   (north bank, y=200)
    |
    C---------D   (south bank, y=0); the clinic stands at D, homes at B and near C.
    """
    reg = region(
        {"A": (0, 200), "B": (1000, 200), "C": (0, 0), "D": (1000, 0)},
        [("A", "B"), ("A", "C"), ("C", "D")],
        {"c1": ("clinic", 1000, 0)},
        standard,
    )
    ll = np.array([lonlat(1000, 200), lonlat(0, 0)])
    homes = demand_frame(
        gpd.points_from_xy(ll[:, 0], ll[:, 1], crs="EPSG:4326"),
        np.array([100.0, 50.0]),
        np.array(["B", "C"], dtype=object),
    )
    return City(reg, facilities({"c1": ("clinic", 1000, 0)}), homes)


def test_a_footbridge_shortens_the_walk_by_hand(river: City) -> None:
    before = river.before.access("clinic").nearest_m
    assert before == pytest.approx([2200, 1000], abs=0.5)
    bridge = Scenario(
        "bridge", add_links=(NewLink(lonlat(900, 200), lonlat(900, 0), name="Footbridge"),)
    )
    res = river.run(bridge)
    after = res.after.access("clinic").nearest_m
    # B walks 100 m west, crosses 200 m, then 100 m east: 400 m (the link is measured on
    # the ellipsoid, the hand-made streets on the plane: a metre apart over 200 m)
    assert after == pytest.approx([400, 1000], abs=1.5)
    assert_same(res, river.full(bridge, res))
    changes = res.changes()
    assert changes["home_id"].tolist() == ["B"]
    row = changes.iloc[0]
    assert row["change_min"] == pytest.approx(-1800 / 60, abs=0.03)
    assert row["status"] == "nearer" and not row["covered_before"] and not row["covered_after"]
    assert res.streets["change"].tolist() == ["link"]
    assert res.streets["length_m"].iloc[0] == pytest.approx(200, abs=1.5)


def test_a_one_way_link_and_a_closed_street_by_hand(river: City) -> None:
    # walkable only from the south bank to the north: no help to B
    one = Scenario("one-way", add_links=(NewLink(lonlat(900, 0), lonlat(900, 200), oneway=True),))
    assert river.run(one).after.access("clinic").nearest_m[0] == pytest.approx(2200, abs=0.5)
    shut = Scenario("works", close_streets=(ClosedStreet(at=lonlat(0, 100)),))
    res = river.run(shut)
    assert np.isinf(res.after.access("clinic").nearest_m[0])  # B is cut off
    assert res.changes()["status"].tolist() == ["no longer reachable"]
    assert_same(res, river.full(shut, res))


def test_opening_and_closing_clinics_by_hand(river: City) -> None:
    add = Scenario(
        "clinic",
        add_facilities=(NewFacility("clinic", *lonlat(1000, 200)),),
        close_facilities=("c1",),
    )
    res = river.run(add)
    assert res.after.access("clinic").nearest_m == pytest.approx([0, 1200], abs=0.5)
    assert res.summary().set_index("category").loc["clinic", "covered_after"] == 100
    tiers = res.tiers()
    assert set(tiers["tier_minutes"]) == {5, 10, 15}
    assert_same(res, river.full(add, res))


def test_the_region_is_not_changed(river: City) -> None:
    net = river.region.net
    u, length = net.edge_u.copy(), net.edge_length.copy()
    n_fac = len(river.region.facilities.category)
    snap = river.region.facilities.snap.edge.copy()
    field = river.before.access("clinic").node_m.copy()
    river.run(
        Scenario(
            "all",
            add_facilities=(NewFacility("clinic", *lonlat(0, 200)),),
            close_facilities=("c1",),
            add_links=(NewLink(lonlat(500, 200), lonlat(500, 0)),),
            close_streets=(ClosedStreet(at=lonlat(0, 100)),),
        )
    )
    assert (net.edge_u == u).all() and (net.edge_length == length).all()
    assert net.n_edges == 3 and len(river.region.facilities.category) == n_fac
    assert (river.region.facilities.snap.edge == snap).all()
    assert (river.before.access("clinic").node_m == field).all()


# -- against a full re-analysis --------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(sample_region: Region, sample_extract: object) -> City:
    facilities = pointed(sample_region, sample_extract.facilities)  # type: ignore[attr-defined]
    reg = Region("helsinki", sample_region.net, facilities, sample_region.standard)
    return City(
        reg, facilities, random_homes(reg, 4000, 1), sample_extract.edges["way_id"].to_numpy()
    )  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def grid(standard: Standard) -> City:
    nodes, edges, fac = grid_city(10_000, seed=2)
    reg0 = Region("grid", StreetNetwork.from_frames(nodes, edges), fac, standard)
    facilities = pointed(reg0, fac)
    reg = Region("grid", reg0.net, facilities, standard)
    return City(reg, facilities, random_homes(reg, 3000, 2), edges["way_id"].to_numpy())


def _facility_scenario(city: City) -> Scenario:
    reg = city.region
    ids, cats = reg.facilities.text["id"], reg.facilities.category
    std = reg.standard
    closed = [
        ids[i]
        for c in ("clinic", "pharmacy", "kindergarten")
        for i in np.flatnonzero(cats == std.category_index(c))[:2]
    ]
    centre = reg.unproject(reg.net.node_xy[[reg.net.n_nodes // 2, reg.net.n_nodes // 3]])
    return Scenario(
        "facilities",
        add_facilities=(
            NewFacility("clinic", *centre[0], name="New clinic", capacity=30),
            NewFacility("elderly_care", *centre[1], name="Day care"),
            NewFacility("clinic", *(centre[1] + 0.002)),
        ),
        close_facilities=tuple(closed),
    )


def _network_scenario(city: City) -> Scenario:
    """A link across a block and two closures, near the middle of the network."""
    link, shut = middle_street_points(city.region)
    return Scenario(
        "network",
        add_links=(NewLink(tuple(link[0]), tuple(link[1]), name="Footbridge"),),
        close_streets=(
            ClosedStreet(at=tuple(shut[0])),
            ClosedStreet(at=tuple(shut[1]), name="Underpass"),
        ),
        add_facilities=(NewFacility("pharmacy", *link[1]),),
    )


@pytest.mark.parametrize(
    "make", [_facility_scenario, _network_scenario], ids=["facilities", "network"]
)
@pytest.mark.parametrize("which", ["sample", "grid"])
def test_incremental_equals_a_full_reanalysis(
    which: str, make: object, request: pytest.FixtureRequest
) -> None:
    city: City = request.getfixturevalue(which)
    scenario = make(city)  # type: ignore[operator]
    res = city.run(scenario)
    assert_same(res, city.full(scenario, res))
    assert len(res.changes()) > 0
    if scenario.changes_network:
        assert res.categories == tuple(city.before.categories)
    else:
        fac = city.region.facilities
        closed = {
            city.region.standard.category_ids[fac.category[fac.text["id"].index(i)]]
            for i in scenario.close_facilities
        }
        assert set(res.categories) == closed | {f.category for f in scenario.add_facilities}


def test_the_difference_layer_and_its_files(grid: City, tmp_path: Path) -> None:
    res = grid.run(_facility_scenario(grid))
    changes = res.changes()
    assert list(changes.columns) == [
        "home_id",
        "community",
        "population",
        "category",
        "label_zh",
        "label_en",
        "radius_m",
        "minutes_before",
        "minutes_after",
        "change_min",
        "status",
        "covered_before",
        "covered_after",
        "tier5_before",
        "tier5_after",
        "tier10_before",
        "tier10_after",
        "tier15_before",
        "tier15_after",
        "tiers_gained",
        "tiers_lost",
        "geometry",
    ]
    assert changes.crs == "EPSG:4326" and (changes.geom_type == "Point").all()
    near = changes["status"] == "nearer"
    assert (changes.loc[near, "change_min"] < 0).all() and near.any()
    summary = res.summary().set_index("category")
    assert summary.loc["clinic", "homes_changed"] == (changes["category"] == "clinic").sum()
    written = write_scenario_result(res, tmp_path / "diff.gpkg")
    layers = gpd.list_layers(written[0])["name"].tolist()
    assert sorted(layers) == ["changes", "facilities", "streets", "summary", "tiers"]
    assert len(gpd.read_file(written[0], layer="changes")) == len(changes)
    csvs = write_scenario_result(res, tmp_path / "diff.csv")
    assert {p.name for p in csvs} == {
        "diff.csv",
        "diff.summary.csv",
        "diff.tiers.csv",
        "diff.facilities.csv",
        "diff.streets.csv",
    }


# -- bad input ---------------------------------------------------------------------------------


def _problems(city: City, scenario: Scenario) -> str:
    with pytest.raises(ScenarioError) as err:
        city.run(scenario)
    return str(err.value)


def test_bad_scenarios_say_what_is_wrong_and_what_is_allowed(river: City) -> None:
    msg = _problems(river, Scenario("x", add_facilities=(NewFacility("clinc", *lonlat(0, 0)),)))
    assert "unknown category 'clinc'" in msg and "did you mean clinic" in msg and "allowed:" in msg
    msg = _problems(river, Scenario("x", close_facilities=("c2",)))
    assert "no facility 'c2'" in msg and "c1" in msg
    msg = _problems(river, Scenario("x", add_links=(NewLink(lonlat(500, 100), lonlat(500, 0)),)))
    assert (
        "add_link #1 start" in msg
        and "100 m from the nearest street" in msg
        and "the limit is 50 m" in msg
    )
    msg = _problems(river, Scenario("x", close_streets=(ClosedStreet(),)))
    assert "exactly one of way_id, at" in msg
    msg = _problems(river, Scenario("x", close_streets=(ClosedStreet(way_id=5),)))
    assert "way ids are not known" in msg
    msg = _problems(river, Scenario("x", add_facilities=(NewFacility("clinic", 0.0, 0.0),)))
    assert "outside region" in msg
    msg = _problems(river, Scenario("x"))
    assert "no change" in msg
    two = _problems(
        river,
        Scenario(
            "x", add_facilities=(NewFacility("nope", *lonlat(0, 0)),), close_facilities=("zz",)
        ),
    )
    assert two.startswith("the scenario has 2 problems")


def test_a_closed_way_that_is_not_there(sample: City) -> None:
    msg = _problems(sample, Scenario("x", close_streets=(ClosedStreet(way_id=1),)))
    assert "no street of way id 1" in msg and "OSM way id" in msg


def test_reading_toml_and_geojson(tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text(
        'name = "Harbour"\n[[add_facility]]\ncategory = "clinic"\nlon = 24.95\n'
        'lat = 60.17\ncapacity = 30\n[[close_facility]]\nid = "osm:node/1"\n'
        "[[add_link]]\nfrom = [24.94, 60.165]\nto = [24.947, 60.1655]\n"
        "oneway = true\n[[close_street]]\nway_id = 42\n",
        encoding="utf-8",
    )
    sc = read_scenario(toml)
    assert sc.name == "Harbour" and sc.add_facilities[0].capacity == 30
    assert sc.close_facilities == ("osm:node/1",) and sc.add_links[0].oneway
    assert sc.add_links[0].start == (24.94, 60.165) and sc.close_streets[0].way_id == 42
    geo = tmp_path / "s.geojson"
    geo.write_text(
        '{"type": "FeatureCollection", "properties": {"name": "G"}, "features": ['
        '{"type": "Feature", "properties": {"change": "add_facility", "category": "clinic"},'
        ' "geometry": {"type": "Point", "coordinates": [24.95, 60.17]}},'
        '{"type": "Feature", "properties": {"change": "add_link"}, "geometry": '
        '{"type": "LineString", "coordinates": [[24.94, 60.165], [24.945, 60.1652], '
        "[24.947, 60.1655]]}},"
        '{"type": "Feature", "properties": {"change": "close_street"}, "geometry": '
        '{"type": "Point", "coordinates": [24.94, 60.17]}}]}',
        encoding="utf-8",
    )
    sc = read_scenario(geo)
    assert sc.name == "G" and sc.add_links[0].end == (24.947, 60.1655)
    assert sc.close_streets[0].at == (24.94, 60.17)


@pytest.mark.parametrize(
    ("text", "suffix", "expected"),
    [
        (
            '[[add_facility]]\ncategory = "clinic"\nlon = 1\nlat = 2\ncolour = "red"\n',
            ".toml",
            "unknown field colour; allowed: capacity, category, id, lat, lon, name",
        ),
        ("[[add_facilty]]\n", ".toml", "unknown section add_facilty; allowed: name, add_facility"),
        ("[[add_link]]\nfrom = [1, 2]\n", ".toml", "add_link #1: the field to is missing"),
        ("[[add_link]]\nfrom = [1]\nto = [1, 2]\n", ".toml", "from must be a point [lon, lat]"),
        ("[[add_facility\n", ".toml", "it is not valid TOML"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
            '{"change": "build"}, "geometry": null}]}',
            ".geojson",
            "feature #1: its change 'build' is unknown; allowed: add_facility, close_facility",
        ),
        ('{"type": "Feature"}', ".geojson", "must be a FeatureCollection"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
            '{"change": "add_facility"}, "geometry": {"type": "Point", "coordinates": null}}]}',
            ".geojson",
            "feature #1: add_facility needs a Point geometry (with its lon and lat)",
        ),
    ],
)
def test_bad_files_are_told(tmp_path: Path, text: str, suffix: str, expected: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        read_scenario(path)
    assert expected in str(err.value)
    assert str(err.value).startswith(f"bad{suffix} has")


def test_a_file_of_the_wrong_kind(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"allowed endings \.toml, \.geojson, \.json"):
        read_scenario(tmp_path / "s.xlsx")
