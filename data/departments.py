"""Departments' facility lists: CSV, Excel, GeoJSON or GeoPackage, merged into a region.

A small TOML mapping file says which column holds what, in which coordinate system the
coordinates are, and how the department's categories map to the standard's::

    source = "haishu-health"          # who owns the list (lowercase, digits, '-', '_')
    crs = "gcj02"                     # wgs84 | gcj02 | bd09 | any EPSG code ("EPSG:4547")
    sheet = "2024"                    # Excel only (default: the first sheet)
    encoding = "utf-8"                # CSV only (default utf-8 with or without BOM; "gbk")
    max_distance_m = 50               # matching: how far a department's point may lie ...
    min_similarity = 0.6              # ... and how alike the names must be

    [columns]
    id = "编号"                       # the department's own id: required, unique in the list
    name = "名称"
    category = "类型"
    lon = "经度"                      # or: coordinates = "坐标" ("lon,lat" in one column);
    lat = "纬度"                      # GeoJSON and GeoPackage use their geometry instead
    address = "地址"                  # optional, like name_zh, name_en and opening_hours
    extra = ["电话", "床位数"]         # kept with the source's record, not interpreted

    [categories]                     # source value -> category id of the standard
    "社区卫生服务站" = "clinic"
    "药店" = "pharmacy"

A category value that already is a category id of the standard needs no entry.

This module reads the files and checks their rows; the domain rules (matching a record to a
facility, and the provenance it leaves in ``tags``: ``lc:sources``, ``lc:conflicts``,
``lc:filled``) are :mod:`livingcircle.geo.provenance`'s.

An import replaces everything the list's source contributed before, then matches the list's
rows to the region's facilities, so re-importing the same list changes nothing and an edited
list changes only what it edits. Rows that cannot be imported are reported with a reason and
left out; the region is written in one atomic step (or not at all).
"""

from __future__ import annotations

import csv
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from livingcircle.geo.coords import normalise_crs, to_wgs84
from livingcircle.geo.errors import (  # ImportFileError: still importable from here
    ImportFileError,
    UnknownCategory,
)
from livingcircle.geo.provenance import (  # noqa: F401  (the merge's names, used here before)
    CONFLICTS_KEY,
    FILLABLE,
    FILLED_KEY,
    LOCATION_CONFLICT_M,
    SOURCES_KEY,
    UNNAMED_MATCH_M,
    Matching,
    carry_department_records,
    diff_facilities,
    merge_records,
    name_similarity,
    normalise_name,
    source_conflicts,
)
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionInfo, Store
from livingcircle.geo.text import text_problem

TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm")
GEO_SUFFIXES = (".geojson", ".json", ".gpkg")
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_FIELDS = ("name", "name_zh", "name_en", "category", "address", "opening_hours")
_EARTH_M_PER_DEG = 111_195.0


# -- the mapping file -------------------------------------------------------------------------


