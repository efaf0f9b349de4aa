"""PostGIS store benchmark, against the embedded store in the same run.

    python bench/bench_postgis.py [--quick] [--facilities 100000] [--points 300]
                                  [--server URL] [--database URL]

Measures, on the Helsinki sample and on a generated grid city with many facilities:

- loading: facilities per second through ``save_region`` (COPY into a staging table, upsert,
  network replaced), first load and reload with 1 % of the facilities changed;
- look-ups as the API makes them: a page of the facilities in a 500 m box around a point
  (``FacilityQuery(bbox)``, ``GET /v1/regions/{r}/facilities?bbox=``) median latency, the bare
  SQL round trip of the same query, and a name search (``FacilityQuery(text=)``);
- catchment end to end: ``Atlas.catchment`` with each store, the first query (which loads the
  region from the store and builds the engine) and the steady-state median; and the planner's
  follow-up query, the facilities in the 15-minute ring's bounding box.

Targets: a box page at most 5 ms; catchment with PostGIS at most 2x the embedded time.
Every row's wall time is measured beside the process's CPU time over the whole run and the
load average (the table's heading), as the machine may be shared.
Without ``--database`` it creates a throwaway database from ``livingcircle_template`` on
``--server`` (default: the local server ``make postgis`` prepares) and drops it at the end.
Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from common import log
from psycopg import sql
from sqlalchemy.engine import make_url

import livingcircle.data.pg.store as pgmod
from livingcircle.data.embedded import FileStore
from livingcircle.data.osm_file import read_osm_file
from livingcircle.data.pg.sql import _FACILITY_SQL, _bbox_filters
from livingcircle.data.postgis import PostgisStore, dispose_engines, safe_url, upgrade
from livingcircle.data.sample import SAMPLE_POINT, sample_file
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.standards import Standard, load_standard
from livingcircle.geo.store import FacilityQuery, RegionData, RegionInfo

DEFAULT_SERVER = "postgresql+psycopg://livingcircle:livingcircle@127.0.0.1:5432/postgres"
TARGET_PAGE_MS = 5.0
BOX_DEG = 0.0045  # half the side of a look-up box: about 500 m across
TARGET_CATCHMENT_RATIO = 2.0


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1e3


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def repeat(fn: Callable[[float, float], Any], points: list[tuple[float, float]]) -> list[float]:
    times = []
    for lon, lat in points:
        start = time.perf_counter()
        fn(lon, lat)
        times.append(time.perf_counter() - start)
    return times


# -- data ----------------------------------------------------------------------------------------


def region(name: str, nodes: Any, edges: Any, facilities: Any, source: str) -> RegionData:
    info = RegionInfo.of(name, source, datetime.now(UTC), nodes, edges, facilities)
    return RegionData(info, nodes, edges, facilities)


def big_region(n_facilities: int) -> RegionData:
    """A grid city with about ``n_facilities`` facilities (data/synthetic.py)."""
    from livingcircle.data.synthetic import grid_city  # noqa: PLC0415

    n_nodes = 40_000
    area_km2 = (np.sqrt(n_nodes) * 0.1) ** 2
    nodes, edges, facilities = grid_city(
        n_nodes, seed=1, facilities_per_km2=n_facilities / area_km2
    )
    return region("bench-grid", nodes, edges, facilities, "synthetic:grid_city")


def changed(data: RegionData, share: float, seed: int = 0) -> RegionData:
    """``share`` of the facilities renamed, as a routine reload from the source would bring."""
    facilities = data.facilities.copy()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(facilities), int(len(facilities) * share), replace=False)
    facilities.loc[facilities.index[rows], "name"] = "renamed"
    return RegionData(
        replace(data.info, loaded_at=datetime.now(UTC)), data.nodes, data.edges, facilities
    )


def points_in(data: RegionData, n: int, seed: int = 0) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(data.nodes), n)
    lon = data.nodes["lon"].to_numpy()[rows] + rng.normal(0, 1e-4, n)
    lat = data.nodes["lat"].to_numpy()[rows] + rng.normal(0, 1e-4, n)
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


# -- database ------------------------------------------------------------------------------------


@contextmanager
def throwaway_database(server: str) -> Iterator[str]:
    url = make_url(server).set(drivername="postgresql+psycopg")
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"livingcircle_bench_{secrets.token_hex(4)}"
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE livingcircle_template").format(
                sql.Identifier(name)
            )
        )
    db_url = url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(db_url)
        yield db_url
    finally:
        dispose_engines()
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class PhaseTimer:
    """Times the facility merge inside ``PostgisStore.save_region``."""

    def __init__(self) -> None:
        self.merge_s = 0.0
        self._original = pgmod._merge_facilities

    def __enter__(self) -> PhaseTimer:
        def merge(*args: Any) -> Any:
            start = time.perf_counter()
            try:
                return self._original(*args)
            finally:
                self.merge_s = time.perf_counter() - start

        pgmod._merge_facilities = merge
        return self

    def __exit__(self, *exc: object) -> None:
        pgmod._merge_facilities = self._original


# -- measurements --------------------------------------------------------------------------------

Row = list[str]


def row(measure: str, pg: str = "", embedded: str = "", target: str = "", result: str = "") -> Row:
    """A line of the table, in its headers' order; a cell with nothing to say is blank."""
    return [measure, pg, embedded, target, result]


