"""The command line, run as a real process against a throwaway data directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli_process import embedded_env, run_livingcircle

LAT, LON = "60.1710", "24.9414"


def run(data_dir: Path, *args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    return run_livingcircle(embedded_env(data_dir, COLUMNS=str(columns)), *args)


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


#: What the commands load when they run, never for ``--help``.
HEAVY = ("geopandas", "osmnx", "dask", "distributed", "folium", "sqlalchemy", "numba", "numpy")


def test_help_loads_no_heavy_module() -> None:
    probe = (
        "import sys; from typer.testing import CliRunner; from livingcircle.cli import app; "
        "assert CliRunner().invoke(app, ['gaps', '--help']).exit_code == 0; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_regions_lists_the_loaded_sample(data_dir: Path) -> None:
    done = run(data_dir, "regions", "--json")
    (info,) = json.loads(done.stdout)
    assert info["name"] == "helsinki" and info["n_facilities"] > 500


def test_nearest_prints_geojson(data_dir: Path) -> None:
    done = run(
        data_dir,
        "nearest",
        "--lat",
        LAT,
        "--lon",
        LON,
        "-c",
        "pharmacy",
        "-c",
        "clinic",
        "--k",
        "2",
        "--json",
    )
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
    header = next(line for line in done.stdout.splitlines() if "类别" in line)
    assert header.index("类别") < header.index("category")  # 中文 first
    row = next(line for line in done.stdout.splitlines() if "药店" in line)
    assert row.index("药店") < row.index("Pharmacy")


def test_catchment_geojson_and_map(data_dir: Path, tmp_path: Path) -> None:
    html = tmp_path / "map.html"
    done = run(
        data_dir,
        "catchment",
        "--lat",
        LAT,
        "--lon",
        LON,
        "--profile",
        "elderly",
        "--json",
        "--out",
        str(html),
    )
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
    assert fc["properties"]["walking"] == "0.8 m/s (elderly)"
    page = html.read_text(encoding="utf-8")
    assert "leaflet" in page.lower() and "lc-legend" in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["nearest", "--lat", LAT, "--lon", LON, "-c", "chemist"],
            "unknown category 'chemist'; allowed: bank, bicycle_parking",
        ),
        (
            ["nearest", "--lat", "31.23", "--lon", "121.47"],
            "outside every loaded region; the nearest is helsinki (lat 60.16",
        ),
        (["catchment", "--lat", LAT, "--lon", LON, "-m", "90"], "out of range"),
        (["nearest", "--lat", LAT, "--lon", LON, "--profile", "jogger"], "unknown walking profile"),
        (
            ["nearest", "--lat", LAT, "--lon", LON, "--region", "ningbo"],
            "region 'ningbo' is not loaded (loaded regions: helsinki)",
        ),
    ],
)
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


@pytest.mark.parametrize(
    "args",
    [
        ["map", "resident", "--lat", LAT, "--lon", LON, "--offline"],
        ["map", "resident", "--lat", LAT, "--lon", LON, "--tiles", "amap"],
        ["map", "planner", "--region", "helsinki", "--category", "pharmacy", "--offline"],
        ["map", "planner", "-r", "helsinki", "-c", "pharmacy", "--offline", "--profile", "elderly"],
        ["map", "kiosk", "--kiosk", "helsinki-station"],
    ],
)
def test_map_commands_write_pages(data_dir: Path, tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "page.html"
    done = run(data_dir, *args, "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert "L.map(" in page and len(page) < 3_000_000
    if "amap" in args:
        assert "autonavi" in page  # Amap tiles, our data shifted to GCJ-02


def test_map_with_unknown_tiles_is_refused(data_dir: Path, tmp_path: Path) -> None:
    done = run(
        data_dir,
        "map",
        "resident",
        "--lat",
        LAT,
        "--lon",
        LON,
        "--tiles",
        "bing",
        "--out",
        str(tmp_path / "x.html"),
    )
    assert done.returncode == 2
    assert "unknown tiles 'bing'; allowed: osm, amap, none" in done.stderr


def test_catchment_states_the_walking_speed_and_keeps_html_as_an_alias(
    data_dir: Path, tmp_path: Path
) -> None:
    done = run(
        data_dir,
        "catchment",
        "--lat",
        LAT,
        "--lon",
        LON,
        "--speed",
        "1.25",
        "--html",
        str(tmp_path / "old.html"),
    )
    assert done.returncode == 0, done.stderr
    assert "in helsinki" in done.stdout
    assert "walking at 1.25 m/s (custom, --speed)" in done.stdout
    assert "--html is deprecated; use --out" in done.stderr
    assert (tmp_path / "old.html").stat().st_size > 10_000
    assert "--html" not in run(data_dir, "catchment", "--help").stdout


def test_nearest_table_names_region_and_speed(data_dir: Path) -> None:
    done = run(data_dir, "nearest", "--lat", LAT, "--lon", LON, "-c", "pharmacy")
    title = " ".join(done.stdout.split())  # the title wraps to the table's width
    assert "in helsinki, walking at 1.0 m/s (standard)" in title


def test_json_of_regions_and_categories_is_not_called_geojson() -> None:
    for command in ("regions", "categories"):
        help_text = run(Path("unused"), command, "--help").stdout
        assert "--json" in help_text and "GeoJSON" not in help_text.replace("not GeoJSON", "")
    assert "GeoJSON" in run(Path("unused"), "nearest", "--help").stdout


@pytest.mark.parametrize(
    "args",
    [
        ["regions"],
        ["categories"],
        ["nearest", "--lat", LAT, "--lon", LON, "-c", "clinic", "-c", "pharmacy", "--k", "3"],
        ["catchment", "--lat", LAT, "--lon", LON],
    ],
)
def test_tables_fit_80_columns(data_dir: Path, args: list[str]) -> None:
    done = run(data_dir, *args, columns=80)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 80
    assert "…" not in done.stdout  # nothing cut short
    if args == ["categories"]:  # ids are what people type: never broken across lines
        assert "junior_high_school" in done.stdout and "bicycle_parking" in done.stdout
    if args == ["regions"]:
        assert "helsinki: lat 60.16" in done.stdout and "3,225" in done.stdout


def test_regions_remove(tmp_path: Path, sample_path: Path) -> None:
    for name in ("helsinki", "copy"):
        assert run(tmp_path, "load", str(sample_path), "-r", name, "-q").returncode == 0
    done = run(tmp_path, "nearest", "--lat", LAT, "--lon", LON)
    assert done.returncode == 2
    assert "more than one loaded region; pass --region NAME" in done.stderr
    assert "allowed: copy, helsinki" in done.stderr
    done = run(tmp_path, "regions", "remove", "copy")
    assert done.returncode == 0 and "region copy removed" in done.stderr
    assert [r["name"] for r in json.loads(run(tmp_path, "regions", "--json").stdout)] == [
        "helsinki"
    ]
    assert [r["name"] for r in json.loads(run(tmp_path, "regions", "list", "--json").stdout)] == [
        "helsinki"
    ]
    done = run(tmp_path, "regions", "remove", "copy")
    assert done.returncode == 2 and "region 'copy' is not loaded" in done.stderr


def test_nearest_walks_at_the_step_free_profile(data_dir: Path) -> None:
    args = ["nearest", "--lat", LAT, "--lon", LON, "-c", "clinic", "--json"]
    times = {}
    for profile in ("standard", "step-free"):
        done = run(data_dir, *args, "--profile", profile)
        assert done.returncode == 0, done.stderr
        fc = json.loads(done.stdout)
        times[profile] = next(
            f["properties"]["time_s"]
            for f in fc["features"]
            if f["properties"]["kind"] == "facility"
        )
    assert times["step-free"] > times["standard"] / 0.8  # slower, and round the steps
    table = run(data_dir, *args[:-1], "--profile", "step-free")
    assert table.returncode == 0, table.stderr
    assert "注意 · Note: 未载入高程数据" in table.stdout  # the profile's notes, 中文 first


def _commands() -> list[tuple[str, Any]]:
    """Every command of the app, by its full name, as click sees it."""
    import typer  # noqa: PLC0415

    from livingcircle.cli import app  # noqa: PLC0415

    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: str) -> None:
        found.append((path, command))
        if hasattr(command, "list_commands"):  # a group, not a single command
            ctx = command.context_class(command)
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), f"{path} {name}".strip())

    walk(typer.main.get_command(app), "")
    return found


def test_shared_options_are_declared_once() -> None:
    """--data-dir, --database, --homes... read the same in every command that takes them.

    (The poster's --lat/--lon are its own: optional, beside --kiosk.)
    """
    shared = (
        "--data-dir",
        "--database",
        "--standards",
        "--homes",
        "--communities",
        "--profile",
        "--speed",
        "--offline",
        "--tiles",
        "--quiet",
        "--scheduler",
    )
    helps: dict[str, set[str]] = {name: set() for name in shared}
    for _, command in _commands():
        for param in command.params:
            for name in set(param.opts) & set(shared):
                helps[name].add(param.help)
    assert all(len(texts) == 1 for texts in helps.values()), helps
    assert all(helps.values())


def test_a_group_of_options_reaches_the_command(tmp_path: Path) -> None:
    """A command taking an option group gets the options given (here: the store's folder)."""
    done = run(tmp_path / "elsewhere", "regions", "--json", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    assert (tmp_path / "elsewhere").exists() is False
