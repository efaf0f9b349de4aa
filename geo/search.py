"""Name search in a region ("where am I"): facilities, streets and kiosks by name.

Build a :class:`SearchIndex` once per region (:func:`build_index` or :func:`index_region`),
then ask it with :func:`search`. A query matches

* by characters, in any script (case, accents and punctuation do not matter);
* Chinese names by pinyin as well (``pypinyin``): full pinyin without tones, with or without
  spaces (``shequ weisheng``, ``shequweisheng``) and initials (``sqws``); a Chinese query also
  matches names that sound the same (a wrong character, or traditional for simplified);
* with typos (``rapidfuzz``): ``Kaupatori`` finds ``Kauppatori``.

Answers are ranked by match quality (exact, then prefix, word prefix, part of the name, then
fuzzy), then by straight-line distance from the asking point when one is given (great-circle,
not walking: a search answers "which one do you mean", the walk is asked for next).
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
from rapidfuzz import fuzz, process

from livingcircle.geo.errors import InvalidParameter, UnknownCategory
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionData

#: Longest query, characters.
MAX_QUERY_CHARS = 100
#: Most answers one search may ask for.
MAX_RESULTS = 50
#: Closest names offered when nothing matches.
SUGGESTIONS = 5
#: A typo counts from this ``rapidfuzz`` ``ratio`` (whole name) or ``partial_ratio`` (a stretch
#: of a longer name) score, 0 to 100.
FUZZY_CUTOFF = 80.0
#: Queries shorter than this (after folding) match exactly or by prefix/part only, no typos.
FUZZY_MIN_CHARS = 4
#: Queries shorter than this match the start of a name or a word only (one letter is in most).
PART_MIN_CHARS = 2
#: Mean Earth radius (m), for straight-line distances.
EARTH_RADIUS_M = 6_371_008.8

KINDS = ("facility", "street", "kiosk")

# Match quality, 0 to 100; a fuzzy match scores FUZZY_WEIGHT * its ratio, always below a part.
EXACT, PREFIX, WORD_PREFIX, PART = 100.0, 95.0, 90.0, 85.0
FUZZY_WEIGHT = 0.8
# What a match through pinyin is worth against one by characters.
HOMOPHONE_WEIGHT = 0.9  # a Chinese query whose pinyin matches (other characters, same sound)
INITIALS_WEIGHT = 0.9  # initials are short and ambiguous: exact or prefix only

# Characters a query may not hold: controls (NUL, newline...), surrogates, private-use and
# unassigned code points, line and paragraph separators.
_REFUSED = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
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
class _Keys:
    """Search keys of one form (folded text, pinyin or initials) and the entry each is of."""

    texts: list[str] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)

    def add(self, text: str, owner: int) -> None:
        if text:
            self.texts.append(text)
            self.owners.append(owner)


@dataclass(frozen=True)
class SearchIndex:
    """A region's searchable names; build with :func:`build_index`."""

    region: str
    entries: tuple[Entry, ...]
    text: _Keys
    pinyin: _Keys
    initials: _Keys

    def __len__(self) -> int:
        """Number of entries."""
        return len(self.entries)


@dataclass(frozen=True)
class Hit:
    """An entry found, how well it matched (0 to 100) and how far it is (m, or None)."""

    entry: Entry
    score: float
    distance_m: float | None

    def to_feature(self) -> dict[str, Any]:
        """A GeoJSON Point Feature."""
        e = self.entry
        props: dict[str, Any] = {
            "kind": e.kind,
            "id": e.id,
            "name": e.name,
            "name_zh": e.name_zh,
            "name_en": e.name_en,
            "category": e.category,
            "category_zh": e.category_zh,
            "category_en": e.category_en,
            "score": self.score,
            "region": e.region,
        }
        if self.distance_m is not None:
            props["distance_m"] = self.distance_m
        return {
            "type": "Feature",
            "id": f"{e.kind}:{e.id}",
            "geometry": {"type": "Point", "coordinates": [e.lon, e.lat]},
            "properties": props,
        }


