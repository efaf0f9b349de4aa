"""The PostGIS store: regions in a shared PostgreSQL/PostGIS database.

One indexed, queryable record of a district's facilities and walking network, readable by QGIS
and SQL as well as by this tool (tables in :mod:`livingcircle.data.pg_schema`, created by the
Alembic
migrations in ``data/migrations``: ``livingcircle db upgrade``). It answers exactly as the
embedded :class:`livingcircle.data.embedded.FileStore` does; ``tests/contract`` checks that.

- One SQLAlchemy engine per URL per process (psycopg 3), one transaction per unit of work.
- Every database error leaves this module as a :class:`livingcircle.geo.errors.StoreError` (or
  :class:`~livingcircle.geo.errors.DatabaseUnavailable`,
  :class:`~livingcircle.geo.errors.SchemaOutOfDate`) whose message
  names the URL without its password and says what to run.
- A load is one transaction: facilities are COPYed into a staging table, upserted by
  ``(region, source, source_id)`` (so their row keys stay stable), and the ones that vanished
  from the source deleted; the network is replaced whole. A failure anywhere, a killed process
  or a lost connection leaves the previous version untouched. Loads of one region are
  serialised by an advisory lock: a second one raises :class:`~livingcircle.geo.errors.RegionBusy`.
- Facility look-ups by id and name are parameterised queries; a name search is ``ILIKE`` with
  the wildcards of the text escaped.
- A department's change of a facility is one transaction with its ``facility_audit`` row and
  a new ``regions.loaded_at`` (so other API processes rebuild the region); edits of a region
  wait for each other and for a load under the same advisory lock. API keys are kept in
  ``api_keys`` as salted hashes only.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from geopandas.array import GeometryArray
from pyproj import CRS
from sqlalchemy import (
    Connection,
    Engine,
    TextClause,
    create_engine,
    delete,
    event,
    insert,
    null,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from livingcircle.data.pg_schema import (
    SCHEMA_REVISION,
    SRID,
    ApiKeyRow,
    AuditRow,
    CategoryRow,
    RequirementRow,
)
from livingcircle.data.pg_timeouts import GRACE_S, WATCHDOG, DbTimeouts
from livingcircle.geo.audit import (
    GENESIS,
    STORE_LOG,
    ChainReport,
    entry_record,
    import_entry,
    in_column_order,
    key_entry,
    load_entry,
    removal_entry,
    seal,
    verify_chain,
)
from livingcircle.geo.errors import (
    DatabaseUnavailable,
    FacilityExists,
    FacilityNotFound,
    InvalidParameter,
    JobNotFound,
    LivingCircleError,
    RegionBusy,
    RegionNotFound,
    SchemaOutOfDate,
    StoreError,
    UnknownKiosk,
)
from livingcircle.geo.jobs import (
    Job,
    canonical_json,
    check_job_id,
    check_layer_name,
    missing_layer,
)
from livingcircle.geo.keys import SOURCES_KEY, check_owner
from livingcircle.geo.kiosks import Kiosk, check_kiosk_fields
from livingcircle.geo.standards import Standard
from livingcircle.geo.status import FacilityStatus, check_status
from livingcircle.geo.store import (
    FACILITY_COLUMNS,
    ApiKey,
    AuditEntry,
    Bounds,
    FacilityChange,
    FacilityKeep,
    FacilityRecord,
    LoadStats,
    RegionData,
    RegionInfo,
    check_facilities,
    check_record,
    check_region_name,
    facility_json,
    with_facilities,
)
from livingcircle.geo.text import check_edges

__all__ = ["LoadStats", "PostgisStore", "dispose_engines", "parse_url", "safe_url", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")
#: advisory-lock class of region loads ("LC"); the object id is ``hashtext(region)``
LOAD_LOCK = 0x4C43
UPGRADE_HINT = "run 'livingcircle db upgrade' (with the same --database or LC_DATABASE_URL)"
SERVER_HINT = (
    "start PostgreSQL and prepare it with 'make postgis' (scripts/ensure-postgis.sh), "
    "or fix --database / LC_DATABASE_URL"
)
T = TypeVar("T")
_CRS = CRS.from_epsg(SRID)
_ENGINES: dict[str, Engine] = {}
_ENGINE_TIMEOUTS: dict[str, DbTimeouts] = {}
_CHECKED: set[str] = set()
_ENGINES_LOCK = threading.Lock()


# -- URLs and engines -------------------------------------------------------------------------


def parse_url(url: str | URL) -> URL:
    """A database URL, with the psycopg 3 driver when none or another one is named."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"{url!r} is not a database URL; expected "
            "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE"
        ) from exc
    if parsed.get_backend_name() not in ("postgresql", "postgres", "postgis"):
        raise StoreError(
            f"{parsed.render_as_string(hide_password=True)} is not a PostgreSQL URL; expected "
            "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE"
        )
    return parsed.set(drivername="postgresql+psycopg")


def safe_url(url: str | URL) -> str:
    """The URL as text with its password hidden (for messages and logs)."""
    return parse_url(url).render_as_string(hide_password=True)


