"""Maps that load nothing from the network.

Folium pages load Leaflet, its plugins, jQuery, Bootstrap and Font Awesome from CDNs, which
a kiosk on a bad connection, or any machine offline, cannot reach. Here Leaflet and the one
plugin we use (marker clustering) come from npm packages installed at build time and are
written into the page itself, with their images as data URIs. Every CDN link Folium would
add is dropped: the maps use only Leaflet's own vectors, div icons and popups, so nothing
else is needed.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import folium
from branca.element import Element

from livingcircle.geo.errors import LivingCircleError

#: ``maps/assets/node_modules`` in a checkout (``make assets``, never committed); a wheel's
#: build copies the files read here to the same place inside the package (setup.py)
ASSETS = Path(__file__).with_name("assets") / "node_modules"
#: package -> (scripts, stylesheets) under its dist/ folder, in load order
PACKAGES = {
    "leaflet": (("leaflet.js",), ("leaflet.css",)),
    "leaflet.markercluster": (("leaflet.markercluster.js",),
                              ("MarkerCluster.css", "MarkerCluster.Default.css")),
}
_REMOTE = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//[^"']+["']""", re.IGNORECASE)


class AssetsMissing(LivingCircleError, FileNotFoundError):
    """The map assets were not installed."""


def assets_installed() -> bool:
    """Whether every asset package is installed locally."""
    return all((ASSETS / name / "dist" / js[0]).is_file() for name, (js, _) in PACKAGES.items())


@cache
def _inline(package: str) -> str:
    if not assets_installed():
        raise AssetsMissing(
            f"the offline map assets (Leaflet and its cluster plugin) are not installed "
            f"(looked in {ASSETS}). If you installed livingcircle with pip, reinstall it from "
            "a wheel built where npm (Node.js) is available: the build copies the assets "
            "into the wheel. In a source checkout, run 'make assets' (needs npm)."
        )
    dist = ASSETS / package / "dist"
    scripts, styles = PACKAGES[package]
    css = "\n".join((dist / f).read_text(encoding="utf-8") for f in styles)
    css = re.sub(r"url\((images/[^)]+\.png)\)", lambda m: _data_uri(dist / m.group(1)), css)
    js = "\n".join((dist / f).read_text(encoding="utf-8") for f in scripts)
    if package == "leaflet":  # Folium creates markers with the default icon first
        icons = {k: _data_uri(dist / "images" / f)[4:-1] for k, f in (
            ("iconUrl", "marker-icon.png"), ("iconRetinaUrl", "marker-icon-2x.png"),
            ("shadowUrl", "marker-shadow.png"))}
        js += f"\nL.Icon.Default.mergeOptions({json.dumps(icons)});"
    return f"<style>{css}</style>\n<script>{js}</script>"


def _data_uri(path: Path) -> str:
    return f"url(data:image/png;base64,{base64.b64encode(path.read_bytes()).decode('ascii')})"


def _elements(element: object) -> Iterator[object]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _elements(child)


def embed_assets(fmap: folium.Map) -> folium.Map:
    """Write Leaflet (and the cluster plugin, if used) into the page; drop every CDN link.

    Call when the map is complete, before saving or rendering.
    """
    clustering = False
    for element in _elements(fmap):
        clustering |= type(element).__name__ == "MarkerCluster"
        if hasattr(element, "default_js"):
            element.default_js = []
            element.default_css = []
    header = fmap.get_root().header
    header.add_child(Element(_inline("leaflet")), name="lc_leaflet", index=0)
    if clustering:
        header.add_child(Element(_inline("leaflet.markercluster")), name="lc_cluster", index=1)
    return fmap


def remote_references(html: str) -> list[str]:
    """Every ``src``/``href`` in a page that points at another host."""
    return _REMOTE.findall(html)
