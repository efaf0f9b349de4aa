"""The command line, run as a real process against a throwaway data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LAT, LON = "60.1710", "24.9414"


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LC_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("LC_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "livingcircle", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, sample_path: Path) -> Path:
    path = tmp_path_factory.mktemp("lcdata")
    done = run(path, "load", str(sample_path), "--region", "helsinki", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "loaded region helsinki" in done.stderr
    return path


def test_help_explains_the_commands(tmp_path: Path) -> None:
    done = run(tmp_path, "--help")
    assert done.returncode == 0
    for command in ("load", "regions", "nearest", "catchment", "demo", "categories"):
        assert command in done.stdout


def test_regions_lists_the_loaded_sample(data_dir: Path) -> None:
    done = run(data_dir, "regions", "--json")
    (info,) = json.loads(done.stdout)
    assert info["name"] == "helsinki" and info["n_facilities"] > 500


def test_nearest_prints_geojson(data_dir: Path) -> None:
    done = run(data_dir, "nearest", "--lat", LAT, "--lon", LON, "-c", "pharmacy", "-c",
               "clinic", "--k", "2", "--json")
    assert done.returncode == 0, done.stderr
    fc = json.loads(done.stdout)
    assert fc["type"] == "FeatureCollection"
    points = [f for f in fc["features"] if f["properties"]["kind"] == "facility"]
    assert {f["properties"]["category"] for f in points} == {"pharmacy", "clinic"}
    assert len(points) == 4
    for f in points:
        assert f["geometry"]["type"] == "Point"
        assert {"id", "name", "category", "distance_m", "time_s"} <= set(f["properties"])
        assert f["properties"]["time_s"] == pytest.approx(f["properties"]["distance_m"], abs=1e-3)
    routes = [f for f in fc["features"] if f["properties"]["kind"] == "route"]
    assert len(routes) == 4 and all(r["geometry"]["type"] == "LineString" for r in routes)


def test_nearest_table_for_people(data_dir: Path) -> None:
    done = run(data_dir, "nearest", "--lat", LAT, "--lon", LON, "-c", "pharmacy")
    assert done.returncode == 0, done.stderr
    assert "Pharmacy" in done.stdout and "药店" in done.stdout


def test_catchment_geojson_and_map(data_dir: Path, tmp_path: Path) -> None:
    html = tmp_path / "map.html"
    done = run(data_dir, "catchment", "--lat", LAT, "--lon", LON, "--profile", "elderly",
               "--json", "--html", str(html))
    assert done.returncode == 0, done.stderr
    fc = json.loads(done.stdout)
    rings = [f for f in fc["features"] if f["properties"]["kind"] == "ring"]
    assert [r["properties"]["minutes"] for r in rings] == [15, 10, 5]
    assert all(r["geometry"]["type"] in ("Polygon", "MultiPolygon") for r in rings)
    facilities = [f for f in fc["features"] if f["properties"]["kind"] == "facility"]
    assert facilities and all(f["properties"]["time_s"] <= 900 for f in facilities)
    tiers = fc["properties"]["tiers"]
    assert [t["minutes"] for t in tiers] == [5, 10, 15]
    assert fc["properties"]["speed_m_s"] == 0.8
    page = html.read_text(encoding="utf-8")
    assert "leaflet" in page.lower() and "lc-legend" in page


@pytest.mark.parametrize(("args", "message"), [
    (["nearest", "--lat", LAT, "--lon", LON, "-c", "chemist"],
     "unknown category 'chemist'; allowed: bank, bicycle_parking"),
    (["nearest", "--lat", "31.23", "--lon", "121.47"], "outside every loaded region"),
    (["catchment", "--lat", LAT, "--lon", LON, "-m", "90"], "out of range"),
    (["nearest", "--lat", LAT, "--lon", LON, "--profile", "jogger"], "unknown walking profile"),
    (["nearest", "--lat", LAT, "--lon", LON, "--region", "ningbo"],
     "region 'ningbo' is not loaded (loaded regions: helsinki)"),
])
def test_bad_input_gets_one_clear_line(data_dir: Path, args: list[str], message: str) -> None:
    done = run(data_dir, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_failed_load_keeps_the_region(data_dir: Path, tmp_path: Path) -> None:
    before = run(data_dir, "regions", "--json").stdout
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"\x00\x00\x00\x0dnot a pbf at all")
    done = run(data_dir, "load", str(bad), "--region", "helsinki", "--quiet")
    assert done.returncode == 2
    assert "cannot read OSM file" in done.stderr
    assert run(data_dir, "regions", "--json").stdout == before


def test_demo_loads_the_sample_and_writes_a_map(tmp_path: Path) -> None:
    out = tmp_path / "demo.html"
    done = run(tmp_path / "fresh", "demo", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Nearest services on foot" in done.stdout
    assert "15-minute living circle" in done.stdout
    assert out.stat().st_size > 50_000


@pytest.mark.parametrize("args", [
    ["map", "resident", "--lat", LAT, "--lon", LON, "--offline"],
    ["map", "resident", "--lat", LAT, "--lon", LON, "--tiles", "amap"],
    ["map", "planner", "--region", "helsinki", "--category", "pharmacy", "--offline"],
    ["map", "kiosk", "--kiosk", "helsinki-station"],
])
def test_map_commands_write_pages(data_dir: Path, tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "page.html"
    done = run(data_dir, *args, "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert "L.map(" in page and len(page) < 3_000_000
    if "amap" in args:
        assert "autonavi" in page  # Amap tiles, our data shifted to GCJ-02


def test_map_with_unknown_tiles_is_refused(data_dir: Path, tmp_path: Path) -> None:
    done = run(data_dir, "map", "resident", "--lat", LAT, "--lon", LON, "--tiles", "bing",
               "--out", str(tmp_path / "x.html"))
    assert done.returncode == 2
    assert "unknown tiles 'bing'; allowed: osm, amap, none" in done.stderr
