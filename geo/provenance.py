"""Provenance of facilities: matching department records to a region's facilities, merged.

The domain rules of a department import, apart from reading files
(:mod:`livingcircle.data.department_lists` reads them). A department record is a dict (``source``,
``source_id``, ``category``, ``lon``, ``lat`` in WGS-84, optional ``name``, ``name_zh``,
``name_en``, ``address``, ``opening_hours``, ``wkt``, ``fields``...). Provenance lives in each
facility's ``tags`` JSON (queryable in PostGIS as ``tags -> 'lc:sources'``):

- ``lc:sources`` lists every department record that describes the facility (with, when it
  was matched to another record, the distance and name similarity);
- ``lc:conflicts`` lists the fields on which a department disagrees with the record shown;
- ``lc:filled`` names the department record that filled a field the shown record leaves
  empty (a name, opening hours).

The shown record's own fields are never overwritten: a facility shows OpenStreetMap's fields
when OSM has it, else those of the department record that created it (its id,
``source:source_id``, stays while that record is in its department's list).
"""

from __future__ import annotations

import difflib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Geod
from scipy.spatial import cKDTree

SOURCES_KEY = "lc:sources"
CONFLICTS_KEY = "lc:conflicts"
FILLED_KEY = "lc:filled"
#: shown fields that a department record fills where the shown record leaves them empty
FILLABLE = ("name", "name_zh", "name_en", "opening_hours")
#: a matched department point this far from the facility is reported as a location conflict
LOCATION_CONFLICT_M = 25.0
#: unnamed records on either side merge only when this close (and of the same category)
UNNAMED_MATCH_M = 10.0
_GEOD = Geod(ellps="WGS84")
_EARTH_M_PER_DEG = 111_195.0


@dataclass(frozen=True)
class Matching:
    """Whose records are merged, and how alike a record and a facility must be to match.

    A record matches a facility of its category within ``max_distance_m`` whose names are at
    least ``min_similarity`` alike (see :func:`name_similarity`).
    """

    source: str
    max_distance_m: float = 50.0
    min_similarity: float = 0.6


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


# -- names ------------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """A name for comparison: NFKC, case-folded, without spaces or punctuation.

    NFKC turns full-width letters and digits into half-width ones; Chinese characters stay.
    """
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return re.sub(r"[\W_]+", "", text)


def name_similarity(a: str, b: str) -> float:
    """How alike two names are, 0 to 1; one name inside the other counts as 0.9."""
    x, y = normalise_name(a), normalise_name(b)
    if not x or not y:
        return 0.0
    if x == y:
        return 1.0
    digits_x, digits_y = re.findall(r"\d+", x), re.findall(r"\d+", y)
    if digits_x and digits_y and digits_x != digits_y:
        return 0.0  # "No. 2" and "No. 5" of a chain are two places
    ratio = difflib.SequenceMatcher(None, x, y, autojunk=False).ratio()
    if min(len(x), len(y)) >= 2 and (x in y or y in x):
        ratio = max(ratio, 0.9)
    return ratio


# -- the merge -----------------------------------------------------------------------------


def source_conflicts(facilities: gpd.GeoDataFrame, source: str) -> list[dict[str, Any]]:
    """Every conflict ``source``'s records have with the facilities they were merged into."""
    return [
        {"id": fid} | c
        for fid, tags in zip(facilities["id"], facilities["tags"], strict=True)
        for c in json.loads(tags or "{}").get(CONFLICTS_KEY, [])
        if c["source"] == source
    ]


def merge_records(
    facilities: gpd.GeoDataFrame, records: list[dict[str, Any]], mapping: Matching
) -> tuple[gpd.GeoDataFrame, int, int]:
    """The region's facilities with ``mapping.source``'s records replaced by ``records``.

    A record whose id the source used before goes back to the same facility; the others are
    matched (:func:`_match`) or become facilities of their own. A facility keeps its id: the
    record shown is OSM's, else the department record that created the facility, as long as
    it is in its list.

    Returns the new frame, how many rows were matched to an existing facility, and how many
    conflicts the frame records for this source.
    """
    source = mapping.source
    groups = [
        _Group(g.row, g.geom, [e for e in g.entries if e["source"] != source], g.primary)
        for g in _groups(facilities)
    ]
    own = {
        g.primary[1]: i for i, g in enumerate(groups) if g.row is None and g.primary[0] == source
    }
    claimed = {j: own[e["source_id"]] for j, e in enumerate(records) if e["source_id"] in own}
    eligible = np.array(
        [
            (g.row is not None or bool(g.entries)) and i not in claimed.values()
            for i, g in enumerate(groups)
        ],
        dtype=bool,
    )
    targets = _match(facilities, eligible, records, mapping, skip=set(claimed))
    for j, i in claimed.items():
        groups[i].entries.append(records[j])
    for j, (i, details) in targets.items():
        groups[i].entries.append(records[j] | {"match": details})
    groups.extend(
        _Group(None, None, [e], (source, e["source_id"]))
        for j, e in enumerate(records)
        if j not in claimed and j not in targets
    )
    built = [_build(g) for g in groups if g.row is not None or g.entries]
    frame = gpd.GeoDataFrame(
        pd.DataFrame([b[0] for b in built], columns=_columns(facilities)),
        geometry=[b[1] for b in built],
        crs="EPSG:4326",
    )
    frame = frame.sort_values("id", kind="stable").reset_index(drop=True)
    n_conflicts = sum(
        1
        for t in frame["tags"]
        for c in json.loads(t).get(CONFLICTS_KEY, [])
        if c["source"] == source
    )
    return frame, len(targets), n_conflicts


