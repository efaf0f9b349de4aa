"""Soak: many clients for a bounded time, with edits, imports and a rolling restart.

Starts the real server (``livingcircle serve --workers 2``, uvicorn) over the Helsinki sample
in the embedded store or in a throwaway PostGIS database, then runs ``--clients`` asyncio
clients for ``--seconds``: reads (nearest, catchment at street points drawn with a fixed seed)
and, one request in five, a department's edits (POST, PUT, DELETE of facilities of its own,
with its API key). Meanwhile a department list is imported every few seconds (``livingcircle
import``, two lists in turn, so each import changes the region) and, half-way, the server's
workers are restarted one by one (SIGHUP to the master).

It counts 5xx answers, other unexpected answers, transport errors (refused or dropped
connections), requests failing during the rolling restart, and lost writes: every write the
server acknowledged is read back at the end (present with the name last written, or gone when
deleted). It prints p50/p99 by kind, wall and CPU time (server and client) and load average.

    python bench/soak.py                          # 60 s, embedded store, 64 clients
    python bench/soak.py --seconds 20 --store postgis
    python bench/soak.py --store postgis --database URL   # a server to make a database on
    python bench/soak.py --log server.log        # keep the server's log (5xx, slow starts)

Targets: 0 5xx, 0 lost writes, 0 requests failing during the rolling restart.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from common import fmt, table

from tests.cli_process import run_livingcircle

HOST = "127.0.0.1"
REGION = "helsinki"
LOCAL_POSTGIS = "postgresql+psycopg://livingcircle:livingcircle@127.0.0.1:5432/postgres"
OWNER = "soak-dept"
#: answers that are part of the protocol, not failures (an edit waiting out an import: 409)
EXPECTED = {200, 201, 204, 409}


@dataclass
class Tally:
    """What the clients saw."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    status: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    transport: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    during_restart: int = 0
    restart: tuple[float, float] | None = None  # monotonic start, end
    #: facility id -> name last acknowledged, or None once its DELETE was acknowledged
    written: dict[str, str | None] = field(default_factory=dict)
    imports: list[int] = field(default_factory=list)
    #: the rolling restart's steps: seconds after SIGHUP, what happened
    steps: list[tuple[float, str]] = field(default_factory=list)

    def failed(self, at: float) -> None:
        if self.restart and self.restart[0] <= at <= (self.restart[1] or float("inf")):
            self.during_restart += 1


# -- set-up: store, key, lists, server --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def make_database(server_url: str) -> tuple[str, Any]:
    """A throwaway upgraded database on ``server_url``; returns its URL and its drop."""
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    from livingcircle.data.postgis import dispose_engines, upgrade  # noqa: PLC0415

    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"livingcircle_soak_{secrets.token_hex(4)}"
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        template = "livingcircle_template"  # with PostGIS ('make postgis'), as the tests use
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template if found else "template1")
            )
        )
    db_url = url.set(database=name).render_as_string(hide_password=False)
    upgrade(db_url)

    def drop() -> None:
        dispose_engines()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    return db_url, drop


def prepare(store: Any, folder: Path, seed: int) -> list[tuple[float, float]]:
    """Load the sample, write two department lists; return street points to query."""
    from livingcircle.data.load import load_osm  # noqa: PLC0415
    from livingcircle.data.sample import sample_department, sample_file  # noqa: PLC0415
    from livingcircle.geo.atlas import Atlas  # noqa: PLC0415
    from livingcircle.geo.standards import load_standard  # noqa: PLC0415

    standard = load_standard()
    load_osm(store, sample_file(), REGION, standard)
    region = Atlas(store, standard).region(REGION)
    for i, n_new in enumerate((3, 6)):
        rows, mapping = sample_department(region, n_new)
        rows.to_csv(folder / f"list-{i}.csv", index=False, encoding="utf-8")
        (folder / "list.toml").write_text(mapping, encoding="utf-8")
    lonlat = region.unproject(region.net.node_xy)
    picks = np.random.default_rng(seed).choice(len(lonlat), 400, replace=False)
    return [(float(lonlat[p, 0]), float(lonlat[p, 1])) for p in picks]


def start_server(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[str]:
    with open(log, "w") as out:
        command = [sys.executable, "-m", "livingcircle", "serve", "--host", HOST, "--port"]
        command += [str(port), "--workers", str(workers), "--no-access-log"]
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


def wait_ready(process: subprocess.Popen[str], base: str, log: Path, within_s: float = 180) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.3)
    process.kill()
    raise SystemExit(f"the server did not start:\n{log.read_text()}")


# -- the clients -------------------------------------------------------------------------------


async def request(
    http: httpx.AsyncClient, tally: Tally, kind: str, method: str, url: str, **kw: Any
) -> httpx.Response | None:
    started = time.monotonic()
    try:
        response = await http.request(method, url, **kw)
    except httpx.HTTPError as exc:
        tally.transport[type(exc).__name__] += 1
        tally.failed(started)
        return None
    tally.latency[kind].append(time.monotonic() - started)
    tally.status[kind][response.status_code] += 1
    if response.status_code >= 500:  # a 4xx is the client's: counted apart, by code
        tally.failed(started)
    return response


