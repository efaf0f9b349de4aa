"""The options the ``livingcircle`` commands share, and the store, standard and atlas they open.

Each option is declared here once, as an ``Annotated`` type a command's parameter takes
(``homes: Homes = None``): its names, help, limits and default meaning. Options whose
help names what the command does with them (``--region``, ``--out``, ``--json``,
``--category``) are made by one function each, so their names and kind are still written once.

Options that always go together are one group, a dataclass a command takes as one parameter
under :func:`command`: :class:`StoreChoice` (``--data-dir``, ``--database``),
:class:`AtlasChoice` (those and ``--standards``), :class:`Walking` (``--profile``,
``--speed``), :class:`Residents` (``--homes``, ``--communities``, ``--population``) and
:class:`MapLook` (``--offline``, ``--tiles``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast, get_type_hints

import typer

from livingcircle.geo import config
from livingcircle.geo.errors import InvalidParameter

if TYPE_CHECKING:  # the engine, the stores and the maps load when a command runs, not for --help
    from livingcircle.geo.atlas import Atlas
    from livingcircle.geo.standards import Standard
    from livingcircle.geo.store import Store
    from livingcircle.maps.base import MapLook as Look
    from livingcircle.maps.base import Tiles

__all__ = [
    "AsGeoJson",
    "AsRecords",
    "AtlasChoice",
    "Communities",
    "DataDir",
    "Database",
    "Homes",
    "HtmlOut",
    "Kept",
    "KiosksFile",
    "Lat",
    "Lon",
    "MapLook",
    "Minutes",
    "Offline",
    "PointRegion",
    "Population",
    "Profile",
    "Quiet",
    "Residents",
    "Scheduler",
    "Speed",
    "Standards",
    "StoreChoice",
    "TilesOpt",
    "Walking",
    "Workers",
    "category_option",
    "cli_standard",
    "command",
    "command_group",
    "json_option",
    "open_cli_store",
    "out_option",
    "region_option",
    "tiles",
]

# -- the store and the standard ---------------------------------------------------------------

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Embedded store folder (default: LC_DATA_DIR or the user data folder)."
    ),
]
Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="PostGIS store URL, postgresql+psycopg://USER:PASSWORD@HOST:5432/DB "
        "(default: LC_DATABASE_URL); without one the embedded store is used.",
    ),
]
Standards = Annotated[
    Path | None,
    typer.Option("--standards", help="Standards TOML replacing the bundled GB 50180-2018 file."),
]


def open_cli_store(data_dir: Path | None, database: str | None = None) -> Store:
    """The store the options name: PostGIS at ``database``, else the folder ``data_dir``.

    Options left out fall back to the settings (``LC_DATABASE_URL``, ``LC_DATA_DIR``).
    """
    from livingcircle.settings import store_at  # noqa: PLC0415  (the stores: when a command runs)

    return store_at(data_dir, database)


def cli_standard(path: Path | None) -> Standard:
    """The standard ``--standards`` names, else ``LC_STANDARDS_FILE``, else the bundled one."""
    from livingcircle.geo.standards import load_standard  # noqa: PLC0415  (the engine's)
    from livingcircle.settings import EngineSettings  # noqa: PLC0415

    return load_standard(path or EngineSettings().standards_file)


def command_group(help_text: str) -> typer.Typer:
    """A group of commands (``livingcircle kiosk ...``); alone, it shows its help."""
    return typer.Typer(help=help_text, no_args_is_help=True)


# -- the options whose help says what this command does with them ----------------------------


def region_option(help_text: str) -> Any:  # typer.Option is typed Any
    """``--region``/``-r``: which region the command reads or writes."""
    return typer.Option("--region", "-r", help=help_text)


def out_option(help_text: str) -> Any:
    """``--out``/``-o``: the file (or folder) the command writes."""
    return typer.Option("--out", "-o", help=help_text)


def json_option(help_text: str) -> Any:
    """``--json``: print JSON instead of tables."""
    return typer.Option("--json", help=help_text)


def category_option(help_text: str) -> Any:
    """``--category``/``-c``: a category id (see ``livingcircle categories``)."""
    return typer.Option("--category", "-c", help=help_text)


PointRegion = Annotated[
    str | None,
    region_option("Region to ask; default: the loaded region containing the point."),
]
HtmlOut = Annotated[Path, out_option("HTML file to write.")]
AsGeoJson = Annotated[bool, json_option("Print GeoJSON instead of a table.")]
AsRecords = Annotated[
    bool, json_option("Print a JSON list of records (not GeoJSON) instead of a table.")
]

# -- where, who and how fast ------------------------------------------------------------------

Lat = Annotated[float, typer.Option("--lat", help="Latitude, WGS 84 degrees.", min=-90, max=90)]
Lon = Annotated[float, typer.Option("--lon", help="Longitude, WGS 84 degrees.", min=-180, max=180)]
Minutes = Annotated[
    list[int] | None,
    typer.Option("--minutes", "-m", help="Ring in minutes, repeatable; default 5, 10, 15."),
]
Profile = Annotated[
    str,
    typer.Option(
        "--profile",
        help="Walking profile: standard (1.0 m/s), elderly (0.8), brisk (1.25), child (0.9), "
        "step-free (0.8, no steps or raised kerbs); see the standards file's [profiles].",
    ),
]
Speed = Annotated[
    float | None, typer.Option("--speed", help="Walking speed in m/s; overrides --profile.")
]
Homes = Annotated[
    Path | None,
    typer.Option(
        "--homes",
        help="Homes with residents: CSV with lon, lat (WGS 84) and population columns, or "
        "GeoPackage/GeoJSON/GeoParquet; default: every street node is a home.",
    ),
]
Population = Annotated[
    float | None,
    typer.Option("--population", help="District total, spread over the homes.", min=0),
]
Communities = Annotated[
    Path | None,
    typer.Option("--communities", help="Community boundaries (polygons with a name column)."),
]
Kept = Annotated[
    int,
    typer.Option("--k", "-k", help="Nearest facilities kept per home.", min=1, max=config.MAX_K),
]

# -- how the command runs and shows ----------------------------------------------------------

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
Offline = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Map makes no network request: Leaflet inlined, streets drawn instead "
        "of web tiles (for kiosks and bad connections).",
    ),
]
TilesOpt = Annotated[
    str,
    typer.Option(
        "--tiles", help="Online base map: osm, amap (data shifted to GCJ-02 to match Amap) or none."
    ),
]
KiosksFile = Annotated[
    Path | None,
    typer.Option(
        "--kiosks",
        help="Kiosks TOML served beside the store's kiosks (default: LC_KIOSKS_FILE or the "
        "bundled maps/kiosks.toml).",
        exists=True,
        dir_okay=False,
    ),
]
Workers = Annotated[
    int | None,
    typer.Option("--workers", "-w", help="Worker processes of the local Dask cluster.", min=1),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler", help="An existing Dask scheduler, tcp://HOST:8786 (or LC_DASK_SCHEDULER)."
    ),
]


def tiles(name: str) -> Tiles:
    """``--tiles`` checked: one of :data:`~livingcircle.maps.base.TILES`."""
    from livingcircle.maps.base import TILES  # noqa: PLC0415  (folium: only when a map is drawn)

    if name not in TILES:
        raise InvalidParameter(f"unknown tiles {name!r}; allowed: {', '.join(TILES)}")
    return cast("Tiles", name)  # one of TILES, checked above


# -- the groups --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreChoice:
    """``--data-dir`` and ``--database``: which store the command reads or writes."""

    data_dir: DataDir = None
    database: Database = None

    def store(self) -> Store:
        """The store these name (see :func:`open_cli_store`)."""
        return open_cli_store(self.data_dir, self.database)

    def standard(self) -> Standard:
        """The standard of ``LC_STANDARDS_FILE``, else the bundled one."""
        return cli_standard(None)

    def atlas(self) -> Atlas:
        """The store's regions, judged by :meth:`standard`."""
        from livingcircle.geo.atlas import Atlas  # noqa: PLC0415  (the engine: when a command runs)
        from livingcircle.settings import EngineSettings  # noqa: PLC0415

        return Atlas(self.store(), self.standard(), EngineSettings().max_snap_m)


