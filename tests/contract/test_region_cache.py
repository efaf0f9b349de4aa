"""Each store keeps a region's build cache: a second start builds from it, and answers alike.

A start that finds no fitting cache snaps the facilities (``place_facilities``) and keeps a
new blob; one that finds it does neither. A corrupt or stale blob is ignored and rebuilt; a
load, a facility edit and removing the region drop the blob with the data it was built from.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import shapely
from sqlalchemy import text

from livingcircle.data.embedded import FileStore
from livingcircle.data.postgis import PostgisStore
from livingcircle.geo import region_cache
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter, RegionNotFound, StoreError
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import FacilityRecord, RegionData, Store

REGION = "helsinki"


class Counted:
    """A real store that counts the build caches it is asked to keep."""

    def __init__(self, store: Store) -> None:
        self.store, self.saved = store, 0

    def save_region_cache(self, name: str, key: str, blob: bytes) -> None:
        self.saved += 1
        self.store.save_region_cache(name, key, blob)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture
def snaps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times a build snapped the facilities (the real snapping, counted)."""
    calls: list[int] = []
    real = region_cache.place_facilities

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(region_cache, "place_facilities", counted)
    yield calls


def start(store: Store, standard: Standard) -> tuple[Region, Counted]:
    """A server start: a new atlas builds the region from the store."""
    counted = Counted(store)
    atlas = Atlas(counted, standard)
    try:
        return atlas.region(REGION), counted
    finally:
        atlas.close()


def key_of(data: RegionData, standard: Standard) -> str:
    return region_cache.fingerprint(data.nodes, data.edges, data.facilities, standard.category_ids)


def kept_blobs(store: Store) -> int:
    """How many build caches the store holds, for any region (read behind its back)."""
    if isinstance(store, FileStore):
        return len(list(store.root.glob("regions/*/v-*/build-*.npz")))
    assert isinstance(store, PostgisStore)
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM region_caches")).scalar_one())


def points(n: int = 12, seed: int = 3) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(24.936, 24.952, n), rng.uniform(60.165, 60.178, n)
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def same_answers(a: Region, b: Region) -> None:
    for a_arr, b_arr in zip(a.net.csr, b.net.csr, strict=True):
        assert np.array_equal(a_arr, b_arr)
    assert np.array_equal(a.facilities.snap.edge, b.facilities.snap.edge)
    assert np.array_equal(a.facilities.snap.offset_m, b.facilities.snap.offset_m)
    for lon, lat in points():
        want = b.nearest(lon, lat, k=3).to_geojson()
        assert a.nearest(lon, lat, k=3).to_geojson() == want, (lon, lat)
        assert (
            a.catchment(lon, lat, [5, 15]).to_geojson()
            == b.catchment(lon, lat, [5, 15]).to_geojson()
        )


def uncached(data: RegionData, standard: Standard) -> Region:
    """The region built from its data alone, as before there was a cache."""
    net = StreetNetwork.from_frames(data.nodes, data.edges)
    return Region(REGION, net, data.facilities, standard)


def test_a_second_start_builds_from_the_cache(
    store: Store, sample_data: RegionData, standard: Standard, snaps: list[int]
) -> None:
    store.save_region(sample_data)
    key = key_of(store.load_region(REGION), standard)
    assert store.region_cache(REGION, key) is None
    first, counted = start(store, standard)
    assert (len(snaps), counted.saved) == (1, 1)
    blob = store.region_cache(REGION, key)
    assert blob is not None and kept_blobs(store) == 1
    second, counted = start(store, standard)
    assert (len(snaps), counted.saved) == (1, 0)  # no snapping, nothing new to keep
    assert "csr" in second.net.__dict__
    assert store.region_cache(REGION, key) == blob
    assert store.region_cache(REGION, "0" * 32) is None  # another key: not this blob
    same_answers(second, uncached(sample_data, standard))
    same_answers(first, second)


