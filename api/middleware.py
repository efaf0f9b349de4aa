"""ASGI middleware over plain HTTP requests, and the two guards of a request's body.

:class:`HttpMiddleware` passes everything but HTTP requests through untouched;
:class:`BodyGuard` adds the refusal a guard sends itself, as problem details, closing the
connection. :class:`BodyLimit` refuses bodies over ``LC_MAX_BODY_BYTES`` (413).
**Body timeout**: uvicorn reads a request's body as it arrives and has no limit on how long
that takes; :class:`BodyTimeout` gives the whole body ``LC_BODY_TIMEOUT_S`` from the
request's start, then answers 408 and closes the connection.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import ClassVar

import orjson
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livingcircle.api.errors import PROBLEM_JSON


class HttpMiddleware(ABC):
    """An ASGI middleware for the HTTP requests it :meth:`applies` to; the rest pass through.

    :meth:`handle` is abstract: a subclass that does not give it cannot be constructed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def applies(self, scope: Scope) -> bool:
        """Whether :meth:`handle` sees this request (every HTTP request by default)."""
        return bool(scope["type"] == "http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """:meth:`handle` the requests this middleware applies to, pass the others on."""
        if not self.applies(scope):
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    @abstractmethod
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request through ``self.app``."""


class BodyGuard(HttpMiddleware):
    """A middleware that may refuse a request's body with ``status`` before the app answers.

    ``limit``: the size (bytes) or time (seconds) a body is allowed.
    """

    status: ClassVar[int]
    title: ClassVar[str]

    def __init__(self, app: ASGIApp, limit: float) -> None:
        super().__init__(app)
        self.limit = limit

    @abstractmethod
    def detail(self) -> str:
        """What was wrong and what is allowed, for the problem's ``detail``."""

    async def refuse(self, scope: Scope, send: Send) -> None:
        """Answer ``status`` as problem details and close the connection."""
        body = orjson.dumps(
            {
                "type": "about:blank",
                "title": self.title,
                "status": self.status,
                "detail": self.detail(),
                "instance": scope.get("path", ""),
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class BodyLimit(BodyGuard):
    """Refuse request bodies over ``limit`` bytes with 413, declared or streamed."""

    status = 413
    title = "Content Too Large"

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length first, then count what arrives."""
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self.refuse(scope, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:  # FastAPI passes HTTPException through body parsing
                raise StarletteHTTPException(413, self.detail())
            return message

        await self.app(scope, counted, send)

    def detail(self) -> str:
        """The size allowed."""
        return f"request body is too large; allowed: at most {self.limit} bytes"


class BodyTimeout(BodyGuard):
    """Answer 408 when a request's body has not fully arrived ``limit`` seconds after its start."""

    status = 408
    title = "Request Timeout"

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body under one deadline; past it, 408 and the connection closed."""
        deadline = asyncio.get_running_loop().time() + self.limit
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
                raise _BodyTooSlow(self.detail()) from None
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
                await self.refuse(scope, send)

    def detail(self) -> str:
        """The time allowed."""
        return (
            f"the request's body did not arrive within {self.limit:g} s; send it whole and "
            "at once, then try again"
        )


class _BodyTooSlow(StarletteHTTPException):
    """The body's deadline passed: 408 (FastAPI's body reading passes HTTP errors through)."""

    def __init__(self, detail: str) -> None:
        super().__init__(408, detail, headers={"Connection": "close"})