@dataclass(frozen=True)
class AtlasChoice(StoreChoice):
    """The store options and ``--standards``: the regions, and the standard that judges them."""

    standards: Standards = None

    def standard(self) -> Standard:
        """The standard ``--standards`` names (see :func:`cli_standard`)."""
        return cli_standard(self.standards)


@dataclass(frozen=True)
class Walking:
    """``--profile`` and ``--speed``: how fast the resident walks."""

    profile: Profile = "standard"
    speed: Speed = None

    def speed_m_s(self, standard: Standard) -> float:
        """The walking speed in m/s: ``--speed``, else the profile's in ``standard``."""
        return standard.speed(self.profile, self.speed)

    @property
    def shown(self) -> str:
        """Where the speed came from: the profile's name, or 'custom' for ``--speed``."""
        return "custom, --speed" if self.speed is not None else self.profile


@dataclass(frozen=True)
class Residents:
    """``--homes``, ``--communities`` and ``--population``: who lives where."""

    homes: Homes = None
    communities: Communities = None
    population: Population = None


@dataclass(frozen=True)
class MapLook:
    """``--offline`` and ``--tiles``: what a map draws under its layers."""

    offline: Offline = False
    tiles: TilesOpt = "osm"

    @property
    def base(self) -> Tiles:
        """``--tiles`` checked (see :func:`tiles`)."""
        return tiles(self.tiles)

    def drawn(self) -> Look:
        """The options as the maps take them."""
        from livingcircle.maps.base import MapLook as Look  # noqa: PLC0415  (folium)

        return Look(self.offline, self.base)


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """``fn`` with each parameter typed by a group (a dataclass) standing for its options.

    Typer sees the group's fields as options, in the place of the parameter; ``fn`` is called
    with the group made from them. Every other parameter is passed as it is.
    """
    signature = inspect.signature(fn, eval_str=True)
    groups: dict[str, type[Any]] = {}
    shown: list[inspect.Parameter] = []
    for param in signature.parameters.values():
        group = param.annotation
        if not (isinstance(group, type) and is_dataclass(group)):
            shown.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY))
            continue
        groups[param.name] = group
        hints = get_type_hints(group, include_extras=True)
        shown += [
            inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name]
            )
            for f in fields(group)
        ]

    @functools.wraps(fn)
    def run(**given: Any) -> None:
        for name, group in groups.items():
            given[name] = group(**{f.name: given.pop(f.name) for f in fields(group)})
        fn(**given)

    # what Typer reads to make the command's options (inspect.signature honours it)
    run.__signature__ = signature.replace(parameters=shown)  # type: ignore[attr-defined]
    return run
