"""The store's hold on its database: units of work, locks and the schema check.

A unit of work has its errors translated, runs once more on a dropped connection, and is
cut by the watchdog when the database does not answer in time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import geopandas as gpd
from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from livingcircle.data.pg.engine import _CHECKED, _ENGINES_LOCK, engine_for, parse_url, safe_url
from livingcircle.data.pg.errors import (
    UPGRADE_HINT,
    located,
    not_answering,
    on_state,
    translate_errors,
)
from livingcircle.data.pg.rows import _facility_frame
from livingcircle.data.pg.sql import LOAD_LOCK, _ConnectionLost, _fetch, _text
from livingcircle.data.pg_schema import SCHEMA_REVISION
from livingcircle.data.pg_timeouts import GRACE_S, WATCHDOG, DbTimeouts
from livingcircle.geo.errors import LivingCircleError, RegionBusy, RegionNotFound, SchemaOutOfDate
from livingcircle.geo.store import check_region_name

T = TypeVar("T")


class Database:
    """A PostGIS database the store works in (its URL, engine, timeouts and units of work)."""

    def __init__(self, url: str | URL, timeouts: DbTimeouts | None = None) -> None:
        self.url = parse_url(url)
        self.timeouts = timeouts or DbTimeouts()
        self.engine = engine_for(self.url, self.timeouts)
        # one-statement reads need no BEGIN/ROLLBACK round trips
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._check_schema()

    def __repr__(self) -> str:
        return f"PostgisStore({safe_url(self.url)!r})"

    def _edit_lock(self, conn: Connection, name: str) -> None:
        conn.execute(_text("SET LOCAL lock_timeout = '10s'"))
        busy = RegionBusy(
            f"region {name!r} is being loaded or changed by another process; wait for it "
            "to finish, then try again"
        )
        with on_state("55P03", lambda: busy):
            conn.execute(
                _text("SELECT pg_advisory_xact_lock(:c, hashtext(:r))"), {"c": LOAD_LOCK, "r": name}
            )
        conn.execute(_text("SET LOCAL lock_timeout = 0"))

    def _errors(self, doing: str) -> Any:
        return translate_errors(self.url, doing)

    def _write(
        self, doing: str, sql: str, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> None:
        """Run one statement, once for each of a list of ``params``, as one transaction."""

        def work() -> None:
            with self.engine.begin() as conn:
                conn.execute(_text(sql), params)

        self._unit(doing, work)

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

    def _require_region(self, conn: Connection, region: str, lock: str = "") -> None:
        """Raise ``RegionNotFound`` unless ``region`` is loaded; ``lock``: ``FOR UPDATE``..."""
        found = conn.execute(_text(f"SELECT 1 FROM regions WHERE name = :r {lock}"), {"r": region})
        if found.first() is None:
            raise RegionNotFound(region, self._names(conn))

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
