"""Database errors as livingcircle errors: what clients are told, what the operator."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from livingcircle.geo.errors import (
    DatabaseUnavailable,
    LivingCircleError,
    SchemaOutOfDate,
    StoreError,
)

UPGRADE_HINT = "run 'livingcircle db upgrade' (with the same --database or LC_DATABASE_URL)"


SERVER_HINT = (
    "start PostgreSQL and prepare it with 'make postgis' (scripts/ensure-postgis.sh), "
    "or fix --database / LC_DATABASE_URL"
)


@contextmanager
def translate_errors(url: URL, doing: str) -> Iterator[None]:
    """Turn SQLAlchemy and psycopg errors raised inside into livingcircle store errors."""
    try:
        yield
    except LivingCircleError:
        raise
    except (SQLAlchemyError, psycopg.Error) as exc:
        raise _translate(exc, url, doing) from exc


@contextmanager
def on_state(state: str, error: Callable[[], LivingCircleError]) -> Iterator[None]:
    """Raise ``error()`` in place of a database error of SQLSTATE ``state``; others pass on.

    E.g. ``23505`` (a unique key taken) or ``55P03`` (a lock not granted in time).
    """
    try:
        yield
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != state:
            raise
        raise error() from None


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
    error.operator_detail = detail
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
