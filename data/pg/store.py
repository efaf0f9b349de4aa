"""The PostGIS store: regions, their facilities and the departments' edits.

See :mod:`livingcircle.data.postgis` for what it promises.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

import geopandas as gpd
from sqlalchemy import Connection

from livingcircle.data.pg.errors import on_state
from livingcircle.data.pg.records import Records
from livingcircle.data.pg.rows import _edges_frame, _facility_frame, _info, _nodes_frame
from livingcircle.data.pg.sql import (
    _CACHE_SQL,
    _CATEGORY_FIELDS,
    _DROP_CACHE_SQL,
    _EDGES_SQL,
    _FACILITY_SQL,
    _INSERT_CATEGORY_SQL,
    _INSERT_FACILITY_SQL,
    _INSERT_REQUIREMENT_SQL,
    _NODES_SQL,
    _REGION_SQL,
    _REQUIREMENT_FIELDS,
    _SAVE_CACHE_SQL,
    _TIER_FIELDS,
    _UPDATE_FACILITY_SQL,
    _bbox_filters,
    _fetch,
    _filters,
    _like_escape,
    _text,
)
from livingcircle.data.pg.writes import (
    _append_audit,
    _merge_facilities,
    _record_values,
    _replace_network,
    _upsert_region,
)
from livingcircle.geo.audit import import_entry, load_entry, removal_entry
from livingcircle.geo.errors import FacilityExists, FacilityNotFound, RegionNotFound
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import (
    EVERY,
    AuditEntry,
    FacilityChange,
    FacilityEdit,
    FacilityKeep,
    FacilityQuery,
    FacilityRecord,
    LoadStats,
    RegionData,
    RegionInfo,
    check_cache_key,
    check_facilities,
    check_region_name,
    with_facilities,
)
from livingcircle.geo.text import check_edges


class PostgisStore(Records):
    """Regions in PostGIS, answering as the embedded store does.

    Parameters
    ----------
    url
        ``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE`` (``postgresql://`` works too).
    timeouts
        How long to wait for the database (connect, statement, load, pool); a unit of work the
        database does not answer in time fails with ``DatabaseUnavailable``.

    Raises
    ------
    DatabaseUnavailable
        The server cannot be reached or refuses the login.
    SchemaOutOfDate
        The database lacks the schema or has another revision of it.
    """

    def regions(self) -> list[RegionInfo]:
        """Every loaded region, by name."""

        def work() -> list[RegionInfo]:
            with self._reader.connect() as conn:
                rows = conn.execute(_text(_REGION_SQL + ' ORDER BY name COLLATE "C"')).all()
            return [_info(r) for r in rows]

        return self._unit("listing regions", work)

    def save_region(self, data: RegionData, keep: FacilityKeep | None = None) -> LoadStats:
        """Store a region in one transaction, replacing its earlier version whole or not at all.

        Facilities are matched by ``(source, source_id)``: matching rows are updated in place
        (their row keys stay), new ones inserted, vanished ones deleted; the load returns
        how many of each. ``keep`` (see
        :meth:`livingcircle.geo.store.Store.save_region`) reads the stored facilities inside
        the transaction, after the region's lock is taken.
        """
        name = check_region_name(data.info.name)

        def work() -> LoadStats:
            with self.engine.begin() as conn:
                conn.execute(_text(self.timeouts.local_statement_timeout()))
                self._lock(conn, name)
                out = data
                old = conn.execute(_text(_REGION_SQL + " WHERE name = :r"), {"r": name}).first()
                stored = None
                if old is not None:
                    stored = _facility_frame(
                        _fetch(
                            conn, f"{_FACILITY_SQL} WHERE region = %(r)s ORDER BY id", {"r": name}
                        )
                    )
                if keep is not None:
                    out = with_facilities(data, keep(stored))
                check_facilities(name, out.facilities)
                check_edges(out.edges, f"region {name!r}")
                _upsert_region(conn, out.info)
                conn.execute(_text(_DROP_CACHE_SQL), {"r": name})
                stats = _merge_facilities(conn, name, out.facilities)
                _replace_network(conn, name, out.nodes, out.edges)
                # fresh row counts: the planner keeps to the KNN index after a first load
                conn.execute(_text("ANALYZE facilities (region, category)"))
                _append_audit(conn, load_entry(out, stored, None if old is None else _info(old)))
            return stats

        return self._unit(f"loading region {name!r}", work, bulk=True)

    def load_region(self, name: str) -> RegionData:
        """Read a region back (one consistent snapshot), rows in key order."""
        check_region_name(name)
        snapshot = self.engine.execution_options(isolation_level="REPEATABLE READ")

        def work() -> RegionData:
            with snapshot.begin() as conn:
                conn.execute(_text(self.timeouts.local_statement_timeout()))
                row = conn.execute(_text(_REGION_SQL + " WHERE name = :r"), {"r": name}).first()
                if row is None:
                    raise RegionNotFound(name, self._names(conn))
                nodes = _nodes_frame(_fetch(conn, _NODES_SQL, {"r": name}))
                edges = _edges_frame(_fetch(conn, _EDGES_SQL, {"r": name}))
                facilities = _facility_frame(
                    _fetch(conn, f"{_FACILITY_SQL} WHERE region = %(r)s ORDER BY id", {"r": name})
                )
            return RegionData(_info(row), nodes, edges, facilities)

        return self._unit(f"reading region {name!r}", work, bulk=True)

    def update_facilities(
        self, region: str, change: FacilityChange, *, source: str = "", actor: str = ""
    ) -> LoadStats | None:
        """Replace the facilities with ``change(info, facilities)`` in one transaction.

        The region's edit lock is held from the read to the commit (an API edit meanwhile
        waits for it, and it for an edit, up to 10 s); facilities are merged by
        ``(source, source_id)`` as a load merges them, and the network is not touched.
        It returns what changed, or None when ``change`` gave None. The audit log records
        an ``import`` of ``source`` by ``actor`` in the same transaction.
        """
        check_region_name(region)

        def work() -> LoadStats | None:
            with self.engine.begin() as conn:
                conn.execute(_text(self.timeouts.local_statement_timeout()))
                self._edit_lock(conn, region)
                row = conn.execute(
                    _text(_REGION_SQL + " WHERE name = :r FOR UPDATE"), {"r": region}
                ).first()
                if row is None:
                    raise RegionNotFound(region, self._names(conn))
                facilities = _facility_frame(
                    _fetch(conn, f"{_FACILITY_SQL} WHERE region = %(r)s ORDER BY id", {"r": region})
                )
                frame = change(_info(row), facilities)
                if frame is None:
                    return None
                check_facilities(region, frame)
                conn.execute(_text(_DROP_CACHE_SQL), {"r": region})
                stats = _merge_facilities(conn, region, frame)
                conn.execute(
                    _text("""
                    UPDATE regions SET n_facilities = :n,
                        loaded_at = greatest(clock_timestamp(),
                                             loaded_at + interval '1 microsecond')
                    WHERE name = :r"""),
                    {"r": region, "n": len(frame)},
                )
                conn.execute(_text("ANALYZE facilities (region, category)"))
                _append_audit(conn, import_entry(region, facilities, frame, source, actor))
            return stats

        return self._unit(f"updating the facilities of region {region!r}", work, bulk=True)

    def delete_region(self, name: str) -> None:
        """Remove a region and everything in it."""
        check_region_name(name)

        def work() -> None:
            with self.engine.begin() as conn:
                self._lock(conn, name)
                row = conn.execute(_text(_REGION_SQL + " WHERE name = :r"), {"r": name}).first()
                if row is None:
                    raise RegionNotFound(name, self._names(conn))
                _append_audit(conn, removal_entry(_info(row)))
                conn.execute(_text("DELETE FROM regions WHERE name = :r"), {"r": name})

        self._unit(f"deleting region {name!r}", work)

    def region_cache(self, name: str, key: str) -> bytes | None:
        """The build cache kept for ``name`` under ``key`` (``region_caches``), or None."""
        check_region_name(name)
        check_cache_key(key)

        def work() -> bytes | None:
            with self._reader.connect() as conn:
                rows = _fetch(conn, _CACHE_SQL, {"r": name, "k": key}, binary=True)
                if not rows:
                    raise RegionNotFound(name, self._names(conn))
            return None if rows[0][0] is None else bytes(rows[0][0])

        return self._unit(f"reading the build cache of region {name!r}", work, bulk=True)

    def save_region_cache(self, name: str, key: str, blob: bytes) -> None:
        """Keep ``blob`` as ``name``'s one build cache, under ``key`` (one upsert)."""
        check_region_name(name)
        check_cache_key(key)

        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(_text(self.timeouts.local_statement_timeout()))
                params = {"r": name, "k": key, "b": blob}
                if conn.execute(_text(_SAVE_CACHE_SQL), params).first() is None:
                    raise RegionNotFound(name, self._names(conn))

        self._unit(f"keeping the build cache of region {name!r}", work, bulk=True)

    def save_standard(self, standard: Standard) -> bool:
        """Replace the ``categories`` and ``tier_requirements`` tables with ``standard``'s."""
        categories = [
            {"position": i, **{f: getattr(c, f) for f in _CATEGORY_FIELDS}}
            for i, c in enumerate(standard.categories)
        ]
        requirements = [
            {"standard": standard.name, "requirement": r.id}
            | {f"tier_{f}": getattr(t, f) for f in _TIER_FIELDS}
            | {f: getattr(r, f) for f in _REQUIREMENT_FIELDS}
            | {"categories": list(r.categories)}  # a tuple would bind as a record
            for t in standard.tiers
            for r in t.requirements
        ]

        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(_text("DELETE FROM tier_requirements"))
                conn.execute(_text("DELETE FROM categories"))
                if categories:
                    conn.execute(_text(_INSERT_CATEGORY_SQL), categories)
                if requirements:
                    conn.execute(_text(_INSERT_REQUIREMENT_SQL), requirements)

        self._unit("saving the standard", work)
        return True

    def facility(self, region: str, facility_id: str) -> gpd.GeoDataFrame:
        """The facility ``facility_id`` as a one-row frame; raises ``FacilityNotFound``."""
        where, params = _filters(region, None)
        params["id"] = str(facility_id)
        # PostgreSQL text holds no NUL: such an id names no facility
        where += " AND false" if "\x00" in params["id"] else " AND id = %(id)s"
        frame = self._facility_query(region, f"{_FACILITY_SQL} WHERE {where}", params)
        if frame.empty:
            raise FacilityNotFound(region, facility_id)
        return frame

    def facilities(self, region: str, query: FacilityQuery = EVERY) -> gpd.GeoDataFrame:
        """The facilities ``query`` asks for, by id, one page.

        Its ``text`` is taken literally: percent signs, underscores and backslashes in it
        match themselves (escaped for ILIKE).
        """
        where, params = _bbox_filters(region, query.bbox, query.categories)
        text = query.text
        if text and "\x00" in text:  # PostgreSQL text holds no NUL: no name has one
            where += " AND false"
        elif text:
            where += (
                " AND (name ILIKE %(q)s ESCAPE '\\' OR name_zh ILIKE %(q)s ESCAPE '\\'"
                " OR name_en ILIKE %(q)s ESCAPE '\\')"
            )
            params["q"] = f"%{_like_escape(str(text))}%"
        sql = f"{_FACILITY_SQL} WHERE {where} ORDER BY id LIMIT %(limit)s OFFSET %(offset)s"
        params.update(limit=max(int(query.limit), 0), offset=max(int(query.offset), 0))
        return self._facility_query(region, sql, params)

    def save_facility(
        self, region: str, record: FacilityRecord, actor: str, create: bool
    ) -> AuditEntry:
        """Create (``create``) or replace one facility, with its audit entry, in one transaction.

        A replaced facility keeps its row key (``fid``). The region's load time moves on, so
        other processes rebuild their engines.
        """
        check_region_name(region)
        action = "create" if create else "update"

        def change(conn: Connection, before: gpd.GeoDataFrame | None) -> None:
            if create and before is not None:
                raise FacilityExists(
                    f"facility {record.id!r} already exists in region {region!r}; change it "
                    "with PUT, or pick another source_id"
                )
            if not create and before is None:
                raise FacilityNotFound(region, record.id)
            values = _record_values(region, record)
            taken = FacilityExists(  # (source, source_id) of another facility
                f"facility {record.id!r} cannot be saved in region {region!r}: another "
                f"facility already has source {record.source!r} and source_id "
                f"{record.source_id!r}"
            )
            with on_state("23505", lambda: taken):
                conn.execute(
                    _text(_INSERT_FACILITY_SQL if create else _UPDATE_FACILITY_SQL), values
                )

        edit = FacilityEdit(region, record.id, action, actor)
        return self._edit(edit, change, {"create": 1, "update": 0}[action])

    def delete_facility(self, region: str, facility_id: str, actor: str) -> AuditEntry:
        """Remove one facility, with its audit entry, in one transaction."""
        check_region_name(region)

        def change(conn: Connection, before: gpd.GeoDataFrame | None) -> None:
            if before is None:
                raise FacilityNotFound(region, facility_id)
            conn.execute(
                _text("DELETE FROM facilities WHERE region = :r AND id = :id"),
                {"r": region, "id": str(facility_id)},
            )

        return self._edit(FacilityEdit(region, str(facility_id), "delete", actor), change, -1)

    def _edit(
        self,
        edit: FacilityEdit,
        change: Callable[[Connection, gpd.GeoDataFrame | None], None],
        counted: int,
    ) -> AuditEntry:
        """Apply ``change`` and record it, in one transaction; the region's load time moves on.

        Edits and loads of a region take the same advisory lock: an edit waits for another
        edit or a load, up to 10 s, then fails with ``RegionBusy``. ``counted`` is the change
        in the region's number of facilities.
        """
        region, facility_id = edit.region, edit.facility_id

        def work() -> AuditEntry:
            with self.engine.begin() as conn:
                self._edit_lock(conn, region)
                self._require_region(conn, region, "FOR UPDATE")
                before = self._row(conn, region, facility_id)
                change(conn, before)
                conn.execute(_text(_DROP_CACHE_SQL), {"r": region})
                after = self._row(conn, region, facility_id)
                at = (
                    conn.execute(
                        _text("""
                    UPDATE regions SET n_facilities = n_facilities + :d,
                        loaded_at = greatest(clock_timestamp(),
                                             loaded_at + interval '1 microsecond')
                    WHERE name = :r RETURNING loaded_at"""),
                        {"r": region, "d": counted},
                    )
                    .scalar_one()
                    .astimezone(UTC)
                )
                return _append_audit(conn, edit.entry(at, before, after))

        return self._unit(f"changing facility {facility_id!r} of region {region!r}", work)

    def _row(self, conn: Connection, region: str, facility_id: str) -> gpd.GeoDataFrame | None:
        """The facility as a one-row frame, or None (the edit lock keeps it from changing)."""
        if "\x00" in facility_id:  # PostgreSQL text holds no NUL: no such facility
            return None
        frame = _facility_frame(
            _fetch(
                conn,
                f"{_FACILITY_SQL} WHERE region = %(r)s AND id = %(id)s",
                {"r": region, "id": facility_id},
            )
        )
        return None if frame.empty else frame