@pytest.mark.parametrize("bad", ["corrupt", "stale"])
def test_a_corrupt_or_stale_blob_is_ignored_and_rebuilt(
    store: Store,
    sample_data: RegionData,
    standard: Standard,
    snaps: list[int],
    caplog: pytest.LogCaptureFixture,
    bad: str,
) -> None:
    store.save_region(sample_data)
    data = store.load_region(REGION)
    key = key_of(data, standard)
    net = StreetNetwork.from_frames(data.nodes, data.edges)
    fewer = data.facilities.iloc[1:]  # built from other data, kept under this key
    _, other = region_cache.build(
        net, fewer, standard.category_ids, key_of(replace(data, facilities=fewer), standard), None
    )
    assert other is not None
    store.save_region_cache(REGION, key, other if bad == "stale" else other[: len(other) // 3])
    snaps.clear()
    with caplog.at_level(logging.WARNING, logger="livingcircle.geo.region_cache"):
        region, counted = start(store, standard)
    assert "region cache" in caplog.text and "building the region from its data" in caplog.text
    assert (len(snaps), counted.saved) == (1, 1)
    rebuilt = store.region_cache(REGION, key)
    assert rebuilt is not None and rebuilt != other and kept_blobs(store) == 1
    same_answers(region, uncached(sample_data, standard))
    start(store, standard)
    assert len(snaps) == 1  # the rebuilt blob serves the next start


def clinic() -> FacilityRecord:
    return FacilityRecord(
        id="health-bureau:near",
        source="health-bureau",
        source_id="near",
        category="clinic",
        geometry=shapely.Point(24.9414, 60.1710),
        name="Terveysasema",
    )


def test_a_load_or_an_edit_drops_the_blob(
    store: Store, sample_data: RegionData, standard: Standard, snaps: list[int]
) -> None:
    store.save_region(sample_data)
    start(store, standard)
    assert kept_blobs(store) == 1
    store.save_facility(REGION, clinic(), "tester", create=True)
    assert kept_blobs(store) == 0
    edited, _ = start(store, standard)
    assert "health-bureau:near" in edited.facilities.text["id"]
    same_answers(edited, uncached(store.load_region(REGION), standard))
    assert kept_blobs(store) == 1
    store.delete_facility(REGION, "health-bureau:near", "tester")
    assert kept_blobs(store) == 0
    start(store, standard)
    store.save_region(sample_data)  # a reload, even of the same data
    assert kept_blobs(store) == 0
    assert len(snaps) == 3


def test_removing_the_region_removes_its_blob(
    store: Store, sample_data: RegionData, standard: Standard
) -> None:
    store.save_region(sample_data)
    store.save_region(replace(sample_data, info=replace(sample_data.info, name="copy")))
    start(store, standard)
    key = key_of(sample_data, standard)
    store.save_region_cache("copy", key, b"the copy's")
    assert kept_blobs(store) == 2
    store.delete_region(REGION)
    assert kept_blobs(store) == 1
    with pytest.raises(RegionNotFound):
        store.region_cache(REGION, key)
    with pytest.raises(RegionNotFound):
        store.save_region_cache(REGION, key, b"x")
    store.save_region(sample_data)
    assert store.region_cache(REGION, key) is None
    assert store.region_cache("copy", key) == b"the copy's"


def test_a_key_that_is_no_key_is_refused(store: Store, sample_data: RegionData) -> None:
    store.save_region(sample_data)
    for key in ("", "../../x", "a" * 65, "ключ"):
        with pytest.raises(InvalidParameter, match="region cache key"):
            store.save_region_cache(REGION, key, b"x")
        with pytest.raises(InvalidParameter, match="region cache key"):
            store.region_cache(REGION, key)


class Failing:
    """A real store that cannot keep a build cache (a full disk, a read-only database)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save_region_cache(self, name: str, key: str, blob: bytes) -> None:
        raise StoreError(f"cannot keep {len(blob)} bytes for {name}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_cache_that_cannot_be_kept_fails_no_query(
    store: Store,
    sample_data: RegionData,
    standard: Standard,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store.save_region(sample_data)
    atlas = Atlas(Failing(store), standard)
    try:
        with caplog.at_level(logging.WARNING, logger="livingcircle.geo.region_cache"):
            found = atlas.nearest(24.9414, 60.1710, region=REGION, k=1)
    finally:
        atlas.close()
    assert found.to_geojson()["features"]
    assert "not kept" in caplog.text and kept_blobs(store) == 0