def engine_for(url: str | URL, timeouts: DbTimeouts | None = None) -> Engine:
    """The engine of ``url`` in this process (created on first use, then shared).

    Its connections carry the connect and statement timeouts of ``timeouts`` (default
    :class:`~livingcircle.data.pg_timeouts.DbTimeouts`), and the store's watchdog follows them.
    """
    parsed = parse_url(url)
    timeouts = timeouts or DbTimeouts()
    key = parsed.render_as_string(hide_password=False)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None or _ENGINE_TIMEOUTS.get(key) != timeouts:
            try:
                engine = create_engine(
                    parsed,
                    pool_recycle=1800,
                    pool_timeout=timeouts.pool_s,
                    connect_args={"application_name": "livingcircle", **timeouts.connect_args()},
                )
            except (ArgumentError, NoSuchModuleError) as exc:
                raise StoreError(f"cannot use database URL {safe_url(parsed)}: {exc}") from exc
            event.listen(engine, "checkout", WATCHDOG.checkout)
            event.listen(engine, "checkin", WATCHDOG.checkin)
            _ENGINES[key], _ENGINE_TIMEOUTS[key] = engine, timeouts
        return engine


def dispose_engines() -> None:
    """Close every pooled connection of this process (tests, before dropping a database)."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _ENGINE_TIMEOUTS.clear()
        _CHECKED.clear()


# -- errors -----------------------------------------------------------------------------------


@contextmanager
def translate_errors(url: URL, doing: str) -> Iterator[None]:
    """Turn SQLAlchemy and psycopg errors raised inside into livingcircle store errors."""
    try:
        yield
    except LivingCircleError:
        raise
    except (SQLAlchemyError, psycopg.Error) as exc:
        raise _translate(exc, url, doing) from exc


def _translate(exc: Exception, url: URL, doing: str) -> StoreError:
    """The livingcircle error of a database error.

    Its message says what is wrong and what to do, without the server's address, user or
    database name (API clients see it); those, with the driver's words, go to
    ``operator_detail`` for the server log and the CLI.
    """
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None) or ""
    reason = _first_line(orig, url)
    error = _public_error(exc, orig, state, reason, doing, url)
    return located(error, f"{url.render_as_string(hide_password=True)}: {reason}")


def _public_error(  # noqa: PLR0911  (one answer per kind of failure)
    exc: Exception, orig: BaseException, state: str, reason: str, doing: str, url: URL
) -> StoreError:
    if state == "3D000" or (not state and "database" in reason and "does not exist" in reason):
        return DatabaseUnavailable(
            "the database named in the settings does not exist; the operator must create it "
            "(createdb) and run 'livingcircle db upgrade --database URL'"
        )
    refused = "authentication failed" in reason or ("role" in reason and "does not exist" in reason)
    if state.startswith("28") or (not state and refused):
        return DatabaseUnavailable(
            "the database refused the service's login; the operator must check the user and "
            "password in --database / LC_DATABASE_URL"
        )
    if isinstance(exc, PoolTimeout):
        return DatabaseUnavailable(
            f"every database connection is busy (while {doing}); try again in a moment, and "
            "tell the service's operator if it lasts"
        )
    if state == "57014":
        return DatabaseUnavailable(
            f"the database took longer than its statement timeout while {doing}; try again "
            "in a moment, and tell the service's operator if it lasts"
        )
    if state.startswith(("08", "57P")) or (
        isinstance(orig, psycopg.OperationalError) and not state
    ):
        return not_answering(doing)
    if state in ("42P01", "42883", "42704"):
        return SchemaOutOfDate(f"the database lacks the livingcircle schema; {UPGRADE_HINT}")
    if state == "42501":
        return StoreError(
            f"the database refused permission while {doing}; the operator must grant the "
            "service's role access to the livingcircle tables"
        )
    return StoreError(f"database error while {doing}: {_scrub(reason, url)}")


def not_answering(doing: str, seconds: float | None = None) -> DatabaseUnavailable:
    """The database is down or does not answer: what a client is told."""
    within = "" if seconds is None else f" within {seconds:g} s"
    return DatabaseUnavailable(
        f"the database is not answering{within} (while {doing}); try again in a minute, and "
        f"tell the service's operator if it lasts (operator: {SERVER_HINT})"
    )


E = TypeVar("E", bound=LivingCircleError)


def located(error: E, detail: str) -> E:
    """``error`` with ``operator_detail``: where and why, for the server log and the CLI only."""
    error.operator_detail = detail  # type: ignore[attr-defined]
    return error


def _scrub(reason: str, url: URL) -> str:
    """The server's words without the user, host, port or database name."""
    for word in sorted(
        {str(w) for w in (url.database, url.username, url.host, url.port) if w}, key=len
    )[::-1]:
        reason = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", "***", reason)
    return reason


def _first_line(exc: BaseException, url: URL) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    message = message.removeprefix("connection failed: ").replace("FATAL:  ", "")
    if url.password:
        message = message.replace(str(url.password), "***")
    return message


_KEY_COLUMNS = "key_id, owner, salt, digest, created_at, role, expires_at, revoked_at, last_used_at"


def _api_key(row: Any) -> ApiKey:
    def utc(value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    return ApiKey(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4].astimezone(UTC),
        row[5],
        expires_at=utc(row[6]),
        revoked_at=utc(row[7]),
        last_used_at=utc(row[8]),
    )


def _no_key(key_id: str) -> InvalidParameter:
    return InvalidParameter(f"there is no API key {key_id!r}; see 'livingcircle keys list'")


# -- migrations -------------------------------------------------------------------------------


