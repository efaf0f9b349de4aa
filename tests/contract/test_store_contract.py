"""What every store promises (geo.store.Store), run against each store."""

from __future__ import annotations

import json
from dataclasses import replace

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import InvalidParameter, RegionNotFound
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionData, Store

REGION = "helsinki"


def by_id(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


def with_facilities(
    data: RegionData, facilities: gpd.GeoDataFrame, name: str = REGION
) -> RegionData:
    info = replace(data.info, name=name, n_facilities=len(facilities))
    return RegionData(info, data.nodes, data.edges, facilities.reset_index(drop=True))


def test_store_satisfies_the_protocol(store: Store) -> None:
    assert isinstance(store, Store)


def test_round_trip_gives_back_what_was_saved(store: Store, sample_data: RegionData) -> None:
    store.save_region(sample_data)
    back = store.load_region(REGION)
    assert back.info == sample_data.info
    pd.testing.assert_frame_equal(back.nodes, sample_data.nodes)
    assert_geodataframe_equal(back.edges, sample_data.edges)
    assert_geodataframe_equal(back.facilities, by_id(sample_data.facilities))


def test_regions_lists_what_is_loaded(store: Store, sample_data: RegionData) -> None:
    assert store.regions() == []
    store.save_region(sample_data)
    other = with_facilities(sample_data, sample_data.facilities.head(10), "a-first")
    store.save_region(other)
    assert [i.name for i in store.regions()] == ["a-first", REGION]
    assert store.regions()[1] == sample_data.info
    assert store.regions()[0].n_facilities == 10


def test_regions_do_not_see_each_other(store: Store, sample_data: RegionData) -> None:
    store.save_region(sample_data)
    store.save_region(with_facilities(sample_data, sample_data.facilities.head(10), "other"))
    assert len(store.load_region(REGION).facilities) == len(sample_data.facilities)
    assert len(store.facilities("other", limit=1000)) == 10
    assert len(store.nearest_candidates("other", 24.9414, 60.171, None, 50)) == 10


def test_unknown_region_is_reported_with_the_loaded_ones(
    store: Store, sample_data: RegionData
) -> None:
    store.save_region(sample_data)
    calls = [
        lambda: store.load_region("nowhere"),
        lambda: store.facilities("nowhere"),
        lambda: store.nearest_candidates("nowhere", 24.9, 60.1, None, 5),
        lambda: store.facilities_in_polygon("nowhere", shapely.box(0, 0, 1, 1)),
        lambda: store.delete_region("nowhere"),
    ]
    for call in calls:
        with pytest.raises(RegionNotFound, match="helsinki"):
            call()


def test_bad_region_names_are_refused(store: Store) -> None:
    with pytest.raises(InvalidParameter, match="lowercase"):
        store.load_region("Central Helsinki")


def test_delete_region_removes_it(store: Store, sample_data: RegionData) -> None:
    store.save_region(sample_data)
    store.delete_region(REGION)
    assert store.regions() == []
    with pytest.raises(RegionNotFound):
        store.load_region(REGION)


def test_facility_queries(store: Store, sample_data: RegionData) -> None:
    store.save_region(sample_data)
    everything = by_id(sample_data.facilities)
    page = store.facilities(REGION, limit=10, offset=20)
    assert list(page["id"]) == list(everything["id"][20:30])
    shops = store.facilities(REGION, categories=["supermarket", "convenience"], limit=1000)
    assert set(shops["category"]) == {"supermarket", "convenience"}
    assert len(shops) == everything["category"].isin(["supermarket", "convenience"]).sum()
    near = store.nearest_candidates(REGION, 24.9414, 60.171, ["restaurant"], 5)
    assert len(near) == 5
    assert near["straight_m"].is_monotonic_increasing
    assert (near["category"] == "restaurant").all()
    around = shapely.Point(24.9414, 60.171).buffer(0.002)
    inside = store.facilities_in_polygon(REGION, around)
    assert inside.geometry.intersects(around).all()
    assert len(inside) == everything.geometry.intersects(around).sum()


def test_reload_of_the_same_data_changes_nothing(store: Store, sample_data: RegionData) -> None:
    store.save_region(sample_data)
    first = store.load_region(REGION)
    store.save_region(sample_data)
    second = store.load_region(REGION)
    assert_geodataframe_equal(first.facilities, second.facilities)
    assert_geodataframe_equal(first.edges, second.edges)
    assert second.info.n_facilities == len(sample_data.facilities)


def test_reload_removes_vanished_and_updates_changed_facilities(
    store: Store, sample_data: RegionData
) -> None:
    store.save_region(sample_data)
    facilities = sample_data.facilities
    removed, renamed = facilities["id"].iloc[10], facilities["id"].iloc[20]
    new = facilities[facilities["id"] != removed].copy()
    new.loc[new["id"] == renamed, "name"] = "Uusi nimi"
    store.save_region(with_facilities(sample_data, new))
    back = store.load_region(REGION).facilities
    assert removed not in set(back["id"])
    assert back.loc[back["id"] == renamed, "name"].tolist() == ["Uusi nimi"]
    assert len(back) == len(facilities) - 1
    assert_geodataframe_equal(back, by_id(new))


def test_a_region_without_facilities_still_answers(
    store: Store, sample_data: RegionData, standard: Standard
) -> None:
    empty = with_facilities(sample_data, sample_data.facilities.head(0))
    store.save_region(empty)
    assert len(store.load_region(REGION).facilities) == 0
    assert len(store.facilities(REGION)) == 0
    assert len(store.nearest_candidates(REGION, 24.9414, 60.171, None, 5)) == 0
    result = Atlas(store, standard).catchment(24.9414, 60.171, region=REGION)
    assert list(result.facilities) == []


def test_awkward_text_round_trips(store: Store, sample_data: RegionData) -> None:
    """Tabs, newlines, backslashes, quotes, Chinese, empty and missing values survive."""
    facilities = sample_data.facilities.head(8).copy()
    names = [
        "tab\there",
        "new\nline",
        "back\\slash \\N",
        "quote \" and ' and ,",
        "社区卫生服务站",
        "",
        None,
        "carriage\r\nreturn 🏥",
    ]
    # opening_hours, not name: a name holds one line (geo.text), a tag value running text
    facilities["opening_hours"] = pd.Series(names, dtype="str", index=facilities.index)
    facilities["tags"] = [
        json.dumps({"name": n or "", "note": "a\tb\\c"}, ensure_ascii=False, sort_keys=True)
        for n in names
    ]
    store.save_region(with_facilities(sample_data, facilities))
    back = store.load_region(REGION).facilities
    assert_geodataframe_equal(back, by_id(facilities))
