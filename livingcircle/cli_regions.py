"""Regions in and out: ``load``, ``fetch``, ``import``, ``regions`` and ``db upgrade``."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from livingcircle.cli_options import (
    AsRecords,
    AtlasChoice,
    Database,
    Quiet,
    StoreChoice,
    command,
    command_group,
    json_option,
    region_option,
)
from livingcircle.cli_output import err, out, progress, remove, steps
from livingcircle.geo.errors import InvalidParameter

if TYPE_CHECKING:  # the engine and the stores load when a command runs, not for --help
    from livingcircle.geo.standards import Standard
    from livingcircle.geo.store import RegionInfo, Store

__all__ = ["db_app", "fetch", "import_list_command", "load", "regions_app"]

db_app = command_group("The PostGIS store's database: create or update its tables.")
regions_app = typer.Typer(help="The loaded regions: list them (the default) or remove one.")
NewRegion = Annotated[str, region_option("Name to store it under.")]
RegionToRemove = Annotated[
    str, typer.Argument(help="The region to remove (see 'livingcircle regions').")
]


@command
def load(
    file: Annotated[Path, typer.Argument(help="OSM extract: .osm.pbf, .osm or .osm.bz2.")],
    region: NewRegion,
    where: AtlasChoice,
    quiet: Quiet = False,
    dem: Annotated[
        Path | None,
        typer.Option(
            "--dem",
            help="A GeoTIFF elevation model: street nodes get its heights, for the walking "
            "profiles' slope rules (without it, slopes come from incline tags only).",
        ),
    ] = None,
) -> None:
    """Load a city's walking network and facilities from an OSM file.

    Reloading a region replaces it whole; if the load fails, the old version stays.
    """
    from livingcircle.data.load import load_osm  # noqa: PLC0415  (the OSM reader, when it runs)

    store, standard = where.store(), where.standard()
    start = time.perf_counter()
    with progress(not quiet) as tell:
        info = load_osm(store, file, region, standard, tell, dem=dem, told=_say)
    err.print(
        f"loaded region [bold]{info.name}[/]: {info.n_nodes:,} street nodes, "
        f"{info.n_edges:,} edges, {info.n_facilities:,} facilities "
        f"in {time.perf_counter() - start:.1f} s",
        highlight=False,
    )
    _after_load(store, standard, info)


def _say(line: str) -> None:
    err.print(line, highlight=False)


@command
def fetch(
    area: Annotated[
        str,
        typer.Argument(
            help="A place name ('Haishu District, Ningbo, China'), "
            "a box 'west,south,east,north' or a polygon file."
        ),
    ],
    region: NewRegion,
    where: AtlasChoice,
    quiet: Quiet = False,
) -> None:
    """Download a walking network and facilities from Overpass (LC_OVERPASS_URL) via osmnx.

    Place names are looked up with Nominatim (LC_NOMINATIM_URL).

    The same walkable definition and categories as 'livingcircle load'; the region is
    replaced whole, or left as it was if the download fails.
    """
    from livingcircle.data.fetch import OverpassOptions, area_polygon, fetch_region  # noqa: PLC0415
    from livingcircle.settings import NominatimSettings, OverpassSettings  # noqa: PLC0415

    settings = OverpassSettings()
    options = OverpassOptions(settings.url, settings.timeout_s, settings.rate_limit)
    store, standard = where.store(), where.standard()
    with progress(not quiet) as tell:
        polygon = area_polygon(_area(area), NominatimSettings().url)
        info = fetch_region(store, region, polygon, standard, options, area, tell)
    err.print(
        f"fetched region [bold]{info.name}[/]: {info.n_nodes:,} street nodes, "
        f"{info.n_edges:,} edges, {info.n_facilities:,} facilities",
        highlight=False,
    )
    _after_load(store, standard, info)


def _after_load(store: Store, standard: Standard, info: RegionInfo) -> None:
    """Keep the standard where the store does (PostGIS), and tell what the load changed."""
    from livingcircle.geo.store import load_stats  # noqa: PLC0415

    store.save_standard(standard)
    last = store.audit(info.name, limit=1)
    if last and last[0].action == "load":
        stats = load_stats(last[0], info.n_facilities)
        err.print(
            f"facilities: {stats.inserted:,} new, {stats.updated:,} changed, "
            f"{stats.unchanged:,} unchanged, {stats.deleted:,} removed",
            highlight=False,
        )


def _area(text: str) -> str | tuple[float, float, float, float] | Path:
    """A box if ``text`` is four numbers, a file if it names one, else a place name."""
    parts = text.split(",")
    if len(parts) == 4:
        try:
            w, s, e, n = (float(p) for p in parts)
        except ValueError:
            return text
        return (w, s, e, n)
    return Path(text) if Path(text).is_file() else text


@command
def import_list_command(
    *,
    file: Annotated[
        Path, typer.Argument(help="A department's facility list: .csv, .xlsx, .geojson or .gpkg.")
    ],
    mapping: Annotated[
        Path,
        typer.Option(
            "--mapping",
            "-m",
            help="TOML mapping file: columns, crs (wgs84, gcj02, bd09, EPSG:n) and categories.",
        ),
    ],
    region: Annotated[str, region_option("Region to merge it into.")],
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Where to write the rejected rows (CSV with a reason per row; the "
            "whole report, conflicts included, goes beside it as .json); default: FILE's name "
            "with .rejected.csv, beside it.",
        ),
    ] = None,
    where: AtlasChoice,
    as_json: Annotated[bool, json_option("Print the summary as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Merge a department's facility list into a region, with provenance and no duplicates.

    Rows matching a facility already there are merged into it; bad rows are left out and
    written to the report to fix and submit again. Importing the same list again changes
    nothing.
    """
    from livingcircle.data.department_lists import load_mapping  # noqa: PLC0415
    from livingcircle.data.departments import import_list  # noqa: PLC0415

    store, standard = where.store(), where.standard()
    with steps(not quiet) as tell:
        result = import_list(store, region, file, load_mapping(mapping, standard), standard, tell)
    report_path = report or file.with_name(f"{file.stem}.rejected.csv")
    result.write_rejected(report_path)
    result.write_json(report_path.with_suffix(".json"))
    summary = result.summary() | {"report": str(report_path)}
    if as_json:
        out.print_json(data=summary)
        return
    table = Table("", "count", title=f"import of {file.name} into {region}")
    for key, value in summary.items():
        table.add_row(key, str(value))
    out.print(table)