async def client(
    n: int, base: str, key: str, points: list[tuple[float, float]], until: float, tally: Tally
) -> None:
    rng = random.Random(n)
    mine: list[str] = []  # ids of this client's facilities that exist
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        while time.monotonic() < until:
            lon, lat = rng.choice(points)
            roll = rng.random()
            if roll < 0.5:
                params = {"lat": lat, "lon": lon, "category": "pharmacy", "k": 3}
                await request(http, tally, "nearest", "GET", "/v1/nearest", params=params)
            elif roll < 0.8:
                params = {"lat": lat, "lon": lon, "minutes": 10}
                await request(http, tally, "catchment", "GET", "/v1/catchment", params=params)
            else:
                await edit(http, tally, key, rng, mine, lon, lat)


async def edit(
    http: httpx.AsyncClient,
    tally: Tally,
    key: str,
    rng: random.Random,
    mine: list[str],
    lon: float,
    lat: float,
) -> None:
    headers = {"X-API-Key": key}
    path = f"/v1/regions/{REGION}/facilities"
    name = f"soak {secrets.token_hex(4)}"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"category": "pharmacy", "name": name},
    }
    if not mine or rng.random() < 0.4:
        feature["properties"]["source_id"] = secrets.token_hex(6)
        done = await request(http, tally, "create", "POST", path, json=feature, headers=headers)
        if done is not None and done.status_code == 201:
            fid = done.json()["id"]
            mine.append(fid)
            tally.written[fid] = name
    elif rng.random() < 0.7:
        fid = rng.choice(mine)
        url = f"{path}/{fid}"
        done = await request(http, tally, "update", "PUT", url, json=feature, headers=headers)
        if done is not None and done.status_code == 200:
            tally.written[fid] = name
    else:
        fid = mine.pop(rng.randrange(len(mine)))
        done = await request(http, tally, "delete", "DELETE", f"{path}/{fid}", headers=headers)
        if done is not None and done.status_code == 204:
            tally.written[fid] = None
        else:
            mine.append(fid)


async def importer(env: dict[str, str], folder: Path, until: float, tally: Tally) -> None:
    """Import the two lists in turn, every few seconds, as a department's nightly job would."""
    i = 0
    while time.monotonic() < until - 5:
        await asyncio.sleep(4)
        listed = folder / f"list-{i % 2}.csv"
        args = ("import", str(listed), "-m", str(folder / "list.toml"), "-r", REGION, "--quiet")
        done = await asyncio.to_thread(
            run_livingcircle, env, *args, "--report", str(folder / "rejected.csv")
        )
        tally.imports.append(done.returncode)
        i += 1


async def restarter(master: psutil.Process, at: float, until: float, tally: Tally) -> None:
    """SIGHUP the master at ``at``; the restart ends when every old worker is gone.

    A new worker that cannot start leaves the old ones serving: the restart then stays
    unfinished (the server's log says why), and the soak ends on time anyway.
    """
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    old = _workers(master)
    tally.restart = (time.monotonic(), 0.0)
    master.send_signal(signal.SIGHUP)
    seen, gone = set(old), set()
    while any(psutil.pid_exists(pid) for pid in old):
        if time.monotonic() > until + 60:  # clients stop at until; a start may take longer
            return
        await asyncio.sleep(0.1)
        now = _workers(master)
        after = time.monotonic() - tally.restart[0]
        tally.steps += [(after, f"worker {pid} started") for pid in sorted(now - seen)]
        left = {pid for pid in old - gone if not psutil.pid_exists(pid)}
        tally.steps += [(after, f"worker {pid} gone") for pid in sorted(left)]
        seen, gone = seen | now, gone | left
    tally.restart = (tally.restart[0], time.monotonic())


def _workers(master: psutil.Process) -> set[int]:
    try:
        return {p.pid for p in master.children() if "spawn_main" in " ".join(p.cmdline())}
    except psutil.Error:  # a child went while it was read
        return set()


async def lost_writes(base: str, tally: Tally) -> int:
    """Acknowledged writes not found as acknowledged (each one is printed, to find why)."""
    lost = 0
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for fid, name in tally.written.items():
            got = await http.get(f"/v1/regions/{REGION}/facilities/{fid}")
            found = got.json()["properties"] if got.status_code == 200 else None
            if (name is None) != (found is None) or (found and found["name"] != name):
                lost += 1
                print(f"lost write: {fid} acknowledged as {name!r}, now {got.status_code} {found}")
    return lost


