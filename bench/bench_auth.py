"""Public reads during a flood of wrong API keys: /v1/nearest p50/p99, quiet and flooded.

Starts the real server (``livingcircle serve``, uvicorn) over the embedded store with the
Helsinki sample and one department key. A few read clients ask /v1/nearest at random points
(fixed seed) for ``--seconds``; then the same while ``--flood`` more connections send DELETE
requests with the department's key id and a wrong secret as fast as the server answers (the
costly case before issue #15: a known id meant a full scrypt). Three runs:

- ``quiet``: reads only;
- ``flood``: reads during the flood, default settings (failed checks limited per address:
  most of the flood gets 429 before any hashing);
- ``flood, no limit``: the failure limits raised out of reach, so every wrong key is hashed:
  what the bounded hashing pool (``LC_AUTH_THREADS``, ``LC_AUTH_QUEUE``) alone keeps.

    python bench/bench_auth.py                   # 256 flooding connections, 5 s per run
    python bench/bench_auth.py --flood 512 --seconds 10 --workers 1

Target: p50 of nearest while flooded within 2x of quiet (on 2 shared cores).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing import Queue, get_context
from pathlib import Path

import numpy as np
from bench_api import Connection, good_points, query_targets, run, server
from common import fmt, table

from livingcircle.data.embedded import FileStore
from livingcircle.data.load import load_osm
from livingcircle.data.sample import SAMPLE_REGION, sample_file
from livingcircle.geo.keys import new_key
from livingcircle.geo.standards import load_standard

HOST = "127.0.0.1"
TARGET = f"/v1/regions/{SAMPLE_REGION}/facilities/osm:node/25502063"
NO_LIMIT = {"LC_AUTH_FAIL_LIMIT": "100000000", "LC_AUTH_FAIL_KEY_LIMIT": "100000000"}


@dataclass
class Run:
    """One run: the reads' latencies and what the flood got back."""

    name: str
    latencies_ms: list[float]
    read_errors: int
    flood: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    server_cpu_s: float = 0.0
    load: float = 0.0

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


async def _send(conn: Connection, method: str, target: str, headers: str) -> int:
    """Status of one request on a keep-alive connection (body read and dropped)."""
    conn.writer.write(f"{method} {target} HTTP/1.1\r\nHost: {HOST}\r\n{headers}\r\n".encode())
    head = await conn.reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await conn.reader.readexactly(length)
    return int(head[9:12])


async def _flooder(port: int, token: str, until: float, seen: Counter[int]) -> None:
    conn = await Connection.open(port)
    try:
        while time.time() < until:
            try:
                seen[await _send(conn, "DELETE", TARGET, f"X-API-Key: {token}\r\n")] += 1
            except (OSError, asyncio.IncompleteReadError):
                seen[0] += 1
                conn.close()
                conn = await Connection.open(port)
    finally:
        conn.close()


async def _flood(
    port: int, token: str, connections: int, talk: tuple[Queue, Queue]
) -> Counter[int]:  # type: ignore[type-arg]
    seen: Counter[int] = Counter()
    orders, answers = talk
    await _send(await Connection.open(port), "GET", "/ready", "")  # the server answers us
    answers.put("ready")
    until = await asyncio.get_running_loop().run_in_executor(None, orders.get)
    await asyncio.gather(*(_flooder(port, token, until, seen) for _ in range(connections)))
    return seen


def flood_process(port: int, token: str, connections: int, orders: Queue, answers: Queue) -> None:  # type: ignore[type-arg]
    """The flood, in a process of its own: its event loop never delays the reads' clock."""
    answers.put(dict(run(_flood(port, token, connections, (orders, answers)))))


async def _reader(port: int, targets: list[str], until: float, out: list[float]) -> int:
    conn = await Connection.open(port)
    errors, i = 0, 0
    try:
        while time.time() < until:
            t0 = time.perf_counter()
            status, _ = await conn.get(targets[i % len(targets)])
            i += 1
            if status == 200:
                out.append((time.perf_counter() - t0) * 1e3)
            else:
                errors += 1
    finally:
        conn.close()
    return errors


async def _reads(
    port: int, targets: list[str], readers: int, until: float
) -> tuple[list[float], int]:
    latencies: list[float] = []
    share = len(targets) // readers
    errors = await asyncio.gather(
        *(
            _reader(port, targets[i * share : (i + 1) * share], until, latencies)
            for i in range(readers)
        )
    )
    return latencies, sum(errors)


