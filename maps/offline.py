"""Maps that load nothing from the network.

Folium pages load Leaflet (and jQuery, Bootstrap, Font Awesome) from CDNs, which a kiosk
on a bad connection, or any machine offline, cannot reach. Here Leaflet comes from the npm
package installed at build time (``make assets``, into ``maps/assets/node_modules``; never
committed) and is written into the page itself, with its images as data URIs. The maps
here use only Leaflet's own markers and vectors, so nothing else is needed.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path

import folium
from branca.element import Element

from geo.errors import LivingCircleError

ASSETS = Path(__file__).with_name("assets") / "node_modules"
_LEAFLET = ASSETS / "leaflet" / "dist"
_REMOTE = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//[^"']+["']""", re.IGNORECASE)


class AssetsMissing(LivingCircleError, FileNotFoundError):
    """The map assets were not installed."""


def assets_installed() -> bool:
    """Whether Leaflet is installed locally."""
    return (_LEAFLET / "leaflet.js").is_file() and (_LEAFLET / "leaflet.css").is_file()


@cache
def _leaflet_inline() -> str:
    if not assets_installed():
        raise AssetsMissing(
            f"map assets are not installed (looked in {ASSETS}); run 'make assets' "
            "(needs npm) to install Leaflet from the npm registry"
        )
    css = (_LEAFLET / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"url\((images/[^)]+\.png)\)", _data_uri, css)
    js = (_LEAFLET / "leaflet.js").read_text(encoding="utf-8")
    return f"<style>{css}</style>\n<script>{js}</script>"


def _data_uri(match: re.Match[str]) -> str:
    data = base64.b64encode((_LEAFLET / match.group(1)).read_bytes()).decode("ascii")
    return f"url(data:image/png;base64,{data})"


def embed_assets(fmap: folium.Map) -> folium.Map:
    """Write Leaflet into the page instead of linking CDNs (call before saving)."""
    inline = _leaflet_inline()
    fmap.default_js = []
    fmap.default_css = []
    fmap.get_root().header.add_child(Element(inline), name="leaflet_inline", index=0)
    return fmap


def remote_references(html: str) -> list[str]:
    """Every ``src``/``href`` in a page that points at another host."""
    return _REMOTE.findall(html)
