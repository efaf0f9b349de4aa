"""Reading a walking network from a PBF: peak memory, wall and CPU time, before and after.

Each reading runs in its own child process, so its peak resident memory (``ru_maxrss``) is
its own. Readers:

* ``stream``: :func:`livingcircle.data.osm_stream.read_walking_network` (node locations on
  disk, ways in flat columns, the network built with array operations);
* ``stream-mem``: the same with libosmium's in-memory location index;
* ``full``: :func:`livingcircle.data.osm_file.read_osm_file` as ``livingcircle load`` calls it
  (network and facilities, streamed);
* ``before``: ``read_osm_file`` as it was before streaming (Way objects, then
  ``build_network``), taken from git at ``--before-rev`` (skipped without git).

Datasets: ``sample`` (the Helsinki extract) and ``gridN`` (a generated city of about N nodes,
written as PBF with :func:`livingcircle.data.osm_stream.write_network_pbf`).

    python bench/bench_ingest.py --datasets sample grid300000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fmt, table

ROOT = Path(__file__).resolve().parent.parent
#: The last commit whose data/osm_file.py read Way by Way.
BEFORE_REV = "54d1158"
READERS = ("before", "stream", "stream-mem", "full")


def main() -> None:
    """Measure each reader on each dataset, one child process per reading."""
    args = _parse()
    if args.child:
        print(json.dumps(_child(args.child, Path(args.path), args.before_rev)))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="lc-bench-ingest-") as tmp:
        for spec in args.datasets:
            path = _dataset(spec, Path(tmp), args.seed)
            size = path.stat().st_size / 2**20
            for reader in args.readers:
                got = _run_child(reader, path, args)
                rows.append(_row(spec, size, reader, got))
    headers = ["dataset", "PBF MB", "reader", "nodes", "edges", "wall s", "CPU s", "peak MB",
               "imports MB", "note"]  # fmt: skip
    print(table(headers, rows))
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} cores")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["sample", "grid300000"])
    parser.add_argument("--readers", nargs="+", default=list(READERS), choices=READERS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--before-rev", default=BEFORE_REV)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--child", choices=READERS, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    return parser.parse_args()


def _dataset(spec: str, tmp: Path, seed: int) -> Path:
    from livingcircle.data.sample import sample_file  # noqa: PLC0415

    if spec == "sample":
        return sample_file()
    n = int(spec.removeprefix("grid"))
    path = tmp / f"grid-{n}.osm.pbf"
    code = (
        "import sys; from pathlib import Path; "
        "from livingcircle.data.synthetic import grid_city; "
        "from livingcircle.data.osm_stream import write_network_pbf; "
        f"nodes, edges, _ = grid_city({n}, seed={seed}); "
        f"write_network_pbf(nodes, edges, Path({str(path)!r}))"
    )  # in a child, so this process stays small for the readings' children
    subprocess.run([sys.executable, "-c", code], check=True)
    return path


def _run_child(reader: str, path: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", reader, "--path", str(path)]
    cmd += ["--before-rev", args.before_rev]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"note": f"stopped after {args.timeout:.0f} s"}
    if done.returncode != 0:
        return {"note": (done.stderr.strip().splitlines() or ["failed"])[-1][:60]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _row(spec: str, size: float, reader: str, got: dict[str, Any]) -> list[str]:
    return [
        spec,
        fmt(size, 1),
        reader,
        fmt(got.get("nodes")),
        fmt(got.get("edges")),
        fmt(got.get("wall_s"), 2),
        fmt(got.get("cpu_s"), 2),
        fmt(got.get("peak_mb"), 0),
        fmt(got.get("imports_mb"), 0),
        str(got.get("note", "")),
    ]


def _child(reader: str, path: Path, before_rev: str) -> dict[str, Any]:
    from livingcircle.geo.standards import load_standard  # noqa: PLC0415

    standard = load_standard()
    read = _reader(reader, before_rev)
    imports_mb = _peak_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    nodes, edges = read(path, standard)
    return {
        "nodes": len(nodes),
        "edges": len(edges),
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "peak_mb": _peak_mb(),
        "imports_mb": imports_mb,
    }


def _reader(reader: str, before_rev: str) -> Any:
    from livingcircle.data import osm_file, osm_stream  # noqa: PLC0415

    if reader == "stream":
        return osm_stream.read_walking_network
    if reader == "stream-mem":
        return lambda p, s: osm_stream.read_walking_network(p, s, locations="flex_mem")
    if reader == "full":
        return lambda p, s: _frames(osm_file.read_osm_file(p, s))
    old = _module_at(before_rev, "data/osm_file.py")
    return lambda p, s: _frames(old.read_osm_file(p, s))


def _frames(extract: Any) -> tuple[Any, Any]:
    return extract.nodes, extract.edges


def _module_at(rev: str, path: str) -> Any:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("osm_file_before", f.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM, which a fresh exec starts anew.

    ``ru_maxrss`` is not used: a child started by fork and exec keeps its parent's peak.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
