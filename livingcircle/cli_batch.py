"""``livingcircle batch``: many origins at once, as a Dask job.

The work is :mod:`livingcircle.batch_run`; this module reads the options and prints the outcome.
"""

from __future__ import annotations

from typing import Annotated

import typer

from livingcircle.cli_options import (
    AtlasChoice,
    Minutes,
    Quiet,
    Scheduler,
    Walking,
    Workers,
    command,
    command_group,
    out_option,
    region_option,
)
from livingcircle.cli_output import err, out, steps
from livingcircle.geo import config
from livingcircle.geo.errors import RegionNotFound

batch_app = command_group(
    "Many origins at once (every bus stop, every school) as a Dask job: a local "
    "cluster by default, or an existing one with --scheduler."
)


@batch_app.command("catchment")
@command
def batch_catchment(
    *,
    region: Annotated[str, region_option("The loaded region to ask.")],
    origins: Annotated[
        list[str],
        typer.Option(
            "--origins",
            help="Origins: GeoParquet, GeoJSON, GeoPackage, Shapefile, or CSV with lon, lat "
            "columns; a path or fsspec URL; repeatable (each file in its own CRS).",
        ),
    ],
    minutes: Minutes = None,
    out_url: Annotated[
        str | None,
        out_option(
            "Folder or fsspec URL for the GeoParquet parts (every worker writes its own); "
            "default: REGION-catchments.parquet here."
        ),
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option("--id-column", help="The origins' id column (default: id, else row number)."),
    ] = None,
    walk: Walking,
    workers: Workers = None,
    scheduler: Scheduler = None,
    where: AtlasChoice,
    quiet: Quiet = False,
) -> None:
    """Catchment rings for every origin in a file, one row per origin and ring."""
    from livingcircle import batch_run  # noqa: PLC0415  (Dask and the engine: when it runs)
    from livingcircle.cluster import connect  # noqa: PLC0415
    from livingcircle.settings import EngineSettings  # noqa: PLC0415

    store, standard = where.store(), where.standard()
    names = [info.name for info in store.regions()]
    if region not in names:
        raise RegionNotFound(region, names)
    rings = sorted(set(minutes or config.DEFAULT_MINUTES))
    walking = batch_run.Walk(tuple(rings), walk.speed_m_s(standard), walk.profile)
    given = batch_run.read_origins(origins, id_column)
    for note in given.notes:
        err.print(note, highlight=False)
    if (summary := given.summary()) is not None:
        err.print(f"[yellow]{summary}[/]", highlight=False, soft_wrap=True)
    source = batch_run.source_for(store, region, standard, EngineSettings().max_snap_m)
    target = out_url or f"{region}-catchments.parquet"
    with connect(workers, scheduler, progress=not quiet) as client, steps(not quiet) as bar:
        rows, failed = batch_run.write_catchments(client, given.frame, source, walking, target, bar)
    out.print(
        f"wrote {rows:,} rows ({len(given.frame):,} origins x {len(rings)} rings) to {target}; "
        + (f"{failed:,} origins have" if failed != 1 else "1 origin has")
        + " an error (column 'error')",
        highlight=False,
        soft_wrap=True,
    )
