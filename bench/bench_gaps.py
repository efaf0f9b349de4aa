"""Planner analysis benchmark: every home x every category, against pandana on the same graph.

    python bench/bench_gaps.py [--quick] [--sizes 100000,1000000] [--k 5]
                               [--pandana-timeout 1800] [--json FILE]

Homes: one per street node, placed up to 30 m off it (so every home is snapped onto an edge
with an access leg), one resident each. The full analysis is ``place_demand`` (snapping the
homes) plus ``geo.gaps.analyse`` for every category of the standard: distance to the nearest
(exact, unbounded), the k nearest and the counts within 5/10/15 minutes (1 m/s). The region
build (network arrays, facility snapping) is timed apart: a server or the CLI has it already.

pandana gets the same graph (directed arcs, one-way streets respected), facility positions and
homes: ``Network`` (its set-up builds contraction hierarchies), ``precompute(900)``, then per
category ``set_pois`` + ``nearest_pois(900, k)`` and three ``aggregate(type="count")`` calls
for the counts, and ``get_node_ids`` for the homes (pandana snaps to the nearest node).

Every side of every dataset runs in its own child process, so peak memory (``ru_maxrss``) is
its own; a child past its time limit is stopped and reported as a lower bound.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import fmt, load_dataset, table

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MINUTES = (5, 10, 15)
SPEED = 1.0
HOME_SCATTER_M = 30.0
TARGET_SPEEDUP = 3.0
TARGET_LARGE_S = 60.0
TARGET_LARGE_MB = 4096.0
TARGET_LARGE_NODES = 1_000_000

Result = dict[str, Any]
MARK = "RESULT "


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def homes_xy(node_xy: Any, seed: int) -> Any:
    rng = np.random.default_rng(seed + 7)
    return node_xy + rng.uniform(-HOME_SCATTER_M, HOME_SCATTER_M, node_xy.shape)


def build_region(spec: str, seed: int) -> tuple[Any, Any, float, float]:
    from livingcircle.geo.engine import Region  # noqa: PLC0415
    from livingcircle.geo.network import StreetNetwork  # noqa: PLC0415
    from livingcircle.geo.standards import load_standard  # noqa: PLC0415

    t0 = time.perf_counter()
    name, nodes, edges, facilities = load_dataset(spec, seed)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    region = Region(name, StreetNetwork.from_frames(nodes, edges), facilities, load_standard())
    return region, nodes, load_s, time.perf_counter() - t0


# -- ours ---------------------------------------------------------------------------------


def run_ours(spec: str, seed: int, k: int) -> Result:
    import geopandas as gpd  # noqa: PLC0415

    from livingcircle.geo.demand import demand_frame, place_demand  # noqa: PLC0415
    from livingcircle.geo.gaps import analyse  # noqa: PLC0415

    region, _, load_s, build_s = build_region(spec, seed)
    net = region.net
    log(
        f"ours {spec}: {net.n_nodes:,} nodes, {len(region.facilities.category):,} facilities; "
        f"region built in {build_s:.1f} s"
    )
    lonlat = region.unproject(homes_xy(net.node_xy, seed))
    frame = demand_frame(
        gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]),
        np.ones(len(lonlat)),
        np.arange(len(lonlat)).astype(str).astype(object),
    )
    before = peak_mb()
    best: dict[str, float] = {}
    for _ in range(repeats(net.n_nodes)):  # best of a few: other jobs share the machine
        c0, t0 = time.process_time(), time.perf_counter()
        demand = place_demand(net, frame, region.max_snap_m)
        t1 = time.perf_counter()
        res = analyse(region, demand, k=k, minutes=MINUTES, speed_m_s=SPEED)
        t2 = time.perf_counter()
        res.coverage()
        res.tier_coverage()
        t3 = time.perf_counter()
        run = {
            "snap_s": t1 - t0,
            "analyse_s": t2 - t1,
            "summary_s": t3 - t2,
            "analysis_s": t3 - t0,
            "cpu_s": time.process_time() - c0,
            **res.timings_s,
        }
        if not best or run["analysis_s"] < best["analysis_s"]:
            best = run
    snap_s, analyse_s, summary_s = best["snap_s"], best["analyse_s"], best["summary_s"]
    res.timings_s.update({k_: best[k_] for k_ in res.timings_s})
    covered = float(np.mean([np.isfinite(a.nearest_m).mean() for a in res.categories.values()]))
    log(f"ours {spec}: snap {snap_s:.1f} s, analyse {analyse_s:.1f} s {res.timings_s}")
    return {
        "dataset": region.name,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "facilities": len(region.facilities.category),
        "homes": len(demand),
        "categories": len(res.categories),
        "load_s": load_s,
        "build_s": build_s,
        "snap_s": snap_s,
        "analyse_s": analyse_s,
        "summary_s": summary_s,
        "analysis_s": best["analysis_s"],
        "cpu_s": best["cpu_s"],
        "timings": res.timings_s,
        "reached_share": covered,
        "peak_mb_before": before,
        "peak_mb": peak_mb(),
    }


# -- pandana ------------------------------------------------------------------------------


def run_pandana(spec: str, seed: int, k: int) -> Result:
    import pandana  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    region, _, _, _ = build_region(spec, seed)
    net, fac = region.net, region.facilities
    two = ~net.edge_oneway
    src = np.concatenate([net.edge_u, net.edge_v[two]])
    dst = np.concatenate([net.edge_v, net.edge_u[two]])
    weight = np.concatenate([net.edge_length, net.edge_length[two]])
    home = homes_xy(net.node_xy, seed)
    cats = region.standard.category_ids
    horizon = max(MINUTES) * 60 * SPEED
    del region
    before = peak_mb()
    c0, t0 = time.process_time(), time.perf_counter()
    pn = pandana.Network(
        pd.Series(net.node_xy[:, 0]),
        pd.Series(net.node_xy[:, 1]),
        pd.Series(src),
        pd.Series(dst),
        pd.DataFrame({"w": weight}),
        twoway=False,
    )
    network_s = time.perf_counter() - t0
    log(f"pandana {spec}: Network (contraction hierarchies) in {network_s:.1f} s")
    t0 = time.perf_counter()
    pn.precompute(horizon)
    precompute_s = time.perf_counter() - t0
    log(f"pandana {spec}: precompute({horizon:.0f}) in {precompute_s:.1f} s")
    setup_cpu = time.process_time() - c0
    runs = [pandana_queries(pn, fac, cats, home, horizon, k) for _ in range(repeats(len(home)))]
    query_s, query_cpu = min(runs)
    log(f"pandana {spec}: queries in {query_s:.1f} s")
    return {
        "network_s": network_s,
        "precompute_s": precompute_s,
        "query_s": query_s,
        "total_s": network_s + precompute_s + query_s,
        "cpu_s": setup_cpu + query_cpu,
        "peak_mb_before": before,
        "peak_mb": peak_mb(),
    }


def pandana_queries(
    pn: Any, fac: Any, cats: tuple[str, ...], home: Any, horizon: float, k: int
) -> tuple[float, float]:
    import pandas as pd  # noqa: PLC0415

    c0, t0 = time.process_time(), time.perf_counter()
    home_nodes = pn.get_node_ids(pd.Series(home[:, 0]), pd.Series(home[:, 1])).to_numpy()
    for code, cat in enumerate(cats):
        rows = np.flatnonzero(fac.category == code)
        if len(rows) == 0:
            continue
        x, y = pd.Series(fac.anchor_xy[rows, 0]), pd.Series(fac.anchor_xy[rows, 1])
        pn.set_pois(category=cat, maxdist=horizon, maxitems=k, x_col=x, y_col=y)
        pn.nearest_pois(horizon, cat, num_pois=k).loc[home_nodes]
        pn.set(pn.get_node_ids(x, y), variable=pd.Series(np.ones(len(rows))), name="one")
        for m in MINUTES:
            pn.aggregate(m * 60 * SPEED, type="count", decay="flat", name="one").loc[home_nodes]
    return time.perf_counter() - t0, time.process_time() - c0


def repeats(n_nodes: int) -> int:
    return 3 if n_nodes <= 200_000 else 1


# -- driver -------------------------------------------------------------------------------


def run_child(side: str, spec: str, args: argparse.Namespace, timeout: float | None) -> Result:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        f"{side}:{spec}",
        "--k",
        str(args.k),
        "--seed",
        str(args.seed),
    ]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"{side} {spec}: stopped after {timeout:.0f} s")
        return {"timeout_s": timeout}
    lines = [x.split(MARK, 1)[1] for x in proc.stdout.splitlines() if MARK in x]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit code {proc.returncode}", "wall_s": time.perf_counter() - t0}
    result: Result = json.loads(lines[-1])
    return result


def pandana_total(p: Result) -> tuple[str, float | None]:
    if "total_s" in p:
        return fmt(p["total_s"]), float(p["total_s"])
    if "timeout_s" in p:
        return f"> {p['timeout_s']:,.0f} (stopped)", float(p["timeout_s"])
    return p.get("error", "-"), None


def report(rows: list[tuple[Result, Result]]) -> tuple[str, list[Result]]:
    headers = [
        "dataset",
        "nodes",
        "homes",
        "facil.",
        "build s",
        "snap s",
        "nearest s",
        "k+counts s",
        "analysis s",
        "cpu s",
        "peak MB",
        "pandana CH s",
        "precomp s",
        "queries s",
        "pandana s",
        "cpu s",
        "pandana MB",
        "speed-up",
    ]
    lines, targets = [], []
    for ours, pd_ in rows:
        if "error" in ours or "timeout_s" in ours:
            lines.append([ours.get("dataset", "?"), *["-"] * 17])
            continue
        total, value = pandana_total(pd_)
        speed = value / ours["analysis_s"] if value else None
        bound = "timeout_s" in pd_
        lines.append(
            [
                ours["dataset"],
                fmt(ours["nodes"]),
                fmt(ours["homes"]),
                fmt(ours["facilities"]),
                fmt(ours["build_s"]),
                fmt(ours["snap_s"]),
                fmt(ours["timings"]["nearest"]),
                fmt(ours["timings"]["k_and_counts"]),
                fmt(ours["analysis_s"]),
                fmt(ours.get("cpu_s")),
                fmt(ours["peak_mb"], 0),
                fmt(pd_.get("network_s")),
                fmt(pd_.get("precompute_s")),
                fmt(pd_.get("query_s")),
                total,
                fmt(pd_.get("cpu_s")),
                fmt(pd_.get("peak_mb"), 0),
                "-" if speed is None else (">" if bound else "") + f"{speed:,.1f}x",
            ]
        )
        if speed is not None:
            targets.append(
                {
                    "target": f"{ours['dataset']}: >= {TARGET_SPEEDUP:g}x pandana "
                    "(incl. its set-up)",
                    "value": speed,
                    "unit": "x" + (" (lower bound)" if bound else ""),
                    "pass": speed >= TARGET_SPEEDUP,
                }
            )
        if ours["nodes"] >= TARGET_LARGE_NODES:
            with_build = ours["analysis_s"] + ours["build_s"]
            targets.append(
                {
                    "target": f"{ours['dataset']}: analysis < {TARGET_LARGE_S:g} s",
                    "value": ours["analysis_s"],
                    "unit": "s",
                    "pass": ours["analysis_s"] < TARGET_LARGE_S,
                }
            )
            targets.append(
                {
                    "target": f"{ours['dataset']}: with region build < "
                    f"{TARGET_LARGE_S:g} s (stricter)",
                    "value": with_build,
                    "unit": "s",
                    "pass": with_build < TARGET_LARGE_S,
                }
            )
            targets.append(
                {
                    "target": f"{ours['dataset']}: peak memory < {TARGET_LARGE_MB:g} MB",
                    "value": ours["peak_mb"],
                    "unit": "MB",
                    "pass": ours["peak_mb"] < TARGET_LARGE_MB,
                }
            )
    parts = [
        "Full planner analysis: every home x every category (times in seconds; peak = the "
        "child's ru_maxrss, region and data included)",
        table(headers, lines),
    ]
    if targets:
        parts += [
            "",
            "Targets",
            table(
                ["target", "measured", "result"],
                [
                    [t["target"], f"{t['value']:,.1f} {t['unit']}", "PASS" if t["pass"] else "MISS"]
                    for t in targets
                ],
            ),
        ]
    return "\n".join(parts), targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sample and a 100k grid only")
    parser.add_argument(
        "--sizes",
        default=None,
        help="grid city sizes in nodes, comma-separated (default 100000,1000000)",
    )
    parser.add_argument("--k", type=int, default=5, help="nearest facilities kept per category")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pandana-timeout",
        type=float,
        default=1800.0,
        help="stop a pandana child after this many seconds",
    )
    parser.add_argument("--no-pandana", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        side, spec = args.worker.split(":", 1)
        fn = run_ours if side == "ours" else run_pandana
        print(MARK + json.dumps(fn(spec, args.seed, args.k)))  # pandana prints progress too
        return 0
    sizes = args.sizes or ("100000" if args.quick else "100000,1000000")
    specs = ["sample"] + [f"grid{int(s)}" for s in sizes.split(",") if s.strip()]
    t0 = time.perf_counter()
    rows = []
    for spec in specs:
        log(f"{spec}: ours")
        ours = run_child("ours", spec, args, None)
        log(f"{spec}: pandana")
        theirs = (
            {"error": "skipped"}
            if args.no_pandana
            else run_child("pandana", spec, args, args.pandana_timeout)
        )
        rows.append((ours, theirs))
    text, targets = report(rows)
    print(
        f"livingcircle planner-analysis benchmark (k={args.k}, minutes {MINUTES}, "
        f"{os.cpu_count()} CPUs)\n"
    )
    print(text, flush=True)
    print(
        f"\n(total {time.perf_counter() - t0:.0f} s; ours = snapping the homes + analyse "
        "+ coverage tables, region build apart; pandana = Network + precompute + queries; "
        "cpu s = the process's CPU time, all threads: on a shared machine wall time is "
        "noisy, CPU time less so)"
    )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "targets": targets}, indent=2))
    return 0 if all("error" not in o for o, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
