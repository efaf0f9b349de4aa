"""Province-scale runs on Dask: the cluster connection, the distributed analysis, its outputs."""

from __future__ import annotations

import io
import time

import pytest

from livingcircle.cluster import connect, scheduler_address
from livingcircle.geo.errors import ClusterUnavailable, InvalidParameter


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


def test_local_cluster_runs_tasks_and_prints_the_dashboard() -> None:
    out = io.StringIO()
    with connect(workers=1, stream=out) as client:
        assert client.submit(sum, [1, 2, 3]).result() == 6
        assert len(client.scheduler_info()["workers"]) == 1
    text = out.getvalue()
    assert "Dask dashboard: http://" in text
    assert "1 worker(s)" in text
