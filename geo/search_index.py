"""The search index of a region: what can be found by name, and the keys it is found by.

:func:`index_region` (or :func:`build_index`) gathers a region's named facilities, streets
(each at the middle of its longest stretch) and kiosks, and keys each name three ways:
folded text, pinyin and pinyin initials (``pypinyin``). :mod:`livingcircle.geo.search` asks
the index.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import geopandas as gpd
import shapely
from pypinyin import Style, lazy_pinyin

from livingcircle.geo.errors import UnknownCategory
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionData

#: Chinese characters (the CJK ideograph blocks): names that have a pinyin.
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_NOT_WORD = re.compile(r"[\W_]+")


class NamedPlace(Protocol):
    """Anything with a place's names and position, such as a configured kiosk."""

    @property
    def id(self) -> str:
        """Its id."""
        ...

    @property
    def name_zh(self) -> str:
        """Its Chinese name."""
        ...

    @property
    def name_en(self) -> str:
        """Its English name."""
        ...

    @property
    def lon(self) -> float:
        """Longitude, WGS 84."""
        ...

    @property
    def lat(self) -> float:
        """Latitude, WGS 84."""
        ...


@dataclass(frozen=True)
class Entry:
    """One thing that can be found: a facility, a street or a kiosk."""

    kind: str
    id: str
    name: str
    name_zh: str
    name_en: str
    lon: float
    lat: float
    region: str
    category: str = ""
    category_zh: str = ""
    category_en: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """Every name it is known by, each once."""
        return tuple(dict.fromkeys(n for n in (self.name, self.name_zh, self.name_en) if n))


@dataclass(frozen=True)
class Keys:
    """Search keys of one form (folded text, pinyin or initials) and the entry each is of."""

    texts: list[str] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)

    def add(self, text: str, owner: int) -> None:
        """Key entry ``owner`` by ``text`` (an empty text keys nothing)."""
        if text:
            self.texts.append(text)
            self.owners.append(owner)


@dataclass(frozen=True)
class SearchIndex:
    """A region's searchable names; build with :func:`build_index`."""

    region: str
    entries: tuple[Entry, ...]
    text: Keys
    pinyin: Keys
    initials: Keys

    def __len__(self) -> int:
        """Number of entries."""
        return len(self.entries)


# -- building -------------------------------------------------------------------------------


def index_region(
    data: RegionData, standard: Standard | None = None, kiosks: Iterable[NamedPlace] = ()
) -> SearchIndex:
    """The search index of a stored region: its facilities, its streets, and ``kiosks``.

    Parameters
    ----------
    data
        The region as a store gives it (``Store.load_region``).
    standard
        Labels the facilities' categories in 中文 and English; without it they stay empty.
    kiosks
        Places to find by name besides the region's own (kiosks standing in this region).
    """
    return build_index(data.info.name, data.facilities, data.edges, standard, kiosks)


def build_index(
    region: str,
    facilities: gpd.GeoDataFrame | None = None,
    edges: gpd.GeoDataFrame | None = None,
    standard: Standard | None = None,
    kiosks: Iterable[NamedPlace] = (),
) -> SearchIndex:
    """A search index from frames in EPSG:4326.

    Parameters
    ----------
    region
        The region's name, carried by every answer.
    facilities
        Columns ``id``, ``name`` and, where present, ``name_zh``, ``name_en``, ``category``;
        a facility is placed at its point, or at a point inside its polygon.
    edges
        Street edges with a ``name`` column; the edges of one name are one street, placed at
        the middle of its longest connected stretch. Unnamed edges are left out.
    standard
        Labels categories in 中文 and English; without it they stay empty.
    kiosks
        Named places (``id``, ``name_zh``, ``name_en``, ``lon``, ``lat``) to find as kiosks.
    """
    entries = [
        *_facility_entries(region, facilities, standard),
        *_street_entries(region, edges),
        *(_kiosk_entry(region, k) for k in kiosks),
    ]
    index = SearchIndex(region, tuple(entries), Keys(), Keys(), Keys())
    for i, entry in enumerate(entries):
        for name in entry.names:
            _add_keys(index, name, i)
    return index


