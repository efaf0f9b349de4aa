"""A province run's outputs: the partitions' ``_metadata``, the summaries, the PostGIS tables.

The summaries (coverage per category, tier shares) are summed partition by partition per
community, district (region) and city (the whole province), so memory stays bounded;
:func:`load_postgis` copies the homes and summaries into PostGIS one region at a time.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import fsspec
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.standards import Standard
from livingcircle.partitions import merge_metadata

#: The whole province, as a name in the city rows of the summaries.
CITY = "(city)"


def partitions(out: str) -> tuple[Any, list[str]]:
    """The filesystem of ``out`` and its homes' partitions (``points/part.*.parquet``), sorted."""
    fs, root = fsspec.core.url_to_fs(out)
    parts = sorted(p for p in fs.glob(f"{root}/points/part.*.parquet"))
    return fs, parts


def write_metadata(out: str) -> str | None:
    """Write ``points/_metadata`` over every partition (its row groups and their files)."""
    fs, parts = partitions(out)
    return merge_metadata(fs, parts)


# -- summaries ----------------------------------------------------------------------------


def summarise(
    out: str, cats: Sequence[str], minutes: Sequence[int], standard: Standard
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coverage per category and tier shares, per community, district and city.

    Read partition by partition (only the columns needed), so memory stays bounded.
    """
    fs, parts = partitions(out)
    cols = _summary_columns(cats, standard)
    sums: list[pd.DataFrame] = []
    for part in parts:
        with fs.open(part, "rb") as f:
            table = pq.read_table(f, columns=cols).to_pandas()
        sums.append(partial_sums(table, cats, minutes, standard))
    if not sums:
        return pd.DataFrame(), pd.DataFrame()
    total = pd.concat(sums).groupby(["level", "region", "community"], sort=True).sum()
    return coverage_from_sums(total, cats), tiers_from_sums(total, standard)


def summary_from_points(
    points: pd.DataFrame, cats: Sequence[str], minutes: Sequence[int], standard: Standard
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same summaries from one points table (the single-machine side of a comparison)."""
    sums = partial_sums(points, cats, minutes, standard)
    total = sums.groupby(["level", "region", "community"], sort=True).sum()
    return coverage_from_sums(total, cats), tiers_from_sums(total, standard)


def _summary_columns(cats: Iterable[str], standard: Standard) -> list[str]:
    cols = ["region", "community", "population", "score"]
    cols += [f"tier_{t.minutes}_met" for t in standard.tiers]
    for c in cats:
        cols += [f"{c}_min", f"{c}_ok"]
    return cols


def partial_sums(
    points: pd.DataFrame, cats: Iterable[str], minutes: Sequence[int], standard: Standard
) -> pd.DataFrame:
    """Population sums of one table of homes, per community, district and city."""
    pop = points["population"].to_numpy(dtype=np.float64)
    longest = float(max(minutes))
    values: dict[str, Any] = {"population": pop, "score_pop": points["score"].to_numpy() * pop}
    for t in standard.tiers:
        values[f"tier_{t.minutes}"] = np.where(points[f"tier_{t.minutes}_met"], pop, 0.0)
    for c in cats:
        mins = points[f"{c}_min"].to_numpy(dtype=np.float64)
        known = ~np.isnan(mins)
        values[f"{c}|covered"] = np.where(points[f"{c}_ok"], pop, 0.0)
        values[f"{c}|within"] = np.where(known & (mins <= longest), pop, 0.0)
        values[f"{c}|known"] = np.where(known, pop, 0.0)
        values[f"{c}|minutes"] = np.where(known, mins * pop, 0.0)
    frame = pd.DataFrame(values)
    region = points["region"].astype(str).to_numpy()
    community = points["community"].astype(str).to_numpy()
    levels = []
    for level, reg, com, keep in (
        ("community", region, community, community != ""),
        ("district", region, np.full(len(points), ""), np.ones(len(points), bool)),
        ("city", np.full(len(points), CITY), np.full(len(points), ""), np.ones(len(points), bool)),
    ):
        part = frame.loc[keep].assign(level=level, region=reg[keep], community=com[keep])
        levels.append(part.groupby(["level", "region", "community"], sort=False).sum())
    return pd.concat(levels).reset_index()


def coverage_from_sums(total: pd.DataFrame, cats: Iterable[str]) -> pd.DataFrame:
    """Per (level, region, community, category): residents covered, within, mean minutes."""
    rows = []
    for (level, region, community), row in total.iterrows():
        pop = float(row["population"])
        for c in cats:
            known = float(row[f"{c}|known"])
            rows.append(
                {
                    "level": level,
                    "region": region,
                    "community": community,
                    "category": c,
                    "population": pop,
                    "covered_population": float(row[f"{c}|covered"]),
                    "covered_share": float(row[f"{c}|covered"]) / pop if pop else np.nan,
                    "within_share": float(row[f"{c}|within"]) / pop if pop else np.nan,
                    "mean_minutes_within_horizon": (
                        float(row[f"{c}|minutes"]) / known if known else np.nan
                    ),
                    "beyond_population": pop - known,
                }
            )
    return pd.DataFrame(rows)


def tiers_from_sums(total: pd.DataFrame, standard: Standard) -> pd.DataFrame:
    """Per (level, region, community, tier): the share of residents meeting the whole tier."""
    rows = []
    for (level, region, community), row in total.iterrows():
        pop = float(row["population"])
        for t in [*standard.tiers, None]:
            key = "score_pop" if t is None else f"tier_{t.minutes}"
            rows.append(
                {
                    "level": level,
                    "region": region,
                    "community": community,
                    "tier_minutes": 0 if t is None else t.minutes,
                    "requirement": "(score)" if t is None else "(all)",
                    "population": pop,
                    "met_share": float(row[key]) / pop if pop else np.nan,
                }
            )
    return pd.DataFrame(rows)


# -- PostGIS ------------------------------------------------------------------------------

#: The province tables in PostGIS: homes (one row each) and the two summaries.
PG_PROVINCE_TABLES = {
    "points": "province_points",
    "coverage": "province_coverage",
    "tiers": "province_tiers",
}


def load_postgis(engine: Any, out: str) -> list[str]:
    """Load a run's homes and summaries into PostGIS by COPY, one transaction per region.

    ``engine`` is the PostGIS store's SQLAlchemy engine. Each region's rows of
    ``province_points``, ``province_coverage`` and ``province_tiers`` are replaced in one
    transaction (a failed load leaves that region's earlier rows); the city rows come last,
    in a transaction of their own. Tables are created on first use from the partitions'
    columns; the geometry is a ``geometry(Point, 4326)`` column QGIS opens.
    """
    fs, parts = partitions(out)
    if not parts:
        raise InvalidParameter(f"no partition under {out}/points: run the analysis first")
    _, root = fsspec.core.url_to_fs(out)
    summaries = {n: _read_frame(fs, f"{root}/{n}.parquet") for n in ("coverage", "tiers")}
    by_region: dict[str, list[str]] = {}
    for part in parts:
        by_region.setdefault(part.rsplit("/", 1)[-1].split(".")[1], []).append(part)
    _create_tables(engine, fs, parts[0], summaries)
    for region in [*sorted(by_region), CITY]:
        with engine.begin() as conn:
            raw = conn.connection.driver_connection
            for name, table in PG_PROVINCE_TABLES.items():
                conn.exec_driver_sql(f'DELETE FROM "{table}" WHERE region = %s', (region,))
                frames = (
                    (_read_frame(fs, p) for p in by_region.get(region, []))
                    if name == "points"
                    else [summaries[name].query("region == @region")]
                )
                for frame in frames:
                    _copy(raw, table, frame)
    return list(PG_PROVINCE_TABLES.values())


def _read_frame(fs: Any, path: str) -> pd.DataFrame:
    with fs.open(path, "rb") as f:
        return pq.read_table(f).to_pandas()


def _create_tables(
    engine: Any, fs: Any, first_part: str, summaries: dict[str, pd.DataFrame]
) -> None:
    from sqlalchemy import inspect  # noqa: PLC0415  (only with a database)

    with fs.open(first_part, "rb") as f:
        points = gpd.read_parquet(f)
    with engine.begin() as conn:
        existing = set(inspect(conn).get_table_names())
        for name, table in PG_PROVINCE_TABLES.items():
            if table in existing:
                continue
            if name == "points":
                points.head(0).to_postgis(table, conn, index=False)
            else:
                summaries[name].head(0).to_sql(table, conn, index=False)


def _copy(raw: Any, table: str, frame: pd.DataFrame) -> None:
    """COPY a frame (geometry as EWKB hex) into ``table``, in the caller's transaction."""
    if not len(frame):
        return
    rows = pd.DataFrame(frame)
    if "geometry" in rows:  # WKB as Parquet keeps it; PostGIS reads EWKB hex
        geoms = shapely.set_srid(shapely.from_wkb(rows["geometry"].to_numpy()), 4326)
        rows["geometry"] = shapely.to_wkb(geoms, hex=True, include_srid=True)
    buf = io.StringIO()
    rows.to_csv(buf, index=False, header=False, na_rep="")
    columns = ", ".join(f'"{c}"' for c in rows.columns)
    with raw.cursor() as cur, cur.copy(f'COPY "{table}" ({columns}) FROM STDIN (FORMAT csv)') as cp:
        cp.write(buf.getvalue())
