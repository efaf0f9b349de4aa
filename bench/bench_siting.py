"""Siting benchmark: greedy, MCLP and p-median on 50 candidate sites, sample to a 1M-node grid.

    python bench/bench_siting.py [--sizes 100000,1000000] [--category clinic] [--sites 5]
                                 [--candidates 50] [--timeout 300] [--json FILE]

Homes as in bench_gaps.py: one per street node, up to 30 m off it, one resident each. For
one category the analysis runs first (timed apart), then
:func:`livingcircle.geo.siting_compare.compare_sites` on street-point candidates (the best-covering
``--candidates`` of them): the bounded searches from the candidates (shared by the methods),
then each method on the same candidates. Times are wall seconds (``solve s`` per method, from
the comparison itself) and the process's CPU seconds for the whole comparison; the load
average is read before and after each dataset, since the machine is shared.

Each dataset runs once, in its own child process; one that runs past ``--timeout`` is stopped
and the table shows what it had printed by then.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import numpy as np
from common import add_worker_options, fmt, load_dataset, log, table, worker_command

HOME_SCATTER_M = 30.0
MARK = "RESULT "
Result = dict[str, Any]


def emit(stage: str, **values: Any) -> None:
    """One stage's result, for the parent (it keeps what came before a time-out)."""
    print(MARK + json.dumps({"stage": stage, **values}), flush=True)


def worker(spec: str, args: argparse.Namespace) -> None:
    import geopandas as gpd  # noqa: PLC0415  (the child imports what it uses)

    from livingcircle.geo.demand import demand_frame, place_demand  # noqa: PLC0415
    from livingcircle.geo.engine import Region  # noqa: PLC0415
    from livingcircle.geo.gaps import analyse  # noqa: PLC0415
    from livingcircle.geo.network import StreetNetwork  # noqa: PLC0415
    from livingcircle.geo.reach import ReachGraph  # noqa: PLC0415
    from livingcircle.geo.siting_compare import compare_sites, shortfall  # noqa: PLC0415
    from livingcircle.geo.standards import load_standard  # noqa: PLC0415

    name, nodes, edges, facilities = load_dataset(spec, args.seed)
    region = Region(name, StreetNetwork.from_frames(nodes, edges), facilities, load_standard())
    net = region.net
    rng = np.random.default_rng(args.seed + 7)
    lonlat = region.unproject(
        net.node_xy + rng.uniform(-HOME_SCATTER_M, HOME_SCATTER_M, net.node_xy.shape)
    )
    frame = demand_frame(
        gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]),
        np.ones(len(lonlat)),
        np.arange(len(lonlat)).astype(str).astype(object),
    )
    demand = place_demand(net, frame, region.max_snap_m)
    graph = ReachGraph(net)
    t0 = time.perf_counter()
    res = analyse(region, demand, categories=[args.category], graph=graph)
    acc = res.access(args.category)
    emit(
        "analysis",
        dataset=name,
        nodes=net.n_nodes,
        homes=len(demand),
        analysis_s=time.perf_counter() - t0,
        uncovered=int((acc.nearest_m > acc.radius_m).sum()),
        radius_m=acc.radius_m,
    )
    c0, t0 = time.process_time(), time.perf_counter()
    summary, _ = compare_sites(
        region, res, args.category, args.sites, max_candidates=args.candidates, graph=graph
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = summary.to_dict(orient="records")
    emit("siting", wall_s=wall, cpu_s=cpu, rows=rows, notes=shortfall(summary))


def run_child(spec: str, args: argparse.Namespace) -> Result:
    cmd = worker_command(__file__, spec, args, ("category", "sites", "candidates", "seed"))
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    stopped = False
    try:
        proc = subprocess.run(
            cmd, stdout=subprocess.PIPE, text=True, check=False, timeout=args.timeout
        )
        out, code = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as e:
        raw = e.stdout or ""
        out, code, stopped = raw.decode() if isinstance(raw, bytes) else raw, None, True
    result: Result = {
        "spec": spec,
        "child_s": time.perf_counter() - t0,
        "stopped": stopped,
        "exit": code,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    for line in out.splitlines():
        if MARK in line:
            stage = json.loads(line.split(MARK, 1)[1])
            result[stage.pop("stage")] = stage
    return result


def report(results: list[Result], args: argparse.Namespace) -> str:
    headers = [
        "dataset",
        "homes",
        "uncovered",
        "analysis s",
        "method",
        "cand.",
        "covered",
        "of MCLP",
        "mean m",
        "solve s",
        "optimal",
        "compare s",
        "cpu s",
        "load 1m",
    ]
    lines, notes = [], []
    for r in results:
        a, s = r.get("analysis", {}), r.get("siting")
        load = f"{r['load_before'][0]:.1f}->{r['load_after'][0]:.1f}"
        head = [
            a.get("dataset", r["spec"]),
            fmt(a.get("homes")),
            fmt(a.get("uncovered")),
            fmt(a.get("analysis_s")),
        ]
        if s is None:
            why = (
                f"stopped after {args.timeout:.0f} s" if r["stopped"] else f"exit code {r['exit']}"
            )
            lines.append([*head, f"({why})", *["-"] * 8, load])
            continue
        for i, row in enumerate(s["rows"]):
            lines.append(
                [
                    *(head if i == 0 else [""] * 4),
                    row["method"],
                    fmt(int(row["candidates"])),
                    fmt(float(row["newly_covered_population"]), 0),
                    fmt(100 * float(row["share_of_mclp_optimum"])) + "%",
                    fmt(float(row["mean_m"])),
                    fmt(float(row["solve_s"]), 2),
                    "-"
                    if row["method"] == "greedy"
                    else ("yes" if row["optimal"] else f"no (gap {row['gap']:.2%})"),
                    fmt(s["wall_s"]) if i == 0 else "",
                    fmt(s["cpu_s"]) if i == 0 else "",
                    load if i == 0 else "",
                ]
            )
        notes += [f"{a.get('dataset')}: {n}" for n in s["notes"]]
    return "\n".join([table(headers, lines), "", *notes])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="100000,1000000", help="grid city sizes in nodes, comma-separated"
    )
    parser.add_argument("--category", default="clinic")
    parser.add_argument("--sites", type=int, default=5, help="sites each method chooses")
    parser.add_argument("--candidates", type=int, default=50, help="street-point candidates")
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="stop a dataset's child after this many seconds",
    )
    add_worker_options(parser)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args)
        return 0
    specs = ["sample"] + [f"grid{int(s)}" for s in args.sizes.split(",") if s.strip()]
    t0 = time.perf_counter()
    results = []
    for spec in specs:
        log(f"{spec}: running (at most {args.timeout:.0f} s)")
        results.append(run_child(spec, args))
    print(
        f"livingcircle siting benchmark: {args.category}, {args.sites} sites from "
        f"{args.candidates} street-point candidates ({os.cpu_count()} CPUs)\n"
    )
    print(report(results, args), flush=True)
    print(
        f"\n(total {time.perf_counter() - t0:.0f} s; 'compare s' = the whole comparison: "
        "the candidates' bounded searches plus every method, wall time; 'cpu s' its CPU "
        "time, all threads; 'solve s' = one method on the shared pairs; 'covered' = "
        "residents beyond every existing facility's radius that the chosen sites reach; "
        "'mean m' = population-weighted walk to the nearest of existing and chosen sites, "
        "capped at the analysis horizon)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0 if all("siting" in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
