"""Planner analyses as jobs: submit with a planner's key, poll, download the layers.

``POST /v1/regions/{region}/analyses`` checks the inputs, then answers at once (202 and a
``Location``); the analysis runs in the worker's job thread, not in the request, so it
finishes even if the client goes away. The same inputs on the same version of the region
give the same job id: asking twice returns the first job (200 once it has finished).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from livingcircle.api.deps import AtlasDep, PlannerDep, StoreDep
from livingcircle.api.errors import problems
from livingcircle.api.jobs import LAYERS, JobRunner, layer_geojson
from livingcircle.api.models import JSONLat, JSONLon
from livingcircle.api.params import RegionPath
from livingcircle.api.scenario_jobs import SCENARIO_LAYERS
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import JobNotFound, NotSupportedByStore, RegionNotFound
from livingcircle.geo.jobs import Job, JobStore, job_id

#: Most homes one analysis may carry inline (about 100 bytes each; raise LC_MAX_BODY_BYTES
#: above its 16 KiB default to send more than about 150).
MAX_HOMES = 5_000
#: Most categories one analysis may focus on.
MAX_CATEGORIES = 40

router = APIRouter(
    prefix="/v1/regions/{region}/analyses",
    tags=["planner"],
    responses=problems(401, 403, 404, 413, 422, 501, 503),
)

KIND = "analysis"
#: A layer's two encodings, for the OpenAPI document.
LAYER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/geo+json": {}, "application/vnd.apache.parquet": {}}}
}
LayerFormat = Annotated[
    Literal["geojson", "parquet"],
    Query(description="GeoJSON, or GeoParquet (plain Parquet for the tables without geometry)"),
]
LayerName = Literal["points", "gaps", "sites", "coverage", "tiers"]  # api.jobs.LAYERS
JobIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="A job id (24 hex digits) from the POST that made the job.",
    ),
]


class PointIn(BaseModel):
    """A GeoJSON Point in WGS 84."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["Point"]
    coordinates: tuple[JSONLon, JSONLat]  # JSON numbers only: not "24.9" nor true


class HomeIn(BaseModel):
    """A home: a Point with its residents in ``population`` (and optional community)."""

    type: Literal["Feature"]
    geometry: PointIn
    properties: dict[Annotated[str, Field(max_length=64)], float | int | str | None] = Field(
        default_factory=dict, max_length=20
    )


class HomesIn(BaseModel):
    """Homes as an inline GeoJSON FeatureCollection of Points."""

    type: Literal["FeatureCollection"]
    features: list[HomeIn] = Field(min_length=1, max_length=MAX_HOMES)


#: The inputs every kind of job takes: k nearest per home, the walking profile, the homes.
JobK = Annotated[
    int, Field(strict=True, ge=1, le=10, description="Nearest facilities kept per home.")
]
JobProfile = Annotated[
    str, Field(max_length=32, description="Walking profile (GET /v1/standards).")
]
JobHomes = Annotated[
    HomesIn | None,
    Field(
        description=f"At most {MAX_HOMES:,} homes with a 'population' property; default: every "
        "street node, one resident each."
    ),
]


class AnalysisIn(BaseModel):
    """What to analyse: categories, sites per category, k nearest, walking profile, homes."""

    model_config = ConfigDict(extra="forbid")
    categories: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=MAX_CATEGORIES,
        description="Focus categories for gaps and sites (GET /v1/categories); default: the "
        "ones GB 50180 requires.",
    )
    sites: int = Field(
        default=3, strict=True, ge=0, le=20, description="New sites per focus category."
    )
    k: JobK = 5
    profile: JobProfile = "standard"
    homes: JobHomes = None


def get_jobs(store: StoreDep) -> JobStore:
    """The store, for jobs."""
    if not isinstance(store, JobStore):
        raise NotSupportedByStore(
            f"the configured store ({type(store).__name__}) cannot keep "
            "jobs; the embedded and PostGIS stores can"
        )
    return store


JobsDep = Annotated[JobStore, Depends(get_jobs)]


def runner(request: Request, atlas: Atlas, jobs: JobStore) -> JobRunner:
    """The job runner of this worker, made on first use (one job at a time)."""
    state = request.app.state
    if getattr(state, "job_runner", None) is None:
        state.job_runner = JobRunner(atlas, jobs)
    found: JobRunner = state.job_runner
    return found


@dataclass(frozen=True)
class JobDesk:
    """Where a job is asked for: the region, the planner's department, the atlas and jobs."""

    request: Request
    atlas: Atlas
    jobs: JobStore
    region: str
    owner: str

    def start(self, kind: str, body: BaseModel, check: Callable[[], object]) -> JSONResponse:
        """Queue the job of ``body``: the region is looked up, ``check`` run, then the job."""
        loaded_at = region_loaded_at(self.atlas, self.region)  # RegionNotFound first
        check()
        return start_job(
            self.request, self.atlas, self.jobs, kind, self.region, self.owner, loaded_at, body
        )


async def job_desk(
    region: RegionPath, caller: PlannerDep, jobs: JobsDep, atlas: AtlasDep, request: Request
) -> JobDesk:
    """The desk of a job a planner submits to ``region``."""
    return JobDesk(request, atlas, jobs, region, caller.owner)


