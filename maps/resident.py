"""The resident map: what is within 5, 10 and 15 minutes on foot, and how to get there."""

from __future__ import annotations

import html
from collections import defaultdict

import folium
import shapely
from branca.element import MacroElement, Template
from shapely.geometry.base import BaseGeometry

from geo.results import CatchmentResult, FacilityHit, NearestResult
from geo.standards import Standard
from maps.offline import assets_installed, embed_assets

RING_COLORS = {5: "#1a9850", 10: "#fee08b", 15: "#fc8d59"}
_FALLBACK_RING_COLORS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#7f0000")


def resident_map(
    catchment: CatchmentResult,
    standard: Standard,
    nearest: NearestResult | None = None,
    streets: BaseGeometry | None = None,
    offline: bool = False,
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
        tiles, ``streets`` are drawn. Online maps use OpenStreetMap tiles.
    """
    origin = catchment.origin
    fmap = folium.Map(location=[origin.lat, origin.lon], zoom_start=15,
                      tiles=None if offline else "OpenStreetMap",
                      control_scale=True, max_zoom=19, prefer_canvas=False)
    if offline or assets_installed():
        embed_assets(fmap)
    if streets is not None and not streets.is_empty:
        _streets(fmap, streets)
    _rings(fmap, catchment)
    if nearest is not None:  # under the markers, so a route never hides its facility
        _routes(fmap, nearest, standard)
    _facilities(fmap, catchment.facilities, standard)
    folium.CircleMarker(
        [origin.lat, origin.lon], radius=9, color="#ffffff", weight=3, fill=True,
        fill_color="#d7191c", fill_opacity=1.0, tooltip="您在这里 · You are here",
    ).add_to(fmap)
    _legend(fmap, catchment, standard)
    folium.LayerControl(collapsed=True).add_to(fmap)
    bounds = _bounds(catchment)
    if bounds:
        fmap.fit_bounds(bounds)
    return fmap


def _streets(fmap: folium.Map, streets: BaseGeometry) -> None:
    layer = folium.FeatureGroup(name="街道 · Streets", control=False)
    folium.GeoJson(
        shapely.geometry.mapping(streets),
        style_function=lambda _f: {"color": "#8a8a8a", "weight": 1.5, "opacity": 0.8},
        interactive=False,
    ).add_to(layer)
    layer.add_to(fmap)


def _ring_color(minutes: int, i: int) -> str:
    return RING_COLORS.get(minutes, _FALLBACK_RING_COLORS[i % len(_FALLBACK_RING_COLORS)])


def _rings(fmap: folium.Map, catchment: CatchmentResult) -> None:
    for i, ring in sorted(enumerate(catchment.rings), key=lambda r: -r[1].minutes):
        if ring.polygon.is_empty:
            continue
        color = _ring_color(ring.minutes, i)
        layer = folium.FeatureGroup(name=f"{ring.minutes} 分钟 · {ring.minutes}-min walk")
        folium.GeoJson(
            shapely.geometry.mapping(ring.polygon),
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


def _facilities(fmap: folium.Map, hits: list[FacilityHit], standard: Standard) -> None:
    """One GeoJSON layer per category (Leaflet only: Folium's Popup would need jQuery)."""
    by_cat: dict[str, list[FacilityHit]] = defaultdict(list)
    for hit in hits:
        by_cat[hit.category].append(hit)
    for cat in standard.categories:
        if cat.id not in by_cat:
            continue
        features = [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(h.lon, 7), round(h.lat, 7)]},
            "properties": {"id": h.id, "popup": _popup_html(h),
                           "label": html.escape(h.name_zh or h.name or cat.label_en)},
        } for h in by_cat[cat.id]]
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


def _routes(fmap: folium.Map, nearest: NearestResult, standard: Standard) -> None:
    layer = folium.FeatureGroup(name="最近设施路线 · Routes to the nearest")
    for cat_id, hits in nearest.by_category.items():
        if not hits or hits[0].route is None:
            continue
        hit, cat = hits[0], standard.category(cat_id)
        coords = [(y, x) for x, y in shapely.get_coordinates(hit.route)]
        folium.PolyLine(
            coords, color=cat.color, weight=4, opacity=0.85, dash_array="6 6",
            tooltip=f"{cat.label_zh} · {cat.label_en}: {hit.time_s / 60:.1f} min",
        ).add_to(layer)
    layer.add_to(fmap)


def _bounds(catchment: CatchmentResult) -> list[list[float]] | None:
    polys = [r.polygon for r in catchment.rings if not r.polygon.is_empty]
    if not polys:
        return None
    w, s, e, n = shapely.union_all(polys).bounds
    return [[s, w], [n, e]]


_LEGEND = Template("""
{% macro html(this, kwargs) %}
<div id="lc-legend" style="position:absolute; bottom:28px; left:10px; z-index:9999;
  background:rgba(255,255,255,0.94); padding:10px 12px; border-radius:8px; max-height:60vh;
  overflow:auto; font:13px/1.45 system-ui, 'Noto Sans CJK SC', sans-serif;
  box-shadow:0 1px 6px rgba(0,0,0,.3); max-width:300px">
 <div style="font-weight:600; margin-bottom:4px">步行生活圈 · Living circle on foot</div>
 {% for row in this.rings %}
 <div class="lc-legend-ring"><span style="display:inline-block;width:14px;height:14px;
   background:{{row[1]}};opacity:.6;border:1px solid {{row[1]}};margin-right:6px;
   vertical-align:-2px"></span>{{row[0]}}</div>
 {% endfor %}
 <div style="font-weight:600; margin:6px 0 2px">设施 · Facilities</div>
 {% for row in this.categories %}
 <div class="lc-legend-category"><span style="display:inline-block;width:12px;height:12px;
   border-radius:50%;background:{{row[1]}};border:1px solid #333;margin-right:6px;
   vertical-align:-1px"></span>{{row[0]}}</div>
 {% endfor %}
 {% if this.missing %}
 <div style="font-weight:600; margin:6px 0 2px">未达标 · Missing (GB 50180)</div>
 {% for row in this.missing %}<div class="lc-legend-missing">{{row}}</div>{% endfor %}
 {% endif %}
</div>
{% endmacro %}
""")


class _Legend(MacroElement):  # type: ignore[misc]
    def __init__(self, rings: list[tuple[str, str]], categories: list[tuple[str, str]],
                 missing: list[str]) -> None:
        super().__init__()
        self._name = "Legend"
        self._template = _LEGEND
        self.rings, self.categories, self.missing = rings, categories, missing


def _legend(fmap: folium.Map, catchment: CatchmentResult, standard: Standard) -> None:
    rings = [(f"{r.minutes} 分钟 · {r.minutes} min", _ring_color(r.minutes, i))
             for i, r in enumerate(catchment.rings)]
    present = {h.category for h in catchment.facilities}
    cats = [(html.escape(f"{c.label_zh} · {c.label_en}"), c.color)
            for c in standard.categories if c.id in present]
    missing = [html.escape(f"{t.minutes} 分钟: {r.label_zh} · {r.label_en}")
               for t in catchment.tiers for r in t.requirements if not r.present]
    _Legend(rings, cats, missing).add_to(fmap)
