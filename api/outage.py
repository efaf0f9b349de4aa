"""What the API does while the store is down.

**During a store outage** (the database stopped, frozen or unreachable), nearest and catchment
answer from the engines this worker holds in memory, never from the store: each such answer
carries ``X-Store-Status: unavailable`` and ``X-Data-Age`` (whole seconds since the store last
answered; the data is at least that old). A region whose engine is not in memory, writes,
listings and searches answer 503 with a problem saying the database is not answering. Live
statuses keep their last reading (they are shown with their age, and hidden once stale).
``/ready`` answers 200 with ``"status": "degraded"`` while the engines answer (a load balancer
should keep the worker: it still serves residents), and 503 only when no region is in memory.

While the store is known to be down, request handlers do not ask it again (a frozen database
would hold each of them for the statement timeout): the region watcher probes it every
``LC_REFRESH_SECONDS`` and the first answer ends the outage.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livingcircle.api.live import LiveStatuses
from livingcircle.api.middleware import HttpMiddleware
from livingcircle.geo.errors import StoreError
from livingcircle.geo.status import FacilityStatus

log = logging.getLogger("livingcircle.api")

#: paths answered from memory during an outage, marked with the headers above
FROM_MEMORY = ("/v1/nearest", "/v1/catchment")
#: while the store is down, a request asks it again at most this often (the watcher probes it)
RETRY_S = 5.0


class StoreHealth:
    """Whether the store answered last time, since when, and the error it gave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.last_ok = time.monotonic()
        self.last_failure = 0.0
        self.error = ""

    @property
    def down(self) -> bool:
        """The store failed and has not answered since."""
        return self.down_since is not None

    def ok(self) -> None:
        """The store answered."""
        with self._lock:
            if self.down_since is not None:
                log.warning("the store answers again after %.0f s", self.outage_s())
            self.down_since, self.last_ok, self.error = None, time.monotonic(), ""

    def resting(self) -> bool:
        """Down, and failed less than :data:`RETRY_S` ago: requests leave the store alone."""
        return self.down and time.monotonic() - self.last_failure < RETRY_S

    def failed(self, error: Exception) -> None:
        """The store failed with ``error`` (only store errors count)."""
        with self._lock:
            if self.down_since is None:
                log.warning("the store is unavailable: %s", error)
                self.down_since = time.monotonic()
            self.last_failure, self.error = time.monotonic(), str(error)

    def outage_s(self) -> float:
        """Seconds since the outage began (0 when up)."""
        return 0.0 if self.down_since is None else time.monotonic() - self.down_since

    def data_age_s(self) -> int:
        """Whole seconds since the store last answered."""
        return int(time.monotonic() - self.last_ok)


class TolerantLiveStatuses(LiveStatuses):
    """Live statuses that keep their last reading while the store is down."""

    def __init__(self, health: StoreHealth, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.health = health

    def of(self, region: str) -> dict[str, FacilityStatus]:
        """The region's statuses; the last ones read (or none) while the store is down."""
        if not self.health.resting():
            try:
                return super().of(region)
            except StoreError as exc:
                self.health.failed(exc)
        with self._lock:
            kept = self._kept.get(region)
        return {} if kept is None else kept[1]


class OutageHeaders(HttpMiddleware):
    """Mark answers from memory during an outage (``X-Store-Status``, ``X-Data-Age``)."""

    def __init__(self, app: ASGIApp, health: StoreHealth) -> None:
        super().__init__(app)
        self.health = health

    def applies(self, scope: Scope) -> bool:
        """The HTTP requests to :data:`FROM_MEMORY`."""
        return super().applies(scope) and str(scope["path"]).startswith(FROM_MEMORY)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the answers while the store is down."""

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start" and self.health.down:
                age = str(self.health.data_age_s()).encode()
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-store-status", b"unavailable"),
                    (b"x-data-age", age),
                ]
            await send(message)

        await self.app(scope, receive, marked)
