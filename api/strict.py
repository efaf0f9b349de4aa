"""Strict requests: query numbers as plain numbers, JSON without duplicates, honest methods.

Python's ``float()`` and ``int()`` read ``1_0`` as 10 and ``' 60.1'`` as 60.1, and pydantic's
lax mode reads ``yes`` as true; :func:`strict_query` refuses such query values before the
route sees them, from each route's own declared types. :class:`StrictJSON` refuses JSON
bodies with a key given twice, or with ``NaN`` and ``Infinity`` (not JSON, though Python's
reader takes them). :class:`HonestMethods` answers ``OPTIONS`` with 204 and an ``Allow``
header listing every method of the path, and puts the same list on every 405.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterable
from http import HTTPStatus
from typing import Annotated, Any, Union, get_args, get_origin

import orjson
from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = "application/problem+json"
INVALID = "urn:livingcircle:problem:invalid-request"

#: The text each kind of query value must match (ASCII digits only: ``int('١')`` is 1 too).
QUERY_TEXT: dict[type, tuple[re.Pattern[str], str]] = {
    bool: (re.compile(r"true|false"), "true or false"),
    int: (re.compile(r"-?[0-9]{1,15}", re.ASCII), "a whole number in plain digits, e.g. 5"),
    float: (
        re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?", re.ASCII),
        "a decimal number, e.g. 60.171 or -1.5e-3 (no spaces, '_', '+', nan or inf)",
    ),
}

#: Per route: (alias, kind, repeatable) of each query parameter with a checked kind.
_SPECS: dict[int, list[tuple[str, type, bool]]] = {}


def _kind(annotation: Any) -> tuple[type | None, bool]:
    """The checked scalar type under ``annotation`` (``Annotated``, ``X | None``, ``list``)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kind(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        found = [_kind(a) for a in get_args(annotation) if a is not type(None)]
        return found[0] if len(found) == 1 else (None, False)
    if origin in (list, tuple, set, frozenset):
        inner, _ = _kind(get_args(annotation)[0]) if get_args(annotation) else (None, False)
        return inner, True
    return (annotation, False) if annotation in QUERY_TEXT else (None, False)


def _query_fields(dependant: Dependant) -> list[Any]:
    found = list(dependant.query_params)
    for sub in dependant.dependencies:
        found.extend(_query_fields(sub))
    return found


def _specs(route: APIRoute) -> list[tuple[str, type, bool]]:
    found = _SPECS.get(id(route))
    if found is None:
        found = []
        for field in _query_fields(route.dependant):
            kind, many = _kind(field.field_info.annotation)
            if kind is not None:
                found.append((field.alias, kind, many))
        _SPECS[id(route)] = found
    return found


async def strict_query(request: Request) -> None:
    """Refuse query values that only a lax parser reads as the declared type (422)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    errors = []
    for alias, kind, many in _specs(route):
        values = request.query_params.getlist(alias)
        if len(values) > 1 and not many:
            errors.append(_error(alias, values, "given more than once", "one value"))
            continue
        pattern, allowed = QUERY_TEXT[kind]
        errors.extend(
            _error(alias, v, f"{v!r} is not {allowed}", allowed)
            for v in values
            if not pattern.fullmatch(v)
        )
    if errors:
        raise RequestValidationError(errors)


def _error(alias: str, value: object, message: str, allowed: str) -> dict[str, Any]:
    return {
        "type": "strict_text",
        "loc": ("query", alias),
        "msg": message,
        "input": value,
        "ctx": {"expected": allowed},
    }


# -- JSON bodies ------------------------------------------------------------------------------


class DuplicateKey(ValueError):
    """A JSON object gives the same key twice."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen[key] = value
    return seen


def _no_constants(name: str) -> None:
    raise ValueError(name)


def check_json(body: bytes) -> str | None:
    """What is wrong with a JSON body beyond its syntax (duplicate keys, NaN), or None."""
    try:
        json.loads(body, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except DuplicateKey as exc:
        return f"the key {exc.args[0]!r} is given more than once; give each key once"
    except UnicodeDecodeError as exc:  # FastAPI would answer 400, undocumented where 422 is
        return f"the body is not UTF-8 text (byte {exc.start}); send JSON in UTF-8"
    except ValueError as exc:
        if exc.args and exc.args[0] in ("NaN", "Infinity", "-Infinity"):
            return f"{exc.args[0]} is not a JSON number; give a finite number"
        return None  # a syntax error: FastAPI's own 422 says where
    return None


def is_json(headers: Headers) -> bool:
    """The request says its body is JSON (``application/json`` or ``+json``)."""
    kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


class StrictJSON:
    """Refuse JSON bodies that break JSON's rules but that Python's reader would take (422)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read a JSON body whole, check it, then hand it on unchanged."""
        if scope["type"] != "http" or not is_json(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        try:
            messages, body = await _read_body(receive)
        except StarletteHTTPException as exc:  # the body limit, counted while it arrives
            await send_problem(send, scope, exc.status_code, str(exc.detail))
            return
        wrong = check_json(body) if body else None
        if wrong is not None:
            await send_problem(send, scope, 422, f"invalid request: body: {wrong}", INVALID)
            return
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    messages, chunks = [], []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


async def send_problem(
    send: Send,
    scope: Scope,
    status: int,
    detail: str,
    kind: str = "about:blank",
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """An ``application/problem+json`` answer, from below the exception handlers."""
    body = orjson.dumps(
        {
            "type": kind,
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            "instance": scope.get("path", ""),
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- methods ----------------------------------------------------------------------------------


#: The methods a path may serve, in the order ``Allow`` lists them.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class HonestMethods:
    """``OPTIONS`` gets 204 and every method of the path; every 405 lists all of them too.

    Starlette's own 405 names the methods of the first route matching the path only (so
    ``/v1/regions/{region}/facilities`` said GET, though POST is there too), and it has no
    ``OPTIONS``. A CORS preflight never reaches here: the CORS middleware answers it.
    """

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    def allowed(self, scope: Scope) -> list[str]:
        """Every method some route serves at the scope's path, with OPTIONS; [] if none."""
        methods = [
            method
            for method in METHODS
            if any(r.matches({**scope, "method": method})[0] is Match.FULL for r in self.routes)
        ]
        return [*methods, "OPTIONS"] if methods else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer OPTIONS here; fix the ``Allow`` header of a 405 on its way out."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and (methods := self.allowed(scope)):
            allow = ", ".join(methods).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [(b"allow", allow)],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def fixed(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(self.allowed(scope)).encode()
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*kept, (b"allow", allow)]}
            await send(message)

        await self.app(scope, receive, fixed)


def document_options(paths: dict[str, dict[str, Any]]) -> None:
    """Add each path's OPTIONS operation to the schema's ``paths``, as the server answers it.

    The server answers OPTIONS from the path alone, before any parameter is checked, so the
    path parameters here are any text of one segment at least.
    """
    for path, operations in paths.items():
        names = {
            p["name"]
            for op in operations.values()
            for p in op.get("parameters", [])
            if p.get("in") == "path"
        }
        operations["options"] = {
            "tags": ["meta"],
            "summary": "The methods this path serves",
            "description": "204 with an Allow header; a CORS preflight (Origin and "
            "Access-Control-Request-Method) gets the CORS answer instead.",
            "operationId": "options_" + re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_"),
            "parameters": [
                {
                    "name": n,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                }
                for n in sorted(names)
            ],
            "responses": {
                "204": {
                    "description": "The methods of this path, in the Allow header.",
                    "headers": {
                        "Allow": {
                            "description": "Methods, e.g. 'GET, POST, OPTIONS'.",
                            "schema": {"type": "string", "pattern": r"^[A-Z]+(, [A-Z]+)*$"},
                        }
                    },
                },
                "404": {
                    "description": "No such path",
                    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                },
            },
        }


def document_input_enums(
    components: dict[str, dict[str, Any]], enums: dict[str, list[str]]
) -> None:
    """Request bodies' ``profile`` and ``categories`` take only the ids the standard has."""
    for name, component in components.items():
        props = component.get("properties", {}) if name.endswith("In") else {}
        if props.get("profile", {}).get("type") == "string":
            props["profile"]["enum"] = enums["profile"]
        items = props.get("categories", {}).get("items", {})
        if items.get("type") == "string":
            items["enum"] = enums["category"]
