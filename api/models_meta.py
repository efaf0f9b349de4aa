"""The API's own records, as pydantic models: health, readiness, the standard, the regions.

The standard is what catchments are checked against: categories, walking profiles, tiers and
the everyday groups of categories.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from livingcircle.api.models import Geometry

# -- meta -------------------------------------------------------------------------------------


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """The store answers and every region is loaded (ready), or regions answer from memory."""

    status: Literal["ready", "degraded"]
    store: str
    regions: list[str] = Field(description="Regions loaded (degraded: those in memory).")
    error: str | None = Field(default=None, description="Why the store is unavailable.")


class CategoryOut(BaseModel):
    """A facility category, with the tiers that require it."""

    id: str = Field(examples=["pharmacy"])
    label_en: str = Field(examples=["Pharmacy"])
    label_zh: str = Field(examples=["药店"])
    color: str = Field(examples=["#27ae60"])
    required_by: list[int] = Field(description="Tiers (minutes) that require it.", examples=[[5]])


class ProfileOut(BaseModel):
    """A walking profile."""

    id: str = Field(examples=["elderly"])
    speed_m_s: float = Field(examples=[0.8])
    label_en: str
    label_zh: str


class RequirementDef(BaseModel):
    """What a tier requires within ``radius_m``: one facility of any of ``categories``."""

    id: str
    label_en: str
    label_zh: str
    categories: list[str]
    radius_m: float


class TierDef(BaseModel):
    """A GB 50180 living-circle tier."""

    minutes: int
    distance_m: float
    label_en: str
    label_zh: str
    population: str
    requirements: list[RequirementDef]


class GroupOut(BaseModel):
    """An everyday group of categories (the resident app's chips)."""

    id: str = Field(examples=["health"])
    label_en: str = Field(examples=["Health"])
    label_zh: str = Field(examples=["医疗健康"])
    categories: list[str] = Field(examples=[["clinic", "hospital", "pharmacy"]])


class StandardOut(BaseModel):
    """The standard that catchments are checked against."""

    name: str = Field(examples=["GB 50180-2018"])
    source: str
    profiles: list[ProfileOut]
    tiers: list[TierDef]
    groups: list[GroupOut] = Field(description="Everyday groups of categories.")


class RegionProperties(BaseModel):
    """A loaded region's record."""

    name: str = Field(examples=["helsinki"])
    source: str = Field(examples=["osm-file:Helsinki.osm.pbf"])
    loaded_at: str
    bbox: list[float] = Field(
        description="west, south, east, north", examples=[[24.9352, 60.1642, 24.9534, 60.1791]]
    )
    n_nodes: int
    n_edges: int
    n_facilities: int


class RegionFeature(BaseModel):
    """A region's extent (its bounding box) as a GeoJSON Feature."""

    type: Literal["Feature"]
    id: str
    bbox: list[float]
    geometry: Geometry
    properties: RegionProperties


class RegionCollection(BaseModel):
    """Every loaded region and its extent."""

    type: Literal["FeatureCollection"]
    features: list[RegionFeature]
