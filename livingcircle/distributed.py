"""Province-scale gap analysis on Dask: one task per tile, partitioned GeoParquet out.

A province is a list of regions. Each region is cut into tiles with halos
(:mod:`livingcircle.geo.tiles`); each tile's input (its subgraph, the facilities on it and
its core's homes) is written once under ``OUT/_inputs/``, and one Dask task per tile reads
it, runs the single-machine :func:`livingcircle.geo.gaps.analyse` on it and writes the
tile's homes as one GeoParquet partition ``OUT/points/part.REGION.TILE.parquet``. Inputs and
outputs are fsspec URLs (a local folder, ``s3://`` with s3fs installed), so workers on other
machines read the same tiles; no task carries more than a tile. A province too large for
one process is given as region builders (:func:`analyse_built_province`): each region is
built, its homes placed and its tiles planned by a task on a worker.

Answers within the horizon (the longest minutes at the fastest profile, or the longest
service radius) equal the single-machine analysis; a nearest facility beyond it is written
as NaN minutes with ``<category>_beyond`` true ("beyond N minutes"), never a wrong time.

Faults: a worker that dies has its task retried (``retries``); a tile that fails for a data
reason is recorded with the reason (``OUT/failed/``) and the others complete; a task that
fails for another reason (a region that cannot be built, a tile whose retries ran out) stops
the run: its unfinished tasks are cancelled and :class:`ClusterTaskFailed` names it; with
``resume`` a tile whose partition exists is not recomputed. When all are done,
``points/_metadata`` summarises the partitions (dask-geopandas, DuckDB and QGIS read the
folder), and ``coverage.parquet`` / ``tiers.parquet`` hold the summary per community,
district (region) and city (the whole province).

Before any tile is planned, every worker proves it reads what this process writes under
``OUT`` and can write there (:func:`livingcircle.cluster.check_storage`): a folder only this
machine sees fails at once, naming the worker, never after the inputs are written.

Rooms: this module plans and runs the tiles; :mod:`livingcircle.tile_tasks` is one tile
(its input, its task); :mod:`livingcircle.province_outputs` the summaries and PostGIS tables.
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import fsspec
import geopandas as gpd
import numpy as np
import pandas as pd
from distributed import Client, Future, as_completed

from livingcircle.cluster import check_storage, connect
from livingcircle.geo import config
from livingcircle.geo.demand import Demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import ClusterTaskFailed, InvalidParameter, LivingCircleError
from livingcircle.geo.gaps import DEFAULT_K
from livingcircle.geo.profile_views import walked_demand
from livingcircle.geo.standards import Standard
from livingcircle.geo.tiles import (
    DEFAULT_MAX_POINTS,
    DEFAULT_MAX_SUBGRAPH_NODES,
    TilePlan,
    horizon_m,
    plan_tiles,
)
from livingcircle.province_outputs import summarise, write_metadata
from livingcircle.tile_tasks import facilities_part, run_tile, tile_input

#: ``progress(done, total, message)`` while tiles finish.
TileProgress = Callable[[int, int, str], None]
#: Builds one region and its placed homes where it is called (on a worker); picklable.
RegionBuilder = Callable[[], tuple[Region, Demand]]
#: Times Dask retries a tile whose worker died.
DEFAULT_RETRIES = 3


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
    speed_m_s: float | None = None  # None: the profile's own speed
    max_points: int = DEFAULT_MAX_POINTS
    max_subgraph_nodes: int = DEFAULT_MAX_SUBGRAPH_NODES
    resume: bool = False
    retries: int = DEFAULT_RETRIES
    #: the walking profile: each region's tiles are cut from its view at it (its street rules)
    profile: str = "standard"


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
    tile_cpu_s: list[float] = field(default_factory=list)
    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)
    tiers: pd.DataFrame = field(default_factory=pd.DataFrame)
    wall_s: float = 0.0

    @property
    def points_url(self) -> str:
        """The partitioned GeoParquet folder of homes."""
        return f"{self.out.rstrip('/')}/points"


def run_horizon(standard: Standard, job: ProvinceJob, categories: Sequence[str]) -> float:
    """The run's horizon: the longest minutes at the fastest profile, or the longest radius."""
    speeds = [p.speed_m_s for p in standard.profiles.values()]
    speeds += [job.speed_m_s] if job.speed_m_s is not None else []
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
    WorkerCannotReach
        A worker cannot read what this process writes under ``job.out``, or write there.
    InvalidParameter
        Two regions with one name, regions in different standards, or a tile larger than
        ``job.max_subgraph_nodes`` that cannot be split.
    """
    started = time.perf_counter()
    _check_regions(regions)
    standard = regions[0][0].standard
    cats = standard.resolve_categories(job.categories)
    result = _start(client, job, standard, cats)
    tasks: list[tuple[str, int, str]] = []
    for region, demand in regions:
        _add_plan(result, tasks, plan_region(region, demand, job, cats, result.horizon_m))
    return _finish(client, tasks, job, result, progress, (cats, standard, started))


def analyse_built_province(
    client: Client,
    builders: Sequence[RegionBuilder],
    standard: Standard,
    job: ProvinceJob,
    progress: TileProgress | None = None,
) -> ProvinceResult:
    """As :func:`analyse_province`, each region built, placed and planned on a worker.

    For a province that does not fit one machine: this process never holds a region. Each
    builder (a picklable callable returning the region and its placed homes, e.g.
    :class:`livingcircle.data.synthetic.SyntheticCity`) runs as one Dask task that plans its
    tiles and writes their inputs under ``job.out``; then the tiles run as in
    :func:`analyse_province`. Each region's plan summary adds ``build_s`` and
    ``build_cpu_s`` (building, placing and planning it on the worker).

    Raises
    ------
    InvalidParameter
        No builder, two regions with one name, or a region whose standard is not
        ``standard``'s.
    ClusterTaskFailed
        A builder (or a tile) failed for a reason not in its data, naming it; the run's
        unfinished tasks were cancelled.
    """
    started = time.perf_counter()
    if not builders:
        raise InvalidParameter("a province run needs at least one region")
    cats = standard.resolve_categories(job.categories)
    result = _start(client, job, standard, cats)
    ids = tuple(standard.category_ids)
    futures = [
        client.submit(_build_and_plan, b, job, cats, result.horizon_m, ids, pure=False)
        for b in builders
    ]
    labels = [_builder_label(b, i, len(builders)) for i, b in enumerate(builders)]
    tasks: list[tuple[str, int, str]] = []

    def add(planned: RegionPlan) -> None:
        if planned.name in result.plans:
            raise InvalidParameter(f"regions named twice in one run: {planned.name}")
        _add_plan(result, tasks, planned)

    each_result(client, futures, labels, add)
    return _finish(client, tasks, job, result, progress, (cats, standard, started))


def each_result(
    client: Client,
    futures: list[Future[Any]],
    labels: Sequence[str],
    use: Callable[[Any], None],
) -> None:
    """``use`` each future's result as it completes; the first failure cancels the rest.

    A task's own :class:`LivingCircleError` is raised as it is; another error (a worker
    killed too often, a file the worker does not have, memory) is raised as
    :class:`ClusterTaskFailed` naming ``labels[i]``. Either way, and when ``use`` raises,
    the futures still running or waiting are cancelled first.
    """
    label = {f.key: text for f, text in zip(futures, labels, strict=True)}
    try:
        for future in as_completed(futures):  # type: ignore[no-untyped-call]  # dask.distributed is unannotated
            use(_result(future, label[future.key], futures))
    except BaseException:
        client.cancel(futures)  # type: ignore[no-untyped-call]  # dask.distributed is unannotated
        raise


def _result(future: Future[Any], label: str, futures: list[Future[Any]]) -> Any:
    try:
        return future.result()
    except LivingCircleError:
        raise
    except Exception as exc:
        unfinished = sum(not f.done() for f in futures)  # type: ignore[no-untyped-call]  # dask.distributed is unannotated
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise ClusterTaskFailed(label, f"{type(exc).__name__}: {reason}", unfinished) from exc


def _builder_label(builder: RegionBuilder, index: int, count: int) -> str:
    name = getattr(builder, "name", None)
    if isinstance(name, str):
        return f"building region {name}"
    return f"building region {index + 1} of {count} ({type(builder).__name__})"


@dataclass(frozen=True)
class RegionPlan:
    """One region's tiles: its plan summary, the tiles to run and how many were resumed."""

    name: str
    summary: dict[str, float]
    tasks: list[tuple[str, int, str]]
    resumed: int


