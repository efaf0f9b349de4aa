"""What a write sends: a load's merge, the network, a record's values, an audit row."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from livingcircle.data.pg.copy import _NULL, _floats, _geoms, _ints, _texts, copy_rows
from livingcircle.data.pg.sql import (
    _COMPARED,
    _INSERT_AUDIT_SQL,
    _JOB_COLUMNS,
    _STAGE_COLUMNS,
    AUDIT_LOCK,
    _text,
)
from livingcircle.data.pg_schema import EDGE_TAG_COLUMNS
from livingcircle.geo.audit import GENESIS, seal
from livingcircle.geo.jobs import Job, canonical_json
from livingcircle.geo.store import (
    FACILITY_COLUMNS,
    AuditEntry,
    FacilityRecord,
    LoadStats,
    RegionInfo,
    check_record,
)


def _job_values(job: Job) -> dict[str, Any]:
    """A job's columns as bind values (JSONB as JSON text)."""
    values = {c: getattr(job, c) for c in _JOB_COLUMNS}
    for column in ("inputs", "progress", "summary"):
        values[column] = None if values[column] is None else canonical_json(values[column])
    return values


def _record_values(region: str, record: FacilityRecord) -> dict[str, Any]:
    """A department's record as the parameters of ``_INSERT/_UPDATE_FACILITY_SQL``."""
    check_record(record)
    values: dict[str, Any] = {"r": region}
    for column in FACILITY_COLUMNS:
        values[column] = getattr(record, column)
    values["tags"] = record.tags or "{}"
    geometry = record.geometry
    w, s, e, n = geometry.bounds
    values.update(
        geom=shapely.to_wkb(geometry),
        anchor=shapely.to_wkb(shapely.point_on_surface(geometry)),
        min_lon=w,
        min_lat=s,
        max_lon=e,
        max_lat=n,
    )
    return values


def _append_audit(conn: Connection, entry: AuditEntry) -> AuditEntry:
    """Seal ``entry`` as the next of its log and insert it, in ``conn``'s transaction.

    The log's advisory lock, held to the commit, serialises appends: two writers never read
    the same last entry, so the chain cannot fork. It is the last lock a change takes.
    """
    conn.execute(
        _text("SELECT pg_advisory_xact_lock(:c, hashtext(:r))"),
        {"c": AUDIT_LOCK, "r": entry.region},
    )
    last = conn.execute(
        _text("SELECT seq, hash FROM facility_audit WHERE region = :r ORDER BY seq DESC LIMIT 1"),
        {"r": entry.region},
    ).first()
    sealed = seal(entry, *((int(last[0]), str(last[1])) if last else (0, GENESIS)))
    values = {c: getattr(sealed, c) for c in ("region", "facility_id", "action", "actor", "at")}
    conn.execute(
        _text(_INSERT_AUDIT_SQL),
        values
        | {
            "before": _json(sealed.before),
            "after": _json(sealed.after),
            "seq": sealed.seq,
            "prev_hash": sealed.prev,
            "hash": sealed.hash,
        },
    )
    return sealed


