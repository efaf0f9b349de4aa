"""Catchments for many origins at once, as a Dask job.

Every bus stop, every school: thousands of origins are cut into partitions, and each
partition becomes one task. A worker process opens the region once (from the same store the
client names: a folder every worker sees, or the PostGIS database) and keeps it for every
later partition; each origin then gets the engine's own catchment call, so its rings are the
polygons :meth:`livingcircle.public.Region.catchment` gives for that origin alone.

The answer has one row per origin and ring: the origin's id, the ring's minutes, area and
street length, and the error text a single call would have raised for that origin (then no
geometry). An origin that fails never stops the rest. Written out, each partition is one
GeoParquet file under ``--out`` (any fsspec URL the workers can write), and before any work
starts every worker proves it can read the region and write there.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.geometry
from distributed import Client, as_completed

from livingcircle.cluster import probe_storage
from livingcircle.geo import config
from livingcircle.geo.engine import Region as Engine
from livingcircle.geo.errors import BadOrigins, LivingCircleError, WorkerCannotReach
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.region_cache import placed_from_store
from livingcircle.geo.standards import Standard
from livingcircle.partitions import merge_metadata
from livingcircle.settings import store_at

#: Origins per task: small enough to spread a few thousand origins over the workers.
PARTITION_ORIGINS = 250
#: The columns of a batch answer, in order (then ``geometry``).
COLUMNS = ("origin_id", "minutes", "area_m2", "street_m", "access_m", "error")
#: ``progress(stage, done, total)``
Steps = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RegionSource:
    """Where a worker finds the region: the store, the region's name and the standard."""

    region: str
    standard: Standard = field(compare=False)
    data_dir: str | None = None
    database_url: str | None = None
    max_snap_m: float = config.MAX_SNAP_M

    @property
    def where(self) -> str:
        """The store as a user would name it (a database without its password)."""
        if self.database_url:
            from sqlalchemy.engine import make_url  # noqa: PLC0415

            return make_url(self.database_url).render_as_string(hide_password=True)
        return str(self.data_dir)

    @property
    def key(self) -> tuple[str, str | None, str | None, float, str]:
        """What makes two sources the same engine (the standard by its content)."""
        digest = hashlib.sha1(pickle.dumps(self.standard), usedforsecurity=False).hexdigest()
        return self.region, self.data_dir, self.database_url, self.max_snap_m, digest

    def open(self) -> Engine:
        """The region's engine, opened once per process and kept."""
        key = self.key
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = self._load()
        return engine

    def _load(self) -> Engine:
        store = store_at(self.data_dir or None, self.database_url or None)
        data = store.load_region(self.region)
        net = StreetNetwork.from_frames(data.nodes, data.edges)
        placed = placed_from_store(store, data, net, self.standard.category_ids)
        return Engine(
            self.region, net, data.facilities, self.standard, self.max_snap_m, placed=placed
        )


_ENGINES: dict[tuple[str, str | None, str | None, float, str], Engine] = {}


@dataclass(frozen=True)
class Walk:
    """How every origin of a batch is walked: its rings, the speed and the walking profile.

    ``profile``'s street rules shape the rings as a single call's; ``speed_m_s`` is the speed
    the profile (or the caller) walks at.
    """

    minutes: tuple[int, ...]
    speed_m_s: float
    profile: str = "standard"


def source_for(store: object, region: str, standard: Standard, max_snap_m: float) -> RegionSource:
    """The :class:`RegionSource` of a region in an open store (FileStore or PostgisStore)."""
    from livingcircle.data.embedded import FileStore  # noqa: PLC0415
    from livingcircle.data.postgis import PostgisStore  # noqa: PLC0415  (needs psycopg)

    if isinstance(store, PostgisStore):
        text = store.url.render_as_string(hide_password=False)
        return RegionSource(region, standard, database_url=text, max_snap_m=max_snap_m)
    root = store.root if isinstance(store, FileStore) else None
    return RegionSource(region, standard, data_dir=str(root), max_snap_m=max_snap_m)