def plan_region(
    region: Region, demand: Demand, job: ProvinceJob, cats: Sequence[str], horizon: float
) -> RegionPlan:
    """Plan a region's tiles and write each tile's input (and the plan) under ``job.out``."""
    region, demand = walked_demand(region, demand, job.profile, job.speed_m_s)
    fs, root = fsspec.core.url_to_fs(job.out)
    plan = plan_tiles(
        region.net,
        demand.snap,
        region.facilities.snap,
        horizon,
        job.max_points,
        job.max_subgraph_nodes,
    )
    _write_plan(fs, root, region.name, plan)
    tasks: list[tuple[str, int, str]] = []
    resumed = 0
    for tile in plan.tiles:
        part = facilities_part(_part_path(root, region.name, tile.index))
        if job.resume and fs.exists(part):
            resumed += 1
            continue
        url = _write_input(fs, root, tile_input(region, demand, tile, cats, job, horizon))
        tasks.append((region.name, tile.index, url))
    return RegionPlan(region.name, plan.summary(), tasks, resumed)


def _build_and_plan(
    builder: RegionBuilder,
    job: ProvinceJob,
    cats: Sequence[str],
    horizon: float,
    category_ids: tuple[str, ...],
) -> RegionPlan:
    """Build a region where this runs (a worker) and plan it (:func:`plan_region`)."""
    wall, cpu = time.perf_counter(), time.process_time()
    region, demand = builder()
    if tuple(region.standard.category_ids) != category_ids:
        raise InvalidParameter(
            f"region {region.name!r} uses another standards file than the run; every region "
            "of a province run must use the same one"
        )
    planned = plan_region(region, demand, job, cats, horizon)
    planned.summary["build_s"] = time.perf_counter() - wall
    planned.summary["build_cpu_s"] = time.process_time() - cpu
    return planned