JobDeskDep = Annotated[JobDesk, Depends(job_desk)]


@router.post("", status_code=202)
def submit_analysis(body: AnalysisIn, desk: JobDeskDep) -> JSONResponse:
    """Start an analysis (or find the one with the same inputs)."""
    standard = desk.atlas.standard

    def check() -> None:
        standard.resolve_categories(body.categories)  # UnknownCategory names the allowed
        standard.speed(body.profile)  # UnknownProfile likewise

    return desk.start(KIND, body, check)


# -- what analyses and scenarios share ---------------------------------------------------------

#: The collection of each kind of job under /v1/regions/{region}/, and its layers.
COLLECTIONS = {"analysis": "analyses", "scenario": "scenarios"}
LAYERS_OF = {"analysis": LAYERS, "scenario": SCENARIO_LAYERS}


def region_loaded_at(atlas: Atlas, region: str) -> datetime:
    """The load time of ``region`` (a job's id depends on it); RegionNotFound if not loaded."""
    infos = atlas.infos()
    info = next((i for i in infos if i.name == region), None)
    if info is None:
        raise RegionNotFound(region, [i.name for i in infos])
    return info.loaded_at


def start_job(
    request: Request,
    atlas: Atlas,
    jobs: JobStore,
    kind: str,
    region: str,
    owner: str,
    loaded_at: datetime,
    body: BaseModel,
) -> JSONResponse:
    """Queue the job of ``body`` (or find the one with the same inputs): 202, or 200 if done."""
    inputs = body.model_dump(mode="json")
    now = datetime.now(UTC)
    progress = {"stage": "queued", "done": 0, "total": 1}
    key = job_id(kind, region, loaded_at, inputs)
    job = Job(key, kind, region, owner, "queued", inputs, now, now, progress)
    kept, new = jobs.create_job(job)
    if new:
        runner(request, atlas, jobs).submit(kept)
    status = 202 if kept.state in ("queued", "running") else 200
    return JSONResponse(
        job_view(kept, LAYERS_OF[kind]), status_code=status, headers={"Location": job_path(kept)}
    )


def kept_job(jobs: JobStore, region: str, job: str, kind: str) -> Job:
    """Job ``job`` if it is a ``kind`` of ``region``; JobNotFound saying where it is if not."""
    kept = jobs.job(job)
    if kept.kind != kind:
        raise JobNotFound(
            f"job {job} is {_a(kept.kind)}, not {_a(kind)}; read it at {job_path(kept)}"
        )
    if kept.region != region:
        raise JobNotFound(
            f"job {job} belongs to region {kept.region!r}, not {region!r}; read it at "
            f"{job_path(kept)}"
        )
    return kept


def layer_response(jobs: JobStore, job: Job, name: str, format: str) -> Response:
    """Layer ``name`` of a finished job as GeoParquet (``format="parquet"``) or GeoJSON."""
    data = jobs.job_layer(job.id, name)
    filename = f"{job.region}-{job.id}-{name}"
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


def job_path(job: Job) -> str:
    """Where a job is read."""
    return f"/v1/regions/{job.region}/{COLLECTIONS[job.kind]}/{job.id}"


def job_view(job: Job, layers: Iterable[str]) -> dict[str, Any]:
    """What a job's page shows: state, progress, summary or error, inputs and layer links."""
    path = job_path(job)
    links = {n: f"{path}/layers/{n}?format=geojson" for n in layers} if job.state == "done" else {}
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
        "links": {"self": path, "layers": links},
    }


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def add_job_routes(
    router: APIRouter, kind: str, layer_names: Any, read: str, download: str
) -> None:
    """Add the routes every kind of job has: read a job, download one of its layers.

    ``layer_names`` is the ``Literal`` of the kind's layers (the schema lists them); ``read``
    and ``download`` name the two handlers, as their operation ids show.
    """
    layers = LAYERS_OF[kind]

    def read_job(
        region: RegionPath, job: JobIdPath, caller: PlannerDep, jobs: JobsDep
    ) -> dict[str, Any]:
        return job_view(kept_job(jobs, region, job, kind), layers)

    def download_layer(
        region: RegionPath,
        job: JobIdPath,
        name: str,
        caller: PlannerDep,
        jobs: JobsDep,
        format: LayerFormat = "geojson",
    ) -> Response:
        return layer_response(jobs, kept_job(jobs, region, job, kind), name, format)

    # the kind's own layer names, for FastAPI to check and document (a Literal per kind)
    download_layer.__annotations__["name"] = Annotated[
        layer_names, Path(description="A result layer.")
    ]
    # the docstrings, which become the summaries (api/app.py)
    read_job.__doc__ = (
        f"{_a(kind).capitalize()} job: state, progress, summary or error, inputs and layer links."
    )
    download_layer.__doc__ = f"One result layer of a finished {kind}, as GeoJSON or GeoParquet."
    router.add_api_route("/{job}", read_job, methods=["GET"], name=read)
    router.add_api_route(
        "/{job}/layers/{name}",
        download_layer,
        methods=["GET"],
        name=download,
        response_class=Response,
        responses=LAYER_RESPONSES,
    )


add_job_routes(router, KIND, LayerName, "read_analysis", "download_layer")
