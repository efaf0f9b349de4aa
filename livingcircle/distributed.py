"""Province-scale gap analysis on Dask: one task per tile, partitioned GeoParquet out.

A province is a list of regions. Each region is cut into tiles with halos
(:mod:`livingcircle.geo.tiles`); each tile's input (its subgraph, the facilities on it and
its core's homes) is written once under ``OUT/_inputs/``, and one Dask task per tile reads
it, runs the single-machine :func:`livingcircle.geo.gaps.analyse` on it and writes the
tile's homes as one GeoParquet partition ``OUT/points/part.REGION.TILE.parquet``. Inputs and
outputs are fsspec URLs (a local folder, ``s3://`` with s3fs installed), so workers on other
machines read the same tiles; no task carries more than a tile.

Answers within the horizon (the longest minutes at the fastest profile, or the longest
service radius) equal the single-machine analysis; a nearest facility beyond it is written
as NaN minutes with ``<category>_beyond`` true ("beyond N minutes"), never a wrong time.

Faults: a worker that dies has its task retried (``retries``); a tile that fails for a data
reason is recorded with the reason (``OUT/failed/``) and the others complete; with
``resume`` a tile whose partition exists is not recomputed. When all are done,
``points/_metadata`` summarises the partitions (dask-geopandas, DuckDB and QGIS read the
folder), and ``coverage.parquet`` / ``tiers.parquet`` hold the summary per community,
district (region) and city (the whole province).
"""

from __future__ import annotations

import io
import json
import pickle
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import fsspec
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from distributed import Client, as_completed

from livingcircle.geo import config
from livingcircle.geo.demand import Demand
from livingcircle.geo.engine import FacilityIndex, Region
from livingcircle.geo.errors import InvalidParameter, LivingCircleError
from livingcircle.geo.gaps import DEFAULT_K, Analysis, analyse
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.routing import Snap
from livingcircle.geo.standards import Standard
from livingcircle.geo.tiles import (
    DEFAULT_MAX_POINTS,
    DEFAULT_MAX_SUBGRAPH_NODES,
    Tile,
    TilePlan,
    horizon_m,
    plan_tiles,
    remap_snap,
    subnetwork,
)

#: ``progress(done, total, message)`` while tiles finish.
TileProgress = Callable[[int, int, str], None]
#: Times Dask retries a tile whose worker died.
DEFAULT_RETRIES = 3
#: The whole province, as a name in the city rows of the summaries.
CITY = "(city)"


@dataclass(frozen=True)
class ProvinceJob:
    """What a distributed run computes and where it writes.

    ``out`` is an fsspec URL (a folder). ``categories`` default to every category of the
    standard; ``minutes`` are the counted walks; ``speed_m_s`` the walking speed.
    """

    out: str
    categories: Sequence[str] | None = None
    k: int = DEFAULT_K
    minutes: tuple[int, ...] = config.DEFAULT_MINUTES
    speed_m_s: float = config.DEFAULT_SPEED_M_S
    max_points: int = DEFAULT_MAX_POINTS
    max_subgraph_nodes: int = DEFAULT_MAX_SUBGRAPH_NODES
    resume: bool = False
    retries: int = DEFAULT_RETRIES


@dataclass(frozen=True)
class TileFailure:
    """A tile that failed for a data reason (the others completed)."""

    region: str
    tile: int
    reason: str


@dataclass
class ProvinceResult:
    """What a distributed run did: tiles computed, resumed and failed, and the summaries."""

    out: str
    horizon_m: float
    plans: dict[str, dict[str, float]]
    computed: int = 0
    resumed: int = 0
    failed: list[TileFailure] = field(default_factory=list)
    tile_seconds: list[float] = field(default_factory=list)
    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)
    tiers: pd.DataFrame = field(default_factory=pd.DataFrame)
    wall_s: float = 0.0

    @property
    def points_url(self) -> str:
        """The partitioned GeoParquet folder of homes."""
        return f"{self.out.rstrip('/')}/points"


def run_horizon(standard: Standard, job: ProvinceJob, categories: Sequence[str]) -> float:
    """The run's horizon: the longest minutes at the fastest profile, or the longest radius."""
    speeds = [p.speed_m_s for p in standard.profiles.values()] + [job.speed_m_s]
    radii = [r.radius_m for t in standard.tiers for r in t.requirements]
    radii += [1000.0] if categories else []  # a category no requirement names: 1000 m
    return horizon_m(job.minutes, speeds, radii)


