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
import html as html_lib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import cast

import folium
from branca.element import Element, Figure
from folium.elements import JSCSSMixin

from livingcircle.geo.errors import AssetsMissing  # still importable from here

#: ``maps/assets/node_modules`` in a checkout (``make assets``, never committed); a wheel's
#: build copies the files read here to the same place inside the package (setup.py)
ASSETS = Path(__file__).with_name("assets") / "node_modules"
#: package -> (scripts, stylesheets) under its dist/ folder, in load order
PACKAGES = {
    "leaflet": (("leaflet.js",), ("leaflet.css",)),
    "leaflet.markercluster": (
        ("leaflet.markercluster.js",),
        ("MarkerCluster.css", "MarkerCluster.Default.css"),
    ),
    "leaflet.featuregroup.subgroup": (("leaflet.featuregroup.subgroup.js",), ()),
}
#: Folium element class -> the asset package it needs (beyond Leaflet)
_PLUGINS = {
    "MarkerCluster": "leaflet.markercluster",
    "FeatureGroupSubGroup": "leaflet.featuregroup.subgroup",
}
_REMOTE = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//[^"']+["']""", re.IGNORECASE)


def assets_installed() -> bool:
    """Whether every asset package (the web font too) is installed locally."""
    return font_installed() and all(
        (ASSETS / name / "dist" / js[0]).is_file() for name, (js, _) in PACKAGES.items()
    )


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
        icons = {
            k: _data_uri(dist / "images" / f)[4:-1]
            for k, f in (
                ("iconUrl", "marker-icon.png"),
                ("iconRetinaUrl", "marker-icon-2x.png"),
                ("shadowUrl", "marker-shadow.png"),
            )
        }
        js += f"\nL.Icon.Default.mergeOptions({json.dumps(icons)});"
    return f"<style>{css}</style>\n<script>{js}</script>"


def _data_uri(path: Path) -> str:
    return f"url(data:image/png;base64,{base64.b64encode(path.read_bytes()).decode('ascii')})"


def page(fmap: Element) -> Figure:
    """The page a map is drawn in (branca types a map's root as a plain ``Element``)."""
    return cast(Figure, fmap.get_root())


def _elements(element: object) -> Iterator[object]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _elements(child)


def embed_assets(fmap: folium.Map) -> folium.Map:
    """Write Leaflet (and the cluster plugin, if used) into the page; drop every CDN link.

    Call when the map is complete, before saving or rendering.
    """
    used: set[str | None] = set()
    for element in _elements(fmap):
        used.update(_PLUGINS.get(cls.__name__) for cls in type(element).__mro__)
        if hasattr(element, "default_js"):  # JSCSSMixin, or a plugin holding its lists
            links = cast(JSCSSMixin, element)
            links.default_js = []
            links.default_css = []
    header = page(fmap).header
    header.add_child(Element(_inline("leaflet")), name="lc_leaflet", index=0)
    for index, package in enumerate((p for p in _PLUGINS.values() if p in used), start=1):
        header.add_child(Element(_inline(package)), name=f"lc_{package}", index=index)
    return fmap


def remote_references(html: str) -> list[str]:
    """Every ``src``/``href`` in a page that points at another host."""
    return _REMOTE.findall(html)


# -- the CJK web font ----------------------------------------------------------------------
# Noto Sans SC from @fontsource: for each weight, about a hundred woff2 files, each covering a
# unicode-range. A browser downloads only the files whose range the page's text touches; a
# page that must stand alone gets just those files, inlined.

FONT_PACKAGE = "@fontsource/noto-sans-sc"
FONT_FAMILY = "Noto Sans SC"
#: the CSS font stack every page uses: the web font first, so a bare device never shows boxes
FONT_STACK = f'"{FONT_FAMILY}", system-ui, sans-serif'
FONT_WEIGHTS = (400, 700)
#: where the API serves the font (``/assets/fonts/<file>.woff2``, ``noto-sans-sc.css``)
FONT_URL = "/assets/fonts/"
FONT_CSS = "noto-sans-sc.css"
#: the regular weight alone (the resident app: half the download, bold synthesised)
FONT_CSS_REGULAR = "noto-sans-sc-400.css"


@dataclass(frozen=True)
class FontSubset:
    """One woff2 file of the web font, and the code points it covers."""

    weight: int
    file: str
    unicode_range: str
    codes: frozenset[int]

    def touches(self, codepoints: frozenset[int]) -> bool:
        """Whether any of ``codepoints`` falls in this subset's range."""
        return not self.codes.isdisjoint(codepoints)


def font_installed() -> bool:
    """Whether the web font's files are installed locally."""
    return all((ASSETS / FONT_PACKAGE / f"{w}.css").is_file() for w in FONT_WEIGHTS)


