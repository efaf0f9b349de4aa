"""The store-wide audit log: API keys made and revoked (a planner's or an admin's key).

Each region's own log (facility changes, statuses, loads, imports) is at
GET /v1/regions/{region}/audit; both are hash-chained (``livingcircle audit verify``).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from livingcircle.api.deps import PlannerDep, StoreDep
from livingcircle.api.errors import problems
from livingcircle.api.geojson import FastJSONResponse
from livingcircle.api.models import AuditOut
from livingcircle.api.routes.facilities import PageDep, audit_page
from livingcircle.geo.audit import STORE_LOG

router = APIRouter(prefix="/v1", tags=["facilities"], responses=problems(401, 403, 429, 503))


@router.get("/audit", response_model=list[AuditOut], response_class=FastJSONResponse)
def store_audit(store: StoreDep, planner: PlannerDep, page: PageDep) -> Response:
    """The store's audit log, newest first (a planner's or an admin's key): keys made, revoked."""
    return audit_page(store, STORE_LOG, page)
