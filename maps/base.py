"""What every map shares: the base map, tile providers, the street base layer, the legend.

Data is WGS-84. On Amap (Gaode) tiles, which are drawn in GCJ-02, every geometry is shifted
to GCJ-02 for display (``Display``), or it would sit hundreds of metres off the streets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import coordTransform
import folium
import numpy as np
import shapely
from branca.element import MacroElement, Template
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from livingcircle.maps.offline import assets_installed, embed_assets

Tiles = Literal["osm", "amap", "none"]
TILES: tuple[str, ...] = ("osm", "amap", "none")

_AMAP_URL = ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
             "&style=8&x={x}&y={y}&z={z}")


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


def base_map(lon: float, lat: float, display: Display, offline: bool, zoom: int = 15,
             **options: object) -> folium.Map:
    """A Folium map centred on a point, with tiles (or none when offline) and a scale bar.

    Finish it with :func:`finish`.
    """
    tiles = "none" if offline else display.tiles
    fmap = folium.Map(location=display.latlon(lon, lat), zoom_start=zoom, tiles=None,
                      control_scale=True, **options)
    # without a tile layer Leaflet has no zoom range, and clustering refuses to run
    fmap.options.update(max_zoom=19, min_zoom=3)
    if tiles == "osm":
        folium.TileLayer("OpenStreetMap", control=False).add_to(fmap)
    elif tiles == "amap":
        folium.TileLayer(_AMAP_URL, attr="© 高德地图 AutoNavi", subdomains="1234",
                         max_zoom=18, control=False).add_to(fmap)
    return fmap


def finish(fmap: folium.Map, offline: bool) -> folium.Map:
    """Last step of every map: write the JavaScript into the page.

    Offline maps must (``AssetsMissing`` if not installed); online ones do when the assets
    are installed, so a page never depends on a CDN for its code.
    """
    if offline or assets_installed():
        embed_assets(fmap)
    return fmap


def add_streets(fmap: folium.Map, streets: BaseGeometry | None, display: Display) -> None:
    """The street network as a quiet grey base layer (what offline maps draw instead of tiles)."""
    if streets is None or streets.is_empty:
        return
    folium.GeoJson(
        shapely.geometry.mapping(display.geom(streets)),
        name="街道 · Streets", control=False, interactive=False,
        style_function=lambda _f: {"color": "#8a8a8a", "weight": 1.5, "opacity": 0.8},
    ).add_to(fmap)


def fit(fmap: folium.Map, geometries: Sequence[BaseGeometry], display: Display) -> None:
    """Zoom the map to the geometries."""
    parts = [g for g in geometries if g is not None and not g.is_empty]
    if parts:
        w, s, e, n = display.geom(shapely.union_all(parts)).bounds
        fmap.fit_bounds([[s, w], [n, e]])


@dataclass(frozen=True)
class LegendRow:
    """One legend line: a swatch (``box``, ``dot``, ``line`` or ``outline``) and a label."""

    label: str
    color: str
    kind: str = "dot"
    css_class: str = "lc-legend-row"


_LEGEND = Template("""
{% macro html(this, kwargs) %}
<div id="lc-legend" style="position:absolute; bottom:28px; left:10px; z-index:9999;
  background:rgba(255,255,255,0.94); padding:10px 12px; border-radius:8px; max-height:60vh;
  overflow:auto; font:13px/1.45 system-ui, 'Noto Sans CJK SC', sans-serif;
  box-shadow:0 1px 6px rgba(0,0,0,.3); max-width:320px">
 <div style="font-weight:600; margin-bottom:4px">{{ this.title }}</div>
 {% for heading, rows in this.sections %}
  {% if heading %}<div style="font-weight:600; margin:6px 0 2px">{{ heading }}</div>{% endif %}
  {% for row in rows %}
  <div class="{{ row.css_class }}">{% if row.kind == 'box' %}<span style="display:inline-block;
   width:14px;height:14px;background:{{ row.color }};opacity:.6;border:1px solid {{ row.color }};
   margin-right:6px;vertical-align:-2px"></span>{% elif row.kind == 'line' %}<span
   style="display:inline-block;width:18px;height:4px;background:{{ row.color }};
   margin-right:6px;vertical-align:3px"></span>{% elif row.kind == 'outline' %}<span
   style="display:inline-block;width:14px;height:14px;border:2px dashed {{ row.color }};
   margin-right:6px;vertical-align:-3px"></span>{% elif row.kind == 'text' %}{% else %}<span
   style="display:inline-block;width:12px;height:12px;border-radius:50%;
   background:{{ row.color }};border:1px solid #333;margin-right:6px;vertical-align:-1px">
   </span>{% endif %}{{ row.label }}</div>
  {% endfor %}
 {% endfor %}
</div>
{% endmacro %}
""")


class Legend(MacroElement):  # type: ignore[misc]
    """A legend box in the lower left; labels must already be HTML-escaped."""

    def __init__(self, title: str, sections: list[tuple[str, list[LegendRow]]]) -> None:
        super().__init__()
        self._name = "Legend"
        self._template = _LEGEND
        self.title, self.sections = title, sections
