"""Planner scenarios as jobs: submit a what-if with a planner's key, poll, download the layers.

``POST /v1/regions/{region}/scenarios`` takes the scenario as JSON (the structure of a TOML
scenario file: ``name``, ``add_facility``, ``close_facility``, ``add_link``,
``close_street``), checks it against the region (unknown categories and facility ids, points
outside the region or far from any street: 422), then answers at once (202 and a
``Location``) and runs it in the worker's job thread, as analyses do. The same inputs on the
same version of the region share one job. The stored region is never changed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from livingcircle.api.errors import problems
from livingcircle.api.routes.jobs import (
    JobDeskDep,
    JobHomes,
    JobK,
    JobProfile,
    add_job_routes,
)
from livingcircle.api.scenario_jobs import parse_scenario
from livingcircle.geo.atlas import Atlas
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
    k: JobK = 5
    profile: JobProfile = "standard"
    homes: JobHomes = None


@router.post("", status_code=202)
def submit_scenario(body: ScenarioJobIn, desk: JobDeskDep) -> JSONResponse:
    """Start a scenario (or find the one with the same inputs)."""

    def check() -> None:
        desk.atlas.standard.speed(body.profile)  # UnknownProfile names the allowed
        _check(desk.atlas, desk.region, parse_scenario(body.scenario))  # ScenarioError: problems

    return desk.start(KIND, body, check)


def _check(atlas: Atlas, region: str, spec: Scenario) -> None:
    """The scenario's changes against the region's streets and facilities (no walks)."""
    by_way = any(s.way_id is not None for s in spec.close_streets)
    edges = atlas.store.load_region(region).edges if by_way else None
    ways = edges["way_id"].to_numpy("int64") if edges is not None and "way_id" in edges else None
    check_scenario(atlas.region(region), spec, ways)


add_job_routes(router, KIND, ScenarioLayer, "read_scenario", "download_scenario_layer")
