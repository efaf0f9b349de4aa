"""Province-scale gaps on Dask: halo overhead, time per tile, 1 vs 2 workers, one machine beside.

For each generated city (``--nodes``, default 200k), the same homes (every street node, 3
residents each) are analysed by the single-process ``geo.gaps.analyse`` and by
``livingcircle.distributed.analyse_province`` on a LocalCluster of 1 and of 2 workers; the
table prints wall time, CPU time (this process and the workers'), peak memory per worker,
tiles, halo overhead and tiles per second, with the load average (the machine is shared).
From the measured per-tile cost it projects a 100M-node province on 16, 64 and 256 workers.

    python bench/bench_distributed.py --nodes 200000 --workers 1,2
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from common import fmt, table

from livingcircle.cluster import connect
from livingcircle.data.synthetic import grid_city
from livingcircle.distributed import ProvinceJob, analyse_province, run_horizon
from livingcircle.geo.demand import demand_from_nodes, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import analyse
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.standards import load_standard


def city(n: int) -> tuple[Region, Any]:
    nodes, edges, fac = grid_city(n, seed=11)
    region = Region(f"grid{n}", StreetNetwork.from_frames(nodes, edges), fac, load_standard())
    homes = demand_from_nodes(region.net, region.unproject(region.net.node_xy), 3.0 * n)
    return region, place_demand(region.net, homes, region.max_snap_m)


def one_machine(region: Region, demand: Any, job: ProvinceJob) -> dict[str, float]:
    cats = region.standard.resolve_categories(None)
    horizon = run_horizon(region.standard, job, cats)
    me = psutil.Process()
    cpu0, t0 = me.cpu_times(), time.perf_counter()
    analyse(region, demand, cats, job.k, job.minutes, job.speed_m_s, horizon_m=horizon)
    cpu1 = me.cpu_times()
    return {
        "wall": time.perf_counter() - t0,
        "cpu": (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system),
        "rss_gb": me.memory_info().rss / 1e9,
    }


def _worker_stats() -> dict[str, float]:
    me = psutil.Process()
    times = me.cpu_times()
    return {"cpu": times.user + times.system, "peak_gb": _peak_rss_gb()}


def _peak_rss_gb() -> float:
    import resource  # noqa: PLC0415

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def distributed(
    region: Region, demand: Any, workers: int, max_points: int, out: Path
) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    job = ProvinceJob(str(out), max_points=max_points)
    me = psutil.Process()
    with connect(workers=workers, progress=False) as client:
        before = client.run(_worker_stats)
        cpu0, t0 = me.cpu_times(), time.perf_counter()
        result = analyse_province(client, [(region, demand)], job)
        wall = time.perf_counter() - t0
        after = client.run(_worker_stats)
    cpu1 = me.cpu_times()
    worker_cpu = sum(after[w]["cpu"] - before[w]["cpu"] for w in after)
    plan = result.plans[region.name]
    per_tile = sorted(result.tile_seconds)
    return {
        "wall": wall,
        "cpu": worker_cpu + (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system),
        "peak_gb": max(a["peak_gb"] for a in after.values()),
        "tiles": plan["tiles"],
        "halo": plan["halo_overhead"],
        "tile_s": per_tile[len(per_tile) // 2] if per_tile else float("nan"),
        "tile_sum": sum(per_tile),
        "tps": plan["tiles"] / wall,
    }


def projection(n_nodes: int, stats: dict[str, float]) -> list[list[str]]:
    """100M nodes from the measured task seconds per node, at 85 % parallel efficiency."""
    per_node = stats["tile_sum"] / n_nodes
    total = per_node * 100e6
    return [
        [f"{w} workers", fmt(total / w / 0.85 / 60), fmt(stats["tile_s"], 2)] for w in (16, 64, 256)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", default="200000", help="comma-separated city sizes")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--max-points", type=int, default=25_000, help="nodes+homes per tile")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lc-bench-dist-"))
    rows, last = [], {}
    for n in [int(x) for x in args.nodes.split(",")]:
        region, demand = city(n)
        job = ProvinceJob(str(tmp / "single"))
        single = one_machine(region, demand, job)
        rows.append(
            [
                f"{n:,} one process",
                fmt(single["wall"]),
                fmt(single["cpu"]),
                fmt(single["rss_gb"], 2),
                "-",
                "-",
                "-",
                "-",
            ]
        )
        for w in [int(x) for x in args.workers.split(",")]:
            last = distributed(region, demand, w, args.max_points, tmp / f"w{w}")
            rows.append(
                [
                    f"{n:,} Dask {w} worker(s)",
                    fmt(last["wall"]),
                    fmt(last["cpu"]),
                    fmt(last["peak_gb"], 2),
                    fmt(int(last["tiles"])),
                    fmt(last["halo"], 2),
                    fmt(last["tile_s"], 2),
                    fmt(last["tps"], 2),
                ]
            )
        print(
            table(
                [
                    "run",
                    "wall s",
                    "CPU s",
                    "peak GB/worker",
                    "tiles",
                    "halo overhead",
                    "median tile s",
                    "tiles/s",
                ],
                rows,
            )
        )
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print()
        print("projection for 100M nodes (task seconds per node measured above, times 100M,")
        print("spread over the workers at 85 % efficiency; assumes the same density and")
        print("horizon, inputs on shared storage, and no scheduler bottleneck at 1 task/tile):")
        print(table(["cluster", "minutes", "median tile s"], projection(n, last)))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
