"""Running the API under uvicorn, with worker processes the kernel keeps in balance.

uvicorn's own multi-worker mode shares one listening socket, and a worker's event loop
accepts every connection waiting when it wakes. A burst of keep-alive connections (a kiosk
gateway, an app's proxy, a load test) can then all land on one process while the others
idle: measured here, 16 clients on 2 workers kept one core busy, not two. On Linux each
worker listens on a socket of its own with ``SO_REUSEPORT``, and the kernel spreads new
connections across them. Where the option is missing, uvicorn's own mode is used.

The master opens those sockets and keeps them: a worker that stops (replaced, or restarted)
leaves its socket's queue of waiting connections to its successor, so none is refused.

- **SIGTERM / SIGINT** to the master: each worker drains (below), then the master exits.
- **SIGHUP** to the master: a rolling restart. One slot at a time, a new worker starts on the
  slot's socket, and once it serves, the old one drains and stops (region data, code and
  settings are read afresh). With one worker there is a moment of two; never of none.
- **Draining** (a worker's SIGTERM): it stops accepting, answers every request already on its
  connections with ``Connection: close`` (clients open a new connection, to another worker),
  and exits when its connections are gone or after ``LC_SHUTDOWN_GRACE_S``.

uvicorn's own answers to malformed requests are ``application/problem+json`` here, as the
app's are; request lines and headers over ``LC_MAX_HEADER_BYTES`` are refused with 431.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any

import orjson
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from livingcircle.api.settings import APISettings
from livingcircle.geo.errors import LivingCircleError

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional: h11 then
    HttpToolsProtocol = None  # type: ignore[assignment,misc]  # a class when installed

APP = "livingcircle.api.serve:serving_app"
#: A worker that stops sooner than this after starting is not restarted: it cannot start.
_SETTLE_S = 20.0
#: How long a new worker of a rolling restart may take to serve.
_START_S = 300.0
log = logging.getLogger("livingcircle.serve")
_LIMITS = {"header_bytes": 16_384}
_DRAINING = threading.Event()


def serving_app() -> ASGIApp:
    """The app as a worker serves it: ``Connection: close`` on every answer while draining."""
    from livingcircle.api.app import create_app  # noqa: PLC0415  (in the worker only)

    return _Draining(create_app())


class _Draining:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and _DRAINING.is_set():
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await self.app(scope, receive, closing)


# -- the HTTP protocol: problem+json for uvicorn's own 400s, a header limit -------------------


def _problem(status: int, title: str, detail: str) -> bytes:
    return orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})


_BAD_REQUEST = (
    "the request is not valid HTTP/1.1 (request line, headers or chunked body); send a "
    "well-formed request"
)


def _header_problem() -> bytes:
    return _problem(
        431,
        "Request Header Fields Too Large",
        f"the request line and headers are longer than {_LIMITS['header_bytes']} bytes; "
        "send shorter ones (query parameters, cookies)",
    )


def _raw_response(status_line: bytes, body: bytes) -> bytes:
    return b"".join(
        [
            status_line,
            b"content-type: application/problem+json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class ProblemH11(H11Protocol):
    """uvicorn's h11 protocol answering malformed requests with problem+json."""

    def send_400_response(self, msg: str) -> None:
        """The 400 (or 431 for headers over the limit), as problem details; then close."""
        too_large = len(self.conn.trailing_data[0]) >= _LIMITS["header_bytes"]
        body = _header_problem() if too_large else _problem(400, "Bad Request", _BAD_REQUEST)
        line = (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            if too_large
            else b"HTTP/1.1 400 Bad Request\r\n"
        )
        self.transport.write(_raw_response(line, body))
        self.transport.close()


class _HeadersTooLarge(Exception):
    pass


if HttpToolsProtocol is not None:

    class ProblemHttpTools(HttpToolsProtocol):
        """uvicorn's httptools protocol with a header limit and problem+json 400s."""

        _header_bytes = 0
        _too_large = False

        def on_message_begin(self) -> None:
            """A new request: count its header bytes from zero."""
            super().on_message_begin()
            self._header_bytes = 0

        def on_url(self, url: bytes) -> None:
            """Count the request line."""
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            """Count each header."""
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _count(self, n: int) -> None:
            self._header_bytes += n
            if self._header_bytes > _LIMITS["header_bytes"]:
                self._too_large = True
                raise _HeadersTooLarge

        def send_400_response(self, msg: str) -> None:
            """The 400 (or 431), as problem details; then close."""
            if self._too_large:
                line, body = b"HTTP/1.1 431 Request Header Fields Too Large\r\n", _header_problem()
            else:
                line, body = (
                    b"HTTP/1.1 400 Bad Request\r\n",
                    _problem(400, "Bad Request", _BAD_REQUEST),
                )
            self.transport.write(_raw_response(line, body))
            self.transport.close()


def _protocol() -> type[Any]:
    return ProblemHttpTools if HttpToolsProtocol is not None else ProblemH11


def _options(settings: APISettings, access_log: bool) -> dict[str, Any]:
    """The uvicorn settings every worker shares."""
    return {
        "factory": True,
        "access_log": access_log,
        "log_level": "info",
        "http": _protocol(),
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_graceful_shutdown": settings.shutdown_grace_s,
    }


