"""The planner map: walking time to the nearest facility of a kind, painted on every street.

Streets are coloured by minutes on foot to the nearest facility of the chosen category; the
stretches beyond the GB 50180 service radius are outlined as gaps; the category's facilities
are clustered. (When the planner analysis of demand lands, it paints its own results here.)
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import folium
import numpy as np
import shapely
from folium.plugins import MarkerCluster
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from livingcircle.geo.accessibility import beyond
from livingcircle.geo.catchment import ring_polygons
from livingcircle.geo.engine import Region
from livingcircle.maps.base import (
    Display,
    Legend,
    LegendRow,
    Tiles,
    add_streets,
    base_map,
    finish,
    fit,
)

#: minutes on foot: upper bound of each colour band (the last is open-ended)
BANDS = ((5, "#1a9850"), (10, "#a6d96a"), (15, "#fdae61"), (float("inf"), "#d7191c"))
GAP_COLOR = "#7b3294"


@dataclass(frozen=True)
class PlannerLayers:
    """What the planner map paints, in lon/lat: street lines per time band and gap areas."""

    category: str
    radius_m: float
    speed_m_s: float
    bands: list[tuple[str, str, BaseGeometry, float]]  # label, colour, lines, street km
    gaps: BaseGeometry
    gap_street_km: float


def planner_layers(region: Region, category: str, speed_m_s: float = 1.0) -> PlannerLayers:
    """Per-street walking time to the nearest ``category`` and the gaps beyond its radius."""
    net = region.net
    node_d = region.distance_to_nearest(category)
    mid = np.minimum(node_d[net.edge_u], node_d[net.edge_v]) + net.edge_length / 2
    minutes = mid / speed_m_s / 60
    bands, low = [], 0.0
    for high, color in BANDS:
        pick = np.flatnonzero((minutes >= low) & ((minutes < high) | np.isinf(high)))
        label = f"{low:.0f}–{high:.0f} 分钟 · min" if np.isfinite(high) else \
            f"> {low:.0f} 分钟 · min / 无法到达 unreachable"
        lines = region.unproject_geom(shapely.multilinestrings(net.edge_geom[pick]))
        bands.append((label, color, lines, float(net.edge_length[pick].sum() / 1000)))
        low = high
    radius = region.radius_for(category)
    code = region.standard.category_index(category)
    mine = region.facilities.snap[np.flatnonzero(region.facilities.category == code)]
    pieces = beyond(net, node_d, radius, mine)  # a facility on a street covers it too
    gap = ring_polygons(net, [pieces])[0]
    return PlannerLayers(category, radius, speed_m_s, bands, region.unproject_geom(gap),
                         float((pieces[2] - pieces[1]).sum() / 1000))


def planner_map(
    region: Region,
    category: str,
    speed_m_s: float = 1.0,
    offline: bool = False,
    tiles: Tiles = "osm",
) -> folium.Map:
    """A district map of walking time to the nearest ``category`` and its GB 50180 gaps."""
    layers = planner_layers(region, category, speed_m_s)
    show = Display(tiles)
    lon, lat = (float(v) for v in region.unproject(region.net.node_xy.mean(axis=0)[None])[0])
    fmap = base_map(lon, lat, show, offline, zoom=14)
    if offline:
        add_streets(fmap, region.unproject_geom(shapely.multilinestrings(region.net.edge_geom)),
                    show)
    for label, color, lines, _ in layers.bands:
        if not lines.is_empty:
            folium.GeoJson(
                shapely.geometry.mapping(show.geom(lines)), name=label,
                style_function=lambda _f, c=color: {"color": c, "weight": 3, "opacity": 0.9},
                tooltip=label,
            ).add_to(fmap)
    if not layers.gaps.is_empty:
        folium.GeoJson(
            shapely.geometry.mapping(show.geom(layers.gaps)),
            name=f"缺口 · Gaps (> {layers.radius_m:.0f} m)",
            style_function=lambda _f: {"color": GAP_COLOR, "weight": 2, "dashArray": "6 4",
                                       "fillColor": GAP_COLOR, "fillOpacity": 0.12,
                                       "className": "lc-gap"},
            tooltip=f"超出 {layers.radius_m:.0f} 米 · beyond {layers.radius_m:.0f} m on foot",
        ).add_to(fmap)
    _facilities(fmap, region, category, show)
    _legend(fmap, region, layers)
    folium.LayerControl(collapsed=True).add_to(fmap)
    fit(fmap, [region.boundary], show)
    return finish(fmap, offline)


def _facilities(fmap: folium.Map, region: Region, category: str, show: Display) -> None:
    cat = region.standard.category(category)
    fac = region.facilities
    code = region.standard.category_index(category)
    rows: NDArray[np.intp] = np.flatnonzero(fac.category == code)
    cluster = MarkerCluster(name=f"{cat.label_zh} · {cat.label_en} ({len(rows)})")
    icon = (f"<div class='lc-facility' style='width:14px;height:14px;border-radius:50%;"
            f"background:{cat.color};border:2px solid #fff;box-shadow:0 0 2px #333'></div>")
    for (x, y), row in zip(show.xy(fac.anchor_lonlat[rows]).tolist(), rows, strict=True):
        name = html.escape(str(fac.text["name_zh"][row] or fac.text["name"][row] or cat.label_en))
        folium.Marker(
            [y, x], icon=folium.DivIcon(html=icon, icon_size=(14, 14), icon_anchor=(7, 7)),
            tooltip=f"{name} · {html.escape(cat.label_zh)}",
        ).add_to(cluster)
    cluster.add_to(fmap)


def _legend(fmap: folium.Map, region: Region, layers: PlannerLayers) -> None:
    cat = region.standard.category(layers.category)
    bands = [LegendRow(f"{label} ({km:.1f} km)", color, "line", "lc-legend-band")
             for label, color, _, km in layers.bands]
    gap = [LegendRow(f"超出 {layers.radius_m:.0f} 米 · beyond {layers.radius_m:.0f} m "
                     f"({layers.gap_street_km:.1f} km of street)", GAP_COLOR, "outline",
                     "lc-legend-gap")]
    title = html.escape(f"步行至最近{cat.label_zh} · Walk to the nearest {cat.label_en.lower()}")
    speed = f"{layers.speed_m_s:g} m/s"
    Legend(title, [(f"步行时间 · Minutes on foot at {speed}", bands),
                   ("GB 50180 服务半径 · Service radius", gap)]).add_to(fmap)
