"""One rule for the text livingcircle stores: what a name, an id, a tag key or value may hold.

PostgreSQL text cannot hold a NUL (U+0000), UTF-8 cannot hold a lone surrogate (U+D800 to
U+DFFF), and a control character in a name breaks the lists, maps, CSV files and kiosks that
show it. So every write path of both stores, the API's request models and the department
importer check text here, and the same text is accepted or refused the same way everywhere:

- **refused everywhere**: NUL, lone surrogates and every other control character (Unicode
  category ``Cc``: U+0001 to U+001F, U+007F to U+009F), except the two below;
- **tab and line breaks** (U+0009, U+000A, U+000D) only in kinds that hold running text: tag
  values (OpenStreetMap's ``description`` or ``wheelchair:description`` have CR LF line
  breaks) and nested provenance text. Never in ids, owners, names, tag keys or notes, which
  are shown on one line; the separators U+2028 and U+2029 count as line breaks there too;
- **length**: at most :data:`MAX_CHARS` characters for each kind. Tag keys and values follow
  OpenStreetMap's own limit (255), so OSM data fits unchanged; names keep the API's 200.

Format characters (``Cf``, such as the zero-width joiner that Persian and Indic names need)
and private-use characters are allowed. Positions in messages count characters from 1.

Text read from OpenStreetMap is not the user's to fix, so loads *clean* it instead
(:func:`clean_facilities`, :func:`clean_edges`): refused characters are dropped (a tab or line
break in a one-line kind becomes a space), over-long text is cut at the limit, an over-long
tag key drops its tag, and every change is reported (:class:`Cleaned`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from livingcircle.geo.config import RULE_TAGS
from livingcircle.geo.errors import InvalidText

if TYPE_CHECKING:  # geo.store may use this module one day: no import cycle
    from livingcircle.geo.store import FacilityRecord, RegionData

#: Longest text of each kind, in characters (None: no limit, for nested provenance).
MAX_CHARS: Mapping[str, int | None] = {
    "id": 255,  # facility ids, source ids, category ids
    "owner": 63,  # a department (the source of its records), as region names
    "name": 200,  # name, name_zh, name_en; kiosk names and notes have their own, smaller limits
    "tag_key": 255,  # OpenStreetMap's limit
    "tag_value": 255,  # OpenStreetMap's limit; also opening_hours and a department's fields
    "note": 200,  # a live status's note
    "text": None,  # strings nested in tags (lc:sources provenance: addresses, outlines)
}
#: Kinds that may hold tabs and line breaks.
MULTILINE = frozenset({"tag_value", "text"})
#: What a stored facility's text columns are, by kind.
FACILITY_TEXT = {
    "id": "id",
    "source": "owner",
    "source_id": "id",
    "name": "name",
    "name_zh": "name",
    "name_en": "name",
    "category": "id",
    "opening_hours": "tag_value",
}
#: What a stored street's text columns are, by kind: its name and the way tags profiles read.
EDGE_TEXT = {"name": "name", **dict.fromkeys(RULE_TAGS, "tag_value")}

_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
_BAD = {
    False: re.compile(f"[{_CONTROLS}\t\n\r\u2028\u2029]"),
    True: re.compile(f"[{_CONTROLS}]"),
}
_SPACE_LIKE = frozenset("\t\n\r\x0b\x0c\x85\u2028\u2029")
#: JSON escapes that may stand for a refused character (a false alarm only costs a parse).
_JSON_SUSPECT = re.compile(f"\\\\u00[0-9a-fA-F]{{2}}|\\\\u[dD][89a-fA-F]|\\\\[bfnrt]|[{_CONTROLS}]")
#: A key or a top-level value longer than its limit is a JSON string token at least as long:
#: an escape only lengthens it (``\n`` is two characters for one, ``\uXXXX`` six), so a
#: token no longer than the limit cannot hold a string over it.
_SHORTEST = min(MAX_CHARS["tag_key"] or 0, MAX_CHARS["tag_value"] or 0)
_RAW_BAD = re.compile(f"[{_CONTROLS}]")
#: Without escapes a long string is a long run without quotes (fast to find).
_LONG_RUN = re.compile(f'[^"]{{{_SHORTEST + 1},}}')
_LONG_STRING = re.compile(f'"(?:[^"\\\\]|\\\\.){{{_SHORTEST + 1},}}"')


@dataclass(frozen=True)
class Cleaned:
    """One facility or street whose text a load changed, and how."""

    id: str
    field: str
    change: str


def check_match(pattern: re.Pattern[str], value: str, error: Exception) -> str:
    """``value`` if ``pattern`` matches it whole, else raise ``error`` (saying what is allowed).

    Ids and names with a fixed form (region names, job ids, layer names) are checked here.
    """
    if pattern.fullmatch(value) is None:
        raise error
    return value


def _limit(kind: str) -> int | None:
    if kind not in MAX_CHARS:
        raise KeyError(f"unknown text kind {kind!r}; allowed: {', '.join(sorted(MAX_CHARS))}")
    return MAX_CHARS[kind]


def _describe(char: str) -> tuple[str, str]:
    """What a refused character is, and what to do about it."""
    code = f"U+{ord(char):04X}"
    if char == "\x00":
        return f"a NUL character ({code})", "remove it"
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate ({code}, half of a UTF-16 pair)", "send the whole character"
    if char in _SPACE_LIKE:
        return f"a tab or line break ({code})", "write it on one line"
    return f"a control character ({code})", "remove it"


def text_problem(value: str, kind: str) -> tuple[str, int | None] | None:
    """What is wrong with ``value`` as text of ``kind``, and where, or None if nothing is.

    Returns
    -------
    tuple or None
        The problem in words (e.g. ``"has a NUL character (U+0000) at position 4; remove
        it"``) and its position (from 1; None for a length problem).
    """
    limit = _limit(kind)
    bad = _BAD[kind in MULTILINE].search(value)
    if bad is not None:
        what, fix = _describe(bad.group())
        return f"has {what} at position {bad.start() + 1}; {fix}", bad.start() + 1
    if limit is not None and len(value) > limit:
        return f"is {len(value)} characters long; allowed: at most {limit}", None
    return None


def check_text(value: str, kind: str, field: str) -> str:
    """``value`` if it is allowed as text of ``kind``; else :class:`InvalidText` naming ``field``.

    Raises
    ------
    InvalidText
        E.g. ``name has a NUL character (U+0000) at position 4; remove it``.
    """
    found = text_problem(value, kind)
    if found is not None:
        raise InvalidText(field, found[0], found[1])
    return value


def check_tags(tags: Mapping[str, Any], field: str = "tags") -> Mapping[str, Any]:
    """``tags`` if every key and every string value (nested ones too) is allowed.

    Keys are ``tag_key``; string values ``tag_value``; strings inside lists and objects
    (``lc:sources``) ``text``. The field named is ``tags key 'KEY'`` or ``tags value of 'KEY'``.
    """
    for key, value in tags.items():
        if not isinstance(key, str):
            raise InvalidText(f"{field} key {key!r}", "is not text; use a string key", None)
        check_text(key, "tag_key", f"{field} key {key!r}")
        _check_value(value, "tag_value", f"{field} value of {key!r}")
    return tags


def _check_value(value: Any, kind: str, field: str) -> None:
    if isinstance(value, str):
        check_text(value, kind, field)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            check_text(str(k), "text", f"{field}, key {str(k)!r}")
            _check_value(v, "text", f"{field}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_value(v, "text", f"{field}[{i}]")


def parse_tags(text: str | None, field: str = "tags") -> dict[str, Any]:
    """Tags JSON text as a dict; :class:`InvalidText` when it is not a JSON object."""
    try:
        tags = json.loads(text or "{}")
    except ValueError as exc:
        raise InvalidText(field, f"is not JSON ({exc}); give a JSON object", None) from None
    if not isinstance(tags, dict):
        raise InvalidText(field, 'is not a JSON object; give one, e.g. {"phone": "..."}', None)
    return tags


def check_record(record: FacilityRecord) -> FacilityRecord:
    """``record`` if all its text is allowed (tags parsed); else :class:`InvalidText`.

    The message names the facility, the field, the problem and its position.
    """
    try:
        for column, kind in FACILITY_TEXT.items():
            value = getattr(record, column)
            if value is not None:
                check_text(str(value), kind, column)
        check_tags(parse_tags(record.tags))
    except InvalidText as exc:
        raise exc.of(f"facility {record.id!r}") from None
    return record


def check_facilities(frame: gpd.GeoDataFrame, what: str) -> None:
    """Check every text column and the tags of a facilities frame (a load, an import).

    ``what`` names the frame in messages (``"facilities of region 'helsinki'"``).

    Raises
    ------
    InvalidText
        Naming the first facility (by id), its field, the problem and the position.
    """
    ids = _ids(frame)
    for column, kind in FACILITY_TEXT.items():
        if column in frame.columns:
            _check_column(frame[column].tolist(), kind, column, ids, f"{what}: facility")
    if "tags" in frame.columns:
        for i, text in _suspect_tags(frame["tags"].tolist()):
            try:
                check_tags(parse_tags(text))
            except InvalidText as exc:
                raise exc.of(f"{what}: facility {ids[i]!r}") from None


def check_edges(edges: pd.DataFrame, what: str) -> None:
    """Check the text columns of a street network's edges (their names), as above."""
    ids = edges["edge"].tolist() if "edge" in edges.columns else list(range(len(edges)))
    for column, kind in EDGE_TEXT.items():
        if column in edges.columns:
            _check_column(edges[column].tolist(), kind, column, ids, f"{what}: street edge")


def check_region(data: RegionData) -> RegionData:
    """``data`` if the text of its facilities and streets is allowed (what a load stores)."""
    what = f"region {data.info.name!r}"
    check_facilities(data.facilities, what)
    check_edges(data.edges, what)
    return data


def _ids(frame: pd.DataFrame) -> list[Any]:
    return frame["id"].tolist() if "id" in frame.columns else list(range(len(frame)))


def _check_column(values: list[Any], kind: str, column: str, ids: list[Any], what: str) -> None:
    if _all_allowed(values, kind):
        return
    for i, value in enumerate(values):
        if isinstance(value, str):
            try:
                check_text(value, kind, column)
            except InvalidText as exc:
                raise exc.of(f"{what} {ids[i]!r}") from None


def _all_allowed(values: list[Any], kind: str) -> bool:
    """Fast path: no refused character in all the texts together, and none too long."""
    texts = [v for v in values if isinstance(v, str)]
    limit = MAX_CHARS[kind]
    return not _BAD[kind in MULTILINE].search("".join(texts)) and (
        limit is None or max(map(len, texts), default=0) <= limit
    )


def _suspect_tags(texts: list[Any]) -> Iterable[tuple[int, str | None]]:
    """Tags texts that may break the rule: long enough to, or holding a suspect escape."""
    strings = [t if isinstance(t, str) else "" for t in texts]
    joined = " ".join(strings)  # fast path: one search over all of them
    if "\\" not in joined and not _RAW_BAD.search(joined) and not _LONG_RUN.search(joined):
        return
    for i, text in enumerate(strings):
        escaped = "\\" in text
        if (
            _RAW_BAD.search(text)
            or (escaped and _JSON_SUSPECT.search(text))
            or (len(text) > _SHORTEST and (_LONG_STRING if escaped else _LONG_RUN).search(text))
        ):
            yield i, text


# -- cleaning text read from OpenStreetMap -----------------------------------------------------


def clean_text(value: str, kind: str) -> str:
    """``value`` made allowed as ``kind``: refused characters dropped, cut at the limit.

    A tab or line break in a one-line kind becomes a space.
    """
    if text_problem(value, kind) is None:
        return value
    multiline = kind in MULTILINE
    out = []
    for char in value:
        if not _BAD[multiline].match(char):
            out.append(char)
        elif char in _SPACE_LIKE:
            out.append("\n" if multiline else " ")
    text = "".join(out)
    limit = MAX_CHARS[kind]
    return text if limit is None else text[:limit]


def _what(value: str, kind: str) -> str:
    """The problem of ``value`` without the advice: ``has a NUL character (U+0000) at 4``."""
    found = text_problem(value, kind)
    return "" if found is None else found[0].split(";")[0]


def clean_tags(tags: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """OSM tags made allowed: keys and values cleaned, over-long or empty keys dropped.

    Returns the tags and what changed, in words.
    """
    out: dict[str, str] = {}
    changes: list[str] = []
    for key, value in tags.items():
        new_key = clean_text(key, "tag_key")
        limit = MAX_CHARS["tag_key"]
        if not new_key or (limit is not None and len(key) > limit):
            changes.append(f"tag key {key[:40]!r}… {_what(key, 'tag_key')}; tag dropped")
            continue
        new_value = clean_text(value, "tag_value")
        if new_key != key:
            changes.append(f"tag key {key!r} {_what(key, 'tag_key')}; cleaned")
        if new_value != value:
            changes.append(f"tag {new_key!r} {_what(value, 'tag_value')}; cleaned")
        out[new_key] = new_value
    return out, changes


def clean_facilities(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[Cleaned]]:
    """OSM facilities with their text made allowed, and what was changed in which."""
    cleaned: list[Cleaned] = []
    out = frame.copy()
    ids = _ids(frame)
    for column, kind in FACILITY_TEXT.items():
        if column in out.columns:
            out[column] = _clean_column(out[column].tolist(), kind, column, ids, cleaned)
    if "tags" in out.columns:
        texts = out["tags"].tolist()
        for i, text in _suspect_tags(texts):
            tags, changes = clean_tags(parse_tags(text))
            if changes:
                texts[i] = json.dumps(tags, ensure_ascii=False, sort_keys=True)
                cleaned.extend(Cleaned(str(ids[i]), "tags", c) for c in changes)
        out["tags"] = texts
    return out, cleaned


def clean_edges(edges: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[Cleaned]]:
    """Street edges with their names made allowed, and what was changed."""
    cleaned: list[Cleaned] = []
    out = edges.copy()
    ids = out["edge"].tolist() if "edge" in out.columns else list(range(len(out)))
    for column, kind in EDGE_TEXT.items():
        if column in out.columns:
            out[column] = _clean_column(out[column].tolist(), kind, column, ids, cleaned)
    return out, cleaned


def _clean_column(
    values: list[Any], kind: str, column: str, ids: list[Any], cleaned: list[Cleaned]
) -> list[Any]:
    out = list(values)
    if _all_allowed(values, kind):
        return out
    for i, value in enumerate(values):
        if isinstance(value, str):
            found = text_problem(value, kind)
            if found is not None:
                out[i] = clean_text(value, kind)
                cleaned.append(
                    Cleaned(str(ids[i]), column, f"{column} {_what(value, kind)}; cleaned")
                )
    return out