def _columns(facilities: gpd.GeoDataFrame) -> list[str]:
    return [c for c in facilities.columns if c != facilities.geometry.name]


@dataclass
class _Group:
    """One facility, taken apart.

    Its non-department row (or None), geometry, department records, and the
    ``(source, source_id)`` of the record it shows.
    """

    row: dict[str, Any] | None
    geom: shapely.Geometry | None
    entries: list[dict[str, Any]]
    primary: tuple[str, str]


def _groups(facilities: gpd.GeoDataFrame) -> list[_Group]:
    """Each stored facility as a :class:`_Group`, in frame order."""
    out: list[_Group] = []
    columns = _columns(facilities)
    for record, geom in zip(
        facilities[columns].to_dict("records"), facilities.geometry.to_numpy(), strict=True
    ):
        values = {k: _text(v) for k, v in record.items()}
        tags = json.loads(values.get("tags") or "{}")
        entries = list(tags.get(SOURCES_KEY, []))
        primary = (values["source"], values["source_id"])
        own = any((e["source"], e["source_id"]) == primary for e in entries)
        for filled in tags.get(FILLED_KEY, {}):
            values[filled] = ""  # back to the record's own (empty) value
        out.append(_Group(None if own else values, None if own else geom, entries, primary))
    return out


def _build(group: _Group) -> tuple[dict[str, Any], shapely.Geometry]:
    """One facility row from its group."""
    entries = sorted(group.entries, key=lambda e: (e["source"], e["source_id"]))
    row, geom = group.row, group.geom
    if row is None:
        primary = next(
            (e for e in entries if (e["source"], e["source_id"]) == group.primary), entries[0]
        )
        row = {
            "id": f"{primary['source']}:{primary['source_id']}",
            "source": primary["source"],
            "source_id": primary["source_id"],
            "category": primary["category"],
            "name": primary.get("name", ""),
            "name_zh": primary.get("name_zh", ""),
            "name_en": primary.get("name_en", ""),
            "opening_hours": primary.get("opening_hours", ""),
            "tags": "{}",
        }
        geom = (
            shapely.from_wkt(primary["wkt"])
            if "wkt" in primary
            else shapely.Point(primary["lon"], primary["lat"])
        )
        others = [e for e in entries if e is not primary]
    else:
        others = entries
    assert geom is not None
    tags = {
        k: v
        for k, v in json.loads(row.get("tags") or "{}").items()
        if k not in (SOURCES_KEY, CONFLICTS_KEY, FILLED_KEY)
    }
    if entries:
        tags[SOURCES_KEY] = entries
    conflicts = [c for e in others for c in _conflicts(row, geom, e)]
    if conflicts:
        tags[CONFLICTS_KEY] = conflicts
    row = dict(row)
    filled = {}
    for key in FILLABLE:
        giver = next((e for e in others if e.get(key)), None)
        if not row.get(key) and giver is not None:
            row[key] = giver[key]
            filled[key] = f"{giver['source']}:{giver['source_id']}"
    if filled:
        tags[FILLED_KEY] = filled
    return row | {"tags": json.dumps(tags, ensure_ascii=False, sort_keys=True)}, geom


