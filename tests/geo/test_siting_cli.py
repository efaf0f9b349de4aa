"""``livingcircle gaps --siting`` as a real process on the sample."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from tests.test_cli import run


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, sample_path: Path) -> Path:
    path = tmp_path_factory.mktemp("lcsiting")
    done = run(path, "load", str(sample_path), "--region", "helsinki", "--quiet")
    assert done.returncode == 0, done.stderr
    return path


def test_gaps_compares_siting_methods(loaded: Path, sample_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "gaps.csv"
    done = run(
        loaded,
        "gaps",
        "-r",
        "helsinki",
        "--osm",
        str(sample_path),
        "--population",
        "20000",
        "-c",
        "clinic",
        "--sites",
        "3",
        "--siting",
        "greedy,mclp,pmedian",
        "--report",
        "none",
        "-o",
        str(out),
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "gaps.siting.csv")
    assert table["method"].tolist() == ["greedy", "mclp", "pmedian"]
    by = table.set_index("method")
    assert (
        by.loc["greedy", "newly_covered_population"]
        <= by.loc["mclp", "newly_covered_population"] + 1e-6
    )
    assert by.loc["pmedian", "mean_m"] <= by.loc["greedy", "mean_m"] + 1e-6
    sites = gpd.read_file(tmp_path / "gaps.siting-sites.geojson")
    assert sorted(set(sites["method"])) == ["greedy", "mclp", "pmedian"]
    assert "MCLP optimum" in done.stderr and "p-median optimum" in done.stderr


def test_gaps_refuses_an_unknown_siting_method(loaded: Path, tmp_path: Path) -> None:
    done = run(
        loaded,
        "gaps",
        "-r",
        "helsinki",
        "--siting",
        "greedy,genetic",
        "-o",
        str(tmp_path / "x.csv"),
    )
    assert done.returncode == 2
    assert "allowed a comma-separated list of greedy, mclp, pmedian" in done.stderr