def bench_load(data: RegionData, file_store: FileStore, pg: PostgisStore) -> list[Row]:
    name, n = data.info.name, len(data.facilities)
    t_file, _ = timed(lambda: file_store.save_region(data))
    with PhaseTimer() as phase:
        t_pg, _ = timed(lambda: pg.save_region(data))
    rows = [
        row(
            f"load {name}: facilities/s (whole save_region)",
            f"{n / t_pg:,.0f}",
            f"{n / t_file:,.0f}",
        ),
        row(f"load {name}: facilities/s (facility upsert alone)", f"{n / phase.merge_s:,.0f}"),
    ]
    update = changed(data, 0.01)
    t_file, _ = timed(lambda: file_store.save_region(update))
    with PhaseTimer() as phase:
        t_pg, stats = timed(lambda: pg.save_region(update))
    rows.append(
        row(f"reload {name}, 1 % changed: seconds", f"{t_pg:.2f}", f"{t_file:.2f}", "", str(stats))
    )
    log(f"loaded {name}: {n:,} facilities, {len(data.edges):,} edges")
    return rows


def box(lon: float, lat: float) -> tuple[float, float, float, float]:
    return (lon - BOX_DEG, lat - BOX_DEG, lon + BOX_DEG, lat + BOX_DEG)


def bench_lookups(
    name: str,
    file_store: FileStore,
    pg: PostgisStore,
    points: list[tuple[float, float]],
) -> list[Row]:
    def page(store: PostgisStore | FileStore) -> Callable[[float, float], Any]:
        return lambda lon, lat: store.facilities(name, FacilityQuery(box(lon, lat), limit=100))

    repeat(page(pg), points[:20])  # warm the pool
    pg_ms = median_ms(repeat(page(pg), points))
    file_ms = median_ms(repeat(page(file_store), points))
    words = [
        str(n)[:4] for n in file_store.facilities(name, FacilityQuery(limit=50))["name"] if str(n)
    ]
    search = {
        label: median_ms(
            [
                timed(lambda s=store, w=word: s.facilities(name, FacilityQuery(text=w)))[0]
                for word in words
            ]
        )
        for label, store in (("pg", pg), ("file", file_store))
    }
    return [
        row(
            f"look-up {name}: facilities in a 500 m box, median ms",
            f"{pg_ms:.2f}",
            f"{file_ms:.2f}",
            f"<= {TARGET_PAGE_MS:g}",
            verdict(pg_ms <= TARGET_PAGE_MS),
        ),
        row(
            f"look-up {name}: SQL round trip alone, median ms",
            f"{bare_page_ms(pg, name, points):.2f}",
        ),
        row(
            f"look-up {name}: name search ({len(words)} words), median ms",
            f"{search['pg']:.2f}",
            f"{search['file']:.2f}",
        ),
    ]


def bare_page_ms(pg: PostgisStore, name: str, points: list[tuple[float, float]]) -> float:
    """The box page's statement, straight through psycopg (no store, no frame)."""
    raw = pg.engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, psycopg.Connection)
        conn.autocommit = True
        with conn.cursor() as cur:

            def once(lon: float, lat: float) -> Any:
                where, params = _bbox_filters(name, box(lon, lat), None)
                query = f"{_FACILITY_SQL} WHERE {where} ORDER BY id LIMIT 100"
                return cur.execute(query.encode(), params).fetchall()

            repeat(once, points[:20])
            return median_ms(repeat(once, points))
    finally:
        raw.close()


