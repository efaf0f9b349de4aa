"""What the service knows: health, readiness, regions, categories and the standard."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request

from livingcircle.api.deps import AtlasDep, StandardDep, StoreDep
from livingcircle.api.errors import problems
from livingcircle.api.geojson import FastJSONResponse, GeoJSONResponse, region_feature
from livingcircle.api.models_meta import (
    CategoryOut,
    Health,
    Readiness,
    RegionCollection,
    RegionFeature,
    StandardOut,
)
from livingcircle.api.params import RegionPath
from livingcircle.geo.errors import RegionNotFound, StoreError

router = APIRouter(tags=["meta"])


@router.get("/health", response_model=Health)
async def health() -> dict[str, str]:
    """The process is up (it does not touch the store)."""
    return {"status": "ok"}


@router.get("/ready", response_model=Readiness, responses=problems(503))
def ready(store: StoreDep, atlas: AtlasDep, request: Request) -> dict[str, Any]:
    """The store answers (ready), or is down while regions answer from memory (degraded).

    Degraded is a 200: the worker still answers nearest and catchment, so a load balancer
    should keep it. With the store down and no region in memory, 503.
    """
    kind = type(store).__name__
    try:
        names = [info.name for info in store.regions()]
    except StoreError as exc:
        request.app.state.health.failed(exc)
        if not atlas.in_memory():
            raise
        return {
            "status": "degraded",
            "store": kind,
            "regions": atlas.in_memory(),
            "error": str(exc),
        }
    request.app.state.health.ok()
    return {"status": "ready", "store": kind, "regions": names}


@router.get(
    "/v1/regions",
    response_model=RegionCollection,
    response_class=GeoJSONResponse,
    responses=problems(503),
)
def regions(store: StoreDep) -> GeoJSONResponse:
    """Every loaded region, with its extent as a bounding-box polygon."""
    return GeoJSONResponse(
        {"type": "FeatureCollection", "features": [region_feature(i) for i in store.regions()]}
    )


@router.get(
    "/v1/regions/{region}",
    response_model=RegionFeature,
    response_class=GeoJSONResponse,
    responses=problems(404, 422, 503),
)
def region(region: RegionPath, store: StoreDep) -> GeoJSONResponse:
    """One region's record and extent."""
    infos = store.regions()
    for info in infos:
        if info.name == region:
            return GeoJSONResponse(region_feature(info))
    raise RegionNotFound(region, [i.name for i in infos])


@router.get("/v1/categories", response_model=list[CategoryOut], response_class=FastJSONResponse)
def categories(standard: StandardDep) -> FastJSONResponse:
    """Facility categories with Chinese and English labels, and the tiers requiring them."""
    needed: dict[str, set[int]] = {}
    for tier in standard.tiers:
        for req in tier.requirements:
            for c in req.categories:
                needed.setdefault(c, set()).add(tier.minutes)
    return FastJSONResponse(
        [
            {
                "id": c.id,
                "label_en": c.label_en,
                "label_zh": c.label_zh,
                "color": c.color,
                "required_by": sorted(needed.get(c.id, ())),
            }
            for c in standard.categories
        ]
    )


@router.get("/v1/standards", response_model=StandardOut, response_class=FastJSONResponse)
def standards(standard: StandardDep) -> FastJSONResponse:
    """The living-circle standard (GB 50180-2018): tiers, requirements, walking profiles."""
    return FastJSONResponse(
        {
            "name": standard.name,
            "source": standard.source,
            "profiles": [
                {
                    "id": p.id,
                    "speed_m_s": p.speed_m_s,
                    "label_en": p.label_en,
                    "label_zh": p.label_zh,
                }
                for p in standard.profiles.values()
            ],
            "tiers": [asdict(t) for t in standard.tiers],
            "groups": [asdict(g) for g in standard.groups],
        }
    )