# -- origins: files in, bad rows named --------------------------------------------------

#: Coordinate column pairs a CSV of origins may use (WGS 84 degrees).
LONLAT_COLUMNS = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("x", "y"))
#: Bad rows named in a message; the rest are counted.
SHOW_BAD = 5


@dataclass
class Origins:
    """Origins ready for a batch: ``origin_id``, ``lon``, ``lat``, ``error`` (bad rows), ``source``.

    ``notes`` say what was done to the input (reprojected files), ``bad`` the rows that
    cannot be an origin (they are kept, with their reason in ``error``).
    """

    frame: pd.DataFrame
    notes: list[str]

    @property
    def bad(self) -> pd.DataFrame:
        """The rows refused before any work, with their reason."""
        return self.frame.loc[self.frame["error"].notna()]

    def summary(self) -> str | None:
        """The bad rows in a sentence, or None when every row is an origin."""
        bad = self.bad
        if bad.empty:
            return None
        shown = "; ".join(bad["error"].head(SHOW_BAD))
        more = f"; and {len(bad) - SHOW_BAD} more" if len(bad) > SHOW_BAD else ""
        return f"{len(bad)} of {len(self.frame)} origin rows cannot be used: {shown}{more}"


def read_origins(sources: Sequence[str], id_column: str | None = None) -> Origins:
    """Read origin files (GeoParquet, GeoJSON, GeoPackage, Shapefile, CSV with lon/lat).

    Each file may use its own CRS: each is reprojected to EPSG:4326, and ``notes`` name the
    files that were. Paths or fsspec URLs.

    Raises
    ------
    BadOrigins
        A file cannot be read, has no CRS, or (CSV) no coordinate columns; or ``id_column``
        is missing from a file.
    """
    if not sources:
        raise BadOrigins("no origins file given; name one or more with --origins FILE_OR_URL")
    frames, notes = [], []
    for src in sources:
        gdf = _read_one(src)
        frame, note = origins_from_frame(gdf, id_column, src, prefix=len(sources) > 1)
        frames.append(frame)
        notes += [note] if note else []
    joined = pd.concat(frames, ignore_index=True)
    _mark_repeats(joined)
    return Origins(joined, notes)


def origins_from_frame(
    gdf: gpd.GeoDataFrame | gpd.GeoSeries,
    id_column: str | None = None,
    source: str = "origins",
    prefix: bool = False,
) -> tuple[pd.DataFrame, str | None]:
    """One input's origins in EPSG:4326, bad rows marked; and a note if it was reprojected."""
    if isinstance(gdf, gpd.GeoSeries):
        gdf = gpd.GeoDataFrame(geometry=gdf)
    if gdf.crs is None:
        raise BadOrigins(
            f"{source} has no CRS, so its coordinates cannot be placed; set one "
            "(gdf.set_crs('EPSG:4326')) or write the file with its CRS"
        )
    note = None
    if not gdf.crs.equals("EPSG:4326"):
        note = f"{source}: reprojected from {gdf.crs.to_string()} to EPSG:4326"
        gdf = gdf.to_crs("EPSG:4326")
    rows = np.arange(1, len(gdf) + 1)
    ids = _ids(gdf, id_column, source, rows, prefix)
    geoms = gdf.geometry.to_numpy()
    point = shapely.get_type_id(geoms) == 0
    xy = np.full((len(gdf), 2), np.nan)
    xy[point] = shapely.get_coordinates(geoms[point])
    frame = pd.DataFrame(
        {"origin_id": ids, "lon": xy[:, 0], "lat": xy[:, 1], "source": source, "row": rows}
    )
    frame["error"] = [
        _row_problem(source, r, g, x, y) for r, g, x, y in zip(rows, geoms, *xy.T, strict=True)
    ]
    return frame, note


