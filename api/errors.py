"""Errors to HTTP in one place: a status table and RFC 9457 ``application/problem+json``.

Every :class:`livingcircle.geo.errors.LivingCircleError` maps to a status through :data:`STATUS`
(the
nearest class in its MRO wins) and keeps its message, which already says what is allowed.
Request validation errors become 422 with one item per wrong field; anything unexpected
becomes a 500 whose body carries a request id, never a stack trace.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from livingcircle.api.models import Problem
from livingcircle.geo.errors import (
    AccessDenied,
    AssetsMissing,
    AuthBusy,
    ClusterTaskFailed,
    ClusterUnavailable,
    DatabaseUnavailable,
    DEMError,
    EmptyExtract,
    FacilityExists,
    FacilityNotFound,
    ImportFileError,
    InvalidParameter,
    JobNotFound,
    LivingCircleError,
    MissingApiKey,
    NotSupportedByStore,
    NoWayForProfile,
    OSMFileError,
    OverpassError,
    PlaceNotFound,
    PointOutsideRegion,
    PointTooFarFromNetwork,
    RegionBusy,
    RegionNotFound,
    SchemaOutOfDate,
    StoreError,
    TooManyAuthFailures,
    UnknownCategory,
    UnknownKiosk,
    UnknownProfile,
    WorkerCannotReach,
)
from livingcircle.geo.scenario import ScenarioError

log = logging.getLogger("livingcircle.api")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:livingcircle:problem:"

#: HTTP status of each error class; subclasses not listed take their nearest listed base.
STATUS: dict[type[Exception], int] = {
    LivingCircleError: 400,
    InvalidParameter: 422,
    UnknownCategory: 422,
    UnknownProfile: 422,
    PointTooFarFromNetwork: 422,
    NoWayForProfile: 422,  # names the nearest street the profile can walk
    OSMFileError: 422,
    DEMError: 422,  # the caller's elevation file
    EmptyExtract: 422,
    ImportFileError: 422,  # the caller's file
    ScenarioError: 422,  # lists every problem of the scenario
    PointOutsideRegion: 404,
    RegionNotFound: 404,
    FacilityNotFound: 404,
    UnknownKiosk: 404,
    PlaceNotFound: 404,
    JobNotFound: 404,
    FacilityExists: 409,
    RegionBusy: 409,
    AccessDenied: 403,
    MissingApiKey: 401,
    TooManyAuthFailures: 429,  # with Retry-After
    AuthBusy: 503,  # with Retry-After
    StoreError: 503,
    DatabaseUnavailable: 503,
    SchemaOutOfDate: 503,
    NotSupportedByStore: 501,
    AssetsMissing: 503,  # the npm assets of maps, fonts and /docs were not installed
    OverpassError: 502,  # the Overpass server upstream failed
    ClusterUnavailable: 503,  # the server's Dask cluster
    WorkerCannotReach: 503,  # a server-side Dask worker's storage
    ClusterTaskFailed: 503,  # a server-side Dask task, not the request's data
}


def status_of(exc: Exception) -> int:
    """The HTTP status of an error: its own class's, or its nearest listed base's."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem(
    status: int,
    detail: str,
    request: Request,
    kind: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + kind if kind else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _kind(exc: Exception) -> str:
    """``PointOutsideRegion`` -> ``point-outside-region``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", type(exc).__name__).lower()


async def livingcircle_error(request: Request, exc: Exception) -> JSONResponse:
    """A livingcircle error: its status from the table, its message as the detail."""
    status = status_of(exc)
    detail = getattr(exc, "operator_detail", None)  # where and why: the log, never the body
    health = getattr(request.app.state, "health", None)
    if isinstance(exc, DatabaseUnavailable) and health is not None:
        health.failed(exc)  # api/outage.py: queries answer from memory meanwhile
    if status >= 500 or detail:
        log.warning("%s %s: %s [%s]", request.method, request.url.path, exc, detail or "")
    headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'} if status == 401 else None
    if (retry := getattr(exc, "retry_after", None)) is not None:
        headers = {**(headers or {}), "Retry-After": str(retry)}
    return problem(status, str(exc), request, _kind(exc), headers=headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Request fields that break the documented limits: 422, one item per field."""
    assert isinstance(exc, RequestValidationError)
    items = [_item(e) for e in exc.errors()]
    detail = "; ".join(
        f"{i['location']} {i['name']}: {i['message']}"
        + (f" (allowed: {i['allowed']})" if i.get("allowed") else "")
        for i in items
    )
    return problem(422, f"invalid request: {detail}", request, "invalid-request", items)


def _item(error: dict[str, Any]) -> dict[str, Any]:
    loc = [str(p) for p in error.get("loc", ())]
    location = loc[0] if loc else "request"
    item = {
        "location": location,
        "name": ".".join(loc[1:]) or location,
        "message": str(error.get("msg", "invalid value")),
    }
    allowed = _allowed(error.get("ctx") or {})
    if allowed:
        item["allowed"] = allowed
    return item


_ALLOWED = (
    ("ge", "at least {}"),
    ("gt", "more than {}"),
    ("le", "at most {}"),
    ("lt", "less than {}"),
    ("max_length", "at most {} characters or items"),
    ("min_length", "at least {} characters or items"),
    ("pattern", "text matching {}"),
    ("expected", "{}"),
)


def _allowed(ctx: dict[str, Any]) -> str | None:
    low, high = ctx.get("ge", ctx.get("gt")), ctx.get("le", ctx.get("lt"))
    if low is not None and high is not None:
        return f"{low} to {high}"
    return next((text.format(ctx[key]) for key, text in _ALLOWED if key in ctx), None)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (unknown path, wrong method...) as problem details."""
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such path {request.url.path!r}; see /docs for the API's paths"
    return problem(exc.status_code, detail, request, headers=getattr(exc, "headers", None))


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Anything else: logged with its traceback here, a bare 500 for the client."""
    ref = secrets.token_hex(6)
    log.error("unexpected error %s on %s %s", ref, request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        f"internal error (reference {ref}); the request was not completed, "
        "please report the reference",
        request,
        "internal-error",
    )


def add_exception_handlers(app: FastAPI) -> None:
    """Install the handlers above on ``app``."""
    app.add_exception_handler(LivingCircleError, livingcircle_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)


_WHY = {
    400: "The body is not JSON (UTF-8)",
    401: "No API key (X-API-Key header)",
    403: "API key unknown, revoked, or not the facility's owner",
    404: "Region, facility or point not found",
    409: "Conflict; retry or change the id",
    413: "Request body too large",
    422: "A parameter is outside what is allowed",
    500: "Unexpected error (reference in the detail)",
    501: "The store cannot do this",
    503: "The store is unreachable",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, each an ``application/problem+json`` Problem."""
    return {
        code: {"model": Problem, "description": _WHY.get(code, HTTPStatus(code).phrase)}
        for code in (*codes, 500)
    }