async def soak(args: argparse.Namespace, env: dict[str, str], folder: Path) -> None:
    store, drop = open_soak_store(args, env, folder)
    try:
        points = prepare(store, folder, args.seed)
        made = run_livingcircle(env, "keys", "add", "--owner", OWNER)
        if made.returncode != 0:
            raise SystemExit(f"cannot make a key: {made.stderr}")
        key = made.stdout.strip().splitlines()[-1]
        port = free_port()
        base = f"http://{HOST}:{port}"
        log = folder / "server.log"
        server = start_server(env, port, args.workers, log)
        try:
            wait_ready(server, base, log)
            await run_clients(args, env, folder, base, key, points, server, log)
        finally:
            server.terminate()
            server.wait(90)
            if args.log is not None:  # the temporary folder goes: keep why a request failed
                args.log.write_text(log.read_text())
    finally:
        if drop is not None:
            drop()


def open_soak_store(args: argparse.Namespace, env: dict[str, str], folder: Path) -> Any:
    from livingcircle.data.embedded import FileStore  # noqa: PLC0415

    if args.store == "embedded":
        env["LC_DATA_DIR"] = str(folder / "store")
        env.pop("LC_DATABASE_URL", None)
        return FileStore(folder / "store"), None
    from livingcircle.data.postgis import PostgisStore  # noqa: PLC0415

    url, drop = make_database(args.database)
    env["LC_DATABASE_URL"] = url
    return PostgisStore(url), drop


async def run_clients(
    args: argparse.Namespace,
    env: dict[str, str],
    folder: Path,
    base: str,
    key: str,
    points: list[tuple[float, float]],
    server: subprocess.Popen[str],
    log: Path,
) -> None:
    master = psutil.Process(server.pid)
    tally = Tally()
    cpu_before = cpu_of(master)
    mine_before = psutil.Process().cpu_times()
    started = time.monotonic()
    until = started + args.seconds
    tasks = [client(n, base, key, points, until, tally) for n in range(args.clients)]
    tasks += [
        importer(env, folder, until, tally),
        restarter(master, started + args.seconds / 2, until, tally),
    ]
    await asyncio.gather(*tasks)
    wall = time.monotonic() - started
    server_cpu = cpu_of(master) - cpu_before
    mine = psutil.Process().cpu_times()
    client_cpu = (mine.user - mine_before.user) + (mine.system - mine_before.system)
    lost = await lost_writes(base, tally)
    report(args, tally, wall, server_cpu, client_cpu, lost)


def cpu_of(master: psutil.Process) -> float:
    """CPU seconds of the master and its live workers (restarted ones count until they exit)."""
    total = 0.0
    for p in [master, *master.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def report(
    args: argparse.Namespace,
    tally: Tally,
    wall: float,
    server_cpu: float,
    client_cpu: float,
    lost: int,
) -> None:
    rows = []
    for kind in ("nearest", "catchment", "create", "update", "delete"):
        seconds = np.array(tally.latency.get(kind, [0.0])) * 1000
        codes = tally.status.get(kind, {})
        fives = sum(v for c, v in codes.items() if c >= 500)
        other = " ".join(f"{c}x{v}" for c, v in sorted(codes.items()) if c not in EXPECTED)
        busy = codes.get(409, 0)
        rows.append(
            [kind, fmt(sum(codes.values())), fmt(float(np.percentile(seconds, 50))),
             fmt(float(np.percentile(seconds, 99))), fmt(fives), fmt(busy), other or "0"]
        )  # fmt: skip
    print(f"\nsoak: {args.store} store, {args.clients} clients, {args.workers} workers")
    print(table(["kind", "requests", "p50 ms", "p99 ms", "5xx", "409 busy", "other"], rows))
    restart = tally.restart or (0.0, 0.0)
    transport = ", ".join(f"{k} {v}" for k, v in tally.transport.items()) or "0"
    totals = [
        ["wall s", fmt(wall)],
        ["server CPU s", fmt(server_cpu)],
        ["client CPU s", fmt(client_cpu)],
        ["load average (1, 5, 15 min)", ", ".join(f"{x:.2f}" for x in os.getloadavg())],
        ["transport errors", transport],
        ["imports (ok / run)", f"{tally.imports.count(0)} / {len(tally.imports)}"],
        ["rolling restart s", fmt(restart[1] - restart[0]) if restart[1] else "not finished"],
        ["failed during the restart", fmt(tally.during_restart)],
        ["acknowledged writes checked", fmt(len(tally.written))],
        ["lost writes", fmt(lost)],
    ]
    print(table(["total", "value"], totals))
    for after, step in tally.steps:  # a process is seen when it forks: it is ready later
        print(f"  rolling restart +{after:5.1f} s: {step}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--store", choices=["embedded", "postgis"], default="embedded")
    parser.add_argument(
        "--database",
        default=os.environ.get("LC_TEST_DATABASE_URL", LOCAL_POSTGIS),
        help="PostgreSQL server (and role) to make the throwaway database on.",
    )
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--log", type=Path, help="Keep the server's log in this file.")
    args = parser.parse_args()
    env = {**os.environ, "LC_REFRESH_SECONDS": "2"}
    with tempfile.TemporaryDirectory(prefix="lc-soak-") as tmp:
        asyncio.run(soak(args, env, Path(tmp)))


if __name__ == "__main__":
    main()