def upgrade(url: str | URL, revision: str = "head") -> str:
    """Bring the database schema up to ``revision`` with Alembic; returns the revision now.

    Raises
    ------
    StoreError
        The server is unreachable, or the role may not create the ``postgis`` extension.
    """
    from alembic import command  # noqa: PLC0415  (only for migrations)
    from alembic.config import Config  # noqa: PLC0415
    from alembic.util.exc import CommandError  # noqa: PLC0415

    parsed = parse_url(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with translate_errors(parsed, "upgrading the schema"), engine_for(parsed).begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            now = conn.execute(_text("SELECT version_num FROM alembic_version")).scalar_one()
    except StoreError as exc:
        said = f"{exc} {getattr(exc, 'operator_detail', '')}"  # the server's words: detail
        if "extension" in said and "permission denied" in said:
            raise StoreError(
                f"{exc}; the postgis extension needs a superuser: run "
                f'"CREATE EXTENSION postgis" in database {parsed.database!r} as postgres '
                "(scripts/ensure-postgis.sh does it for the local template), then upgrade again"
            ) from exc
        raise
    except CommandError as exc:
        raise SchemaOutOfDate(
            f"cannot upgrade the schema at {safe_url(parsed)}: {exc}; if a newer livingcircle "
            "made it, upgrade livingcircle"
        ) from exc
    with _ENGINES_LOCK:
        _CHECKED.discard(parsed.render_as_string(hide_password=False))
    return str(now)


# -- the store --------------------------------------------------------------------------------


class PostgisStore:
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

    def __init__(self, url: str | URL, timeouts: DbTimeouts | None = None) -> None:
        self.url = parse_url(url)
        self.timeouts = timeouts or DbTimeouts()
        self.engine = engine_for(self.url, self.timeouts)
        # one-statement reads need no BEGIN/ROLLBACK round trips
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.last_load: LoadStats | None = None
        self._check_schema()

    def __repr__(self) -> str:
        return f"PostgisStore({safe_url(self.url)!r})"

    # -- regions -------------------------------------------------------------------------

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
        (their row keys stay), new ones inserted, vanished ones deleted. :attr:`last_load`
        counts them, and the load returns them. ``keep`` (see
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
                stats = _merge_facilities(conn, name, out.facilities)
                _replace_network(conn, name, out.nodes, out.edges)
                # fresh row counts: the planner keeps to the KNN index after a first load
                conn.execute(_text("ANALYZE facilities (region, category)"))
                _append_audit(conn, load_entry(out, stored, None if old is None else _info(old)))
            return stats

        self.last_load = self._unit(f"loading region {name!r}", work, bulk=True)
        return self.last_load

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
        :attr:`last_load` counts the rows when something was written (and they are returned;
        None when ``change`` gave None). The audit log records
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

        stats = self._unit(f"updating the facilities of region {region!r}", work, bulk=True)
        if stats is not None:
            self.last_load = stats
        return stats

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

    def save_standard(self, standard: Standard) -> bool:
        """Replace the ``categories`` and ``tier_requirements`` tables with ``standard``'s."""
        categories = [
            {
                "id": c.id,
                "position": i,
                "label_en": c.label_en,
                "label_zh": c.label_zh,
                "color": c.color,
                "icon": c.icon,
            }
            for i, c in enumerate(standard.categories)
        ]
        requirements = [
            {
                "standard": standard.name,
                "tier_minutes": t.minutes,
                "tier_distance_m": t.distance_m,
                "tier_label_en": t.label_en,
                "tier_label_zh": t.label_zh,
                "requirement": r.id,
                "label_en": r.label_en,
                "label_zh": r.label_zh,
                "categories": list(r.categories),
                "radius_m": r.radius_m,
            }
            for t in standard.tiers
            for r in t.requirements
        ]

        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(delete(RequirementRow))
                conn.execute(delete(CategoryRow))
                if categories:
                    conn.execute(insert(CategoryRow).values(categories))
                if requirements:
                    conn.execute(insert(RequirementRow).values(requirements))

        self._unit("saving the standard", work)
        return True

    # -- facilities ----------------------------------------------------------------------

    def facilities(
        self,
        region: str,
        bbox: Bounds | None = None,
        categories: list[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> gpd.GeoDataFrame:
        """Facilities whose bounding box meets ``bbox``, in ``categories``, by id, one page."""
        where, params = _bbox_filters(region, bbox, categories)
        sql = f"{_FACILITY_SQL} WHERE {where} ORDER BY id LIMIT %(limit)s OFFSET %(offset)s"
        params.update(limit=max(int(limit), 0), offset=max(int(offset), 0))
        return self._facility_query(region, sql, params)

    # -- facility look-ups and edits (the API's) -----------------------------------------

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

    def find_facilities(
        self,
        region: str,
        bbox: Bounds | None = None,
        categories: list[str] | None = None,
        text: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> gpd.GeoDataFrame:
        """As :meth:`facilities`, also matching ``text`` in any name (case-insensitive).

        ``text`` is taken literally: percent signs, underscores and backslashes in it match
        themselves (escaped for ILIKE).
        """
        where, params = _bbox_filters(region, bbox, categories)
        if text and "\x00" in text:  # PostgreSQL text holds no NUL: no name has one
            where += " AND false"
        elif text:
            where += (
                " AND (name ILIKE %(q)s ESCAPE '\\' OR name_zh ILIKE %(q)s ESCAPE '\\'"
                " OR name_en ILIKE %(q)s ESCAPE '\\')"
            )
            params["q"] = f"%{_like_escape(str(text))}%"
        sql = f"{_FACILITY_SQL} WHERE {where} ORDER BY id LIMIT %(limit)s OFFSET %(offset)s"
        params.update(limit=max(int(limit), 0), offset=max(int(offset), 0))
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
            try:
                conn.execute(
                    _text(_INSERT_FACILITY_SQL if create else _UPDATE_FACILITY_SQL), values
                )
            except IntegrityError as exc:  # (source, source_id) of another facility
                if getattr(exc.orig, "sqlstate", None) != "23505":
                    raise
                raise FacilityExists(
                    f"facility {record.id!r} cannot be saved in region {region!r}: another "
                    f"facility already has source {record.source!r} and source_id "
                    f"{record.source_id!r}"
                ) from None

        return self._edit(
            region, record.id, action, actor, change, {"create": 1, "update": 0}[action]
        )

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

        return self._edit(region, str(facility_id), "delete", actor, change, -1)

    def audit(self, region: str, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """Recorded changes of a region (or the store's keys: ``STORE_LOG``), newest first."""
        if region != STORE_LOG:
            check_region_name(region)

        def work() -> list[AuditEntry]:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    _text(
                        f"SELECT {_AUDIT_COLUMNS} FROM facility_audit WHERE region = :r "
                        "ORDER BY seq DESC LIMIT :limit OFFSET :offset"
                    ),
                    {"r": region, "limit": max(int(limit), 0), "offset": max(int(offset), 0)},
                ).all()
            return [_audit_entry(r) for r in rows]

        return self._unit(f"reading the audit log of {region!r}", work)

    def audit_logs(self) -> list[str]:
        """Every log kept: the regions with entries (removed ones too) and ``STORE_LOG``."""

        def work() -> list[str]:
            with self._reader.connect() as conn:
                return list(
                    conn.execute(
                        _text('SELECT DISTINCT region COLLATE "C" FROM facility_audit ORDER BY 1')
                    ).scalars()
                )

        return self._unit("listing the audit logs", work)

    def check_audit(self, log: str) -> ChainReport:
        """Check a log's chain row by row, in the order the rows were written (``id``)."""

        def work() -> list[tuple[str, dict[str, Any]]]:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    _text(
                        f"SELECT id, {_AUDIT_COLUMNS} FROM facility_audit WHERE region = :r "
                        "ORDER BY id"
                    ),
                    {"r": log},
                ).all()
            return [
                (f"row id {r[0]}", entry_record(_audit_entry(r[1:], ordered=False))) for r in rows
            ]

        return verify_chain(log, self._unit(f"checking the audit log of {log!r}", work))

    def add_api_key(self, key: ApiKey) -> None:
        """Keep a new key's record (its hash; never the secret); its owner must be no source."""
        check_owner(key.owner, self.import_sources())
        created = key.created_at if key.created_at.tzinfo else key.created_at.replace(tzinfo=UTC)

        def work() -> None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(ApiKeyRow).values(
                            key_id=key.key_id,
                            owner=key.owner,
                            salt=key.salt,
                            digest=key.digest,
                            created_at=created,
                            role=key.role,
                            expires_at=key.expires_at,
                            revoked_at=key.revoked_at,
                            last_used_at=key.last_used_at,
                        )
                    )
                    _append_audit(conn, key_entry("key-add", None, key))
            except IntegrityError as exc:
                if getattr(exc.orig, "sqlstate", None) != "23505":
                    raise
                raise InvalidParameter(
                    f"there is already an API key {key.key_id!r}; make "
                    "another with 'livingcircle keys add'"
                ) from None

        self._unit("adding an API key", work)

    def api_keys(self) -> list[ApiKey]:
        """Every key, oldest first (revoked ones too)."""

        def work() -> list[ApiKey]:
            with self._reader.connect() as conn:
                rows = conn.execute(_text(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY id")).all()
            return [_api_key(r) for r in rows]

        return self._unit("reading the API keys", work)

    def remove_api_key(self, key_id: str) -> None:
        """Delete a key's record (``revoke_api_key`` keeps it)."""

        def work() -> None:
            with self.engine.begin() as conn:
                gone = conn.execute(
                    _text(f"DELETE FROM api_keys WHERE key_id = :k RETURNING {_KEY_COLUMNS}"),
                    {"k": str(key_id)},
                ).first()
                if gone is None:
                    raise _no_key(key_id)
                _append_audit(conn, key_entry("key-revoke", _api_key(gone), None))

        self._unit("removing an API key", work)

    def revoke_api_key(self, key_id: str) -> ApiKey:
        """Mark a key revoked now (the record stays); returns it."""

        def work() -> ApiKey:
            with self.engine.begin() as conn:
                was = conn.execute(
                    _text(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_id = :k FOR UPDATE"),
                    {"k": str(key_id)},
                ).first()
                row = conn.execute(
                    _text(
                        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
                        f"WHERE key_id = :k RETURNING {_KEY_COLUMNS}"
                    ),
                    {"k": str(key_id)},
                ).first()
                if row is None or was is None:
                    raise _no_key(key_id)
                before, after = _api_key(was), _api_key(row)
                if before.revoked_at is None:
                    _append_audit(conn, key_entry("key-revoke", before, after))
            return after

        return self._unit("revoking an API key", work)

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        """Record a key's last use (ignored for an unknown id)."""

        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(
                    _text(
                        "UPDATE api_keys SET last_used_at = :at WHERE key_id = :k "
                        "AND (last_used_at IS NULL OR last_used_at < :at)"
                    ),
                    {"k": str(key_id), "at": at},
                )

        self._unit("recording a key's use", work)

    def import_sources(self) -> set[str]:
        """The sources named in the facilities' ``lc:sources``."""

        def work() -> set[str]:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    _text(
                        "SELECT DISTINCT e ->> 'source' FROM facilities, jsonb_array_elements("
                        "CASE WHEN jsonb_typeof(tags -> :k) = 'array' THEN tags -> :k "
                        "ELSE '[]'::jsonb END) AS e WHERE tags ? :k"
                    ),
                    {"k": SOURCES_KEY},
                ).all()
            return {str(r[0]) for r in rows if r[0] is not None}

        return self._unit("reading the imported sources", work)

    # -- live statuses and kiosks -------------------------------------------------------

    def set_status(self, region: str, status: FacilityStatus, actor: str) -> AuditEntry:
        """Keep a facility's status and its audit entry in one transaction (no load waits)."""
        check_region_name(region)
        status = replace(check_status(status, datetime.now(UTC)), actor=actor)

        def work() -> AuditEntry:
            with self.engine.begin() as conn:
                if (
                    conn.execute(
                        _text("SELECT 1 FROM regions WHERE name = :r FOR KEY SHARE"), {"r": region}
                    ).first()
                    is None
                ):
                    raise RegionNotFound(region, self._names(conn))
                category = (
                    None
                    if "\x00" in status.facility_id
                    else conn.execute(
                        _text("SELECT category FROM facilities WHERE region = :r AND id = :id"),
                        {"r": region, "id": status.facility_id},
                    ).scalar()
                )
                if category is None:
                    raise FacilityNotFound(region, status.facility_id)
                kept = replace(status, category=category)
                old = conn.execute(
                    _text(_STATUS_SQL + " AND facility_id = :id FOR UPDATE"),
                    {"r": region, "id": status.facility_id},
                ).first()
                values = {"region": region, **{f: getattr(kept, f) for f in _STATUS_COLUMNS}}
                conn.execute(_text(_UPSERT_STATUS_SQL), values)
                at = conn.execute(_text("SELECT clock_timestamp()")).scalar_one().astimezone(UTC)
                entry = AuditEntry(
                    region,
                    status.facility_id,
                    "status",
                    actor,
                    at,
                    None if old is None else _status(old).to_json(),
                    kept.to_json(),
                )
                entry = _append_audit(conn, entry)
            return entry

        return self._unit(f"keeping the status of {status.facility_id!r} in {region!r}", work)

    def statuses(self, region: str) -> list[FacilityStatus]:
        """Every facility's last status in the region, by facility id."""
        check_region_name(region)

        def work() -> list[FacilityStatus]:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    _text(_STATUS_SQL + ' ORDER BY facility_id COLLATE "C"'), {"r": region}
                ).all()
                if (
                    not rows
                    and conn.execute(
                        _text("SELECT 1 FROM regions WHERE name = :r"), {"r": region}
                    ).first()
                    is None
                ):
                    raise RegionNotFound(region, self._names(conn))
            return [_status(r) for r in rows]

        return self._unit(f"reading the statuses of {region!r}", work)

    def save_kiosk(self, kiosk: Kiosk) -> None:
        """Keep a kiosk, replacing one with the same id."""
        check_kiosk_fields(kiosk)

        def work() -> None:
            with self.engine.begin() as conn:
                if (
                    conn.execute(
                        _text("SELECT 1 FROM regions WHERE name = :r"), {"r": kiosk.region}
                    ).first()
                    is None
                ):
                    raise RegionNotFound(kiosk.region, self._names(conn))
                conn.execute(
                    _text(_UPSERT_KIOSK_SQL), asdict(kiosk) | {"categories": list(kiosk.categories)}
                )

        self._unit(f"keeping kiosk {kiosk.id!r}", work)

    def kiosks(self) -> list[Kiosk]:
        """Every kept kiosk, by id."""

        def work() -> list[Kiosk]:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    _text(f'SELECT {", ".join(_KIOSK_COLUMNS)} FROM kiosks ORDER BY id COLLATE "C"')
                ).all()
            return [Kiosk(**{**r._asdict(), "categories": tuple(r.categories)}) for r in rows]

        return self._unit("reading the kiosks", work)

    def remove_kiosk(self, kiosk_id: str) -> None:
        """Forget a kiosk; raises ``UnknownKiosk``."""

        def work() -> None:
            with self.engine.begin() as conn:
                gone = conn.execute(_text("DELETE FROM kiosks WHERE id = :k"), {"k": str(kiosk_id)})
                if gone.rowcount == 0:
                    kept = conn.execute(_text("SELECT id FROM kiosks")).scalars().all()
                    raise UnknownKiosk(kiosk_id, kept)

        self._unit(f"removing kiosk {kiosk_id!r}", work)

    # -- planner jobs ----------------------------------------------------------------

    def create_job(self, job: Job) -> tuple[Job, bool]:
        """Insert the job unless its id is kept (``ON CONFLICT DO NOTHING``)."""
        check_job_id(job.id)

        def work() -> bool:
            with self.engine.begin() as conn:
                made = conn.execute(
                    _text(
                        f"INSERT INTO jobs ({', '.join(_JOB_COLUMNS)}) VALUES ({_JOB_BINDS}) "
                        "ON CONFLICT (id) DO NOTHING RETURNING id"
                    ),
                    _job_values(job),
                ).first()
            return made is not None

        if self._unit(f"keeping job {job.id}", work):
            return job, True
        return self.job(job.id), False

    def save_job(self, job: Job) -> None:
        """Update the job's row."""

        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(
                    _text(
                        "UPDATE jobs SET state = :state, progress = CAST(:progress AS jsonb), "
                        "summary = CAST(:summary AS jsonb), error = :error, "
                        "updated_at = :updated_at WHERE id = :id"
                    ),
                    _job_values(job),
                )

        self._unit(f"keeping job {job.id}", work)

    def job(self, job_id: str) -> Job:
        """The job's row."""
        check_job_id(job_id)

        def work() -> Any:
            with self._reader.connect() as conn:
                return conn.execute(
                    _text(f"SELECT {', '.join(_JOB_COLUMNS)} FROM jobs WHERE id = :id"),
                    {"id": job_id},
                ).first()

        row = self._unit(f"reading job {job_id}", work)
        if row is None:
            raise JobNotFound(
                f"there is no job {job_id!r}; submit one with POST /v1/regions/{{region}}/analyses"
            )
        values = dict(zip(_JOB_COLUMNS, row, strict=True))
        return Job(
            **(
                values
                | {"created_at": row[-2].astimezone(UTC), "updated_at": row[-1].astimezone(UTC)}
            )
        )

    def save_job_layers(self, job_id: str, layers: Mapping[str, bytes]) -> None:
        """Upsert each layer's bytes into ``job_layers``, all in one transaction."""
        check_job_id(job_id)
        rows = [{"j": job_id, "n": check_layer_name(n), "p": d} for n, d in layers.items()]

        def work() -> None:
            with self.engine.begin() as conn:
                for row in rows:
                    conn.execute(
                        _text(
                            "INSERT INTO job_layers (job_id, name, parquet) VALUES (:j, :n, :p) "
                            "ON CONFLICT (job_id, name) DO UPDATE SET parquet = EXCLUDED.parquet"
                        ),
                        row,
                    )

        self._unit(f"keeping the layers of job {job_id}", work)

    def job_layer(self, job_id: str, name: str) -> bytes:
        """One layer's bytes from ``job_layers``."""
        check_job_id(job_id)
        check_layer_name(name)

        def work() -> Any:
            with self._reader.connect() as conn:
                return conn.execute(
                    _text("SELECT name, parquet FROM job_layers WHERE job_id = :j"), {"j": job_id}
                ).all()

        rows = {r[0]: r[1] for r in self._unit(f"reading job {job_id}", work)}
        if name in rows:
            return bytes(rows[name])
        self.job(job_id)
        raise missing_layer(job_id, name, rows)

    def _edit(
        self,
        region: str,
        facility_id: str,
        action: str,
        actor: str,
        change: Callable[[Connection, gpd.GeoDataFrame | None], None],
        counted: int,
    ) -> AuditEntry:
        """Apply ``change`` and record it, in one transaction; the region's load time moves on.

        Edits and loads of a region take the same advisory lock: an edit waits for another
        edit or a load, up to 10 s, then fails with ``RegionBusy``. ``counted`` is the change
        in the region's number of facilities.
        """

        def work() -> AuditEntry:
            with self.engine.begin() as conn:
                self._edit_lock(conn, region)
                if (
                    conn.execute(
                        _text("SELECT 1 FROM regions WHERE name = :r FOR UPDATE"), {"r": region}
                    ).first()
                    is None
                ):
                    raise RegionNotFound(region, self._names(conn))
                before = self._row(conn, region, facility_id)
                change(conn, before)
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
                entry = AuditEntry(
                    region,
                    facility_id,
                    action,
                    actor,
                    at,
                    None if before is None else facility_json(before),
                    None if after is None else facility_json(after),
                )
                entry = _append_audit(conn, entry)
            return entry

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

    def _edit_lock(self, conn: Connection, name: str) -> None:
        conn.execute(_text("SET LOCAL lock_timeout = '10s'"))
        try:
            conn.execute(
                _text("SELECT pg_advisory_xact_lock(:c, hashtext(:r))"), {"c": LOAD_LOCK, "r": name}
            )
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03":
                raise
            raise RegionBusy(
                f"region {name!r} is being loaded or changed by another process; wait for it "
                "to finish, then try again"
            ) from None
        conn.execute(_text("SET LOCAL lock_timeout = 0"))

    # -- internals -----------------------------------------------------------------------

    def _errors(self, doing: str) -> Any:
        return translate_errors(self.url, doing)

    def _unit(self, doing: str, work: Callable[[], T], bulk: bool = False) -> T:
        """Run one unit of work, errors translated; once more if a pooled connection was dead.

        The pool does not ping connections on checkout (a round trip per query); a connection
        the server dropped meanwhile (restart, idle timeout) fails on first use instead, and
        SQLAlchemy invalidates the pool. Every unit is a single transaction or a read, and a
        load is idempotent, so running it again on a fresh connection is safe.

        The unit is cut when the database does not answer within the statement timeout (the
        load timeout when ``bulk``), plus a grace: then it fails with ``DatabaseUnavailable``.
        """
        limit = self.timeouts.load_s if bulk else self.timeouts.statement_s
        with WATCHDOG.unit(limit + GRACE_S) as unit:
            try:
                return self._attempts(doing, work)
            except LivingCircleError as exc:
                if unit.cut:
                    raise located(not_answering(doing, limit), safe_url(self.url)) from exc
                raise

    def _attempts(self, doing: str, work: Callable[[], T]) -> T:
        with self._errors(doing):
            try:
                return work()
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
            except _ConnectionLost:
                pass
            try:
                return work()
            except _ConnectionLost as exc:
                raise exc.error from None

    def _facility_query(self, region: str, sql: str, params: dict[str, Any]) -> gpd.GeoDataFrame:
        return _facility_frame(self._rows(region, sql, params))

    def _rows(self, region: str, sql: str, params: dict[str, Any]) -> Sequence[Any]:
        """Rows of one query (psycopg placeholders), straight from the driver: the hot path."""

        def work() -> Sequence[Any]:
            with self._reader.connect() as conn:
                rows = _fetch(conn, sql, params)
                if not rows and not _fetch(
                    conn, "SELECT 1 FROM regions WHERE name = %(r)s", {"r": region}
                ):
                    raise RegionNotFound(region, self._names(conn))
            return rows

        return self._unit(f"querying region {region!r}", work)

    def _names(self, conn: Connection) -> list[str]:
        return list(
            conn.execute(_text('SELECT name FROM regions ORDER BY name COLLATE "C"')).scalars()
        )

    def check_not_busy(self, name: str) -> None:
        """Raise ``RegionBusy`` now if a load of ``name`` runs (before a long read)."""
        check_region_name(name)

        def work() -> None:
            with self.engine.begin() as conn:
                self._lock(conn, name)

        self._unit(f"checking region {name!r}", work)

    def _lock(self, conn: Connection, name: str) -> None:
        got = conn.execute(
            _text("SELECT pg_try_advisory_xact_lock(:c, hashtext(:r))"), {"c": LOAD_LOCK, "r": name}
        ).scalar_one()
        if not got:
            raise located(
                RegionBusy(
                    f"region {name!r} is being loaded by another process; wait for it to "
                    "finish, then try again"
                ),
                safe_url(self.url),
            )

    def _check_schema(self) -> None:
        key = self.url.render_as_string(hide_password=False)
        if key in _CHECKED:
            return
        where = safe_url(self.url)

        def work() -> Any:
            with self._reader.connect() as conn:
                if conn.execute(_text("SELECT to_regclass('alembic_version')")).scalar() is None:
                    raise located(
                        SchemaOutOfDate(
                            f"the database has no livingcircle schema yet; {UPGRADE_HINT}"
                        ),
                        where,
                    )
                return conn.execute(_text("SELECT version_num FROM alembic_version")).scalar()

        found = self._unit("opening the store", work)
        if found != SCHEMA_REVISION:
            raise located(
                SchemaOutOfDate(
                    f"the database has schema revision {found}, this livingcircle needs "
                    f"{SCHEMA_REVISION}; {UPGRADE_HINT} (if a newer livingcircle made it, upgrade "
                    "livingcircle instead)"
                ),
                where,
            )
        with _ENGINES_LOCK:
            _CHECKED.add(key)


# -- SQL --------------------------------------------------------------------------------------

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


def _job_values(job: Job) -> dict[str, Any]:
    """A job's columns as bind values (JSONB as JSON text)."""
    values = {c: getattr(job, c) for c in _JOB_COLUMNS}
    for column in ("inputs", "progress", "summary"):
        values[column] = None if values[column] is None else canonical_json(values[column])
    return values


_REGION_SQL = (
    "SELECT name, source, loaded_at, west, south, east, north, n_nodes, n_edges, "
    "n_facilities FROM regions"
)
_NODES_SQL = (
    "SELECT node, osmid, ST_X(geom), ST_Y(geom) FROM walk_nodes WHERE region = %(r)s ORDER BY node"
)
_EDGES_SQL = (
    "SELECT edge, source, target, length_m, oneway, way_id, highway, name, "
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


def _status(row: Sequence[Any]) -> FacilityStatus:
    values = dict(zip(_STATUS_COLUMNS, row, strict=True))
    for name in ("closed_until", "updated_at"):
        if values[name] is not None:
            values[name] = values[name].astimezone(UTC)
    return FacilityStatus(**values)


def _fetch(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Rows as plain tuples from psycopg (``%(name)s`` placeholders), in ``conn``'s transaction.

    Bulk reads and the per-request queries skip SQLAlchemy's statement and row objects.
    """
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    try:
        with raw.cursor() as cur:
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


# -- reading ----------------------------------------------------------------------------------


def _info(row: Sequence[Any]) -> RegionInfo:
    name, source, loaded_at, w, s, e, n, n_nodes, n_edges, n_facilities = row
    return RegionInfo(
        name, source, loaded_at.astimezone(UTC), (w, s, e, n), n_nodes, n_edges, n_facilities
    )


def _columns(rows: Sequence[Sequence[Any]], n: int) -> list[list[Any]]:
    """Rows to ``n`` columns (one transposition, in C)."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(n)]


def _strings(values: list[Any]) -> pd.Series:
    return pd.Series(values, dtype="str")


def _wkb(values: list[Any]) -> Any:
    return shapely.from_wkb(np.array(values, dtype=object)) if values else np.empty(0, dtype=object)


@lru_cache(maxsize=256)
def _text(sql: str) -> TextClause:
    return text(sql)


def _nodes_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    node, osmid, lon, lat = _columns(rows, 4)
    return pd.DataFrame(
        {
            "node": np.array(node, dtype=np.int32),
            "osmid": np.array(osmid, dtype=np.int64),
            "lon": np.array(lon, dtype=np.float64),
            "lat": np.array(lat, dtype=np.float64),
        }
    )


def _edges_frame(rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
    edge, u, v, length, oneway, way, highway, name, wkb = _columns(rows, 9)
    return gpd.GeoDataFrame(
        {
            "edge": np.array(edge, dtype=np.int32),
            "u": np.array(u, dtype=np.int32),
            "v": np.array(v, dtype=np.int32),
            "length_m": np.array(length, dtype=np.float64),
            "oneway": np.array(oneway, dtype=bool),
            "way_id": np.array(way, dtype=np.int64),
            "highway": _strings(highway),
            "name": _strings(name),
        },
        geometry=GeometryArray(_wkb(wkb), crs=_CRS),
    )


def _facility_frame(
    rows: Sequence[Sequence[Any]], geoms: Any = None, straight_m: Any = None
) -> gpd.GeoDataFrame:
    """Rows of ``_FACILITY_SQL`` as the embedded store's frame (same columns and dtypes)."""
    values = _columns(rows, len(FACILITY_COLUMNS) + 1)
    columns: dict[str, Any] = dict(zip(FACILITY_COLUMNS, values, strict=False))
    columns["tags"] = [_tags_text(t) for t in columns["tags"]]
    if geoms is None:
        geoms = _wkb(values[-1])
    columns["geometry"] = GeometryArray(np.asarray(geoms, dtype=object), crs=_CRS)
    for c in FACILITY_COLUMNS:  # an empty or all-null list would not be inferred as str
        if not any(isinstance(v, str) for v in columns[c]):
            columns[c] = pd.array(columns[c], dtype="str")
    if straight_m is not None:
        columns["straight_m"] = np.asarray(straight_m, dtype=np.float64)
    return gpd.GeoDataFrame(pd.DataFrame(columns), geometry="geometry")


def _tags_text(value: str | None) -> str | None:
    """Tags as the loaders write them (see ``_TAGS_SQL``)."""
    if value is None or not value.startswith("!"):
        return value
    return json.dumps(json.loads(value[1:]), ensure_ascii=False, sort_keys=True)


# -- writing ----------------------------------------------------------------------------------

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


_AUDIT_COLUMNS = "region, facility_id, action, actor, at, before, after, seq, prev_hash, hash"
#: advisory-lock class of appends to an audit log ("LA"); the object id is ``hashtext(log)``
AUDIT_LOCK = 0x4C41


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
    conn.execute(
        insert(AuditRow).values(
            region=sealed.region,
            facility_id=sealed.facility_id,
            action=sealed.action,
            actor=sealed.actor,
            at=sealed.at,
            before=null() if sealed.before is None else sealed.before,
            after=null() if sealed.after is None else sealed.after,
            seq=sealed.seq,
            prev_hash=sealed.prev,
            hash=sealed.hash,
        )
    )
    return sealed


def _audit_entry(row: Sequence[Any], ordered: bool = True) -> AuditEntry:
    """A row of ``_AUDIT_COLUMNS`` as an entry (JSON keys in column order when ``ordered``)."""
    tidy = in_column_order if ordered else (lambda raw: raw)
    return AuditEntry(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4].astimezone(UTC),
        tidy(row[5]),
        tidy(row[6]),
        int(row[7]),
        row[8],
        row[9],
    )


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


_STAGE_COLUMNS = [*FACILITY_COLUMNS, "geom", "anchor", "min_lon", "min_lat", "max_lon", "max_lat"]
#: a row is rewritten on reload only if one of these changed (bounds follow the geometry)
_COMPARED = [c for c in _STAGE_COLUMNS if not c.startswith(("min_", "max_"))]


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
        ["region", "node", "osmid", "geom"],
        [
            [region] * n,
            _ints(nodes["node"]),
            _ints(nodes["osmid"]),
            _geoms(shapely.points(nodes["lon"].to_numpy(), nodes["lat"].to_numpy())),
        ],
    )
    length = edges["length_m"].to_numpy(dtype=np.float64)
    oneway = edges["oneway"].to_numpy(dtype=bool)
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


# -- COPY -------------------------------------------------------------------------------------

_NULL = "\\N"
_ESCAPE_PAIRS = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_ESCAPES = str.maketrans(dict(_ESCAPE_PAIRS))
_SPECIAL = r"[\\\t\n\r]"
_SRID_PREFIX = f"SRID={SRID};"  # PostGIS reads EWKT's prefix before hex WKB too
_CHUNK_ROWS = 20_000


def copy_rows(conn: Connection, table: str, columns: list[str], values: list[list[str]]) -> None:
    """COPY columns of values (already in COPY text form) into ``table`` on ``conn``."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    rows = list(zip(*values, strict=True))
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for start in range(0, len(rows), _CHUNK_ROWS):
            chunk = rows[start : start + _CHUNK_ROWS]
            copy.write("".join("\t".join(r) + "\n" for r in chunk))


def _texts(values: Iterable[Any]) -> list[str]:
    if isinstance(values, pd.Series):  # vectorised: escapes only where needed
        text = values if isinstance(values.dtype, pd.StringDtype) else values.astype("str")
        if bool(text.str.contains(_SPECIAL, regex=True).fillna(False).any()):
            for char, escaped in _ESCAPE_PAIRS:
                text = text.str.replace(char, escaped, regex=False)
        return list(text.fillna(_NULL).tolist())
    return [
        v.translate(_ESCAPES)
        if isinstance(v, str)
        else _NULL
        if v is None or bool(pd.isna(v))
        else str(v).translate(_ESCAPES)
        for v in values
    ]


def _ints(values: pd.Series) -> list[str]:
    return list(map(str, values.to_numpy(dtype=np.int64).tolist()))


def _floats(values: Any) -> list[str]:
    return list(map(repr, np.asarray(values, dtype=np.float64).tolist()))


def _geoms(geoms: Any) -> list[str]:
    hexes = shapely.to_wkb(np.asarray(geoms, dtype=object), hex=True).tolist()
    return [_NULL if h is None else _SRID_PREFIX + h for h in hexes]