def measure(
    port: int, targets: list[str], readers: int, flood: int, token: str, seconds: float
) -> tuple[list[float], int, Counter[int], float]:
    """Reads by ``readers`` clients for ``seconds``, with ``flood`` wrong-key senders beside.

    Returns the reads' latencies and errors, the flood's answers and the reads' wall time.
    """
    ctx = get_context("spawn")
    orders, answers = ctx.Queue(), ctx.Queue()
    child = ctx.Process(target=flood_process, args=(port, token, flood, orders, answers))
    ramp = min(1.0, seconds / 5) if flood else 0.0
    if flood:
        child.start()
        answers.get(timeout=300)  # started (imports take a while on a loaded machine)
    until = time.time() + ramp + seconds
    if flood:
        orders.put(until)
        time.sleep(ramp)  # the flood is in full swing
    start = time.perf_counter()
    latencies, errors = run(_reads(port, targets, readers, until))
    wall = time.perf_counter() - start
    seen: Counter[int] = Counter()
    if flood:
        seen.update(answers.get(timeout=seconds + 120))
        child.join(30)
    return latencies, errors, seen, wall


def one_run(
    name: str, folder: Path, env: dict[str, str], args: argparse.Namespace, token: str
) -> Run:
    """Start a server with ``env``, measure, stop it."""
    with server({"LC_DATA_DIR": str(folder), **env}, args.workers) as (port, cpu_seconds):
        bounds = FileStore(folder).regions()[0].bounds
        points = good_points(port, bounds, 400)
        targets = query_targets("nearest", points, 0)
        measure(port, targets[:20], 1, 0, token, 1.0)  # warm the engines
        cpu0, load0 = cpu_seconds(), os.getloadavg()[0]
        flood = args.flood if name != "quiet" else 0
        latencies, errors, seen, wall = measure(
            port, targets, args.readers, flood, token, args.seconds
        )
        return Run(
            name,
            latencies,
            errors,
            seen,
            wall,
            cpu_seconds() - cpu0,
            (load0 + os.getloadavg()[0]) / 2,
        )


def report(runs: list[Run], args: argparse.Namespace) -> str:
    quiet = runs[0].pct(50)
    headers = [
        "run",
        "reads",
        "p50 ms",
        "p99 ms",
        "p50 / quiet",
        "flood answers",
        "403",
        "429",
        "503",
        "other",
        "wall s",
        "server CPU s",
        "load avg",
    ]
    rows = []
    for r in runs:
        other = sum(v for k, v in r.flood.items() if k not in (403, 429, 503))
        rows.append(
            [
                r.name,
                fmt(len(r.latencies_ms)),
                fmt(r.pct(50), 2),
                fmt(r.pct(99), 2),
                fmt(r.pct(50) / quiet, 2),
                fmt(sum(r.flood.values())),
                fmt(r.flood[403]),
                fmt(r.flood[429]),
                fmt(r.flood[503]),
                fmt(other),
                fmt(r.seconds, 1),
                fmt(r.server_cpu_s, 1),
                fmt(r.load, 1),
            ]
        )
    verdict = all(r.pct(50) <= 2 * quiet for r in runs[1:])
    return (
        f"nearest reads ({args.readers} clients) while {args.flood} connections send wrong "
        f"keys; {args.workers} worker(s), {os.cpu_count()} cores\n"
        + table(headers, rows)
        + f"\ntarget p50 within 2x of quiet: {'met' if verdict else 'NOT met'}"
    )


def main() -> None:
    """Parse arguments, prepare the sample store and a key, run the three runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=256, help="wrong-key connections")
    parser.add_argument("--readers", type=int, default=4, help="read clients")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--workers", type=int, default=2, help="server workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as tmp:
        folder = Path(tmp)
        load_osm(FileStore(folder), sample_file(), SAMPLE_REGION, load_standard())
        token, record = new_key("health-bureau")
        FileStore(folder).add_api_key(record)
        wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        runs = [
            one_run("quiet", folder, {}, args, wrong),
            one_run("flood", folder, {}, args, wrong),
            one_run("flood, no limit", folder, NO_LIMIT, args, wrong),
        ]
    print(report(runs, args))


if __name__ == "__main__":
    main()
