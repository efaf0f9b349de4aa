"""``livingcircle kiosk``: kiosks kept in the store, for any city (add, list, remove)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from livingcircle.cli_options import (
    AsRecords,
    AtlasChoice,
    Lat,
    Lon,
    StoreChoice,
    category_option,
    command,
    command_group,
    region_option,
)
from livingcircle.cli_output import err, out, remove

__all__ = ["kiosk_app"]

kiosk_app = command_group(
    "Kiosks kept in the store, for any city: add, list, remove. "
    "'livingcircle serve' serves them beside the kiosks file's."
)
KioskId = Annotated[str, typer.Argument(help="The id shown by 'livingcircle kiosk list'.")]


@kiosk_app.command("add")
@command
def kiosk_add(
    *,
    kiosk_id: Annotated[
        str,
        typer.Option(
            "--id", help="Kiosk id: letters, digits, '-', '_' (its page is /v1/maps/kiosk/ID)."
        ),
    ],
    region: Annotated[str, region_option("The loaded region it stands in.")],
    lat: Lat,
    lon: Lon,
    name_zh: Annotated[str, typer.Option("--name-zh", help="Its name in Chinese.")],
    name_en: Annotated[str, typer.Option("--name-en", help="Its name in English.")],
    language: Annotated[
        str, typer.Option("--language", help="Which language comes first on the page: zh or en.")
    ] = "zh",
    category: Annotated[
        list[str] | None,
        category_option(
            "A category it lists (repeat); default: the everyday "
            "services (see 'livingcircle categories')."
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
    where: AtlasChoice,
) -> None:
    """Add a kiosk (or replace the one with the same id), checked against its region."""
    from livingcircle.geo.kiosks import DEFAULT_CATEGORIES, Kiosk, check_kiosk  # noqa: PLC0415

    atlas = where.atlas()
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
@command
def kiosk_list(where: StoreChoice, as_json: AsRecords = False) -> None:
    """List the kiosks kept in the store."""
    kept = where.store().kiosks()
    if as_json:
        print(json.dumps([asdict(k) for k in kept], ensure_ascii=False, indent=2))
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
@command
def kiosk_remove(kiosk_id: KioskId, where: StoreChoice) -> None:
    """Remove a kiosk from the store (the kiosks file's are edited in the file)."""
    remove("kiosk", kiosk_id, where.store().remove_kiosk)
