"""Province-scale runs on Dask: the cluster connection, the distributed analysis, its outputs."""

from __future__ import annotations

import functools
import importlib.util
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import cast

import dask_geopandas
import fsspec
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from distributed import Client

import livingcircle as lc
from livingcircle.cluster import check_storage, connect, scheduler_address
from livingcircle.data.sample import sample_file
from livingcircle.data.synthetic import SyntheticCity, grid_city, synthetic_province
from livingcircle.distributed import (
    ProvinceJob,
    RegionBuilder,
    analyse_built_province,
    analyse_province,
    run_horizon,
)
from livingcircle.geo.demand import Demand, demand_from_nodes, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import (
    ClusterTaskFailed,
    ClusterUnavailable,
    InvalidParameter,
    WorkerCannotReach,
)
from livingcircle.geo.gaps import analyse
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.standards import Standard
from livingcircle.geo.tiles import plan_tiles
from livingcircle.province_outputs import summary_from_points
from livingcircle.tile_tasks import points_table, tile_input, tile_region


def test_unreachable_scheduler_fails_fast_naming_the_address() -> None:
    started = time.monotonic()
    with pytest.raises(ClusterUnavailable, match=r"tcp://127\.0\.0\.1:9") as info:
        with connect(scheduler="tcp://127.0.0.1:9", progress=False):
            pass
    assert time.monotonic() - started < 15
    assert info.value.address == "tcp://127.0.0.1:9"
    assert isinstance(info.value, ConnectionError)


def test_scheduler_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_DASK_SCHEDULER", "10.0.0.5:8786")
    assert scheduler_address() == "tcp://10.0.0.5:8786"
    assert scheduler_address("tcp://other:8786") == "tcp://other:8786"
    monkeypatch.delenv("LC_DASK_SCHEDULER")
    assert scheduler_address() is None


def test_workers_below_one_are_refused() -> None:
    with pytest.raises(InvalidParameter, match="at least 1"):
        with connect(workers=0):
            pass


@pytest.mark.slow
def test_local_cluster_runs_tasks_and_prints_the_dashboard() -> None:
    out = io.StringIO()
    with connect(workers=1, stream=out) as client:
        assert client.submit(sum, [1, 2, 3]).result() == 6
        assert len(client.scheduler_info()["workers"]) == 1
    text = out.getvalue()
    assert "Dask dashboard: http://" in text
    assert "1 worker(s)" in text


# -- the distributed analysis equals one machine -------------------------------------------


def _homes(region: Region) -> Demand:
    frame = demand_from_nodes(
        region.net, region.unproject(region.net.node_xy), 3 * region.net.n_nodes
    )
    names = np.array(["north", "south"], dtype=object)
    frame["community"] = names[
        (region.net.node_xy[:, 1] < np.median(region.net.node_xy[:, 1])).astype(int)
    ]
    return place_demand(region.net, frame, region.max_snap_m)


def _grid(n: int, standard: Standard, seed: int = 5) -> tuple[Region, Demand]:
    nodes, edges, fac = grid_city(n, seed=seed)
    region = Region(f"grid{n}", StreetNetwork.from_frames(nodes, edges), fac, standard)
    return region, _homes(region)


def one_machine(region: Region, demand: Demand, job: ProvinceJob) -> gpd.GeoDataFrame:
    cats = region.standard.resolve_categories(job.categories)
    horizon = run_horizon(region.standard, job, cats)
    result = analyse(region, demand, cats, job.k, job.minutes, job.speed_m_s, horizon_m=horizon)
    return points_table(result, horizon)


def read_points(out: str) -> pd.DataFrame:
    frame = dask_geopandas.read_parquet(f"{out}/points").compute()
    return frame.sort_values(["region", "id"], kind="stable").reset_index(drop=True)


