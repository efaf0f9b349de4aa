"""The resident map: what is within 5, 10 and 15 minutes on foot, and how to get there.

Facilities are clustered markers, each with its group's colour and its category's letter
(never colour alone); each category is a layer of its own in the layer control, all in one
cluster. The rings differ by outline as well as by colour.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence

import folium
import numpy as np
import shapely
from branca.element import Element
from folium.plugins import FeatureGroupSubGroup, MarkerCluster
from jinja2 import Template
from shapely.geometry.base import BaseGeometry

from livingcircle.geo import config
from livingcircle.geo.engine import Region
from livingcircle.geo.results import CatchmentResult, FacilityHit, NearestResult
from livingcircle.geo.standards import Category, Standard
from livingcircle.maps import words
from livingcircle.maps.base import (
    PLAIN,
    BorderStyle,
    Display,
    Legend,
    LegendRow,
    MapLook,
    Tiles,
    add_streets,
    badge_html,
    base_map,
    finish,
    fit,
)
from livingcircle.maps.offline import page

RING_COLORS = {5: "#1a9850", 10: "#fee08b", 15: "#fc8d59"}
_FALLBACK_RING_COLORS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#7f0000")
#: ring outlines, innermost first: told apart without colour (SVG dash array, CSS border)
RING_DASHES: tuple[tuple[str, BorderStyle], ...] = (
    ("", "solid"),
    ("10 6", "dashed"),
    ("2 6", "dotted"),
)
#: streets drawn offline reach this far (m) beyond the largest ring's walk
STREETS_PAD_M = 300.0
#: the pane of the you-are-here dot: above the facility markers (600), below tooltips (650)
HERE_PANE = "lc-here"


def resident_map(
    catchment: CatchmentResult,
    standard: Standard,
    nearest: NearestResult | None = None,
    streets: BaseGeometry | None = None,
    offline: bool = False,
    tiles: Tiles = "osm",
    font_url: str | None = None,
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
    font_url
        Link the web font from here (a page the API serves) instead of inlining it.
    """
    origin, show = catchment.origin, Display(tiles)
    fmap = base_map(origin.lon, origin.lat, show, offline)
    fmap.options.update(zoom_snap=0.25)  # the rings fill a phone's screen, not half of it
    add_streets(fmap, streets, show)
    _rings(fmap, catchment, show)
    if nearest is not None:  # under the markers, so a route never hides its facility
        _routes(fmap, nearest, standard, show)
    _facilities(fmap, catchment.facilities, standard, show)
    you_are_here(fmap, origin.lon, origin.lat, show)
    _legend(fmap, catchment, standard)
    folium.LayerControl(collapsed=True).add_to(fmap)
    fit(fmap, [r.polygon for r in catchment.rings], show)
    return finish(fmap, offline, font_url)


def resident_map_at(
    region: Region,
    lon: float,
    lat: float,
    minutes: Sequence[float] = config.DEFAULT_MINUTES,
    profile: str = "standard",
    speed_m_s: float | None = None,
    offline: bool = False,
    tiles: Tiles = "osm",
    font_url: str | None = None,
) -> folium.Map:
    """The resident's map of a point: the use case the CLI, the API and the Python API share.

    The catchment of ``minutes``, the nearest facility of each kind within the largest ring
    and the routes to them, drawn by :func:`resident_map_of`.

    Parameters
    ----------
    region
        The engine of the region holding the point (:meth:`Atlas.locate
        <livingcircle.geo.atlas.Atlas.locate>` finds it).
    lon, lat
        The resident's point, WGS 84 degrees.
    minutes, profile, speed_m_s
        Rings and walking speed, as :meth:`Region.catchment`.
    offline, tiles, font_url
        As :func:`resident_map`.
    """
    result = region.catchment(lon, lat, minutes, profile=profile, speed_m_s=speed_m_s)
    near = region.nearest(lon, lat, profile=profile, speed_m_s=speed_m_s, max_minutes=max(minutes))
    return resident_map_of(region, result, near, MapLook(offline, tiles, font_url))


def resident_map_of(
    region: Region,
    catchment: CatchmentResult,
    nearest: NearestResult | None = None,
    look: MapLook = PLAIN,
) -> folium.Map:
    """:func:`resident_map` of answers already made, with the region's streets when offline.

    Offline, the streets drawn reach :data:`STREETS_PAD_M` beyond the largest ring's walk.
    """
    streets = None
    if look.offline:
        reach = max(r.minutes for r in catchment.rings) * 60 * catchment.speed_m_s
        origin = catchment.origin
        streets = region.streets_near(origin.lon, origin.lat, reach + STREETS_PAD_M)
    return resident_map(
        catchment, region.standard, nearest, streets, look.offline, look.tiles, look.font_url
    )


