"""Facilities of a region: by bounding box, category and name, one by id, and their changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pyproj import Geod
from shapely import box

from livingcircle.api.deps import (
    PlannerDep,
    SettingsDep,
    StandardDep,
    StoreDep,
)
from livingcircle.api.errors import problems
from livingcircle.api.geojson import (
    FastJSONResponse,
    GeoJSONResponse,
    audit_json,
    facility_features,
)
from livingcircle.api.models import AuditOut, FacilityCollection, FacilityFeature
from livingcircle.api.params import (
    MAX_QUERY_CHARS,
    FacilityId,
    RegionPath,
    check_bbox_text,
    text_param,
)
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.store import Bounds, FacilityQuery, Store

router = APIRouter(
    prefix="/v1/regions/{region}", tags=["facilities"], responses=problems(404, 422, 503)
)
_GEOD = Geod(ellps="WGS84")
#: Hard ceilings in the schema; the settings may lower them.
PAGE_CEILING = 5_000
OFFSET_CEILING = 1_000_000

BBox = Annotated[
    str | None,
    Query(
        max_length=200,
        description="west,south,east,north in plain decimal WGS 84 degrees, west < east and "
        "south < north; its area is capped (LC_MAX_BBOX_KM2, default 25 km²).",
        examples=["24.93,60.16,24.96,60.18"],
    ),
]
Limit = Annotated[
    int,
    Query(ge=1, le=PAGE_CEILING, description="Page size, at most LC_MAX_PAGE_SIZE (default 500)."),
]
Offset = Annotated[int, Query(ge=0, le=OFFSET_CEILING, description="Facilities to skip.")]


@dataclass(frozen=True)
class Page:
    """The page asked for: at most ``limit`` items after the first ``offset``."""

    limit: int
    offset: int


async def get_page(settings: SettingsDep, limit: Limit = 100, offset: Offset = 0) -> Page:
    """The page asked for, refused if larger than the configured size."""
    most = settings.api.max_page_size
    if limit > most:
        raise InvalidParameter(
            f"limit={limit} is too large; allowed: 1 to {most} (page through with offset)"
        )
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(get_page)]
Text = Annotated[
    str | None,
    text_param(
        Query, MAX_QUERY_CHARS, "Part of a name (any language), case-insensitive.", "apteekki"
    ),
]
Categories = Annotated[
    list[str] | None,
    Query(alias="category", max_length=40, description="Category id, repeatable; default: all."),
]


async def get_facility_query(
    settings: SettingsDep,
    standard: StandardDep,
    page: PageDep,
    bbox: BBox = None,
    category: Categories = None,
    q: Text = None,
) -> FacilityQuery:
    """The facilities asked for (box, categories, name) and the page, each checked."""
    bounds = parse_bbox(bbox, settings.api.max_bbox_km2) if bbox else None
    cats = list(standard.resolve_categories(category)) if category else None
    return FacilityQuery(bounds, cats, q, page.limit, page.offset)


FacilityQueryDep = Annotated[FacilityQuery, Depends(get_facility_query)]


@router.get("/facilities", response_model=FacilityCollection, response_class=GeoJSONResponse)
def facilities(
    region: RegionPath, store: StoreDep, standard: StandardDep, query: FacilityQueryDep
) -> GeoJSONResponse:
    """Facilities by bounding box, category and name, one page ordered by id."""
    features = facility_features(store.facilities(region, query), standard)
    limit, offset = query.limit, query.offset
    more = len(features) == limit
    return GeoJSONResponse(
        {
            "type": "FeatureCollection",
            "features": features,
            "properties": {
                "region": region,
                "limit": limit,
                "offset": offset,
                "returned": len(features),
                "next_offset": offset + limit if more else None,
            },
        }
    )


@router.get(
    "/facilities/{facility_id:path}", response_model=FacilityFeature, response_class=GeoJSONResponse
)
def facility(
    region: RegionPath, facility_id: FacilityId, store: StoreDep, standard: StandardDep
) -> GeoJSONResponse:
    """One facility by id."""
    return GeoJSONResponse(facility_features(store.facility(region, facility_id), standard)[0])


@router.get(
    "/audit",
    response_model=list[AuditOut],
    response_class=FastJSONResponse,
    responses=problems(401, 403, 429),
)
def audit(region: RegionPath, store: StoreDep, planner: PlannerDep, page: PageDep) -> Response:
    """The region's audit log, newest first (a planner's or an admin's key): who, when, what."""
    return audit_page(store, region, page)


def audit_page(store: Store, log: str, page: Page) -> Response:
    """One page of an audit log (a region's, or the store's), newest first."""
    return FastJSONResponse([audit_json(e) for e in store.audit(log, page.limit, page.offset)])


def parse_bbox(text: str, max_km2: float) -> Bounds:
    """``west,south,east,north`` as bounds, checked for order, range and area."""
    check_bbox_text(text)  # the schema's pattern (api/app.py), with reasons in words
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidParameter(
            f"bbox {text!r} is not four numbers; allowed: west,south,east,north in degrees"
        ) from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise InvalidParameter(
            f"bbox {text!r} is invalid; allowed: west < east within -180 to 180 and south < "
            "north within -90 to 90 (west,south,east,north)"
        )
    area_km2 = abs(_GEOD.geometry_area_perimeter(box(w, s, e, n))[0]) / 1e6
    if area_km2 > max_km2:
        raise InvalidParameter(
            f"bbox covers {area_km2:,.1f} km²; allowed: at most "
            f"{max_km2:g} km² (ask for a smaller area, or page by category)"
        )
    return (w, s, e, n)
