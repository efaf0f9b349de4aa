"""The application factory: ``create_app(settings)``, whose lifespan owns the store.

At start-up the lifespan opens the store the settings name (the embedded files, or PostGIS
when ``LC_DATABASE_URL`` is set), builds an :class:`~livingcircle.geo.atlas.Atlas` over it and
builds every
region's engine once, so the first request is as fast as the thousandth. Run it with
``livingcircle serve`` (uvicorn), or in tests with ``with TestClient(create_app(s)) as c:``.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from livingcircle.api.errors import PROBLEM_JSON, PROBLEM_TYPE, add_exception_handlers
from livingcircle.api.middleware import BodyLimit, BodyTimeout
from livingcircle.api.outage import OutageHeaders, StoreHealth, TolerantLiveStatuses
from livingcircle.api.params import BBOX_PATTERN
from livingcircle.api.privacy import keep_queries_out_of_logs
from livingcircle.api.routes import app as app_routes
from livingcircle.api.routes import audit as audit_routes
from livingcircle.api.routes import docs, facilities, jobs, maps, meta, queries, search, writes
from livingcircle.api.routes import scenarios as scenario_routes
from livingcircle.api.routes import status as status_routes
from livingcircle.api.settings import Settings
from livingcircle.api.strict import (
    HonestMethods,
    StrictJSON,
    document_input_enums,
    document_options,
    strict_query,
)
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import LivingCircleError
from livingcircle.geo.standards import Standard, load_standard
from livingcircle.maps.kiosk import served_kiosks
from livingcircle.settings import open_store

log = logging.getLogger("livingcircle.api")

DESCRIPTION = """\
Walking access to everyday services, for residents (phone app), street kiosks and planners.

* **Queries** answer from a point: the nearest services of each kind, and what lies within
  5, 10 and 15 minutes on foot, checked against the GB 50180-2018 living-circle tiers.
* **Facilities** of a region can be listed by area, category and name; departments that own
  facility data change it with an API key (`X-API-Key`); every change is recorded.
* Geometry comes as GeoJSON (WGS 84); errors as RFC 9457 `application/problem+json`,
  whose `detail` says what is allowed.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the store, build every region's engine, read the kiosks; release at the end."""
    settings: Settings = app.state.settings
    store = open_store(settings.store)
    atlas = Atlas(store, app.state.standard, settings.engine.max_snap_m, prepare_nearest=True)
    infos = atlas.infos()
    if settings.api.warm_regions:
        for info in infos:
            atlas.region(info.name)
            log.info("region %s ready", info.name)
    app.state.store, app.state.atlas = store, atlas
    app.state.kiosks = served_kiosks(store, settings.api.kiosks_file)
    app.state.live = TolerantLiveStatuses(app.state.health, store, app.state.standard.status)
    watcher = None
    if settings.api.refresh_seconds > 0:
        watcher = asyncio.create_task(
            watch_regions(atlas, settings.api.refresh_seconds, app.state.health)
        )
    # Everything built so far (the app, the libraries, the engines) lives as long as the
    # process: keep it out of the garbage collector's full passes, which would otherwise walk
    # it again and again while requests allocate their answers (long pauses at p99).
    gc.freeze()
    yield  # stores hold no per-app resources (PostGIS engines are shared per process)
    if watcher is not None:
        watcher.cancel()
    atlas.close()