def _json(value: dict[str, object] | None) -> str | None:
    """A JSON object as the text a ``CAST(... AS jsonb)`` bind takes (None: SQL NULL)."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _upsert_region(conn: Connection, info: RegionInfo) -> None:
    w, s, e, n = (float(b) for b in info.bounds)
    loaded = info.loaded_at if info.loaded_at.tzinfo else info.loaded_at.replace(tzinfo=UTC)
    conn.execute(
        _text("""
        INSERT INTO regions (name, source, loaded_at, west, south, east, north,
                             n_nodes, n_edges, n_facilities, boundary)
        VALUES (:name, :source, :loaded_at, :w, :s, :e, :n, :nn, :ne, :nf,
                ST_MakeEnvelope(:w, :s, :e, :n, 4326))
        ON CONFLICT (name) DO UPDATE SET
            source = EXCLUDED.source, loaded_at = EXCLUDED.loaded_at, west = EXCLUDED.west,
            south = EXCLUDED.south, east = EXCLUDED.east, north = EXCLUDED.north,
            n_nodes = EXCLUDED.n_nodes, n_edges = EXCLUDED.n_edges,
            n_facilities = EXCLUDED.n_facilities, boundary = EXCLUDED.boundary
    """),
        {
            "name": info.name,
            "source": info.source,
            "loaded_at": loaded,
            "w": w,
            "s": s,
            "e": e,
            "n": n,
            "nn": int(info.n_nodes),
            "ne": int(info.n_edges),
            "nf": int(info.n_facilities),
        },
    )


def _merge_facilities(conn: Connection, region: str, frame: gpd.GeoDataFrame) -> LoadStats:
    conn.execute(
        _text("""
        CREATE TEMP TABLE lc_stage_facilities (
            id text COLLATE "C", source text, source_id text, name text, name_zh text,
            name_en text, category text, opening_hours text, tags jsonb,
            geom geometry(Geometry, 4326), anchor geometry(Point, 4326),
            min_lon float8, min_lat float8, max_lon float8, max_lat float8
        ) ON COMMIT DROP""")
    )
    copy_rows(conn, "lc_stage_facilities", _STAGE_COLUMNS, _facility_columns(frame))
    conn.execute(_text("ANALYZE lc_stage_facilities (source, source_id)"))  # for the joins
    deleted = conn.execute(
        _text("""
        DELETE FROM facilities f WHERE f.region = :r AND NOT EXISTS (
            SELECT 1 FROM lc_stage_facilities s
            WHERE s.source = f.source AND s.source_id = f.source_id)"""),
        {"r": region},
    ).rowcount
    columns = ", ".join(_STAGE_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _STAGE_COLUMNS)
    changed = (
        conn.execute(
            _text(f"""
        INSERT INTO facilities AS f (region, {columns})
        SELECT :r, {columns} FROM lc_stage_facilities
        ON CONFLICT (region, source, source_id) DO UPDATE SET {updates}
        WHERE ({", ".join("f." + c for c in _COMPARED)})
              IS DISTINCT FROM ({", ".join("EXCLUDED." + c for c in _COMPARED)})
        RETURNING xmax = 0"""),
            {"r": region},
        )
        .scalars()
        .all()
    )
    inserted = sum(1 for c in changed if c)
    return LoadStats(inserted, len(changed) - inserted, len(frame) - len(changed), deleted)


def _replace_network(
    conn: Connection, region: str, nodes: pd.DataFrame, edges: gpd.GeoDataFrame
) -> None:
    conn.execute(_text("DELETE FROM walk_edges WHERE region = :r"), {"r": region})
    conn.execute(_text("DELETE FROM walk_nodes WHERE region = :r"), {"r": region})
    n = len(nodes)
    copy_rows(
        conn,
        "walk_nodes",
        ["region", "node", "osmid", "ele", "geom"],
        [
            [region] * n,
            _ints(nodes["node"]),
            _ints(nodes["osmid"]),
            _floats(nodes["ele"]) if "ele" in nodes.columns else [_NULL] * n,
            _geoms(shapely.points(nodes["lon"].to_numpy(), nodes["lat"].to_numpy())),
        ],
    )
    length = edges["length_m"].to_numpy(dtype=np.float64)
    oneway = edges["oneway"].to_numpy(dtype=bool)
    n = len(edges)
    copy_rows(
        conn,
        "walk_edges",
        [
            "region",
            "edge",
            "source",
            "target",
            "length_m",
            "cost",
            "reverse_cost",
            "oneway",
            "way_id",
            "highway",
            "name",
            *EDGE_TAG_COLUMNS.values(),
            "geom",
        ],
        [
            [region] * len(edges),
            _ints(edges["edge"]),
            _ints(edges["u"]),
            _ints(edges["v"]),
            _floats(length),
            _floats(length),
            _floats(np.where(oneway, -1.0, length)),
            ["t" if o else "f" for o in oneway],
            _ints(edges["way_id"]),
            _texts(edges["highway"]),
            _texts(edges["name"]),
            *(_texts(edges[t]) if t in edges.columns else [_NULL] * n for t in EDGE_TAG_COLUMNS),
            _geoms(edges.geometry.to_numpy()),
        ],
    )


def _facility_columns(frame: gpd.GeoDataFrame) -> list[list[str]]:
    geoms = frame.geometry.to_numpy()
    bounds = shapely.bounds(geoms)
    return [
        *(_texts(frame[c]) for c in FACILITY_COLUMNS),
        _geoms(geoms),
        _geoms(shapely.point_on_surface(geoms)),
        *(_floats(bounds[:, i]) for i in range(4)),
    ]
