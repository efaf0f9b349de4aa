"""What-if scenarios: how long a facility scenario and a network scenario take.

For each dataset (the Helsinki sample, a 100k and a 1M-node grid city by default) it builds
the region, places homes, runs the before analysis once (the full analysis a scenario
avoids: the baseline), then one facility scenario (three clinics opened, two clinics and a
pharmacy closed) and one network scenario (a footbridge, two closed streets and a
pharmacy). Every run is one run: the 1M grid is measured once, never repeated. Wall time,
CPU time of this process and the load average (others share the machine) are printed.

    python bench/bench_scenario.py                      # sample, grid100000, grid1000000
    python bench/bench_scenario.py --datasets sample    # quick
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fmt, load_dataset, table

from livingcircle.geo.demand import place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import analyse
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.scenario import (
    ClosedStreet,
    NewFacility,
    NewLink,
    Scenario,
    run_scenario,
)
from livingcircle.geo.standards import load_standard
from tests.scenario_inputs import middle_street_points, random_homes

TARGET_1M_S = 2.0


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float, float]:
    """Result, wall seconds, CPU seconds and the 1-minute load average after it."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu, os.getloadavg()[0]


def facility_scenario(reg: Region) -> Scenario:
    ids, cats, std = reg.facilities.text["id"], reg.facilities.category, reg.standard
    closed = [ids[i] for i in np.flatnonzero(cats == std.category_index("clinic"))[:2]]
    closed += [ids[i] for i in np.flatnonzero(cats == std.category_index("pharmacy"))[:1]]
    n = reg.net.n_nodes
    at = reg.unproject(reg.net.node_xy[[n // 2, n // 3, 2 * n // 3]])
    return Scenario(
        "facilities",
        tuple(NewFacility("clinic", *p, name=f"New clinic {i}") for i, p in enumerate(at, start=1)),
        tuple(closed),
    )


def network_scenario(reg: Region) -> Scenario:
    link, shut = middle_street_points(reg)
    return Scenario(
        "network",
        add_links=(NewLink(tuple(link[0]), tuple(link[1])),),
        close_streets=(ClosedStreet(at=tuple(shut[0])), ClosedStreet(at=tuple(shut[1]))),
        add_facilities=(NewFacility("pharmacy", *link[1]),),
    )


def measure(spec: str, n_homes: int, seed: int) -> list[list[str]]:
    name, nodes, edges, fac = load_dataset(spec, seed)
    std = load_standard()
    reg = Region(name, StreetNetwork.from_frames(nodes, edges), fac, std)
    demand = place_demand(reg.net, random_homes(reg, min(n_homes, reg.net.n_nodes), seed))
    graph = ReachGraph(reg.net)
    before, wall, cpu, load = timed(lambda: analyse(reg, demand, graph=graph))
    rows = [
        [
            name,
            "before analysis (baseline)",
            f"{reg.net.n_nodes:,}",
            f"{len(demand):,}",
            fmt(wall, 2),
            fmt(cpu, 2),
            fmt(load, 2),
            "1.0",
            "",
        ]
    ]
    way_ids = edges["way_id"].to_numpy(np.int64)
    for kind, make in (
        ("facility scenario", facility_scenario),
        ("network scenario", network_scenario),
    ):
        sc = make(reg)
        res, wall_s, cpu_s, load_s = timed(
            lambda sc=sc: run_scenario(reg, demand, before, sc, graph, way_ids)
        )
        changed = int(sum((res.summary()["homes_changed"]).tolist()))
        target = ""
        if kind == "facility scenario" and reg.net.n_nodes >= 900_000:
            target = "ok" if wall_s <= TARGET_1M_S else f"over {TARGET_1M_S:.0f} s"
        rows.append(
            [
                name,
                kind,
                f"{reg.net.n_nodes:,}",
                f"{len(demand):,}",
                fmt(wall_s, 2),
                fmt(cpu_s, 2),
                fmt(load_s, 2),
                fmt(wall / max(wall_s, 1e-9), 1),
                f"{changed:,} changed {target}".strip(),
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", default="sample,grid100000,grid1000000", help="comma-separated: sample, gridN"
    )
    parser.add_argument(
        "--homes", type=int, default=100_000, help="homes per dataset (at most one per street node)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for spec in args.datasets.split(","):
        rows += measure(spec.strip(), args.homes, args.seed)
        print(f"measured {spec}", file=sys.stderr, flush=True)
    print(
        f"What-if scenarios ({os.cpu_count()} cores; target: a facility scenario at 1M "
        f"nodes in {TARGET_1M_S:.0f} s)"
    )
    print(
        table(
            [
                "dataset",
                "run",
                "nodes",
                "homes",
                "wall s",
                "cpu s",
                "load 1m",
                "x faster than full",
                "homes x categories",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
