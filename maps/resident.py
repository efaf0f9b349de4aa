"""The resident map: what is within 5, 10 and 15 minutes on foot, and how to get there."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence

import folium
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from livingcircle.geo.results import CatchmentResult, FacilityHit, NearestResult
from livingcircle.geo.standards import Standard
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

RING_COLORS = {5: "#1a9850", 10: "#fee08b", 15: "#fc8d59"}
_FALLBACK_RING_COLORS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#7f0000")


def resident_map(
    catchment: CatchmentResult,
    standard: Standard,
    nearest: NearestResult | None = None,
    streets: BaseGeometry | None = None,
    offline: bool = False,
    tiles: Tiles = "osm",
) -> folium.Map:
    """A Folium map of a catchment, its facilities and the routes to the nearest of each kind.

    Parameters
    ----------
    catchment
        Rings and facilities around the resident.
    standard
        For category colours and bilingual labels.
    nearest
        If given, the walking route to the nearest facility of each category is drawn.
    streets
        Street lines (lon/lat) drawn as the base layer when offline.
    offline
        Make no network request: Leaflet is written into the page and, instead of web
        tiles, ``streets`` are drawn.
    tiles
        Online base map: ``osm``, ``amap`` (data shifted to GCJ-02 to sit on Amap's
        streets) or ``none``.
    """
    origin, show = catchment.origin, Display(tiles)
    fmap = base_map(origin.lon, origin.lat, show, offline)
    add_streets(fmap, streets, show)
    _rings(fmap, catchment, show)
    if nearest is not None:  # under the markers, so a route never hides its facility
        _routes(fmap, nearest, standard, show)
    _facilities(fmap, catchment.facilities, standard, show)
    you_are_here(fmap, origin.lon, origin.lat, show)
    _legend(fmap, catchment, standard)
    folium.LayerControl(collapsed=True).add_to(fmap)
    fit(fmap, [r.polygon for r in catchment.rings], show)
    return finish(fmap, offline)


def you_are_here(fmap: folium.Map, lon: float, lat: float, show: Display,
                 radius: int = 9) -> None:
    """The red dot of the resident's (or the kiosk's) position."""
    folium.CircleMarker(
        show.latlon(lon, lat), radius=radius, color="#ffffff", weight=3, fill=True,
        fill_color="#d7191c", fill_opacity=1.0, tooltip="您在这里 · You are here",
        class_name="lc-here",
    ).add_to(fmap)


def _ring_color(minutes: int, i: int) -> str:
    return RING_COLORS.get(minutes, _FALLBACK_RING_COLORS[i % len(_FALLBACK_RING_COLORS)])


def _rings(fmap: folium.Map, catchment: CatchmentResult, show: Display) -> None:
    for i, ring in sorted(enumerate(catchment.rings), key=lambda r: -r[1].minutes):
        if ring.polygon.is_empty:
            continue
        color = _ring_color(ring.minutes, i)
        layer = folium.FeatureGroup(name=f"{ring.minutes} 分钟 · {ring.minutes}-min walk")
        folium.GeoJson(
            shapely.geometry.mapping(show.geom(ring.polygon)),
            style_function=lambda _f, c=color: {"color": c, "weight": 2, "fillColor": c,
                                                "fillOpacity": 0.18},
            tooltip=f"{ring.minutes} 分钟步行 · {ring.minutes} minutes on foot",
        ).add_to(layer)
        layer.add_to(fmap)


def _popup_html(hit: FacilityHit) -> str:
    name = html.escape(hit.name_zh or hit.name or "(unnamed)")
    other = html.escape(hit.name) if hit.name_zh and hit.name and hit.name != hit.name_zh else ""
    lines = [f"<b style='font-size:15px'>{name}</b>"]
    if other:
        lines.append(other)
    lines.append(f"{html.escape(hit.label_zh)} · {html.escape(hit.label_en)}")
    lines.append(f"<b>步行 {hit.time_s / 60:.1f} 分钟</b> · {hit.time_s / 60:.1f} min on foot "
                 f"({hit.distance_m:.0f} m)")
    if hit.opening_hours:
        lines.append(f"营业时间 · Opening hours: {html.escape(hit.opening_hours)}")
    return "<br>".join(lines)


def _facilities(fmap: folium.Map, hits: Sequence[FacilityHit], standard: Standard,
                show: Display) -> None:
    """One GeoJSON layer per category (Leaflet only: Folium's Popup would need jQuery)."""
    by_cat: dict[str, list[FacilityHit]] = defaultdict(list)
    for hit in hits:
        by_cat[hit.category].append(hit)
    for cat in standard.categories:
        if cat.id not in by_cat:
            continue
        xy = show.xy(np.array([[h.lon, h.lat] for h in by_cat[cat.id]]))
        features = [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(x, 7), round(y, 7)]},
            "properties": {"id": h.id, "popup": _popup_html(h),
                           "label": html.escape(h.name_zh or h.name or cat.label_en)},
        } for h, (x, y) in zip(by_cat[cat.id], xy.tolist(), strict=True)]
        layer = folium.FeatureGroup(
            name=f"{cat.label_zh} · {cat.label_en} ({len(features)})")
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            marker=folium.CircleMarker(radius=6, color="#333333", weight=1, fill=True,
                                       fill_color=cat.color, fill_opacity=0.9),
            style_function=lambda _f, c=cat.color: {"fillColor": c, "color": "#333333",
                                                    "weight": 1, "fillOpacity": 0.9,
                                                    "className": "lc-facility"},
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False, max_width=320),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(layer)
        layer.add_to(fmap)


def _routes(fmap: folium.Map, nearest: NearestResult, standard: Standard,
            show: Display) -> None:
    layer = folium.FeatureGroup(name="最近设施路线 · Routes to the nearest")
    for cat_id, hits in nearest.by_category.items():
        if not hits or hits[0].route is None:
            continue
        hit, cat = hits[0], standard.category(cat_id)
        coords = [(y, x) for x, y in shapely.get_coordinates(show.geom(hit.route))]
        folium.PolyLine(
            coords, color=cat.color, weight=4, opacity=0.85, dash_array="6 6",
            tooltip=f"{cat.label_zh} · {cat.label_en}: {hit.time_s / 60:.1f} min",
        ).add_to(layer)
    layer.add_to(fmap)


def _legend(fmap: folium.Map, catchment: CatchmentResult, standard: Standard) -> None:
    rings = [LegendRow(f"{r.minutes} 分钟 · {r.minutes} min", _ring_color(r.minutes, i), "box",
                       "lc-legend-ring") for i, r in enumerate(catchment.rings)]
    present = {h.category for h in catchment.facilities}
    cats = [LegendRow(html.escape(f"{c.label_zh} · {c.label_en}"), c.color,
                      css_class="lc-legend-category")
            for c in standard.categories if c.id in present]
    missing = [LegendRow(html.escape(f"{t.minutes} 分钟: {r.label_zh} · {r.label_en}"), "",
                         "text", "lc-legend-missing")
               for t in catchment.tiers for r in t.requirements if not r.present]
    sections = [("", rings), ("设施 · Facilities", cats)]
    if missing:
        sections.append(("未达标 · Missing (GB 50180)", missing))
    Legend("步行生活圈 · Living circle on foot", sections).add_to(fmap)