def analyse_province(
    client: Client,
    regions: Sequence[tuple[Region, Demand]],
    job: ProvinceJob,
    progress: TileProgress | None = None,
) -> ProvinceResult:
    """Analyse every region's homes, tile by tile, as Dask tasks on ``client``'s cluster.

    Parameters
    ----------
    client
        A connected client (:func:`livingcircle.cluster.connect`).
    regions
        Each region with its homes placed on its network (one machine places them).
    job
        Categories, minutes, speed, where to write, resume.
    progress
        Told ``(done, total, message)`` as tiles finish.

    Raises
    ------
    InvalidParameter
        Two regions with one name, regions in different standards, or a tile larger than
        ``job.max_subgraph_nodes`` that cannot be split.
    """
    started = time.perf_counter()
    _check_regions(regions)
    fs, root = fsspec.core.url_to_fs(job.out)
    fs.makedirs(f"{root}/points", exist_ok=True)
    standard = regions[0][0].standard
    cats = standard.resolve_categories(job.categories)
    horizon = run_horizon(standard, job, cats)
    result = ProvinceResult(job.out, horizon, {})
    tasks: list[tuple[str, int, str]] = []
    for region, demand in regions:
        plan = plan_tiles(
            region.net,
            demand.snap,
            region.facilities.snap,
            horizon,
            job.max_points,
            job.max_subgraph_nodes,
        )
        result.plans[region.name] = plan.summary()
        _write_plan(fs, root, region.name, plan)
        for tile in plan.tiles:
            part = facilities_part(_part_path(root, region.name, tile.index))
            if job.resume and fs.exists(part):
                result.resumed += 1
                continue
            url = _write_input(fs, root, region, demand, tile, cats, job, horizon)
            tasks.append((region.name, tile.index, url))
    _run_tasks(client, tasks, job, result, progress)
    write_metadata(job.out)
    result.coverage, result.tiers = summarise(job.out, cats, job.minutes, standard)
    _write_summaries(fs, root, result)
    result.wall_s = time.perf_counter() - started
    return result


def _check_regions(regions: Sequence[tuple[Region, Demand]]) -> None:
    if not regions:
        raise InvalidParameter("a province run needs at least one region")
    names = [r.name for r, _ in regions]
    if len(set(names)) != len(names):
        raise InvalidParameter(f"regions named twice in one run: {', '.join(sorted(names))}")
    if len({tuple(r.standard.category_ids) for r, _ in regions}) > 1:
        raise InvalidParameter("every region of a province run must use the same standards file")


def _part_path(root: str, region: str, tile: int) -> str:
    return f"{root}/points/part.{region}.{tile:05d}.parquet"


def _write_plan(fs: Any, root: str, region: str, plan: TilePlan) -> None:
    rows = pd.DataFrame(
        {
            "region": region,
            "tile": [t.index for t in plan.tiles],
            "homes": [len(t.homes) for t in plan.tiles],
            "nodes": [len(t.nodes) for t in plan.tiles],
            "core_nodes": [t.core_nodes for t in plan.tiles],
            "halo_nodes": [t.halo_nodes for t in plan.tiles],
            "facilities": [len(t.facilities) for t in plan.tiles],
            "owned_facilities": [len(t.owned) for t in plan.tiles],
        }
    )
    fs.makedirs(f"{root}/tiles", exist_ok=True)
    with fs.open(f"{root}/tiles/{region}.parquet", "wb") as f:
        rows.to_parquet(f, index=False)


# -- one tile's input ---------------------------------------------------------------------


def _write_input(
    fs: Any,
    root: str,
    region: Region,
    demand: Demand,
    tile: Tile,
    cats: Sequence[str],
    job: ProvinceJob,
    horizon: float,
) -> str:
    """Write the tile's subgraph, facilities and homes; returns its URL for the task."""
    payload = tile_input(region, demand, tile, cats, job, horizon)
    path = f"{root}/_inputs/{region.name}/tile-{tile.index:05d}.pkl"
    fs.makedirs(f"{root}/_inputs/{region.name}", exist_ok=True)
    with fs.open(path, "wb") as f:
        pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
    return fs.unstrip_protocol(path)  # type: ignore[no-any-return]  # fsspec is unannotated


