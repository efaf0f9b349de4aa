"""Planner jobs over the real server: keys made by the CLI, submit, poll, download, disconnect."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import pytest

from livingcircle.data.embedded import FileStore
from livingcircle.data.sample import SAMPLE_REGION
from tests.api.test_server import start_server

BASE = f"/v1/regions/{SAMPLE_REGION}/analyses"
Served = tuple[str, Path, dict[str, str]]


def make_key(folder: Path, owner: str, *role: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "livingcircle",
            "keys",
            "add",
            "--owner",
            owner,
            *role,
            "--data-dir",
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path
) -> Iterator[tuple[str, Path, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("jobs-served")
    shutil.copytree(sample_store_dir, folder, dirs_exist_ok=True)
    keys = {
        "planner": make_key(folder, "planning", "--role", "planner"),
        "department": make_key(folder, "health-bureau"),
    }
    process, port = start_server(folder)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"server did not start: {process.communicate()[0]}")
            time.sleep(0.2)
        yield base, folder, keys
    finally:
        process.terminate()
        output = process.communicate(timeout=120)[0]
    assert "Traceback" not in output, output


def homes(folder: Path, n: int = 60, population: bool = True) -> dict[str, Any]:
    nodes = FileStore(folder).load_region(SAMPLE_REGION).nodes.iloc[::37].head(n)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                "properties": {"population": 10 + i % 7} if population else {"name": f"h{i}"},
            }
            for i, (lon, lat) in enumerate(zip(nodes["lon"], nodes["lat"], strict=True))
        ],
    }


def wait_done(http: httpx.Client, path: str, key: str, timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job = http.get(path, headers={"X-API-Key": key}).json()
        if job["state"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


def test_a_planner_runs_an_analysis_and_downloads_its_layers(served: Served) -> None:
    base, folder, keys = served
    body = {"categories": ["clinic", "pharmacy"], "sites": 2, "k": 3, "homes": homes(folder)}
    with httpx.Client(base_url=base, timeout=30) as http:
        started = http.post(BASE, json=body, headers={"X-API-Key": keys["planner"]})
        assert started.status_code == 202, started.text
        job = started.json()
        assert started.headers["location"] == f"{BASE}/{job['id']}"
        done = wait_done(http, started.headers["location"], keys["planner"])
        assert done["state"] == "done", done
        assert done["progress"]["stage"] == "done" and done["error"] is None
        summary = done["summary"]
        assert summary["homes"] > 0 and set(summary["coverage"]) >= {"clinic", "pharmacy"}
        share = summary["coverage"]["pharmacy"]["covered_share"]
        assert 0 <= share <= 1 and round(share, 3) == share
        again = http.post(BASE, json=body, headers={"X-API-Key": keys["planner"]})
        assert again.status_code == 200 and again.json()["id"] == job["id"]  # one computation
        links = done["links"]["layers"]
        assert set(links) == {"points", "gaps", "sites", "coverage", "tiers"}
        points = http.get(links["points"], headers={"X-API-Key": keys["planner"]})
        assert points.headers["content-type"] == "application/geo+json"
        features = points.json()["features"]
        assert len(features) == summary["homes"] and features[0]["geometry"]["type"] == "Point"
        parquet = http.get(
            f"{started.headers['location']}/layers/sites",
            params={"format": "parquet"},
            headers={"X-API-Key": keys["planner"]},
        )
        assert parquet.status_code == 200
        sites = gpd.read_parquet(io.BytesIO(parquet.content))
        assert len(sites) == summary["sites"] and sites.crs.to_epsg() == 4326
        table = http.get(links["coverage"], headers={"X-API-Key": keys["planner"]}).json()
        assert {f["properties"]["category"] for f in table["features"]} >= {"clinic"}


def test_keys_without_the_planner_role_are_refused(served: Served) -> None:
    base, _, keys = served
    with httpx.Client(base_url=base, timeout=30) as http:
        assert http.post(BASE, json={}).status_code == 401
        wrong = http.post(BASE, json={}, headers={"X-API-Key": "lc_000000000000_" + "x" * 43})
        assert wrong.status_code == 403
        department = http.post(BASE, json={}, headers={"X-API-Key": keys["department"]})
        assert department.status_code == 403
        assert "needs a planner or admin key" in department.json()["detail"]
        read = http.get(f"{BASE}/{'0' * 24}", headers={"X-API-Key": keys["department"]})
        assert read.status_code == 403
        missing = http.get(f"{BASE}/{'0' * 24}", headers={"X-API-Key": keys["planner"]})
        assert missing.status_code == 404
        unknown = http.post(
            BASE, json={"categories": ["spaceport"]}, headers={"X-API-Key": keys["planner"]}
        )
        assert unknown.status_code == 422 and "clinic" in unknown.json()["detail"]


def test_a_job_finishes_after_its_client_disconnects(served: Served) -> None:
    base, folder, keys = served
    body = json.dumps(
        {"categories": ["school"], "sites": 1, "k": 2, "homes": homes(folder, 40)}
    ).encode()
    host, port = base.removeprefix("http://").split(":")
    before = kept_jobs(folder)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST {BASE} HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {keys['planner']}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
            f"{len(body)}\r\n\r\n".encode()
            + body
        )
    # gone before reading a byte of the answer; the job is in the store all the same
    deadline = time.monotonic() + 30
    while not (made := kept_jobs(folder) - before):
        assert time.monotonic() < deadline, "no job was made"
        time.sleep(0.2)
    (job_id,) = made
    with httpx.Client(base_url=base, timeout=30) as http:
        job = wait_done(http, f"{BASE}/{job_id}", keys["planner"])
    assert job["state"] == "done" and job["inputs"]["categories"] == ["school"], job


def kept_jobs(folder: Path) -> set[str]:
    return {p.parent.name for p in (folder / "jobs").glob("*/job.json")}


def test_a_failed_job_keeps_its_error_and_inputs(served: Served) -> None:
    base, folder, keys = served
    body = {"categories": ["clinic"], "homes": homes(folder, 10, population=False)}
    with httpx.Client(base_url=base, timeout=30) as http:
        started = http.post(BASE, json=body, headers={"X-API-Key": keys["planner"]})
        assert started.status_code == 202, started.text
        failed = wait_done(http, started.headers["location"], keys["planner"])
        assert failed["state"] == "failed" and "population" in failed["error"]
        assert failed["inputs"]["homes"] == body["homes"]
        layer = http.get(
            f"{started.headers['location']}/layers/points", headers={"X-API-Key": keys["planner"]}
        )
        assert layer.status_code == 404


def test_an_analysis_at_step_free_judges_the_homes_on_the_step_free_network(
    served: Served,
) -> None:
    base, folder, keys = served
    given = homes(folder, n=20)
    planner = {"X-API-Key": keys["planner"]}
    minutes = {}
    with httpx.Client(base_url=base, timeout=30) as http:
        for profile in ("standard", "step-free"):
            body = {"categories": ["clinic"], "sites": 0, "homes": given, "profile": profile}
            started = http.post(BASE, json=body, headers=planner)
            assert started.status_code == 202, started.text
            done = wait_done(http, started.headers["location"], keys["planner"])
            assert done["state"] == "done", done
            points = http.get(done["links"]["layers"]["points"], headers=planner).json()
            minutes[profile] = [f["properties"]["clinic_min"] for f in points["features"]]
        first = given["features"][0]["geometry"]["coordinates"]
        near = http.get(
            "/v1/nearest",
            params={"lon": first[0], "lat": first[1], "category": "clinic", "profile": "step-free"},
        ).json()
    hits = [f["properties"] for f in near["features"] if f["properties"]["kind"] == "facility"]
    assert minutes["step-free"][0] * 60 == pytest.approx(hits[0]["time_s"], abs=0.01)
    slower = sorted(minutes["step-free"])[len(minutes["step-free"]) // 2]
    assert slower > sorted(minutes["standard"])[len(minutes["standard"]) // 2]