@dataclass(frozen=True)
class SearchResult:
    """What a search found, best first; when nothing, the closest names and a message."""

    query: str
    regions: tuple[str, ...]
    hits: list[Hit]
    suggestions: list[str]
    message: str | None

    def to_geojson(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection of Points, with the suggestions in its properties."""
        return {
            "type": "FeatureCollection",
            "features": [h.to_feature() for h in self.hits],
            "properties": {
                "regions": list(self.regions),
                "returned": len(self.hits),
                "suggestions": self.suggestions,
                "message": self.message,
            },
        }


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
    index = SearchIndex(region, tuple(entries), _Keys(), _Keys(), _Keys())
    for i, entry in enumerate(entries):
        for name in entry.names:
            _add_keys(index, name, i)
    return index


def _add_keys(index: SearchIndex, name: str, owner: int) -> None:
    index.text.add(fold(name), owner)
    if _HAN.search(name):
        pinyin = _compact(fold(" ".join(lazy_pinyin(name))))
        index.pinyin.add(pinyin, owner)
        if "v" in pinyin:  # pypinyin writes ü as v (lv); people type lu as well
            index.pinyin.add(pinyin.replace("v", "u"), owner)
        initials = lazy_pinyin(name, style=Style.FIRST_LETTER)
        index.initials.add(_compact(fold(" ".join(initials))), owner)


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
    return name if _HAN.search(name) else ""


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


# -- searching ------------------------------------------------------------------------------


def search(
    index: SearchIndex | Sequence[SearchIndex],
    q: str,
    lonlat: tuple[float, float] | None = None,
    limit: int = 10,
) -> SearchResult:
    """Find facilities, streets and kiosks by name.

    Parameters
    ----------
    index
        One region's index, or several (their answers ranked together).
    q
        What the user typed: 1 to :data:`MAX_QUERY_CHARS` characters of any script, no
        control characters. Chinese by characters or pinyin, English in any case, typos
        tolerated.
    lonlat
        Where the user is, WGS 84; equal matches are ranked nearest first and each answer
        gets ``distance_m``, the straight-line (great-circle) distance, not the walk.
    limit
        Most answers, 1 to :data:`MAX_RESULTS`.

    Returns
    -------
    SearchResult
        The answers, best first. When nothing matched: no answers, the closest names
        regardless of how close (up to :data:`SUGGESTIONS`) and a message saying so.

    Raises
    ------
    InvalidParameter
        ``q`` is empty, too long or holds control characters, or ``limit`` is out of range.
    """
    indexes = [index] if isinstance(index, SearchIndex) else list(index)
    check_query(q)
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidParameter(f"limit={limit} is not allowed; allowed: 1 to {MAX_RESULTS}")
    forms = _query_forms(q)
    hits = [h for ix in indexes for h in _matches(ix, forms, lonlat)]
    hits.sort(key=_rank)
    regions = tuple(ix.region for ix in indexes)
    if hits:
        return SearchResult(q, regions, hits[:limit], [], None)
    suggestions = suggest(indexes, q)
    return SearchResult(q, regions, [], suggestions, _nothing_message(q, regions, suggestions))


def check_query(q: str) -> str:
    """``q`` if it is a query a search accepts; raises :class:`InvalidParameter`."""
    allowed = (
        f"allowed: 1 to {MAX_QUERY_CHARS} characters of letters, digits, spaces and "
        "punctuation in any script, without control characters"
    )
    if not q.strip() or len(q) > MAX_QUERY_CHARS:
        raise InvalidParameter(
            f"q has {len(q)} characters{' (all blank)' if q else ''}; " + allowed
        )
    bad = next((i for i, ch in enumerate(q) if unicodedata.category(ch) in _REFUSED), None)
    if bad is not None:
        raise InvalidParameter(
            f"q holds a control character (U+{ord(q[bad]):04X} at position {bad + 1}); {allowed}"
        )
    return q


@dataclass(frozen=True)
class _Forms:
    text: str  # folded
    compact: str  # folded, no spaces
    pinyin: str  # the pinyin of a Chinese query, compact; "" for others
    han: bool


def _query_forms(q: str) -> _Forms:
    text = fold(q)
    han = bool(_HAN.search(q))
    pinyin = _compact(fold(" ".join(lazy_pinyin(q)))) if han else ""
    return _Forms(text, _compact(text), pinyin, han)


def _matches(index: SearchIndex, forms: _Forms, lonlat: tuple[float, float] | None) -> list[Hit]:
    best: dict[int, float] = {}
    if forms.text:
        _score_into(best, index.text, forms.text, 1.0, fuzzy=True)
    if forms.han and forms.pinyin:
        _score_into(best, index.pinyin, forms.pinyin, HOMOPHONE_WEIGHT, fuzzy=False)
    elif forms.compact:
        _score_into(best, index.pinyin, forms.compact, 1.0, fuzzy=True)
        _score_into(best, index.initials, forms.compact, INITIALS_WEIGHT, fuzzy=False, parts=False)
    return [
        Hit(index.entries[i], round(s, 1), _distance(index.entries[i], lonlat))
        for i, s in best.items()
    ]


def _score_into(
    best: dict[int, float], keys: _Keys, query: str, weight: float, fuzzy: bool, parts: bool = True
) -> None:
    """Keep each entry's best score over ``keys``: exact, prefix, word prefix, part, fuzzy."""
    for text, owner in zip(keys.texts, keys.owners, strict=True):
        score = _plain_score(text, query, parts)
        if score and score * weight > best.get(owner, 0.0):
            best[owner] = score * weight
    if not fuzzy or len(query) < FUZZY_MIN_CHARS:
        return
    for i, raw in _fuzzy(query, keys.texts):
        owner = keys.owners[i]
        score = FUZZY_WEIGHT * raw * weight
        if score > best.get(owner, 0.0):
            best[owner] = score


def _fuzzy(query: str, texts: list[str]) -> list[tuple[int, float]]:
    """Keys like ``query`` with typos: the whole name, or a stretch of a longer one."""
    whole = process.extract(
        query, texts, scorer=fuzz.ratio, processor=None, score_cutoff=FUZZY_CUTOFF, limit=None
    )
    part = process.extract(
        query,
        texts,
        scorer=fuzz.partial_ratio,
        processor=None,
        score_cutoff=FUZZY_CUTOFF,
        limit=None,
    )
    # a stretch only of a longer name: "K&K" is not "Kauppatori" with typos
    return [(i, raw) for _, raw, i in whole] + [
        (i, raw) for _, raw, i in part if len(texts[i]) >= len(query)
    ]


def _plain_score(text: str, query: str, parts: bool) -> float:
    if text == query:
        return EXACT
    if text.startswith(query):
        return PREFIX
    if not parts:
        return 0.0
    if f" {query}" in f" {text}":
        return WORD_PREFIX
    if len(query) >= PART_MIN_CHARS and query in text:
        return PART
    return 0.0


def _rank(hit: Hit) -> tuple[float, float, str, str, str]:
    far = hit.distance_m if hit.distance_m is not None else 0.0
    return -hit.score, far, hit.entry.name, hit.entry.kind, hit.entry.id


def _distance(entry: Entry, lonlat: tuple[float, float] | None) -> float | None:
    if lonlat is None:
        return None
    return round(great_circle_m(lonlat[0], lonlat[1], entry.lon, entry.lat), 1)


def great_circle_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Straight-line (haversine, spherical Earth) distance between two points, metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def suggest(indexes: Sequence[SearchIndex], q: str, n: int = SUGGESTIONS) -> list[str]:
    """The ``n`` names closest to ``q`` by ``rapidfuzz``, however far: what to offer instead."""
    forms = _query_forms(q)
    scored: list[tuple[float, str]] = []
    for index in indexes:
        pairs = [(index.text, forms.text), (index.pinyin, forms.pinyin or forms.compact)]
        for keys, query in pairs:
            if not query or not keys.texts:
                continue
            for _, raw, i in process.extract(
                query, keys.texts, scorer=fuzz.WRatio, processor=None, limit=n * 4
            ):
                scored.append((raw, index.entries[keys.owners[i]].name))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return list(dict.fromkeys(name for _, name in scored))[:n]


def _nothing_message(q: str, regions: Sequence[str], suggestions: Sequence[str]) -> str:
    where = (
        regions[0]
        if len(regions) == 1
        else (f"any of {', '.join(regions)}" if regions else "any loaded region (none is loaded)")
    )
    closest = f"; closest: {', '.join(suggestions)}" if suggestions else ""
    return f"nothing called {q.strip()!r} in {where}{closest}"


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


def _compact(text: str) -> str:
    return text.replace(" ", "")