def _add_keys(index: SearchIndex, name: str, owner: int) -> None:
    index.text.add(fold(name), owner)
    if HAN.search(name):
        pinyin = pinyin_key(name)
        index.pinyin.add(pinyin, owner)
        if "v" in pinyin:  # pypinyin writes ü as v (lv); people type lu as well
            index.pinyin.add(pinyin.replace("v", "u"), owner)
        index.initials.add(pinyin_key(name, Style.FIRST_LETTER), owner)


def _facility_entries(
    region: str, frame: gpd.GeoDataFrame | None, standard: Standard | None
) -> list[Entry]:
    if frame is None or frame.empty:
        return []
    points = shapely.point_on_surface(frame.geometry.to_numpy())
    text = {c: _column(frame, c) for c in ("id", "name", "name_zh", "name_en", "category")}
    entries = []
    for i, point in enumerate(points):
        names = [text[c][i] for c in ("name", "name_zh", "name_en")]
        if not any(names) or point is None or point.is_empty:
            continue
        zh, en = _labels(standard, text["category"][i])
        entries.append(
            Entry(
                "facility",
                text["id"][i],
                next(n for n in names if n),
                names[1],
                names[2],
                round(point.x, 7),
                round(point.y, 7),
                region,
                text["category"][i],
                zh,
                en,
            )
        )
    return entries


def _column(frame: gpd.GeoDataFrame, column: str) -> list[str]:
    if column not in frame:
        return [""] * len(frame)
    return [str(v) for v in frame[column].fillna("").astype(str)]


def _labels(standard: Standard | None, category: str) -> tuple[str, str]:
    if standard is None or not category:
        return "", ""
    try:
        c = standard.category(category)
    except UnknownCategory:  # stored under a standard this one does not know
        return "", ""
    return c.label_zh, c.label_en


def _street_entries(region: str, edges: gpd.GeoDataFrame | None) -> list[Entry]:
    if edges is None or edges.empty or "name" not in edges:
        return []
    named = edges.loc[edges["name"].fillna("").astype(str).str.strip() != ""]
    entries = []
    for name, group in named.groupby(named["name"].astype(str).str.strip(), sort=True):
        middle = street_middle(group.geometry.to_numpy())
        if middle is not None:
            entries.append(
                Entry(
                    "street",
                    str(name),
                    str(name),
                    _han_or_empty(str(name)),
                    "",
                    round(middle[0], 7),
                    round(middle[1], 7),
                    region,
                )
            )
    return entries


def street_middle(lines: Sequence[Any]) -> tuple[float, float] | None:
    """The middle (lon, lat) of the longest connected stretch of a street's edges.

    Lengths are compared in degrees with longitude scaled by the cosine of the latitude,
    which is close enough to choose the longest stretch and find its middle.
    """
    merged = shapely.line_merge(shapely.union_all(lines))
    parts = [g for g in getattr(merged, "geoms", [merged]) if g.geom_type == "LineString"]
    if not parts:
        return None
    scale = math.cos(math.radians(parts[0].coords[0][1]))
    scaled = [shapely.transform(p, lambda xy: xy * [scale, 1.0]) for p in parts]
    longest = max(range(len(parts)), key=lambda i: scaled[i].length)
    mid = scaled[longest].interpolate(0.5, normalized=True)
    return mid.x / scale, mid.y


def _han_or_empty(name: str) -> str:
    return name if HAN.search(name) else ""


def _kiosk_entry(region: str, place: NamedPlace) -> Entry:
    name = place.name_en or place.name_zh
    return Entry(
        "kiosk",
        place.id,
        name,
        place.name_zh,
        place.name_en,
        float(place.lon),
        float(place.lat),
        region,
    )


# -- text -----------------------------------------------------------------------------------


def fold(text: str) -> str:
    """``text`` as it is compared: NFKC, no accents, case-folded, punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    bare = "".join(
        ch
        for ch in decomposed
        if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
    )
    return _NOT_WORD.sub(" ", bare.casefold()).strip()


def compact(text: str) -> str:
    """``text`` without its spaces."""
    return text.replace(" ", "")


def pinyin_key(text: str, style: Style = Style.NORMAL) -> str:
    """The pinyin of ``text`` (or its initials, ``Style.FIRST_LETTER``), folded and compact."""
    return compact(fold(" ".join(lazy_pinyin(text, style=style))))