@dataclass(frozen=True)
class ListMapping:
    """How to read one department's list: see the module docstring for the file format."""

    source: str
    columns: Mapping[str, str]
    crs: str | None = None
    categories: Mapping[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()
    sheet: str | int | None = None
    encoding: str | None = None
    layer: str | None = None
    max_distance_m: float = 50.0
    min_similarity: float = 0.6


def load_mapping(path: Path, standard: Standard) -> ListMapping:
    """Read and check a mapping file.

    Raises
    ------
    ImportFileError
        The file is unreadable, or lacks ``source`` or ``columns.id``.
    UnknownCategory
        ``[categories]`` maps to a category the standard does not define.
    """
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ImportFileError(f"cannot read mapping file {path}: {exc}") from exc
    return parse_mapping(raw, standard)


def parse_mapping(raw: Mapping[str, Any], standard: Standard) -> ListMapping:
    """A :class:`ListMapping` from a parsed mapping file (see :func:`load_mapping`)."""
    source = str(raw.get("source", ""))
    if not _SOURCE.match(source) or source == "osm":
        raise ImportFileError(
            f"mapping needs source = NAME naming the department (got {source!r}); use 1 to 63 "
            "lowercase letters, digits, '-' or '_', and not 'osm'"
        )
    columns = {str(k): str(v) for k, v in dict(raw.get("columns", {})).items() if k != "extra"}
    if "id" not in columns:
        raise ImportFileError(
            "mapping needs [columns] id = COLUMN: the department's own id "
            "of each row, so a re-import finds its earlier rows"
        )
    categories = {str(k): str(v) for k, v in dict(raw.get("categories", {})).items()}
    for target in sorted(set(categories.values())):
        standard.category(target)  # raises UnknownCategory, listing the allowed ids
    crs = raw.get("crs")
    return ListMapping(
        source=source,
        columns=columns,
        crs=normalise_crs(str(crs)) if crs else None,
        categories=categories,
        extra=tuple(raw.get("columns", {}).get("extra", ())),
        sheet=raw.get("sheet"),
        encoding=raw.get("encoding"),
        layer=raw.get("layer"),
        max_distance_m=float(raw.get("max_distance_m", 50.0)),
        min_similarity=float(raw.get("min_similarity", 0.6)),
    )


# -- reading a list ---------------------------------------------------------------------------


@dataclass
class RawList:
    """A list as read: text attributes, and either coordinates or geometries (not converted)."""

    attributes: pd.DataFrame
    geometry: gpd.GeoSeries | None
    file_crs: str | None
    row_numbers: list[int]


def read_list(path: Path, mapping: ListMapping) -> RawList:
    """Read a CSV, Excel, GeoJSON or GeoPackage list; every attribute as text.

    ``row_numbers`` are what a department sees: the spreadsheet row (header is row 1) for
    CSV and Excel, the feature's position (from 1) for GeoJSON and GeoPackage.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ImportFileError(f"facility list {path} does not exist")
    try:
        if suffix in TABLE_SUFFIXES:
            frame = _read_table(path, suffix, mapping)
            return RawList(frame, None, None, [i + 2 for i in range(len(frame))])
        if suffix in GEO_SUFFIXES:
            geo = gpd.read_file(path, layer=mapping.layer)
            attrs = geo.drop(columns=geo.geometry.name).astype(object)
            attrs = attrs.where(attrs.notna(), "").astype(str)
            crs = geo.crs.to_string() if geo.crs is not None else None
            return RawList(attrs, geo.geometry, crs, [i + 1 for i in range(len(geo))])
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"cannot read facility list {path}: {exc}") from exc
    raise ImportFileError(
        f"{path.name} is not a facility list; allowed endings: "
        f"{', '.join(TABLE_SUFFIXES + GEO_SUFFIXES)}"
    )


def _read_table(path: Path, suffix: str, mapping: ListMapping) -> pd.DataFrame:
    if suffix == ".csv":
        return pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding=mapping.encoding or "utf-8-sig"
        )
    sheet = 0 if mapping.sheet is None else mapping.sheet
    frame = pd.read_excel(
        path, sheet_name=sheet, dtype=str, keep_default_na=False, engine="openpyxl"
    )
    return frame.fillna("")


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


# -- the merge --------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did: counts, the rows left out (with reasons), and the changes made."""

    source: str
    region: str
    rows_read: int
    imported: int  # rows that became facilities of their own
    merged: int  # rows matched to a facility already in the region
    rejected: list[Rejected]
    added: list[str]
    changed: list[str]
    removed: list[str]
    conflicts: list[dict[str, Any]]  # this source's, each with the facility's ``id``
    written: bool

    def summary(self) -> dict[str, Any]:
        """The counts as a JSON-ready dict."""
        return {
            "source": self.source,
            "region": self.region,
            "rows_read": self.rows_read,
            "imported": self.imported,
            "merged": self.merged,
            "rejected": len(self.rejected),
            "conflicts": len(self.conflicts),
            "facilities_added": len(self.added),
            "facilities_changed": len(self.changed),
            "facilities_removed": len(self.removed),
            "written": self.written,
        }

    def write_json(self, path: Path) -> None:
        """Write the whole report as JSON: the counts, every conflict and every rejected row."""
        report = self.summary() | {
            "conflicts": self.conflicts,
            "rejected": [
                {"row": r.row, "reason": r.reason, "values": r.values} for r in self.rejected
            ],
            "facilities_added": self.added,
            "facilities_changed": self.changed,
            "facilities_removed": self.removed,
        }
        path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")

    def write_rejected(self, path: Path) -> None:
        """Write the rejected rows as CSV, to fix and submit again.

        UTF-8 with a BOM (Excel reads it); columns ``row``, ``reason``, then the row's own.
        """
        columns: list[str] = []
        for r in self.rejected:
            columns.extend(c for c in r.values if c not in columns)
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "reason", *columns])
            for r in self.rejected:
                writer.writerow([r.row, r.reason, *(r.values.get(c, "") for c in columns)])


def import_list(
    store: Store,
    region: str,
    path: Path,
    mapping: ListMapping,
    standard: Standard,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Merge a department's list into ``region`` and store the result in one atomic step.

    Good rows go in, bad rows are reported (:attr:`ImportReport.rejected`); when nothing
    changes (a re-import of the same list) the region is not written at all. Only the
    facilities are written, under the region's lock from read to write: an edit made
    through the API meanwhile waits for the import, and is kept. ``progress(stage, done,
    total)`` is told each stage, for a progress bar.
    """
    tell = progress or (lambda stage, done, total: None)
    tell(f"reading {path.name}", 0, 1)
    raw = read_list(path, mapping)  # a bad file fails here, before the store is touched
    tell(f"reading {path.name}", 1, 1)
    done: list[_Merge] = []

    def change(info: RegionInfo, facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
        stage = f"matching {len(raw.attributes):,} rows with {len(facilities):,} facilities"
        tell(stage, 0, 1)
        checked = check_rows(raw, mapping, standard, info.bounds)
        merged, n_merged, _ = merge_entries(facilities, checked, mapping)
        done[:] = [_Merge(checked, merged, n_merged, *diff_facilities(facilities, merged))]
        tell(stage, 1, 1)
        tell(f"writing region {region}", 0, 1)
        return merged if done[0].added or done[0].changed or done[0].removed else None

    written = store.update_facilities(region, change, source=mapping.source) is not None
    tell(f"writing region {region}", 1, 1)
    m = done[0]
    return ImportReport(
        mapping.source,
        region,
        len(raw.attributes),
        len(m.checked.entries) - m.n_merged,
        m.n_merged,
        m.checked.rejected,
        m.added,
        m.changed,
        m.removed,
        source_conflicts(m.merged, mapping.source),
        written,
    )


class _Merge(NamedTuple):
    """What merging a list into a region's facilities gave."""

    checked: Checked
    merged: gpd.GeoDataFrame
    n_merged: int
    added: list[str]
    changed: list[str]
    removed: list[str]


def merge_entries(
    facilities: gpd.GeoDataFrame, checked: Checked, mapping: ListMapping
) -> tuple[gpd.GeoDataFrame, int, int]:
    """The region's facilities with the list's records (``checked``) merged in.

    See :func:`livingcircle.geo.provenance.merge_records`, with the mapping's thresholds.
    """
    matching = Matching(mapping.source, mapping.max_distance_m, mapping.min_similarity)
    return merge_records(facilities, checked.entries, matching)
