"""Changes to facility data, for the departments that own it and for admins (an API key each).

A department's key may create facilities (their id becomes ``OWNER:SOURCE_ID``) and change or
delete the facilities it created; OpenStreetMap's, imported lists' and other departments' stay
untouched. An admin's key may change any facility (its source stays); a planner's changes
nothing. The rule is :func:`livingcircle.geo.keys.require_edit`.
Every change is recorded with who and when (GET /v1/regions/{region}/audit), and the
region's engine is rebuilt on the next query so answers include it at once.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Response
from shapely import Point

from livingcircle.api.deps import AtlasDep, CallerDep, StandardDep, StoreDep
from livingcircle.api.errors import problems
from livingcircle.api.geojson import GeoJSONResponse, facility_features
from livingcircle.api.models import FacilityFeature, FacilityIn, NewFacilityIn
from livingcircle.api.params import FacilityId, RegionPath
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import InvalidParameter, RegionNotFound
from livingcircle.geo.keys import require_edit
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import ApiKey, FacilityRecord, Store

router = APIRouter(
    prefix="/v1/regions/{region}/facilities",
    tags=["writes"],
    responses=problems(400, 401, 403, 404, 409, 413, 422, 501, 503),
)


@router.post("", status_code=201, response_model=FacilityFeature, response_class=GeoJSONResponse)
def create_facility(
    region: RegionPath,
    body: NewFacilityIn,
    caller: CallerDep,
    store: StoreDep,
    atlas: AtlasDep,
    standard: StandardDep,
) -> GeoJSONResponse:
    """Add a facility owned by the key's department."""
    source_id = body.properties.source_id
    record = _record(region, f"{caller.owner}:{source_id}", body, (caller.owner, source_id), atlas)
    entry = store.save_facility(region, record, caller.owner, create=True)
    atlas.refresh(region).result()  # rebuilt off the loop; queries meanwhile use the old
    return _feature(store, region, entry.facility_id, standard, 201)


@router.put("/{facility_id:path}", response_model=FacilityFeature, response_class=GeoJSONResponse)
def update_facility(
    region: RegionPath,
    facility_id: FacilityId,
    body: FacilityIn,
    caller: CallerDep,
    store: StoreDep,
    atlas: AtlasDep,
    standard: StandardDep,
) -> GeoJSONResponse:
    """Replace a facility the key's department owns (an admin: any facility)."""
    source, source_id = _check_owner(store, region, facility_id, caller)
    record = _record(region, facility_id, body, (source or caller.owner, source_id), atlas)
    store.save_facility(region, record, caller.owner, create=False)
    atlas.refresh(region).result()  # rebuilt off the loop; queries meanwhile use the old
    return _feature(store, region, facility_id, standard, 200)


@router.delete("/{facility_id:path}", status_code=204, response_class=Response)
def delete_facility(
    region: RegionPath,
    facility_id: FacilityId,
    caller: CallerDep,
    store: StoreDep,
    atlas: AtlasDep,
) -> Response:
    """Remove a facility the key's department owns (an admin: any facility)."""
    _check_owner(store, region, facility_id, caller)
    store.delete_facility(region, facility_id, caller.owner)
    atlas.refresh(region).result()  # rebuilt off the loop; queries meanwhile use the old
    return Response(status_code=204)


def _check_owner(store: Store, region: str, facility_id: str, caller: ApiKey) -> tuple[str, str]:
    """The facility's source and source id, if ``caller`` may change it; else 403."""
    row = store.facility(region, facility_id).iloc[0]
    source = str(row["source"])
    require_edit(caller, facility_id, source)
    source_id = row.get("source_id")
    return source, str(source_id) if source_id else facility_id.split(":", 1)[-1]


def _record(
    region: str, facility_id: str, body: FacilityIn, owner: tuple[str, str], atlas: Atlas
) -> FacilityRecord:
    """What ``body`` stores as ``facility_id``; ``owner`` is the record's source and source id.

    Its category must be one of the standard's and its point inside ``region``.
    """
    source, source_id = owner
    props = body.properties
    atlas.standard.category(props.category)  # UnknownCategory lists the allowed ones
    lon, lat = body.geometry.coordinates
    _check_inside(atlas, region, lon, lat)
    return FacilityRecord(
        id=facility_id,
        source=source,
        source_id=source_id,
        category=props.category,
        geometry=Point(lon, lat),
        name=props.name,
        name_zh=props.name_zh,
        name_en=props.name_en,
        opening_hours=props.opening_hours,
        tags=json.dumps(props.tags, ensure_ascii=False, sort_keys=True),
    )


def _check_inside(atlas: Atlas, region: str, lon: float, lat: float) -> None:
    infos = atlas.infos()
    info = next((i for i in infos if i.name == region), None)
    if info is None:
        raise RegionNotFound(region, [i.name for i in infos])
    if not info.covers(lon, lat):
        w, s, e, n = info.bounds
        raise InvalidParameter(
            f"facility at ({lat:.6f}, {lon:.6f}) lies outside region {region!r}; allowed: "
            f"lat {s:.4f} to {n:.4f}, lon {w:.4f} to {e:.4f} (with a 0.01° margin)"
        )


def _feature(
    store: Store, region: str, facility_id: str, standard: Standard, status: int
) -> GeoJSONResponse:
    feature = facility_features(store.facility(region, facility_id), standard)[0]
    headers = {"Location": f"/v1/regions/{region}/facilities/{facility_id}"}
    return GeoJSONResponse(feature, status_code=status, headers=headers)
