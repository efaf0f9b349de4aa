"""What the district maps (planner, scenario) share: the base, the fitted view, the homes.

A district map is centred on the region with zoom steps fine enough to fit the district
(not a whole zoom level), draws the streets itself when offline, keeps a banner always on
screen, and fits the view to the district beside the legend when it is open on a wide
screen. Homes are circles sized by their residents.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium.map import Layer
from jinja2 import Template

from livingcircle.geo.engine import Region
from livingcircle.maps import words
from livingcircle.maps.base import Display, Macro, MapLook, add_streets, base_map, finish, glyph
from livingcircle.maps.offline import FONT_STACK, page
from livingcircle.maps.palette import home_radius


def district_map(region: Region, look: MapLook, css: str, name: str) -> folium.Map:
    """The base of a district map: centred on ``region``, its page's ``css`` (named ``name``).

    ``FONTS`` in ``css`` becomes the page's font stack. Offline, the region's streets are
    drawn instead of tiles. Finish it with :func:`finish_district`.
    """
    show = Display(look.tiles)
    w, s, e, n = region.boundary.bounds
    fmap = base_map((w + e) / 2, (s + n) / 2, show, look.offline, zoom=14)
    fmap.options.update(zoom_snap=0.25, zoom_delta=0.5)  # fit the district, not a zoom step
    style = css.replace("FONTS", FONT_STACK)
    page(fmap).header.add_child(folium.Element(f"<style>{style}</style>"), name=name)
    if look.offline:
        add_streets(
            fmap, region.unproject_geom(shapely.multilinestrings(region.net.edge_geom)), show
        )
    return fmap


def finish_district(fmap: folium.Map, region: Region, look: MapLook, banner: str) -> folium.Map:
    """Last step of a district map: its ``banner`` (HTML), the layer control, the fitted view."""
    show = Display(look.tiles)
    page(fmap).html.add_child(folium.Element(banner), name="lc_banner")
    folium.LayerControl(collapsed=True).add_to(fmap)
    w, s, e, n = region.boundary.bounds
    lo, hi = show.xy(np.array([[w, s], [e, n]]))
    FitBeside([[lo[1], lo[0]], [hi[1], hi[0]]]).add_to(fmap)
    return finish(fmap, look.offline, look.font_url)


class FitBeside(Macro):
    """Fit the view to the district, beside the legend when it is open on a wide screen."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }}, bounds = {{ this.bounds | tojson }};
  function fitNow() {
    var box = document.getElementById('lc-legend-body');
    var legend = document.getElementById('lc-legend');
    var wide = window.innerWidth >= 600 && box && !box.hidden && legend;
    map.fitBounds(bounds, {paddingTopLeft: [wide ? legend.offsetWidth + 16 : 8, 8],
                           paddingBottomRight: [8, 8]});
  }
  fitNow();
  window.addEventListener('load', fitNow);
})();
{% endmacro %}
""")

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitBeside"
        self.bounds = bounds


@dataclass(frozen=True)
class HomeStyle:
    """How a layer of homes is drawn: its name in the layer control, outline and fill."""

    name: str
    stroke: str
    weight: float
    opacity: float


def home_markers(
    fmap: folium.Map,
    homes: gpd.GeoDataFrame,
    show: Display,
    colors: list[str],
    notes: list[str],
    style: HomeStyle,
) -> None:
    """Homes as circles sized by residents, big ones first so small ones are drawn on top.

    ``colors`` and ``notes`` hold one entry per home, in the order of ``homes``; a home's
    tooltip gives its residents, then its note (HTML) on the next line.
    """
    pop = homes["population"].to_numpy(dtype=np.float64)
    radius = home_radius(
        pop, float(pop.max()) if len(pop) else 1.0, float(pop.min()) if len(pop) else 0.0
    )
    xy = (
        show.xy(np.column_stack([homes.geometry.x, homes.geometry.y]))
        if len(homes)
        else np.zeros((0, 2))
    )
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(xy[i, 0]), float(xy[i, 1])]},
            "properties": {
                "color": colors[i],
                "radius": round(float(radius[i]), 1),
                "tip": f"{words.residents(pop[i])}<br>{notes[i]}",
            },
        }
        for i in np.argsort(-pop, kind="stable").tolist()
    ]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=style.name,
        marker=folium.CircleMarker(radius=5),
        style_function=lambda f: {
            "radius": f["properties"]["radius"],
            "color": style.stroke,
            "weight": style.weight,
            "fill": True,
            "fillColor": f["properties"]["color"],
            "fillOpacity": style.opacity,
            "className": "lc-home",
        },
        tooltip=folium.GeoJsonTooltip(["tip"], labels=False),
    ).add_to(fmap)


def facility_markers(
    layer: Layer,
    region: Region,
    category: str,
    rows: list[int],
    show: Display,
    icon: tuple[str, int],
    labelled: bool,
) -> None:
    """Facilities (``rows`` of the region's) of ``category`` as badges with its letter.

    ``icon`` is the badge's CSS class and size in pixels. The tooltip is the facility's name,
    and the category's labels after it when ``labelled``.
    """
    cat = region.standard.category(category)
    fac = region.facilities
    letter = html.escape(glyph(cat))
    css, size = icon
    for (x, y), row in zip(show.xy(fac.anchor_lonlat[rows]).tolist(), rows, strict=True):
        name = html.escape(str(fac.text["name_zh"][row] or fac.text["name"][row] or cat.label_en))
        labels = f" · {html.escape(cat.label_zh)} · {html.escape(cat.label_en)}"
        folium.Marker(
            [y, x],
            icon=folium.DivIcon(
                html=f"<div class='{css}'>{letter}</div>",
                icon_size=(size, size),
                icon_anchor=(size // 2, size // 2),
            ),
            tooltip=name + labels if labelled else name,
        ).add_to(layer)
