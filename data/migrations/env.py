"""Alembic environment: runs the livingcircle migrations on one connection.

``data.postgis.upgrade`` passes an open connection in ``config.attributes["connection"]``;
the ``alembic`` command line works too, with ``-x url=...`` or ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from livingcircle.data.pg_schema import Base

#: any two-int key nobody else uses: serialises concurrent upgrades of one database
_UPGRADE_LOCK = (0x4C43, 0)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=Base.metadata, transaction_per_migration=False
    )
    with context.begin_transaction():
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:a, :b)"),
            {"a": _UPGRADE_LOCK[0], "b": _UPGRADE_LOCK[1]},
        )
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on one made from the URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("no database URL: pass -x url=postgresql://... or set sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run 'livingcircle db upgrade'")
run_migrations_online()
