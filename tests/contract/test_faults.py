"""Failed, killed and concurrent loads leave the previous version of a region whole.

Every test runs against each store; the stores differ only in where the failure is injected.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from geopandas.testing import assert_geodataframe_equal

import livingcircle.data.embedded
import livingcircle.data.pg.store
import livingcircle.data.pg.writes
from livingcircle.data.embedded import FileStore
from livingcircle.data.load import load_osm
from livingcircle.data.osm_file import Extract
from livingcircle.data.pg_timeouts import GRACE_S
from livingcircle.data.postgis import LOAD_LOCK, PostgisStore, dispose_engines, upgrade
from livingcircle.data.sample import sample_department
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import DatabaseUnavailable, RegionBusy, StoreError
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import FacilityQuery, RegionData, Store
from tests.api.test_server import free_port, start_server, wait_ready
from tests.contract._own_cluster import DATABASE, PASSWORD, USER, OwnCluster
from tests.contract._own_cluster import available as own_cluster_available
from tests.contract.conftest import postgis_required, region_data

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
    assert len(store.facilities(REGION, FacilityQuery(limit=5))) == 5
    result = Atlas(store, standard).catchment(24.9414, 60.171, region=REGION)
    assert len(result.facilities) > 10


def _mid_load_hook(store: Store) -> tuple[Any, str]:
    """Where each store is half-way through a load: the new version written, not yet live."""
    if isinstance(store, FileStore):
        return livingcircle.data.embedded, "write_json"
    return livingcircle.data.pg.store, "_replace_network"


def test_injected_failure_half_way_keeps_the_previous_version(
    store: Store, sample_data: RegionData, standard: Standard, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save_region(sample_data)
    before = store.load_region(REGION)
    if isinstance(store, FileStore):

        def disk_full(*args: Any) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(livingcircle.data.embedded, "write_json", disk_full)
    else:
        original = livingcircle.data.pg.writes.copy_rows

        def connection_lost(conn: Any, table: str, *args: Any) -> None:
            if table == "walk_edges":  # facilities merged, network half replaced
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            original(conn, table, *args)

        monkeypatch.setattr(livingcircle.data.pg.writes, "copy_rows", connection_lost)
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


# -- refused loads fail first, killed loads leave nothing behind --------------------------------


def _hold_lock(store: Store) -> Callable[[], None]:
    """Take the region's load lock as another process would; returns its release."""
    if isinstance(store, FileStore):
        (store.root / "regions").mkdir(parents=True, exist_ok=True)
        handle = open(store.root / "regions" / f"{REGION}.lock", "a+b")
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle.close
    assert isinstance(store, PostgisStore)
    conn = psycopg.connect(store.url.set(drivername="postgresql").render_as_string(False))
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOAD_LOCK, REGION])
    return conn.close


def test_refused_load_fails_before_reading_the_file(
    store: Store, sample_data: RegionData, standard: Standard, tmp_path: Path
) -> None:
    store.save_region(sample_data)
    release = _hold_lock(store)
    try:
        started = time.monotonic()
        with pytest.raises(RegionBusy, match="being loaded"):  # not: the file does not exist
            load_osm(store, tmp_path / "never-read.osm.pbf", REGION, standard)
        assert time.monotonic() - started < 5
    finally:
        release()


def test_leftover_versions_are_removed_at_open_unless_a_load_holds_the_lock(
    sample_data: RegionData, tmp_path: Path
) -> None:
    store = FileStore(tmp_path)
    store.save_region(sample_data)
    folder = tmp_path / "regions" / REGION
    live = (folder / "CURRENT").read_text().strip()
    for left in ("v-1-1", "v-2-2"):  # what kill -9 of a load leaves
        (folder / left).mkdir()
        (folder / left / "nodes.parquet").write_bytes(b"half")
    release = _hold_lock(store)  # a load is writing: its folder must stay
    try:
        FileStore(tmp_path)
        assert (folder / "v-1-1").is_dir()
    finally:
        release()
    FileStore(tmp_path)
    assert sorted(p.name for p in folder.glob("v-*")) == [live]
    assert_same_region(
        FileStore(tmp_path).load_region(REGION), sample_data_as_stored(store, sample_data)
    )


def _answers(store: Store, standard: Standard) -> tuple[list[str], list[str]]:
    """What the region answers at the sample point: nearest ids, catchment facility ids."""
    near = store.facilities(REGION, FacilityQuery((24.94, 60.169, 24.943, 60.172)))
    result = Atlas(store, standard).catchment(24.9414, 60.171, region=REGION)
    return sorted(near["id"]), sorted(result.facilities.id)