async def watch_regions(atlas: Atlas, every_s: float, health: StoreHealth | None = None) -> None:
    """Refresh the engines of regions loaded, reloaded, edited or removed since they were built.

    Each worker process holds its own engines: a change made through another worker, or a
    'livingcircle load', shows in the store's load times, checked every ``every_s`` seconds;
    :meth:`Atlas.refresh_changed` rebuilds those regions off the event loop.
    """
    while True:
        await asyncio.sleep(every_s)
        try:
            infos = await run_in_threadpool(atlas.infos)
        except LivingCircleError as exc:  # the store is down for now: /ready says so
            log.warning("cannot check the regions: %s", exc)
            if health is not None:
                health.failed(exc)
            continue
        if health is not None:
            health.ok()
        for name in atlas.refresh_changed(infos):
            log.info("region %s changed in the store; rebuilding its engine", name)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The livingcircle API.

    Parameters
    ----------
    settings
        Store, engine and API settings; default: read from the ``LC_`` environment.
    """
    settings = settings or Settings()
    keep_queries_out_of_logs()
    app = FastAPI(
        title="livingcircle",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(strict_query)],  # '1_0' is no number: api/strict.py
    )  # served offline by routes/docs.py
    app.state.settings = settings
    app.state.health = StoreHealth()  # api/outage.py: answers from memory while it is down
    app.state.standard = load_standard(settings.engine.standards_file)
    add_exception_handlers(app)
    app.add_middleware(HonestMethods, routes=app.router.routes)  # inside CORS: after preflight
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Content-Type", "X-API-Key"],
            max_age=600,
        )
    if settings.api.gzip_level:  # phones and kiosks on slow links: GeoJSON compresses well
        app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=settings.api.gzip_level)
    app.add_middleware(StrictJSON)  # inside BodyLimit, which bounds what it reads
    app.add_middleware(BodyLimit, limit=settings.api.max_body_bytes)
    app.add_middleware(OutageHeaders, health=app.state.health)
    app.add_middleware(BodyTimeout, limit=settings.api.body_timeout_s)  # outermost: all reads
    # status before writes: its PUT .../facilities/{id}/status would match theirs
    for module in (
        meta,
        queries,
        search,
        facilities,
        audit_routes,
        status_routes,
        writes,
        maps,
        app_routes,
        docs,
        jobs,
        scenario_routes,
    ):
        _docstrings_as_summaries(module.router)
        app.include_router(module.router)
    # FastAPI's documented way to customise the schema is to replace this method
    app.openapi = lambda: _openapi(app, app.state.standard, settings)  # type: ignore[method-assign]
    return app


TAGS = [
    {"name": "queries", "description": "Nearest services and walking catchments from a point."},
    {"name": "facilities", "description": "Facilities of a region, and the record of changes."},
    {"name": "writes", "description": "Changes by the departments that own the data (API key)."},
    {
        "name": "status",
        "description": "Live status of facilities (free spaces, closures, "
        "queues), reported by their departments.",
    },
    {"name": "maps", "description": "Resident and kiosk maps as HTML pages."},
    {"name": "meta", "description": "Health, readiness, regions, categories and the standard."},
]


def _docstrings_as_summaries(router: APIRouter) -> None:
    """A handler's one-line docstring becomes its OpenAPI summary (the rest, its description)."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.description and not route.summary:
            first, _, rest = route.description.partition("\n")
            route.summary, route.description = first.strip(), inspect.cleandoc(rest)


def _openapi(app: FastAPI, standard: Standard, settings: Settings) -> dict[str, Any]:
    """The schema, with errors as problem+json and the standard's ids as enums."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    enums = {"category": list(standard.category_ids), "profile": list(standard.profiles)}
    for path in schema["paths"].values():
        for operation in path.values():
            _document_operation(operation, enums, settings)
    document_options(schema["paths"])  # the server answers OPTIONS itself (api/strict.py)
    props = schema["components"]["schemas"]["FacilityPropertiesIn"]["properties"]
    props["category"]["enum"] = enums["category"]
    document_input_enums(schema["components"]["schemas"], enums)
    schema["components"]["schemas"]["Problem"]["properties"]["type"]["examples"] = [
        "about:blank",
        PROBLEM_TYPE + "invalid-request",
    ]
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)
    app.openapi_schema = schema
    return schema


def _document_operation(
    operation: dict[str, Any], enums: dict[str, list[str]], settings: Settings
) -> None:
    for param in operation.get("parameters", []):
        target = param["schema"]
        target = target.get("anyOf", [target])[0]
        target = target.get("items", target)
        if param["name"] in enums:
            target["enum"] = enums[param["name"]]
        if param["name"] == "bbox":  # checked by parse_bbox, which says why in words
            target["pattern"] = BBOX_PATTERN
        if param["name"] == "limit":  # the configured page size, unless the route's is less
            target["maximum"] = min(
                target.get("maximum", settings.api.max_page_size), settings.api.max_page_size
            )
    for status, response in operation.get("responses", {}).items():
        if status[0] in "45":
            response["content"] = {
                PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }
