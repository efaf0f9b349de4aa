"""Name search in a region ("where am I"): facilities, streets and kiosks by name.

Build a :class:`~livingcircle.geo.search_index.SearchIndex` once per region
(:mod:`livingcircle.geo.search_index`), then ask it with :func:`search`. A query matches

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

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from livingcircle.geo.coords import great_circle_m
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.search_index import HAN, Entry, Keys, SearchIndex, compact, fold, pinyin_key

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
    han = bool(HAN.search(q))
    return _Forms(text, compact(text), pinyin_key(q) if han else "", han)


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
    best: dict[int, float], keys: Keys, query: str, weight: float, fuzzy: bool, parts: bool = True
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
