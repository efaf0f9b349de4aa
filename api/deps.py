"""Dependencies: what the lifespan put on ``app.state``, and who is calling.

The look-ups of ``app.state`` are ``async``: FastAPI runs a plain function dependency in its
thread pool, a hop that cost more than the look-up itself. The key checks are ``async`` too:
they hash in the gatekeeper's own pool (:mod:`livingcircle.api.auth`), never in the one that
answers reads.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from livingcircle.api.auth import Gatekeeper
from livingcircle.api.settings import Settings
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.engine import Region
from livingcircle.geo.keys import EDITING_ROLES, PLANNING_ROLES, require_any_role
from livingcircle.geo.profile_views import view_built
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import ApiKey, Store


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> Store:
    """The store the lifespan opened."""
    store: Store = request.app.state.store
    return store


async def get_atlas(request: Request) -> Atlas:
    """The atlas (regions with their engines) the lifespan built."""
    atlas: Atlas = request.app.state.atlas
    return atlas


async def get_standard(atlas: Annotated[Atlas, Depends(get_atlas)]) -> Standard:
    """Categories, tiers and walking profiles."""
    return atlas.standard


async def answering(
    atlas: Atlas,
    lon: float,
    lat: float,
    region: str | None,
    profile: str | None = None,
    speed_m_s: float | None = None,
) -> Region:
    """The engine that answers for a point: at once if built, else found in the thread pool.

    A region not yet built (or regions to read again after a change) are read and built in
    the thread pool, never on the event loop (:meth:`Atlas.located`); so is the region's view
    at a walking profile with street rules, the first time one is asked for
    (:func:`~livingcircle.geo.profile_views.view_built`).
    """
    engine = atlas.located(lon, lat, region)
    if engine is None:
        engine = await run_in_threadpool(atlas.locate, lon, lat, region)
    if not view_built(engine, profile, speed_m_s):
        await run_in_threadpool(engine.walked_at, str(profile), speed_m_s)
    return engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
AtlasDep = Annotated[Atlas, Depends(get_atlas)]
StandardDep = Annotated[Standard, Depends(get_standard)]

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key ('livingcircle keys add --owner NAME --role ROLE'): a department's "
    "or an admin's to change facilities, a planner's for analyses; never needed to read.",
)


def gatekeeper(request: Request) -> Gatekeeper:
    """The app's key checker, made on first use (see :mod:`livingcircle.api.auth`)."""
    state = request.app.state
    if getattr(state, "gatekeeper", None) is None:
        state.gatekeeper = Gatekeeper(state.settings.api)
    keeper: Gatekeeper = state.gatekeeper
    return keeper


async def get_key(
    request: Request,
    store: StoreDep,
    token: Annotated[str | None, Security(api_key_header)] = None,
) -> ApiKey:
    """The usable key the request carries: 401 without, 403 if wrong, 429 after many failures."""
    address = request.client.host if request.client else "unknown"
    return await gatekeeper(request).check(token, address, store)


KeyDep = Annotated[ApiKey, Depends(get_key)]


async def get_caller(key: KeyDep) -> ApiKey:
    """The key that authorises a change: an admin's or a department's."""
    return require_any_role(key, EDITING_ROLES, "changing facility data")


async def get_planner(key: KeyDep) -> ApiKey:
    """The key of a planner (or an admin): for analyses and the audit log."""
    return require_any_role(key, PLANNING_ROLES, "running analyses or reading the audit log")


CallerDep = Annotated[ApiKey, Depends(get_caller)]
PlannerDep = Annotated[ApiKey, Depends(get_planner)]
