"""The middleware hooks are abstract: a middleware missing one fails when it is made."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from livingcircle.api.middleware import BodyGuard, BodyLimit, BodyTimeout, HttpMiddleware


async def _echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


APP = Starlette(routes=[Route("/", _echo, methods=["POST"])])


class NoHandle(HttpMiddleware):
    """Forgets :meth:`HttpMiddleware.handle`."""


class NoDetail(BodyGuard):
    """Forgets :meth:`BodyGuard.detail`."""

    status = 400
    title = "Bad Request"

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse everything."""
        await self.refuse(scope, send)


@pytest.mark.parametrize(
    ("make", "missing"),
    [(lambda: NoHandle(APP), "handle"), (lambda: NoDetail(APP, 1), "detail")],
)
def test_a_middleware_without_its_hook_is_refused_when_made(
    make: Callable[[], object], missing: str
) -> None:
    with pytest.raises(TypeError, match=rf"abstract method.*'?{missing}'?"):
        make()


def test_the_guards_give_every_hook_and_still_guard() -> None:
    with TestClient(BodyLimit(APP, 10)) as client:
        assert client.post("/", content=b"12345").text == "5"
        refused = client.post("/", content=b"x" * 11)
    assert refused.status_code == 413
    assert "at most 10 bytes" in refused.json()["detail"]
    with TestClient(BodyTimeout(APP, 30)) as client:
        assert client.post("/", content=b"123").text == "3"
