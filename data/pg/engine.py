"""Database URLs, and one SQLAlchemy engine (pool, timeouts) per URL per process."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from livingcircle.data.pg_timeouts import WATCHDOG, DbTimeouts
from livingcircle.geo.errors import StoreError

_ENGINES: dict[str, Engine] = {}


_ENGINE_TIMEOUTS: dict[str, DbTimeouts] = {}


_CHECKED: set[str] = set()


_ENGINES_LOCK = threading.Lock()


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