def assert_same_answers(single: pd.DataFrame, dist: pd.DataFrame) -> None:
    single = single.sort_values(["region", "id"], kind="stable").reset_index(drop=True)
    assert single["id"].tolist() == dist["id"].tolist()
    for col in single.columns:
        if col == "geometry":
            assert single.geometry.geom_equals_exact(dist.geometry, 1e-9).all()
        elif "_knn" in col:  # k nearest: the same float32 distances
            np.testing.assert_array_equal(single[col].to_numpy(), dist[col].to_numpy(), col)
        elif col.endswith("_min"):  # times within the horizon to 1e-6 s
            a, b = single[col].to_numpy(float), dist[col].to_numpy(float)
            np.testing.assert_array_equal(np.isnan(a), np.isnan(b), col)
            np.testing.assert_allclose(a * 60, b * 60, rtol=0, atol=1e-6, err_msg=col)
        elif single[col].dtype.kind == "f":
            np.testing.assert_allclose(single[col], dist[col], rtol=0, atol=1e-12, err_msg=col)
        else:  # counts, ok, beyond, tier met: exactly
            assert single[col].tolist() == dist[col].tolist(), col


def assert_same_summaries(single: pd.DataFrame, out: str, job: ProvinceJob, std: Standard) -> None:
    cats = std.resolve_categories(job.categories)
    coverage, tiers = summary_from_points(single, cats, job.minutes, std)
    pd.testing.assert_frame_equal(coverage, pd.read_parquet(f"{out}/coverage.parquet"))
    pd.testing.assert_frame_equal(tiers, pd.read_parquet(f"{out}/tiers.parquet"))


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with connect(workers=2, progress=False) as c:
        yield c


def test_tiles_in_process_equal_one_machine(standard: Standard, tmp_path: Path) -> None:
    region, demand = _grid(3_000, standard)
    job = ProvinceJob(str(tmp_path), max_points=800)
    cats = standard.resolve_categories(None)
    horizon = run_horizon(standard, job, cats)
    plan = plan_tiles(region.net, demand.snap, region.facilities.snap, horizon, 800)
    assert len(plan.tiles) >= 8
    parts = []
    for tile in plan.tiles:
        payload = tile_input(region, demand, tile, cats, job, horizon)
        sub, homes = tile_region(payload)
        parts.append(points_table(analyse(sub, homes, cats, horizon_m=horizon), horizon))
    dist = pd.concat(parts).sort_values("id").reset_index(drop=True)
    assert_same_answers(one_machine(region, demand, job), dist)


def test_an_output_the_workers_cannot_read_fails_before_any_tile(
    client: Client, standard: Standard, tmp_path: Path
) -> None:
    region, demand = _grid(600, standard)
    # memory:// is this process's own memory: the worker processes see an empty folder
    job = ProvinceJob(f"memory://lc-probe-{tmp_path.name}/out")
    with pytest.raises(WorkerCannotReach, match=r"worker tcp://127\.0\.0\.1:\d+") as caught:
        analyse_province(client, [(region, demand)], job)
    assert f"the output folder {job.out}" in str(caught.value)
    assert "FileNotFoundError" in str(caught.value)
    fs, root = fsspec.core.url_to_fs(job.out)
    assert not fs.exists(f"{root}/_inputs") and not fs.exists(f"{root}/tiles")
    assert fs.ls(root, detail=False) == [f"{root}/points"]  # the probe file is removed again
    # a local folder all workers share passes the probe and the run completes
    done = analyse_province(client, [(region, demand)], replace(job, out=str(tmp_path / "ok")))
    assert done.computed >= 1 and not done.failed


def test_a_hung_worker_fails_the_storage_probe_in_time_naming_it(
    client: Client, tmp_path: Path
) -> None:
    hung = sorted(client.scheduler_info()["workers"])[0]
    pid = client.run(os.getpid, workers=[hung])[hung]
    os.kill(pid, signal.SIGSTOP)  # as a machine whose mount stalls: it answers nothing
    try:
        started = time.monotonic()
        with pytest.raises(WorkerCannotReach, match="no answer within 2 s") as caught:
            check_storage(client, str(tmp_path / "out"), f"the output folder {tmp_path}", 2.0)
        assert time.monotonic() - started < 60  # not the worker's whole hang
    finally:
        os.kill(pid, signal.SIGCONT)
    assert caught.value.worker == hung and f"the output folder {tmp_path}" in str(caught.value)
    assert "restart that worker" in str(caught.value)
    assert [p.name for p in (tmp_path / "out").iterdir()] == []  # the probe file is removed
    check_storage(client, str(tmp_path / "out"), "the output folder")  # answering again


