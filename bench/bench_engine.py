"""Engine benchmark: region build, catchment and nearest on the Helsinki sample and grid cities.

    python bench/bench_engine.py [--quick] [--sizes 10000,100000,1000000] [--points N]
                                 [--osmnx-points M] [--json FILE]

Each dataset runs in its own child process (so memory figures are not blurred by the one
before): it builds the region (``StreetNetwork.from_frames`` + ``Region``, which warms the
CSR graph, KD-tree and STRtree and snaps the facilities), then times ``Region.catchment``
(rings 5/10/15 min, facilities, tier summary) and ``Region.nearest`` (every category, k=1,
with routes) at random points near the network, then again after
``Region.prepare_nearest`` (the distance fields the API server builds at start-up; its time
and memory are reported). On the sample it also does the same work the
OSMnx way (networkx ego graphs plus the osmnx-examples isochrone recipe; a full Dijkstra for
nearest) for comparison. Last, each walking profile's build time, bytes per edge and query
time beside ``standard`` (``bench_profiles.py``; ``--no-profiles`` skips it). Progress goes
to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_profiles import profile_report
from common import ROOT, add_worker_options, fmt, load_dataset, log, table, worker_command

from livingcircle.geo.config import DEFAULT_MINUTES

TRIP_MINUTES = DEFAULT_MINUTES
TARGET_SAMPLE_MS = 10.0
TARGET_LARGE_MS = 50.0
TARGET_LARGE_NODES = 1_000_000
TARGET_SPEEDUP = 100.0
#: Query points are placed up to this far from a random node, metres.
POINT_SCATTER_M = 20.0

Result = dict[str, Any]


def rss_mb() -> float:
    import psutil  # noqa: PLC0415

    gc.collect()
    return float(psutil.Process().memory_info().rss) / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def stats_ms(times: list[float]) -> tuple[float, float]:
    if not times:
        return float("nan"), float("nan")
    a = np.asarray(times) * 1e3
    return float(np.median(a)), float(np.percentile(a, 90))


# -- worker: one dataset ------------------------------------------------------------------


def array_mb(region: Any) -> float:
    """Bytes held in the region's main numpy arrays (not counting GEOS geometries)."""
    net, fac = region.net, region.facilities
    arrays = [
        net.node_xy,
        net.edge_u,
        net.edge_v,
        net.edge_length,
        net.edge_oneway,
        net.edge_geom,
        net.geom_length,
        *net.csr,
        *net.incidence,
        fac.category,
        fac.snap.edge,
        fac.snap.offset_m,
        fac.snap.access_m,
        fac.snap.xy,
        fac.anchor_xy,
        fac.anchor_lonlat,
    ]
    return sum(a.nbytes for a in arrays) / 2**20


def query_points(nodes: Any, n: int, seed: int) -> list[tuple[float, float]]:
    """Points within ``POINT_SCATTER_M`` of random nodes."""
    rng = np.random.default_rng(seed + 1)
    pick = rng.integers(0, len(nodes), n)
    lon, lat = nodes["lon"].to_numpy()[pick], nodes["lat"].to_numpy()[pick]
    m_per_deg = np.radians(1.0) * 6_371_009.0
    r = POINT_SCATTER_M * np.sqrt(rng.random(n))
    a = rng.uniform(0, 2 * np.pi, n)
    lat2 = lat + r * np.sin(a) / m_per_deg
    lon2 = lon + r * np.cos(a) / (m_per_deg * np.cos(np.radians(lat)))
    return list(zip(lon2.tolist(), lat2.tolist(), strict=True))


def time_calls(
    fn: Callable[[float, float], object], points: list[tuple[float, float]], label: str
) -> tuple[list[float], int]:
    from livingcircle.geo.errors import PointTooFarFromNetwork  # noqa: PLC0415

    times, skipped = [], 0
    for i, (lon, lat) in enumerate(points):
        t0 = time.perf_counter()
        try:
            fn(lon, lat)
        except PointTooFarFromNetwork:
            skipped += 1
            continue
        times.append(time.perf_counter() - t0)
        if (i + 1) % 25 == 0:
            log(f"  {label}: {i + 1}/{len(points)}")
    return times, skipped


#: Region build steps timed one by one: (column, StreetNetwork attribute built).
BUILD_PARTS = (
    ("csr", "csr"),
    ("kd-tree", "node_tree"),
    ("strtree", "edge_tree"),
    ("snap grid", "segment_index"),
    ("other", "geom_length"),
    ("vertices", "vertices"),
)


