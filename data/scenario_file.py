"""Scenario files: reading what-if changes from TOML or GeoJSON, writing the difference layers.

A TOML scenario (coordinates are WGS 84 ``[lon, lat]``)::

    name = "Harbour clinic and a footbridge"

    [[add_facility]]
    category = "clinic"          # a category id (livingcircle categories)
    name = "Harbour clinic"
    lon = 24.9510
    lat = 60.1675
    capacity = 30                # optional

    [[close_facility]]
    id = "osm:node/25502063"     # a facility id of the region

    [[add_link]]                 # a crossing or footbridge
    name = "Footbridge"
    from = [24.9440, 60.1650]
    to = [24.9470, 60.1655]
    oneway = false               # optional; walkable both ways by default
    max_snap_m = 50              # optional: how far an end may be from a street

    [[close_street]]             # one of: way_id, at, between
    name = "Underpass under works"
    at = [24.9415, 60.1712]

A GeoJSON scenario is a FeatureCollection whose features carry a ``change`` property:
``add_facility`` (a Point, with ``category``, ``name``, ``capacity``), ``close_facility``
(``id``, any or no geometry), ``add_link`` (a LineString from its first to its last point,
with ``oneway``, ``name``, ``max_snap_m``) or ``close_street`` (``way_id`` without geometry,
a Point, or a LineString between two points). The collection's ``name`` property names it.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from livingcircle.data.gap_outputs import write_layers
from livingcircle.geo.scenario import ClosedStreet, NewFacility, NewLink, Scenario, ScenarioError

if TYPE_CHECKING:  # in annotations only
    from livingcircle.geo.scenario import ScenarioResult

#: Scenario files larger than this are refused, bytes.
MAX_FILE_BYTES = 10_000_000
SUFFIXES = (".toml", ".geojson", ".json")
OUT_SUFFIXES = (".gpkg", ".parquet", ".csv")
KINDS = ("add_facility", "close_facility", "add_link", "close_street")
_FIELDS = {
    "add_facility": {"category", "lon", "lat", "name", "capacity", "id"},
    "close_facility": {"id"},
    "add_link": {"from", "to", "oneway", "name", "max_snap_m"},
    "close_street": {"way_id", "at", "between", "name", "max_snap_m"},
}


def read_scenario(path: Path) -> Scenario:
    """Read a scenario file (``.toml``, or ``.geojson``/``.json``).

    Raises
    ------
    ScenarioError
        The file is missing, too large, malformed, or a change lacks or misspells a field;
        every problem is listed.
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ScenarioError(
            [f"cannot read {path.name}: allowed endings {', '.join(SUFFIXES)}"], path.name
        )
    if not path.is_file():
        raise ScenarioError([f"no file {path}"], path.name)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ScenarioError(
            [f"the file has {path.stat().st_size:,} bytes; at most {MAX_FILE_BYTES:,} are allowed"],
            path.name,
        )
    text = path.read_text(encoding="utf-8")
    try:
        changes = _from_toml(text) if suffix == ".toml" else _from_geojson(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError([f"it is not valid {suffix[1:].upper()}: {exc}"], path.name) from exc
    return scenario_from_changes(changes, path.stem, path.name)


def _from_toml(text: str) -> dict[str, Any]:
    data = tomllib.loads(text)
    return dict(data)


def _from_geojson(text: str) -> dict[str, Any]:
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        return {"_problems": ["a GeoJSON scenario must be a FeatureCollection"]}
    out: dict[str, Any] = {k: [] for k in KINDS}
    props = data.get("properties") or {}
    if isinstance(props, dict) and "name" in props:
        out["name"] = props["name"]
    problems = []
    for i, feat in enumerate(data.get("features") or [], start=1):
        got = _feature_change(feat)
        if isinstance(got, str):
            problems.append(f"feature #{i}: {got}")
        else:
            out[got[0]].append(got[1])
    out["_problems"] = problems
    return out


def _feature_change(feat: Any) -> tuple[str, dict[str, Any]] | str:
    """A feature as (kind, fields), or what is wrong with it."""
    if not isinstance(feat, dict):
        return "not a GeoJSON Feature"
    props = dict(feat.get("properties") or {})
    kind = props.pop("change", None)
    if kind not in KINDS:
        return f"its change {kind!r} is unknown; allowed: {', '.join(KINDS)}"
    geom = feat.get("geometry") or {}
    coords = geom.get("coordinates") if isinstance(geom, dict) else None
    gtype = geom.get("type") if isinstance(geom, dict) else None
    if kind == "add_facility":
        if gtype != "Point" or not coords or len(coords) < 2:
            return "add_facility needs a Point geometry (with its lon and lat)"
        props["lon"], props["lat"] = coords[0], coords[1]
    elif kind == "add_link":
        if gtype != "LineString" or not coords or len(coords) < 2:
            return "add_link needs a LineString geometry (its first and last points are joined)"
        props["from"], props["to"] = coords[0], coords[-1]
    elif kind == "close_street" and gtype == "Point":
        props["at"] = coords
    elif kind == "close_street" and gtype == "LineString" and coords:
        props["between"] = [coords[0], coords[-1]]
    return kind, props


def scenario_from_changes(
    data: Mapping[str, Any], name: str = "scenario", source: str = "the scenario"
) -> Scenario:
    """A :class:`Scenario` from a TOML-like mapping (``add_facility = [{...}]`` and so on)."""
    problems = list(data.get("_problems", []))
    unknown = sorted(set(data) - {*KINDS, "name", "_problems"})
    if unknown:
        problems.append(
            f"unknown section{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}; allowed: name, {', '.join(KINDS)}"
        )
    parsed: dict[str, list[Any]] = {k: [] for k in KINDS}
    makers: dict[str, Callable[[dict[str, Any]], Any]] = {
        "add_facility": _new_facility,
        "close_facility": _closed_facility,
        "add_link": _new_link,
        "close_street": _closed_street,
    }
    for kind in KINDS:
        items = data.get(kind, [])
        if not isinstance(items, list):
            problems.append(f"{kind} must be a list of tables ([[{kind}]])")
            continue
        for i, item in enumerate(items, start=1):
            where = f"{kind} #{i}"
            if not isinstance(item, dict):
                problems.append(f"{where}: must be a table of fields")
                continue
            extra = sorted(set(item) - _FIELDS[kind])
            if extra:
                problems.append(
                    f"{where}: unknown field{'s' if len(extra) > 1 else ''} "
                    f"{', '.join(extra)}; allowed: "
                    f"{', '.join(sorted(_FIELDS[kind]))}"
                )
                continue
            try:
                parsed[kind].append(makers[kind](item))
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"{where}: {_reason(exc)}")
    if problems:
        raise ScenarioError(problems, source)
    return Scenario(
        str(data.get("name", name)),
        tuple(parsed["add_facility"]),
        tuple(parsed["close_facility"]),
        tuple(parsed["add_link"]),
        tuple(parsed["close_street"]),
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"the field {exc.args[0]} is missing"
    return str(exc)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, not {value!r}")
    return float(value)


def _point(value: Any, what: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{what} must be a point [lon, lat], not {value!r}")
    return _number(value[0], f"{what} lon"), _number(value[1], f"{what} lat")


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"{key} must be text, not {value!r}")
    return value


def _flag(item: dict[str, Any], key: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, not {value!r}")
    return value


def _new_facility(item: dict[str, Any]) -> NewFacility:
    cap = item.get("capacity")
    return NewFacility(
        _text(item, "category") or _missing("category"),
        _number(item["lon"], "lon"),
        _number(item["lat"], "lat"),
        _text(item, "name"),
        None if cap is None else _number(cap, "capacity"),
        _text(item, "id"),
    )


def _missing(key: str) -> str:
    raise KeyError(key)


def _closed_facility(item: dict[str, Any]) -> str:
    return _text(item, "id") or _missing("id")


def _new_link(item: dict[str, Any]) -> NewLink:
    snap = item.get("max_snap_m")
    return NewLink(
        _point(item["from"], "from"),
        _point(item["to"], "to"),
        _flag(item, "oneway"),
        _text(item, "name"),
        *(() if snap is None else (_number(snap, "max_snap_m"),)),
    )


def _closed_street(item: dict[str, Any]) -> ClosedStreet:
    way = item.get("way_id")
    if way is not None and (isinstance(way, bool) or not isinstance(way, int)):
        raise ValueError(f"way_id must be a whole number (an OSM way id), not {way!r}")
    at = _point(item["at"], "at") if "at" in item else None
    between = None
    if "between" in item:
        pts = item["between"]
        if not isinstance(pts, list) or len(pts) != 2:
            raise ValueError("between must be two points [[lon, lat], [lon, lat]]")
        between = (_point(pts[0], "between start"), _point(pts[1], "between end"))
    snap = item.get("max_snap_m")
    return ClosedStreet(
        way,
        at,
        between,
        _text(item, "name"),
        *(() if snap is None else (_number(snap, "max_snap_m"),)),
    )


def write_scenario_result(result: ScenarioResult, path: Path) -> list[Path]:
    """Write the result's layers (:meth:`ScenarioResult.layers`); returns the files written.

    ``.gpkg``: one file with the layers ``summary``, ``tiers``, ``changes``, ``facilities``
    and ``streets``; ``.parquet`` / ``.csv``: ``changes`` in the file named and the others
    beside it (``NAME.summary.csv``...).
    """
    return write_layers(result.layers(), path, OUT_SUFFIXES, "changes")
