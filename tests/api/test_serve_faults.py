"""The server's own edges over real HTTP: malformed requests, long headers, rolling restarts."""

from __future__ import annotations

import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.api.conftest import LAT, LON
from tests.api.test_server import start_server, wait_ready


@pytest.fixture(scope="module")
def two_workers(
    tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path
) -> Iterator[tuple[psutil.Process, int]]:
    """``livingcircle serve --workers 2`` over the sample: its master process and port."""
    folder = tmp_path_factory.mktemp("serve-faults")
    shutil.copytree(sample_store_dir, folder, dirs_exist_ok=True)
    process, port = start_server(folder, "--workers", "2")
    try:
        wait_ready(process, f"http://127.0.0.1:{port}", 120)
        yield psutil.Process(process.pid), port
    finally:
        process.terminate()
        output = process.communicate(timeout=120)[0]
    assert process.returncode == 0 and "Traceback" not in output, output


def workers(master: psutil.Process) -> set[int]:
    """The master's worker processes (not multiprocessing's resource tracker)."""
    return {p.pid for p in master.children() if "spawn_main" in " ".join(p.cmdline())}


def _raw(port: int, request: bytes) -> tuple[bytes, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.slow
def test_malformed_requests_get_problem_json(two_workers: tuple[psutil.Process, int]) -> None:
    _, port = two_workers
    head, body = _raw(port, b"GET /health HTTP/1.1 nonsense\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"content-type: application/problem+json" in head.lower()
    assert b"not valid HTTP/1.1" in body


@pytest.mark.slow
def test_headers_over_the_limit_get_431(two_workers: tuple[psutil.Process, int]) -> None:
    _, port = two_workers
    big = b"X-Padding: " + b"a" * 20_000 + b"\r\n"
    head, body = _raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    assert head.startswith(b"HTTP/1.1 431"), head
    assert b"application/problem+json" in head
    assert b"16384 bytes" in body
    fine = httpx.get(f"http://127.0.0.1:{port}/health", headers={"X-Padding": "a" * 1000})
    assert fine.status_code == 200


@pytest.mark.slow
def test_rolling_restart_drops_no_request(two_workers: tuple[psutil.Process, int]) -> None:
    """SIGHUP to the master replaces both workers while 8 keep-alive clients query."""
    master, port = two_workers
    old = workers(master)
    assert len(old) == 2
    failures: list[str] = []
    answered = [0]
    stop = threading.Event()

    def query() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            while not stop.is_set():
                try:
                    got = http.get("/v1/nearest", params={"lat": LAT, "lon": LON, "k": 1})
                    if got.status_code != 200:
                        failures.append(f"{got.status_code} {got.text[:200]}")
                    answered[0] += 1
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    clients = [threading.Thread(target=query) for _ in range(8)]
    for thread in clients:
        thread.start()
    try:
        time.sleep(1)
        master.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 240
        while any(psutil.pid_exists(pid) for pid in old):
            assert time.monotonic() < deadline, "the old workers did not stop"
            time.sleep(0.2)
        time.sleep(1)
    finally:
        stop.set()
        for thread in clients:
            thread.join(60)
    assert not failures, failures[:5]
    assert answered[0] > 20
    now = workers(master)
    assert len(now) == 2 and not now & old
