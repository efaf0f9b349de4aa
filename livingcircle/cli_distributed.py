"""``livingcircle gaps --distributed``: the province run behind the gaps command's options."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console

from livingcircle.cli_options import Residents
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
    job: ProvinceJob,
    residents: Residents,
    workers: int | None,
    scheduler: str | None,
    progress: StepProgress | None,
    err: Console,
) -> None:
    """The CLI's distributed run: each region's homes placed here, the tiles on the cluster.

    Prints the plan and the outcome; exits 1 when a tile failed.
    """
    engines = [atlas.region(n) for n in province_names(atlas, regions)]
    homes, population = residents.homes, residents.population
    frame = read_homes(homes, population) if homes else None
    bounds = read_boundaries(residents.communities) if residents.communities else None

    def tell(done: int, total: int, message: str) -> None:
        if progress is not None:
            progress(f"tiles: {message}", done, total)

    district = None if homes else population  # a district total; a file counts its own
    result = run_province(engines, job, frame, bounds, district, workers, scheduler, tell, err.file)
    print_result(result, err)
    from livingcircle.data.postgis import PostgisStore  # noqa: PLC0415  (needs psycopg)

    if isinstance(atlas.store, PostgisStore):  # the same tables, loaded by COPY
        from livingcircle.province_outputs import load_postgis  # noqa: PLC0415

        tables = load_postgis(atlas.store.engine, result.out)
        err.print(f"PostGIS tables {', '.join(tables)}", highlight=False)
    if result.failed:
        raise SystemExit(1)
