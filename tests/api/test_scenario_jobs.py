"""Scenario jobs over the real server: submit a what-if, poll, download its layers."""

from __future__ import annotations

import io

import geopandas as gpd
import httpx
import pandas as pd

from livingcircle.data.sample import SAMPLE_REGION
from tests.api.test_jobs import Served, homes, served, wait_done  # noqa: F401  (the server)

BASE = f"/v1/regions/{SAMPLE_REGION}/scenarios"
CLINIC = {
    "name": "Harbour clinic",
    "add_facility": [
        {"category": "clinic", "name": "Harbour clinic", "lon": 24.9500, "lat": 60.1651}
    ],
}


def test_a_planner_runs_a_scenario_and_downloads_its_layers(served: Served) -> None:  # noqa: F811
    base, folder, keys = served
    body = {"scenario": CLINIC, "k": 3, "homes": homes(folder)}
    auth = {"X-API-Key": keys["planner"]}
    with httpx.Client(base_url=base, timeout=30) as http:
        started = http.post(BASE, json=body, headers=auth)
        assert started.status_code == 202, started.text
        job = started.json()
        assert started.headers["location"] == f"{BASE}/{job['id']}"
        done = wait_done(http, started.headers["location"], keys["planner"])
        assert done["state"] == "done" and done["error"] is None, done
        summary = done["summary"]
        assert summary["scenario"] == "Harbour clinic" and summary["facilities_opened"] == 1
        clinic = summary["categories"]["clinic"]
        assert clinic["covered_after"] >= clinic["covered_before"]
        assert set(summary["tiers"]) == {"5", "10", "15"}
        again = http.post(
            BASE, json={**body, "scenario": dict(reversed(CLINIC.items()))}, headers=auth
        )
        assert again.status_code == 200 and again.json()["id"] == job["id"]  # one computation
        links = done["links"]["layers"]
        assert set(links) == {"summary", "tiers", "changes", "facilities", "streets"}
        changes = http.get(links["changes"], headers=auth)
        assert changes.headers["content-type"] == "application/geo+json"
        rows = [f["properties"] for f in changes.json()["features"]]
        assert rows and all(
            r["category"] == "clinic" and r["status"] in ("nearer", "newly reachable") for r in rows
        )
        assert len(rows) == sum(c["homes_changed"] for c in summary["categories"].values())
        facilities = http.get(
            f"{started.headers['location']}/layers/facilities",
            params={"format": "parquet"},
            headers=auth,
        )
        opened = gpd.read_parquet(io.BytesIO(facilities.content))
        assert opened["change"].tolist() == ["add"] and opened.crs.to_epsg() == 4326
        table = http.get(
            f"{started.headers['location']}/layers/summary",
            params={"format": "parquet"},
            headers=auth,
        )
        assert pd.read_parquet(io.BytesIO(table.content))["category"].tolist() == ["clinic"]
        streets = http.get(links["streets"], headers=auth).json()
        assert streets["features"] == []
        wrong_kind = http.get(f"/v1/regions/{SAMPLE_REGION}/analyses/{job['id']}", headers=auth)
        assert wrong_kind.status_code == 404 and "/scenarios/" in wrong_kind.json()["detail"]


def test_a_bad_scenario_is_refused_or_fails_with_its_error(served: Served) -> None:  # noqa: F811
    base, folder, keys = served
    auth = {"X-API-Key": keys["planner"]}
    bad = {
        "close_facility": [{"id": "osm:node/1"}],
        "add_link": [{"from": [24.9414, 60.1712], "to": [24.9440, 60.1716], "max_snap_m": 0.01}],
    }
    with httpx.Client(base_url=base, timeout=30) as http:
        refused = http.post(BASE, json={"scenario": bad}, headers=auth)
        assert refused.status_code == 422, refused.text
        detail = refused.json()["detail"]
        assert "no facility 'osm:node/1'" in detail and "from the nearest street" in detail
        misspelt = http.post(BASE, json={"scenario": {"add_facilty": []}}, headers=auth)
        assert (
            misspelt.status_code == 422
            and "allowed: name, add_facility" in misspelt.json()["detail"]
        )
        unpopulated = {"scenario": CLINIC, "homes": homes(folder, 10, population=False)}
        started = http.post(BASE, json=unpopulated, headers=auth)
        assert started.status_code == 202, started.text
        failed = wait_done(http, started.headers["location"], keys["planner"])
        assert failed["state"] == "failed" and "population" in failed["error"]
        assert failed["inputs"]["scenario"] == CLINIC


def test_a_department_key_is_refused(served: Served) -> None:  # noqa: F811
    base, _, keys = served
    with httpx.Client(base_url=base, timeout=30) as http:
        assert http.post(BASE, json={"scenario": CLINIC}).status_code == 401
        department = http.post(
            BASE, json={"scenario": CLINIC}, headers={"X-API-Key": keys["department"]}
        )
        assert department.status_code == 403
        assert "needs a planner or admin key" in department.json()["detail"]
        read = http.get(f"{BASE}/{'0' * 24}", headers={"X-API-Key": keys["department"]})
        assert read.status_code == 403
