"""The store's SQL, named here, one idiom per job (see :mod:`livingcircle.data.pg`).

Statements and writes are SQLAlchemy ``text()`` with ``:name`` binds (cached by
:func:`_text`); reads of a region's rows are psycopg with ``%(name)s`` (:func:`_fetch`),
which skips SQLAlchemy's statement and row objects on the hot path.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import Connection, TextClause, text

from livingcircle.data.pg_schema import EDGE_TAG_COLUMNS, SRID
from livingcircle.geo.store import FACILITY_COLUMNS, Bounds, check_region_name

#: advisory-lock class of region loads ("LC"); the object id is ``hashtext(region)``
LOAD_LOCK = 0x4C43


_KEY_COLUMNS = "key_id, owner, salt, digest, created_at, role, expires_at, revoked_at, last_used_at"


_INSERT_KEY_SQL = (
    f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES ("
    + ", ".join(f":{c}" for c in _KEY_COLUMNS.split(", "))
    + ")"
)


#: the columns of ``categories`` that are a category's fields (``position`` is its order)
_CATEGORY_FIELDS = ("id", "label_en", "label_zh", "color", "icon")


_INSERT_CATEGORY_SQL = (
    f"INSERT INTO categories (position, {', '.join(_CATEGORY_FIELDS)}) VALUES (:position, "
    + ", ".join(f":{c}" for c in _CATEGORY_FIELDS)
    + ")"
)


#: the tier's fields and the requirement's in ``tier_requirements`` (tier ones as ``tier_*``)
_TIER_FIELDS = ("minutes", "distance_m", "label_en", "label_zh")
_REQUIREMENT_FIELDS = ("label_en", "label_zh", "categories", "radius_m")
_REQUIREMENT_COLUMNS = (
    "standard",
    "requirement",
    *(f"tier_{c}" for c in _TIER_FIELDS),
    *_REQUIREMENT_FIELDS,
)


_INSERT_REQUIREMENT_SQL = (
    f"INSERT INTO tier_requirements ({', '.join(_REQUIREMENT_COLUMNS)}) VALUES ("
    + ", ".join(f":{c}" for c in _REQUIREMENT_COLUMNS)
    + ")"
)


_JOB_COLUMNS = (
    "id",
    "kind",
    "region",
    "owner",
    "state",
    "inputs",
    "progress",
    "summary",
    "error",
    "created_at",
    "updated_at",
)


_JOB_BINDS = ", ".join(
    f"CAST(:{c} AS jsonb)" if c in ("inputs", "progress", "summary") else f":{c}"
    for c in _JOB_COLUMNS
)


_REGION_SQL = (
    "SELECT name, source, loaded_at, west, south, east, north, n_nodes, n_edges, "
    "n_facilities FROM regions"
)


# a region's build cache: the row exists only if the region does (RegionNotFound otherwise);
# read with _fetch(binary=True): bytea as bytes, not hex text (85 MB: 0.9 s, not 2.8 s)
_CACHE_SQL = (
    "SELECT c.blob FROM regions r LEFT JOIN region_caches c "
    "ON c.region = r.name AND c.key = %(k)s WHERE r.name = %(r)s"
)


_SAVE_CACHE_SQL = """
INSERT INTO region_caches (region, key, blob, built_at)
SELECT name, :k, :b, clock_timestamp() FROM regions WHERE name = :r
ON CONFLICT (region) DO UPDATE SET
    key = EXCLUDED.key, blob = EXCLUDED.blob, built_at = EXCLUDED.built_at
