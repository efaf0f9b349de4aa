"""Answers of the walking questions, as pydantic models: nearest, catchment, kiosk, search.

The engine writes these GeoJSON answers itself (``to_geojson()``); the models describe them
for OpenAPI. The shared GeoJSON pieces are in :mod:`livingcircle.api.models`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from livingcircle.api.models import Feature, Geometry, examples, point_example

# -- nearest and catchment --------------------------------------------------------------------


class RequirementOut(BaseModel):
    """One requirement of a GB 50180 tier, checked at the query point."""

    id: str
    label_en: str
    label_zh: str
    categories: list[str]
    radius_m: float
    present: bool
    nearest_id: str | None
    nearest_m: float | None


class TierOut(BaseModel):
    """A living-circle tier: which of its requirements are present and which are missing."""

    minutes: int
    distance_m: float
    label_en: str
    label_zh: str
    present: list[str]
    missing: list[str]
    requirements: list[RequirementOut]


_PROFILE = "The walking profile asked for (GET /v1/standards); its street rules shaped the walk."
_NOTES = (
    "What the profile left out or assumed: facilities tagged wheelchair=no it cannot reach "
    "or flags, slopes from incline tags only when no elevation model was loaded."
)


class NearestSummary(BaseModel):
    """What a nearest query searched."""

    region: str
    speed_m_s: float
    k: int
    not_found: list[str] = Field(description="Asked categories with nothing within reach.")
    searched_m: float
    profile: str = Field("standard", description=_PROFILE)
    notes: list[str] = Field(default_factory=list, description=_NOTES)


class CatchmentSummary(BaseModel):
    """The GB 50180 checklist of a catchment."""

    region: str
    speed_m_s: float
    tiers: list[TierOut]
    profile: str = Field("standard", description=_PROFILE)
    notes: list[str] = Field(default_factory=list, description=_NOTES)


_ORIGIN = point_example(24.9414, 60.171, kind="origin", snapped=[24.94141, 60.17093], access_m=7.6)
_PHARMACY = point_example(
    24.94326,
    60.16987,
    kind="facility",
    id="osm:node/1234567",
    name="Apteekki",
    name_zh="",
    category="pharmacy",
    category_en="Pharmacy",
    category_zh="药店",
    distance_m=231.4,
    time_s=231.4,
    minutes=3.9,
    open_status="open",
    closing_soon=False,
    closes_at="2025-01-15T21:00:00+02:00",
    rank=1,
)


class NearestCollection(BaseModel):
    """Nearest facilities: the origin, each facility (ranked per category) and its route."""

    model_config = examples(
        {
            "type": "FeatureCollection",
            "features": [_ORIGIN, _PHARMACY],
            "properties": {
                "region": "helsinki",
                "speed_m_s": 1.0,
                "k": 1,
                "not_found": [],
                "searched_m": 1000.0,
                "profile": "step-free",
                "notes": ["no elevation model was loaded: slopes come from incline tags only"],
            },
        }
    )

    type: Literal["FeatureCollection"]
    features: list[Feature] = Field(description="kind = origin, facility or route.")
    properties: NearestSummary


class CatchmentCollection(BaseModel):
    """A catchment: the origin, one polygon per ring (largest first) and the facilities."""

    model_config = examples(
        {
            "type": "FeatureCollection",
            "features": [
                _ORIGIN,
                {
                    "type": "Feature",
                    "properties": {
                        "kind": "ring",
                        "minutes": 5,
                        "area_m2": 151230.5,
                        "street_m": 4120.3,
                    },
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [24.938, 60.169],
                                [24.945, 60.169],
                                [24.945, 60.173],
                                [24.938, 60.169],
                            ]
                        ],
                    },
                },
                {**_PHARMACY, "properties": {**_PHARMACY["properties"], "ring_minutes": 5}},
            ],
            "properties": {
                "region": "helsinki",
                "speed_m_s": 1.0,
                "tiers": [
                    {
                        "minutes": 5,
                        "distance_m": 300.0,
                        "label_en": "5-minute living circle",
                        "label_zh": "五分钟生活圈居住区",
                        "present": ["pharmacy"],
                        "missing": [],
                        "requirements": [
                            {
                                "id": "pharmacy",
                                "label_en": "Pharmacy",
                                "label_zh": "药店",
                                "categories": ["pharmacy"],
                                "radius_m": 300.0,
                                "present": True,
                                "nearest_id": "osm:node/1234567",
                                "nearest_m": 231.4,
                            }
                        ],
                    }
                ],
            },
        }
    )

    type: Literal["FeatureCollection"]
    features: list[Feature] = Field(description="kind = origin, ring or facility.")
    properties: CatchmentSummary


class KioskService(BaseModel):
    """The nearest service of one category, as a kiosk lists it."""

    category: str = Field(examples=["pharmacy"])
    color: str
    label_zh: str = Field(examples=["药店"])
    label_en: str = Field(examples=["Pharmacy"])
    name: str
    minutes: float
    metres: int
    lon: float
    lat: float
    status: dict[str, Any] | None = Field(
        default=None, description="The department's live status, while fresh (as in nearest)."
    )
    status_zh: str | None = Field(default=None, examples=["42 个空位 · 2 分钟前"])
    status_en: str | None = Field(default=None, examples=["42 spaces · 2 min ago"])


class KioskData(BaseModel):
    """What a kiosk's list shows, nearest first."""

    kiosk: str = Field(examples=["helsinki-station"])
    name_zh: str
    name_en: str
    language: str = Field(examples=["zh"])
    services: list[KioskService]


# -- search -----------------------------------------------------------------------------------


class SearchProperties(BaseModel):
    """A place found by name."""

    kind: Literal["facility", "street", "kiosk"]
    id: str = Field(examples=["osm:node/25502063"])
    name: str = Field(description="The name to show (the local one; a kiosk's English one).")
    name_zh: str
    name_en: str
    category: str = Field(description="Facilities only; empty for streets and kiosks.")
    category_zh: str
    category_en: str
    score: float = Field(
        description="Match quality, 0 to 100: 100 exact, 95 prefix, 90 word "
        "prefix, 85 part of the name, below 80 a typo."
    )
    distance_m: float | None = Field(
        default=None, description="Straight line from lat/lon (not the walk), when they were given."
    )
    region: str


class SearchFeature(BaseModel):
    """A place found, as a GeoJSON Point Feature (a street at the middle of its longest part)."""

    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: SearchProperties


class SearchSummary(BaseModel):
    """What was searched, and what to offer when nothing was found."""

    regions: list[str]
    returned: int
    suggestions: list[str] = Field(description="When nothing was found: the closest names.")
    message: str | None = Field(description="When nothing was found: what to tell the user.")


class SearchCollection(BaseModel):
    """Places found by name, best match first, equal matches nearest first."""

    model_config = examples(
        {
            "type": "FeatureCollection",
            "features": [],
            "properties": {
                "regions": ["helsinki"],
                "returned": 0,
                "suggestions": ["Kauppatori", "Kauppakeskus Kluuvi"],
                "message": "nothing called 'kauppx' in helsinki; closest: Kauppatori, "
                "Kauppakeskus Kluuvi",
            },
        }
    )

    type: Literal["FeatureCollection"]
    features: list[SearchFeature]
    properties: SearchSummary
