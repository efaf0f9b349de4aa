"""Bring the database schema up to date with Alembic (``livingcircle db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL

from livingcircle.data.pg.engine import _CHECKED, _ENGINES_LOCK, engine_for, parse_url, safe_url
from livingcircle.data.pg.errors import translate_errors
from livingcircle.data.pg.sql import _text
from livingcircle.geo.errors import SchemaOutOfDate, StoreError

MIGRATIONS = Path(__file__).parent.parent / "migrations"


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
        said = f"{exc} {exc.operator_detail or ''}"  # the server's words: detail
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
