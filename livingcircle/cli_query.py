"""A resident's questions: ``nearest``, ``catchment``, ``categories`` and the ``demo``."""

from __future__ import annotations

import json
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from livingcircle.cli_options import (
    AsGeoJson,
    AsRecords,
    AtlasChoice,
    Lat,
    Lon,
    Minutes,
    Offline,
    PointRegion,
    Standards,
    StoreChoice,
    Walking,
    category_option,
    cli_standard,
    command,
    out_option,
)
from livingcircle.cli_output import err, mps, out, save_map
from livingcircle.cli_sample import ensure_sample
from livingcircle.data.sample_names import SAMPLE_POINT, SAMPLE_REGION
from livingcircle.geo import config

if TYPE_CHECKING:  # the engine loads when a command runs, not for --help
    from livingcircle.geo.atlas import Atlas
    from livingcircle.geo.results import CatchmentResult, NearestResult
    from livingcircle.geo.standards import Standard

__all__ = ["catchment", "categories", "demo", "nearest"]


@command
def nearest(
    *,
    lat: Lat,
    lon: Lon,
    category: Annotated[
        list[str] | None,
        category_option("Category id, repeatable (see 'livingcircle categories'); default: all."),
    ] = None,
    k: Annotated[
        int, typer.Option("--k", "-k", help="Facilities per category.", min=1, max=config.MAX_K)
    ] = 1,
    region: PointRegion = None,
    walk: Walking,
    as_json: AsGeoJson = False,
    where: AtlasChoice,
) -> None:
    """The nearest facilities of each category by walking time, with routes."""
    atlas = where.atlas()
    result = atlas.nearest(
        lon, lat, category, region, k=k, profile=walk.profile, speed_m_s=walk.speed, routes=as_json
    )
    if as_json:
        print(json.dumps(result.to_geojson(), ensure_ascii=False))
    else:
        _print_nearest(result, atlas.standard, walk.shown)


@command
def catchment(
    *,
    lat: Lat,
    lon: Lon,
    minutes: Minutes = None,
    region: PointRegion = None,
    walk: Walking,
    as_json: AsGeoJson = False,
    out_file: Annotated[Path | None, out_option("Also write a resident map (HTML) here.")] = None,
    html: Annotated[
        Path | None, typer.Option("--html", hidden=True, help="Deprecated name of --out.")
    ] = None,
    offline: Offline = False,
    where: AtlasChoice,
) -> None:
    """What is within 5, 10 and 15 minutes on foot, and what the standard finds missing."""
    atlas = where.atlas()
    result = atlas.catchment(
        lon,
        lat,
        minutes or config.DEFAULT_MINUTES,
        region,
        profile=walk.profile,
        speed_m_s=walk.speed,
    )
    if html is not None:
        err.print("--html is deprecated; use --out (-o), as every command does")
    map_file = out_file or html
    if map_file is not None:
        longest = max(ring.minutes for ring in result.rings)
        near = atlas.nearest(
            lon,
            lat,
            None,
            result.region,
            profile=walk.profile,
            speed_m_s=walk.speed,
            max_minutes=longest,
        )
        _write_map(atlas, result, near, map_file, offline)
    if as_json:
        collection = result.to_geojson()
        collection["properties"]["walking"] = f"{mps(result.speed_m_s)} ({walk.shown})"
        collection["properties"]["profile"] = walk.shown
        print(json.dumps(collection, ensure_ascii=False))
    else:
        _print_catchment(result, walk.shown)


def categories(standards: Standards = None, as_json: AsRecords = False) -> None:
    """List facility categories and the GB 50180 tiers that require them."""
    standard = cli_standard(standards)
    if as_json:
        records = [
            {"id": c.id, "label_en": c.label_en, "label_zh": c.label_zh}
            for c in standard.categories
        ]
        print(json.dumps(records, ensure_ascii=False, indent=2))
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


@command
def demo(
    *,
    out_file: Annotated[Path, out_option("Where to write the map.")] = Path(
        "livingcircle-demo.html"
    ),
    where: StoreChoice,
    offline: Offline = False,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the map in a browser.")
    ] = False,
) -> None:
    """Load the Helsinki sample if needed, answer for a sample point and write a map."""
    atlas = where.atlas()
    ensure_sample(atlas, SAMPLE_REGION, quiet=False)
    lat, lon = SAMPLE_POINT
    result = atlas.catchment(lon, lat, config.DEFAULT_MINUTES, region=SAMPLE_REGION)
    near = atlas.nearest(lon, lat, region=SAMPLE_REGION)
    _print_nearest(near, atlas.standard, "standard")
    _print_catchment(result, "standard")
    _write_map(atlas, result, near, out_file, offline)
    if open_browser:
        webbrowser.open(out_file.resolve().as_uri())


def _write_map(
    atlas: Atlas, result: CatchmentResult, near: NearestResult, path: Path, offline: bool
) -> None:
    from livingcircle.maps.base import MapLook  # noqa: PLC0415  (folium only when a map is asked)
    from livingcircle.maps.resident import resident_map_of  # noqa: PLC0415

    save_map(resident_map_of(atlas.region(result.region), result, near, MapLook(offline)), path)


def _print_nearest(result: NearestResult, standard: Standard, shown: str) -> None:
    o = result.origin
    table = Table(
        title=f"Nearest services on foot from ({o.lat:.5f}, {o.lon:.5f}) in "
        f"{result.region}, walking at {mps(result.speed_m_s)} ({shown})"
    )
    table.add_column("类别", no_wrap=True)  # 中文 first, as everywhere a resident reads
    table.add_column("category", overflow="fold")
    table.add_column("name", overflow="fold", ratio=1)
    for col in ("minutes", "metres"):
        table.add_column(col, justify="right", no_wrap=True)
    for cat_id, hits in result.by_category.items():
        cat = standard.category(cat_id)
        if not hits:
            table.add_row(cat.label_zh, cat.label_en, "[dim]none found[/]", "", "")
        for h in hits:
            table.add_row(
                cat.label_zh,
                cat.label_en,
                h.name_zh or h.name or "(unnamed)",
                f"{h.time_s / 60:.1f}",
                f"{h.distance_m:.0f}",
            )
    out.print(table)
    _print_notes(result.notes)


def _print_notes(notes: tuple[str, ...]) -> None:
    """What the walking profile left out or assumed, 中文 first, after the answer."""
    from livingcircle.maps.words import profile_note  # noqa: PLC0415

    for note in notes:
        out.print(f"  注意 · Note: {profile_note(note)}", highlight=False)


def _print_catchment(result: CatchmentResult, shown: str) -> None:
    o = result.origin
    out.print(
        f"[bold]Catchment of ({o.lat:.5f}, {o.lon:.5f}) in {result.region}[/]\n"
        f"  walking at {mps(result.speed_m_s)} ({shown}); joins the street "
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
    _print_notes(result.notes)
