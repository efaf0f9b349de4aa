"""Timeouts of the PostGIS store: the server's own, and ours for a server that does not answer.

PostgreSQL ends a statement that runs longer than ``statement_timeout`` itself, and libpq
gives up connecting after ``connect_timeout``. Neither helps when the server does not answer
at all (a frozen host, a stopped process, a network that drops packets): the kernel keeps the
connection open and the query waits forever. :class:`Watchdog` covers that case: every unit
of work of the store runs under a deadline, and a unit that overruns it has the sockets of its
connections shut, so the waiting driver call fails at once and the store reports the database
as not answering.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: the server's own timeout fires first; ours only when the server does not answer at all
GRACE_S = 2.0
_TICK_S = 0.1


@dataclass(frozen=True)
class DbTimeouts:
    """Seconds the PostGIS store waits for the database.

    Parameters
    ----------
    connect_s
        Opening a connection (libpq ``connect_timeout``, 2 s at least).
    statement_s
        One query or edit (the server's ``statement_timeout``; the unit of work is cut
        :data:`GRACE_S` later when the server does not answer).
    load_s
        A region's load, import or full read (whole-region statements on large regions).
    pool_s
        Waiting for a free pooled connection when all are in use: long enough that a burst
        of writes (edits waiting for their region's lock hold connections) queues instead
        of failing with 503, still bounded.
    """

    connect_s: float = 5.0
    statement_s: float = 15.0
    load_s: float = 600.0
    pool_s: float = 30.0

    def connect_args(self) -> dict[str, Any]:
        """The connection arguments (libpq) carrying the timeouts."""
        return {
            "connect_timeout": max(2, math.ceil(self.connect_s)),
            "options": f"-c timezone=UTC -c statement_timeout={_ms(self.statement_s)}",
        }

    def local_statement_timeout(self) -> str:
        """``SET LOCAL`` of the load timeout, for a whole-region transaction."""
        return f"SET LOCAL statement_timeout = {_ms(self.load_s)}"


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


@dataclass(eq=False)
class Unit:
    """One unit of work under a deadline: the connections it checked out, whether it was cut."""

    deadline: float
    connections: list[Any] = field(default_factory=list)
    cut: bool = False


class Watchdog:
    """Cuts the connections of units of work that overran their deadline (one thread)."""

    def __init__(self) -> None:
        self._units: set[Unit] = set()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._thread: threading.Thread | None = None

    @contextmanager
    def unit(self, seconds: float) -> Iterator[Unit]:
        """Run the block as a unit of work that is cut after ``seconds``."""
        unit = Unit(time.monotonic() + seconds)
        outer = getattr(self._local, "unit", None)
        self._local.unit = unit
        with self._lock:
            self._units.add(unit)
            self._start()
        try:
            yield unit
        finally:
            with self._lock:
                self._units.discard(unit)
            self._local.unit = outer

    def checkout(self, dbapi_connection: Any, *args: Any) -> None:
        """Pool ``checkout`` event: the connection belongs to this thread's unit of work."""
        unit = getattr(self._local, "unit", None)
        if unit is not None:
            with self._lock:
                unit.connections.append(dbapi_connection)

    def checkin(self, dbapi_connection: Any, *args: Any) -> None:
        """Pool ``checkin`` event: the connection is idle again."""
        unit = getattr(self._local, "unit", None)
        if unit is not None and dbapi_connection in unit.connections:
            with self._lock:
                unit.connections.remove(dbapi_connection)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="pg-watchdog", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(_TICK_S)
            now = time.monotonic()
            with self._lock:
                late = [u for u in self._units if not u.cut and u.deadline <= now]
                for unit in late:
                    unit.cut = True
                    for connection in unit.connections:
                        cut(connection)


def cut(dbapi_connection: Any) -> None:
    """Shut a connection's socket: a driver call waiting on it fails at once."""
    try:
        fd = os.dup(dbapi_connection.fileno())
    except Exception:  # already closed: nothing to cut
        return
    with socket.socket(fileno=fd) as sock:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


#: the one watchdog of this process
WATCHDOG = Watchdog()
