"""Load test of the HTTP API: requests/s and p50/p99 latency of nearest and catchment.

Starts the real server (``livingcircle serve``, uvicorn, 2 workers) as a second process on a
loopback port, over the embedded store with the Helsinki sample and, when a PostGIS server is
there, over PostGIS too. A small asyncio client on uvloop (keep-alive HTTP/1.1, little CPU
of its own, since it shares the 2 cores with the server) drives it with 1, 16 and 64
concurrent clients, each cell bounded in time and in requests. Query points are drawn at
random inside the region (fixed seed), so no answer is served twice from any cache.

    python bench/bench_api.py                      # embedded store, and local PostGIS if up
    python bench/bench_api.py --database URL       # that PostGIS database (sample loaded if
                                                   # missing; LC_DATABASE_URL works too)
    python bench/bench_api.py --seconds 3 --no-postgis
    python bench/bench_api.py --gzip               # ask for gzip, as browsers and httpx do

Targets (2 cores): nearest >= 500 req/s with p99 < 50 ms at 16 clients; catchment
>= 150 req/s at 16 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import numpy as np
import psutil
import uvloop

from livingcircle.data.embedded import FileStore
from livingcircle.data.load import load_osm
from livingcircle.data.sample import SAMPLE_REGION, sample_file
from livingcircle.geo.standards import load_standard

HOST = "127.0.0.1"  # loopback only
LOCAL_POSTGIS = "postgresql+psycopg://livingcircle:livingcircle@127.0.0.1:5432/postgres"
NEAREST = {"category": ["pharmacy", "clinic", "supermarket"], "k": 1}
TARGETS = {("nearest", 16): (500.0, 50.0), ("catchment", 16): (150.0, None)}
POINTS = 3000
T = TypeVar("T")


# -- server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(env: dict[str, str], workers: int) -> Iterator[tuple[int, Callable[[], float]]]:
    """``livingcircle serve`` on a free loopback port, and a clock of its CPU seconds."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "livingcircle",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while run(probe(port, "/ready")) != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SystemExit(f"server did not start:\n{log.read()}")
            time.sleep(0.3)
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(True)]

        def cpu_seconds() -> float:
            return sum(sum(p.cpu_times()[:2]) for p in tree)

        yield port, cpu_seconds
    finally:
        process.terminate()
        process.wait(timeout=30)


async def probe(port: int, path: str) -> int:
    try:
        conn = await Connection.open(port)
    except OSError:
        return 0
    try:
        return (await conn.get(path))[0]
    except (OSError, asyncio.IncompleteReadError):
        return 0
    finally:
        conn.close()


# -- client ------------------------------------------------------------------------------------


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run the client on uvloop (installed with uvicorn): less of the shared CPU for itself."""
    return uvloop.run(coro)


class Connection:
    """One keep-alive HTTP/1.1 connection (GET only, Content-Length bodies).

    With ``gzip`` it accepts gzip, as browsers and most HTTP libraries do; bodies are
    counted as they come over the wire, not unpacked.
    """

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, gzip: bool
    ) -> None:
        self.reader, self.writer = reader, writer
        self.extra = "Accept-Encoding: gzip\r\n" if gzip else ""

    @classmethod
    async def open(cls, port: int, gzip: bool = False) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port, limit=2**22)
        return cls(reader, writer, gzip)

    async def get(self, target: str) -> tuple[int, int]:
        """Status and body size of ``GET target``."""
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: {HOST}\r\n{self.extra}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status, length

    def close(self) -> None:
        self.writer.close()


@dataclass
class Cell:
    """One measurement: an endpoint at a concurrency."""

    endpoint: str
    clients: int
    latencies_ms: list[float]
    errors: int
    seconds: float
    server_cpu_s: float
    body_bytes: int

    @property
    def kb(self) -> float:
        """Mean body size over the wire, kB."""
        return self.body_bytes / 1e3 / max(len(self.latencies_ms), 1)

    @property
    def cpu_ms(self) -> float:
        """Server CPU per answered request: what the load of other processes cannot hide."""
        return self.server_cpu_s * 1e3 / max(len(self.latencies_ms), 1)

    @property
    def busy_cores(self) -> float:
        """Cores the server kept busy: below the machine's count, the client held it back."""
        return self.server_cpu_s / self.seconds

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


