"""``livingcircle scenario run`` as a real process on the sample, and ``Region.scenario``."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest

import livingcircle as lc
from livingcircle.geo.scenario import NewFacility, Scenario, ScenarioError
from tests.test_cli import run

HOMES = "lon,lat,population\n24.9414,60.1710,100\n24.9500,60.1650,50\n24.9330,60.1680,80\n"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, sample_path: Path) -> Path:
    path = tmp_path_factory.mktemp("lcscenario")
    done = run(path, "load", str(sample_path), "--region", "helsinki", "--quiet")
    assert done.returncode == 0, done.stderr
    (path / "homes.csv").write_text(HOMES, encoding="utf-8")
    return path


def _scenario(path: Path, body: str) -> Path:
    file = path / "what-if.toml"
    file.write_text(body, encoding="utf-8")
    return file


CLINIC = (
    'name = "Harbour clinic"\n[[add_facility]]\ncategory = "clinic"\n'
    'name = "Harbour clinic"\nlon = 24.9500\nlat = 60.1651\n'
)


def test_a_new_clinic_before_and_after(loaded: Path, tmp_path: Path) -> None:
    file = _scenario(
        tmp_path,
        CLINIC + '[[add_link]]\nname = "Footbridge"\n'
        "from = [24.9414, 60.1712]\nto = [24.9440, 60.1716]\n",
    )
    out = tmp_path / "diff.gpkg"
    done = run(
        loaded,
        "scenario",
        "run",
        str(file),
        "-r",
        "helsinki",
        "--homes",
        str(loaded / "homes.csv"),
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "Harbour clinic" in done.stdout and "clinic" in done.stdout
    assert "tiers met" in done.stdout and "scenario computed in" in done.stderr
    changes = gpd.read_file(out, layer="changes")
    clinic = changes[changes["category"] == "clinic"]
    assert len(clinic) >= 1 and (clinic["change_min"] < 0).all()
    streets = gpd.read_file(out, layer="streets")
    assert streets["change"].tolist() == ["link"]
    done = run(
        loaded,
        "scenario",
        "run",
        str(file),
        "-r",
        "helsinki",
        "--homes",
        str(loaded / "homes.csv"),
        "--json",
        "--quiet",
    )
    data = json.loads(done.stdout)
    assert data["scenario"] == "Harbour clinic"
    row = next(r for r in data["categories"] if r["category"] == "clinic")
    assert row["covered_after"] >= row["covered_before"]
    assert {t["tier_minutes"] for t in data["tiers"]} == {5, 10, 15}


def test_the_stored_region_is_not_changed(loaded: Path, tmp_path: Path) -> None:
    before = run(loaded, "regions", "--json").stdout
    file = _scenario(tmp_path, "[[close_street]]\nat = [24.9414, 60.1712]\n")
    done = run(
        loaded,
        "scenario",
        "run",
        str(file),
        "-r",
        "helsinki",
        "--homes",
        str(loaded / "homes.csv"),
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    assert run(loaded, "regions", "--json").stdout == before


def test_bad_scenarios_are_refused_with_the_reason(loaded: Path, tmp_path: Path) -> None:
    file = _scenario(
        tmp_path,
        '[[add_facility]]\ncategory = "clinc"\nlon = 24.95\nlat = 60.17\n'
        '[[close_facility]]\nid = "osm:node/1"\n'
        "[[add_link]]\nfrom = [24.9414, 60.1712]\nto = [24.80, 60.10]\n",
    )
    done = run(loaded, "scenario", "run", str(file), "-r", "helsinki", "--quiet")
    assert done.returncode == 2
    assert "what-if.toml has 3 problems" in done.stderr
    assert "unknown category 'clinc'" in done.stderr
    assert "no facility 'osm:node/1'" in done.stderr
    assert "outside region" in done.stderr
    done = run(
        loaded, "scenario", "run", str(file), "-r", "helsinki", "-o", str(tmp_path / "x.xlsx")
    )
    assert done.returncode == 2 and "allowed endings .gpkg, .parquet, .csv" in done.stderr
    bad = _scenario(tmp_path, '[[add_facility]]\ncategory = "clinic"\n')
    done = run(loaded, "scenario", "run", str(bad), "-r", "helsinki")
    assert done.returncode == 2 and "the field lon is missing" in done.stderr


def test_the_python_api(loaded: Path) -> None:
    helsinki = lc.open("helsinki", data_dir=loaded)
    homes = str(loaded / "homes.csv")
    out = helsinki.scenario(
        Scenario("c", (NewFacility("clinic", 24.9500, 60.1651),)), homes=homes, progress=False
    )
    assert out.summary["category"].tolist() == ["clinic"]
    assert set(out.layers) == {"summary", "tiers", "changes", "facilities", "streets"}
    assert out.facilities["change"].tolist() == ["add"]
    assert (out.changes["minutes_after"] <= out.changes["minutes_before"]).all()
    with pytest.raises(ScenarioError, match="unknown category"):
        helsinki.scenario(
            Scenario("x", (NewFacility("nope", 24.95, 60.165),)), homes=homes, progress=False
        )


def test_a_scenario_run_at_step_free_walks_the_step_free_network(
    loaded: Path, tmp_path: Path
) -> None:
    file = _scenario(tmp_path, CLINIC)
    args = ["scenario", "run", str(file), "-r", "helsinki", "--homes", str(loaded / "homes.csv")]
    rows = {}
    for profile in ("standard", "step-free"):
        done = run(loaded, *args, "--profile", profile, "--json", "--quiet")
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        rows[profile] = next(r for r in data["categories"] if r["category"] == "clinic")
    free, plain = rows["step-free"], rows["standard"]
    assert free["mean_minutes_before"] > plain["mean_minutes_before"] / 0.8  # round the steps
    api = lc.open("helsinki", data_dir=loaded).scenario(
        Scenario("Harbour clinic", (NewFacility("clinic", 24.95, 60.1651, "Harbour clinic"),)),
        homes=loaded / "homes.csv",
        profile="step-free",
        progress=False,
    )
    mine = api.summary.set_index("category").loc["clinic"]
    assert mine["mean_minutes_before"] == pytest.approx(free["mean_minutes_before"], abs=1e-6)
