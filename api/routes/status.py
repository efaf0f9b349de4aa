"""Live status of facilities: departments report it with their key, anyone reads it.

A department may set the status of its own facilities: those its records created
(``source`` is the key's owner) and those its imported list was merged into (its record is
in the facility's ``lc:sources``), so a car-park office reports on the car parks OSM also
maps. Each report replaces the last, is kept with its time (UTC) and recorded in the audit
log (action ``status``); answers show it until it is older than its category allows.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from livingcircle.api.deps import CallerDep, StoreDep
from livingcircle.api.errors import problems
from livingcircle.api.geojson import FastJSONResponse
from livingcircle.api.live import LiveDep, LiveStatuses
from livingcircle.api.models import StatusIn, StatusOut
from livingcircle.api.params import FacilityId, RegionPath
from livingcircle.geo.errors import NotYourFacility
from livingcircle.geo.status import FacilityStatus, may_set_status

router = APIRouter(
    prefix="/v1/regions/{region}", tags=["status"], responses=problems(404, 422, 503)
)


@router.put(
    "/facilities/{facility_id:path}/status",
    response_model=StatusOut,
    response_class=FastJSONResponse,
    responses=problems(401, 403, 413, 501),
)
def set_status(
    region: RegionPath,
    facility_id: FacilityId,
    body: StatusIn,
    caller: CallerDep,
    store: StoreDep,
    live: LiveDep,
) -> FastJSONResponse:
    """Report a facility's live status (free spaces, a closure, a queue) with the owner's key."""
    row = store.facility(region, facility_id)
    source, tags = str(row["source"].iloc[0]), row["tags"].iloc[0]
    mine = may_set_status(caller.owner, source, tags if isinstance(tags, str) else None)
    if caller.role != "admin" and not mine:  # an admin may edit any source
        raise NotYourFacility(
            f"facility {facility_id!r} belongs to {source!r} and no list of "
            f"{caller.owner!r} describes it; a department may set the status only of its own "
            f"facilities (ids starting with '{caller.owner}:', or merged from its import)"
        )
    status = FacilityStatus(
        facility_id, str(row["category"].iloc[0]), live.clock(), **body.model_dump()
    )
    entry = store.set_status(region, status, caller.owner)
    live.forget(region)
    kept = next(s for s in store.statuses(region) if s.facility_id == entry.facility_id)
    return FastJSONResponse(_out(kept, live))


@router.get("/status", response_model=list[StatusOut], response_class=FastJSONResponse)
def statuses(
    region: RegionPath,
    store: StoreDep,
    live: LiveDep,
    include_stale: Annotated[
        bool, Query(description="Also list reports too old to be shown in answers.")
    ] = False,
) -> FastJSONResponse:
    """Current live statuses of the region's facilities, by facility id."""
    shown = [_out(s, live) for s in store.statuses(region)]
    return FastJSONResponse([s for s in shown if include_stale or not s["stale"]])


def _out(status: FacilityStatus, live: LiveStatuses) -> dict[str, Any]:
    now = live.clock()
    return {
        "facility_id": status.facility_id,
        "category": status.category,
        "actor": status.actor,
        **live.rules.shown(status, now),
        "stale": not live.rules.fresh(status, now),
    }
