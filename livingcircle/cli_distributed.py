"""``livingcircle gaps --distributed``: the province run behind the gaps command's options."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from livingcircle.data.user_files import read_boundaries, read_homes
from livingcircle.distributed import ProvinceJob, ProvinceResult, run_province
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import InvalidParameter

StepProgress = Callable[[str, int, int], None]


def province_names(atlas: Atlas, regions: Sequence[str] | None) -> list[str]:
    """The regions named (``--region`` repeated), or every loaded region when none is."""
    names = list(regions or [r.name for r in atlas.infos()])
    if not names:
        raise InvalidParameter(
            "no region is loaded; load one with 'livingcircle load FILE --region NAME'"
        )
    return names


def run_distributed_gaps(
    atlas: Atlas,
    regions: Sequence[str] | None,
    job: ProvinceJob,
    homes: Path | None = None,
    population: float | None = None,
    communities: Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: StepProgress | None = None,
    err: Console | None = None,
) -> ProvinceResult:
    """Join the cluster, place each region's homes here, analyse the tiles on the cluster."""
    console = err or Console(stderr=True)
    names = province_names(atlas, regions)
    engines = [atlas.region(n) for n in names]
    frame = read_homes(homes, population) if homes else None
    bounds = read_boundaries(communities) if communities else None
    pop = None if homes else population

    def tell(done: int, total: int, message: str) -> None:
        if progress is not None:
            progress(f"tiles: {message}", done, total)

    return run_province(engines, job, frame, bounds, pop, workers, scheduler, tell, console.file)


def print_result(result: ProvinceResult, console: Console) -> None:
    """Tiles, halo overhead, what was resumed or failed, and where the outputs are."""
    for name, plan in result.plans.items():
        console.print(
            f"{name}: {plan['tiles']:.0f} tiles, halo overhead {plan['halo_overhead']:.2f} "
            f"(halo {plan['halo_m']:.0f} m for a {plan['horizon_m']:.0f} m horizon), "
            f"largest subgraph {plan['largest_subgraph_nodes']:,.0f} nodes",
            highlight=False,
        )
    console.print(
        f"{result.computed} tiles computed, {result.resumed} resumed, {len(result.failed)} "
        f"failed in {result.wall_s:.1f} s; wrote {result.points_url} (GeoParquet, one "
        f"partition per tile, _metadata), {result.out.rstrip('/')}/coverage.parquet and "
        "tiers.parquet (per community, district and city)",
        highlight=False,
    )
    for failure in result.failed:
        console.print(
            f"tile {failure.region}/{failure.tile} failed: {failure.reason}", highlight=False
        )


def gaps_distributed(
    atlas: Atlas,
    regions: Sequence[str] | None,
    out: str,
    categories: Sequence[str] | None,
    homes: Path | None,
    population: float | None,
    communities: Path | None,
    k: int,
    speed_m_s: float,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    progress: StepProgress | None,
    err: Console,
) -> None:
    """The CLI's distributed run: analyse, print the plan and the outcome; exit 1 on failures."""
    job = ProvinceJob(out, categories or None, k, speed_m_s=speed_m_s, resume=resume)
    result = run_distributed_gaps(
        atlas, regions, job, homes, population, communities, workers, scheduler, progress, err
    )
    print_result(result, err)
    from livingcircle.data.postgis import PostgisStore  # noqa: PLC0415  (needs psycopg)

    if isinstance(atlas.store, PostgisStore):  # the same tables, loaded by COPY
        from livingcircle.province_outputs import load_postgis  # noqa: PLC0415

        tables = load_postgis(atlas.store.engine, result.out)
        err.print(f"PostGIS tables {', '.join(tables)}", highlight=False)
    if result.failed:
        raise SystemExit(1)
