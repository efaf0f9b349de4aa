"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc``, working offline.

FastAPI's defaults load Swagger UI and ReDoc from a CDN, so without internet they are blank.
Here their scripts come from npm packages installed at build time (``maps/assets/package.json``;
``setup.py`` puts them in the wheel) and are served under ``/assets/``, as are the web font's
files for the pages the API serves. Only the files listed here are served, each with its
content type and a long cache lifetime; the pages name them with a hash of their content
(``?v=``), so a new version is never hidden by the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from livingcircle.maps.offline import ASSETS as NODE_MODULES
from livingcircle.maps.offline import (
    FONT_CSS,
    FONT_CSS_REGULAR,
    FONT_URL,
    FONT_WEIGHTS,
    font_css,
    font_path,
)

router = APIRouter(include_in_schema=False)

CACHE = "public, max-age=31536000, immutable"
JS, CSS = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
#: ReDoc's sidebar shows Redocly's logo from their CDN; an empty image instead
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
_EMPTY_SVG = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


@dataclass(frozen=True)
class Asset:
    """A file served under ``/assets/``: where it is in ``node_modules``, and its type."""

    file: str
    media_type: str
    #: byte strings replaced on the way out (a remote URL the file would otherwise request)
    patch: tuple[tuple[bytes, bytes], ...] = ()


#: every file ``/assets/`` serves, besides the font's (``fonts/``), by its URL path
ASSETS = {
    "swagger-ui/swagger-ui-bundle.js": Asset("swagger-ui-dist/swagger-ui-bundle.js", JS),
    "swagger-ui/swagger-ui.css": Asset("swagger-ui-dist/swagger-ui.css", CSS),
    "swagger-ui/favicon-32x32.png": Asset("swagger-ui-dist/favicon-32x32.png", "image/png"),
    "redoc/redoc.standalone.js": Asset(
        "redoc/bundles/redoc.standalone.js", JS, ((_REDOC_LOGO, _EMPTY_SVG),)
    ),
}
FAVICON = "swagger-ui/favicon-32x32.png"


@dataclass(frozen=True)
class DocsPage:
    """One documentation page: FastAPI's renderer, its files (keyword to asset), its options."""

    render: Callable[..., HTMLResponse]
    files: Mapping[str, str]
    options: Mapping[str, Any]


SWAGGER = DocsPage(
    get_swagger_ui_html,
    {
        "swagger_js_url": "swagger-ui/swagger-ui-bundle.js",
        "swagger_css_url": "swagger-ui/swagger-ui.css",
        "swagger_favicon_url": FAVICON,
    },
    # no badge from validator.swagger.io
    {"swagger_ui_parameters": {"validatorUrl": None}},
)
REDOC = DocsPage(
    get_redoc_html,
    {"redoc_js_url": "redoc/redoc.standalone.js", "redoc_favicon_url": FAVICON},
    {"with_google_fonts": False},
)


def docs_page(request: Request, page: DocsPage) -> HTMLResponse:
    """``page`` over the app's OpenAPI schema, its files named by :func:`asset_url`."""
    app = request.app
    urls = {keyword: asset_url(name) for keyword, name in page.files.items()}
    return page.render(
        openapi_url=app.openapi_url, title=f"{app.title} · API", **urls, **page.options
    )


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over the OpenAPI schema, every file from this server."""
    return docs_page(request, SWAGGER)


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over the OpenAPI schema, every file from this server (no Google fonts)."""
    return docs_page(request, REDOC)


@router.get("/assets/{name:path}")
def asset(name: str) -> Response:
    """One of the listed files, or the web font's (``fonts/...``)."""
    if name.startswith("fonts/"):
        return _font(name.removeprefix("fonts/"))
    if name not in ASSETS:
        raise StarletteHTTPException(404, _unknown(name))
    return Response(
        _content(name), media_type=ASSETS[name].media_type, headers={"Cache-Control": CACHE}
    )


def asset_url(name: str) -> str:
    """The URL of a listed file, with its content's hash so caches never serve an old one."""
    return f"/assets/{name}?v={hashlib.sha256(_content(name)).hexdigest()[:12]}"


@cache
def _content(name: str) -> bytes:
    item = ASSETS[name]
    path = NODE_MODULES / item.file
    if not path.is_file():
        raise StarletteHTTPException(
            503,
            (
                f"the documentation assets are not installed (looked for {path}); in a source "
                "checkout run 'make assets' (needs npm), or install a wheel built with npm"
            ),
        )
    data = path.read_bytes()
    for old, new in item.patch:
        data = data.replace(old, new)
    return data


def _font(file: str) -> Response:
    if file in (FONT_CSS, FONT_CSS_REGULAR):
        return Response(
            _font_stylesheet(file == FONT_CSS_REGULAR),
            media_type=CSS,
            headers={"Cache-Control": CACHE},
        )
    path: Path | None = font_path(file)
    if path is None or not path.is_file():
        raise StarletteHTTPException(404, _unknown(f"fonts/{file}"))
    return FileResponse(path, media_type="font/woff2", headers={"Cache-Control": CACHE})


@cache
def _font_stylesheet(regular_only: bool = False) -> str:
    return font_css(url=FONT_URL, weights=(400,) if regular_only else FONT_WEIGHTS)


def _unknown(name: str) -> str:
    return (
        f"no asset {name[:100]!r}; served are: {', '.join(sorted(ASSETS))}, "
        f"fonts/{FONT_CSS} and the .woff2 files it names"
    )
