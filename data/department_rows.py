"""Checking a department's rows: each accepted (in WGS-84) or rejected with a reason.

A row is rejected for a missing or repeated id, missing, unparsable or out-of-range
coordinates, a missing or unknown category, text that :mod:`livingcircle.geo.text` refuses,
or a point outside the region; the department sees the row number and what to fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from livingcircle.data.department_lists import ListMapping, RawList
from livingcircle.geo.coords import normalise_crs, to_wgs84
from livingcircle.geo.errors import ImportFileError, UnknownCategory
from livingcircle.geo.standards import Standard
from livingcircle.geo.text import text_problem

_FIELDS = ("name", "name_zh", "name_en", "category", "address", "opening_hours")
_EARTH_M_PER_DEG = 111_195.0


# -- checking rows ----------------------------------------------------------------------------


@dataclass
class Rejected:
    """A row left out, with the reason a department can act on."""

    row: int
    reason: str
    values: dict[str, str]


@dataclass
class Checked:
    """The rows that passed, as department records (``entries``), and those that did not."""

    entries: list[dict[str, Any]]
    geometries: list[shapely.Geometry]
    rejected: list[Rejected]


def check_rows(
    raw: RawList,
    mapping: ListMapping,
    standard: Standard,
    bounds: tuple[float, float, float, float],
    margin_m: float = 500.0,
) -> Checked:
    """Validate every row; convert the good ones' coordinates to WGS-84.

    Each row is either accepted or rejected with one reason: a missing or repeated id, missing,
    unparsable or out-of-range coordinates, a missing or unknown category, or a point outside
    the region's bounds (widened by ``margin_m``).
    """
    _require_columns(raw, mapping)
    crs = mapping.crs or (normalise_crs(raw.file_crs) if raw.file_crs else "wgs84")
    geoms, problems = _source_geometries(raw, mapping, crs)
    converted = _convert(geoms, crs)
    anchors = shapely.point_on_surface(converted)
    lon, lat = shapely.get_x(anchors), shapely.get_y(anchors)
    margin = margin_m / _EARTH_M_PER_DEG
    w, s, e, n = bounds
    seen: dict[str, int] = {}
    result = Checked([], [], [])
    for i, record in enumerate(raw.attributes.to_dict("records")):
        values = {str(k): _text(v) for k, v in record.items()}
        reason = (
            _text_problem(values, mapping)
            or problems[i]
            or _id_problem(values, mapping, seen, raw.row_numbers[i])
        )
        category, category_problem = _category(values, mapping, standard)
        reason = reason or category_problem
        if not reason and not (
            w - margin <= lon[i] <= e + margin and s - margin <= lat[i] <= n + margin
        ):
            reason = (
                f"outside the region (point {lon[i]:.6f}, {lat[i]:.6f} in WGS-84 after "
                f"converting from {crs}; the region spans longitude {w:.4f} to {e:.4f}, "
                f"latitude {s:.4f} to {n:.4f}); check the coordinates and the crs"
            )
        if reason:
            result.rejected.append(Rejected(raw.row_numbers[i], reason, values))
            continue
        result.entries.append(
            _entry(
                values, mapping, category, crs, converted[i], (float(lon[i]), float(lat[i])), raw, i
            )
        )
        result.geometries.append(converted[i])
    return result


def _require_columns(raw: RawList, mapping: ListMapping) -> None:
    have = set(map(str, raw.attributes.columns))
    wanted = [
        c for k, c in mapping.columns.items() if k in (*_FIELDS, "id", "lon", "lat", "coordinates")
    ]
    missing = sorted(set(wanted + list(mapping.extra)) - have)
    if missing:
        raise ImportFileError(
            f"the list has no column {', '.join(map(repr, missing))} that "
            f"the mapping names; its columns are: {', '.join(sorted(have))}"
        )
    if raw.geometry is None and not (
        {"lon", "lat"} <= mapping.columns.keys() or "coordinates" in mapping.columns
    ):
        raise ImportFileError(
            "mapping of a CSV or Excel list needs [columns] lon and lat, or "
            "coordinates (one column with 'lon,lat')"
        )


def _source_geometries(
    raw: RawList, mapping: ListMapping, crs: str
) -> tuple[np.ndarray, list[str | None]]:
    """Each row's geometry in the source system (None where missing) and its problem."""
    if raw.geometry is not None and not ({"lon", "lat"} <= mapping.columns.keys()):
        geoms = np.asarray(raw.geometry.to_numpy(), dtype=object)
        problems: list[str | None] = [
            "missing geometry" if g is None or shapely.is_empty(g) else None for g in geoms
        ]
        return _range_checked(geoms, problems, crs)
    xs, ys, problems = _coordinates(raw.attributes, mapping)
    geoms = np.array(
        [
            shapely.Point(x, y) if p is None else None
            for x, y, p in zip(xs, ys, problems, strict=True)
        ],
        dtype=object,
    )
    return _range_checked(geoms, problems, crs)


def _coordinates(
    frame: pd.DataFrame, mapping: ListMapping
) -> tuple[list[float], list[float], list[str | None]]:
    if "coordinates" in mapping.columns:
        pairs = [
            re.split(r"[,\s;，]+", str(v).strip()) if str(v).strip() else []
            for v in frame[mapping.columns["coordinates"]]
        ]
        texts = [
            (p[0] if len(p) == 2 else "?", p[1] if len(p) == 2 else "?") if p else ("", "")
            for p in pairs
        ]
    else:
        texts = list(
            zip(
                frame[mapping.columns["lon"]].astype(str),
                frame[mapping.columns["lat"]].astype(str),
                strict=True,
            )
        )
    xs, ys, problems = [], [], []
    for tx, ty in texts:
        x, y, problem = _parse_pair(tx, ty)
        xs.append(x)
        ys.append(y)
        problems.append(problem)
    return xs, ys, problems


