"""Kiosks: a street or community-centre screen at a fixed place, listing what is near it.

Kiosks come from a TOML file (``maps/kiosks.toml``) and from the store (``livingcircle kiosk
add``); :func:`check_kiosk` is the one check both go through before a kiosk is kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from livingcircle.geo.errors import InvalidParameter, PointOutsideRegion, RegionNotFound
from livingcircle.geo.standards import Standard
from livingcircle.geo.status import check_note
from livingcircle.geo.store import RegionInfo

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANGUAGES = ("zh", "en")
MAX_NAME_CHARS = 80
MIN_REFRESH_S, MAX_REFRESH_S = 10, 86_400
MAX_CATEGORIES = 30
#: What a kiosk lists when its categories are not given: the everyday services.
DEFAULT_CATEGORIES = (
    "pharmacy",
    "clinic",
    "supermarket",
    "convenience",
    "toilets",
    "bus_stop",
    "bank",
    "post_office",
    "park",
    "community_centre",
)


@dataclass(frozen=True)
class Kiosk:
    """A configured kiosk."""

    id: str
    name_zh: str
    name_en: str
    region: str
    lat: float
    lon: float
    language: str
    categories: tuple[str, ...]
    refresh_s: int = 300


def check_kiosk(
    kiosk: Kiosk,
    standard: Standard,
    regions: Iterable[RegionInfo],
    contains: Callable[[str, float, float], bool] | None = None,
) -> Kiosk:
    """``kiosk`` if it can be served, else an error saying what is allowed.

    Parameters
    ----------
    kiosk
        The kiosk to check.
    standard
        Knows the categories.
    regions
        The loaded regions; the kiosk's must be one of them, its point inside.
    contains
        ``contains(region, lon, lat)``: whether the region's outline holds the point; without
        it the region's bounding box decides.
    """
    check_kiosk_fields(kiosk)
    categories = standard.resolve_categories(kiosk.categories)
    _check_place(kiosk, list(regions), contains)
    return Kiosk(
        kiosk.id,
        kiosk.name_zh.strip(),
        kiosk.name_en.strip(),
        kiosk.region,
        kiosk.lat,
        kiosk.lon,
        kiosk.language,
        categories,
        kiosk.refresh_s,
    )


def check_kiosk_fields(kiosk: Kiosk) -> Kiosk:
    """``kiosk`` if its id, names, language, position, categories and refresh are allowed.

    What a store checks on its own; :func:`check_kiosk` also checks the region and that the
    categories are known.
    """
    if not _ID.match(kiosk.id):
        raise InvalidParameter(
            f"kiosk id {kiosk.id!r} is not allowed; use 1 to 64 letters, "
            "digits, '-' or '_' (e.g. 'haishu-station')"
        )
    for label, name in (("name-zh", kiosk.name_zh), ("name-en", kiosk.name_en)):
        if not name.strip() or len(name) > MAX_NAME_CHARS:
            raise InvalidParameter(
                f"--{label} {name!r} is not allowed; give 1 to {MAX_NAME_CHARS} characters"
            )
        check_note(name, f"--{label}")
    if kiosk.language not in LANGUAGES:
        raise InvalidParameter(
            f"language {kiosk.language!r} is not allowed; allowed: {', '.join(LANGUAGES)}"
        )
    if not MIN_REFRESH_S <= kiosk.refresh_s <= MAX_REFRESH_S:
        raise InvalidParameter(
            f"refresh_s={kiosk.refresh_s} is out of range; allowed: "
            f"{MIN_REFRESH_S} to {MAX_REFRESH_S} seconds"
        )
    if not (
        math.isfinite(kiosk.lat)
        and math.isfinite(kiosk.lon)
        and -90 <= kiosk.lat <= 90
        and -180 <= kiosk.lon <= 180
    ):
        raise InvalidParameter(
            f"kiosk position ({kiosk.lat}, {kiosk.lon}) is not allowed; "
            "latitude -90 to 90, longitude -180 to 180"
        )
    if not kiosk.categories or len(kiosk.categories) > MAX_CATEGORIES:
        raise InvalidParameter(
            f"kiosk {kiosk.id!r} lists {len(kiosk.categories)} categories; "
            f"allowed: 1 to {MAX_CATEGORIES} (--category, repeated)"
        )
    return kiosk


def _check_place(
    kiosk: Kiosk, infos: list[RegionInfo], contains: Callable[[str, float, float], bool] | None
) -> None:
    info = next((i for i in infos if i.name == kiosk.region), None)
    if info is None:
        raise RegionNotFound(kiosk.region, [i.name for i in infos])
    inside = (
        contains(info.name, kiosk.lon, kiosk.lat)
        if contains is not None
        else info.covers(kiosk.lon, kiosk.lat, margin_deg=0.0)
    )
    if not inside:
        w, s, e, n = info.bounds
        raise PointOutsideRegion(
            f"kiosk {kiosk.id!r} at ({kiosk.lat:.6f}, {kiosk.lon:.6f}) is outside region "
            f"{info.name!r}, which covers lat {s:.4f} to {n:.4f}, lon {w:.4f} to {e:.4f}"
        )
