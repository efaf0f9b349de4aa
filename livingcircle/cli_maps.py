"""``livingcircle map``: a resident's, a planner's, a kiosk's or a scenario's map, and a poster.

Folium (and the map modules) are imported inside each command: only a map needs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from livingcircle.cli_options import (
    Communities,
    Homes,
    HtmlOut,
    KiosksFile,
    Lat,
    Lon,
    MapLook,
    Minutes,
    PointRegion,
    Quiet,
    Residents,
    StoreChoice,
    Walking,
    category_option,
    command,
    command_group,
    out_option,
    region_option,
)
from livingcircle.cli_output import err, save_map, steps
from livingcircle.cli_scenario import ScenarioRegion, scenario_result
from livingcircle.geo import config
from livingcircle.geo.errors import InvalidParameter, UnknownKiosk

if TYPE_CHECKING:
    from livingcircle.geo.kiosks import Kiosk

__all__ = ["map_app"]

map_app = command_group(
    "Write a map as one HTML file: a resident's catchment, a planner's "
    "district view, or a kiosk's page."
)
KioskRef = Annotated[
    str, typer.Option("--kiosk", "-k", help="Kiosk id, from the store or the kiosks file.")
]


@map_app.command("resident")
@command
def map_resident(
    *,
    lat: Lat,
    lon: Lon,
    out: HtmlOut,
    minutes: Minutes = None,
    region: PointRegion = None,
    walk: Walking,
    look: MapLook,
    where: StoreChoice,
) -> None:
    """Resident map: rings, facilities with popups, routes to the nearest of each kind."""
    from livingcircle.maps.resident import resident_map_at  # noqa: PLC0415  (folium only here)

    engine = where.atlas().locate(lon, lat, region)
    rings = minutes or config.DEFAULT_MINUTES
    fmap = resident_map_at(
        engine, lon, lat, rings, walk.profile, walk.speed, look.offline, look.base
    )
    save_map(fmap, out)


@map_app.command("planner")
@command
def map_planner(
    *,
    region: Annotated[str, region_option("Region to map.")],
    category: Annotated[str, category_option("Category whose walking times are painted.")],
    out: HtmlOut,
    homes: Homes = None,
    communities: Communities = None,
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
    walk: Walking,
    look: MapLook,
    where: StoreChoice,
) -> None:
    """Planner map: homes by minutes on foot to the nearest facility, gaps, where to build.

    Communities, when given, are shaded by their living-circle score.
    """
    from livingcircle.data.user_files import read_boundaries, read_homes  # noqa: PLC0415
    from livingcircle.maps.planner import planner_map  # noqa: PLC0415  (folium only when a map is asked)

    atlas = where.atlas()
    fmap = planner_map(
        atlas.region(region).walked_at(walk.profile, walk.speed),  # its streets, not only its pace
        category,
        walk.speed_m_s(atlas.standard),
        offline=look.offline,
        tiles=look.base,
        homes=read_homes(homes) if homes else None,
        communities=read_boundaries(communities) if communities else None,
        hexagons=hexagons,
        n_sites=sites,
    )
    save_map(fmap, out)


@map_app.command("kiosk")
@command
def map_kiosk(
    kiosk_id: KioskRef, out: HtmlOut, kiosks: KiosksFile = None, *, where: StoreChoice
) -> None:
    """Kiosk page: full-screen offline map and the nearest everyday services, in big type."""
    from livingcircle.maps.kiosk import kiosk_page, served_kiosks  # noqa: PLC0415  (folium only when asked)

    atlas = where.atlas()
    k = _find_kiosk(kiosk_id, served_kiosks(atlas.store, kiosks))
    save_map(kiosk_page(k, atlas.region(k.region)), out, "kiosk page")


@map_app.command("poster")
@command
def map_poster(
    *,
    out: Annotated[Path, out_option("PDF file to write (A4).")],
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
    region: PointRegion = None,
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
    kiosks: KiosksFile = None,
    where: StoreChoice,
) -> None:
    """Notice-board poster (A4 PDF): map, rings, nearest services, checklist and a QR code."""
    from livingcircle.maps.kiosk import served_kiosks  # noqa: PLC0415  (folium only when asked)
    from livingcircle.maps.poster import Place, make_poster  # noqa: PLC0415

    atlas = where.atlas()
    if kiosk_id is not None:
        k = _find_kiosk(kiosk_id, served_kiosks(atlas.store, kiosks))
        place, spot = Place(k.lon, k.lat, k.name_zh, k.name_en, k.categories), k.region
    elif lat is not None and lon is not None:
        place, spot = Place(lon, lat, name_zh, name_en), atlas.locate(lon, lat, region).name
    else:
        raise InvalidParameter("say where the poster hangs: --kiosk ID, or --lat and --lon")
    make_poster(atlas.region(spot), place, out, app_url)
    err.print(f"poster written to {out}", highlight=False)


@map_app.command("scenario")
@command
def map_scenario(
    *,
    file: Annotated[
        Path,
        typer.Argument(
            help="Scenario file: .toml, or .geojson with a 'change' property per feature."
        ),
    ],
    region: ScenarioRegion,
    out: HtmlOut,
    homes: Homes = None,
    category: Annotated[
        str | None,
        category_option(
            "Category whose change is painted; default: the first the scenario changes."
        ),
    ] = None,
    walk: Walking,
    look: MapLook,
    where: StoreChoice,
    quiet: Quiet = False,
) -> None:
    """Scenario map: homes whose walk changed, opened/closed facilities, links and closures."""
    from livingcircle.data.scenario_file import read_scenario  # noqa: PLC0415
    from livingcircle.maps.scenario import scenario_map  # noqa: PLC0415  (folium only when asked)

    spec = read_scenario(file)
    atlas = where.atlas()
    speed_m_s = walk.speed_m_s(atlas.standard)
    with steps(not quiet) as tell:
        result = scenario_result(
            atlas,
            spec,
            file.name,
            region,
            Residents(homes),
            speed_m_s=speed_m_s,
            progress=tell,
            profile=walk.profile,
        )
    fmap = scenario_map(atlas.region(region), result, category, look=look.drawn())
    save_map(fmap, out, "scenario map")


def _find_kiosk(kiosk_id: str, kiosks: dict[str, Kiosk]) -> Kiosk:
    if kiosk_id not in kiosks:
        raise UnknownKiosk(kiosk_id, kiosks)
    return kiosks[kiosk_id]