class _Server(uvicorn.Server):
    """uvicorn's server that drains on SIGTERM and tells the master once it serves."""

    def __init__(self, config: uvicorn.Config, grace_s: float, ready: Any = None) -> None:
        super().__init__(config)
        self.grace_s = grace_s
        self.ready = ready
        self.drain_until: float | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start, then say so."""
        await super().startup(sockets)
        if self.started and self.ready is not None:
            self.ready.set()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """The first SIGTERM or SIGINT drains; a second one stops at once."""
        if self.drain_until is None and not self.should_exit:
            self.drain_until = time.monotonic() + self.grace_s
            _DRAINING.set()
            self._captured_signals.append(sig)
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        """While draining: stop accepting, and exit once the connections are gone."""
        if self.drain_until is not None and not self.should_exit:
            for server in self.servers:
                server.close()  # no new connections; queued ones stay for the next worker
            if not self.server_state.connections or time.monotonic() >= self.drain_until:
                self.should_exit = True
        return await super().on_tick(counter)


def serve(host: str, port: int, workers: int = 1, access_log: bool = True) -> None:
    """Serve the API on ``host:port`` with ``workers`` processes until stopped (SIGINT/TERM).

    Each worker builds the app from the ``LC_`` environment. A worker that dies is replaced;
    SIGHUP restarts the workers one by one (with several workers on Linux).
    """
    settings = APISettings()
    _LIMITS["header_bytes"] = settings.max_header_bytes
    if workers > 1 and not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, host=host, port=port, workers=workers, **_options(settings, access_log))
        return
    if workers == 1:
        config = uvicorn.Config(APP, host=host, port=port, **_options(settings, access_log))
        _Server(config, settings.shutdown_grace_s).run()
        return
    _check_free(host, port)  # sockets with SO_REUSEPORT would share a port silently
    _Master(host, port, workers, access_log, settings).run()


class _Master:
    """The worker processes, one per listening socket, replaced when they die."""

    def __init__(
        self, host: str, port: int, workers: int, access_log: bool, settings: APISettings
    ) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.sockets = [_listen(host, port) for _ in range(workers)]
        self.access_log = access_log
        self.settings = settings
        self.stopping = False
        self.restart = False
        self._events: list[Any] = []  # kept: a child rebuilds its event from the parent's

    def start(self, slot: int) -> tuple[multiprocessing.process.BaseProcess, Any]:
        """A worker on ``slot``'s socket, and the event it sets once it serves."""
        ready = self.context.Event()
        self._events = [e for e in self._events[-4 * len(self.sockets) :] if not e.is_set()]
        self._events.append(ready)
        process = self.context.Process(
            target=_worker,
            args=(self.sockets[slot], self.access_log, ready),
            name=f"livingcircle-api-{slot}",
        )
        process.start()
        return process, ready

    def run(self) -> None:
        """Start every worker and keep them running until a stop signal."""

        def stop(signum: int, frame: FrameType | None) -> None:
            self.stopping = True

        def restart(signum: int, frame: FrameType | None) -> None:
            self.restart = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, stop)
        signal.signal(signal.SIGHUP, restart)
        processes = [self.start(i)[0] for i in range(len(self.sockets))]
        started = [time.monotonic()] * len(processes)
        try:
            while not self.stopping:
                if self.restart:
                    self.restart = False
                    self._rolling_restart(processes, started)
                self._replace_dead(processes, started)
                time.sleep(0.2)
        finally:
            self._stop_all(processes)

    def _replace_dead(
        self, processes: list[multiprocessing.process.BaseProcess], started: list[float]
    ) -> None:
        for i, process in enumerate(processes):
            if process.is_alive() or self.stopping:
                continue
            if time.monotonic() - started[i] < _SETTLE_S:  # it could not start: say so
                raise LivingCircleError(
                    f"a server worker stopped while starting (exit code "
                    f"{process.exitcode}); its log above says why"
                )
            log.warning(
                "worker %s exited (code %s); starting another", process.pid, process.exitcode
            )
            processes[i], started[i] = self.start(i)[0], time.monotonic()

    def _rolling_restart(
        self, processes: list[multiprocessing.process.BaseProcess], started: list[float]
    ) -> None:
        """Each slot in turn: a new worker starts; once it serves, the old one drains."""
        log.info("rolling restart of %d workers", len(processes))
        for i, old in enumerate(processes):
            new, ready = self.start(i)
            deadline = time.monotonic() + _START_S
            while not ready.wait(0.2):
                if not new.is_alive() or time.monotonic() > deadline or self.stopping:
                    log.error(
                        "a new worker did not start (exit code %s); keeping the old one",
                        new.exitcode,
                    )
                    new.kill()
                    new.join(5)
                    return
            old.terminate()  # it drains: its answers close their connections, then it exits
            old.join(self.settings.shutdown_grace_s + 5)
            if old.is_alive():
                old.kill()
            processes[i], started[i] = new, time.monotonic()
        log.info("rolling restart done")

    def _stop_all(self, processes: list[multiprocessing.process.BaseProcess]) -> None:
        for process in processes:
            process.terminate()  # each drains, then stops
        for process in processes:
            process.join(self.settings.shutdown_grace_s + 5)
            if process.is_alive():
                process.kill()
        for sock in self.sockets:
            sock.close()


def _check_free(host: str, port: int) -> None:
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise LivingCircleError(
                f"cannot listen on {host}:{port} ({exc.strerror}); stop what uses it or "
                "pick another --port"
            ) from exc


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(sock: socket.socket, access_log: bool, ready: Any) -> None:
    settings = APISettings()
    _LIMITS["header_bytes"] = settings.max_header_bytes
    config = uvicorn.Config(APP, **_options(settings, access_log))
    _Server(config, settings.shutdown_grace_s, ready).run(sockets=[sock])
