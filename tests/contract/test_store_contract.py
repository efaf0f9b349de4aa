"""What every store promises (geo.store.Store), run against each store."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from livingcircle.data.synthetic import grid_city
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import (
    FacilityNotFound,
    InvalidParameter,
    RegionNotFound,
    StoreError,
)
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import FacilityQuery, FacilityRecord, RegionData, RegionInfo, Store

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
    assert len(store.facilities("other", FacilityQuery(limit=1000))) == 10


def test_unknown_region_is_reported_with_the_loaded_ones(
    store: Store, sample_data: RegionData
) -> None:
    store.save_region(sample_data)
    calls = [
        lambda: store.load_region("nowhere"),
        lambda: store.facilities("nowhere"),
        lambda: store.facility("nowhere", "osm:node/1"),
        lambda: store.facilities("nowhere", FacilityQuery(text="x")),
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
    page = store.facilities(REGION, FacilityQuery(limit=10, offset=20))
    assert list(page["id"]) == list(everything["id"][20:30])
    shops = store.facilities(
        REGION, FacilityQuery(categories=["supermarket", "convenience"], limit=1000)
    )
    assert set(shops["category"]) == {"supermarket", "convenience"}
    assert len(shops) == everything["category"].isin(["supermarket", "convenience"]).sum()
    box = (24.9394, 60.169, 24.9434, 60.173)
    inside = store.facilities(REGION, FacilityQuery(box, limit=1000))
    around = shapely.box(*box)
    # every facility whose bounding box meets the box (an outline may miss it)
    assert inside.geometry.envelope.intersects(around).all()
    assert len(inside) == everything.geometry.envelope.intersects(around).sum() > 0


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
    assert len(store.facilities(REGION, FacilityQuery(text="a"))) == 0
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


def test_a_reload_returns_what_it_changed(store: Store, sample_data: RegionData) -> None:
    """``save_region`` and ``update_facilities`` return the facilities added, changed, removed."""
    first = store.save_region(sample_data)
    n = len(sample_data.facilities)
    assert (first.inserted, first.updated, first.unchanged, first.deleted) == (n, 0, 0, 0)
    facilities = sample_data.facilities
    removed, renamed = facilities["id"].iloc[3], facilities["id"].iloc[4]
    new = facilities[facilities["id"] != removed].copy()
    new.loc[new["id"] == renamed, "name"] = "Toinen nimi"
    added = new.iloc[[0]].assign(id="dept:1", source="dept", source_id="1")
    new = pd.concat([new, added], ignore_index=True)
    stats = store.save_region(with_facilities(sample_data, new))
    assert (stats.inserted, stats.updated, stats.unchanged, stats.deleted) == (1, 1, n - 2, 1)
    assert store.update_facilities(REGION, lambda _info, _frame: None) is None
    again = store.update_facilities(REGION, lambda _info, frame: frame.iloc[1:])
    assert again is not None
    assert (again.inserted, again.updated, again.unchanged, again.deleted) == (0, 0, n - 1, 1)


def test_a_synthetic_city_round_trips(store: Store) -> None:
    """One-way streets, outlines and other sources than OSM come back as saved."""
    nodes, edges, facilities = grid_city(2_000, seed=3)
    info = RegionInfo.of(
        "grid", "synthetic", datetime(2026, 5, 1, tzinfo=UTC), nodes, edges, facilities
    )
    store.save_region(RegionData(info, nodes, edges, facilities))
    back = store.load_region("grid")
    assert back.info == info
    pd.testing.assert_frame_equal(back.nodes, nodes.sort_values("node", ignore_index=True))
    assert_geodataframe_equal(back.edges, edges.sort_values("edge", ignore_index=True))
    assert_geodataframe_equal(back.facilities, by_id(facilities))
    assert edges["oneway"].any()


def test_tags_come_back_as_canonical_json(store: Store, sample_data: RegionData) -> None:
    """Tags come back as the loaders write them (keys sorted, non-ASCII kept), as given or not.

    PostGIS keeps jsonb (flat strings written by PostgreSQL, the rest redone in Python); the
    file store writes them so.
    """
    facilities = sample_data.facilities.head(4).copy()
    given = [
        '{"a": [1, 2], "b": {"y": 1, "x": null}}',
        '{"b":"2","a":"1"}',
        "{}",
        '{"名称": "社区", "Z": "\\"\\t"}',  # a quote and a tab: escaped, allowed in values
    ]
    facilities["tags"] = given
    store.save_region(with_facilities(sample_data, facilities))
    back = store.load_region(REGION).facilities.set_index("id")["tags"]
    for fid, tags in zip(facilities["id"], given, strict=True):
        assert back[fid] == json.dumps(json.loads(tags), ensure_ascii=False, sort_keys=True)
    store.save_facility(REGION, replace(RECORD, tags='{"z": 1, "a": "ä"}'), "dept", create=True)
    assert store.facility(REGION, RECORD.id)["tags"].tolist() == ['{"a": "ä", "z": 1}']


# -- what a store accepts (geo.store.check_facilities, check_record): the same on both --------

SPOILS = [
    "no geometry",
    "empty geometry",
    "bad tags",
    "tags not an object",
    "repeated id",
    "repeated source id",
    "missing column",
    "control character",
]


def spoiled(facilities: gpd.GeoDataFrame, spoil: str) -> gpd.GeoDataFrame:
    bad = facilities.copy()
    last = bad.index[-1]
    if spoil == "no geometry":
        bad.loc[last, "geometry"] = None
    elif spoil == "empty geometry":
        bad.loc[last, "geometry"] = shapely.Point()
    elif spoil == "bad tags":
        bad.loc[last, "tags"] = "{not json"
    elif spoil == "tags not an object":
        bad.loc[last, "tags"] = "[1, 2]"
    elif spoil == "repeated id":
        bad.loc[last, "id"] = bad["id"].iloc[0]
    elif spoil == "repeated source id":
        bad.loc[last, "source_id"] = bad["source_id"].iloc[0]
    elif spoil == "missing column":
        bad = bad.drop(columns="source_id")
    else:
        bad.loc[last, "name"] = "bell\x07"
    return bad


@pytest.mark.parametrize("spoil", SPOILS)
def test_a_bad_load_is_refused_and_changes_nothing(
    store: Store, sample_data: RegionData, spoil: str
) -> None:
    store.save_region(sample_data)
    before = store.load_region(REGION)
    bad = spoiled(sample_data.facilities, spoil)
    with pytest.raises((StoreError, InvalidParameter), match=r"helsinki|facility"):
        store.save_region(RegionData(sample_data.info, sample_data.nodes, sample_data.edges, bad))
    after = store.load_region(REGION)
    assert after.info == before.info
    assert_geodataframe_equal(after.facilities, before.facilities)


@pytest.mark.parametrize("spoil", ["no geometry", "bad tags", "repeated source id"])
def test_a_bad_import_is_refused_and_changes_nothing(
    store: Store, sample_data: RegionData, spoil: str
) -> None:
    store.save_region(sample_data)
    before = store.load_region(REGION)
    with pytest.raises((StoreError, InvalidParameter), match=r"helsinki|facility"):
        store.update_facilities(REGION, lambda _info, frame: spoiled(frame, spoil))
    after = store.load_region(REGION)
    assert after.info == before.info
    assert_geodataframe_equal(after.facilities, before.facilities)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"geometry": shapely.Point()}, "no geometry"),
        ({"tags": "{not json"}, "not JSON"),
        ({"tags": '"text"'}, "not a JSON object"),
        ({"name": "nul\x00"}, "name"),
    ],
)
def test_a_bad_record_is_refused_on_both_stores(
    store: Store, sample_data: RegionData, change: dict[str, object], match: str
) -> None:
    store.save_region(sample_data)
    record = replace(RECORD, **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match=match):
        store.save_facility(REGION, record, "dept", create=True)
    with pytest.raises(FacilityNotFound):
        store.facility(REGION, RECORD.id)


def test_audit_rows_are_the_same_json_on_both_stores(store: Store, sample_data: RegionData) -> None:
    """``facility_json`` writes the before and after of every edit, on either store."""
    store.save_region(sample_data)
    created = store.save_facility(REGION, RECORD, "dept", create=True)
    assert created.before is None
    assert created.after == {
        "id": RECORD.id,
        "source": "dept",
        "source_id": "7",
        "name": "Terveysasema",
        "name_zh": "",
        "name_en": "",
        "category": "clinic",
        "opening_hours": "",
        "tags": {"phone": "+358 9 1"},
        "geometry": {"type": "Point", "coordinates": [24.9414, 60.171]},
    }
    removed = store.delete_facility(REGION, RECORD.id, "dept")
    assert removed.before == created.after and removed.after is None


RECORD = FacilityRecord(
    id="dept:7",
    source="dept",
    source_id="7",
    category="clinic",
    geometry=shapely.Point(24.9414, 60.171),
    name="Terveysasema",
    tags='{"phone": "+358 9 1"}',
)
