"""Request and response bodies, as pydantic models: what OpenAPI documents and validates.

This module holds the shared GeoJSON pieces, problem details, facilities (read, written,
audited) and live statuses; the answers of the walking questions are in
:mod:`livingcircle.api.models_queries`, the API's own records (health, standard, regions) in
:mod:`livingcircle.api.models_meta`.

Responses with geometry are GeoJSON (RFC 7946) FeatureCollections or Features; errors are
RFC 9457 problem details. The engine builds the GeoJSON itself (``to_geojson()``), so the
routes hand it over untouched and these models only describe it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.config import ExtraValues

from livingcircle.geo.text import MAX_CHARS, check_tags, check_text


def examples(*values: dict[str, Any], extra: ExtraValues | None = None) -> ConfigDict:
    """A model's configuration with its examples, as OpenAPI shows them."""
    config = ConfigDict(json_schema_extra={"examples": list(values)})
    if extra is not None:
        config["extra"] = extra
    return config


def point_example(lon: float, lat: float, **properties: Any) -> dict[str, Any]:
    """An example GeoJSON Point Feature."""
    point = {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Feature", "geometry": point, "properties": properties}


GeometryType = Literal[
    "Point",
    "LineString",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
]


class Geometry(BaseModel):
    """A GeoJSON geometry in WGS 84 longitude, latitude."""

    type: GeometryType
    coordinates: list[Any] | None = Field(default=None, examples=[[24.9414, 60.171]])
    geometries: list[Any] | None = None


class Feature(BaseModel):
    """A GeoJSON Feature."""

    type: Literal["Feature"]
    geometry: Geometry
    properties: dict[str, Any]


# -- problems ---------------------------------------------------------------------------------


class ProblemItem(BaseModel):
    """One thing wrong with a request."""

    location: str = Field(examples=["query"])
    name: str = Field(examples=["lat"])
    message: str = Field(examples=["Input should be less than or equal to 90"])
    allowed: str | None = Field(default=None, examples=["-90 to 90"])


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (``application/problem+json``)."""

    model_config = examples(
        {
            "type": "urn:livingcircle:problem:point-outside-region",
            "title": "Not Found",
            "status": 404,
            "instance": "/v1/nearest",
            "detail": "point (31.000000, 121.000000) is outside every loaded region "
            "(helsinki: "
            "lat 60.1642 to 60.1791, lon 24.9352 to 24.9534); load the area first with "
            "'livingcircle load FILE --region NAME'",
        }
    )

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemItem] | None = None


# -- facilities -------------------------------------------------------------------------------


class FacilityProperties(BaseModel):
    """A stored facility's attributes."""

    id: str = Field(examples=["osm:node/25502063"])
    source: str = Field(examples=["osm"])
    source_id: str = Field(examples=["node/25502063"])
    name: str
    name_zh: str
    name_en: str
    category: str = Field(examples=["pharmacy"])
    category_en: str = Field(examples=["Pharmacy"])
    category_zh: str = Field(examples=["药店"])
    opening_hours: str
    tags: dict[str, Any]


class FacilityFeature(BaseModel):
    """One facility as a GeoJSON Feature."""

    model_config = examples(
        {
            "type": "Feature",
            "id": "osm:node/25502063",
            "geometry": {"type": "Point", "coordinates": [24.9500656, 60.1790676]},
            "properties": {
                "id": "osm:node/25502063",
                "source": "osm",
                "source_id": "node/25502063",
                "name": "Hakaniemi",
                "name_zh": "",
                "name_en": "",
                "category": "bus_stop",
                "category_en": "Bus stop",
                "category_zh": "公交站",
                "opening_hours": "",
                "tags": {"highway": "bus_stop"},
            },
        }
    )

    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: FacilityProperties


class PageInfo(BaseModel):
    """Where a page of facilities sits in the whole answer."""

    region: str
    limit: int
    offset: int
    returned: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


class FacilityCollection(BaseModel):
    """A page of facilities, ordered by id."""

    type: Literal["FeatureCollection"]
    features: list[FacilityFeature]
    properties: PageInfo


#: JSON numbers only: strict, so ``"60.1"`` and ``true`` are refused, not read as numbers.
JSONLon = Annotated[float, Field(strict=True, ge=-180, le=180)]
JSONLat = Annotated[float, Field(strict=True, ge=-90, le=90)]


class PointIn(BaseModel):
    """A GeoJSON Point, longitude then latitude (WGS 84)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Point"]
    coordinates: tuple[JSONLon, JSONLat]


def _stored(kind: str) -> AfterValidator:
    """The one rule of text that is stored (``geo.text``), as a pydantic validator."""
    return AfterValidator(lambda v, info: check_text(v, kind, info.field_name or "text"))


Text = Annotated[str, Field(max_length=MAX_CHARS["name"]), _stored("name")]
TagText = Annotated[str, Field(max_length=MAX_CHARS["tag_value"]), _stored("tag_value")]


class FacilityPropertiesIn(BaseModel):
    """What a department states about one of its facilities."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(
        max_length=64, description="A category id (GET /v1/categories).", examples=["clinic"]
    )
    name: Text = ""
    name_zh: Text = Field(default="", examples=["海曙社区卫生服务站"])
    name_en: Text = ""
    opening_hours: TagText = Field(default="", examples=["Mo-Fr 08:00-17:00"])
    tags: Annotated[dict[str, str], AfterValidator(check_tags)] = Field(
        default_factory=dict,
        max_length=50,
        description=f"Keys of at most {MAX_CHARS['tag_key']} characters on one line, values of "
        f"at most {MAX_CHARS['tag_value']}; no NUL, lone surrogate or control character.",
        examples=[{"phone": "+86 574 0000 0000"}],
    )