def you_are_here(fmap: folium.Map, lon: float, lat: float, show: Display, radius: int = 9) -> None:
    """The red dot of the resident's (or the kiosk's) position, above every marker."""
    folium.map.CustomPane(HERE_PANE, z_index=640, pointer_events=True).add_to(fmap)
    dot = folium.CircleMarker(
        show.latlon(lon, lat),
        radius=radius,
        color="#ffffff",
        weight=3,
        fill=True,
        fill_color="#d7191c",
        fill_opacity=1.0,
        tooltip="您在这里 · You are here",
        class_name="lc-here",
    )
    dot.options["pane"] = HERE_PANE  # folium's CircleMarker does not pass a pane on
    dot.add_to(fmap)


def _ring_color(minutes: int, i: int) -> str:
    return RING_COLORS.get(minutes, _FALLBACK_RING_COLORS[i % len(_FALLBACK_RING_COLORS)])


def _ring_dash(i: int) -> tuple[str, BorderStyle]:
    return RING_DASHES[min(i, len(RING_DASHES) - 1)]


def _rings(fmap: folium.Map, catchment: CatchmentResult, show: Display) -> None:
    for i, ring in sorted(enumerate(catchment.rings), key=lambda r: -r[1].minutes):
        if ring.polygon.is_empty:
            continue
        color, dash = _ring_color(ring.minutes, i), _ring_dash(i)[0]
        layer = folium.FeatureGroup(name=f"{ring.minutes} 分钟 · {ring.minutes}-min walk")
        folium.GeoJson(
            shapely.geometry.mapping(show.geom(ring.polygon)),
            style_function=lambda _f, c=color, d=dash: {
                "color": c,
                "weight": 3,
                "dashArray": d or None,
                "fillColor": c,
                "fillOpacity": 0.16,
            },
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
    lines.append(
        f"<b>步行 {hit.time_s / 60:.1f} 分钟</b> · {hit.time_s / 60:.1f} min on foot "
        f"({hit.distance_m:.0f} m)"
    )
    if hit.opening_hours:
        lines.append(f"营业时间 · Opening hours: {html.escape(hit.opening_hours)}")
    return "<br>".join(lines)


def _facilities(
    fmap: folium.Map, hits: Sequence[FacilityHit], standard: Standard, show: Display
) -> None:
    """One cluster of every facility, with a layer (a sub-group of it) per category."""
    cluster = MarkerCluster(
        control=False,
        icon_create_function=_CLUSTER_ICON,
        options={
            "maxClusterRadius": 56,
            "showCoverageOnHover": False,
            "disableClusteringAtZoom": 18,
            "spiderfyOnMaxZoom": True,
        },
    )
    cluster.add_to(fmap)
    by_cat: dict[str, list[FacilityHit]] = defaultdict(list)
    for hit in hits:
        by_cat[hit.category].append(hit)
    for cat in standard.categories:
        if cat.id in by_cat:
            FacilityLayer(cluster, cat, by_cat[cat.id], show).add_to(fmap)


#: clusters are neutral white discs with the count, unlike any category's coloured badge
_CLUSTER_ICON = """
function (cluster) {
  var n = cluster.getChildCount(), size = n < 10 ? 30 : n < 100 ? 36 : 42;
  return L.divIcon({html: '<span>' + n + '</span>', className: 'lc-cluster',
                    iconSize: L.point(size, size)});
}"""


class FacilityLayer(FeatureGroupSubGroup):
    """A category's facilities: badge markers with a bilingual popup, inside the cluster.

    The markers come from a compact JSON array (lat, lon, popup HTML, plain label), so a
    page with hundreds of facilities stays small; labels reach the page as text only.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.featureGroup.subGroup({{ this._group.get_name() }});
(function (layer) {
  var icon = L.divIcon({className: 'lc-facility', html: {{ this.badge|tojson }},
                        iconSize: [26, 26], iconAnchor: [13, 13], popupAnchor: [0, -12],
                        tooltipAnchor: [14, 0]});
  {{ this.rows|tojson }}.forEach(function (f) {
    var tip = document.createElement('span');
    tip.textContent = f[3];
    var marker = L.marker([f[0], f[1]], {icon: icon, riseOnHover: true});
    marker.bindPopup(f[2], {maxWidth: 320}).bindTooltip(tip, {direction: 'right'});
    marker.on('add', function () { marker.getElement().setAttribute('aria-label', f[3]); });
    marker.addTo(layer);
  });
})({{ this.get_name() }});
{% endmacro %}
""")

    def __init__(
        self, cluster: MarkerCluster, category: Category, hits: Sequence[FacilityHit], show: Display
    ) -> None:
        name = f"{category.label_zh} · {category.label_en} ({len(hits)})"
        super().__init__(cluster, name=name)  # type: ignore[no-untyped-call]  # folium's is untyped
        self.badge = badge_html(category)
        xy = show.xy(np.array([[h.lon, h.lat] for h in hits]))
        self.rows = [
            [round(y, 7), round(x, 7), _popup_html(h), h.name_zh or h.name or category.label_en]
            for h, (x, y) in zip(hits, xy.tolist(), strict=True)
        ]


