"""``livingcircle gaps`` as a real process on the sample."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from tests.test_cli import run


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, sample_path: Path) -> Path:
    path = tmp_path_factory.mktemp("lcgaps")
    done = run(path, "load", str(sample_path), "--region", "helsinki", "--quiet")
    assert done.returncode == 0, done.stderr
    return path


def test_gaps_from_osm_homes_to_a_geopackage(
    loaded: Path, sample_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "gaps.gpkg"
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
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "OSM residential buildings" in done.stderr
    assert "社区卫生服务站 · Clinic / health station" in done.stdout
    assert {name for name, _ in pyogrio.list_layers(out)} == {
        "points",
        "gaps",
        "sites",
        "coverage",
        "tiers",
        "access_scores",
        "equity",
    }
    scores = gpd.read_file(out, layer="access_scores")
    assert set(scores["category"]) == {"clinic"} and (scores["score_e2sfca"] >= 0).all()
    equity = gpd.read_file(out, layer="equity")
    assert {"gini", "worst_decile_share", "within_15min_share"} <= set(equity.columns)
    sites = gpd.read_file(out, layer="sites")
    assert sites["rank"].tolist() == [1, 2, 3]
    assert sites["gain_population"].is_monotonic_decreasing
    assert gpd.read_file(out, layer="points")["population"].sum() == pytest.approx(20_000)
    report = (tmp_path / "gaps.report.md").read_text(encoding="utf-8")
    assert "建议新建的设施 · Recommendations: where to build next" in report


def test_gaps_with_a_homes_csv_and_html_report(loaded: Path, tmp_path: Path) -> None:
    homes = tmp_path / "homes.csv"
    homes.write_text("lon,lat,population,elderly\n24.9414,60.1710,100,30\n24.9500,60.1650,50,0\n")
    done = run(
        loaded,
        "gaps",
        "-r",
        "helsinki",
        "--homes",
        str(homes),
        "-c",
        "pharmacy",
        "--report",
        "html",
        "-o",
        str(tmp_path / "out.csv"),
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.sites.csv").exists() and (tmp_path / "out.report.html").exists()
    equity = pd.read_csv(tmp_path / "out.equity.csv")
    old = equity[(equity["group"] == "elderly") & (equity["community"] == "(district)")]
    assert old["population"].tolist() == [30] and old["speed_m_s"].tolist() == [0.8]


def test_gaps_refuses_bad_input(loaded: Path, tmp_path: Path) -> None:
    done = run(loaded, "gaps", "-r", "helsinki", "-o", str(tmp_path / "x.xlsx"))
    assert done.returncode == 2 and "allowed endings" in done.stderr
    done = run(loaded, "gaps", "-r", "helsinki", "-c", "nope", "-o", str(tmp_path / "x.csv"))
    assert done.returncode == 2 and "unknown category" in done.stderr


def test_gaps_at_step_free_judges_homes_on_the_step_free_network(
    loaded: Path, tmp_path: Path
) -> None:
    homes = tmp_path / "homes.csv"
    # by the Kauppatori square; a step-free walk to a clinic is longer than the speed alone
    homes.write_text("lon,lat,population\n24.9414,60.1710,100\n24.9500,60.1650,50\n")
    args = ["gaps", "-r", "helsinki", "--homes", str(homes), "-c", "clinic", "--sites", "0"]
    outs = {}
    for profile, more in (
        ("standard", ["--compare-profiles", "elderly,step-free"]),
        ("step-free", []),
    ):
        out = tmp_path / f"{profile}.csv"
        done = run(
            loaded, *args, "--profile", profile, *more, "--report", "none", "-o", str(out), "-q"
        )
        assert done.returncode == 0, done.stderr
        outs[profile] = pd.read_csv(out)
    # several profiles in one run: the homes each loses within 5 minutes, per category
    lost = pd.read_csv(tmp_path / "standard.profiles.csv")
    assert set(lost["profile"]) == {"elderly", "step-free"}
    assert {"elderly_care", "clinic", "any"} <= set(lost["category"])
    assert (lost["lost"] <= lost["within_reference"]).all() and (lost["homes"] == 2).all()
    bad = run(loaded, *args, "--compare-profiles", "rollerskates", "-o", str(tmp_path / "x.csv"))
    assert bad.returncode == 2 and "unknown walking profile 'rollerskates'" in bad.stderr
    where = ["--lat", "60.1710", "--lon", "24.9414"]
    done = run(loaded, "nearest", *where, "-c", "clinic", "--profile", "step-free", "--json")
    assert done.returncode == 0, done.stderr
    single = json.loads(done.stdout)
    time_s = next(
        f["properties"]["time_s"]
        for f in single["features"]
        if f["properties"]["kind"] == "facility"
    )
    free, plain = outs["step-free"], outs["standard"]
    assert free["clinic_min"].iloc[0] * 60 == pytest.approx(time_s, abs=0.01)
    assert free["clinic_min"].iloc[0] > plain["clinic_min"].iloc[0] / 0.8 + 1e-3