def tile_input(
    region: Region,
    demand: Demand,
    tile: Tile,
    cats: Sequence[str],
    job: ProvinceJob,
    horizon: float,
) -> dict[str, Any]:
    """A tile's whole input as plain objects: the subgraph, its facilities, the core's homes.

    Facilities and homes keep the positions they were snapped to on the whole network (the
    subgraph holds their edges), so no answer depends on snapping again.
    """
    fac = region.facilities
    rows = tile.facilities
    homes = tile.homes
    frame = demand.frame.iloc[homes][["id", "population", "community", "geometry"]]
    owned = fac.anchor_lonlat[tile.owned]
    return {
        "region": region.name,
        "tile": tile.index,
        "standard": region.standard,
        "timezone": region.timezone,
        "net": subnetwork(region.net, tile),
        "fac_text": {k: [v[i] for i in rows.tolist()] for k, v in fac.text.items()},
        "fac_category": fac.category[rows],
        "fac_snap": remap_snap(fac.snap[rows], tile.edges),
        "fac_anchor_xy": fac.anchor_xy[rows],
        "fac_anchor_lonlat": fac.anchor_lonlat[rows],
        "fac_street_lonlat": fac.street_lonlat[rows] if len(fac.street_lonlat) else None,
        "homes": frame.reset_index(drop=True),
        "home_population": demand.population[homes],
        "home_community": demand.community[homes],
        "home_snap": remap_snap(demand.snap[homes], tile.edges),
        "owned": {
            "id": [fac.text["id"][i] for i in tile.owned.tolist()],
            "category": [region.standard.category_ids[c] for c in fac.category[tile.owned]],
            "lon": owned[:, 0],
            "lat": owned[:, 1],
        },
        "categories": list(cats),
        "k": job.k,
        "minutes": tuple(job.minutes),
        "speed_m_s": job.speed_m_s,
        "horizon_m": horizon,
    }


