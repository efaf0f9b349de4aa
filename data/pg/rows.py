"""Rows read from the database as the store's values and frames (the file store's dtypes)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geopandas.array import GeometryArray
from pyproj import CRS

from livingcircle.data.pg.sql import _KEY_COLUMNS, _STATUS_COLUMNS
from livingcircle.data.pg_schema import EDGE_TAG_COLUMNS, SRID
from livingcircle.geo.audit import in_column_order
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.status import FacilityStatus
from livingcircle.geo.store import FACILITY_COLUMNS, ApiKey, AuditEntry, RegionInfo

_CRS = CRS.from_epsg(SRID)


def _api_key(row: Sequence[Any]) -> ApiKey:
    """A row of ``_KEY_COLUMNS`` (the fields of :class:`ApiKey`) as a key, times in UTC."""
    values = dict(zip(_KEY_COLUMNS.split(", "), row, strict=True))
    for name in ("created_at", "expires_at", "revoked_at", "last_used_at"):
        if values[name] is not None:
            values[name] = values[name].astimezone(UTC)
    return ApiKey(**values)


def _no_key(key_id: str) -> InvalidParameter:
    return InvalidParameter(f"there is no API key {key_id!r}; see 'livingcircle keys list'")


def _status(row: Sequence[Any]) -> FacilityStatus:
    values = dict(zip(_STATUS_COLUMNS, row, strict=True))
    for name in ("closed_until", "updated_at"):
        if values[name] is not None:
            values[name] = values[name].astimezone(UTC)
    return FacilityStatus(**values)


def _info(row: Sequence[Any]) -> RegionInfo:
    name, source, loaded_at, w, s, e, n, n_nodes, n_edges, n_facilities = row
    return RegionInfo(
        name, source, loaded_at.astimezone(UTC), (w, s, e, n), n_nodes, n_edges, n_facilities
    )


def _columns(rows: Sequence[Sequence[Any]], n: int) -> list[list[Any]]:
    """Rows to ``n`` columns (one transposition, in C)."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(n)]


def _strings(values: list[Any]) -> pd.Series:
    return pd.Series(values, dtype="str")


def _wkb(values: list[Any]) -> Any:
    return shapely.from_wkb(np.array(values, dtype=object)) if values else np.empty(0, dtype=object)


def _nodes_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows of ``_NODES_SQL``; ``ele`` only where the region was saved with it (not all NULL)."""
    node, osmid, lon, lat, ele = _columns(rows, 5)
    frame = pd.DataFrame(
        {
            "node": np.array(node, dtype=np.int32),
            "osmid": np.array(osmid, dtype=np.int64),
            "lon": np.array(lon, dtype=np.float64),
            "lat": np.array(lat, dtype=np.float64),
        }
    )
    if any(e is not None for e in ele):
        frame["ele"] = np.array(ele, dtype=np.float64)  # NULL and NaN: NaN
    return frame


def _edges_frame(rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
    """Rows of ``_EDGES_SQL``; a tag column only where the region was saved with it."""
    n_tags = len(EDGE_TAG_COLUMNS)
    edge, u, v, length, oneway, way, highway, name, *tags, wkb = _columns(rows, 9 + n_tags)
    return gpd.GeoDataFrame(
        {
            "edge": np.array(edge, dtype=np.int32),
            "u": np.array(u, dtype=np.int32),
            "v": np.array(v, dtype=np.int32),
            "length_m": np.array(length, dtype=np.float64),
            "oneway": np.array(oneway, dtype=bool),
            "way_id": np.array(way, dtype=np.int64),
            "highway": _strings(highway),
            "name": _strings(name),
            **{
                tag: _strings(values)
                for tag, values in zip(EDGE_TAG_COLUMNS, tags, strict=True)
                if any(t is not None for t in values)
            },
        },
        geometry=GeometryArray(_wkb(wkb), crs=_CRS),
    )


def _facility_frame(
    rows: Sequence[Sequence[Any]], geoms: Any = None, straight_m: Any = None
) -> gpd.GeoDataFrame:
    """Rows of ``_FACILITY_SQL`` as the embedded store's frame (same columns and dtypes)."""
    values = _columns(rows, len(FACILITY_COLUMNS) + 1)
    columns: dict[str, Any] = dict(zip(FACILITY_COLUMNS, values, strict=False))
    columns["tags"] = [_tags_text(t) for t in columns["tags"]]
    if geoms is None:
        geoms = _wkb(values[-1])
    columns["geometry"] = GeometryArray(np.asarray(geoms, dtype=object), crs=_CRS)
    for c in FACILITY_COLUMNS:  # an empty or all-null list would not be inferred as str
        if not any(isinstance(v, str) for v in columns[c]):
            columns[c] = pd.array(columns[c], dtype="str")
    if straight_m is not None:
        columns["straight_m"] = np.asarray(straight_m, dtype=np.float64)
    return gpd.GeoDataFrame(pd.DataFrame(columns), geometry="geometry")


def _tags_text(value: str | None) -> str | None:
    """Tags as the loaders write them (see ``_TAGS_SQL``)."""
    if value is None or not value.startswith("!"):
        return value
    return json.dumps(json.loads(value[1:]), ensure_ascii=False, sort_keys=True)


def _audit_entry(row: Sequence[Any], ordered: bool = True) -> AuditEntry:
    """A row of ``_AUDIT_COLUMNS`` as an entry (JSON keys in column order when ``ordered``)."""
    tidy = in_column_order if ordered else (lambda raw: raw)
    return AuditEntry(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4].astimezone(UTC),
        tidy(row[5]),
        tidy(row[6]),
        int(row[7]),
        row[8],
        row[9],
    )
