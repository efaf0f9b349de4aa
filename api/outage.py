"""What the API does while the store is down, and how long it waits for a request's body.

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

**Body timeout**: uvicorn reads a request's body as it arrives and has no limit on how long
that takes; :class:`BodyTimeout` gives the whole body ``LC_BODY_TIMEOUT_S`` from the
request's start, then answers 408 and closes the connection.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import orjson
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livingcircle.api.live import LiveStatuses
from livingcircle.geo.errors import StoreError
from livingcircle.geo.status import FacilityStatus

log = logging.getLogger("livingcircle.api")

PROBLEM_JSON = b"application/problem+json"
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


class OutageHeaders:
    """Mark answers from memory during an outage (``X-Store-Status``, ``X-Data-Age``)."""

    def __init__(self, app: ASGIApp, health: StoreHealth) -> None:
        self.app = app
        self.health = health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the answers of :data:`FROM_MEMORY` while the store is down."""
        if scope["type"] != "http" or not scope["path"].startswith(FROM_MEMORY):
            await self.app(scope, receive, send)
            return

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


class BodyTimeout:
    """Answer 408 when a request's body has not fully arrived ``seconds`` after its start."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body under one deadline; past it, 408 and the connection closed."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds
        done = False
        started = False

        async def timed() -> Message:
            nonlocal done
            if done:
                return await receive()
            left = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), max(left, 0.0))
            except TimeoutError:
                raise _BodyTooSlow(self._detail()) from None
            done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed, watched)
        except _BodyTooSlow:
            if not started:
                await self._refuse(scope, send)

    def _detail(self) -> str:
        return (
            f"the request's body did not arrive within {self.seconds:g} s; send it whole and "
            "at once, then try again"
        )

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = orjson.dumps(
            {
                "type": "about:blank",
                "title": "Request Timeout",
                "status": 408,
                "detail": self._detail(),
                "instance": scope.get("path", ""),
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 408,
                "headers": [
                    (b"content-type", PROBLEM_JSON),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooSlow(StarletteHTTPException):
    """The body's deadline passed: 408 (FastAPI's body reading passes HTTP errors through)."""

    def __init__(self, detail: str) -> None:
        super().__init__(408, detail, headers={"Connection": "close"})