def _ids(
    gdf: gpd.GeoDataFrame, id_column: str | None, source: str, rows: Any, prefix: bool
) -> list[str]:
    if id_column is not None and id_column not in gdf.columns:
        raise BadOrigins(
            f"{source} has no column {id_column!r}; its columns: "
            f"{', '.join(str(c) for c in gdf.columns if c != gdf.geometry.name)}"
        )
    column = id_column or ("id" if "id" in gdf.columns else None)
    if column is not None:
        return [str(v) for v in gdf[column]]
    stem = Path(source).name
    return [f"{stem}:{r}" if prefix else str(r) for r in rows]


def _row_problem(source: str, row: int, geom: object, x: float, y: float) -> str | None:
    where = f"row {row} of {source}"
    if geom is None or shapely.is_empty(geom):
        return f"{where} has no geometry"
    if not isinstance(geom, shapely.Point):
        kind = shapely.get_type_id(geom)
        name = ("Point", "LineString", "LinearRing", "Polygon", "MultiPoint")[min(kind, 4)]
        return f"{where} is a {name if kind < 5 else 'collection'}, not a Point; use its centroid"
    if not (np.isfinite(x) and np.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        return f"{where} has coordinates ({x}, {y}) that are not WGS 84 lon/lat degrees"
    return None


def _mark_repeats(frame: pd.DataFrame) -> None:
    again = frame["origin_id"].duplicated(keep="first")
    if not again.any():
        return
    first = frame.drop_duplicates("origin_id").set_index("origin_id")["row"]
    for i in np.flatnonzero(again.to_numpy()):
        oid, src, row = frame.at[i, "origin_id"], frame.at[i, "source"], frame.at[i, "row"]
        if pd.isna(frame.at[i, "error"]):
            frame.at[i, "error"] = (
                f"row {row} of {src} repeats origin id {oid!r} (first at row {first[oid]}); "
                "ids must be unique, or leave out the id column to number the rows"
            )


def _read_one(src: str) -> gpd.GeoDataFrame:
    name = src.lower().split("?")[0]
    try:
        if name.endswith(".csv"):
            return _read_csv(src)
        if name.endswith((".parquet", ".geoparquet")):
            fs, path = fsspec.core.url_to_fs(src)
            return gpd.read_parquet(path, filesystem=fs)
        if "://" in src and not src.startswith("file://"):
            with fsspec.open(src, "rb") as f:
                return gpd.read_file(f)
        return gpd.read_file(src.removeprefix("file://"))
    except BadOrigins:
        raise
    except Exception as exc:  # any reader's failure becomes one clear message
        raise BadOrigins(
            f"cannot read origins {src}: {_first_line(exc)}; give a GeoParquet, GeoJSON, "
            "GeoPackage, Shapefile or CSV (lon, lat columns) path or fsspec URL"
        ) from exc


def _read_csv(src: str) -> gpd.GeoDataFrame:
    with fsspec.open(src, "rt", encoding="utf-8") as f:
        frame = pd.read_csv(f)
    lower = {str(c).lower(): c for c in frame.columns}
    pair = next(((x, y) for x, y in LONLAT_COLUMNS if x in lower and y in lower), None)
    if pair is None:
        raise BadOrigins(
            f"{src} has no coordinate columns; give lon and lat (WGS 84 degrees), found: "
            f"{', '.join(map(str, frame.columns))}"
        )
    x = pd.to_numeric(frame[lower[pair[0]]], errors="coerce").to_numpy(np.float64)
    y = pd.to_numeric(frame[lower[pair[1]]], errors="coerce").to_numpy(np.float64)
    geoms = np.where(np.isnan(x) | np.isnan(y), None, shapely.points(x, y))
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs="EPSG:4326")


# -- one partition, on a worker -----------------------------------------------------------


