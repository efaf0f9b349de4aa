"""Facility look-ups (geo.store.Store) and keyed edits (Store), run against
each store; the PostGIS store's answers compared with the embedded store's on the sample."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal
from sqlalchemy import text

from livingcircle.data.embedded import FileStore
from livingcircle.data.load import load_osm
from livingcircle.data.pg_schema import SCHEMA_REVISION
from livingcircle.data.postgis import LOAD_LOCK, PostgisStore, upgrade
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import (
    FacilityExists,
    FacilityNotFound,
    InvalidParameter,
    RegionNotFound,
    SchemaOutOfDate,
    StoreError,
)
from livingcircle.geo.keys import new_key
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import (
    ApiKey,
    AuditEntry,
    FacilityQuery,
    FacilityRecord,
    RegionData,
    Store,
)
from tests.attacks import ATTACKS
from tests.contract.conftest import empty_postgis

REGION = "helsinki"
LON, LAT = 24.9414, 60.1712
CENTRE = (24.935, 60.164, 24.954, 60.180)


def clinic(source_id: str = "c-1", **fields: Any) -> FacilityRecord:
    """A facility of the health bureau near the centre of the sample."""
    values: dict[str, Any] = {
        "id": f"health-bureau:{source_id}",
        "source": "health-bureau",
        "source_id": source_id,
        "category": "clinic",
        "geometry": shapely.Point(LON, LAT),
        "name": "Terveysasema",
        "name_zh": "社区卫生服务站",
        "opening_hours": "Mo-Fr 08:00-17:00",
        "tags": '{"phone": "+358 9 000"}',
    } | fields
    return FacilityRecord(**values)


def editor(store: Store) -> Any:
    """``store`` as a catalog and editor (both stores are)."""
    assert isinstance(store, Store)
    return store


def state(store: Any) -> tuple[object, ...]:
    """Everything a refused change must leave as it was."""
    return (
        store.load_region(REGION).facilities.to_wkt().to_dict("records"),
        store.regions(),
        store.audit(REGION, limit=1000),
    )


def without_time(entries: list[AuditEntry]) -> list[tuple[object, ...]]:
    return [(e.region, e.facility_id, e.action, e.actor, e.before, e.after) for e in entries]


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory,
    make_database: Callable[..., str],
    sample_data: RegionData,
) -> tuple[FileStore, PostgisStore]:
    """Both stores with the Helsinki sample, for this module only.

    (The session's pair must not be opened before test_postgis disposes every engine.)
    """
    file_store = FileStore(tmp_path_factory.mktemp("edits-pair"))
    postgis_store = PostgisStore(make_database())
    file_store.save_region(sample_data)
    postgis_store.save_region(sample_data)
    return file_store, postgis_store


@pytest.fixture
def loaded(store: Store, sample_data: RegionData) -> Any:
    """Each store with the Helsinki sample."""
    store.save_region(sample_data)
    return editor(store)


# -- look-ups ---------------------------------------------------------------------------------


def test_store_is_a_catalog_and_an_editor(store: Store) -> None:
    assert isinstance(store, Store)


def test_one_facility_by_id(loaded: Any) -> None:
    row = loaded.facility(REGION, "osm:node/25502063")
    assert list(row["id"]) == ["osm:node/25502063"] and row["name"].iloc[0] == "Hakaniemi"
    for missing in ("osm:node/1", "", *ATTACKS):
        with pytest.raises(FacilityNotFound):
            loaded.facility(REGION, missing)
    with pytest.raises(RegionNotFound, match="helsinki"):
        loaded.facility("nowhere", "osm:node/25502063")
    with pytest.raises(RegionNotFound, match="helsinki"):
        loaded.facilities("nowhere", FacilityQuery(text="apteekki"))


SEARCHES: list[dict[str, Any]] = [
    {"text": "apteekki"},
    {"text": "APTEEKKI", "limit": 3, "offset": 2},
    {"text": "Ä", "limit": 1000},
    {"text": "kahvila", "categories": ["cafe", "restaurant"]},
    {"text": "a", "bbox": CENTRE, "limit": 1000},
    {"text": "e", "bbox": CENTRE, "categories": ["pharmacy"], "limit": 1000},
    {"text": None, "limit": 50, "offset": 700},
    {"text": "", "limit": 1000},
    {"text": "apteekki", "offset": 10_000},
    {"text": "药"},
    {"text": "50%"},
    *({"text": attack, "limit": 1000} for attack in ATTACKS),
]


@pytest.mark.postgis
@pytest.mark.parametrize("search", SEARCHES, ids=lambda s: repr(s["text"]))
def test_name_search_answers_as_the_file_store(
    pair: tuple[FileStore, PostgisStore], search: dict[str, Any]
) -> None:
    file_store, postgis_store = pair
    want = file_store.facilities(REGION, FacilityQuery(**search))
    got = postgis_store.facilities(REGION, FacilityQuery(**search))
    assert_geodataframe_equal(got, want)
    if search["text"] in ("apteekki", "Ä") and "offset" not in search:
        assert len(want) > 0


@pytest.mark.postgis
def test_facility_by_id_answers_as_the_file_store(pair: tuple[FileStore, PostgisStore]) -> None:
    file_store, postgis_store = pair
    everything = file_store.facilities(REGION, FacilityQuery(limit=10_000))
    outlines = everything[everything.geom_type != "Point"]["id"].head(3).tolist()
    for facility_id in [*everything["id"].iloc[::97], *outlines]:
        assert_geodataframe_equal(
            postgis_store.facility(REGION, facility_id), file_store.facility(REGION, facility_id)
        )


def test_wildcards_in_the_name_search_are_literal(loaded: Any) -> None:
    record = clinic("w-1", name="100% _juusto_ \\ kauppa")
    loaded.save_facility(REGION, record, "health-bureau", create=True)
    for needle in ("100%", "% _j", "_juusto_", "\\", "0% _JUUSTO_ \\ K"):
        found = loaded.facilities(REGION, FacilityQuery(text=needle))
        assert found["id"].tolist() == [record.id], needle
    for needle in ("1%0", "_uusto", "j_usto", "%%"):
        found = loaded.facilities(REGION, FacilityQuery(text=needle, limit=1000))
        assert record.id not in found["id"].tolist(), needle


def test_injection_in_ids_and_text_changes_nothing(loaded: Any) -> None:
    before = state(loaded)
    for attack in ATTACKS:
        loaded.facilities(REGION, FacilityQuery(text=attack, limit=1000))
        with pytest.raises(FacilityNotFound):
            loaded.delete_facility(REGION, attack, "health-bureau")
        with pytest.raises(FacilityNotFound):
            loaded.save_facility(
                REGION, replace(clinic(), id=attack), "health-bureau", create=False
            )
    assert state(loaded) == before


# -- edits ------------------------------------------------------------------------------------


def test_create_update_delete_are_recorded(loaded: Any) -> None:
    start = loaded.regions()[0]
    made = loaded.save_facility(REGION, clinic(), "health-bureau", create=True)
    assert (made.action, made.actor, made.before) == ("create", "health-bureau", None)
    assert made.after is not None and made.after["name_zh"] == "社区卫生服务站"
    assert made.after["tags"] == {"phone": "+358 9 000"}
    assert made.after["geometry"] == {"type": "Point", "coordinates": [LON, LAT]}
    assert made.at.tzinfo is not None and abs(made.at - datetime.now(UTC)) < timedelta(minutes=1)
    row = loaded.facility(REGION, "health-bureau:c-1")
    assert row[["source", "source_id", "category", "name", "opening_hours", "tags"]].iloc[
        0
    ].tolist() == [
        "health-bureau",
        "c-1",
        "clinic",
        "Terveysasema",
        "Mo-Fr 08:00-17:00",
        '{"phone": "+358 9 000"}',
    ]
    after_create = loaded.regions()[0]
    assert after_create.n_facilities == start.n_facilities + 1
    assert after_create.loaded_at > start.loaded_at
    assert after_create.loaded_at == made.at

    moved = shapely.Point(LON + 0.001, LAT)
    changed = loaded.save_facility(
        REGION, clinic(name_zh="海曙社区卫生服务站", geometry=moved), "health-bureau", create=False
    )
    assert changed.before == made.after
    assert changed.after is not None and changed.after["name_zh"] == "海曙社区卫生服务站"
    assert loaded.facility(REGION, "health-bureau:c-1").geometry.iloc[0].equals(moved)
    assert loaded.regions()[0].loaded_at > after_create.loaded_at

    gone = loaded.delete_facility(REGION, "health-bureau:c-1", "health-bureau")
    assert (gone.action, gone.before, gone.after) == ("delete", changed.after, None)
    with pytest.raises(FacilityNotFound):
        loaded.facility(REGION, "health-bureau:c-1")
    assert loaded.regions()[0].n_facilities == start.n_facilities
    log = loaded.audit(REGION)
    assert [e.action for e in log] == ["delete", "update", "create", "load"]
    assert log[:3] == [gone, changed, made]
    assert loaded.audit(REGION, limit=1, offset=1) == [changed]
    assert loaded.audit("other") == []


def test_failed_writes_change_nothing(loaded: Any) -> None:
    loaded.save_facility(REGION, clinic(), "health-bureau", create=True)
    before = state(loaded)
    with pytest.raises(FacilityExists, match="already exists"):
        loaded.save_facility(REGION, clinic(name="Toinen"), "health-bureau", create=True)
    with pytest.raises(FacilityExists):
        loaded.save_facility(
            REGION,
            replace(clinic(), id="osm:node/25502063", source="osm", source_id="node/25502063"),
            "osm",
            create=True,
        )
    with pytest.raises(FacilityNotFound):
        loaded.save_facility(REGION, clinic("c-2"), "health-bureau", create=False)
    with pytest.raises(FacilityNotFound):
        loaded.delete_facility(REGION, "health-bureau:c-2", "health-bureau")
    with pytest.raises(RegionNotFound):
        loaded.save_facility("nowhere", clinic("c-3"), "health-bureau", create=True)
    assert state(loaded) == before


def test_the_engine_sees_a_change_on_the_next_query(loaded: Any, standard: Standard) -> None:
    atlas = Atlas(loaded, standard)

    def nearest_clinic() -> str:
        return atlas.nearest(LON, LAT, ["clinic"], region=REGION).by_category["clinic"][0].id

    first = nearest_clinic()
    loaded.save_facility(REGION, clinic(), "health-bureau", create=True)
    atlas.refresh(REGION).result()
    assert nearest_clinic() == "health-bureau:c-1" != first
    loaded.delete_facility(REGION, "health-bureau:c-1", "health-bureau")
    atlas.refresh(REGION).result()
    assert nearest_clinic() == first


def test_api_keys_are_kept_hashed(store: Store) -> None:
    keys = editor(store)
    assert keys.api_keys() == []
    tokens: list[str] = []
    records: list[ApiKey] = []
    for owner in ("health-bureau", "police", "parks"):
        token, record = new_key(owner)
        keys.add_api_key(record)
        tokens.append(token)
        records.append(record)
    assert keys.api_keys() == records
    assert not any(t.split("_", 2)[2] in str(keys.api_keys()) for t in tokens)
    keys.remove_api_key(records[1].key_id)
    assert keys.api_keys() == [records[0], records[2]]
    for unknown in (records[1].key_id, "' OR '1'='1", ""):
        with pytest.raises(InvalidParameter, match="no API key"):
            keys.remove_api_key(unknown)
    assert keys.api_keys() == [records[0], records[2]]


# -- the PostGIS store's own promises ---------------------------------------------------------


def edit_sequence(store: Any) -> list[AuditEntry]:
    store.save_facility(REGION, clinic(), "health-bureau", create=True)
    store.save_facility(
        REGION,
        clinic("c-2", geometry=shapely.box(LON, LAT, LON + 0.001, LAT + 0.001), name=""),
        "health-bureau",
        create=True,
    )
    # tags as the loaders and the API write them: sorted keys (PostGIS keeps them as JSONB)
    store.save_facility(
        REGION, clinic(tags='{"a": {"x": [1, null]}, "b": "2"}'), "health-bureau", create=False
    )
    store.delete_facility(REGION, "health-bureau:c-2", "health-bureau")
    return list(store.audit(REGION))


@pytest.mark.postgis
def test_edits_are_recorded_as_the_file_store_records_them(
    postgis_url: str, tmp_path: Path, sample_data: RegionData
) -> None:
    file_store, postgis_store = FileStore(tmp_path / "store"), empty_postgis(postgis_url)
    for store in (file_store, postgis_store):
        store.save_region(sample_data)
    want = edit_sequence(file_store)
    got = edit_sequence(postgis_store)
    assert without_time(got) == without_time(want)
    assert [list(e.after or {}) for e in got] == [list(e.after or {}) for e in want]
    assert_geodataframe_equal(
        postgis_store.load_region(REGION).facilities, file_store.load_region(REGION).facilities
    )
    assert postgis_store.regions()[0].n_facilities == file_store.regions()[0].n_facilities


@pytest.mark.postgis
def test_an_update_keeps_the_row_key(postgis_url: str, sample_data: RegionData) -> None:
    pg = empty_postgis(postgis_url)
    pg.save_region(sample_data)
    pg.save_facility(REGION, clinic(), "health-bureau", create=True)

    def fid() -> int:
        with pg.engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT fid FROM facilities WHERE id = :i"), {"i": "health-bureau:c-1"}
                ).scalar_one()
            )

    first = fid()
    pg.save_facility(REGION, clinic(name="Uusi"), "health-bureau", create=False)
    assert fid() == first
    pg.save_region(sample_data)  # a reload from the source removes the department's facility
    with pytest.raises(FacilityNotFound):
        pg.facility(REGION, "health-bureau:c-1")


@pytest.mark.postgis
@pytest.mark.parametrize("action", ["create", "update", "delete"])
def test_a_change_whose_audit_row_fails_is_not_made(
    postgis_url: str, sample_data: RegionData, action: str
) -> None:
    """The facility and its audit row are one transaction: no change is ever unrecorded."""
    pg = empty_postgis(postgis_url)
    pg.save_region(sample_data)
    pg.save_facility(REGION, clinic(), "health-bureau", create=True)
    before = state(pg)
    with pg.engine.begin() as conn:
        conn.execute(
            text(
                "ALTER TABLE facility_audit ADD CONSTRAINT lc_test_no_saboteur "
                "CHECK (actor <> 'saboteur')"
            )
        )
    try:
        with pytest.raises(StoreError, match="lc_test_no_saboteur"):
            if action == "create":
                pg.save_facility(REGION, clinic("c-9"), "saboteur", create=True)
            elif action == "update":
                pg.save_facility(REGION, clinic(name="X"), "saboteur", create=False)
            else:
                pg.delete_facility(REGION, "health-bureau:c-1", "saboteur")
    finally:
        with pg.engine.begin() as conn:
            conn.execute(text("ALTER TABLE facility_audit DROP CONSTRAINT lc_test_no_saboteur"))
    assert state(pg) == before


def test_an_edit_during_a_facility_update_waits_and_is_kept(loaded: Any) -> None:
    """A department import (update_facilities) reads, merges and writes under the region's
    lock: an API edit that comes meanwhile waits for it, and neither loses the other."""
    network = loaded.load_region(REGION)
    edit_done = threading.Event()
    calls = 0

    def edit() -> None:
        loaded.save_facility(REGION, clinic("during"), "health-bureau", create=True)
        edit_done.set()

    def change(info: Any, facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        nonlocal calls
        calls += 1
        assert info.name == REGION and len(facilities) == info.n_facilities
        if calls == 1:
            threading.Thread(target=edit).start()
            assert not edit_done.wait(0.5)  # it waits for this update
        imported = gpd.GeoDataFrame(
            [{c: getattr(clinic("imported"), c) for c in facilities.columns if c != "geometry"}],
            geometry=[shapely.Point(LON + 0.001, LAT)],
            crs=facilities.crs,
        )
        return pd.concat([facilities, imported], ignore_index=True)

    stats = loaded.update_facilities(REGION, change)  # writes return what they did
    assert stats is not None and (stats.inserted, stats.updated, stats.deleted) == (1, 0, 0)
    assert edit_done.wait(15)
    ids = set(loaded.load_region(REGION).facilities["id"])
    assert {"health-bureau:imported", "health-bureau:during"} <= ids
    after = loaded.load_region(REGION)
    assert after.info.n_facilities == len(after.facilities) == len(network.facilities) + 2
    assert_frame_equal(after.nodes, network.nodes)  # the network is not rewritten
    assert_geodataframe_equal(after.edges, network.edges)
    assert [(e.action, e.facility_id) for e in loaded.audit(REGION)] == [
        ("create", "health-bureau:during"),
        ("import", ""),
        ("load", ""),
    ]


def test_a_reload_from_osm_keeps_facilities_made_through_the_api(
    loaded: Any, sample_path: Path, standard: Standard
) -> None:
    record = clinic("kept")
    loaded.save_facility(REGION, record, "health-bureau", create=True)
    info = load_osm(loaded, sample_path, REGION, standard)
    row = loaded.facility(REGION, record.id).iloc[0]  # not dropped as if OSM owned it
    assert (row["name"], row["category"], row["opening_hours"], row["tags"]) == (
        record.name,
        record.category,
        record.opening_hours,
        record.tags,
    )
    assert row.geometry.equals(record.geometry)
    assert info.n_facilities == len(loaded.load_region(REGION).facilities)
    assert info.source == f"osm-file:{sample_path.name}"


def test_a_facility_update_that_changes_nothing_writes_nothing(loaded: Any) -> None:
    before = state(loaded)
    assert loaded.update_facilities(REGION, lambda info, frame: None) is None
    assert state(loaded) == before
    with pytest.raises(RegionNotFound, match="helsinki"):
        loaded.update_facilities("nowhere", lambda info, frame: frame)


@pytest.mark.postgis
def test_edits_wait_for_a_load_of_the_region(postgis_url: str, sample_data: RegionData) -> None:
    """A load holds the region's lock; an edit meanwhile waits for it, then goes ahead."""
    pg = empty_postgis(postgis_url)
    pg.save_region(sample_data)
    held = threading.Event()

    def hold_the_lock() -> None:
        with pg.engine.begin() as conn:
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:c, hashtext(:r))"),
                {"c": LOAD_LOCK, "r": REGION},
            )
            held.set()
            time.sleep(0.5)

    loader = threading.Thread(target=hold_the_lock)
    loader.start()
    assert held.wait(10)
    started = time.monotonic()
    pg.save_facility(REGION, clinic(), "health-bureau", create=True)
    loader.join()
    assert time.monotonic() - started > 0.3
    assert len(pg.facility(REGION, "health-bureau:c-1")) == 1


