"""What every map shares: the base map, tile providers, the street base layer, the legend.

The legend folds (a button; folded at first on screens narrower than 600 px), the scale bar is
metric only, and every page uses the web font Noto Sans SC first, so Chinese never shows as
boxes on a device without CJK fonts.

Data is WGS-84. On Amap (Gaode) tiles, which are drawn in GCJ-02, every geometry is shifted
to GCJ-02 for display (``Display``), or it would sit hundreds of metres off the streets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal

import coordTransform
import folium
import numpy as np
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from livingcircle.geo.standards import Category
from livingcircle.maps.offline import FONT_STACK, assets_installed, embed_assets, embed_font, page

Tiles = Literal["osm", "amap", "none"]
TILES: tuple[str, ...] = ("osm", "amap", "none")

_AMAP_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
    "&style=8&x={x}&y={y}&z={z}"
)


@dataclass(frozen=True)
class MapLook:
    """What a map draws under its layers and how its page loads, for every kind of map.

    ``offline`` makes no network request (Leaflet written into the page, the streets drawn
    instead of web tiles); ``tiles`` is the online base map: ``osm``, ``amap`` (data shifted
    to GCJ-02 to sit on Amap's streets) or ``none``; ``font_url`` links the web font from
    there (a page the API serves) instead of inlining it.
    """

    offline: bool = False
    tiles: Tiles = "osm"
    font_url: str | None = None


#: Web tiles, the font inlined: the look a map has unless told otherwise.
PLAIN = MapLook()


@dataclass(frozen=True)
class Display:
    """Turns WGS-84 data into the coordinates the chosen tiles are drawn in."""

    tiles: Tiles = "osm"

    @property
    def shifted(self) -> bool:
        """Whether geometries are moved to GCJ-02 (Amap tiles)."""
        return self.tiles == "amap"

    def xy(self, lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
        """(n, 2) lon/lat as displayed."""
        if not self.shifted or len(lonlat) == 0:
            return lonlat
        lon, lat = coordTransform.wgs84_to_gcj02(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([lon, lat]).astype(np.float64)

    def latlon(self, lon: float, lat: float) -> list[float]:
        """A point as Folium's ``[lat, lon]``."""
        x, y = self.xy(np.array([[lon, lat]]))[0]
        return [float(y), float(x)]

    def geom(self, geometry: BaseGeometry) -> BaseGeometry:
        """A geometry as displayed."""
        return shapely.transform(geometry, self.xy) if self.shifted else geometry


def base_map(
    lon: float, lat: float, display: Display, offline: bool, zoom: int = 15, **options: Any
) -> folium.Map:
    """A Folium map centred on a point, with tiles (or none when offline) and a scale bar.

    Finish it with :func:`finish`.
    """
    tiles = "none" if offline else display.tiles
    fmap = folium.Map(
        location=display.latlon(lon, lat),
        zoom_start=zoom,
        tiles=None,
        control_scale=False,
        **options,
    )
    # without a tile layer Leaflet has no zoom range, and clustering refuses to run
    fmap.options.update(max_zoom=19, min_zoom=3)
    MetricScale().add_to(fmap)  # folium's control_scale shows miles and feet as well
    if tiles == "osm":
        folium.TileLayer("OpenStreetMap", control=False).add_to(fmap)
    elif tiles == "amap":
        folium.TileLayer(
            _AMAP_URL, attr="© 高德地图 AutoNavi", subdomains="1234", max_zoom=18, control=False
        ).add_to(fmap)
    return fmap


def finish(fmap: folium.Map, offline: bool, font_url: str | None = None) -> folium.Map:
    """Last step of every map: the page's font, and its JavaScript written into the page.

    Offline maps must embed them (``AssetsMissing`` if not installed); online ones do when the
    assets are installed, so a page never depends on a CDN for its code. The web font is
    linked from ``font_url`` (a page the API serves: ``offline.FONT_URL``) or, by default, the
    subsets the page's text needs are inlined.
    """
    # no icon: a browser would ask the server (or the disk) for /favicon.ico
    page(fmap).header.add_child(
        Element(f'<link rel="icon" href="data:,"><style>{_PAGE_CSS}</style>'), name="lc_page"
    )
    if offline or assets_installed():
        embed_assets(fmap)  # first: a render (embed_font's) adds the CDN links for good
        embed_font(fmap, font_url)
    return fmap


_PAGE_CSS = f"""
.leaflet-container, .leaflet-container button, #lc-legend {{ font-family: {FONT_STACK}; }}
.leaflet-container {{ font-size: 13px; }}
"""


def ink(color: str) -> str:
    """Black or white, whichever reads better on ``color`` (``#rrggbb``)."""
    r, g, b = (int(color.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    lum = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    luminance = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2]
    # the WCAG contrast against white and against black; take the larger
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


#: the letter on each category's marker, so a category is told by more than its colour
#: (colours are per everyday group, in the standards file; letters tell a group's members apart)
GLYPHS = {
    "hospital": "H",
    "clinic": "+",
    "pharmacy": "Rx",
    "wet_market": "M",
    "supermarket": "S",
    "convenience": "C",
    "restaurant": "R",
    "bank": "B",
    "daily_services": "L",
    "parcel_locker": "PL",
    "kindergarten": "K",
    "primary_school": "1",
    "junior_high_school": "2",
    "school": "Sc",
    "elderly_care": "E",
    "community_centre": "C",
    "culture": "L",
    "sports": "S",
    "park": "P",
    "post_office": "PO",
    "police": "P",
    "government": "G",
    "toilets": "WC",
    "recycling": "R",
    "bus_stop": "B",
    "car_parking": "P",
    "bicycle_parking": "B",
}


def glyph(category: Category) -> str:
    """The letter(s) on a category's marker (its English label's initial if not listed)."""
    return GLYPHS.get(category.id, category.label_en[:1].upper())


def badge_html(category: Category, size: int = 24) -> str:
    """A category's marker: its colour, and its letter in black or white, whichever reads."""
    letters = glyph(category)
    font = round(size * (0.5 if len(letters) == 1 else 0.42))
    return (
        f"<span class='lc-badge' style='width:{size}px;height:{size}px;"
        f"font-size:{font}px;background:{category.color};"
        f"color:{ink(category.color)}'>{letters}</span>"
    )


class Macro(MacroElement):
    """A branca ``MacroElement`` with a typed constructor: the base of this package's macros."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca leaves it unannotated


class MetricScale(Macro):
    """Leaflet's scale bar in metres and kilometres only."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({imperial: false, metric: true, maxWidth: 140})
  .addTo({{ this._parent.get_name() }});
{% endmacro %}
""")


def add_streets(fmap: folium.Map, streets: BaseGeometry | None, display: Display) -> None:
    """The street network as a quiet grey base layer (what offline maps draw instead of tiles)."""
    if streets is None or streets.is_empty:
        return
    folium.GeoJson(
        shapely.geometry.mapping(display.geom(streets)),
        name="街道 · Streets",
        control=False,
        interactive=False,
        style_function=lambda _f: {"color": "#8a8a8a", "weight": 1.5, "opacity": 0.8},
    ).add_to(fmap)


def fit(fmap: folium.Map, geometries: Sequence[BaseGeometry], display: Display) -> None:
    """Zoom the map to the geometries."""
    parts = [g for g in geometries if g is not None and not g.is_empty]
    if parts:
        w, s, e, n = display.geom(shapely.union_all(parts)).bounds
        fmap.fit_bounds([[s, w], [n, e]])


#: a legend row's swatch: a ``box``, ``dot``, ``line``, ``outline``, a marker's ``badge`` or
#: none (``text``)
SwatchKind = Literal["box", "dot", "line", "outline", "badge", "text"]
#: a ``box`` swatch's border style (CSS); empty: solid
BorderStyle = Literal["", "solid", "dashed", "dotted"]


@dataclass(frozen=True)
class LegendRow:
    """One legend line: a swatch (:data:`SwatchKind`) and a label."""

    label: str
    color: str
    kind: SwatchKind = "dot"
    css_class: str = "lc-legend-row"
    _: KW_ONLY  # the options of one kind of swatch each are always named
    #: for ``kind="badge"``: the marker's HTML (``badge_html``)
    badge: str = ""
    #: for ``kind="box"``: the border style
    dash: BorderStyle = ""


_LEGEND = Template("""
{% macro header(this, kwargs) %}
<style>
#lc-legend { background: #ffffff; border-radius: 8px; color: #1d1d1d;
  box-shadow: 0 1px 6px rgba(0,0,0,.35); max-width: min(330px, calc(100vw - 24px));
  font-size: 13px; line-height: 1.45; }
#lc-legend-toggle { display: flex; align-items: center; justify-content: space-between;
  gap: 10px; width: 100%; min-height: 40px; padding: 8px 12px; border: 0; background: none;
  font-size: 14px; font-weight: 700; color: inherit; text-align: left; cursor: pointer;
  border-radius: 8px; }