def catchment_partition(
    origins: pd.DataFrame, source: RegionSource, walk: Walk
) -> gpd.GeoDataFrame:
    """Rings of every origin of a partition (``origin_id``, ``lon``, ``lat``, ``error``)."""
    engine = source.open()
    rows: list[dict[str, Any]] = []
    for oid, lon, lat, bad in origins[["origin_id", "lon", "lat", "error"]].itertuples(index=False):
        rows += _origin_rows(engine, str(oid), lon, lat, bad, walk)
    return to_frame(rows)


def _origin_rows(
    engine: Engine,
    oid: str,
    lon: float,
    lat: float,
    bad: object,
    walk: Walk,
) -> list[dict[str, Any]]:
    if isinstance(bad, str) and bad:
        return _failed(oid, bad, walk.minutes)
    try:
        result = engine.catchment(
            float(lon), float(lat), walk.minutes, walk.profile, walk.speed_m_s
        )
    except LivingCircleError as exc:
        return _failed(oid, str(exc), walk.minutes)
    access = round(result.origin.access_m, 3)
    rings = [f for f in result.to_geojson()["features"] if f["properties"]["kind"] == "ring"]
    return [
        {
            "origin_id": oid,
            "minutes": int(f["properties"]["minutes"]),
            "area_m2": float(f["properties"]["area_m2"]),
            "street_m": float(f["properties"]["street_m"]),
            "access_m": access,
            "error": None,
            # as GeoDataFrame.from_features reads it for a single call: the same polygon
            "geometry": shapely.geometry.shape(f["geometry"]),
        }
        for f in rings
    ]


def _failed(oid: str, error: str, minutes: Sequence[int]) -> list[dict[str, Any]]:
    return [
        {
            "origin_id": oid,
            "minutes": int(m),
            "area_m2": np.nan,
            "street_m": np.nan,
            "access_m": np.nan,
            "error": error,
            "geometry": None,
        }
        for m in sorted(minutes, reverse=True)
    ]


def to_frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Rows in the batch answer's schema (also when there are none)."""
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "geometry"])
    frame = frame.astype(
        {
            "origin_id": "str",
            "minutes": "int32",
            "area_m2": "float64",
            "street_m": "float64",
            "access_m": "float64",
            "error": "str",
        }
    )
    frame["error"] = frame["error"].where(frame["error"] != "None")
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def write_partition(
    origins: pd.DataFrame, source: RegionSource, walk: Walk, url: str, index: int
) -> tuple[int, int]:
    """Compute one partition and write it as ``part.NNNNN.parquet`` under ``url``.

    Returns its rows and the origins in it that failed.
    """
    frame = catchment_partition(origins, source, walk)
    fs, root = fsspec.core.url_to_fs(url)
    with fs.open(f"{root.rstrip('/')}/part.{index:05d}.parquet", "wb") as f:
        frame.to_parquet(f, index=False)
    return len(frame), int(frame.loc[frame["error"].notna(), "origin_id"].nunique())


def write_metadata(url: str) -> str:
    """Write ``_metadata`` over the ``part.*.parquet`` files under ``url``; returns its path.

    One file of every partition's row groups, for DuckDB, QGIS and
    ``dask_geopandas.read_parquet``.
    """
    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    return merge_metadata(fs, sorted(fs.glob(f"{root}/part.*.parquet"))) or f"{root}/_metadata"


# -- the job, from the client -------------------------------------------------------------


def partitions(origins: pd.DataFrame, workers: int) -> list[pd.DataFrame]:
    """Origins cut into pieces of at most :data:`PARTITION_ORIGINS`, at least one per worker."""
    if len(origins) == 0:
        return []
    count = max(math.ceil(len(origins) / PARTITION_ORIGINS), min(workers, len(origins)))
    bounds = np.linspace(0, len(origins), count + 1).astype(int)
    plain = origins[["origin_id", "lon", "lat", "error"]].reset_index(drop=True)
    return [plain.iloc[a:b] for a, b in itertools.pairwise(bounds)]


