"""A planner's own files: homes or population points, parcels and community boundaries.

Homes come as CSV with longitude/latitude columns (WGS 84) or as any file GeoPandas reads
(GeoPackage, GeoJSON, Shapefile, GeoParquet). Footprints become points with their population
spread by floor area when no population is given. A file in GCJ-02 (Amap, Tencent) or BD-09
(Baidu) must be converted to WGS 84 first: the offsets are hundreds of metres.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from livingcircle.geo.demand import demand_frame, demand_from_buildings
from livingcircle.geo.errors import InvalidParameter

LON_NAMES = ("lon", "lng", "long", "longitude", "x")
LAT_NAMES = ("lat", "latitude", "y")
POPULATION_NAMES = ("population", "pop", "residents", "people", "人口")
COMMUNITY_NAMES = ("community", "社区")
#: Age-group columns of a homes file kept for the equity table (residents, or ``_share``).
AGE_GROUPS = ("elderly", "children")


def read_geo_file(path: Path, what: str) -> gpd.GeoDataFrame:
    """Any vector file as EPSG:4326 (CSV needs lon/lat columns); clear errors otherwise."""
    if not path.exists():
        raise InvalidParameter(f"{what} file {path} does not exist")
    if path.suffix.lower() == ".csv":
        return _read_csv(path, what)
    try:
        frame = gpd.read_parquet(path) if path.suffix.lower() == ".parquet" else gpd.read_file(path)
    except Exception as exc:  # GDAL and Arrow raise many kinds
        raise InvalidParameter(f"cannot read {what} file {path}: {exc}") from exc
    if frame.crs is None:
        raise InvalidParameter(
            f"{what} file {path} has no coordinate system; save it with "
            "one (WGS 84, EPSG:4326, if unsure)"
        )
    return frame.to_crs("EPSG:4326")


def _read_csv(path: Path, what: str) -> gpd.GeoDataFrame:
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InvalidParameter(f"cannot read {what} file {path}: {exc}") from exc
    lon, lat = _pick(table, LON_NAMES), _pick(table, LAT_NAMES)
    if lon is None or lat is None:
        raise InvalidParameter(
            f"{what} file {path} needs longitude and latitude columns (WGS 84); allowed "
            f"names: {', '.join(LON_NAMES)} and {', '.join(LAT_NAMES)}; found: "
            f"{', '.join(map(str, table.columns))}"
        )
    x = pd.to_numeric(table[lon], errors="coerce").to_numpy(dtype=np.float64)
    y = pd.to_numeric(table[lat], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90))
    if bad.any():
        raise InvalidParameter(
            f"{what} file {path}: {int(bad.sum())} rows have no valid "
            f"lon/lat (first at row {int(np.argmax(bad)) + 2})"
        )
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")


def _pick(table: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {str(c).lower(): str(c) for c in table.columns}
    return next((lower[n] for n in names if n in lower), None)


def read_homes(path: Path, total: float | None = None) -> gpd.GeoDataFrame:
    """Homes or population points from a file, in the demand schema.

    Points take their ``population`` column (or ``pop``, ``residents``...), else an equal
    share of ``total`` (1 each without one); polygons are spread by floor area (their
    ``levels`` column if any).
    """
    frame = read_geo_file(path, "homes")
    pop_col = _pick(frame, POPULATION_NAMES)
    if pop_col is not None:
        frame = frame.rename(columns={pop_col: "population"})
    ids = (
        frame["id"].astype(str).to_numpy(dtype=object)
        if "id" in frame
        else np.array([f"home:{i}" for i in range(len(frame))], dtype=object)
    )
    comm_col = _pick(frame, COMMUNITY_NAMES)
    community = frame[comm_col].fillna("").astype(str).to_numpy(dtype=object) if comm_col else None
    if not (frame.geometry.geom_type == "Point").all():
        out = demand_from_buildings(frame.assign(id=ids), total)
        if community is not None:
            out["community"] = community
        return _age_groups(out, frame, None)
    scale = 1.0
    if "population" in frame:
        pop = pd.to_numeric(frame["population"], errors="coerce").to_numpy(dtype=np.float64)
        if total is not None and pop.sum() > 0:
            scale = float(total) / pop.sum()
            pop = pop * scale
    else:
        pop = np.full(len(frame), 1.0 if total is None else float(total) / max(len(frame), 1))
    return _age_groups(demand_frame(frame.geometry.to_numpy(), pop, ids, community), frame, scale)


def _age_groups(
    out: gpd.GeoDataFrame, frame: gpd.GeoDataFrame, scale: float | None
) -> gpd.GeoDataFrame:
    """Keep the age-group columns the equity table reads.

    Residents per home are scaled as the population was; footprints, whose residents are
    spread, keep only shares.
    """
    for group in AGE_GROUPS:
        if f"{group}_share" in frame:
            out[f"{group}_share"] = pd.to_numeric(
                frame[f"{group}_share"], errors="coerce"
            ).to_numpy()
        elif group in frame and scale is not None:
            out[group] = pd.to_numeric(frame[group], errors="coerce").to_numpy() * scale
    return out


def read_boundaries(path: Path, name: str | None = None) -> gpd.GeoDataFrame:
    """Community polygons with a ``name`` column (from ``name``, ``community`` or ``社区``)."""
    frame = read_geo_file(path, "boundaries")
    col = name or _pick(frame, ("name", "community", "社区", "name_zh"))
    if col is None or col not in frame:
        raise InvalidParameter(
            f"boundaries file {path} needs a name column; pass its name "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    polys = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        raise InvalidParameter(f"boundaries file {path} has no polygon")
    return gpd.GeoDataFrame(
        {"name": polys[col].astype(str).to_numpy()},
        geometry=polys.geometry.to_numpy(),
        crs="EPSG:4326",
    )


def read_parcels(path: Path) -> gpd.GeoDataFrame:
    """Candidate parcels (points or polygons) for new facilities."""
    return read_geo_file(path, "parcels")
