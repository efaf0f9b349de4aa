"""The built wheel works outside the repository; the repository's tests use the editable install.

The slow half builds the wheel (``python -m build --wheel``, as a release does, npm assets
included), installs it with pip into a fresh venv in a temporary folder (no system site
packages: a missing dependency or data file fails here), and runs the README's commands
there with the repository neither the working directory nor on ``sys.path``.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

import livingcircle
from livingcircle.maps.offline import remote_references

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("geo", "data", "api", "maps")
#: files the installed package reads at run time, beside its modules
DATA_FILES = (
    "livingcircle/py.typed",
    "livingcircle/geo/gb50180.toml",
    "livingcircle/maps/kiosks.toml",
    "livingcircle/data/migrations/env.py",
    "livingcircle/data/migrations/script.py.mako",
    "livingcircle/data/migrations/versions/0001_initial.py",
    "livingcircle/maps/assets/node_modules/leaflet/dist/leaflet.js",
    "livingcircle/maps/assets/node_modules/leaflet/dist/leaflet.css",
    "livingcircle/maps/assets/node_modules/leaflet/dist/images/marker-icon.png",
    "livingcircle/maps/assets/node_modules/leaflet/LICENSE",
    "livingcircle/maps/assets/node_modules/leaflet.markercluster/dist/leaflet.markercluster.js",
    "livingcircle/maps/assets/node_modules/leaflet.markercluster/dist/MarkerCluster.css",
    "livingcircle/maps/assets/node_modules/leaflet.markercluster/MIT-LICENCE.txt",
    "livingcircle/maps/assets/node_modules/leaflet.featuregroup.subgroup/dist/leaflet.featuregroup.subgroup.js",
    "livingcircle/maps/assets/node_modules/swagger-ui-dist/swagger-ui-bundle.js",
    "livingcircle/maps/assets/node_modules/swagger-ui-dist/swagger-ui.css",
    "livingcircle/maps/assets/node_modules/redoc/bundles/redoc.standalone.js",
    "livingcircle/maps/assets/node_modules/@fontsource/noto-sans-sc/400.css",
    "livingcircle/maps/assets/node_modules/@fontsource/noto-sans-sc/700.css",
    "livingcircle/maps/assets/node_modules/@fontsource/noto-sans-sc/files/noto-sans-sc-119-700-normal.woff2",
    "livingcircle/maps/assets/node_modules/@fontsource/noto-sans-sc/LICENSE",
)
LAT, LON = "60.1710", "24.9414"


@dataclass(frozen=True)
class Outside:
    """A fresh venv with the wheel installed, and a working folder outside the repository."""

    home: Path
    env: dict[str, str]

    @property
    def work(self) -> Path:
        return self.home / "work"

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command there; it must succeed."""
        done = subprocess.run(
            list(args),
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done


# -- the repository: the editable install -----------------------------------------------------


def test_repo_tests_import_the_editable_package() -> None:
    assert Path(livingcircle.__file__).parent == REPO / "livingcircle"
    for folder in FOLDERS:
        module = importlib.import_module(f"livingcircle.{folder}")
        assert Path(module.__file__ or "").parent == REPO / folder, module
    # the folders are never imported under their own names as well (two copies of a module)
    for folder in FOLDERS:
        stray = sys.modules.get(folder)
        assert stray is None or REPO not in Path(getattr(stray, "__file__", "") or "/").parents


# -- the wheel, installed elsewhere ------------------------------------------------------------


def _clean_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LC_", "PYTHON", "VIRTUAL_ENV", "CONDA"))
    }
    env["PATH"] = f"{home / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["LC_DATA_DIR"] = str(home / "data")
    env["PYTHONNOUSERSITE"] = "1"
    env["COLUMNS"] = "120"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=180,
    )
    (built,) = out.glob("livingcircle-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Outside:
    """The wheel in a fresh venv (dependencies from the package index), after ``demo``."""
    home = tmp_path_factory.mktemp("outside")
    outside = Outside(home, _clean_env(home))
    outside.work.mkdir()
    subprocess.run(
        [sys.executable, "-m", "venv", str(home / "venv")],
        check=True,
        env=outside.env,
        cwd=home,
        timeout=120,
    )
    outside(
        str(home / "venv" / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        str(wheel),
        timeout=600,  # ~100 wheels, numba and llvmlite among them, on a shared machine
    )
    outside("livingcircle", "demo", "--out", "d.html")
    return outside


def _assert_offline(outside: Outside, name: str) -> None:
    html = (outside.work / name).read_text(encoding="utf-8")
    assert "L.Icon.Default.mergeOptions" in html, f"{name}: Leaflet is not inlined"
    # Leaflet's attribution is a link to leafletjs.com, not a request
    assert [r for r in remote_references(html) if "leafletjs.com" not in r] == [], name


@pytest.mark.slow
def test_wheel_holds_one_package_and_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {PurePosixPath(n).parts[0] for n in names}
    assert tops == {"livingcircle", wheel.name.split("-py3")[0] + ".dist-info"}, tops
    assert not set(DATA_FILES) - set(names)
    assert not [
        n for n in names if n.startswith("livingcircle/maps/assets/") and "/node_modules/" not in n
    ], "only the npm files the package reads"


@pytest.mark.slow
def test_pip_show_lists_one_top_level_package(installed: Outside) -> None:
    shown = installed("pip", "show", "-f", "livingcircle").stdout
    files = [line.strip() for line in shown.split("Files:", 1)[1].splitlines() if line.strip()]
    tops = {PurePosixPath(f).parts[0] for f in files if not f.startswith("..")}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"livingcircle"}, tops
    assert not set(DATA_FILES) - set(files)
    assert not tops & set(FOLDERS)


@pytest.mark.slow
def test_python_api_imports_outside_the_repo(installed: Outside) -> None:
    code = (
        "import json, sys, livingcircle as lc\n"
        "if hasattr(lc, 'open'):\n"
        "    r = lc.open('helsinki')\n"
        "print(json.dumps({'version': lc.__version__, 'file': lc.__file__, "
        "'path': sys.path}))"
    )
    answer = json.loads(installed("python", "-c", code).stdout)
    assert answer["version"]
    assert "site-packages" in answer["file"]
    assert not [p for p in answer["path"] if p and Path(p).resolve().is_relative_to(REPO)]


@pytest.mark.slow
def test_readme_commands_run_from_the_wheel(installed: Outside) -> None:
    lat_lon = ("--lat", LAT, "--lon", LON)
    assert "helsinki" in installed("livingcircle", "regions").stdout
    installed("livingcircle", "nearest", *lat_lon, "-c", "clinic", "-c", "pharmacy", "--k", "3")
    installed("livingcircle", "categories")
    installed("livingcircle", "--help")
    geojson = json.loads(installed("livingcircle", "catchment", *lat_lon, "--json").stdout)
    assert geojson["type"] == "FeatureCollection"
    installed("livingcircle", "catchment", *lat_lon, "--profile", "elderly", "--out", "c.html")
    installed(
        "livingcircle",
        "map",
        "planner",
        "--region",
        "helsinki",
        "--category",
        "pharmacy",
        "--out",
        "p.html",
    )


@pytest.mark.slow
def test_offline_and_kiosk_maps_from_the_wheel(installed: Outside) -> None:
    installed("livingcircle", "map", "kiosk", "--kiosk", "helsinki-station", "--out", "k.html")
    installed(
        "livingcircle",
        "map",
        "resident",
        "--lat",
        LAT,
        "--lon",
        LON,
        "--offline",
        "--out",
        "r.html",
    )
    _assert_offline(installed, "k.html")
    _assert_offline(installed, "r.html")


@pytest.mark.slow
def test_installed_migrations_are_found(installed: Outside) -> None:
    code = (
        "from alembic.script import ScriptDirectory\n"
        "from livingcircle.data.postgis import MIGRATIONS\n"
        "print(' '.join(sorted(r.revision for r in "
        "ScriptDirectory(str(MIGRATIONS)).walk_revisions())))"
    )
    assert len(installed("python", "-c", code).stdout.split()) >= 2
