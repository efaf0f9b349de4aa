"""Query and path parameters shared by several routes, with their documented limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import Field

from livingcircle.geo import config
from livingcircle.geo.errors import InvalidParameter

REGION_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
#: Longest name search, characters.
MAX_QUERY_CHARS = 100
#: Longest facility id, characters.
MAX_ID_CHARS = 200
#: A longitude and a latitude in plain decimal degrees, within range (no exponent, no '_').
LON_TEXT = r"-?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[0-9]{1,2})(?:\.[0-9]{1,15})?)"
LAT_TEXT = r"-?(?:90(?:\.0+)?|[0-8]?[0-9](?:\.[0-9]{1,15})?)"
#: ``west,south,east,north``: the form and ranges the schema can say (order and area it cannot).
BBOX_PATTERN = rf"^{LON_TEXT},{LAT_TEXT},{LON_TEXT},{LAT_TEXT}$"


def check_bbox_text(text: str) -> None:
    """Refuse a bbox that :data:`BBOX_PATTERN` refuses, saying why in words (422)."""
    if re.fullmatch(BBOX_PATTERN, text):
        return
    parts = text.split(",")
    if len(parts) == 4 and all(re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", p) for p in parts):
        raise InvalidParameter(
            f"bbox {text!r} is out of range; allowed: west and east -180 to 180, south and "
            "north -90 to 90, in plain decimal degrees (west,south,east,north)"
        )
    raise InvalidParameter(
        f"bbox {text!r} is not four plain decimal numbers; allowed: west,south,east,north in "
        "degrees, e.g. 24.93,60.16,24.96,60.18 (no spaces, exponents or '_')"
    )


def lat_param(description: str) -> Any:
    """A latitude query parameter: WGS 84 degrees, -90 to 90."""
    return Query(ge=-90, le=90, description=description, examples=[60.1710])


def lon_param(description: str) -> Any:
    """A longitude query parameter: WGS 84 degrees, -180 to 180."""
    return Query(ge=-180, le=180, description=description, examples=[24.9414])


Lat = Annotated[float, lat_param("Latitude, WGS 84 degrees.")]
Lon = Annotated[float, lon_param("Longitude, WGS 84 degrees.")]


def region_param(kind: Callable[..., Any], description: str) -> Any:
    """A region name as a query or path parameter (``kind``: ``Query`` or ``Path``)."""
    return kind(
        pattern=REGION_PATTERN, max_length=63, description=description, examples=["helsinki"]
    )


def text_param(kind: Callable[..., Any], max_length: int, description: str, example: str) -> Any:
    """A non-empty text query or path parameter of at most ``max_length`` characters."""
    return kind(min_length=1, max_length=max_length, description=description, examples=[example])


RegionQuery = Annotated[
    str | None,
    region_param(Query, "Region to ask; default: the loaded region containing the point."),
]
RegionPath = Annotated[str, region_param(Path, "A loaded region (GET /v1/regions).")]
FacilityId = Annotated[
    str,
    text_param(Path, MAX_ID_CHARS, "Facility id, e.g. 'osm:node/25502063'.", "osm:node/25502063"),
]
Profile = Annotated[
    str,
    Query(
        max_length=32,
        description="Walking profile (GET /v1/standards): standard 1.0 m/s, "
        "elderly 0.8 m/s, brisk 1.25 m/s, child 0.9 m/s, step-free 0.8 m/s (no steps or "
        "raised kerbs, ramps at most 8 %).",
    ),
]
Speed = Annotated[
    float | None, Query(ge=0.1, le=3.0, description="Walking speed in m/s; overrides the profile.")
]
Categories = Annotated[
    list[Annotated[str, Field(max_length=64)]] | None,
    Query(
        alias="category",
        max_length=40,
        description="Category id, repeatable (GET /v1/categories); default: all.",
    ),
]
Minutes = Annotated[
    list[Annotated[int, Field(ge=1, le=config.MAX_MINUTES)]] | None,
    Query(
        max_length=6,
        description="Ring in whole minutes, repeatable, at most 6; default 5, 10, 15.",
        examples=[[5, 10, 15]],
    ),
]
K = Annotated[int, Query(ge=1, le=config.MAX_K, description="Facilities per category.")]
MaxMinutes = Annotated[
    int | None,
    Query(ge=1, le=config.MAX_MINUTES, description="Leave out facilities farther than this walk."),
]
OpenAt = Annotated[
    str | None,
    Query(
        max_length=40,
        description="The moment of each facility's open_status, ISO 8601 "
        "YYYY-MM-DDTHH:MM[:SS]: without an offset the region's local time, or with one "
        "(+02:00, Z); default now.",
        examples=["2025-01-15T17:45"],
    ),
]
OpenNow = Annotated[
    bool, Query(description="Only facilities open at open_at: k means k open ones.")
]
IncludeUnknown = Annotated[
    bool, Query(description="With open_now, keep facilities whose opening hours are unknown too.")
]
