"""Province-scale gaps on Dask: a generated province on 1 and 2 workers, the 1M city beside.

Two parts, in one invocation, with the load average (the machine is shared):

1. A generated province of ``--province-nodes`` street nodes (cities of ``--city-nodes``
   each, side by side, see ``livingcircle.data.synthetic.synthetic_province``), on a
   LocalCluster of each ``--workers`` count. Every city is built, its homes placed (one per
   street node, 3 residents each) and its tiles planned ON A WORKER
   (``livingcircle.distributed.analyse_built_province``): this process never holds a city.
   The table gives wall time, CPU time (this process plus the workers'), peak memory per
   worker, tiles, halo overhead (subgraph nodes over core nodes, minus one) and tiles per
   second. From the measured CPU per node (building and tiles) it projects a 100M-node
   province on 16, 64 and 256 workers and prints what it assumes.
2. One city of ``--nodes`` (default 1M): ``geo.gaps.analyse`` in this process beside
   ``analyse_province`` on 2 workers; both CPU times count the same work (the homes already
   placed), and the workers' start-up imports are paid before the clock starts.

    python bench/bench_distributed.py --province-nodes 10000000 --workers 1,2 --nodes 1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from common import fmt, table

from livingcircle.cluster import connect
from livingcircle.data.synthetic import SyntheticCity, synthetic_province
from livingcircle.distributed import (
    ProvinceJob,
    ProvinceResult,
    analyse_built_province,
    analyse_province,
    run_horizon,
)
from livingcircle.geo.demand import Demand
from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import analyse
from livingcircle.geo.standards import load_standard

HEADERS = [
    "run",
    "wall s",
    "CPU s",
    "peak GB/worker",
    "tiles",
    "halo overhead",
    "median tile CPU s",
    "tiles/s",
]
#: Share of the ideal speed-up a larger cluster is assumed to keep (scheduler, stragglers).
EFFICIENCY = 0.85


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


def _worker_stats() -> dict[str, float]:
    """A worker's CPU seconds so far and its peak resident memory (runs on the worker)."""
    import resource  # noqa: PLC0415

    import livingcircle.tile_tasks  # noqa: F401, PLC0415  (the task's imports, paid up front)

    return {
        "cpu": _cpu(psutil.Process()),
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,  # kB on Linux
    }


@contextmanager
def measured(client: Any) -> Iterator[dict[str, float]]:
    """Wall, CPU (this process and the warm workers) and the workers' peak memory.

    Start the cluster while this process is small: a worker's peak (``ru_maxrss``) counts
    the pages it was forked with.
    """
    stats: dict[str, float] = {}
    me = psutil.Process()
    before = client.run(_worker_stats)
    cpu0, t0 = _cpu(me), time.perf_counter()
    yield stats
    stats["wall"] = time.perf_counter() - t0
    stats["driver_cpu"] = _cpu(me) - cpu0
    after = client.run(_worker_stats)
    stats["cpu"] = stats["driver_cpu"] + sum(after[w]["cpu"] - before[w]["cpu"] for w in after)
    stats["peak_gb"] = max(a["peak_gb"] for a in after.values())
    stats["driver_peak_gb"] = _peak_gb()