def test_python_api_and_cli_refuse_an_unreachable_scheduler_or_output_before_work(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    lc.load(sample_file(), "helsinki", data_dir=store, progress=False)
    started = time.monotonic()
    with pytest.raises(ClusterUnavailable, match=r"tcp://127\.0\.0\.1:9"):
        lc.analyse_province(
            None, tmp_path / "api", scheduler="tcp://127.0.0.1:9", progress=False, data_dir=store
        )
    assert time.monotonic() - started < 15
    assert not (tmp_path / "api").exists()  # nothing written before the cluster answered
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "livingcircle", "gaps", "--distributed", "--scheduler",
         "tcp://127.0.0.1:9", "--out", str(tmp_path / "cli"), "--data-dir", str(store)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr
    assert time.monotonic() - started < 60  # the interpreter's start-up included
    unseen = f"memory://lc-cli-{tmp_path.name}/out"  # the CLI's own memory: workers see none
    refused = subprocess.run(
        [sys.executable, "-m", "livingcircle", "gaps", "--distributed", "--workers", "1",
         "--out", unseen, "--data-dir", str(store), "-c", "clinic"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert f"cannot reach the output folder {unseen}" in refused.stderr
    assert "tiles computed" not in refused.stderr


@pytest.mark.slow
def test_sample_on_a_local_cluster_equals_one_machine(
    client: Client, sample_region: Region, tmp_path: Path
) -> None:
    demand = _homes(sample_region)
    job = ProvinceJob(str(tmp_path / "out"), max_points=max(500, sample_region.net.n_nodes // 2))
    result = analyse_province(client, [(sample_region, demand)], job)
    assert result.plans["helsinki"]["tiles"] >= 4
    assert result.computed == result.plans["helsinki"]["tiles"] and not result.failed
    single = one_machine(sample_region, demand, job)
    assert_same_answers(single, read_points(job.out))
    assert_same_summaries(single, job.out, job, sample_region.standard)
    # one machine's own coverage agrees on the shares the summary repeats
    full = analyse(sample_region, demand, horizon_m=result.horizon_m)
    own = full.coverage().set_index(["community", "category"])
    district = result.coverage.query("level == 'district'").set_index("category")
    for cat in ("clinic", "kindergarten", "supermarket"):
        assert district.loc[cat, "covered_share"] == own.loc[("(district)", cat), "covered_share"]
        assert district.loc[cat, "within_share"] == own.loc[("(district)", cat), "within_share"]


@pytest.mark.slow
def test_province_of_two_regions_with_resume_and_facilities_once(
    client: Client, standard: Standard, tmp_path: Path
) -> None:
    a, b = _grid(4_000, standard, seed=1), _grid(3_000, standard, seed=2)
    out = str(tmp_path / "province")
    job = ProvinceJob(out, max_points=2_000)
    seen: list[str] = []
    first = analyse_province(client, [a, b], job, lambda done, total, msg: seen.append(msg))
    total = int(sum(p["tiles"] for p in first.plans.values()))
    assert first.computed == total == len(seen)
    again = analyse_province(client, [a, b], replace(job, resume=True))
    assert again.computed == 0 and again.resumed == total
    single = pd.concat([one_machine(*a, job), one_machine(*b, job)])
    assert_same_answers(single, read_points(out))
    assert_same_summaries(single, out, job, standard)
    facilities = dask_geopandas.read_parquet(f"{out}/facilities").compute()
    counts = facilities.groupby("region")["id"].agg(["count", "nunique"])
    assert counts.loc["grid4000", "count"] == len(a[0].facilities.snap)
    assert (counts["count"] == counts["nunique"]).all()  # every facility counted once
    assert set(first.coverage["level"]) == {"community", "district", "city"}
    city = first.coverage.query("level == 'city' and category == 'clinic'")
    assert float(city["population"].iloc[0]) == pytest.approx(3 * (4_000 + 3_000))
    assert pq.read_metadata(f"{out}/points/_metadata").num_rows == 7_000


@pytest.mark.slow
def test_a_tile_failing_for_a_data_reason_is_reported_and_the_rest_complete(
    client: Client, standard: Standard, tmp_path: Path
) -> None:
    region, demand = _grid(4_000, standard, seed=3)
    population = demand.population.copy()
    population[17] = np.nan
    bad = replace(demand, population=population)
    job = ProvinceJob(str(tmp_path / "out"), max_points=2_000)
    result = analyse_province(client, [(region, bad)], job)
    assert len(result.failed) == 1
    failure = result.failed[0]
    assert "population" in failure.reason and str(demand.frame["id"].iloc[17]) in failure.reason
    assert result.computed == result.plans[region.name]["tiles"] - 1
    assert (tmp_path / "out" / "failed").is_dir()
    tiles = pd.read_parquet(tmp_path / "out" / "tiles" / f"{region.name}.parquet")
    lost = int(tiles.set_index("tile").loc[failure.tile, "homes"])
    assert len(read_points(job.out)) == len(demand) - lost


@pytest.mark.slow
def test_a_worker_killed_mid_run_gives_the_same_result(
    client: Client, standard: Standard, tmp_path: Path
) -> None:
    region, demand = _grid(6_000, standard, seed=6)
    job = ProvinceJob(str(tmp_path / "out"), max_points=1_500)
    killed: list[str] = []

    def kill_one(done: int, total: int, message: str) -> None:
        if not killed:
            victim = sorted(client.scheduler_info()["workers"])[0]
            killed.append(victim)
            pid = client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)

    result = analyse_province(client, [(region, demand)], job, kill_one)
    assert killed and not result.failed
    assert result.computed == result.plans[region.name]["tiles"] >= 8
    assert_same_answers(one_machine(region, demand, job), read_points(job.out))
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


#: The generated city of the large equality test: 200,000 nodes took 10 minutes on this
#: shared 2-core machine (load average 14), so the default is the size that fits about 3;
#: LC_TEST_CITY_NODES=200000 runs the issue's full size.
CITY_NODES = int(os.environ.get("LC_TEST_CITY_NODES", "60000"))


@pytest.mark.slow
def test_a_large_city_in_16_tiles_equals_one_machine(
    client: Client, standard: Standard, tmp_path: Path
) -> None:
    region, demand = _grid(CITY_NODES, standard, seed=7)
    # nodes plus homes (one home per node) halved four times: 16 tiles
    job = ProvinceJob(str(tmp_path / "out"), max_points=2 * CITY_NODES // 16)
    result = analyse_province(client, [(region, demand)], job)
    assert result.plans[region.name]["tiles"] >= 16 and not result.failed
    single = one_machine(region, demand, job)
    assert_same_answers(single, read_points(job.out))
    assert_same_summaries(single, job.out, job, standard)


@pytest.mark.slow
def test_cli_and_python_api_give_the_same_province_run(tmp_path: Path) -> None:
    store = tmp_path / "store"
    lc.load(sample_file(), "helsinki", data_dir=store, progress=False)
    cli_out, api_out = tmp_path / "cli", tmp_path / "api"
    done = subprocess.run(
        [sys.executable, "-m", "livingcircle", "gaps", "--distributed", "--workers", "1",
         "--out", str(cli_out), "--data-dir", str(store), "-c", "clinic", "-c", "pharmacy"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Dask dashboard: http://" in done.stderr
    assert "halo overhead" in done.stderr
    result = lc.analyse_province(
        None, api_out, categories=["clinic", "pharmacy"], workers=1, progress=False,
        data_dir=store,
    )  # fmt: skip
    assert result.computed >= 1 and not result.failed
    pd.testing.assert_frame_equal(read_points(str(cli_out)), read_points(str(api_out)))
    again = subprocess.run(
        [sys.executable, "-m", "livingcircle", "gaps", "--distributed", "--workers", "1",
         "--out", str(cli_out), "--data-dir", str(store), "-c", "clinic", "-c", "pharmacy",
         "--resume", "--quiet"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert again.returncode == 0 and "0 tiles computed" in again.stderr, again.stderr[-2000:]
    if importlib.util.find_spec("duckdb") is None:  # DuckDB reads the folder when installed
        return
    import duckdb  # noqa: PLC0415

    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{cli_out}/points/part.*.parquet')")
    assert rows.fetchone()[0] == len(read_points(str(cli_out)))  # type: ignore[index]


@pytest.mark.slow
def test_a_province_built_on_the_workers_equals_one_machine(
    client: Client, standard: Standard, tmp_path: Path
) -> None:
    cities = synthetic_province(7_000, city_nodes=4_000, seed=3)
    assert [c.n_nodes for c in cities] == [4_000, 3_000]
    job = ProvinceJob(str(tmp_path / "built"), max_points=2_000)
    result = analyse_built_province(client, cities, standard, job)
    assert set(result.plans) == {"city00", "city01"} and not result.failed
    assert result.computed == sum(p["tiles"] for p in result.plans.values())
    assert all(p["build_cpu_s"] > 0 for p in result.plans.values())
    single = pd.concat([one_machine(*city(), job) for city in cities])
    assert_same_answers(single, read_points(job.out))
    assert_same_summaries(single, job.out, job, standard)
    with pytest.raises(InvalidParameter, match="named twice"):
        analyse_built_province(client, [cities[0], cities[0]], standard, job)


def _run_tasks_of(client: Client, prefix: str) -> list[str]:
    """The scheduler's tasks whose key starts with ``prefix`` (a run's, still held)."""
    keys: list[str] = client.run_on_scheduler(  # type: ignore[no-untyped-call]  # dask.distributed is unannotated
        lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks]
    )
    return [k for k in keys if k.startswith(prefix)]


@pytest.mark.slow
def test_a_city_failing_for_another_reason_cancels_the_rest_and_names_it(
    client: Client, standard: Standard, tmp_path: Path
) -> None:
    # a builder that reads a file only this machine has: FileNotFoundError on the worker
    missing = cast(RegionBuilder, functools.partial(open, str(tmp_path / "only-here.pbf")))
    slow = [SyntheticCity(f"slow{i}", 60_000, seed=i) for i in range(3)]
    job = ProvinceJob(str(tmp_path / "built"), max_points=20_000)
    with pytest.raises(ClusterTaskFailed, match="building region 1 of 4") as caught:
        analyse_built_province(client, [missing, *slow], standard, job)
    assert "FileNotFoundError" in str(caught.value) and "only-here.pbf" in str(caught.value)
    assert isinstance(caught.value.__cause__, FileNotFoundError)
    assert "were cancelled" in str(caught.value) and caught.value.cancelled >= 1
    # the run's futures are still referenced (by the traceback), yet none is left running
    assert _run_tasks_of(client, "_build_and_plan") == []
    assert client.submit(sum, [1, 2]).result() == 3  # the cluster is free for the next run


def test_a_step_free_province_run_equals_one_machine_at_step_free(
    client: Client, sample_region: Region, tmp_path: Path
) -> None:
    demand = _homes(sample_region)
    job = ProvinceJob(
        str(tmp_path / "out"),
        ["clinic", "pharmacy", "elderly_care"],
        speed_m_s=0.8,
        max_points=max(500, sample_region.net.n_nodes // 2),
        profile="step-free",
    )
    result = analyse_province(client, [(sample_region, demand)], job)
    assert result.computed >= 4 and not result.failed
    cats = sample_region.standard.resolve_categories(job.categories)
    horizon = run_horizon(sample_region.standard, job, cats)
    at_step_free = analyse(
        sample_region, demand, cats, job.k, job.minutes, horizon_m=horizon, profile="step-free"
    )
    single = points_table(at_step_free, horizon)
    assert_same_answers(single, read_points(job.out))
    plain = one_machine(sample_region, demand, replace(job, profile="standard", speed_m_s=1.0))
    assert not single["clinic_min"].equals(plain["clinic_min"])  # the steps changed walks
