"""``livingcircle batch``: many origins at once, as a Dask job.

Registered by :mod:`livingcircle.cli` at its end (it needs the CLI's store options).
"""

from __future__ import annotations

from typing import Annotated

import typer

from livingcircle import batch_run
from livingcircle.cli import (
    Profile,
    Quiet,
    Speed,
    Standards,
    _standard,
    _steps,
    err,
    out,
)
from livingcircle.cli_store import Database, DataDir, open_cli_store
from livingcircle.cluster import connect
from livingcircle.geo import config
from livingcircle.geo.errors import RegionNotFound
from livingcircle.settings import EngineSettings

batch_app = typer.Typer(
    help="Many origins at once (every bus stop, every school) as a Dask job: a local "
    "cluster by default, or an existing one with --scheduler.",
    no_args_is_help=True,
)
Workers = Annotated[
    int | None,
    typer.Option("--workers", "-w", help="Worker processes of the local cluster.", min=1),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler", help="An existing Dask scheduler, tcp://HOST:8786 (or LC_DASK_SCHEDULER)."
    ),
]


@batch_app.command("catchment")
def batch_catchment(
    region: Annotated[str, typer.Option("--region", "-r", help="The loaded region to ask.")],
    origins: Annotated[
        list[str],
        typer.Option(
            "--origins",
            help="Origins: GeoParquet, GeoJSON, GeoPackage, Shapefile, or CSV with lon, lat "
            "columns; a path or fsspec URL; repeatable (each file in its own CRS).",
        ),
    ],
    minutes: Annotated[
        list[int] | None,
        typer.Option("--minutes", "-m", help="Ring in minutes, repeatable; default 5, 10, 15."),
    ] = None,
    out_url: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder or fsspec URL for the GeoParquet parts (every worker writes its own); "
            "default: REGION-catchments.parquet here.",
        ),
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option("--id-column", help="The origins' id column (default: id, else row number)."),
    ] = None,
    profile: Profile = "standard",
    speed: Speed = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    data_dir: DataDir = None,
    database: Database = None,
    standards: Standards = None,
    quiet: Quiet = False,
) -> None:
    """Catchment rings for every origin in a file, one row per origin and ring."""
    store, standard = open_cli_store(data_dir, database), _standard(standards)
    names = [info.name for info in store.regions()]
    if region not in names:
        raise RegionNotFound(region, names)
    rings = sorted(set(minutes or config.DEFAULT_MINUTES))
    walking = standard.speed(profile, speed)
    given = batch_run.read_origins(origins, id_column)
    for note in given.notes:
        err.print(note, highlight=False)
    if (summary := given.summary()) is not None:
        err.print(f"[yellow]{summary}[/]", highlight=False, soft_wrap=True)
    source = batch_run.source_for(store, region, standard, EngineSettings().max_snap_m)
    target = out_url or f"{region}-catchments.parquet"
    with connect(workers, scheduler, progress=not quiet) as client, _steps(not quiet) as bar:
        rows, failed = batch_run.write_catchments(
            client, given.frame, source, rings, walking, target, bar
        )
    out.print(
        f"wrote {rows:,} rows ({len(given.frame):,} origins x {len(rings)} rings) to {target}; "
        + (f"{failed:,} origins have" if failed != 1 else "1 origin has")
        + " an error (column 'error')",
        highlight=False,
        soft_wrap=True,
    )