def timed(parts: dict[str, list[float]], part: str, fn: Callable[[], Any]) -> Any:
    """``fn()``, adding its wall and CPU seconds to ``parts[part]``."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = parts.setdefault(part, [0.0, 0.0])
    parts[part] = [wall + time.perf_counter() - t0, cpu + time.process_time() - c0]
    return out


def run_worker(spec: str, n_points: int, osmnx_points: int, seed: int) -> Result:
    from livingcircle.geo.engine import Region  # noqa: PLC0415
    from livingcircle.geo.network import StreetNetwork  # noqa: PLC0415
    from livingcircle.geo.standards import load_standard  # noqa: PLC0415

    standard = load_standard()
    log(f"{spec}: loading")
    t0 = time.perf_counter()
    name, nodes, edges, facilities = load_dataset(spec, seed)
    load_s = time.perf_counter() - t0
    log(
        f"{spec}: {len(nodes):,} nodes, {len(edges):,} edges, {len(facilities):,} facilities "
        f"in {load_s:.1f} s; building region"
    )
    rss0 = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    parts: dict[str, list[float]] = {}
    net = timed(parts, "project", lambda: StreetNetwork.from_frames(nodes, edges))
    for part, attr in BUILD_PARTS:
        timed(parts, part, lambda attr=attr: getattr(net, attr))
    region = timed(parts, "facilities", lambda: Region(name, net, facilities, standard))
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    rss1 = rss_mb()
    log(f"{spec}: region built in {build_s:.1f} s (+{rss1 - rss0:.0f} MB RSS)")

    # one extra point (not timed in the statistics) shows the cost of the first query,
    # which pays for whatever the region builds lazily
    points = query_points(nodes, n_points + 1, seed)
    first, points = points[0], points[1:]
    t0 = time.perf_counter()
    region.catchment(*first)
    first_catch = time.perf_counter() - t0
    t0 = time.perf_counter()
    region.nearest(*first)
    first_nearest = time.perf_counter() - t0
    log(f"{spec}: timing {len(points)} catchments")
    catch_t, skipped = time_calls(region.catchment, points, "catchment")
    log(f"{spec}: timing {len(points)} nearest (all categories, k=1, routes)")
    near_t, _ = time_calls(
        lambda lon, lat: region.nearest(lon, lat, k=1, routes=True), points, "nearest"
    )
    log(f"{spec}: distance fields (as the API server prepares them)")
    rss2 = rss_mb()
    t0 = time.perf_counter()
    region.prepare_nearest()
    prepare_s = time.perf_counter() - t0
    prepare_mb = rss_mb() - rss2
    prep_t, _ = time_calls(
        lambda lon, lat: region.nearest(lon, lat, k=1, routes=True), points, "nearest, prepared"
    )
    res: Result = {
        "dataset": name,
        "nodes": len(nodes),
        "edges": len(edges),
        "facilities": len(facilities),
        "snapped": len(region.facilities.category),
        "load_s": load_s,
        "build_s": build_s,
        "build_cpu_s": build_cpu,
        "build_parts": parts,
        "load_avg": os.getloadavg()[0],
        "rss_build_mb": rss1 - rss0,
        "arrays_mb": array_mb(region),
        "first_catchment_ms": first_catch * 1e3,
        "first_nearest_ms": first_nearest * 1e3,
        "points": len(catch_t),
        "skipped": skipped,
        "prepare_s": prepare_s,
        "prepare_mb": prepare_mb,
    }
    res["catch_med_ms"], res["catch_p90_ms"] = stats_ms(catch_t)
    res["nearest_med_ms"], res["nearest_p90_ms"] = stats_ms(near_t)
    res["prepared_med_ms"], res["prepared_p90_ms"] = stats_ms(prep_t)
    if spec == "sample" and osmnx_points > 0:
        res["osmnx"] = run_osmnx(nodes, edges, region, points[:osmnx_points], standard)
    res["peak_rss_mb"] = peak_rss_mb()
    return res


# -- the OSMnx way ------------------------------------------------------------------------


def osmnx_graph(nodes: Any, edges: Any) -> Any:
    """A MultiDiGraph of the same streets, both directions for two-way edges."""
    import geopandas as gpd  # noqa: PLC0415
    import osmnx as ox  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415
    import shapely  # noqa: PLC0415

    gdf_nodes = gpd.GeoDataFrame(
        {"x": nodes["lon"].to_numpy(), "y": nodes["lat"].to_numpy()},
        geometry=gpd.points_from_xy(nodes["lon"], nodes["lat"]),
        index=pd.Index(nodes["node"].to_numpy(np.int64), name="osmid"),
        crs="EPSG:4326",
    )
    fwd = pd.DataFrame(
        {
            "u": edges["u"].to_numpy(np.int64),
            "v": edges["v"].to_numpy(np.int64),
            "length": edges["length_m"].to_numpy(),
            "oneway": edges["oneway"].to_numpy(),
            "geometry": edges.geometry.to_numpy(),
        }
    )
    two = ~fwd["oneway"].to_numpy()
    rev = fwd.loc[two].rename(columns={"u": "v", "v": "u"})
    rev["geometry"] = shapely.reverse(rev["geometry"].to_numpy())
    both = pd.concat([fwd, rev], ignore_index=True)
    both["key"] = both.groupby(["u", "v"]).cumcount()
    gdf_edges = gpd.GeoDataFrame(
        both.set_index(["u", "v", "key"]), geometry="geometry", crs="EPSG:4326"
    )
    graph = ox.convert.graph_from_gdfs(gdf_nodes, gdf_edges)
    return ox.projection.project_graph(graph)


def osmnx_isochrones(graph: Any, center: int, trips_m: list[float]) -> list[Any]:
    """The osmnx-examples isochrone recipe (notebook 13, ``make_iso_polys``)."""
    import geopandas as gpd  # noqa: PLC0415
    import networkx as nx  # noqa: PLC0415
    from shapely.geometry import LineString, Point  # noqa: PLC0415

    polys = []
    for trip in sorted(trips_m, reverse=True):
        subgraph = nx.ego_graph(graph, center, radius=trip, distance="length")
        node_points = [Point((d["x"], d["y"])) for _, d in subgraph.nodes(data=True)]
        nodes_gdf = gpd.GeoDataFrame({"id": list(subgraph.nodes)}, geometry=node_points)
        nodes_gdf = nodes_gdf.set_index("id")
        edge_lines = []
        for n_fr, n_to in subgraph.edges():
            f = nodes_gdf.loc[n_fr].geometry
            t = nodes_gdf.loc[n_to].geometry
            edge_lines.append(
                graph.get_edge_data(n_fr, n_to)[0].get("geometry", LineString([f, t]))
            )
        n = nodes_gdf.buffer(50).geometry
        e = gpd.GeoSeries(edge_lines).buffer(25).geometry
        polys.append((gpd.GeoSeries(list(n) + list(e)).union_all(), subgraph))
    return polys


def run_osmnx(
    nodes: Any, edges: Any, region: Any, points: list[tuple[float, float]], standard: Any
) -> Result:
    import networkx as nx  # noqa: PLC0415
    import osmnx as ox  # noqa: PLC0415
    from pyproj import Transformer  # noqa: PLC0415

    log(f"osmnx: building the graph, {len(points)} points")
    t0 = time.perf_counter()
    graph = osmnx_graph(nodes, edges)
    to_xy = Transformer.from_crs("EPSG:4326", graph.graph["crs"], always_xy=True)
    fac = region.facilities
    fx, fy = to_xy.transform(fac.anchor_lonlat[:, 0], fac.anchor_lonlat[:, 1])
    fac_node = np.asarray(ox.distance.nearest_nodes(graph, X=fx, Y=fy), dtype=np.int64)
    fac_cat = fac.category
    build_s = time.perf_counter() - t0
    speed = standard.speed()
    trips = [m * 60 * speed for m in TRIP_MINUTES]
    n_nodes = len(nodes)

    def catchment(lon: float, lat: float) -> object:
        x, y = to_xy.transform(lon, lat)
        center = int(ox.distance.nearest_nodes(graph, X=x, Y=y))
        out = []
        for poly, sub in osmnx_isochrones(graph, center, trips):
            inside = np.isin(fac_node, np.fromiter(sub.nodes, dtype=np.int64))
            out.append((poly, np.flatnonzero(inside)))
        return out

    def nearest(lon: float, lat: float) -> object:
        x, y = to_xy.transform(lon, lat)
        center = int(ox.distance.nearest_nodes(graph, X=x, Y=y))
        lengths = nx.single_source_dijkstra_path_length(graph, center, weight="length")
        dist = np.full(n_nodes, np.inf)
        dist[np.fromiter(lengths.keys(), dtype=np.int64)] = np.fromiter(lengths.values(), float)
        fac_d = dist[fac_node]
        return {
            c: float(fac_d[fac_cat == c].min(initial=np.inf))
            for c in range(len(standard.categories))
        }

    catchment(*points[0])  # warm-up
    catch_t, _ = time_calls(catchment, points, "osmnx catchment")
    near_t, _ = time_calls(nearest, points, "osmnx nearest")
    res: Result = {"build_s": build_s, "points": len(catch_t)}
    res["catch_med_ms"], res["catch_p90_ms"] = stats_ms(catch_t)
    res["nearest_med_ms"], res["nearest_p90_ms"] = stats_ms(near_t)
    log(
        f"osmnx: catchment median {res['catch_med_ms']:.0f} ms, "
        f"nearest median {res['nearest_med_ms']:.0f} ms"
    )
    return res


# -- driver -------------------------------------------------------------------------------


def engine_revision() -> str:
    """The commit measured, and whether the engine files differ from it."""

    def git(*args: str) -> str:
        try:
            out = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "geo").splitlines()
    return head + (f" + uncommitted changes in {len(dirty)} geo/ file(s)" if dirty else "")


def run_child(spec: str, args: argparse.Namespace) -> Result:
    cmd = worker_command(__file__, spec, args, ("points", "osmnx_points", "seed"))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        log(f"{spec}: worker failed with exit code {proc.returncode}")
        return {"dataset": spec, "error": f"exit code {proc.returncode}"}
    result: Result = json.loads(lines[-1])
    return result


def build_table(ok: list[Result]) -> str:
    """The region build step by step, wall / CPU seconds (and the load average)."""
    names = ["project", *(p for p, _ in BUILD_PARTS), "facilities"]
    headers = ["dataset", *names, "total", "load avg"]
    rows = [
        [
            r["dataset"],
            *(
                "{:.2f} / {:.2f}".format(*r["build_parts"].get(n, [float("nan")] * 2))
                for n in names
            ),
            f"{r['build_s']:.2f} / {r['build_cpu_s']:.2f}",
            f"{r['load_avg']:.1f}",
        ]
        for r in ok
        if "build_parts" in r
    ]
    return "Region build by step, wall / CPU s (facilities: Region(), snapping them)\n" + table(
        headers, rows
    )


def target(name: str, value: float, unit: str, met: bool) -> Result:
    """A line of the targets table (and of the JSON's ``targets``)."""
    return {"target": name, "value": value, "unit": unit, "pass": met}


def catchment_target(r: Result, limit_ms: float, label: str) -> Result:
    """Dataset ``r``'s catchment median at most ``limit_ms``."""
    ms = r["catch_med_ms"]
    return target(f"catchment median <= {limit_ms:.0f} ms ({label})", ms, "ms", ms <= limit_ms)


def report(results: list[Result]) -> tuple[str, list[Result]]:
    ok = [r for r in results if "error" not in r]
    parts = [
        "Region build and queries (times in ms unless marked; med = median, "
        "first = first query after build)"
    ]
    headers = [
        "dataset",
        "nodes",
        "edges",
        "facil.",
        "load s",
        "build s",
        "RSS+ MB",
        "arrays MB",
        "peak MB",
        "catch med",
        "catch p90",
        "catch 1st",
        "near med",
        "near p90",
        "near 1st",
        "prep s",
        "prep MB",
        "prepared near med",
        "pts",
    ]
    rows = [
        [
            r["dataset"],
            fmt(r["nodes"]),
            fmt(r["edges"]),
            fmt(r["facilities"]),
            fmt(r["load_s"], 2),
            fmt(r["build_s"], 2),
            fmt(r["rss_build_mb"], 0),
            fmt(r["arrays_mb"], 0),
            fmt(r["peak_rss_mb"], 0),
            fmt(r["catch_med_ms"]),
            fmt(r["catch_p90_ms"]),
            fmt(r["first_catchment_ms"]),
            fmt(r["nearest_med_ms"]),
            fmt(r["nearest_p90_ms"]),
            fmt(r["first_nearest_ms"]),
            fmt(r["prepare_s"], 2),
            fmt(r["prepare_mb"], 0),
            fmt(r["prepared_med_ms"]),
            fmt(r["points"]),
        ]
        for r in ok
    ]
    parts.append(table(headers, rows))
    parts.append("")
    parts.append(build_table(ok))
    for r in results:
        if "error" in r:
            parts.append(f"{r['dataset']}: FAILED ({r['error']})")

    sample = next((r for r in ok if r["dataset"] == "helsinki"), None)
    targets: list[Result] = []
    speedup = None
    if sample and "osmnx" in sample:
        ox_r = sample["osmnx"]
        parts.append("")
        parts.append(
            f"Helsinki sample: ours vs the OSMnx way (OSMnx graph build "
            f"{ox_r['build_s']:.1f} s, {ox_r['points']} points; ratio = OSMnx median "
            "/ ours median)"
        )
        rows = []
        for key, label in (("catch", "catchment 5/10/15"), ("nearest", "nearest all cats")):
            ours, theirs = sample[f"{key}_med_ms"], ox_r[f"{key}_med_ms"]
            ratio = theirs / ours
            if key == "catch":
                speedup = ratio
            rows.append(
                [
                    label,
                    fmt(ours),
                    fmt(sample[f"{key}_p90_ms"]),
                    fmt(theirs),
                    fmt(ox_r[f"{key}_p90_ms"]),
                    f"{ratio:,.0f}x",
                ]
            )
        parts.append(
            table(["query", "ours med", "ours p90", "OSMnx med", "OSMnx p90", "ratio"], rows)
        )
    large = next((r for r in ok if r["nodes"] >= TARGET_LARGE_NODES * 0.9), None)
    if sample:
        targets.append(catchment_target(sample, TARGET_SAMPLE_MS, "sample"))
    if large:
        targets.append(catchment_target(large, TARGET_LARGE_MS, large["dataset"]))
    if speedup is not None:
        name = f"catchment >= {TARGET_SPEEDUP:.0f}x faster than OSMnx (sample)"
        targets.append(target(name, speedup, "x", speedup >= TARGET_SPEEDUP))
    if targets:
        parts.append("")
        parts.append("Targets")
        parts.append(
            table(
                ["target", "measured", "result"],
                [
                    [t["target"], f"{t['value']:,.1f} {t['unit']}", "PASS" if t["pass"] else "MISS"]
                    for t in targets
                ],
            )
        )
    return "\n".join(parts), targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="sample and a 10k-node grid only, few points"
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help="grid city sizes in nodes, comma-separated (default 10000,100000,1000000)",
    )
    parser.add_argument(
        "--points", type=int, default=None, help="query points per dataset (default 50, quick 15)"
    )
    parser.add_argument(
        "--osmnx-points",
        type=int,
        default=None,
        help="query points for the OSMnx comparison (default 10, quick 3)",
    )
    parser.add_argument(
        "--no-profiles", action="store_true", help="skip the per-walking-profile table"
    )
    add_worker_options(parser)
    args = parser.parse_args(argv)
    if args.points is None:
        args.points = 15 if args.quick else 50
    if args.osmnx_points is None:
        args.osmnx_points = 3 if args.quick else 10

    if args.worker:
        result = run_worker(args.worker, args.points, args.osmnx_points, args.seed)
        print(json.dumps(result))
        return 0

    sizes = args.sizes or ("10000" if args.quick else "10000,100000,1000000")
    specs = ["sample"] + [f"grid{int(s)}" for s in sizes.split(",") if s.strip()]
    t0 = time.perf_counter()
    revision = engine_revision()
    log(f"engine at {revision}; datasets: {', '.join(specs)}")
    results = [run_child(spec, args) for spec in specs]
    text, targets = report(results)
    print(f"livingcircle engine benchmark (engine at {revision}, {os.cpu_count()} CPUs)\n")
    print(text, flush=True)
    if not args.no_profiles:  # build and query time per walking profile (bench_profiles.py)
        grid = 10_000 if args.quick else 100_000
        log(f"walking profiles: sample and a {grid:,}-node grid")
        print("\n" + profile_report(grid, args.points), flush=True)
    print(
        f"\n(total {time.perf_counter() - t0:.0f} s; RSS+ = resident memory added by the "
        "region build, arrays = its main numpy arrays, GEOS geometries not included)"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"revision": revision, "results": results, "targets": targets}, indent=2)
        )
    return 0 if all(r.get("error") is None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