#lc-legend-toggle:focus-visible { outline: 3px solid #0072B2; outline-offset: -3px; }
#lc-legend-toggle .lc-chevron { font-size: 12px; }
#lc-legend-toggle[aria-expanded="false"] .lc-chevron { transform: rotate(-90deg); }
#lc-legend-body { padding: 0 12px 10px; max-height: calc(60vh - 48px); overflow: auto; }
#lc-legend-body h3 { font-size: 13px; font-weight: 700; margin: 8px 0 2px; }
#lc-legend-body > div { display: flex; align-items: center; gap: 7px; min-height: 24px; }
.lc-swatch { flex: none; display: inline-block; box-sizing: border-box; }
.lc-badge { flex: none; display: inline-flex; align-items: center; justify-content: center;
  box-sizing: border-box; border-radius: 50%; font-weight: 700; letter-spacing: -.5px;
  line-height: 1; border: 2px solid #fff;
  box-shadow: 0 0 0 1px rgba(0,0,0,.6), 0 1px 3px rgba(0,0,0,.4); }
</style>
{% endmacro %}
{% macro html(this, kwargs) %}
<section id="lc-legend" aria-label="{{ this.title }}">
 <button type="button" id="lc-legend-toggle" aria-expanded="true" aria-controls="lc-legend-body">
  <span>{{ this.title }}</span><span class="lc-chevron" aria-hidden="true">&#9660;</span>
 </button>
 <div id="lc-legend-body">
 {% for heading, rows in this.sections %}
  {% if heading %}<h3>{{ heading }}</h3>{% endif %}
  {% for row in rows %}
  <div class="{{ row.css_class }}">{% if row.kind == 'badge' %}{{ row.badge }}{% elif
   row.kind == 'box' %}<span class="lc-swatch" style="width:16px;height:16px;
   background:{{ row.color }}4d;border:2px {{ row.dash or 'solid' }} {{ row.color }}"></span>{%
   elif row.kind == 'line' %}<span class="lc-swatch" style="width:18px;height:4px;
   background:{{ row.color }}"></span>{% elif row.kind == 'outline' %}<span class="lc-swatch"
   style="width:14px;height:14px;border:2px dashed {{ row.color }}"></span>{%
   elif row.kind == 'text' %}{% else %}<span class="lc-swatch" style="width:12px;height:12px;
   border-radius:50%;background:{{ row.color }};border:1px solid #333"></span>{% endif
   %}<span>{{ row.label }}</span></div>
  {% endfor %}
 {% endfor %}
 </div>
</section>
{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
  var box = document.getElementById('lc-legend');
  var button = document.getElementById('lc-legend-toggle');
  var body = document.getElementById('lc-legend-body');
  function show(open) {
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
    body.hidden = !open;
  }
  // folded at first on a phone, where it would cover the map; open on anything wider
  show(!window.matchMedia('(max-width: {{ this.fold_below - 1 }}px)').matches);
  button.addEventListener('click', function () {
    show(button.getAttribute('aria-expanded') !== 'true');
  });
  var control = L.control({position: 'bottomleft'});
  control.onAdd = function () {
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  };
  control.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}
""")


class Legend(Macro):
    """A legend that folds, in the lower left above the scale; labels must be HTML-escaped.

    Its button opens and closes it; it starts folded on screens narrower than ``fold_below``
    pixels (phones), open on wider ones.
    """

    def __init__(
        self, title: str, sections: list[tuple[str, list[LegendRow]]], fold_below: int = 600
    ) -> None:
        super().__init__()
        self._name = "Legend"
        self._template = _LEGEND
        self.title, self.sections, self.fold_below = title, sections, fold_below
