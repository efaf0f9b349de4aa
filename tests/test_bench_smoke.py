"""Benchmarks are not tests, but they must keep running: a tiny run of each engine bench."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.slow
def test_engine_bench_runs() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_engine.py"),
            "--quick",
            "--points",
            "2",
            "--osmnx-points",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "catchment median <= 10 ms (sample)" in done.stdout
    assert "Walking profiles" in done.stdout and "sample / step-free" in done.stdout


@pytest.mark.slow
def test_api_bench_runs() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_api.py"),
            "--no-postgis",
            "--seconds",
            "0.3",
            "--clients",
            "2",
            "--max-requests",
            "20",
            "--gzip",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| embedded |")]
    assert len(rows) == 2 and all(row.split("|")[8].strip() == "0" for row in rows), done.stdout


@pytest.mark.slow
def test_batch_bench_runs() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_batch.py"),
            "--origins",
            "40",
            "--loop",
            "5",
            "--datasets",
            "sample",
            "grid2000",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "loop/batch" in done.stdout and "grid-2000" in done.stdout


@pytest.mark.slow
@pytest.mark.browser
def test_app_bench_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_app.py"), "--taps", "3", "--port", "8733"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "shell total" in done.stdout and "tap to drawn answer" in done.stdout


@pytest.mark.slow
def test_gaps_bench_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_gaps.py"), "--quick", "--no-baselines"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "grid-5000: nearest step <= 1.5x SciPy's floor" in done.stdout, done.stdout
