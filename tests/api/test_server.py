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
import pytest

from tests.api.conftest import LAT, LON


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("served")
    shutil.copytree(sample_store_dir, folder, dirs_exist_ok=True)
    port = free_port()
    env = {**os.environ, "LC_DATA_DIR": str(folder)}
    env.pop("LC_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "livingcircle", "serve", "--host", "127.0.0.1", "--port",
         str(port), "--no-access-log"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"server did not start: {process.communicate()[0]}")
            time.sleep(0.2)
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
        response = http.get("/v1/nearest", params={"lat": LAT, "lon": LON,
                                                   "category": "pharmacy", "k": 3})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/geo+json"
        hits = [f for f in response.json()["features"] if f["properties"]["kind"] == "facility"]
        assert len(hits) == 3 and all(h["properties"]["category"] == "pharmacy" for h in hits)
        refused = http.get("/v1/nearest", params={"lat": 100, "lon": LON})
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
