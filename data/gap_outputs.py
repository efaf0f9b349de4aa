"""Writing the planner's gap analysis: GeoPackage, GeoParquet, CSV, or PostGIS tables.

Every output has the same tables: ``points`` (homes with times, score and missing
requirements), ``gaps`` (areas beyond a category's radius with their residents), ``sites``
(greedy picks), ``coverage`` (per community and category), ``tiers`` (per community and
requirement), ``access_scores`` (per home and category: 2SFCA, E2SFCA and gravity scores;
join to ``points`` on ``id``) and ``equity`` (per community, resident group and category:
weighted times, tier shares, Gini, the worst-served decile). A GeoPackage holds them as
layers of one file; GeoParquet and CSV write one file per table beside the one named
(``NAME.gaps.parquet``, ``NAME.coverage.csv``...). In PostGIS they are ``gaps_points``,
``gaps_areas``, ``gaps_sites``, ``gaps_coverage``, ``gaps_tiers``, ``gaps_access_scores`` and
``gaps_equity``, with a ``region`` column; writing a region replaces only its own rows. QGIS
opens all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.planning import PlannerTables

SUFFIXES = (".gpkg", ".parquet", ".csv")
PG_TABLES = {
    "points": "gaps_points",
    "gaps": "gaps_areas",
    "sites": "gaps_sites",
    "coverage": "gaps_coverage",
    "tiers": "gaps_tiers",
    "access_scores": "gaps_access_scores",
    "equity": "gaps_equity",
}


def tables(result: PlannerTables) -> dict[str, pd.DataFrame]:
    """The output tables by name; spatial ones are GeoDataFrames in EPSG:4326."""
    return {
        "points": result.points,
        "gaps": result.gaps,
        "sites": result.sites,
        "coverage": result.coverage,
        "tiers": result.tiers,
        "access_scores": result.access_scores,
        "equity": result.equity,
    }


def write_result(result: PlannerTables, path: Path) -> list[Path]:
    """Write the tables in the format the suffix names; returns the files written."""
    return write_layers(tables(result), path, SUFFIXES, "points")


def write_layers(
    layers: dict[str, pd.DataFrame], path: Path, suffixes: tuple[str, ...], main: str
) -> list[Path]:
    """Write ``layers`` as the suffix says; returns the files written.

    ``.gpkg``: one file, a layer each; ``.parquet`` / ``.csv``: the layer ``main`` in the
    file named and the others beside it (``NAME.LAYER.csv``...).
    """
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise InvalidParameter(f"cannot write {path.name}: allowed endings {', '.join(suffixes)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gpkg":
        path.unlink(missing_ok=True)
        for name, frame in layers.items():
            _as_geo(frame).to_file(path, layer=name, driver="GPKG")
        return [path]
    written = []
    for name, frame in layers.items():
        target = path if name == main else path.with_name(f"{path.stem}.{name}{suffix}")
        if suffix == ".parquet":
            frame.to_parquet(target, index=False)
        else:
            _plain(frame).to_csv(target, index=False)
        written.append(target)
    return written


def _as_geo(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """A plain table as an attribute-only layer (GeoPackage keeps tables as layers too)."""
    if isinstance(frame, gpd.GeoDataFrame):
        return frame
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)), crs="EPSG:4326")


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """CSV rows: points as lon/lat columns, areas as WKT."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return frame
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    geom = frame.geometry
    if len(frame) and (geom.geom_type == "Point").all():
        out["lon"], out["lat"] = geom.x.round(7), geom.y.round(7)
    else:
        out["wkt"] = geom.to_wkt(rounding_precision=7)
    return out


def write_postgis(result: PlannerTables, engine: Any, region: str) -> list[str]:
    """Replace ``region``'s rows in the ``gaps_*`` tables (created on first use).

    ``engine`` is the PostGIS store's SQLAlchemy engine; all tables change in one
    transaction, so a failed write leaves the previous result in place.
    """
    from sqlalchemy import inspect, text  # noqa: PLC0415  (only with a database)

    with engine.begin() as conn:
        existing = set(inspect(conn).get_table_names())
        for name, frame in tables(result).items():
            table = PG_TABLES[name]
            if table in existing:
                conn.execute(text(f'DELETE FROM "{table}" WHERE region = :r'), {"r": region})
            rows = frame.assign(region=region)
            if isinstance(rows, gpd.GeoDataFrame):
                rows.to_postgis(table, conn, if_exists="append", index=False)
            else:
                rows.to_sql(table, conn, if_exists="append", index=False)
    return list(PG_TABLES.values())
