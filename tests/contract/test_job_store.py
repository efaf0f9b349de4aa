"""The job store and key roles on both stores: same answers, same errors."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import geopandas as gpd
import pytest
from shapely import Point

from livingcircle.geo.errors import InvalidParameter, JobNotFound
from livingcircle.geo.jobs import Job, JobStore, job_id
from livingcircle.geo.keys import new_key
from livingcircle.geo.store import Store

AT = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)


def _job(inputs: dict[str, object]) -> Job:
    return Job(
        job_id("analysis", "helsinki", AT, inputs),
        "analysis",
        "helsinki",
        "planning",
        "queued",
        inputs,
        AT,
        AT,
        {"stage": "queued", "done": 0, "total": 1},
    )


def _parquet() -> bytes:
    buffer = io.BytesIO()
    gpd.GeoDataFrame({"v": [1.5]}, geometry=[Point(24.9, 60.1)], crs="EPSG:4326").to_parquet(buffer)
    return buffer.getvalue()


def test_same_inputs_same_job(store: Store) -> None:
    assert isinstance(store, JobStore)
    first = _job({"k": 3, "categories": ["clinic"], "name": "诊所"})
    kept, new = store.create_job(first)
    assert new and kept == first
    again, new = store.create_job(replace(first, owner="someone-else"))
    assert not new and again == first  # the first job, not a second computation
    other, new = store.create_job(_job({"k": 4}))
    assert new and other.id != first.id


def test_a_job_moves_on_and_keeps_its_layers(store: Store) -> None:
    assert isinstance(store, JobStore)
    job, _ = store.create_job(_job({"k": 3}))
    later = datetime(2027, 1, 2, 3, 5, tzinfo=UTC)
    done = replace(
        job,
        state="done",
        progress={"stage": "done", "done": 1, "total": 1},
        summary={"coverage": {"clinic": 0.42}},
        updated_at=later,
    )
    data = _parquet()
    store.save_job_layers(job.id, {"points": data, "gaps": data})
    store.save_job(done)
    assert store.job(job.id) == done
    assert store.job_layer(job.id, "points") == data
    with pytest.raises(JobNotFound, match="has: gaps, points"):
        store.job_layer(job.id, "sites")


def test_a_failed_job_keeps_its_error_and_inputs(store: Store) -> None:
    assert isinstance(store, JobStore)
    job, _ = store.create_job(_job({"homes": {"type": "FeatureCollection", "features": []}}))
    store.save_job(replace(job, state="failed", error="homes need a 'population' property"))
    kept = store.job(job.id)
    assert kept.state == "failed" and "population" in (kept.error or "")
    assert kept.inputs == job.inputs


def test_unknown_jobs_and_bad_ids(store: Store) -> None:
    assert isinstance(store, JobStore)
    with pytest.raises(JobNotFound, match="no job"):
        store.job("0" * 24)
    with pytest.raises(JobNotFound, match="24 hex digits"):
        store.job("../../etc/passwd")
    with pytest.raises(JobNotFound):
        store.job_layer("0" * 24, "points")
    job, _ = store.create_job(_job({"k": 1}))
    with pytest.raises(InvalidParameter, match="layer name"):
        store.job_layer(job.id, "../x")


def test_keys_keep_their_role(store: Store) -> None:
    assert isinstance(store, Store)
    _, planner = new_key("planning", role="planner")
    _, department = new_key("health-bureau")
    store.add_api_key(planner)
    store.add_api_key(department)
    roles = {k.owner: k.role for k in store.api_keys()}
    assert roles == {"planning": "planner", "health-bureau": "department"}
    with pytest.raises(InvalidParameter, match="allowed: admin, department, planner"):
        new_key("x", role="superuser")
