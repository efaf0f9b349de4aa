"""Many origins at once against a loop of single calls, through the public Python API.

For each dataset: N random origins inside the region, the nearest of 6 categories (k=1 and
k=3). The batch (``region.nearest(gdf)``) is timed against a loop of single calls
(``region.nearest((lat, lon))``, what a notebook user would write), and against a loop
over the engine itself (``Region.nearest`` without building a GeoDataFrame per call), in
the same run. The loop is timed on a subset and scaled; wall and CPU time are both shown.
Target (issue 12): the batch at least 20x faster than the loop of single calls on the
sample, with equal answers (tests/test_public.py checks that).

    python bench/bench_batch.py [--origins 1000] [--loop 200] [--datasets sample grid100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fmt, load_dataset, table

import livingcircle as lc
from livingcircle.data.embedded import FileStore
from livingcircle.geo.errors import LivingCircleError
from livingcircle.geo.store import RegionData, RegionInfo

CATS = ["pharmacy", "clinic", "supermarket", "kindergarten", "bus_stop", "toilets"]


def timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def region_for(spec: str, folder: Path) -> lc.Region:
    name, nodes, edges, facilities = load_dataset(spec, seed=1)
    store = FileStore(folder)
    if spec == "sample":
        from livingcircle.data.load import load_osm  # noqa: PLC0415
        from livingcircle.data.sample import sample_file  # noqa: PLC0415
        from livingcircle.geo.standards import load_standard  # noqa: PLC0415

        load_osm(store, sample_file(), name, load_standard())
    else:
        info = RegionInfo.of(name, "generated", datetime.now(UTC), nodes, edges, facilities)
        store.save_region(RegionData(info, nodes, edges, facilities))
    return lc.open(name, data_dir=folder)


def origins(region: lc.Region, n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    west, south, east, north = region.engine.boundary.bounds
    return gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(rng.uniform(west, east, n), rng.uniform(south, north, n)),
        crs="EPSG:4326",
    )


def loop(fn, points: gpd.GeoSeries) -> None:  # type: ignore[no-untyped-def]
    for p in points:
        try:
            fn(p)
        except LivingCircleError:
            pass


def measure(region: lc.Region, pts: gpd.GeoDataFrame, n_loop: int, k: int) -> list[str]:
    """One table row: the batch, the public loop and the engine loop, for ``k``."""
    sub = pts.geometry.iloc[:n_loop]
    scale = len(pts) / len(sub)
    region.nearest(pts.iloc[:10], CATS, k=k, progress=False)  # warm caches
    _, bw, bc = timed(lambda: region.nearest(pts, CATS, k=k, progress=False))
    _, pw, pc = timed(lambda: loop(lambda p: region.nearest((p.y, p.x), CATS, k=k), sub))
    _, ew, _ = timed(
        lambda: loop(lambda p: region.engine.nearest(p.x, p.y, CATS, k=k, routes=False), sub)
    )
    pw, pc, ew = (v * scale for v in (pw, pc, ew))
    return [
        region.name,
        str(k),
        fmt(bw, 3),
        fmt(bc, 3),
        fmt(pw, 3),
        fmt(pc, 3),
        fmt(pw / bw, 1),
        fmt(ew, 3),
        fmt(ew / bw, 1),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origins", type=int, default=1000)
    parser.add_argument("--loop", type=int, default=200, help="single calls timed, scaled")
    parser.add_argument("--datasets", nargs="+", default=["sample", "grid100000"])
    args = parser.parse_args()
    print(
        f"load average {os.getloadavg()[0]:.2f} (1 min); {args.origins:,} origins, "
        f"{len(CATS)} categories; loops timed on {args.loop} calls and scaled"
    )
    rows = []
    for spec in args.datasets:
        with tempfile.TemporaryDirectory() as tmp:
            region = region_for(spec, Path(tmp))
            pts = origins(region, args.origins)
            rows += [measure(region, pts, args.loop, k) for k in (1, 3)]
    print(
        table(
            [
                "dataset",
                "k",
                "batch s",
                "batch cpu s",
                "loop s",
                "loop cpu s",
                "loop/batch",
                "engine loop s",
                "engine loop/batch",
            ],
            rows,
        )
    )
    print("target: loop/batch >= 20 on the sample (the loop of public single calls)")


if __name__ == "__main__":
    main()