def _conflicts(
    row: Mapping[str, Any], geom: shapely.Geometry, entry: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Where a department record disagrees with the facility's shown fields."""
    found = []
    names = [row.get(k, "") for k in ("name", "name_zh", "name_en") if row.get(k, "")]
    theirs = entry.get("name", "")
    if theirs and names and normalise_name(theirs) not in {normalise_name(n) for n in names}:
        found.append(("name", row.get("name") or names[0], theirs))
    ours_hours, their_hours = row.get("opening_hours", ""), entry.get("opening_hours", "")
    if ours_hours and their_hours and ours_hours.strip() != their_hours.strip():
        found.append(("opening_hours", ours_hours, their_hours))
    anchor = shapely.point_on_surface(geom)
    _, _, dist = _GEOD.inv(anchor.x, anchor.y, entry["lon"], entry["lat"])
    if dist > LOCATION_CONFLICT_M:
        found.append(
            (
                "location",
                f"{anchor.x:.7f},{anchor.y:.7f}",
                f"{entry['lon']:.7f},{entry['lat']:.7f} ({dist:.0f} m away)",
            )
        )
    return [
        {
            "field": f,
            "shown": ours,
            "source": entry["source"],
            "source_id": entry["source_id"],
            "value": value,
        }
        for f, ours, value in found
    ]


def _match(
    facilities: gpd.GeoDataFrame,
    eligible: npt.NDArray[np.bool_],
    records: list[dict[str, Any]],
    mapping: Matching,
    skip: set[int],
) -> dict[int, tuple[int, dict[str, float]]]:
    """Department record index -> (facility position, match details), one-to-one.

    Candidates are the ``eligible`` facilities. A pair qualifies when the points are within
    ``max_distance_m``, the categories are the same (different kinds never merge) and the
    names are alike (``min_similarity``); unnamed records merge only within
    :data:`UNNAMED_MATCH_M`. Best pairs are taken first; records in ``skip`` are not matched.
    """
    wanted = [j for j in range(len(records)) if j not in skip]
    if not wanted or not eligible.any():
        return {}
    positions = np.flatnonzero(eligible)
    base = facilities.iloc[positions]
    anchors = shapely.point_on_surface(base.geometry.to_numpy())
    entries = [records[j] for j in wanted]
    lon0 = float(np.mean([e["lon"] for e in entries]))
    lat0 = float(np.mean([e["lat"] for e in entries]))
    tree = cKDTree(_local_xy(shapely.get_x(anchors), shapely.get_y(anchors), lon0, lat0))
    query = _local_xy(
        np.array([e["lon"] for e in entries]), np.array([e["lat"] for e in entries]), lon0, lat0
    )
    categories = base["category"].to_numpy()
    names = base[["name", "name_zh", "name_en"]].fillna("").astype(str).to_numpy()
    pairs = []
    for j, entry, near in zip(
        wanted, entries, tree.query_ball_point(query, r=mapping.max_distance_m * 1.01), strict=True
    ):
        for i in near:
            if categories[i] != entry["category"]:
                continue
            _, _, dist = _GEOD.inv(anchors[i].x, anchors[i].y, entry["lon"], entry["lat"])
            score = _score(entry.get("name", ""), names[i], dist, mapping)
            if score is not None:
                pairs.append((-score, dist, j, int(positions[i])))
    return _assign(sorted(pairs))


def _score(name: str, names: Iterable[str], dist: float, mapping: Matching) -> float | None:
    if dist > mapping.max_distance_m:
        return None
    present = [n for n in names if n]
    if not name or not present:
        return 0.0 if dist <= UNNAMED_MATCH_M else None
    best = max(name_similarity(name, n) for n in present)
    return best if best >= mapping.min_similarity else None


def _assign(pairs: list[tuple[float, float, int, int]]) -> dict[int, tuple[int, dict[str, float]]]:
    taken: set[int] = set()
    out: dict[int, tuple[int, dict[str, float]]] = {}
    for neg_score, dist, j, i in pairs:
        if j in out or i in taken:
            continue
        taken.add(i)
        out[j] = (i, {"distance_m": round(float(dist), 1), "similarity": round(-neg_score, 3)})
    return out


def _local_xy(
    lon: npt.ArrayLike, lat: npt.ArrayLike, lon0: float, lat0: float
) -> npt.NDArray[np.float64]:
    """Metres east and north of (lon0, lat0): an equirectangular plane, fine within a city."""
    k = _EARTH_M_PER_DEG
    return np.column_stack(
        [(np.asarray(lon) - lon0) * k * math.cos(math.radians(lat0)), (np.asarray(lat) - lat0) * k]
    )


def diff_facilities(
    before: gpd.GeoDataFrame, after: gpd.GeoDataFrame
) -> tuple[list[str], list[str], list[str]]:
    """Facility ids added, changed (any field, tags compared parsed, or geometry) and removed."""
    old, new = _keyed(before), _keyed(after)
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])
    return added, changed, removed


def _keyed(frame: gpd.GeoDataFrame) -> dict[str, tuple[Any, ...]]:
    columns = _columns(frame)
    out = {}
    for record, geom in zip(
        frame[columns].to_dict("records"), frame.geometry.to_numpy(), strict=True
    ):
        values: dict[str, Any] = {k: _text(v) for k, v in record.items()}
        values["tags"] = json.loads(values["tags"] or "{}")
        out[values["id"]] = (
            json.dumps(values, sort_keys=True, ensure_ascii=False),
            shapely.to_wkb(geom, hex=True),
        )
    return out


def carry_department_records(
    old: gpd.GeoDataFrame | None, new: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """A reloaded region's facilities (``new``) with every department record of ``old``.

    Reloading OpenStreetMap must not drop what departments added: each source's imported
    records are merged into the new facilities again (with the default matching thresholds),
    as if every list were imported once more, and facilities a department created through
    the API (no import behind them) are kept as they are.
    """
    if old is None or old.empty:
        return new
    by_source: dict[str, list[dict[str, Any]]] = {}
    made: list[int] = []  # rows of departments' own records no import stands behind
    for i, group in enumerate(_groups(old)):
        for entry in group.entries:
            kept = {k: v for k, v in entry.items() if k != "match"}
            by_source.setdefault(entry["source"], []).append(kept)
        if group.row is not None and group.primary[0] != "osm":
            made.append(i)
    if made:
        new = pd.concat([new, old.iloc[made]], ignore_index=True)
    frame = new
    for source in sorted(by_source):
        entries = sorted(by_source[source], key=lambda e: e["source_id"])
        frame, _, _ = merge_records(frame, entries, Matching(source))
    return frame
