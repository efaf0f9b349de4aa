"""Running the API under uvicorn, with worker processes the kernel keeps in balance.

uvicorn's own multi-worker mode shares one listening socket, and a worker's event loop
accepts every connection waiting when it wakes. A burst of keep-alive connections (a kiosk
gateway, an app's proxy, a load test) can then all land on one process while the others
idle: measured here, 16 clients on 2 workers kept one core busy, not two. On Linux each
worker binds a socket of its own with ``SO_REUSEPORT``, and the kernel spreads new
connections across them. Where the option is missing, uvicorn's own mode is used.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from types import FrameType

import uvicorn

from livingcircle.geo.errors import LivingCircleError

APP = "livingcircle.api.app:create_app"
#: A worker that stops sooner than this after starting is not restarted: it cannot start.
_SETTLE_S = 20.0
log = logging.getLogger("livingcircle.serve")


def serve(host: str, port: int, workers: int = 1, access_log: bool = True) -> None:
    """Serve the API on ``host:port`` with ``workers`` processes until stopped (SIGINT/TERM).

    Each worker builds the app from the ``LC_`` environment. A worker that dies is replaced.
    """
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(
            APP,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=access_log,
            log_level="info",
        )
        return
    _check_free(host, port)  # sockets with SO_REUSEPORT would share a port silently
    context = multiprocessing.get_context("spawn")

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(
            target=_worker, args=(host, port, access_log), name="livingcircle-api"
        )
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    started = [time.monotonic()] * workers
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    try:
        while not stopping:
            for i, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                if time.monotonic() - started[i] < _SETTLE_S:  # it could not start: say so
                    raise LivingCircleError(
                        f"a server worker stopped while starting (exit code "
                        f"{process.exitcode}); its log above says why"
                    )
                log.warning(
                    "worker %s exited (code %s); starting another", process.pid, process.exitcode
                )
                processes[i], started[i] = start(), time.monotonic()
            time.sleep(0.2)
    finally:
        for process in processes:
            process.terminate()  # uvicorn shuts each down gracefully on SIGTERM
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()


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


def _worker(host: str, port: int, access_log: bool) -> None:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    config = uvicorn.Config(APP, factory=True, access_log=access_log, log_level="info")
    uvicorn.Server(config).run(sockets=[sock])