def _peak_gb() -> float:
    import resource  # noqa: PLC0415

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def run_stats(result: ProvinceResult, stats: dict[str, float]) -> dict[str, float]:
    """Tiles, halo overhead and the CPU per tile and per region of a finished run."""
    plans = result.plans.values()
    tiles = sum(p["tiles"] for p in plans)
    cpu = sorted(result.tile_cpu_s)
    stats.update(
        tiles=tiles,
        halo=sum(p["halo_overhead"] * p["tiles"] for p in plans) / max(tiles, 1),
        tile_cpu=cpu[len(cpu) // 2] if cpu else float("nan"),
        tile_cpu_sum=sum(cpu),
        build_cpu_sum=sum(p.get("build_cpu_s", 0.0) for p in plans),
        tps=tiles / stats["wall"],
    )
    return stats


def row(name: str, s: dict[str, float]) -> list[str]:
    if "tiles" not in s:
        return [name, fmt(s["wall"]), fmt(s["cpu"]), fmt(s["peak_gb"], 2), "-", "-", "-", "-"]
    return [
        name,
        fmt(s["wall"]),
        fmt(s["cpu"]),
        fmt(s["peak_gb"], 2),
        fmt(int(s["tiles"])),
        fmt(s["halo"], 2),
        fmt(s["tile_cpu"], 2),
        fmt(s["tps"], 2),
    ]


# -- 1. the province, built on the workers ------------------------------------------------


def province(cities: list[SyntheticCity], workers: int, job: ProvinceJob) -> dict[str, float]:
    shutil.rmtree(job.out, ignore_errors=True)
    with connect(workers=workers, progress=False) as client, measured(client) as stats:
        result = analyse_built_province(client, cities, load_standard(), job)
    if result.failed:
        raise SystemExit(f"{len(result.failed)} tile(s) failed: {result.failed[0].reason}")
    return run_stats(result, stats)


def projection(n_nodes: int, s: dict[str, float]) -> list[list[str]]:
    """100M nodes from the measured worker CPU per node (building plus tiles)."""
    per_node = (s["build_cpu_sum"] + s["tile_cpu_sum"]) / n_nodes
    tiles = s["tiles"] * 100e6 / n_nodes
    rows = []
    for w in (16, 64, 256):
        minutes = per_node * 100e6 / w / EFFICIENCY / 60
        rows.append([f"{w} workers", fmt(minutes), fmt(tiles / w), fmt(s["tile_cpu"], 2)])
    return rows


def print_projection(n_nodes: int, s: dict[str, float]) -> None:
    per_node_us = (s["build_cpu_sum"] + s["tile_cpu_sum"]) / n_nodes * 1e6
    print(
        f"projection for 100M nodes: {per_node_us:.1f} us of worker CPU per node measured on "
        f"{n_nodes:,} nodes ({s['build_cpu_sum']:.0f} s building and planning the cities, "
        f"{s['tile_cpu_sum']:.0f} s in tiles, halo overhead {s['halo']:.2f} included),"
    )
    print(
        f"times 100M, spread over the workers at {EFFICIENCY:.0%} efficiency. Assumes: CPU-bound"
        " tiles at this density and horizon, one core per worker as here; cities of the same"
    )
    print(
        "size built on the workers in parallel (no driver step grows with the province); "
        "inputs and partitions on shared storage whose transfer overlaps the CPU work "
        "(a few MB per tile);"
    )
    print(
        "the scheduler's ~1 ms per task negligible at this tile count; the driver's metadata "
        "and summaries (read partition by partition) not counted."
    )
    print(
        table(
            ["cluster", "minutes", "tiles per worker", "median tile CPU s"], projection(n_nodes, s)
        )
    )


# -- 2. one city: one process beside 2 workers --------------------------------------------


def one_city(n: int, job: ProvinceJob) -> tuple[dict[str, float], dict[str, float]]:
    shutil.rmtree(job.out, ignore_errors=True)
    with connect(workers=2, progress=False) as client:  # before the city: small workers
        region, demand = SyntheticCity(f"grid{n}", n, seed=11)()
        single = one_machine(region, demand, job)
        with measured(client) as stats:
            result = analyse_province(client, [(region, demand)], job)
    return single, run_stats(result, stats)


def one_machine(region: Region, demand: Demand, job: ProvinceJob) -> dict[str, float]:
    cats = region.standard.resolve_categories(job.categories)
    horizon = run_horizon(region.standard, job, cats)
    me = psutil.Process()
    rss0 = me.memory_info().rss
    cpu0, t0 = _cpu(me), time.perf_counter()
    analyse(region, demand, cats, job.k, job.minutes, job.speed_m_s, horizon_m=horizon)
    return {
        "wall": time.perf_counter() - t0,
        "cpu": _cpu(me) - cpu0,
        "peak_gb": max(_peak_gb(), rss0 / 1e9),
    }


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def timed(what: str, fn: Callable[[], Any]) -> Any:
    print(f"{what} ... {load_line()}", flush=True)
    return fn()


def done(rows: list[list[str]], new: list[str]) -> None:
    """Keep a finished row and print it at once (a long run shows its rows as they come)."""
    rows.append(new)
    print("  " + "  ".join(new), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--province-nodes", type=int, default=2_000_000)
    parser.add_argument("--city-nodes", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--nodes", type=int, default=1_000_000, help="the one city (0: skip)")
    # 100k nodes+homes per tile: at the default horizon the halo is 1.16 km (12 blocks), so
    # 25k-point tiles carry ~45 % halo nodes and 100k-point tiles ~22 %; the halo is most
    # of the distributed CPU overhead at 1M nodes
    parser.add_argument("--max-points", type=int, default=100_000, help="nodes+homes per tile")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-dist-"))
    job = ProvinceJob(str(tmp / "out"), max_points=args.max_points)
    cities = synthetic_province(args.province_nodes, args.city_nodes, seed=21)
    rows: list[list[str]] = []
    last: dict[str, float] = {}
    for w in [int(x) for x in args.workers.split(",")]:
        last = timed(f"province, {w} worker(s)", lambda w=w: province(cities, w, job))
        done(rows, row(f"{args.province_nodes:,}-node province, {w} worker(s)", last))
    if args.nodes:
        single, dist = timed(f"{args.nodes:,}-node city", lambda: one_city(args.nodes, job))
        done(rows, row(f"{args.nodes:,}-node city, one process", single))
        done(rows, row(f"{args.nodes:,}-node city, Dask 2 workers", dist))
    print()
    print(f"{len(cities)} cities of up to {args.city_nodes:,} nodes, built on the workers")
    print(table(HEADERS, rows))
    print(load_line())
    print()
    if last:
        print_projection(args.province_nodes, last)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
