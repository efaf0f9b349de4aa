"""GeoJSON out: a fast response class, and stored rows as Features."""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import orjson
import shapely
from fastapi.responses import JSONResponse

from livingcircle.geo.audit import entry_record
from livingcircle.geo.errors import UnknownCategory
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import AuditEntry, RegionInfo

GEOJSON = "application/geo+json"


class GeoJSONResponse(JSONResponse):
    """``application/geo+json``, serialised with orjson (catchments are large)."""

    media_type = GEOJSON

    def render(self, content: Any) -> bytes:
        """Bytes of ``content``; NumPy numbers and tuples included."""
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class FastJSONResponse(GeoJSONResponse):
    """Plain ``application/json``, serialised with orjson."""

    media_type = "application/json"


def facility_features(frame: gpd.GeoDataFrame, standard: Standard) -> list[dict[str, Any]]:
    """Stored facility rows as GeoJSON Features (the Feature id is the facility id)."""
    geometries = shapely.to_geojson(frame.geometry.to_numpy())
    records = frame.drop(columns=frame.geometry.name).to_dict("records")
    return [_facility(r, g, standard) for r, g in zip(records, geometries, strict=True)]


def _facility(row: dict[str, Any], geometry: str, standard: Standard) -> dict[str, Any]:
    try:
        category = standard.category(str(row["category"]))
        labels = (category.label_en, category.label_zh)
    except UnknownCategory:  # stored under a standard this one does not know
        labels = ("", "")
    columns = ("id", "source", "source_id", "name", "name_zh", "name_en", "category")
    props: dict[str, Any] = {c: _text(row.get(c)) for c in columns}
    props |= {
        "category_en": labels[0],
        "category_zh": labels[1],
        "opening_hours": _text(row.get("opening_hours")),
        "tags": _tags(row.get("tags")),
    }
    return {
        "type": "Feature",
        "id": props["id"],
        "geometry": json.loads(geometry),
        "properties": props,
    }


def _text(value: object) -> str:
    return "" if value is None or value != value else str(value)  # noqa: PLR0124  (NaN)


def _tags(value: object) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        tags = json.loads(str(value)) if value else {}
    except ValueError:
        return {}
    return tags if isinstance(tags, dict) else {}


def region_feature(info: RegionInfo) -> dict[str, Any]:
    """A region's record and bounding box as a Feature."""
    w, s, e, n = info.bounds
    return {
        "type": "Feature",
        "id": info.name,
        "bbox": [w, s, e, n],
        "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
        "properties": {
            "name": info.name,
            "source": info.source,
            "loaded_at": info.loaded_at.isoformat(),
            "bbox": [w, s, e, n],
            "n_nodes": info.n_nodes,
            "n_edges": info.n_edges,
            "n_facilities": info.n_facilities,
        },
    }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry as JSON: as the log keeps it, without the region the path names."""
    record = entry_record(entry)
    del record["region"]
    return record