def _routes(fmap: folium.Map, nearest: NearestResult, standard: Standard, show: Display) -> None:
    walk = route_kind(nearest.profile, standard)
    layer = folium.FeatureGroup(name=f"最近设施路线 · Routes to the nearest{walk}")
    for cat_id, hits in nearest.by_category.items():
        if not hits or hits[0].route is None:
            continue
        hit, cat = hits[0], standard.category(cat_id)
        coords = [(y, x) for x, y in shapely.get_coordinates(show.geom(hit.route))]
        folium.PolyLine(
            coords,
            color=cat.color,
            weight=4,
            opacity=0.85,
            dash_array="6 6",
            tooltip=f"{cat.label_zh} · {cat.label_en}: {hit.time_s / 60:.1f} min{walk}",
        ).add_to(layer)
    layer.add_to(fmap)


def route_kind(profile: str, standard: Standard) -> str:
    """What a route's label adds for a profile with street rules (" (... · step-free route)")."""
    rules = standard.profiles.get(profile)
    if rules is None or not rules.has_edge_rules:
        return ""
    return f" ({rules.label_zh}路线 · {profile} route)"


def _legend(fmap: folium.Map, catchment: CatchmentResult, standard: Standard) -> None:
    rings = [
        LegendRow(
            f"{r.minutes} 分钟 · {r.minutes} min",
            _ring_color(r.minutes, i),
            "box",
            "lc-legend-ring",
            dash=_ring_dash(i)[1],
        )
        for i, r in enumerate(catchment.rings)
    ]
    present = {h.category for h in catchment.facilities}
    cats = [
        LegendRow(
            html.escape(f"{c.label_zh} · {c.label_en}"),
            c.color,
            "badge",
            "lc-legend-category",
            badge=badge_html(c, size=22),
        )
        for c in standard.categories
        if c.id in present
    ]
    missing = [
        LegendRow(
            html.escape(f"{t.minutes} 分钟: {r.label_zh} · {r.label_en}"),
            "",
            "text",
            "lc-legend-missing",
        )
        for t in catchment.tiers
        for r in t.requirements
        if not r.present
    ]
    sections = [("", rings), ("设施 · Facilities", cats)]
    if missing:
        sections.append(("未达标 · Missing (GB 50180)", missing))
    if (walk := _walking_rows(catchment, standard)) is not None:
        sections.insert(0, walk)
    Legend("步行生活圈 · Living circle on foot", sections).add_to(fmap)
    page(fmap).header.add_child(Element(f"<style>{_CSS}</style>"), name="lc_resident")


def _walking_rows(
    catchment: CatchmentResult, standard: Standard
) -> tuple[str, list[LegendRow]] | None:
    """The legend's first section at a profile other than standard: its name and notes."""
    rules = standard.profiles.get(catchment.profile)
    if rules is None or catchment.profile == "standard":
        return None
    rows = [
        LegendRow(
            html.escape(words.walking(rules, catchment.speed_m_s)), "", "text", "lc-legend-profile"
        )
    ]
    rows += [
        LegendRow(html.escape(words.profile_note(n)), "", "text", "lc-legend-note")
        for n in catchment.notes
    ]
    return route_kind(catchment.profile, standard).strip(" ()") or "步行方式 · Walking", rows


_CSS = """
.lc-facility { background: none; border: 0; }
.lc-facility .lc-badge { display: flex; }
.lc-facility:focus-visible { outline: 3px solid #0072B2; border-radius: 50%; }
.lc-cluster { display: flex; align-items: center; justify-content: center; box-sizing: border-box;
  border-radius: 50%; background: #ffffff; border: 3px solid #333333; color: #111111;
  font-weight: 700; font-size: 14px; box-shadow: 0 1px 4px rgba(0,0,0,.45); }
"""