def font_path(file: str) -> Path | None:
    """The local file of a subset by its name (only names the font's CSS lists)."""
    known = {s.file for w in FONT_WEIGHTS for s in font_subsets(w)}
    return ASSETS / FONT_PACKAGE / "files" / file if file in known else None


#: an ``@font-face`` rule of the font's CSS, and its file and unicode range
_FACE = re.compile(r"@font-face\s*\{([^}]*)\}")
_FILE = re.compile(r"url\(\./files/([A-Za-z0-9-]+\.woff2)\)")
_RANGE = re.compile(r"unicode-range:\s*([^;]+);")


@cache
def font_subsets(weight: int) -> tuple[FontSubset, ...]:
    """The subsets of one weight, read from the package's ``<weight>.css``."""
    css = ASSETS / FONT_PACKAGE / f"{weight}.css"
    if not css.is_file():
        raise AssetsMissing(
            f"the web font {FONT_FAMILY} is not installed (looked for {css}). In a source "
            "checkout, run 'make assets' (needs npm); with pip, install a wheel built where "
            "npm is available."
        )
    subsets = []
    for block in _FACE.findall(css.read_text(encoding="utf-8")):
        file, urange = _FILE.search(block), _RANGE.search(block)
        if file and urange:
            text = urange.group(1).strip()
            codes = frozenset(c for lo, hi in _spans(text) for c in range(lo, hi + 1))
            subsets.append(FontSubset(weight, file.group(1), text, codes))
    return tuple(subsets)


def _spans(unicode_range: str) -> tuple[tuple[int, int], ...]:
    """``U+4e00-4e0f,U+5??`` as inclusive (low, high) code point pairs."""
    spans = []
    for part in unicode_range.split(","):
        low, _, high = part.strip().removeprefix("U+").removeprefix("u+").partition("-")
        if "?" in low:
            low, high = low.replace("?", "0"), low.replace("?", "f")
        spans.append((int(low, 16), int(high or low, 16)))
    return tuple(spans)


#: ``\uXXXX`` escapes in a page's JSON (runs of them: a surrogate pair is two)
_ESCAPE = re.compile(r"(?:\\u[0-9a-fA-F]{4})+")


def text_codepoints(page: str) -> frozenset[int]:
    r"""Every character a page can show: its text, entities and ``\uXXXX`` escapes (JSON)."""
    decoded = _ESCAPE.sub(
        lambda m: (
            m.group(0)
            .encode("ascii")
            .decode("unicode_escape")
            .encode("utf-16", "surrogatepass")
            .decode("utf-16", "replace")
        ),
        page,
    )
    return frozenset(ord(c) for c in html_lib.unescape(decoded))


def font_css(
    text: str | None = None, url: str | None = None, weights: tuple[int, ...] = FONT_WEIGHTS
) -> str:
    """The ``@font-face`` rules of the web font, weights 400 and 700.

    Parameters
    ----------
    text
        The page's text (HTML is fine): only the subsets it touches are written, each
        inlined as a ``data:`` URI, so the page stands alone. Ignored when ``url`` is given.
    url
        Link every subset from here instead (``/assets/fonts/``); the browser fetches only
        the ones the page uses.
    weights
        The weights written; a page that can do with synthesised bold asks for 400 only,
        and downloads half as much.
    """
    needed = text_codepoints(text or "") if url is None else frozenset()
    rules = []
    for weight in weights:
        for subset in font_subsets(weight):
            if url is not None:
                src = f"url({url}{subset.file})"
            elif subset.touches(needed):
                src = _font_data_uri(subset.file)
            else:
                continue
            rules.append(
                f"@font-face{{font-family:'{FONT_FAMILY}';font-style:normal;"
                f"font-display:swap;font-weight:{weight};src:{src} format('woff2');"
                f"unicode-range:{subset.unicode_range}}}"
            )
    return "\n".join(rules)


@cache
def _font_data_uri(file: str) -> str:
    data = (ASSETS / FONT_PACKAGE / "files" / file).read_bytes()
    return f"url(data:font/woff2;base64,{base64.b64encode(data).decode('ascii')})"


def embed_font(fmap: folium.Map, url: str | None = None) -> folium.Map:
    """Give the page the web font: linked from ``url``, or the subsets its text needs inlined.

    Call when the map is complete (it renders the page to read its text), after
    :func:`embed_assets`: a render adds the CDN links of Folium's plugins to the page.
    """
    header = page(fmap).header
    if url is not None:
        tag = f'<link rel="stylesheet" href="{url}{FONT_CSS}">'
    else:
        tag = f"<style>{font_css(text=fmap.get_root().render())}</style>"
    header.add_child(Element(tag), name="lc_font")
    return fmap
