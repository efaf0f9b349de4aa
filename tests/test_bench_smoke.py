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
        [sys.executable, str(BENCH / "bench_engine.py"), "--quick", "--points", "2",
         "--osmnx-points", "1"],
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "catchment median <= 10 ms (sample)" in done.stdout
