"""Planner scenarios as jobs: submit a what-if with a planner's key, poll, download the layers.

``POST /v1/regions/{region}/scenarios`` takes the scenario as JSON (the structure of a TOML
scenario file: ``name``, ``add_facility``, ``close_facility``, ``add_link``,
``close_street``), checks it against the region (unknown categories and facility ids, points
outside the region or far from any street: 422), then answers at once (202 and a
``Location``) and runs it in the worker's job thread, as analyses do. The same inputs on the
same version of the region share one job. The stored region is never changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from livingcircle.api.deps import AtlasDep, PlannerDep
from livingcircle.api.errors import problems
from livingcircle.api.jobs import layer_geojson
from livingcircle.api.params import RegionPath
from livingcircle.api.routes.jobs import (
    MAX_HOMES,
    HomesIn,
    JobIdPath,
    JobsDep,
    runner,
)
from livingcircle.api.scenario_jobs import SCENARIO_LAYERS, parse_scenario
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import JobNotFound, RegionNotFound
from livingcircle.geo.jobs import Job, JobStore, job_id
from livingcircle.geo.scenario import Scenario, check_scenario

router = APIRouter(
    prefix="/v1/regions/{region}/scenarios",
    tags=["planner"],
    responses=problems(400, 401, 403, 404, 413, 422, 501, 503),
)

ScenarioLayer = Literal[
    "summary", "tiers", "changes", "facilities", "streets"
]  # api.scenario_jobs.SCENARIO_LAYERS
KIND = "scenario"


class ScenarioJobIn(BaseModel):
    """A what-if scenario to run, with the homes and walking profile to judge it by."""

    model_config = ConfigDict(extra="forbid")
    scenario: dict[Annotated[str, Field(max_length=32)], Any] = Field(
        description="The changes, as a TOML scenario file holds them: 'name', and lists "
        "'add_facility' ({category, lon, lat, name, capacity}), 'close_facility' "
        "({id}), 'add_link' ({from: [lon, lat], to: [lon, lat], oneway, name, "
        "max_snap_m}), 'close_street' ({way_id} or {at} or {between}).",
        max_length=5,
    )
    k: int = Field(
        default=5, strict=True, ge=1, le=10, description="Nearest facilities kept per home."
    )
    profile: str = Field(
        default="standard", max_length=32, description="Walking profile (GET /v1/standards)."
    )
    homes: HomesIn | None = Field(
        default=None,
        description=f"At most {MAX_HOMES:,} homes with a 'population' "
        "property; default: every street node, one resident each.",
    )


@router.post("", status_code=202)
def submit_scenario(
    region: RegionPath,
    body: ScenarioJobIn,
    caller: PlannerDep,
    jobs: JobsDep,
    atlas: AtlasDep,
    request: Request,
) -> JSONResponse:
    """Start a scenario (or find the one with the same inputs)."""
    info = next((i for i in atlas.infos() if i.name == region), None)
    if info is None:
        raise RegionNotFound(region, [i.name for i in atlas.infos()])
    atlas.standard.speed(body.profile)  # UnknownProfile names the allowed
    _check(atlas, region, parse_scenario(body.scenario))  # ScenarioError lists the problems
    inputs = body.model_dump(mode="json")
    now = datetime.now(UTC)
    job = Job(
        job_id(KIND, region, info.loaded_at, inputs),
        KIND,
        region,
        caller.owner,
        "queued",
        inputs,
        now,
        now,
        {"stage": "queued", "done": 0, "total": 1},
    )
    kept, new = jobs.create_job(job)
    if new:
        runner(request, atlas, jobs).submit(kept)
    status = 202 if kept.state in ("queued", "running") else 200
    return JSONResponse(_view(kept), status_code=status, headers={"Location": _path(kept)})


def _check(atlas: Atlas, region: str, spec: Scenario) -> None:
    """The scenario's changes against the region's streets and facilities (no walks)."""
    by_way = any(s.way_id is not None for s in spec.close_streets)
    edges = atlas.store.load_region(region).edges if by_way else None
    ways = edges["way_id"].to_numpy("int64") if edges is not None and "way_id" in edges else None
    check_scenario(atlas.region(region), spec, ways)


@router.get("/{job}")
def read_scenario(
    region: RegionPath, job: JobIdPath, caller: PlannerDep, jobs: JobsDep
) -> dict[str, Any]:
    """A scenario job: state, progress, summary or error, inputs and layer links."""
    return _view(_kept(jobs, region, job))


@router.get(
    "/{job}/layers/{name}",
    response_class=Response,
    responses={
        200: {"content": {"application/geo+json": {}, "application/vnd.apache.parquet": {}}}
    },
)
def download_scenario_layer(
    region: RegionPath,
    job: JobIdPath,
    name: Annotated[ScenarioLayer, Path(description="A result layer.")],
    caller: PlannerDep,
    jobs: JobsDep,
    format: Annotated[
        Literal["geojson", "parquet"],
        Query(description="GeoJSON, or GeoParquet (plain Parquet for summary and tiers)"),
    ] = "geojson",
) -> Response:
    """One result layer of a finished scenario, as GeoJSON or GeoParquet."""
    data = jobs.job_layer(_kept(jobs, region, job).id, name)
    filename = f"{region}-{job}-{name}"
    if format == "parquet":
        return Response(
            data,
            media_type="application/vnd.apache.parquet",
            headers={"Content-Disposition": f'attachment; filename="{filename}.parquet"'},
        )
    return Response(
        layer_geojson(data),
        media_type="application/geo+json",
        headers={"Content-Disposition": f'attachment; filename="{filename}.geojson"'},
    )


def _kept(jobs: JobStore, region: str, job: str) -> Job:
    kept = jobs.job(job)
    if kept.kind != KIND:
        raise JobNotFound(
            f"job {job} is an {kept.kind}, not a scenario; read it at "
            f"/v1/regions/{kept.region}/analyses/{kept.id}"
        )
    if kept.region != region:
        raise JobNotFound(
            f"job {job} belongs to region {kept.region!r}, not {region!r}; read it at {_path(kept)}"
        )
    return kept


def _path(job: Job) -> str:
    return f"/v1/regions/{job.region}/scenarios/{job.id}"


def _view(job: Job) -> dict[str, Any]:
    layers = (
        {n: f"{_path(job)}/layers/{n}?format=geojson" for n in SCENARIO_LAYERS}
        if job.state == "done"
        else {}
    )
    return {
        "id": job.id,
        "region": job.region,
        "state": job.state,
        "owner": job.owner,
        "progress": job.progress,
        "summary": job.summary,
        "error": job.error,
        "inputs": job.inputs,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "links": {"self": _path(job), "layers": layers},
    }