class NewFacilityPropertiesIn(FacilityPropertiesIn):
    """A new facility: also its id in the department's own list."""

    source_id: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:/-]+$",
        description="The department's own id; the facility id becomes 'OWNER:SOURCE_ID'.",
        examples=["clinic-17"],
    )


#: The example of a facility sent: a department's clinic (a new one adds its ``source_id``).
_CLINIC = point_example(
    24.9414, 60.1712, category="clinic", name_zh="社区卫生服务站", opening_hours="Mo-Fr 08:00-17:00"
)


class FacilityIn(BaseModel):
    """A facility to store, as a GeoJSON Feature with a Point geometry."""

    model_config = examples(_CLINIC, extra="forbid")

    type: Literal["Feature"]
    geometry: PointIn
    properties: FacilityPropertiesIn


class NewFacilityIn(FacilityIn):
    """A new facility, as a GeoJSON Feature with a Point geometry."""

    model_config = examples(
        {**_CLINIC, "properties": {"source_id": "clinic-17", **_CLINIC["properties"]}}
    )

    properties: NewFacilityPropertiesIn


class AuditOut(BaseModel):
    """One entry of the audit log: a facility's change, a status, a load or an import."""

    seq: int = Field(description="Its place in the region's log: 1, 2, 3, ...")
    facility_id: str = Field(
        description="The facility changed (empty for a load or an import), or the key's id."
    )
    action: Literal[
        "create",
        "update",
        "delete",
        "status",
        "load",
        "import",
        "region-remove",
        "key-add",
        "key-revoke",
    ]
    actor: str = Field(
        description="Owner of the API key that made the change, or local:USER for the CLI."
    )
    at: str = Field(description="When, ISO 8601 UTC.")
    before: dict[str, Any] | None
    after: dict[str, Any] | None = Field(
        description="The facility after the change; for a load or an import the counts and "
        "the ids of the facilities added, changed and removed."
    )
    prev: str = Field(description="SHA-256 of the entry before it (64 zeros for the first).")
    hash: str = Field(description="SHA-256 of this entry ('livingcircle audit verify').")


# -- live status ------------------------------------------------------------------------------

_Count = Annotated[int, Field(strict=True)]


class StatusIn(BaseModel):
    """A facility's live status, as its department reports it now (replacing the last one).

    Give at least one field. The bounds are checked in one place for both stores
    (``livingcircle.geo.status.check_status``): spaces 0 to 100,000 (free ≤ total), a queue
    of 0 to 1,440 minutes, a closure up to 366 days ahead (with a time zone), a note of at
    most 200 characters on one line.
    """

    model_config = examples(
        {"spaces_free": 42, "spaces_total": 120},
        {"closed_until": "2027-01-12T18:00:00+08:00", "note": "维修 · closed for repairs"},
        {"queue_minutes": 25},
        extra="forbid",
    )

    spaces_free: _Count | None = Field(default=None, ge=0, le=100_000)
    spaces_total: _Count | None = Field(default=None, ge=1, le=100_000)
    closed_until: AwareDatetime | None = None
    note: str = Field(default="", max_length=200)
    queue_minutes: _Count | None = Field(default=None, ge=0, le=1440)


class StatusOut(BaseModel):
    """A facility's live status: what was reported, when, how long ago, by whom."""

    facility_id: str = Field(examples=["osm:way/8042215"])
    category: str = Field(examples=["car_parking"])
    actor: str = Field(description="The department that reported it.")
    spaces_free: int | None = None
    spaces_total: int | None = None
    closed_until: str | None = None
    note: str | None = None
    queue_minutes: int | None = None
    updated_at: str = Field(description="When it was reported, ISO 8601 UTC.")
    age_s: int = Field(description="Seconds since then.")
    closed: bool = Field(description="closed_until is still ahead.")
    stale: bool = Field(
        description="Older than the category's limit; answers no longer show "
        "it ([status.stale_after_s] in the standards file)."
    )
