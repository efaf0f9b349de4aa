"""The public Python API on the real sample, in a store of its own."""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely

import livingcircle as lc
from livingcircle.answers import NEAREST_COLUMNS
from livingcircle.data.sample import sample_file
from livingcircle.geo.errors import (
    InvalidParameter,
    LivingCircleError,
    RegionNotFound,
    UnknownCategory,
    UnknownProfile,
)

POINT = (60.1710, 24.9414)
CATS = ["pharmacy", "clinic", "supermarket", "kindergarten", "bus_stop", "toilets"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("public")
    lc.load(sample_file(), "helsinki", data_dir=path, progress=False)
    return path


@pytest.fixture(scope="module")
def region(data_dir: Path) -> lc.Region:
    return lc.open("helsinki", data_dir=data_dir)


@pytest.fixture(scope="module")
def origins(region: lc.Region) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    west, south, east, north = region.engine.boundary.bounds
    lon, lat = rng.uniform(west, east, 1000), rng.uniform(south, north, 1000)
    lon[:3], lat[:3] = (130.0, np.nan, 24.9414), (10.0, 60.17, 60.1710)  # two bad origins
    return gpd.GeoDataFrame(
        {"home": [f"h{i}" for i in range(1000)]},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
        index=np.arange(1000) + 100,
    )


def test_regions_and_open_use_the_given_store(data_dir: Path) -> None:
    table = lc.regions(data_dir=data_dir)
    assert table["name"].tolist() == ["helsinki"] and table["n_facilities"].iloc[0] > 500
    with pytest.raises(RegionNotFound):
        lc.open("nowhere", data_dir=data_dir)


def test_nearest_is_a_geodataframe_with_the_geojson_properties(region: lc.Region) -> None:
    near = region.nearest(POINT, ["pharmacy", "clinic"], k=2)
    assert isinstance(near, gpd.GeoDataFrame) and near.crs == "EPSG:4326"
    assert list(near["category"]) == ["pharmacy", "pharmacy", "clinic", "clinic"]
    features = [f for f in near.to_geojson()["features"] if f["properties"]["kind"] == "facility"]
    assert [f["properties"]["id"] for f in features] == near["id"].tolist()
    unshared = ("origin", "opening_hours", "reason")  # the frame's, or not in an empty feature
    for column in (c for c in NEAREST_COLUMNS if c not in unshared):
        assert [f["properties"][column] for f in features] == near[column].tolist()
    assert [tuple(f["geometry"]["coordinates"]) for f in features] == [
        (p.x, p.y) for p in near.geometry
    ]


def test_where_takes_points_and_place_names(region: lc.Region) -> None:
    by_tuple = region.nearest(POINT, ["pharmacy"])
    by_point = region.nearest(shapely.Point(POINT[1], POINT[0]), ["pharmacy"])
    assert by_tuple["id"].tolist() == by_point["id"].tolist()
    market = region.nearest("Kauppatori", ["pharmacy"])  # four features, one square
    assert len(market) == 1 and market["distance_m"].iloc[0] > 0
    street = region.locate("Mannerheimintie")
    assert region.engine.contains(street.x, street.y)


def test_place_name_errors_list_the_closest_names(region: lc.Region) -> None:
    with pytest.raises(lc.PlaceNotFound, match=r"closest names: .*Kauppatori"):
        region.nearest("Kaupatori")


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"where": [60.17]}, TypeError, "where must be"),
        ({"where": POINT, "k": 0}, ValueError, "k=0 is out of range"),
        ({"where": POINT, "k": 2.5}, TypeError, "k must be a whole number"),
        ({"where": POINT, "categories": [3]}, TypeError, "categories must be"),
        ({"where": POINT, "categories": ["spaceport"]}, UnknownCategory, "spaceport"),
        ({"where": POINT, "profile": "jetpack"}, UnknownProfile, "allowed: brisk"),
    ],
)
def test_wrong_arguments_name_the_parameter(
    region: lc.Region, kwargs: dict[str, object], error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        region.nearest(**kwargs)  # type: ignore[arg-type]


def test_a_batch_equals_single_calls(region: lc.Region, origins: gpd.GeoDataFrame) -> None:
    batch = region.nearest(origins, CATS, k=2, progress=False)
    assert set(batch["origin"]) == set(origins.index)
    engine, answered = region.engine, 0
    for origin, point in zip(origins.index, origins.geometry, strict=True):
        mine = batch[batch["origin"] == origin]
        try:
            single = engine.nearest(point.x, point.y, CATS, k=2, routes=False)
        except LivingCircleError as exc:
            assert mine["id"].isna().all() and set(mine["reason"]) == {str(exc)}
            assert len(mine) == len(CATS)  # one row per category, saying why
            continue
        answered += 1
        for cat in CATS:
            rows = mine[mine["category"] == cat]
            hits = single.by_category[cat]
            if not hits:
                assert rows["id"].isna().all() and len(rows) == 1
                continue
            assert rows["id"].tolist() == [h.id for h in hits]
            assert np.allclose(rows["distance_m"], [h.distance_m for h in hits], atol=1e-3)
            assert rows["rank"].tolist() == list(range(1, len(hits) + 1))
    assert answered > 900


def test_a_batch_of_k1_has_one_row_per_origin_and_category(
    region: lc.Region, origins: gpd.GeoDataFrame
) -> None:
    batch = region.nearest(origins.to_crs(3067), ["pharmacy", "clinic"], progress=False)
    assert len(batch) == 2 * len(origins)
    assert batch.loc[batch["origin"] == 100, "reason"].str.contains("outside region").all()
    assert batch.loc[batch["origin"] == 101, "reason"].str.contains("invalid").all()
    assert batch.to_geojson()["type"] == "FeatureCollection"


def test_catchment_rings_and_facilities(region: lc.Region) -> None:
    rings = region.catchment(POINT, minutes=[5, 10])
    assert rings.loc[rings["kind"] == "ring", "minutes"].tolist() == [10, 5]
    assert (rings.loc[rings["kind"] == "facility", "ring_minutes"] <= 10).all()
    assert rings.attrs["speed_m_s"] == 1.0 and rings.attrs["tiers"]
    assert rings.to_geojson()["properties"]["tiers"] == rings.attrs["tiers"]


def test_explore_renders_inline(region: lc.Region) -> None:
    fmap = region.explore(POINT, offline=True)
    assert isinstance(fmap, folium.Map) and "leaflet" in fmap._repr_html_().lower()
    assert isinstance(region.explore(category="pharmacy"), folium.Map)
    with pytest.raises(InvalidParameter, match="where="):
        region.explore()


def test_analyse_returns_layers(region: lc.Region) -> None:
    result = region.analyse(categories=["pharmacy"], sites=2, progress=False)
    assert isinstance(result.points, gpd.GeoDataFrame) and len(result.points) > 1000
    assert result.points.crs == "EPSG:4326"
    assert len(result.sites) == 2 and set(result.layers) == {
        "points",
        "coverage",
        "tiers",
        "gaps",
        "sites",
        "access_scores",
        "equity",
    }
    scores = result.access_scores
    assert set(scores["category"]) == {"pharmacy"} and len(scores) == len(result.points)
    assert (scores["score_2sfca"] >= 0).all() and (scores["score_2sfca"] > 0).any()
    assert set(result.equity["group"]) == {"everyone"}
    with pytest.raises(TypeError, match="homes must be"):
        region.analyse(homes=42)  # type: ignore[arg-type]


def test_categories_are_bilingual() -> None:
    table = lc.categories().set_index("id")
    assert table.loc["pharmacy", "label_zh"] == "药店"


def test_nearest_and_catchment_walk_at_the_profile_asked(region: lc.Region) -> None:
    walked = region.nearest(POINT, ["clinic"], profile="step-free")
    plain = region.nearest(POINT, ["clinic"])
    lat, lon = POINT
    engine = region.engine.nearest(lon, lat, ["clinic"], profile="step-free", routes=False)
    assert walked["time_s"].iloc[0] == pytest.approx(engine.by_category["clinic"][0].time_s)
    assert walked["time_s"].iloc[0] > plain["time_s"].iloc[0]  # the steps are avoided
    free = region.catchment(POINT, minutes=[5], profile="step-free")
    on_foot = region.catchment(POINT, minutes=[5])
    assert set(free.query("kind == 'facility'")["id"]) < set(
        on_foot.query("kind == 'facility'")["id"]
    )


def test_the_planner_analysis_batches_and_maps_walk_at_the_profile_asked(
    region: lc.Region, origins: gpd.GeoDataFrame
) -> None:
    free = region.analyse(categories=["clinic"], sites=0, profile="step-free", progress=False)
    plain = region.analyse(categories=["clinic"], sites=0, progress=False)
    assert free.profile == "step-free" and plain.profile == "standard"
    assert any("incline tags only" in n for n in free.notes)
    # homes judged on the step-free network: each home's minutes are a single query's
    for home in free.points.iloc[::400].itertuples():
        single = region.nearest((home.geometry.y, home.geometry.x), ["clinic"], profile="step-free")
        assert single["time_s"].iloc[0] / 60 == pytest.approx(home.clinic_min, abs=1e-4)
    both = plain.points[["id", "clinic_min"]].merge(
        free.points[["id", "clinic_min"]], on="id", suffixes=("", "_free")
    )
    # slower, and round the steps: more than the speed alone makes it (a home by steps only
    # snaps to another street, so a few may be nearer)
    assert (both["clinic_min_free"] > both["clinic_min"] / 0.8 + 1e-3).sum() > len(both) / 20
    # a batch at step-free is the single calls at step-free
    some = origins.iloc[3:40]
    batch = region.nearest(some, ["clinic"], profile="step-free", progress=False)
    assert batch.attrs["profile"] == "step-free"
    assert batch.to_geojson()["properties"]["profile"] == "step-free"
    for origin, time_s in batch[["origin", "time_s"]].dropna().itertuples(index=False):
        point = some.geometry.loc[origin]
        single = region.nearest((point.y, point.x), ["clinic"], profile="step-free")
        assert single["time_s"].iloc[0] == pytest.approx(time_s, abs=1e-3)
    stops = some.iloc[:3]
    rings = region.catchments(stops, [5], profile="step-free", distributed=False)
    good = rings[rings["error"].isna()]
    for oid, area in good[["origin_id", "area_m2"]].itertuples(index=False):
        point = stops.geometry.iloc[int(oid) - 1]
        single = region.catchment((point.y, point.x), [5], profile="step-free")
        assert single.query("kind == 'ring'")["area_m2"].iloc[0] == pytest.approx(area)
    page = region.explore(POINT, profile="step-free", offline=True).get_root().render()
    assert "step-free route" in page


def test_a_scenario_at_step_free_is_judged_on_the_step_free_network(region: lc.Region) -> None:
    from livingcircle.geo.scenario import ClosedStreet, NewFacility, Scenario  # noqa: PLC0415

    view = region.engine.walked_at("step-free")
    assert region._way_ids is not None and view.walking.base_edges is not None
    way = int(region._way_ids[view.walking.base_edges[len(view.walking.base_edges) // 2]])
    lat, lon = POINT
    what_if = Scenario(
        "a clinic, a street closed",
        (NewFacility("clinic", lon, lat),),
        close_streets=(ClosedStreet(way_id=way),),
    )
    free = region.scenario(what_if, profile="step-free", progress=False).result
    plain = region.scenario(what_if, progress=False).result
    assert free.before.profile == free.after.profile == "step-free"
    assert free.before.speed_m_s == 0.8 and plain.before.profile == "standard"
    assert len(free.streets) >= 1  # the way is closed on the step-free network too
    slow = free.before.minutes_to("clinic")
    assert np.nanmedian(slow[np.isfinite(slow)]) > np.nanmedian(plain.before.minutes_to("clinic"))