async def drive(
    port: int, targets: list[str], clients: int, seconds: float, max_requests: int, gzip: bool
) -> tuple[list[float], int, float, int]:
    """``clients`` connections asking ``targets`` in turn until time or requests run out.

    Returns the latencies of good answers, the count of bad ones, the seconds taken and the
    bytes of the good answers' bodies.
    """
    latencies: list[float] = []
    errors = 0
    body_bytes = 0
    next_target = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def one_client() -> None:
        nonlocal errors, next_target, body_bytes
        conn = await Connection.open(port, gzip)
        try:
            while time.perf_counter() < deadline and next_target < max_requests:
                target = targets[next_target % len(targets)]
                next_target += 1
                t0 = time.perf_counter()
                try:
                    status, size = await conn.get(target)
                except (OSError, asyncio.IncompleteReadError):  # the server closed on us
                    errors += 1
                    conn.close()
                    conn = await Connection.open(port, gzip)
                    continue
                if status == 200:
                    latencies.append((time.perf_counter() - t0) * 1e3)
                    body_bytes += size
                else:
                    errors += 1
        finally:
            conn.close()

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies, errors, time.perf_counter() - start, body_bytes


def query_targets(endpoint: str, points: np.ndarray, offset: int) -> list[str]:
    """Distinct URLs (each point once), starting at ``offset`` so no cell repeats another."""
    extra = NEAREST if endpoint == "nearest" else {}
    rolled = np.roll(points, -offset, axis=0)
    return [
        f"/v1/{endpoint}?"
        + urlencode({"lat": f"{lat:.6f}", "lon": f"{lon:.6f}", **extra}, doseq=True)
        for lon, lat in rolled
    ]


def good_points(port: int, bounds: tuple[float, float, float, float], n: int) -> np.ndarray:
    """``n`` random points of the region that the API answers for (on or near a street)."""
    rng = np.random.default_rng(20181201)
    w, s, e, north = bounds
    pad_x, pad_y = (e - w) * 0.1, (north - s) * 0.1
    cand = np.column_stack(
        [rng.uniform(w + pad_x, e - pad_x, n * 2), rng.uniform(s + pad_y, north - pad_y, n * 2)]
    )

    async def check() -> list[bool]:
        conn = await Connection.open(port)
        try:
            return [
                (
                    await conn.get(
                        f"/v1/nearest?lat={lat:.6f}&lon={lon:.6f}&category=pharmacy&routes=false"
                    )
                )[0]
                == 200
                for lon, lat in cand
            ]
        finally:
            conn.close()

    ok = np.array(run(check()))
    return cand[ok][:n]


def measure(
    port: int,
    cpu: Callable[[], float],
    bounds: tuple[float, float, float, float],
    args: argparse.Namespace,
    label: str,
) -> list[Cell]:
    points = good_points(port, bounds, POINTS)
    cells = []
    used = 0
    for endpoint in ("nearest", "catchment"):
        for clients in args.clients:
            targets = query_targets(endpoint, points, used)
            run(drive(port, targets[-64:], clients, 0.5, 64, args.gzip))  # warm connections
            cpu_before = cpu()
            lat, errors, took, size = run(
                drive(port, targets, clients, args.seconds, args.max_requests, args.gzip)
            )
            used += len(lat) + errors
            cell = Cell(endpoint, clients, lat, errors, took, cpu() - cpu_before, size)
            cells.append(cell)
            print(
                f"  {label:9} {endpoint:9} {clients:>3} clients: {cell.rate:7.1f} req/s, "
                f"p50 {cell.pct(50):6.1f} ms, p99 {cell.pct(99):6.1f} ms, server CPU "
                f"{cell.cpu_ms:.2f} ms/request on {cell.busy_cores:.2f} cores",
                flush=True,
            )
    return cells


# -- stores ------------------------------------------------------------------------------------


def embedded_env(folder: Path) -> dict[str, str]:
    load_osm(FileStore(folder), sample_file(), SAMPLE_REGION, load_standard())
    return {"LC_DATA_DIR": str(folder), "LC_DATABASE_URL": ""}


@contextmanager
def postgis_env(args: argparse.Namespace) -> Iterator[dict[str, str] | None]:
    """The PostGIS database to serve from: the one given, or a throwaway one on the local
    server (dropped at the end); None when there is none."""
    from livingcircle.data.postgis import PostgisStore, dispose_engines, upgrade  # noqa: PLC0415

    url = args.database or os.environ.get("LC_DATABASE_URL")
    dropped = None
    if not url:
        url, dropped = throwaway_database(LOCAL_POSTGIS)
        if url is None:
            yield None
            return
    try:
        upgrade(url)
        store = PostgisStore(url)
        if SAMPLE_REGION not in [r.name for r in store.regions()]:
            load_osm(store, sample_file(), SAMPLE_REGION, load_standard())
        yield {"LC_DATABASE_URL": url}
    finally:
        dispose_engines()
        if dropped:
            dropped()