def tile_region(payload: dict[str, Any]) -> tuple[Region, Demand]:
    """The tile as a region of its own and its homes, ready for ``analyse``."""
    net: StreetNetwork = payload["net"]
    standard: Standard = payload["standard"]
    empty = gpd.GeoDataFrame(
        {"id": [], "category": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326")
    )
    region = Region(payload["region"], net, empty, standard, timezone=payload["timezone"])
    snap: Snap = payload["fac_snap"]
    street = payload["fac_street_lonlat"]
    region.facilities = FacilityIndex(
        payload["fac_text"],
        payload["fac_category"],
        snap,
        payload["fac_anchor_xy"],
        payload["fac_anchor_lonlat"],
        _tree(snap),
        street if street is not None else np.zeros((0, 2)),
    )
    homes = payload["homes"]
    demand = Demand(
        gpd.GeoDataFrame(homes, geometry="geometry", crs="EPSG:4326"),
        payload["home_population"],
        payload["home_community"],
        payload["home_snap"],
        0,
        0.0,
    )
    return region, demand


def _tree(snap: Snap) -> Any:
    from scipy.spatial import cKDTree  # noqa: PLC0415

    return cKDTree(snap.xy if len(snap) else np.zeros((0, 2)))


# -- one tile's task ----------------------------------------------------------------------


def run_tile(input_url: str, part_url: str) -> dict[str, Any]:
    """Analyse one tile (a Dask task): read its input, write its partition, say how it went.

    A data error (a :class:`LivingCircleError` or ``ValueError`` from the analysis) is
    returned as ``{"error": reason}`` rather than raised, so Dask does not retry it and the
    other tiles complete; a worker that dies is retried by Dask.
    """
    started = time.perf_counter()
    with fsspec.open(input_url, "rb") as f:
        payload = pickle.load(f)  # the run's own scratch, written just before
    where = {"region": payload["region"], "tile": payload["tile"]}
    try:
        region, demand = tile_region(payload)
        frame = _tile_points(region, demand, payload) if len(demand) else None
    except (LivingCircleError, ValueError, KeyError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        return {**where, "error": reason, "trace": traceback.format_exc(limit=3)}
    if frame is not None:
        _write_atomic(part_url, frame)
    # the facilities partition comes last: its presence marks the tile as done (resume)
    _write_atomic(facilities_part(part_url), _owned_frame(payload))
    homes = 0 if frame is None else len(frame)
    return {**where, "homes": homes, "seconds": time.perf_counter() - started}


def facilities_part(part_url: str) -> str:
    """The facilities partition beside a points partition (``points/`` to ``facilities/``)."""
    head, name = part_url.rsplit("/points/", 1)
    return f"{head}/facilities/{name}"


def _owned_frame(payload: dict[str, Any]) -> gpd.GeoDataFrame:
    """The facilities this tile owns (each facility is owned by exactly one tile)."""
    owned = payload["owned"]
    frame = pd.DataFrame(
        {
            "region": payload["region"],
            "tile": np.int32(payload["tile"]),
            "id": pd.Series(owned["id"], dtype=object),
            "category": pd.Series(owned["category"], dtype=object),
        }
    )
    geometry = gpd.points_from_xy(owned["lon"], owned["lat"], crs="EPSG:4326")
    return gpd.GeoDataFrame(frame, geometry=geometry)


def _tile_points(region: Region, demand: Demand, payload: dict[str, Any]) -> gpd.GeoDataFrame:
    _check_homes(demand)
    result = analyse(
        region,
        demand,
        payload["categories"],
        payload["k"],
        payload["minutes"],
        payload["speed_m_s"],
        horizon_m=payload["horizon_m"],
    )
    frame = points_table(result, payload["horizon_m"])
    frame.insert(0, "tile", np.int32(payload["tile"]))
    return frame


def _check_homes(demand: Demand) -> None:
    """Refuse homes whose residents are not a number >= 0 (the summaries would be NaN)."""
    bad = ~(demand.population >= 0) | ~np.isfinite(demand.population)
    if bad.any():
        ids = demand.frame["id"].to_numpy()[bad][:5]
        raise InvalidParameter(
            f"{int(bad.sum())} home(s) have a population that is not a number >= 0 (ids "
            f"{', '.join(map(str, ids))}); allowed: finite residents per home, 0 or more"
        )


def points_table(result: Analysis, horizon: float) -> gpd.GeoDataFrame:
    """One row per home: the answers within ``horizon`` metres, and which lie beyond it.

    Columns: ``region``, ``id``, ``population``, ``community``, ``score``,
    ``tier_<m>_met`` per tier, and per category ``<c>_min`` (minutes to the nearest; NaN when
    beyond the horizon), ``<c>_beyond``, ``<c>_ok`` (within its radius), ``<c>_n<m>``
    (facilities within each of the minutes) and ``<c>_knn1_m`` to ``<c>_knn<k>_m`` (the k
    nearest distances, metres, float32, ``inf`` where fewer lie within the horizon). The
    same function makes the single-machine table, so the two compare column by column.
    """
    demand = result.demand
    frame = demand.frame[["id", "geometry"]].copy()
    frame.insert(0, "region", result.region)
    frame["population"] = demand.population
    frame["community"] = demand.community.astype(str)
    comp = result.compliance()
    frame["score"] = comp.score
    columns: dict[str, Any] = {}
    for tier in result.standard.tiers:
        columns[f"tier_{tier.minutes}_met"] = comp.tier_met(tier.minutes)
    for c, acc in result.categories.items():
        near = acc.nearest_m
        beyond = ~(near <= horizon)
        columns[f"{c}_min"] = np.where(beyond, np.nan, near / result.speed_m_s / 60.0)
        columns[f"{c}_beyond"] = beyond
        columns[f"{c}_ok"] = near <= acc.radius_m
        for j, m in enumerate(result.minutes):
            columns[f"{c}_n{m}"] = acc.within[:, j]
        for j in range(result.k):  # one float32 column per rank: columnar, fast to read
            columns[f"{c}_knn{j + 1}_m"] = acc.k_nearest_m[:, j]
    extra = pd.DataFrame(columns, index=frame.index)
    frame = pd.concat([frame, extra], axis=1)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def _write_atomic(url: str, frame: gpd.GeoDataFrame) -> None:
    """Write a partition under a temporary name and move it in place (resume sees whole files)."""
    fs, path = fsspec.core.url_to_fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    tmp = f"{path}.tmp"
    with fs.open(tmp, "wb") as f:
        f.write(buf.getvalue())
    fs.mv(tmp, path)


# -- the run ------------------------------------------------------------------------------


def _run_tasks(
    client: Client,
    tasks: list[tuple[str, int, str]],
    job: ProvinceJob,
    result: ProvinceResult,
    progress: TileProgress | None,
) -> None:
    fs, root = fsspec.core.url_to_fs(job.out)
    futures = [
        client.submit(
            run_tile,
            url,
            fs.unstrip_protocol(_part_path(root, region, tile)),
            key=f"lc-tile-{region}-{tile:05d}-{time.time_ns()}",
            retries=job.retries,
            pure=False,
        )
        for region, tile, url in tasks
    ]
    total, done = len(futures), 0
    for future in as_completed(futures):  # type: ignore[no-untyped-call]  # dask.distributed is unannotated
        report = future.result()
        done += 1
        if "error" in report:
            failure = TileFailure(report["region"], report["tile"], report["error"])
            result.failed.append(failure)
            _write_failure(fs, root, failure)
            message = f"tile {failure.region}/{failure.tile} failed: {failure.reason}"
        else:
            result.computed += 1
            result.tile_seconds.append(float(report["seconds"]))
            message = f"tile {report['region']}/{report['tile']}: {report['homes']:,} homes"
        if progress is not None:
            progress(done, total, message)


def _write_failure(fs: Any, root: str, failure: TileFailure) -> None:
    fs.makedirs(f"{root}/failed", exist_ok=True)
    with fs.open(f"{root}/failed/{failure.region}.{failure.tile:05d}.json", "w") as f:
        json.dump({"region": failure.region, "tile": failure.tile, "reason": failure.reason}, f)


def _partitions(out: str) -> tuple[Any, list[str]]:
    fs, root = fsspec.core.url_to_fs(out)
    parts = sorted(p for p in fs.glob(f"{root}/points/part.*.parquet"))
    return fs, parts


def write_metadata(out: str) -> str | None:
    """Write ``points/_metadata`` over every partition (its row groups and their files)."""
    fs, parts = _partitions(out)
    if not parts:
        return None
    merged: pq.FileMetaData | None = None
    for part in parts:
        with fs.open(part, "rb") as f:
            meta = pq.ParquetFile(f).metadata
        meta.set_file_path(part.rsplit("/", 1)[-1])
        if merged is None:
            merged = meta
        else:
            merged.append_row_groups(meta)  # raises if a partition's schema differs
    target = f"{parts[0].rsplit('/', 1)[0]}/_metadata"
    buf = pa.BufferOutputStream()
    assert merged is not None
    merged.write_metadata_file(buf)
    with fs.open(target, "wb") as f:
        f.write(buf.getvalue().to_pybytes())
    return target


# -- summaries ----------------------------------------------------------------------------


def summarise(
    out: str, cats: Sequence[str], minutes: Sequence[int], standard: Standard
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coverage per category and tier shares, per community, district and city.

    Read partition by partition (only the columns needed), so memory stays bounded.
    """
    fs, parts = _partitions(out)
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


def _write_summaries(fs: Any, root: str, result: ProvinceResult) -> None:
    for name, frame in (("coverage", result.coverage), ("tiers", result.tiers)):
        with fs.open(f"{root}/{name}.parquet", "wb") as f:
            frame.to_parquet(f, index=False)
    with fs.open(f"{root}/run.json", "w") as f:
        json.dump(
            {
                "horizon_m": result.horizon_m,
                "plans": result.plans,
                "computed": result.computed,
                "resumed": result.resumed,
                "failed": [vars(x) for x in result.failed],
            },
            f,
            indent=1,
        )


# -- a province's homes -------------------------------------------------------------------


def place_province_homes(
    engines: Sequence[Region],
    homes: gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    population: float | None = None,
) -> list[tuple[Region, Demand]]:
    """Each region with its homes placed on its streets.

    ``homes`` (a province-wide frame with ``population``) are split by the region whose area
    holds them; a home inside two regions' areas is refused (overlapping regions are
    reported, never silently merged). Without ``homes`` every street node of each region is
    a home (``population`` then spreads over each region's nodes).

    Raises
    ------
    InvalidParameter
        Homes inside more than one region, or a region that holds no home.
    """
    from livingcircle.data.demand import demand_for_region  # noqa: PLC0415  (data side)
    from livingcircle.geo.demand import assign_communities, place_demand  # noqa: PLC0415

    if homes is None:
        frames = [
            demand_for_region(r, None, None, population, "floor_area", boundaries)[0]
            for r in engines
        ]
    else:
        frames = _split_homes(engines, homes.to_crs("EPSG:4326"))
        if boundaries is not None:
            frames = [assign_communities(f, boundaries) for f in frames]
    return [(r, place_demand(r.net, f, r.max_snap_m)) for r, f in zip(engines, frames, strict=True)]


def _split_homes(engines: Sequence[Region], homes: gpd.GeoDataFrame) -> list[gpd.GeoDataFrame]:
    lon, lat = homes.geometry.x.to_numpy(), homes.geometry.y.to_numpy()
    inside = np.column_stack([r.contains_many(lon, lat) for r in engines])
    twice = inside.sum(axis=1) > 1
    if twice.any():
        pairs = sorted(
            {
                " and ".join(r.name for r, hit in zip(engines, row, strict=True) if hit)
                for row in inside[twice]
            }
        )
        raise InvalidParameter(
            f"{int(twice.sum()):,} homes lie inside more than one region ({'; '.join(pairs)}): "
            "the regions overlap; run overlapping regions separately, or load the province "
            "as regions that do not overlap"
        )
    frames = [homes.loc[inside[:, j]].reset_index(drop=True) for j in range(len(engines))]
    for region, frame in zip(engines, frames, strict=True):
        if not len(frame):
            raise InvalidParameter(
                f"no home lies inside region {region.name!r}; leave it out of the run, or "
                "give homes that cover it"
            )
    return frames


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
    fs, parts = _partitions(out)
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
