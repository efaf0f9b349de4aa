"""The region build a server start runs, cold and from the store's cache (``bench_gaps --build``).

Each dataset is saved to a file store in a temporary folder and read back, then built as
:class:`livingcircle.geo.atlas.Atlas` builds it (network arrays, the build cache through
:func:`livingcircle.geo.region_cache.placed_from_store`, the engine): twice with no cache
kept (cold: it snaps the facilities and keeps a blob) and twice from the blob kept, best of
each. Reading the region's files is not timed. The check compares the cold and cached
engines' CSR arrays and facility positions.
"""

from __future__ import annotations

import gc
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from common import fmt, load_dataset, table

Result = dict[str, Any]
DATE = datetime(2026, 1, 1, tzinfo=UTC)  # the load time of the regions it stores
TARGET_S, TARGET_NODES = 5.0, 1_000_000  # issue #17: the 1M city's region build


def run_build(spec: str, seed: int, k: int) -> Result:
    """A server start's build (network, cache, engine), cold and cached, best of two each.

    The best is the run of least CPU time; its wall time is shown beside it.
    """
    from livingcircle.data.embedded import FileStore  # noqa: PLC0415
    from livingcircle.geo.engine import Region  # noqa: PLC0415
    from livingcircle.geo.network import StreetNetwork  # noqa: PLC0415
    from livingcircle.geo.region_cache import placed_from_store  # noqa: PLC0415
    from livingcircle.geo.standards import load_standard  # noqa: PLC0415
    from livingcircle.geo.store import RegionData, RegionInfo  # noqa: PLC0415

    del k
    std, (name, nodes, edges, fac) = load_standard(), load_dataset(spec, seed)
    box = (nodes.lon.min(), nodes.lat.min(), nodes.lon.max(), nodes.lat.max())
    info = RegionInfo(name, spec, DATE, box, len(nodes), len(edges), len(fac))
    out: Result = {"dataset": name, "nodes": len(nodes), "facilities": len(fac)}
    with tempfile.TemporaryDirectory() as tmp:
        store = FileStore(Path(tmp))
        store.save_region(RegionData(info, nodes, edges, fac))
        data = store.load_region(name)
        built: dict[str, Any] = {}
        for run in ("cold", "cached") * 2:
            if run == "cold":  # what the last run kept goes: this one builds from the data
                for blob in Path(tmp).glob("regions/*/v-*/build-*.npz"):
                    blob.unlink()
            gc.collect()
            c0, t0 = time.process_time(), time.perf_counter()
            net = StreetNetwork.from_frames(data.nodes, data.edges)
            placed = placed_from_store(store, data, net, std.category_ids)
            built[run] = Region(name, net, data.facilities, std, placed=placed)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if cpu < out.get(f"{run}_cpu_s", np.inf):  # CPU time: the machine may be shared
                out[f"{run}_s"], out[f"{run}_cpu_s"] = wall, cpu
        (blob,) = Path(tmp).glob("regions/*/v-*/build-*.npz")
        out["blob_mb"] = blob.stat().st_size / 2**20
    a, b = built["cold"], built["cached"]
    same = all(np.array_equal(x, y) for x, y in zip(a.net.csr, b.net.csr, strict=True))
    out["same"] = same and np.array_equal(a.facilities.snap.edge, b.facilities.snap.edge)
    return out


def build_report(rows: list[Result]) -> str:
    """The build table: cold and from the cache, wall and CPU seconds."""
    heads = ["dataset", "nodes", "facil.", "cold s", "cpu s", "cached s", "cpu s", "blob MB"]
    keys = ["cold_s", "cold_cpu_s", "cached_s", "cached_cpu_s", "blob_mb"]
    lines = [
        [r["dataset"], f"{r['nodes']:,}", f"{r['facilities']:,}", *(fmt(r.get(x), 2) for x in keys)]
        for r in rows
        if "error" not in r
    ]
    for line, r in zip(lines, [r for r in rows if "error" not in r], strict=True):
        line.append("same arrays" if r["same"] else "ARRAYS DIFFER")
    targets = [
        f"{r['dataset']}: region build < {TARGET_S:g} s CPU: cold {r['cold_cpu_s']:.1f} s "
        f"({'met' if r['cold_cpu_s'] < TARGET_S else 'not met'}), from the cache "
        f"{r['cached_cpu_s']:.1f} s ({'met' if r['cached_cpu_s'] < TARGET_S else 'not met'})"
        for r in rows
        if "error" not in r and r["nodes"] >= TARGET_NODES
    ]
    return "\n".join([table([*heads, "check"], lines), "", *targets])