def bench_catchment(
    name: str,
    file_store: FileStore,
    pg: PostgisStore,
    standard: Standard,
    points: list[tuple[float, float]],
) -> list[Row]:
    rows = []
    results = {}
    for label, store in (("pg", pg), ("file", file_store)):
        atlas = Atlas(store, standard)
        lon, lat = points[0]
        first, answer = timed(lambda a=atlas, x=lon, y=lat: a.catchment(x, y, region=name))
        steady = median_ms(repeat(lambda x, y, a=atlas: a.catchment(x, y, region=name), points[1:]))
        ring = tuple(answer.rings[-1].polygon.bounds)
        inside = median_ms(
            repeat(
                lambda x, y, s=store, r=ring: s.facilities(name, FacilityQuery(r, limit=10_000)),
                points[:10],
            )
        )
        results[label] = (first * 1e3, steady, inside)
    (pg_first, pg_steady, pg_in), (f_first, f_steady, f_in) = results["pg"], results["file"]
    for what, a, b in (
        ("first query (region load + engine build)", pg_first, f_first),
        ("steady-state median", pg_steady, f_steady),
    ):
        ratio = a / b
        rows.append(
            row(
                f"catchment {name}: {what}, ms",
                f"{a:.1f}",
                f"{b:.1f}",
                f"<= {TARGET_CATCHMENT_RATIO:g}x",
                f"{ratio:.2f}x " + verdict(ratio <= TARGET_CATCHMENT_RATIO),
            )
        )
    rows.append(
        row(
            f"catchment {name}: facilities in the 15-min ring's box, median ms",
            f"{pg_in:.1f}",
            f"{f_in:.1f}",
            result=f"{pg_in / f_in:.2f}x",
        )
    )
    return rows


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(rows: list[Row]) -> str:
    headers = ["measure", "PostGIS", "embedded", "target", "result"]
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *map(line, rows)])


def run(url: str, args: argparse.Namespace) -> list[Row]:
    standard = load_standard()
    log("reading the Helsinki sample")
    extract = read_osm_file(sample_file(), standard)
    sample = region(
        "helsinki", extract.nodes, extract.edges, extract.facilities, "osm-file:Helsinki.osm.pbf"
    )
    pg = PostgisStore(url)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        file_store = FileStore(Path(folder))
        rows += bench_load(sample, file_store, pg)
        sample_points = [(SAMPLE_POINT[1], SAMPLE_POINT[0]), *points_in(sample, args.points)]
        rows += bench_lookups("helsinki", file_store, pg, sample_points)
        rows += bench_catchment(
            "helsinki", file_store, pg, standard, sample_points[: args.catchment_points]
        )
        if args.facilities:
            log(f"generating a grid city with about {args.facilities:,} facilities")
            big = big_region(args.facilities)
            rows += bench_load(big, file_store, pg)
            big_points = points_in(big, args.points, seed=1)
            rows += bench_lookups("bench-grid", file_store, pg, big_points)
            rows += bench_catchment(
                "bench-grid", file_store, pg, standard, big_points[: args.catchment_points]
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sample only, fewer points")
    parser.add_argument(
        "--facilities",
        type=int,
        default=100_000,
        help="facilities of the generated city (0: sample only)",
    )
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--catchment-points", type=int, default=40)
    parser.add_argument("--server", default=os.environ.get("LC_TEST_DATABASE_URL", DEFAULT_SERVER))
    parser.add_argument(
        "--database",
        help="an upgraded database to use instead of a "
        "throwaway one (regions 'helsinki' and 'bench-grid' are replaced)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.facilities, args.points, args.catchment_points = 0, 100, 15
    start, cpu = time.perf_counter(), time.process_time()
    if args.database:
        rows = run(args.database, args)
        where = safe_url(args.database)
    else:
        with throwaway_database(args.server) as url:
            where = safe_url(url)
            rows = run(url, args)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"livingcircle PostGIS store benchmark ({where}, {os.cpu_count()} CPUs, "
        f"load average {load})\n"
    )
    print(table(rows))
    print(
        f"\n(total {time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu:.0f} s "
        "CPU of this process (the server's is not in it); embedded = FileStore (GeoParquet) "
        "in the same run)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