RETURNING gid"""


_DROP_CACHE_SQL = "DELETE FROM region_caches WHERE region = :r"


_NODES_SQL = (
    "SELECT node, osmid, ST_X(geom), ST_Y(geom), ele FROM walk_nodes WHERE region = %(r)s "
    "ORDER BY node"
)


_EDGES_SQL = (
    "SELECT edge, source, target, length_m, oneway, way_id, highway, name, "
    f"{', '.join(EDGE_TAG_COLUMNS.values())}, "
    "ST_AsBinary(geom) FROM walk_edges WHERE region = %(r)s ORDER BY edge"
)


# Tags come back as the loaders write them, JSON text with sorted keys and non-ASCII kept
# (json.dumps(..., ensure_ascii=False, sort_keys=True)). PostgreSQL writes that text itself
# for a flat object of strings (its JSON escapes are Python's; "C" order is code-point
# order), much faster than parsing and dumping each row in Python; any other JSON is marked
# with a leading "!" and redone in Python.
_TAGS_SQL = """coalesce(CASE WHEN jsonb_typeof(tags) = 'object' THEN (
    SELECT CASE WHEN bool_and(jsonb_typeof(value) = 'string') IS NOT FALSE THEN '{' || coalesce(
        string_agg(to_json(key)::text || ': ' || value::text, ', ' ORDER BY key COLLATE "C"),
        '') || '}' END
    FROM jsonb_each(tags)) END, '!' || tags::text)"""


_FACILITY_COLUMNS_SQL = (
    ", ".join(c if c != "tags" else _TAGS_SQL for c in FACILITY_COLUMNS) + ", ST_AsBinary(geom)"
)


_FACILITY_SQL = f"SELECT {_FACILITY_COLUMNS_SQL} FROM facilities"


_STATUS_COLUMNS = (
    "facility_id",
    "category",
    "spaces_free",
    "spaces_total",
    "closed_until",
    "note",
    "queue_minutes",
    "updated_at",
    "actor",
)


_STATUS_SQL = f"SELECT {', '.join(_STATUS_COLUMNS)} FROM facility_status WHERE region = :r"


_UPSERT_STATUS_SQL = f"""
INSERT INTO facility_status (region, {", ".join(_STATUS_COLUMNS)})
VALUES (:region, {", ".join(":" + c for c in _STATUS_COLUMNS)})
ON CONFLICT (region, facility_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _STATUS_COLUMNS[1:])}"""


_KIOSK_COLUMNS = (
    "id",
    "name_zh",
    "name_en",
    "region",
    "lat",
    "lon",
    "language",
    "categories",
    "refresh_s",
)


_UPSERT_KIOSK_SQL = f"""
INSERT INTO kiosks ({", ".join(_KIOSK_COLUMNS)})
VALUES ({", ".join(":" + c for c in _KIOSK_COLUMNS)})
ON CONFLICT (id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _KIOSK_COLUMNS[1:])}"""


def _fetch(
    conn: Connection, sql: str, params: dict[str, Any], binary: bool = False
) -> list[tuple[Any, ...]]:
    """Rows as plain tuples from psycopg (``%(name)s`` placeholders), in ``conn``'s transaction.

    Bulk reads and the per-request queries skip SQLAlchemy's statement and row objects;
    ``binary`` asks for the results in binary format (large ``bytea`` values).
    """
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    try:
        with raw.cursor(binary=binary) as cur:
            return cur.execute(sql.encode(), params).fetchall()  # bytes: not a LiteralString
    except psycopg.OperationalError as exc:
        if raw.broken or raw.closed:  # as SQLAlchemy does for its own statements
            conn.invalidate(exc)
            raise _ConnectionLost(exc) from exc
        raise


class _ConnectionLost(Exception):
    """The server had dropped a pooled connection (the unit of work runs again)."""

    def __init__(self, error: psycopg.OperationalError) -> None:
        super().__init__(str(error))
        self.error = error


def _filters(region: str, categories: list[str] | None) -> tuple[str, dict[str, Any]]:
    check_region_name(region)
    if categories:
        return (
            "region = %(r)s AND category = ANY(%(cats)s)",
            {"r": region, "cats": list(categories)},
        )
    return "region = %(r)s", {"r": region}


def _bbox_filters(
    region: str, bbox: Bounds | None, categories: list[str] | None
) -> tuple[str, dict[str, Any]]:
    """As :func:`_filters`, and geometries whose bounding box meets ``bbox`` (edges too)."""
    where, params = _filters(region, categories)
    if bbox is not None:
        where += (
            " AND geom && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)"
            " AND max_lon >= %(w)s AND min_lon <= %(e)s"
            " AND max_lat >= %(s)s AND min_lat <= %(n)s"
        )
        params.update(zip("wsen", (float(b) for b in bbox), strict=True))
    return where, params


def _like_escape(text: str) -> str:
    """``text`` for a LIKE pattern escaped by backslash: its wildcards match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@lru_cache(maxsize=256)
def _text(sql: str) -> TextClause:
    return text(sql)


_EDIT_COLUMNS = [*FACILITY_COLUMNS, "geom", "anchor", "min_lon", "min_lat", "max_lon", "max_lat"]


_EDIT_VALUES = {
    "tags": "CAST(:tags AS jsonb)",
    "geom": f"ST_GeomFromWKB(:geom, {SRID})",
    "anchor": f"ST_GeomFromWKB(:anchor, {SRID})",
}


_INSERT_FACILITY_SQL = (
    f"INSERT INTO facilities (region, {', '.join(_EDIT_COLUMNS)}) VALUES (:r, "
    + ", ".join(_EDIT_VALUES.get(c, f":{c}") for c in _EDIT_COLUMNS)
    + ")"
)


_UPDATE_FACILITY_SQL = (
    "UPDATE facilities SET "
    + ", ".join(f"{c} = {_EDIT_VALUES.get(c, f':{c}')}" for c in _EDIT_COLUMNS if c != "id")
    + " WHERE region = :r AND id = :id"
)


_AUDIT_COLUMNS = "region, facility_id, action, actor, at, before, after, seq, prev_hash, hash"


_INSERT_AUDIT_SQL = (
    f"INSERT INTO facility_audit ({_AUDIT_COLUMNS}) VALUES (:region, :facility_id, :action, "
    ":actor, :at, CAST(:before AS jsonb), CAST(:after AS jsonb), :seq, :prev_hash, :hash)"
)


#: advisory-lock class of appends to an audit log ("LA"); the object id is ``hashtext(log)``
AUDIT_LOCK = 0x4C41


_STAGE_COLUMNS = [*FACILITY_COLUMNS, "geom", "anchor", "min_lon", "min_lat", "max_lon", "max_lat"]


#: a row is rewritten on reload only if one of these changed (bounds follow the geometry)
_COMPARED = [c for c in _STAGE_COLUMNS if not c.startswith(("min_", "max_"))]
