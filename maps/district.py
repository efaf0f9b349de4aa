"""What the district maps (planner, scenario) share: the base, the fitted view, the homes.

A district map is centred on the region with zoom steps fine enough to fit the district
(not a whole zoom level), draws the streets itself when offline, keeps a banner always on
screen, and fits the view to the district beside the legend when it is open on a wide
screen. Homes are circles sized by their residents.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import shapely
from jinja2 import Template

from livingcircle.geo.engine import Region
from livingcircle.maps.base import Display, Macro, Tiles, add_streets, base_map, finish
from livingcircle.maps.offline import FONT_STACK, page
from livingcircle.maps.palette import home_radius


def district_map(region: Region, tiles: Tiles, offline: bool, css: str, name: str) -> folium.Map:
    """The base of a district map: centred on ``region``, its page's ``css`` (named ``name``).

    ``FONTS`` in ``css`` becomes the page's font stack. Offline, the region's streets are
    drawn instead of tiles. Finish it with :func:`finish_district`.
    """
    show = Display(tiles)
    w, s, e, n = region.boundary.bounds
    fmap = base_map((w + e) / 2, (s + n) / 2, show, offline, zoom=14)
    fmap.options.update(zoom_snap=0.25, zoom_delta=0.5)  # fit the district, not a zoom step
    style = css.replace("FONTS", FONT_STACK)
    page(fmap).header.add_child(folium.Element(f"<style>{style}</style>"), name=name)
    if offline:
        add_streets(
            fmap, region.unproject_geom(shapely.multilinestrings(region.net.edge_geom)), show
        )
    return fmap


def finish_district(
    fmap: folium.Map, region: Region, tiles: Tiles, offline: bool, banner: str
) -> folium.Map:
    """Last step of a district map: its ``banner`` (HTML), the layer control, the fitted view."""
    show = Display(tiles)
    page(fmap).html.add_child(folium.Element(banner), name="lc_banner")
    folium.LayerControl(collapsed=True).add_to(fmap)
    w, s, e, n = region.boundary.bounds
    lo, hi = show.xy(np.array([[w, s], [e, n]]))
    FitBeside([[lo[1], lo[0]], [hi[1], hi[0]]]).add_to(fmap)
    return finish(fmap, offline)


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
    tips: list[str],
    style: HomeStyle,
) -> None:
    """Homes as circles sized by residents, big ones first so small ones are drawn on top.

    ``colors`` and ``tips`` (HTML) hold one entry per home, in the order of ``homes``.
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
                "tip": tips[i],
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