@pytest.mark.postgis
def test_database_at_revision_0001_says_run_upgrade(make_database: Callable[..., str]) -> None:
    url = make_database(upgraded=False)
    assert upgrade(url, "0001") == "0001"  # an upgrade has the schema checked again
    with pytest.raises(SchemaOutOfDate, match=r"revision 0001.*livingcircle db upgrade"):
        PostgisStore(url)
    assert upgrade(url) == SCHEMA_REVISION
    store = PostgisStore(url)
    assert store.api_keys() == [] and store.audit(REGION) == []


def test_frames_of_look_ups_have_the_columns_of_facilities(loaded: Any) -> None:
    page = loaded.facilities(REGION, FacilityQuery(limit=5))
    for frame in (
        loaded.facility(REGION, page["id"].iloc[0]),
        loaded.facilities(REGION, FacilityQuery(text="apteekki")),
        loaded.facilities(REGION, FacilityQuery(text="no such name")),
    ):
        assert isinstance(frame, gpd.GeoDataFrame)
        assert list(frame.columns) == list(page.columns)
        assert frame.dtypes.to_dict() == page.dtypes.to_dict()
        assert frame.crs == page.crs


@pytest.mark.postgis
def test_keys_on_the_command_line_against_postgis(postgis_url: str) -> None:
    store = empty_postgis(postgis_url)
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("LC_DATABASE_URL", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "livingcircle", "keys", *args, "--database", postgis_url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = cli("add", "--owner", "health-bureau")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    [key] = store.api_keys()
    assert token.startswith(f"lc_{key.key_id}_") and key.owner == "health-bureau"
    assert token.split("_", 2)[2] not in key.digest
    listed = cli("list")
    assert listed.returncode == 0 and key.key_id in listed.stdout, listed.stderr
    assert cli("revoke", key.key_id).returncode == 0
    [revoked] = store.api_keys()  # kept, marked revoked
    assert revoked.revoked_at is not None and revoked.key_id == key.key_id
    assert cli("remove", key.key_id).returncode == 0  # an alias: the first time stays
    assert store.api_keys() == [revoked]
    again = cli("revoke", "0123456789ab")
    assert again.returncode != 0 and "no API key" in again.stderr
