"""The resident and visitor app at ``/``: its page, its files, and the streets it draws.

The app (``maps/app/``) is plain HTML, CSS and JavaScript over this API, with Leaflet from the
npm packages installed at build time, so it makes no request to any other host. A service
worker at ``/sw.js`` keeps the app, its fonts and the streets it has drawn for a bad
connection. Only a whitelist of files is served, each with its type and a cache lifetime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import shapely
from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, HTMLResponse, Response

from livingcircle.api.deps import AtlasDep, SettingsDep
from livingcircle.api.errors import problems
from livingcircle.api.geojson import GeoJSONResponse
from livingcircle.api.params import RegionPath
from livingcircle.api.routes.facilities import BBox, parse_bbox
from livingcircle.geo.errors import InvalidParameter, LivingCircleError
from livingcircle.maps.offline import ASSETS

#: The app's folder: maps/app beside api/ in a checkout, livingcircle/maps/app when installed.
APP = Path(__file__).resolve().parents[2] / "maps" / "app"
#: the app's own files: name -> media type
FILES = {
    "app.js": "text/javascript",
    "app.css": "text/css",
    "sw.js": "text/javascript",
    "icon.svg": "image/svg+xml",
    "manifest.webmanifest": "application/manifest+json",
}
#: third-party files the app loads, from the npm packages: URL name -> (path, media type)
VENDOR = {
    "leaflet.js": ("leaflet/dist/leaflet.js", "text/javascript"),
    "leaflet.css": ("leaflet/dist/leaflet.css", "text/css"),
    "markercluster.js": ("leaflet.markercluster/dist/leaflet.markercluster.js", "text/javascript"),
    "MarkerCluster.css": ("leaflet.markercluster/dist/MarkerCluster.css", "text/css"),
    "MarkerCluster.Default.css": (
        "leaflet.markercluster/dist/MarkerCluster.Default.css",
        "text/css",
    ),
}
#: The app's shell may change with a release: revalidate within an hour; vendor files are
#: pinned by package.json and kept a day.
SHELL_CACHE = "public, max-age=3600"
VENDOR_CACHE = "public, max-age=86400"
#: Streets are drawn to the metre: 1e-5 degrees.
STREET_DECIMALS = 5

router = APIRouter(tags=["app"], responses=problems(404))


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index() -> Response:
    """The resident app."""
    return FileResponse(
        APP / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


@router.get("/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The app's service worker, at the root so that it may keep the whole app."""
    return FileResponse(
        APP / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@router.get("/app/{name}", include_in_schema=False)
def app_file(name: str) -> Response:
    """One of the app's own files."""
    if name not in FILES:
        raise InvalidParameter(f"no app file {name!r}; allowed: {', '.join(sorted(FILES))}")
    return FileResponse(APP / name, media_type=FILES[name], headers={"Cache-Control": SHELL_CACHE})


@router.get("/app/vendor/{name}", include_in_schema=False)
def vendor_file(name: str) -> Response:
    """Leaflet and its cluster plugin, from the npm packages installed at build time."""
    if name not in VENDOR:
        raise InvalidParameter(f"no vendor file {name!r}; allowed: {', '.join(sorted(VENDOR))}")
    path, media = VENDOR[name]
    if not (ASSETS / path).is_file():
        raise LivingCircleError(
            "the app's map library is not installed; reinstall livingcircle "
            "from a wheel built with npm, or run 'make assets' in a checkout"
        )
    return FileResponse(ASSETS / path, media_type=media, headers={"Cache-Control": VENDOR_CACHE})


@router.get(
    "/v1/regions/{region}/streets",
    tags=["meta"],
    response_class=GeoJSONResponse,
    responses=problems(404, 422, 503),
)
def streets(
    region: RegionPath,
    atlas: AtlasDep,
    settings: SettingsDep,
    bbox: BBox = None,
    simplify: Annotated[bool, Query(description="Merge each street's stretches.")] = True,
) -> GeoJSONResponse:
    """The region's walkable streets as lines (lon/lat to the metre), to draw a base map.

    The app draws these instead of web tiles, so it needs no other server. Give ``bbox``
    (``west,south,east,north``, bounded in area as for facilities) to get only what a view
    shows.
    """
    engine = atlas.region(region)
    if bbox:
        west, south, east, north = parse_bbox(bbox, settings.api.max_bbox_km2)
        lo, hi = engine.project(np.array([west, east]), np.array([south, north]))
        box = shapely.box(lo[0], lo[1], hi[0], hi[1])
        edges = np.sort(engine.net.edge_tree.query(box))
    else:
        edges = np.arange(engine.net.n_edges)
    lines = shapely.multilinestrings(engine.net.edge_geom[edges])
    if simplify:
        lines = shapely.line_merge(lines)
    geom = shapely.set_precision(engine.unproject_geom(lines), 10.0**-STREET_DECIMALS)
    return GeoJSONResponse(
        {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(geom),
            "properties": {"region": region, "edges": len(edges)},
        }
    )