def _parse_pair(tx: str, ty: str) -> tuple[float, float, str | None]:
    if not tx.strip() or not ty.strip():
        return math.nan, math.nan, "missing coordinates"
    try:
        x, y = float(tx.strip()), float(ty.strip())
    except ValueError:
        return math.nan, math.nan, f"unparsable coordinates ({tx!r}, {ty!r}); write numbers"
    if not (math.isfinite(x) and math.isfinite(y)):
        return math.nan, math.nan, f"unparsable coordinates ({tx!r}, {ty!r}); write numbers"
    return x, y, None


def _range_checked(
    geoms: np.ndarray, problems: list[str | None], crs: str
) -> tuple[np.ndarray, list[str | None]]:
    if crs not in ("wgs84", "gcj02", "bd09"):
        return geoms, problems
    for i, g in enumerate(geoms):
        if problems[i] is None:
            b = shapely.bounds(g)
            if not (-180 <= b[0] <= b[2] <= 180 and -90 <= b[1] <= b[3] <= 90):
                problems[i] = (
                    f"coordinates out of range ({b[0]}, {b[1]}): longitude must be "
                    "-180 to 180 and latitude -90 to 90 (are they swapped?)"
                )
                geoms[i] = None
    return geoms, problems


def _convert(geoms: np.ndarray, crs: str) -> np.ndarray:
    """Geometries in WGS-84; a missing one stays None (its row is rejected)."""
    filled = np.array(
        [None if g is None or shapely.is_empty(g) else g for g in geoms], dtype=object
    )
    if crs == "wgs84" or len(filled) == 0:
        return filled

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1], crs)
        return np.column_stack([lon, lat])

    return np.asarray(shapely.transform(filled, move), dtype=object)


#: the text kind (``geo.text``) of each mapped column that is stored; the rest are values
_KINDS = {"id": "id", "name": "name", "name_zh": "name", "name_en": "name", "category": "name"}


def _text_problem(values: dict[str, str], mapping: ListMapping) -> str | None:
    """Why a row's stored text breaks the rule of ``geo.text`` (the first column), or None."""
    columns = [(k, c) for k, c in mapping.columns.items() if k not in ("lon", "lat", "coordinates")]
    for key, column in [*columns, *(("field", c) for c in mapping.extra)]:
        value = values.get(column, "")  # mapped columns are stored stripped, extra ones as read
        value = value if key == "field" else value.strip()
        found = text_problem(value, _KINDS.get(key, "tag_value"))
        if found is not None:
            return f"column {column!r} ({key}) {found[0]}"
    return None


def _id_problem(
    values: dict[str, str], mapping: ListMapping, seen: dict[str, int], row: int
) -> str | None:
    source_id = values.get(mapping.columns["id"], "").strip()
    if not source_id:
        return f"missing id (column {mapping.columns['id']!r})"
    if source_id in seen:
        return f"repeated id {source_id!r} (also on row {seen[source_id]}); ids must be unique"
    seen[source_id] = row
    return None


def _category(
    values: dict[str, str], mapping: ListMapping, standard: Standard
) -> tuple[str, str | None]:
    column = mapping.columns.get("category")
    if column is None:
        return "", "the mapping names no category column"
    value = values.get(column, "").strip()
    if not value:
        return "", f"missing category (column {column!r})"
    category = mapping.categories.get(value, value)
    try:
        standard.category(category)
    except UnknownCategory:
        return "", (
            f"unknown category {value!r}; map it to one of the standard's categories "
            "in the mapping's [categories] table"
        )
    return category, None


def _entry(
    values: dict[str, str],
    mapping: ListMapping,
    category: str,
    crs: str,
    geom: shapely.Geometry,
    anchor: tuple[float, float],
    raw: RawList,
    i: int,
) -> dict[str, Any]:
    cols = mapping.columns
    entry: dict[str, Any] = {
        "source": mapping.source,
        "source_id": values[cols["id"]].strip(),
        "category": category,
        "lon": round(anchor[0], 7),
        "lat": round(anchor[1], 7),
        "crs": crs,
    }
    for key in ("name", "name_zh", "name_en", "address", "opening_hours"):
        if key in cols and values.get(cols[key], "").strip():
            entry[key] = values[cols[key]].strip()
    if category != values.get(cols["category"], "").strip():
        entry["source_category"] = values[cols["category"]].strip()
    if raw.geometry is None:
        x, y = _original_xy(values, cols)
        entry["x"], entry["y"] = x, y
    if geom.geom_type != "Point":
        entry["wkt"] = shapely.to_wkt(geom, rounding_precision=7)
    extra = {c: values[c] for c in mapping.extra if values.get(c, "") != ""}
    if extra:
        entry["fields"] = extra
    return entry


def _original_xy(values: dict[str, str], cols: Mapping[str, str]) -> tuple[str, str]:
    if "coordinates" in cols:
        parts = re.split(r"[,\s;，]+", values[cols["coordinates"]].strip())
        return parts[0], parts[1]
    return values[cols["lon"]].strip(), values[cols["lat"]].strip()


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)