def _start(
    client: Client, job: ProvinceJob, standard: Standard, cats: Sequence[str]
) -> ProvinceResult:
    """Make the output folder, prove the workers see it, and open the run's result."""
    fs, root = fsspec.core.url_to_fs(job.out)
    fs.makedirs(f"{root}/points", exist_ok=True)
    check_storage(client, job.out, f"the output folder {job.out}")
    return ProvinceResult(job.out, run_horizon(standard, job, cats), {})


def _add_plan(
    result: ProvinceResult, tasks: list[tuple[str, int, str]], planned: RegionPlan
) -> None:
    result.plans[planned.name] = planned.summary
    result.resumed += planned.resumed
    tasks.extend(planned.tasks)


def _finish(
    client: Client,
    tasks: list[tuple[str, int, str]],
    job: ProvinceJob,
    result: ProvinceResult,
    progress: TileProgress | None,
    run: tuple[Sequence[str], Standard, float],
) -> ProvinceResult:
    """Run the tiles, then write the metadata and the summaries."""
    cats, standard, started = run
    _run_tasks(client, tasks, job, result, progress)
    write_metadata(job.out)
    result.coverage, result.tiers = summarise(job.out, cats, job.minutes, standard)
    fs, root = fsspec.core.url_to_fs(job.out)
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


def _write_input(fs: Any, root: str, payload: dict[str, Any]) -> str:
    """Write a tile's input (:func:`tile_input`) for its task; returns its URL."""
    folder = f"{root}/_inputs/{payload['region']}"
    fs.makedirs(folder, exist_ok=True)
    path = f"{folder}/tile-{payload['tile']:05d}.pkl"
    with fs.open(path, "wb") as f:
        pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
    return fs.unstrip_protocol(path)  # type: ignore[no-any-return]  # fsspec is unannotated


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

    def record(report: dict[str, Any]) -> None:
        nonlocal done
        done += 1
        if "error" in report:
            failure = TileFailure(report["region"], report["tile"], report["error"])
            result.failed.append(failure)
            _write_failure(fs, root, failure)
            message = f"tile {failure.region}/{failure.tile} failed: {failure.reason}"
        else:
            result.computed += 1
            result.tile_seconds.append(float(report["seconds"]))
            result.tile_cpu_s.append(float(report["cpu_s"]))
            message = f"tile {report['region']}/{report['tile']}: {report['homes']:,} homes"
        if progress is not None:
            progress(done, total, message)

    each_result(client, futures, [f"tile {r}/{t}" for r, t, _ in tasks], record)


def _write_failure(fs: Any, root: str, failure: TileFailure) -> None:
    fs.makedirs(f"{root}/failed", exist_ok=True)
    with fs.open(f"{root}/failed/{failure.region}.{failure.tile:05d}.json", "w") as f:
        json.dump({"region": failure.region, "tile": failure.tile, "reason": failure.reason}, f)


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


# -- the use case: connect, place, analyse ------------------------------------------------


def run_province(
    engines: Sequence[Region],
    job: ProvinceJob,
    homes: gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    population: float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: TileProgress | None = None,
    stream: IO[str] | None = None,
) -> ProvinceResult:
    """A province run as ``livingcircle gaps --distributed`` and ``lc.analyse_province`` do it.

    The cluster is joined first, so an unreachable scheduler fails within seconds (naming
    its address) before any home is placed; then the homes are placed here
    (:func:`place_province_homes`) and the tiles analysed on the cluster
    (:func:`analyse_province`, which first probes the workers' storage).

    Parameters
    ----------
    engines
        The regions of the province.
    job
        What to compute and where to write.
    homes, boundaries, population
        As :func:`place_province_homes`.
    workers, scheduler
        As :func:`livingcircle.cluster.connect`.
    progress
        Told ``(done, total, message)`` as tiles finish.
    stream
        Where the cluster's dashboard link is printed; None prints nothing.

    Raises
    ------
    ClusterUnavailable
        The scheduler does not answer, or a local cluster cannot start.
    WorkerCannotReach
        A worker cannot read or write ``job.out``.
    """
    with connect(workers, scheduler, progress=stream is not None, stream=stream) as client:
        placed = place_province_homes(engines, homes, boundaries, population)
        return analyse_province(client, placed, job, progress)
