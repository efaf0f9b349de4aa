"""Build step that pyproject.toml cannot declare: the map assets from the npm registry.

Offline maps and kiosks inline Leaflet, its cluster plugin and a CJK web font (Noto Sans SC);
the API serves Swagger UI and ReDoc for /docs and /redoc. They are third-party files, never
committed: ``build_py`` installs them with npm from ``maps/assets/package.json`` (unless
``make assets`` already did) and copies the files the package reads (``WANTED``), with their
licences, into the wheel under ``livingcircle/maps/assets/node_modules``. An editable
install (``pip install -e .``) reads ``maps/assets/node_modules`` in place instead.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSETS = Path(__file__).resolve().parent / "maps" / "assets"
#: what the package reads from each npm package (relative to node_modules), and its licence
WANTED = {
    "leaflet": ("dist/leaflet.js", "dist/leaflet.css", "dist/images", "LICENSE"),
    "leaflet.markercluster": (
        "dist/leaflet.markercluster.js",
        "dist/MarkerCluster.css",
        "dist/MarkerCluster.Default.css",
        "MIT-LICENCE.txt",
    ),
    "leaflet.featuregroup.subgroup": ("dist/leaflet.featuregroup.subgroup.js", "LICENSE"),
    # /docs and /redoc offline (api/routes/docs.py)
    "swagger-ui-dist": (
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "favicon-32x32.png",
        "LICENSE",
        "NOTICE",
    ),
    "redoc": ("bundles/redoc.standalone.js", "bundles/redoc.standalone.js.LICENSE.txt", "LICENSE"),
    # the CJK web font (maps/offline.py): the unicode-range subsets 400.css and 700.css name
    # (not the 1 MB whole-font files beside them)
    "@fontsource/noto-sans-sc": (
        "400.css",
        "700.css",
        "LICENSE",
        *(
            f"files/noto-sans-sc-{subset}-{weight}-normal.woff2"
            for weight in (400, 700)
            for subset in ("[0-9]*", "latin*", "cyrillic", "vietnamese")
        ),
    ),
}


def _sources(modules: Path, package: str, item: str) -> list[Path]:
    """The files (or folder) an item of ``WANTED`` names; an item may be a glob pattern."""
    if "*" in item:
        return sorted((modules / package).glob(item))
    path = modules / package / item
    return [path] if path.exists() else []


def _missing(folder: Path) -> list[Path]:
    modules = folder / "node_modules"
    return [
        modules / package / item
        for package, items in WANTED.items()
        for item in items
        if not _sources(modules, package, item)
    ]


def npm_install(folder: Path) -> None:
    """Install the asset packages with npm, unless they are all there already."""
    if not _missing(folder):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "building livingcircle needs npm (Node.js) for the map assets: "
            "install it (Debian: apt-get install npm) and build again"
        )
    subprocess.run(
        [npm, "install", "--no-package-lock", "--no-audit", "--no-fund", "--silent"],
        cwd=folder,
        check=True,
    )
    if missing := _missing(folder):
        raise SystemExit(f"npm install left out map assets the package needs: {missing}")


class BuildWithAssets(build_py):
    """``build_py`` that also copies the npm map assets into the package."""

    def run(self) -> None:
        """Build the modules, then add the assets (not for an editable install)."""
        if self.editable_mode:  # an editable install reads maps/assets in place
            super().run()
            return
        # a wheel packs all of build/lib: files of older builds (a top-level geo/ from before
        # the one-package layout, a module since removed) must not ride along
        shutil.rmtree(self.build_lib, ignore_errors=True)
        super().run()
        npm_install(ASSETS)
        target = Path(self.build_lib) / "livingcircle" / "maps" / "assets" / "node_modules"
        modules = ASSETS / "node_modules"
        for package, items in WANTED.items():
            for item in items:
                for source in _sources(modules, package, item):
                    copy = target / source.relative_to(modules)
                    if source.is_dir():
                        shutil.copytree(source, copy)
                    else:
                        copy.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(source, copy)


setup(cmdclass={"build_py": BuildWithAssets})
