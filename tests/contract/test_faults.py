"""Failed, killed and concurrent loads leave the previous version of a region whole.

Every test runs against each store; the stores differ only in where the failure is injected.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from geopandas.testing import assert_geodataframe_equal

import livingcircle.data.embedded
import livingcircle.data.postgis
from livingcircle.data.embedded import FileStore
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import DatabaseUnavailable, RegionBusy, StoreError
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionData, Store

REGION = "helsinki"
SLOW_LOAD = Path(__file__).with_name("_slow_load.py")


def changed(data: RegionData, drop: int) -> RegionData:
    """The region with one facility less (so a mix of versions would show)."""
    facilities = data.facilities.drop(index=data.facilities.index[drop]).reset_index(drop=True)
    info = replace(data.info, n_facilities=len(facilities), source="changed")
    return RegionData(info, data.nodes, data.edges.head(len(data.edges) - drop), facilities)


def assert_same_region(a: RegionData, b: RegionData) -> None:
    assert a.info == b.info
    assert_geodataframe_equal(a.facilities, b.facilities)
    assert_geodataframe_equal(a.edges, b.edges)


def assert_answers(store: Store, standard: Standard) -> None:
    """The region still answers queries and engine questions."""
    assert len(store.nearest_candidates(REGION, 24.9414, 60.171, None, 5)) == 5
    result = Atlas(store, standard).catchment(24.9414, 60.171, region=REGION)
    assert len(result.facilities) > 10


def _mid_load_hook(store: Store) -> tuple[Any, str]:
    """Where each store is half-way through a load: the new version written, not yet live."""
    if isinstance(store, FileStore):
        return livingcircle.data.embedded, "_write_json"
    return livingcircle.data.postgis, "_replace_network"


def test_injected_failure_half_way_keeps_the_previous_version(
    store: Store, sample_data: RegionData, standard: Standard, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save_region(sample_data)
    before = store.load_region(REGION)
    if isinstance(store, FileStore):

        def disk_full(*args: Any) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(livingcircle.data.embedded, "_write_json", disk_full)
    else:
        original = livingcircle.data.postgis.copy_rows

        def connection_lost(conn: Any, table: str, *args: Any) -> None:
            if table == "walk_edges":  # facilities merged, network half replaced
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            original(conn, table, *args)

        monkeypatch.setattr(livingcircle.data.postgis, "copy_rows", connection_lost)
    with pytest.raises(StoreError) as caught:
        store.save_region(changed(sample_data, 3))
    if not isinstance(store, FileStore):
        assert isinstance(caught.value, DatabaseUnavailable)
    monkeypatch.undo()
    assert_same_region(store.load_region(REGION), before)
    assert_answers(store, standard)


def test_killed_load_keeps_the_previous_version(
    store_kind: str,
    open_store: tuple[str, Callable[[], Store]],
    sample_data: RegionData,
    standard: Standard,
    tmp_path: Path,
) -> None:
    where, reopen = open_store
    store = reopen()
    store.save_region(sample_data)
    before = store.load_region(REGION)
    pickled = tmp_path / "region.pickle"
    pickled.write_bytes(pickle.dumps(changed(sample_data, 5)))
    with subprocess.Popen(
        [sys.executable, str(SLOW_LOAD), store_kind, where, str(pickled)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as loader:
        try:
            line = loader.stdout.readline() if loader.stdout else ""
            assert line.strip() == "HALFWAY", loader.stderr.read() if loader.stderr else line
            assert_same_region(store.load_region(REGION), before)  # readers see the old one
        finally:
            loader.kill()
            loader.wait(30)
    assert loader.returncode == -9
    assert_same_region(store.load_region(REGION), before)
    assert_answers(store, standard)
    _retry_busy(lambda: store.save_region(changed(sample_data, 7)))  # the lock went with it
    assert store.load_region(REGION).info.source == "changed"


def _retry_busy(load: Callable[[], None], seconds: float = 10) -> None:
    """The server may take a moment to notice a killed client and release its lock."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            load()
            return
        except RegionBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_concurrent_loads_of_one_region_never_mix(
    store: Store, sample_data: RegionData, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save_region(sample_data)
    first, second = changed(sample_data, 1), changed(sample_data, 2)
    module, name = _mid_load_hook(store)
    original = getattr(module, name)
    reached, release = threading.Event(), threading.Event()

    def paused(*args: Any, **kwargs: Any) -> Any:
        done = original(*args, **kwargs)
        if threading.current_thread().name == "first-load":
            reached.set()
            release.wait(60)
        return done

    monkeypatch.setattr(module, name, paused)
    failures: list[BaseException] = []

    def load_first() -> None:
        try:
            store.save_region(first)
        except BaseException as exc:  # handed to the test thread
            failures.append(exc)

    loader = threading.Thread(target=load_first, name="first-load")
    loader.start()
    try:
        assert reached.wait(60)
        with pytest.raises(RegionBusy, match="being loaded"):
            store.save_region(second)
        assert_same_region(store.load_region(REGION), sample_data_as_stored(store, sample_data))
    finally:
        release.set()
        loader.join(60)
    assert not failures
    after = store.load_region(REGION)
    assert after.info == first.info
    assert set(after.facilities["id"]) == set(first.facilities["id"])


def sample_data_as_stored(store: Store, data: RegionData) -> RegionData:
    """``data`` as the store gives it back (rows in key order)."""
    facilities = data.facilities.sort_values("id", kind="stable").reset_index(drop=True)
    return RegionData(data.info, data.nodes, data.edges, facilities)