@regions_app.callback(invoke_without_command=True)
@command
def regions(ctx: typer.Context, where: StoreChoice, as_json: AsRecords = False) -> None:
    """List the loaded regions ('livingcircle regions' alone does the same as 'list')."""
    if ctx.invoked_subcommand is None:
        _list_regions(where.store(), as_json)


@regions_app.command("list")
@command
def regions_list(where: StoreChoice, as_json: AsRecords = False) -> None:
    """List the loaded regions: source, load time, size and bounds."""
    _list_regions(where.store(), as_json)


@regions_app.command("remove")
@command
def regions_remove(name: RegionToRemove, where: StoreChoice) -> None:
    """Remove a region: its streets, facilities (departments' records too) and history."""
    remove("region", name, where.store().delete_region)


def _list_regions(store: Store, as_json: bool) -> None:
    infos = store.regions()
    if as_json:
        print(json.dumps([_info_record(i) for i in infos], indent=2))
        return
    if not infos:
        err.print("no region is loaded yet; run 'livingcircle demo' or 'livingcircle load'")
        return
    table = Table(title="Loaded regions")
    table.add_column("region", overflow="fold")
    table.add_column("loaded (UTC)", no_wrap=True)
    for col in ("nodes", "edges", "facilities"):
        table.add_column(col, justify="right", no_wrap=True)
    for i in infos:
        table.add_row(
            i.name,
            i.loaded_at.strftime("%Y-%m-%d %H:%M"),
            f"{i.n_nodes:,}",
            f"{i.n_edges:,}",
            f"{i.n_facilities:,}",
        )
    out.print(table)
    for i in infos:  # on lines of their own: a path and four numbers make a table too wide
        w, s, e, n = i.bounds
        out.print(
            f"{i.name}: lat {s:.4f} to {n:.4f}, lon {w:.4f} to {e:.4f}\n  from {i.source}",
            highlight=False,
        )


def _info_record(info: RegionInfo) -> dict[str, Any]:
    """The region's record as JSON: its fields, the time in ISO 8601."""
    return asdict(info) | {"loaded_at": info.loaded_at.isoformat(), "bounds": list(info.bounds)}


@db_app.command("upgrade")
def db_upgrade(database: Database = None) -> None:
    """Create or update the livingcircle tables in a PostGIS database (Alembic migrations)."""
    from livingcircle.data.postgis import safe_url, upgrade  # noqa: PLC0415  (SQLAlchemy only when asked)
    from livingcircle.settings import StoreSettings  # noqa: PLC0415

    url = database or StoreSettings().database_url
    if not url:
        raise InvalidParameter("no database given; pass --database URL or set LC_DATABASE_URL")
    revision = upgrade(url)
    err.print(
        f"database {safe_url(url)} is at schema revision {revision} (up to date)", highlight=False
    )