def run_catchments(
    client: Client,
    origins: pd.DataFrame,
    source: RegionSource,
    walk: Walk,
    progress: Steps | None = None,
) -> gpd.GeoDataFrame:
    """Run the batch on ``client`` and bring the answer back, in the origins' order.

    Every worker first shows it can open the region, so a store that a worker cannot reach
    fails before any work starts.
    """
    check_workers(client, source, None)
    parts = partitions(origins, _worker_count(client))
    args = (source, walk)
    frames = _run(client, catchment_partition, parts, args, progress)
    return to_frame([]) if not frames else _concat(frames)


def write_catchments(
    client: Client,
    origins: pd.DataFrame,
    source: RegionSource,
    walk: Walk,
    out: str,
    progress: Steps | None = None,
) -> tuple[int, int]:
    """Run the batch on ``client``, each partition written by its worker under ``out``.

    Every worker first shows it can open the region and write to ``out``. Returns the rows
    written and the origins that failed (their rows carry the error).
    """
    check_workers(client, source, out)
    parts = partitions(origins, _worker_count(client))
    args = [(source, walk, out, i) for i in range(len(parts))]
    counts = _run(client, write_partition, parts, args, progress)
    if parts:  # on a worker: it sees the output as the others did
        client.submit(write_metadata, out, pure=False).result()
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def _run(
    client: Client,
    task: Callable[..., Any],
    parts: list[pd.DataFrame],
    args: tuple[Any, ...] | list[tuple[Any, ...]],
    progress: Steps | None,
) -> list[Any]:
    """One task per partition, results in partition order, progress as they finish."""
    tell = progress or (lambda stage, done, total: None)
    per_part = args if isinstance(args, list) else [args] * len(parts)
    futures = [client.submit(task, p, *a, pure=False) for p, a in zip(parts, per_part, strict=True)]
    tell("catchments", 0, len(parts))
    index = {f.key: i for i, f in enumerate(futures)}
    results: dict[int, Any] = {}
    finished = as_completed(futures)  # type: ignore[no-untyped-call]  # dask is unannotated
    for done, future in enumerate(finished, start=1):
        results[index[future.key]] = future.result()
        tell("catchments", done, len(parts))
    return [results[i] for i in range(len(parts))]


def _concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    joined = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(joined, geometry="geometry", crs="EPSG:4326")


def run_local(origins: pd.DataFrame, source: RegionSource, walk: Walk) -> gpd.GeoDataFrame:
    """The same answer in this process, without Dask (a handful of origins)."""
    frames = [catchment_partition(p, source, walk) for p in partitions(origins, 1)]
    return to_frame([]) if not frames else _concat(frames)


def _worker_count(client: Client) -> int:
    # every worker, unlike scheduler_info() in some versions; distributed is unannotated
    return max(1, len(client.nthreads()))  # type: ignore[no-untyped-call]


# -- before any work: can every worker reach the store and the output? --------------------


def check_workers(client: Client, source: RegionSource, out: str | None) -> None:
    """Open the region and write a probe file to ``out`` on every worker.

    Raises
    ------
    WorkerCannotReach
        Naming the first worker that failed, what it could not reach, and why.
    """
    answers: dict[str, str | None] = client.run(_probe, source, out)
    for worker, problem in sorted(answers.items()):
        if problem is not None:
            what, reason = problem.split("\n", 1)
            raise WorkerCannotReach(what, worker, reason)


def _probe(source: RegionSource, out: str | None) -> str | None:
    """On a worker: None if the region opens and ``out`` takes a file, else what and why."""
    try:
        source.open()
    except (LivingCircleError, OSError, ValueError) as exc:
        return f"region {source.region!r} in {source.where}\n{_first_line(exc)}"
    if out is None:
        return None
    try:
        probe_storage(out)
    except (OSError, ImportError, ValueError) as exc:
        return f"--out {out}\n{_first_line(exc)}"
    return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
