"""Walking questions: the nearest services from a point, and a point's catchment."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from livingcircle.api.deps import AtlasDep, answering
from livingcircle.api.errors import problems
from livingcircle.api.geojson import GeoJSONResponse
from livingcircle.api.live import LiveDep
from livingcircle.api.models_queries import CatchmentCollection, NearestCollection
from livingcircle.api.params import (
    Categories,
    IncludeUnknown,
    K,
    Lat,
    Lon,
    MaxMinutes,
    Minutes,
    OpenAt,
    OpenNow,
    Profile,
    RegionQuery,
    Speed,
)
from livingcircle.geo import config
from livingcircle.geo.atlas import NearestOptions
from livingcircle.geo.hours import parse_open_at
from livingcircle.geo.results import NearestResult

router = APIRouter(prefix="/v1", tags=["queries"], responses=problems(404, 422, 503))

# The two handlers are ``async`` on purpose: the engine is pure CPU on arrays already in memory,
# so each request runs to completion on the event loop, first come first served, instead of
# sharing the GIL with its neighbours in the thread pool (one worker process per core). A region
# not yet built is read and built in the thread pool (``answering``), never on the loop.


@router.get("/nearest", response_model=NearestCollection, response_class=GeoJSONResponse)
async def nearest(
    atlas: AtlasDep,
    live: LiveDep,
    lat: Lat,
    lon: Lon,
    category: Categories = None,
    k: K = 1,
    max_minutes: MaxMinutes = None,
    profile: Profile = "standard",
    speed: Speed = None,
    region: RegionQuery = None,
    routes: Annotated[bool, Query(description="Attach each facility's walking route.")] = True,
    open_at: OpenAt = None,
    open_now: OpenNow = False,
    include_unknown: IncludeUnknown = False,
    skip_full: Annotated[
        bool,
        Query(
            description="Skip facilities whose department reports no free space (a fresh "
            "report); the next nearest take their place, k answers still."
        ),
    ] = False,
) -> GeoJSONResponse:
    """Nearest facilities of each category by walking time, with their routes.

    A facility's live status (free spaces, closure, queue), when its department reported
    one recently enough, is in its properties as ``status``, with its age.
    """
    moment = _moment(open_at)
    atlas.standard.resolve_categories(category)  # UnknownCategory before a point's faults
    where = (await answering(atlas, lon, lat, region, profile, speed)).name
    options: NearestOptions = {
        "profile": profile,
        "speed_m_s": speed,
        "max_minutes": max_minutes,
        "routes": routes,
        "open_at": moment,
        "open_now": open_now,
        "include_unknown": include_unknown,
    }

    def ask(categories: list[str] | None, k: int) -> NearestResult:
        asked: NearestOptions = {**options, "k": k}
        return atlas.nearest(lon, lat, categories, where, **asked)

    result = ask(category, k)
    if skip_full:
        result = live.skip_full(result, ask)
    return GeoJSONResponse(live.attach(result.to_geojson(), result.region))


@router.get("/catchment", response_model=CatchmentCollection, response_class=GeoJSONResponse)
async def catchment(
    atlas: AtlasDep,
    live: LiveDep,
    lat: Lat,
    lon: Lon,
    minutes: Minutes = None,
    profile: Profile = "standard",
    speed: Speed = None,
    region: RegionQuery = None,
    open_at: OpenAt = None,
) -> GeoJSONResponse:
    """Areas within each walking time, their facilities, and the GB 50180 tier checklist."""
    rings, moment = minutes or list(config.DEFAULT_MINUTES), _moment(open_at)
    engine = await answering(atlas, lon, lat, region, profile, speed)
    result = engine.catchment(lon, lat, rings, profile=profile, speed_m_s=speed, open_at=moment)
    return GeoJSONResponse(live.attach(result.to_geojson(), result.region))


def _moment(open_at: str | None) -> datetime | None:
    """``open_at`` as a moment (naive: the region's local time); None for now."""
    return None if open_at is None else parse_open_at(open_at)
