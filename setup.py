"""Build step that pyproject.toml cannot declare: the map assets from the npm registry.

Offline maps, kiosks and the resident app inline Leaflet, its cluster plugin and a CJK web
font. They are third-party files, never committed: ``build_py`` installs them with npm from
``maps/assets/package.json`` (unless ``make assets`` already did) and copies the files the
package reads into the wheel, under ``livingcircle/maps/assets/node_modules``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSETS = Path(__file__).resolve().parent / "maps" / "assets"
#: what the package reads from each npm package, relative to node_modules
WANTED = ("leaflet/dist", "leaflet.markercluster/dist", "@fontsource/noto-sans-sc/files",
          "@fontsource/noto-sans-sc/LICENSE", "swagger-ui-dist")
SKIP = ("*.map", "*.md", "*-es-bundle*", "index.js", "absolute-path.js", "package.json")


def npm_install(folder: Path) -> None:
    """Install the asset packages with npm, unless they are there already."""
    if (folder / "node_modules" / "leaflet" / "dist" / "leaflet.js").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("building livingcircle needs npm (Node.js) for the map assets: "
                         "install it (Debian: apt-get install npm) and build again")
    subprocess.run([npm, "install", "--no-package-lock", "--no-audit", "--no-fund", "--silent"],
                   cwd=folder, check=True)


class BuildWithAssets(build_py):
    """``build_py`` that also copies the npm map assets into the package."""

    def run(self) -> None:
        """Build the modules, then add the assets (not for an editable install)."""
        super().run()
        if self.editable_mode:  # an editable install reads maps/assets in place
            return
        npm_install(ASSETS)
        target = Path(self.build_lib) / "livingcircle" / "maps" / "assets" / "node_modules"
        for item in WANTED:
            source = ASSETS / "node_modules" / item
            if not source.exists():
                continue
            if source.is_dir():
                shutil.copytree(source, target / item, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns(*SKIP))
            else:
                (target / item).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / item)


setup(cmdclass={"build_py": BuildWithAssets})
