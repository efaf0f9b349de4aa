"""The real thing: ``livingcircle serve`` (uvicorn) on a loopback port, called over HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.api.conftest import LAT, LON


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(folder: Path, *options: str) -> tuple[subprocess.Popen[str], int]:
    """``livingcircle serve`` over the embedded store in ``folder``, on a free port."""
    port = free_port()
    env = {**os.environ, "LC_DATA_DIR": str(folder)}
    env.pop("LC_DATABASE_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "livingcircle",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            *options,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, port


def wait_ready(process: subprocess.Popen[str], base: str, within_s: float = 60) -> None:
    """Wait until a started server answers /ready; fail with its output if it dies first."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"server did not start: {process.communicate()[0]}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("served")
    shutil.copytree(sample_store_dir, folder, dirs_exist_ok=True)
    process, port = start_server(folder)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, base)
        yield base
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    # uvicorn shuts down gracefully, then re-raises SIGTERM (exit -15)
    assert process.returncode in (0, -15), output
    assert "Application shutdown complete" in output and "Traceback" not in output, output


def test_health_over_http(server: str) -> None:
    response = httpx.get(f"{server}/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_nearest_over_http(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        response = http.get(
            "/v1/nearest", params={"lat": LAT, "lon": LON, "category": "pharmacy", "k": 3}
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/geo+json"
        hits = [f for f in response.json()["features"] if f["properties"]["kind"] == "facility"]
        assert len(hits) == 3 and all(h["properties"]["category"] == "pharmacy" for h in hits)
        refused = http.get("/v1/nearest", params={"lat": 100, "lon": LON})
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"


def test_large_answers_are_gzipped_for_clients_that_accept_it(server: str) -> None:
    params = {"lat": LAT, "lon": LON}
    plain = httpx.get(
        f"{server}/v1/catchment", params=params, headers={"Accept-Encoding": "identity"}, timeout=10
    )
    assert "content-encoding" not in plain.headers
    packed = httpx.get(
        f"{server}/v1/catchment", params=params, headers={"Accept-Encoding": "gzip"}, timeout=10
    )
    assert packed.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in packed.headers["vary"].lower()
    assert int(packed.headers["content-length"]) * 4 < len(plain.content)  # a slow link's friend
    assert packed.json() == plain.json()
    small = httpx.get(f"{server}/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # not worth it under 1 KiB


def test_two_workers_share_the_connections(tmp_path: Path, sample_store_dir: Path) -> None:
    """16 keep-alive connections land on both workers, not all on the first to wake."""
    shutil.copytree(sample_store_dir, tmp_path, dirs_exist_ok=True)
    process, port = start_server(tmp_path, "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    clients = [httpx.Client(base_url=base, timeout=10) for _ in range(16)]
    try:
        wait_ready(process, base, 120)  # the master holds the sockets: listening is not ready
        deadline = time.monotonic() + 90
        workers: list[psutil.Process] = []
        while len(workers) < 2 or not all(_listening(w, port) for w in workers):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
            time.sleep(0.3)
            workers = [
                p
                for p in psutil.Process(process.pid).children(recursive=True)
                if _listening(p, port)
            ]
        for client in clients:
            assert client.get("/health").status_code == 200  # one connection each, kept open
        held = [
            sum(
                c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
                for c in w.net_connections("tcp")
            )
            for w in workers
        ]
        assert sum(held) == 16 and min(held) > 0, held
    finally:
        for client in clients:
            client.close()
        process.terminate()
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    assert output.count("Application shutdown complete") == 2 and "Traceback" not in output, output


def _listening(worker: psutil.Process, port: int) -> bool:
    try:
        return any(
            c.status == psutil.CONN_LISTEN and c.laddr.port == port
            for c in worker.net_connections("tcp")
        )
    except psutil.NoSuchProcess:
        return False