def _cli(*args: str, where: tuple[str, str]) -> subprocess.Popen[str]:
    option, value = where
    return subprocess.Popen(
        [sys.executable, "-m", "livingcircle", *args, option, value, "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _killed_at(process: subprocess.Popen[str], at_s: float) -> bool:
    """Kill -9 ``process`` ``at_s`` seconds after its start; False if it had finished."""
    with process:
        try:
            process.wait(at_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=30)
            return True
        errors = process.communicate()[1]
    assert process.returncode == 0, errors
    return False


@pytest.mark.slow
def test_kill_9_of_load_and_import_at_random_points_keeps_a_whole_version(
    store_kind: str,
    open_store: tuple[str, Callable[[], Store]],
    sample_path: Path,
    standard: Standard,
    tmp_path: Path,
) -> None:
    """Seeded kill points over a CLI load's and import's run; each leaves one whole version."""
    where, reopen = open_store
    target = ("--data-dir", where) if store_kind == "file" else ("--database", where)
    store = reopen()
    load_osm(store, sample_path, REGION, standard)
    before = _answers(store, standard)
    rows, mapping = sample_department(Atlas(store, standard).region(REGION))
    (tmp_path / "list.csv").write_text(rows.to_csv(index=False), encoding="utf-8")
    (tmp_path / "list.toml").write_text(mapping, encoding="utf-8")
    imported = ("import", str(tmp_path / "list.csv"), "-m", str(tmp_path / "list.toml"))
    report = tmp_path / "rejected.csv"
    rng = random.Random(15)
    seen = []
    for _ in range(2):  # the same file again: the answers stay whatever the kill point
        at = rng.uniform(1.0, 9.0)
        _killed_at(_cli("load", str(sample_path), "-r", REGION, where=target), at)
        assert _answers(reopen(), standard) == before, f"load killed at {at:.2f} s"
    listed = sorted(store.facilities(REGION, FacilityQuery(limit=10_000))["id"])
    for _ in range(2):
        at = rng.uniform(1.0, 9.0)
        _killed_at(_cli(*imported, "-r", REGION, "--report", str(report), where=target), at)
        seen.append((at, sorted(reopen().facilities(REGION, FacilityQuery(limit=10_000))["id"])))
    assert not _killed_at(_cli(*imported, "-r", REGION, "--report", str(report), where=target), 180)
    merged = sorted(reopen().facilities(REGION, FacilityQuery(limit=10_000))["id"])
    assert merged != listed  # the list adds facilities
    for at, ids in seen:  # each kill left the list wholly in or wholly out
        assert ids in (listed, merged), f"import killed at {at:.2f} s"
    assert _answers(reopen(), standard)[0]  # and the region still answers
    if store_kind == "file":
        assert len(list((Path(where) / "regions" / REGION).glob("v-*"))) == 1


# -- the real server over a database of its own: frozen, stopped, back ---------------------------

STATEMENT_S = 2.0  # LC_DB_STATEMENT_TIMEOUT_S of the served app
LAT, LON = 60.171, 24.9414


@pytest.fixture(scope="module")
def own_cluster(sample_extract: Extract) -> Iterator[OwnCluster]:
    """A PostgreSQL cluster of these tests' own, with the sample loaded."""
    if not own_cluster_available():
        if postgis_required():
            pytest.fail("initdb/pg_ctl not found (LC_REQUIRE_POSTGIS=1)", pytrace=False)
        pytest.skip("initdb/pg_ctl not found: no cluster of our own to freeze")
    cluster = OwnCluster(Path(tempfile.mkdtemp(prefix="lc-own-pg-")))
    try:
        cluster.create()
        upgrade(cluster.url)
        PostgisStore(cluster.url).save_region(region_data(sample_extract))
        yield cluster
    finally:
        dispose_engines()
        cluster.destroy()


@pytest.fixture(scope="module")
def pg_server(own_cluster: OwnCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``livingcircle serve`` over the own cluster, with a 2 s statement timeout."""
    folder = tmp_path_factory.mktemp("pg-served")
    port = free_port()
    env = {
        **os.environ,
        "LC_DATABASE_URL": own_cluster.url,
        "LC_DATA_DIR": str(folder),
        "LC_DB_STATEMENT_TIMEOUT_S": str(STATEMENT_S),
        "LC_DB_CONNECT_TIMEOUT_S": "2",
        "LC_REFRESH_SECONDS": "1",
    }
    with open(folder / "server.log", "w") as log:  # a pipe nobody reads would fill up
        process = subprocess.Popen(
            [sys.executable, "-m", "livingcircle", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--no-access-log"],
            env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, base, 120)
        yield base
    finally:
        own_cluster.thaw()
        process.terminate()
        process.wait(60)
    assert "Traceback" not in (folder / "server.log").read_text()


def _no_connection_details(body: str, cluster: OwnCluster) -> None:
    for secret in (USER, DATABASE, PASSWORD, "127.0.0.1", str(cluster.port)):
        assert secret not in body, (secret, body)


def _wait_ready_again(http: httpx.Client, within_s: float = 30) -> None:
    deadline = time.monotonic() + within_s
    while http.get("/ready").json().get("status") != "ready":
        assert time.monotonic() < deadline, "the server did not see the database come back"
        time.sleep(0.3)


def _from_memory(http: httpx.Client) -> None:
    """Nearest answers from the engine in memory, marked with the store's state and data age."""
    near = http.get("/v1/nearest", params={"lat": LAT, "lon": LON, "category": "pharmacy"})
    assert near.status_code == 200, near.text
    assert near.headers["x-store-status"] == "unavailable"
    assert int(near.headers["x-data-age"]) >= 0
    ready = http.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.text
    assert ready.json()["regions"] == [REGION]


@pytest.mark.postgis
@pytest.mark.slow
def test_stopped_database_then_recovery_without_a_server_restart(
    pg_server: str, own_cluster: OwnCluster
) -> None:
    with httpx.Client(base_url=pg_server, timeout=30) as http:
        assert http.get("/v1/regions").status_code == 200
        own_cluster.stop()
        try:
            gone = http.get("/v1/regions")
            assert gone.status_code == 503, gone.text
            assert gone.headers["content-type"] == "application/problem+json"
            assert "not answering" in gone.json()["detail"]
            _no_connection_details(gone.text, own_cluster)
            _from_memory(http)
            _no_connection_details(http.get("/ready").text, own_cluster)
        finally:
            own_cluster.start()
        _wait_ready_again(http)
        assert http.get("/v1/regions").status_code == 200
        near = http.get("/v1/nearest", params={"lat": LAT, "lon": LON})
        assert near.status_code == 200 and "x-store-status" not in near.headers


@pytest.mark.postgis
@pytest.mark.slow
def test_frozen_database_gives_503_within_the_timeout(
    pg_server: str, own_cluster: OwnCluster
) -> None:
    with httpx.Client(base_url=pg_server, timeout=60) as http:
        assert http.get("/v1/regions").status_code == 200  # a pooled connection, then frozen
        own_cluster.freeze()
        try:
            for path in ("/v1/regions", f"/v1/regions/{REGION}/facilities"):
                started = time.monotonic()
                frozen = http.get(path)
                took = time.monotonic() - started
                assert frozen.status_code == 503, frozen.text
                assert took < STATEMENT_S + GRACE_S + 4, took
                assert "not answering" in frozen.json()["detail"]
                _no_connection_details(frozen.text, own_cluster)
            _from_memory(http)
        finally:
            own_cluster.thaw()
        _wait_ready_again(http)
        assert http.get("/v1/regions").status_code == 200


# -- a client that never finishes its body ------------------------------------------------------


def _read_response(sock: socket.socket, within_s: float) -> tuple[bytes, float]:
    """Everything until the server closes the connection, and when its first byte came."""
    sock.settimeout(within_s)
    data, first = b"", 0.0
    while True:
        chunk = sock.recv(65536)
        if not chunk:  # the server closed the connection
            return data, first
        first = first or time.monotonic()
        data += chunk


@pytest.fixture(scope="module")
def body_server(tmp_path_factory: pytest.TempPathFactory, sample_data: RegionData) -> Iterator[int]:
    """A served sample with a 2 s body timeout; its port."""
    folder = tmp_path_factory.mktemp("slow-body")
    FileStore(folder).save_region(sample_data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LC_BODY_TIMEOUT_S", "2")
        process, port = start_server(folder)
    try:
        wait_ready(process, f"http://127.0.0.1:{port}", 120)
        yield port
    finally:
        process.terminate()
        process.communicate(timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_stalled_body_is_cut_off_with_408(framing: str, body_server: int) -> None:
    length = b"Transfer-Encoding: chunked" if framing == "chunked" else b"Content-Length: 900"
    with socket.create_connection(("127.0.0.1", body_server)) as sock:
        sock.sendall(
            b"POST /v1/regions/helsinki/facilities HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nX-API-Key: k\r\n" + length + b"\r\n\r\n"
        )
        sock.sendall(b'8\r\n{"type":\r\n' if framing == "chunked" else b'{"type":')
        started = time.monotonic()
        answer, first = _read_response(sock, 15)  # the server closes the connection too
        took = first - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert b"application/problem+json" in head
    assert b"did not arrive within 2 s" in body
    assert 1.5 < took < 6, took


def test_a_read_racing_an_edit_reads_the_new_version(
    sample_data: RegionData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load or edit that removes the version a reader is half-way through: it reads again.

    Found by bench/soak.py: a worker starting during edits failed with 'cannot be read'.
    """
    store = FileStore(tmp_path)
    store.save_region(sample_data)
    newer = changed(sample_data, 2)
    original = livingcircle.data.embedded.gpd.read_parquet
    raced: list[Path] = []

    def racing(path: Path, *args: Any, **kwargs: Any) -> Any:
        if path.name == "facilities.parquet" and not raced:
            raced.append(path)
            FileStore(tmp_path).save_region(newer)  # another process; removes this version
        return original(path, *args, **kwargs)

    monkeypatch.setattr(livingcircle.data.embedded.gpd, "read_parquet", racing)
    assert store.load_region(REGION).info == newer.info
    assert raced and not raced[0].exists()
