"""Reading departments' facility lists: CSV, Excel, GeoJSON or GeoPackage, and their mapping.

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

This module reads the mapping and the list; :mod:`livingcircle.data.department_rows` checks
the rows and :mod:`livingcircle.data.departments` merges them into a region.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from livingcircle.geo.coords import normalise_crs
from livingcircle.geo.errors import ImportFileError
from livingcircle.geo.standards import Standard

TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm")
GEO_SUFFIXES = (".geojson", ".json", ".gpkg")
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


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
