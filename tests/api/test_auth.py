"""Keys over the real server: roles, expiry, revocation, one cost for unknown ids, 429s.

Two servers over copies of the sample: one with the failure limits out of the way (timing,
roles, revocation), one with small limits (429 with Retry-After).
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from livingcircle.data.embedded import FileStore
from livingcircle.geo.keys import new_key
from tests.api.test_server import start_server, wait_ready

pytestmark = pytest.mark.slow
URL = "/v1/regions/helsinki/facilities"
OSM_ID = "osm:node/25502063"
Served = tuple[httpx.Client, Path, dict[str, str]]


def _keys(folder: Path) -> dict[str, str]:
    store = FileStore(folder)
    tokens = {}
    for name, owner, role in [
        ("admin", "ops", "admin"),
        ("department", "health-bureau", "department"),
        ("planner", "planning", "planner"),
        ("expired", "parks", "department"),
        ("revoked", "police", "department"),
    ]:
        token, record = new_key(owner, role)
        if name == "expired":
            record = replace(record, expires_at=datetime.now(UTC) - timedelta(days=1))
        store.add_api_key(record)
        tokens[name] = token
    store.revoke_api_key(tokens["revoked"].split("_")[1])
    return tokens


@pytest.fixture(scope="module")
def sample_copy(tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("auth")
    shutil.copytree(sample_store_dir, folder, dirs_exist_ok=True)
    return folder


@contextmanager
def _serve(folder: Path, **env: str) -> Iterator[httpx.Client]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        process, port = start_server(folder)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, base)
        with httpx.Client(base_url=base, timeout=60) as http:
            yield http
    finally:
        process.terminate()
        process.communicate(timeout=30)  # closes its output pipe


@pytest.fixture(scope="module")
def served(sample_copy: Path) -> Iterator[Served]:
    tokens = _keys(sample_copy)
    limits = {"LC_AUTH_FAIL_LIMIT": "100000", "LC_AUTH_FAIL_KEY_LIMIT": "100000"}
    with _serve(sample_copy, **limits) as http:
        yield http, sample_copy, tokens


def _as(token: str) -> dict[str, str]:
    return {"X-API-Key": token}


def _detail(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["detail"])


def test_an_unknown_id_takes_as_long_as_a_wrong_secret(served: Served) -> None:
    http, _, tokens = served
    known = tokens["department"]
    wrong = known[:-4] + ("AAAA" if not known.endswith("AAAA") else "BBBB")
    unknown = "lc_" + ("f" * 12 if known[3:15] != "f" * 12 else "e" * 12) + known[15:]

    def cost(token: str) -> float:
        start = time.perf_counter()
        response = http.delete(f"{URL}/{OSM_ID}", headers=_as(token))
        elapsed = time.perf_counter() - start
        assert "not valid" in _detail(response, 403)
        return elapsed

    cost(wrong), cost(unknown)  # warm both paths
    runs = [(cost(wrong), cost(unknown)) for _ in range(15)]  # interleaved: load hits both
    wrong_s = statistics.median(w for w, _ in runs)
    unknown_s = statistics.median(u for _, u in runs)
    assert wrong_s > 0.01, "scrypt seems not to run"
    assert 0.5 < unknown_s / wrong_s < 2.0, f"unknown {unknown_s:.4f} s, wrong {wrong_s:.4f} s"


def test_a_department_cannot_edit_osm_an_admin_can_and_the_source_stays(served: Served) -> None:
    http, _, tokens = served
    feature = http.get(f"{URL}/{OSM_ID}").json()  # reads need no key
    props = feature["properties"]
    body = {
        "type": "Feature",
        "geometry": feature["geometry"],
        "properties": {"category": props["category"], "name": "Corrected by ops", "tags": {}},
    }
    refused = http.put(f"{URL}/{OSM_ID}", json=body, headers=_as(tokens["department"]))
    assert "'osm'" in _detail(refused, 403)
    changed = http.put(f"{URL}/{OSM_ID}", json=body, headers=_as(tokens["admin"]))
    assert changed.status_code == 200, changed.text
    after = http.get(f"{URL}/{OSM_ID}").json()["properties"]
    assert after["name"] == "Corrected by ops" and after["source"] == "osm"


def test_a_planner_reads_but_does_not_edit(served: Served) -> None:
    http, _, tokens = served
    assert http.get(URL, params={"limit": 5}).status_code == 200
    new = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [24.9414, 60.1712]},
        "properties": {"source_id": "p-1", "category": "clinic", "name": "x"},
    }
    refused = http.post(URL, json=new, headers=_as(tokens["planner"]))
    assert "needs a department or admin key" in _detail(refused, 403)
    made = http.post(URL, json=new, headers=_as(tokens["department"]))
    assert made.status_code == 201, made.text


def test_expired_and_revoked_keys_are_refused_saying_so(served: Served) -> None:
    http, folder, tokens = served
    target = f"{URL}/{OSM_ID}"
    assert "expired on" in _detail(http.delete(target, headers=_as(tokens["expired"])), 403)
    assert "revoked on" in _detail(http.delete(target, headers=_as(tokens["revoked"])), 403)

    token, record = new_key("libraries")
    FileStore(folder).add_api_key(record)
    own = f"{URL}/libraries:none"
    assert http.delete(own, headers=_as(token)).status_code == 404  # verified, now cached
    assert http.delete(own, headers=_as(token)).status_code == 404
    used = next(k for k in FileStore(folder).api_keys() if k.key_id == record.key_id)
    assert used.last_used_at is not None  # written once, not once per request
    FileStore(folder).revoke_api_key(record.key_id)  # by another process: the CLI
    assert "revoked on" in _detail(http.delete(own, headers=_as(token)), 403)  # at once


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("auth-strict")
    shutil.copytree(sample_store_dir, folder, dirs_exist_ok=True)
    tokens = _keys(folder)
    limits = {"LC_AUTH_FAIL_LIMIT": "4", "LC_AUTH_FAIL_KEY_LIMIT": "2"}
    with _serve(folder, **limits) as http:
        yield http, folder, tokens


def test_too_many_failures_get_429_with_retry_after(strict: Served) -> None:
    http, _, tokens = strict
    good = tokens["department"]
    own = f"{URL}/health-bureau:none"
    assert http.delete(own, headers=_as(good)).status_code == 404  # verified before the flood
    target = f"{URL}/{OSM_ID}"
    wrong = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for _ in range(2):
        assert http.delete(target, headers=_as(wrong)).status_code == 403
    by_key = http.delete(target, headers=_as(wrong))
    assert f"for key id {good[3:15]}" in _detail(by_key, 429)
    assert 1 <= int(by_key.headers["Retry-After"]) <= 60
    other = "lc_" + "0" * 12 + good[15:]
    assert http.delete(target, headers=_as(other)).status_code == 403  # another id: 3rd failure
    assert http.delete(target, headers=_as("junk")).status_code == 403  # 4th: malformed counts
    by_address = http.delete(target, headers=_as(other))
    assert "too many failed API key checks from" in _detail(by_address, 429)
    assert int(by_address.headers["Retry-After"]) >= 1
    assert http.delete(own, headers=_as(good)).status_code == 404  # a verified key still works
    assert http.get(URL, params={"limit": 1}).status_code == 200  # reads never count