def throwaway_database(server_url: str) -> tuple[str | None, object]:
    import psycopg  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    server = make_url(server_url)
    conninfo = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"livingcircle_bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
            template = (
                "livingcircle_template"
                if conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = 'livingcircle_template'"
                ).fetchone()
                else "template1"
            )
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    except psycopg.Error as exc:
        print(
            f"PostGIS: no local server ({str(exc).strip().splitlines()[0]}); "
            "run 'make postgis' or pass --database",
            flush=True,
        )
        return None, None

    def drop() -> None:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return server.set(database=name).render_as_string(hide_password=False), drop


# -- report ------------------------------------------------------------------------------------


def verdict(cell: Cell) -> str:
    target = TARGETS.get((cell.endpoint, cell.clients))
    if target is None:
        return ""
    rate, p99 = target
    ok = cell.rate >= rate and (p99 is None or cell.pct(99) < p99)
    want = f">= {rate:.0f} req/s" + (f", p99 < {p99:.0f} ms" if p99 else "")
    return f"{'PASS' if ok else 'MISS'} ({want})"


def report(results: dict[str, list[Cell]], workers: int, load_before: float, gzip: bool) -> None:
    load_after = os.getloadavg()[0]
    print(
        f"\nHTTP API load test: uvicorn with {workers} workers on {os.cpu_count()} cores "
        f"(1-min load average {load_before:.1f} before, {load_after:.1f} after: other "
        "processes on the machine share these cores), "
        "client in a second process on loopback; distinct random points of the Helsinki "
        f"sample; nearest asks {NEAREST['category']} k=1 with routes, catchment 5/10/15 min; "
        f"{'gzip' if gzip else 'no compression'} asked for\n"
    )
    print(
        "| store | endpoint | clients | requests | req/s | p50 ms | p99 ms | non-200 | "
        "kB/answer | server CPU ms/req | server cores busy | target |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for store, cells in results.items():
        for c in cells:
            print(
                f"| {store} | {c.endpoint} | {c.clients} | {len(c.latencies_ms)} | "
                f"{c.rate:.1f} | {c.pct(50):.1f} | {c.pct(99):.1f} | {c.errors} | "
                f"{c.kb:.1f} | {c.cpu_ms:.2f} | {c.busy_cores:.2f} | {verdict(c)} |"
            )
    cores = os.cpu_count() or 1
    for endpoint in ("nearest", "catchment"):
        cpu = [c.cpu_ms for cells in results.values() for c in cells if c.endpoint == endpoint]
        if cpu:
            print(
                f"\n{endpoint}: {np.median(cpu):.2f} ms of server CPU per request, so "
                f"{cores} idle cores could serve at most ~{cores * 1e3 / np.median(cpu):.0f} "
                "req/s (the client's own CPU not counted)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        help="PostGIS URL (default: LC_DATABASE_URL, else a "
        "throwaway database on the local server)",
    )
    parser.add_argument("--no-postgis", action="store_true", help="Embedded store only.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0, help="Per cell.")
    parser.add_argument("--max-requests", type=int, default=20_000, help="Per cell.")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument(
        "--gzip",
        action="store_true",
        help="Accept gzip, as browsers and HTTP libraries do (default: plain).",
    )
    args = parser.parse_args()

    results: dict[str, list[Cell]] = {}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lc-bench-") as folder:
        env = embedded_env(Path(folder))
        bounds = FileStore(Path(folder)).regions()[0].bounds
        print("embedded store:", flush=True)
        with server(env, args.workers) as (port, cpu):
            results["embedded"] = measure(port, cpu, bounds, args, "embedded")
    if not args.no_postgis:
        with postgis_env(args) as pg_env:
            if pg_env is not None:
                print("PostGIS store:", flush=True)
                with server(pg_env, args.workers) as (port, cpu):
                    results["postgis"] = measure(port, cpu, bounds, args, "postgis")
    report(results, args.workers, load_before, args.gzip)


if __name__ == "__main__":
    main()
