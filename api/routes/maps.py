"""Maps as HTML pages: a resident's map for any point, and each kiosk's map."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from livingcircle.api.deps import AtlasDep
from livingcircle.api.errors import problems
from livingcircle.api.geojson import FastJSONResponse
from livingcircle.api.live import LiveDep
from livingcircle.api.models_queries import KioskData
from livingcircle.api.params import Lat, Lon, Profile, RegionQuery, Speed
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.kiosks import Kiosk
from livingcircle.maps.kiosk import WALK_MINUTES, kiosk_data, kiosk_page, pick_kiosk
from livingcircle.maps.offline import FONT_URL
from livingcircle.maps.resident import resident_map_at

router = APIRouter(
    prefix="/v1/maps",
    tags=["maps"],
    default_response_class=HTMLResponse,
    responses=problems(404, 422, 503),
)
_HTML: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/html": {"example": "<!DOCTYPE html><html>...</html>"}},
        "description": "A self-contained HTML page (Leaflet).",
    }
}


@router.get("/resident", responses=_HTML)
def resident(
    atlas: AtlasDep,
    lat: Lat,
    lon: Lon,
    offline: Annotated[
        bool,
        Query(
            description="No network request from the page: Leaflet inlined, streets drawn "
            "instead of web tiles."
        ),
    ] = False,
    profile: Profile = "standard",
    speed: Speed = None,
    region: RegionQuery = None,
) -> HTMLResponse:
    """The resident map of a point: rings, facilities and routes to the nearest of each kind."""
    return HTMLResponse(render_map(atlas, lon, lat, region, profile, speed, offline))


KioskId = Annotated[
    str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$", examples=["helsinki-station"])
]


@router.get("/kiosk/{kiosk_id}", responses=_HTML)
def kiosk(request: Request, atlas: AtlasDep, live: LiveDep, kiosk_id: KioskId) -> HTMLResponse:
    """A kiosk's page: offline map and nearest services in big type, refreshing itself."""
    k = _kiosk(request, kiosk_id)
    page = kiosk_page(
        k,
        atlas.region(k.region),
        refresh_url=f"{request.url.path}/data",
        statuses=live.shown(k.region),
        font_url=FONT_URL,
    )
    return HTMLResponse(str(page.get_root().render()))


@router.get("/kiosk/{kiosk_id}/data", response_model=KioskData, response_class=FastJSONResponse)
def kiosk_services(
    request: Request, atlas: AtlasDep, live: LiveDep, kiosk_id: KioskId
) -> FastJSONResponse:
    """What a kiosk's list shows, with live statuses, for its page to refresh in place."""
    k = _kiosk(request, kiosk_id)
    near = atlas.nearest(
        k.lon, k.lat, k.categories, region=k.region, k=1, max_minutes=WALK_MINUTES, routes=False
    )
    return FastJSONResponse(kiosk_data(k, near, atlas.standard, live.shown(k.region)))


def _kiosk(request: Request, kiosk_id: str) -> Kiosk:
    return pick_kiosk(request.app.state.kiosks, kiosk_id)


def render_map(
    atlas: Atlas,
    lon: float,
    lat: float,
    region: str | None,
    profile: str,
    speed: float | None,
    offline: bool,
) -> str:
    """The resident map of a point as an HTML page (the font served from /assets/fonts/)."""
    engine = atlas.locate(lon, lat, region)
    fmap = resident_map_at(
        engine, lon, lat, profile=profile, speed_m_s=speed, offline=offline, font_url=FONT_URL
    )
    return str(fmap.get_root().render())
