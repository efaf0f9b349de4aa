"""Batch catchments on a real Dask LocalCluster (2 worker processes): the same polygons as
single calls, from either store; bad origins named; unreachable storage caught first."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from distributed import Client

import livingcircle as lc
from livingcircle import batch_run
from livingcircle.cluster import connect
from livingcircle.data.embedded import FileStore
from livingcircle.data.load import load_osm
from livingcircle.data.postgis import PostgisStore
from livingcircle.data.sample import sample_file
from livingcircle.geo.errors import BadOrigins, LivingCircleError, WorkerCannotReach
from livingcircle.geo.standards import Standard
from tests.contract.conftest import make_database, postgis_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow
MINUTES = [5, 10, 15]
OUTSIDE = shapely.Point(30.0, 60.0)  # east of Helsinki: a single call refuses it


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch-store")
    lc.load(sample_file(), "helsinki", data_dir=path, progress=False)
    return path


@pytest.fixture(scope="module")
def region(data_dir: Path) -> lc.Region:
    return lc.open("helsinki", data_dir=data_dir)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with connect(workers=2, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def points(region: lc.Region) -> gpd.GeoDataFrame:
    """60 origins along streets across the sample, one outside it, one without geometry."""
    edges = region.store.load_region("helsinki").edges
    pick = np.random.default_rng(18).choice(len(edges), 60, replace=False)
    along = shapely.line_interpolate_point(edges.geometry.values[pick], 0.3, normalized=True)
    geoms = [*along, OUTSIDE, None]
    ids = [f"stop-{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"id": ids}, geometry=geoms, crs="EPSG:4326")


def same_polygons(a: gpd.GeoSeries, b: gpd.GeoSeries, tolerance: float = 0.0) -> bool:
    """Equal vertex by vertex (within ``tolerance`` degrees), missing where the other is."""
    x, y = np.asarray(a.values, dtype=object), np.asarray(b.values, dtype=object)
    missing = shapely.is_missing(x)
    return bool((missing == shapely.is_missing(y)).all()) and bool(
        shapely.equals_exact(x[~missing], y[~missing], tolerance).all()
    )


def single_rings(
    region: lc.Region, point: shapely.Point, minutes: list[int] = MINUTES
) -> gpd.GeoDataFrame:
    answer = region.catchment(point, minutes=minutes)
    return answer.loc[answer["kind"] == "ring"].reset_index(drop=True)


def test_batch_equals_single_calls_origin_by_origin(
    region: lc.Region, client: Client, points: gpd.GeoDataFrame, standard: Standard
) -> None:
    frame, _ = batch_run.origins_from_frame(points.to_crs("EPSG:3067"))  # reprojected back
    source = batch_run.source_for(region.store, "helsinki", standard, region.engine.max_snap_m)
    got = batch_run.run_catchments(client, frame, source, batch_run.Walk(tuple(MINUTES), 1.0))
    assert list(got.columns) == [*batch_run.COLUMNS, "geometry"]
    assert len(got) == len(points) * len(MINUTES)
    for i, point in enumerate(points.geometry[:60]):
        rows = got.loc[got["origin_id"] == f"stop-{i}"].reset_index(drop=True)
        one = single_rings(region, point)
        assert rows["minutes"].tolist() == one["minutes"].astype(int).tolist() == [15, 10, 5]
        assert rows["error"].isna().all()
        np.testing.assert_allclose(rows["area_m2"], one["area_m2"], rtol=0, atol=1e-9)
        # within 1e-9 degrees of the single call's polygons (a round trip through EPSG:3067)
        assert same_polygons(rows.geometry, one.geometry, 1e-9)
    with pytest.raises(LivingCircleError) as refused:
        region.catchment(OUTSIDE)
    outside = got.loc[got["origin_id"] == "stop-60"]
    assert (outside["error"] == str(refused.value)).all() and outside.geometry.isna().all()
    empty = got.loc[got["origin_id"] == "stop-61", "error"]
    assert (empty == "row 62 of origins has no geometry").all()


def test_python_api_distributed_and_local_agree(
    region: lc.Region, points: gpd.GeoDataFrame
) -> None:
    few = points.iloc[[0, 1, 2, 60]]
    local = region.catchments(few, minutes=[10, 5], distributed=False)
    spread = region.catchments(few, minutes=[10, 5], workers=2, progress=False)
    pd.testing.assert_frame_equal(local.drop(columns="geometry"), spread.drop(columns="geometry"))
    assert same_polygons(local.geometry, spread.geometry, 0)
    first = single_rings(region, points.geometry.iloc[0], [10, 5])
    one = local.loc[local["origin_id"] == "stop-0"]
    assert one["minutes"].tolist() == [10, 5]
    assert same_polygons(one.geometry, first.geometry, 0)


@pytest.fixture(params=["file", pytest.param("postgis", marks=pytest.mark.postgis)])
def any_store(
    request: pytest.FixtureRequest, data_dir: Path, standard: Standard
) -> FileStore | PostgisStore:
    """The sample region in each store."""
    if request.param == "file":
        return FileStore(data_dir)
    store = PostgisStore(request.getfixturevalue("make_database")())
    load_osm(store, sample_file(), "helsinki", standard)
    return store


def test_workers_read_the_region_from_either_store(
    any_store: FileStore | PostgisStore,
    region: lc.Region,
    client: Client,
    points: gpd.GeoDataFrame,
    standard: Standard,
) -> None:
    frame, _ = batch_run.origins_from_frame(points.iloc[:8])
    source = batch_run.source_for(any_store, "helsinki", standard, region.engine.max_snap_m)
    walk = batch_run.Walk((10,), 1.0)
    got = batch_run.run_catchments(client, frame, source, walk)
    expected = batch_run.run_local(
        frame, batch_run.source_for(region.store, "helsinki", standard, 50.0), walk
    )
    pd.testing.assert_frame_equal(got.drop(columns="geometry"), expected.drop(columns="geometry"))
    assert same_polygons(got.geometry, expected.geometry, 0)


def test_unwritable_output_fails_on_the_workers_before_any_work(
    region: lc.Region, client: Client, points: gpd.GeoDataFrame, standard: Standard, tmp_path: Path
) -> None:
    frame, _ = batch_run.origins_from_frame(points.iloc[:4])
    source = batch_run.source_for(region.store, "helsinki", standard, 50.0)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for url in (str(blocker / "out"), "s3://lc-no-such-bucket/out", "nosuchfs://x/out"):
        with pytest.raises(WorkerCannotReach, match=r"worker tcp://127\.0\.0\.1:\d+") as caught:
            batch_run.write_catchments(client, frame, source, batch_run.Walk((5,), 1.0), url)
        assert f"--out {url}" in str(caught.value)
    gone = batch_run.RegionSource("helsinki", standard, data_dir=str(tmp_path / "nowhere"))
    with pytest.raises(WorkerCannotReach, match=r"region 'helsinki' in .*nowhere.*not loaded"):
        batch_run.write_catchments(
            client, frame, gone, batch_run.Walk((5,), 1.0), str(tmp_path / "out")
        )
    assert not (tmp_path / "out" / "part.00000.parquet").exists()


def write_origin_files(tmp_path: Path, points: gpd.GeoDataFrame) -> tuple[Path, Path]:
    """A CSV in lon/lat with bad rows, and a GeoJSON of other stops in EPSG:3067."""
    good = points.iloc[:5]
    csv = tmp_path / "stops.csv"
    lines = ["stop_id,lon,lat"]
    lines += [f"a{i},{p.x!r},{p.y!r}" for i, p in enumerate(good.geometry)]
    lines += ["bad-lat,24.94,", "a0,24.94,60.17", "far,2494.0,60.17"]
    csv.write_text("\n".join(lines) + "\n")
    metric = tmp_path / "schools.gpkg"
    points.iloc[5:8].to_crs("EPSG:3067").to_file(metric)
    return csv, metric


def test_origin_files_bad_rows_and_mixed_crs(tmp_path: Path, points: gpd.GeoDataFrame) -> None:
    csv, metric = write_origin_files(tmp_path, points)
    got = batch_run.read_origins([str(csv), str(metric)], id_column=None)
    assert got.notes == [f"{metric}: reprojected from EPSG:3067 to EPSG:4326"]
    bad = got.bad.set_index("origin_id")["error"]
    assert bad.loc["stops.csv:6"] == f"row 6 of {csv} has no geometry"
    assert "repeats origin id" not in " ".join(bad)  # numbered rows never repeat
    assert "not WGS 84 lon/lat degrees" in bad.loc["stops.csv:8"]
    ids = batch_run.read_origins([str(csv)], id_column="stop_id")
    assert (
        "repeats origin id 'a0' (first at row 1)" in ids.bad.set_index("origin_id")["error"].iloc[1]
    )
    assert ids.summary() is not None and ids.summary().startswith("3 of 8 origin rows")
    np.testing.assert_allclose(
        got.frame.loc[got.frame["source"] == str(metric), ["lon", "lat"]],
        shapely.get_coordinates(points.geometry.iloc[5:8]),
        atol=1e-9,
    )


def test_unusable_origin_files_are_refused_by_name(tmp_path: Path) -> None:
    no_crs = tmp_path / "nocrs.parquet"
    gpd.GeoDataFrame(geometry=[shapely.Point(24.9, 60.1)]).to_parquet(no_crs)
    with pytest.raises(BadOrigins, match=f"{no_crs} has no CRS"):
        batch_run.read_origins([str(no_crs)])
    plain = tmp_path / "plain.csv"
    plain.write_text("name,where\nx,here\n")
    with pytest.raises(BadOrigins, match=r"no coordinate columns; give lon and lat.*name, where"):
        batch_run.read_origins([str(plain)])
    with pytest.raises(BadOrigins, match=r"cannot read origins .*missing.geojson"):
        batch_run.read_origins([str(tmp_path / "missing.geojson")])
    one = tmp_path / "one.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(24.9, 60.1)], crs=4326).to_file(one)
    with pytest.raises(BadOrigins, match="no column 'code'"):
        batch_run.read_origins([str(one)], id_column="code")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "livingcircle", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


# dask's parquet reader calls reset_index(inplace=True), which pandas 3.1 deprecates
@pytest.mark.filterwarnings("ignore:The inplace keyword in GeoDataFrame.reset_index")
def test_cli_writes_partitioned_geoparquet(
    data_dir: Path, region: lc.Region, points: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    csv, metric = write_origin_files(tmp_path, points)
    out = tmp_path / "rings.parquet"
    done = run_cli(
        "batch", "catchment", "--region", "helsinki", "--origins", str(csv),
        "--origins", str(metric), "-m", "5", "-m", "10", "--out", str(out),
        "--workers", "2", "--data-dir", str(data_dir),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reprojected from EPSG:3067" in done.stderr
    assert "cannot be used" in done.stderr and "Dask dashboard: http" in done.stderr
    assert "wrote 22 rows (11 origins x 2 rings)" in done.stdout
    assert "2 origins have an error" in done.stdout
    parts = sorted(p.name for p in out.glob("part.*.parquet"))
    assert len(parts) == 2  # at least one partition per worker
    assert (out / "_metadata").exists()
    assert pq.read_metadata(out / "_metadata").num_rows == 22
    back = dask_geopandas.read_parquet(out).compute().reset_index(drop=True)
    assert back.crs == "EPSG:4326" and len(back) == 22
    first = back.loc[back["origin_id"] == "stops.csv:1"]
    one = region.catchment(points.geometry.iloc[0], minutes=[5, 10])
    one = one.loc[one["kind"] == "ring"]
    assert same_polygons(first.geometry, one.geometry, 1e-9)


def test_cli_unreachable_scheduler_is_named_within_seconds(
    data_dir: Path, tmp_path: Path, points: gpd.GeoDataFrame
) -> None:
    csv, _ = write_origin_files(tmp_path, points)
    start = time.monotonic()
    done = run_cli(
        "batch", "catchment", "--region", "helsinki", "--origins", str(csv),
        "--scheduler", "tcp://127.0.0.1:9", "--data-dir", str(data_dir), "--quiet",
    )  # fmt: skip
    assert done.returncode == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr
    assert time.monotonic() - start < 60
    missing = run_cli(
        "batch", "catchment", "--region", "nowhere", "--origins", str(csv),
        "--data-dir", str(data_dir), "--quiet",
    )  # fmt: skip
    assert missing.returncode == 2 and "region 'nowhere' is not loaded" in missing.stderr
