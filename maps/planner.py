"""The planner map: who walks how long to the nearest facility of a kind, and where to build.

Homes (or H3 hexagons of homes) are coloured by minutes on foot to the nearest facility of the
chosen category and sized (hexagons: shaded) by the residents they hold; "more than 15
minutes" and "no facility reachable" have colours of their own. The gap areas that
:func:`livingcircle.geo.gaps.gap_areas` draws carry labels with the residents they hold, the
proposed sites are numbered, communities are shaded by their living-circle score, and the
view is fitted to the district. Streets are painted thinly in the same colours. The palette
is Okabe-Ito's (safe for the common colour-vision deficiencies): blues within ten minutes,
orange and vermilion beyond, black where nothing can be reached. The legend is bilingual,
中文 first.
"""

from __future__ import annotations

import html
import math

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium.plugins import MarkerCluster

from livingcircle.geo.engine import Region
from livingcircle.geo.planning import PlannerTables
from livingcircle.maps import words
from livingcircle.maps.base import PLAIN, Display, Legend, MapLook, Tiles
from livingcircle.maps.district import (
    HomeStyle,
    district_map,
    facility_markers,
    finish_district,
    home_markers,
)
from livingcircle.maps.palette import ALL_BANDS, GAP_COLOR, UNREACHABLE, score_color
from livingcircle.maps.planner_layers import DEFAULT_SITES, PlannerLayers, planner_layers
from livingcircle.maps.planner_legend import legend_sections

MAX_GAP_LABELS = 12


def planner_map(
    region: Region,
    category: str,
    speed_m_s: float = 1.0,
    offline: bool = False,
    tiles: Tiles = "osm",
    homes: gpd.GeoDataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
    hexagons: bool | None = None,
    n_sites: int = DEFAULT_SITES,
    result: PlannerTables | None = None,
) -> folium.Map:
    """A district map of who walks how long to the nearest ``category``, and where to build.

    Parameters are those of :func:`planner_layers`; ``offline`` writes every script into the
    page and draws the streets instead of tiles, ``tiles`` picks the online base map.
    """
    layers = planner_layers(
        region, category, speed_m_s, homes, communities, hexagons, n_sites, result
    )
    return draw(region, layers, MapLook(offline, tiles))


def draw(region: Region, layers: PlannerLayers, look: MapLook = PLAIN) -> folium.Map:
    """The Folium map of laid-out planner layers."""
    show = Display(look.tiles)
    fmap = district_map(region, look, _CSS, "lc_plan")
    if layers.communities is not None:
        _communities(fmap, layers.communities, show)
    _streets(fmap, layers, show)
    if layers.hexagons is not None:
        _hexagons(fmap, layers.hexagons, show)
    else:
        _home_points(fmap, layers.homes, show)
    if layers.facilities:
        _gaps(fmap, layers, show)
    _facilities(fmap, region, layers.category, show)
    _site_markers(fmap, layers, region, show)
    _legend(fmap, region, layers)
    return finish_district(fmap, region, look, banner_html(region, layers))


_CSS = """
.lc-gap-label { background: #fff; border: 2px solid #CC79A7; border-radius: 6px;
  padding: 2px 6px; font-size: 12px; font-weight: 700; line-height: 1.3; color: #1d1d1d;
  white-space: nowrap; box-shadow: 0 1px 3px rgba(0,0,0,.35); transform: translate(-50%, -50%);
  display: inline-block; }
.lc-site { display: flex; align-items: center; justify-content: center; width: 26px;
  height: 26px; border-radius: 50%; background: #fff; border: 3px solid #000; color: #000;
  font-weight: 700; font-size: 14px; box-sizing: border-box;
  box-shadow: 0 0 0 2px #fff, 0 1px 4px rgba(0,0,0,.5); }
.lc-facility { display: flex; align-items: center; justify-content: center; width: 20px;
  height: 20px; border-radius: 4px; background: #000; color: #fff; font-weight: 700;
  font-size: 11px; box-sizing: border-box; border: 2px solid #fff;
  box-shadow: 0 1px 3px rgba(0,0,0,.6); }
.lc-facility.lc-cluster { width: 26px; height: 26px; border-radius: 50%; font-size: 12px; }
.lc-community-label { background: rgba(255,255,255,.85); border: 1px solid #525252;
  font-size: 11px; font-weight: 700; }
.lc-banner { font-family: FONTS; position: absolute; z-index: 1000; top: 10px;
  left: 56px; right: 64px;
  margin: 0 auto; max-width: 560px; width: fit-content; background: #fff; color: #1d1d1d;
  border-radius: 8px; padding: 6px 12px; font-size: 14px; font-weight: 700;
  box-shadow: 0 1px 6px rgba(0,0,0,.35); }
.lc-banner.lc-missing { border: 3px solid #b00020; color: #b00020; }
@media (max-width: 599px) { .lc-community-label { font-size: 9px; padding: 1px 3px; }
  .lc-banner { font-size: 12px; } }
#lc-legend .lc-legend-missing span { font-weight: 700; color: #b00020; }
"""


def banner_html(region: Region, layers: PlannerLayers) -> str:
    """The line always on screen: the share covered, or that the region has none at all."""
    cat = region.standard.category(layers.category)
    if not layers.facilities:
        text, css = words.no_facility(cat.label_zh, cat.label_en), "lc-banner lc-missing"
    else:
        share = words.percent(layers.covered_share)
        text = (
            f"{words.metres(layers.radius_m).split(' · ')[0]}内有{cat.label_zh}的居民 "
            f"{share} · residents within {layers.radius_m:.0f} m of a "
            f"{words.lower_first(cat.label_en)}: {share}"
        )
        css = "lc-banner"
    return f"<div class='{css}' role='status'>{html.escape(text)}</div>"


def _streets(fmap: folium.Map, layers: PlannerLayers, show: Display) -> None:
    group = folium.FeatureGroup(name="街道步行时间 · Streets by minutes on foot")
    for band, (lines, _) in zip(ALL_BANDS, layers.streets, strict=True):
        if lines.is_empty:
            continue
        dash = "2 4" if band is UNREACHABLE else None
        folium.GeoJson(
            shapely.geometry.mapping(show.geom(lines)),
            interactive=False,
            style_function=lambda _f, c=band.color, d=dash: {
                "color": c,
                "weight": 2,
                "opacity": 0.55,
                "dashArray": d,
            },
        ).add_to(group)
    group.add_to(fmap)


def _hexagons(fmap: folium.Map, cells: gpd.GeoDataFrame, show: Display) -> None:
    top = max(float(cells["population"].max()), 1.0) if len(cells) else 1.0
    features = []
    for cell, pop, mins, band, geom in cells[
        ["cell", "population", "minutes", "band", "geometry"]
    ].itertuples(index=False):
        b = ALL_BANDS[band]
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(show.geom(geom)),
                "properties": {
                    "cell": cell,
                    "color": b.color,
                    "opacity": round(0.3 + 0.6 * math.sqrt(max(pop, 0) / top), 3),
                    "tip": f"{words.residents(pop)}<br>{_minutes_tip(mins)}",
                },
            }
        )
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name="居民（六边形）· Residents (hexagons)",
        style_function=lambda f: {
            "color": "#ffffff",
            "weight": 0.6,
            "fillColor": f["properties"]["color"],
            "fillOpacity": f["properties"]["opacity"],
            "className": "lc-hex",
        },
        tooltip=folium.GeoJsonTooltip(["tip"], labels=False),
    ).add_to(fmap)


def _minutes_tip(mins: float) -> str:
    if not math.isfinite(mins):
        return words.both("无法到达", "unreachable")
    return words.both(f"步行 {words.minutes(mins)} 分钟", f"{words.minutes(mins)} min on foot")


def _home_points(fmap: folium.Map, homes: gpd.GeoDataFrame, show: Display) -> None:
    home_markers(
        fmap,
        homes,
        show,
        [ALL_BANDS[int(b)].color for b in homes["band"]],
        [_minutes_tip(float(m)) for m in homes["minutes"].to_numpy(dtype=np.float64)],
        HomeStyle("居民住宅 · Homes", "#ffffff", 1.2, 0.85),
    )


def gap_label(population: float, radius_m: float) -> str:
    """``缺口：1,240 位居民 · gap: 1,240 residents`` beyond the radius."""
    count = words.people(population)
    return (
        f"{count} 位居民 · {count} residents<br><small>超出 {radius_m:.0f} 米 · "
        f"beyond {radius_m:.0f} m</small>"
    )


def _gaps(fmap: folium.Map, layers: PlannerLayers, show: Display) -> None:
    """Gap areas holding residents, outlined, the largest labelled with their residents."""
    gaps = layers.gaps[layers.gaps["population"] >= 0.5]
    if gaps.empty:
        return
    group = folium.FeatureGroup(name=f"缺口 · Gaps (> {layers.radius_m:.0f} m)")
    for i, (pop, geom) in enumerate(zip(gaps["population"], gaps.geometry, strict=True)):
        text = gap_label(float(pop), layers.radius_m)
        folium.GeoJson(
            shapely.geometry.mapping(show.geom(geom)),
            style_function=lambda _f: {
                "color": GAP_COLOR,
                "weight": 2.5,
                "dashArray": "8 5",
                "fill": False,
                "className": "lc-gap",
            },
            tooltip=folium.Tooltip(text),
        ).add_to(group)
        if i < MAX_GAP_LABELS:
            spot = geom.representative_point()
            folium.Marker(
                show.latlon(spot.x, spot.y),
                icon=folium.DivIcon(
                    html=f"<div class='lc-gap-label'>{text}</div>",
                    icon_size=(0, 0),
                    class_name="lc-gap-pin",
                ),
            ).add_to(group)
    group.add_to(fmap)


def _communities(fmap: folium.Map, comm: gpd.GeoDataFrame, show: Display) -> None:
    group = folium.FeatureGroup(name="社区生活圈得分 · Communities by living-circle score")
    for name, score, geom in comm[["name", "score", "geometry"]].itertuples(index=False):
        text = (
            html.escape(str(name))
            + "<br>"
            + (
                f"生活圈得分 {words.percent(score)} · score {words.percent(score)}"
                if math.isfinite(score)
                else "无居民 · no residents"
            )
        )
        fill = score_color(score)
        folium.GeoJson(
            shapely.geometry.mapping(show.geom(geom)),
            style_function=lambda _f, c=fill: {
                "color": "#333333",
                "weight": 2,
                "fillColor": c,
                "fillOpacity": 0.45,
                "className": "lc-community",
            },
            tooltip=folium.Tooltip(
                text, permanent=True, direction="center", class_name="lc-community-label"
            ),
        ).add_to(group)
    group.add_to(fmap)


def _facilities(fmap: folium.Map, region: Region, category: str, show: Display) -> None:
    cat = region.standard.category(category)
    rows = np.flatnonzero(region.facilities.category == region.standard.category_index(category))
    cluster = MarkerCluster(
        name=f"{cat.label_zh} · {cat.label_en} ({len(rows)})",
        options={"disableClusteringAtZoom": 16},
        icon_create_function=_CLUSTER_ICON,
    )
    facility_markers(cluster, region, category, rows.tolist(), show, ("lc-facility", 20), True)
    cluster.add_to(fmap)


_CLUSTER_ICON = """function (cluster) {
  return L.divIcon({html: '<div class="lc-facility lc-cluster">' + cluster.getChildCount() +
    '</div>', className: '', iconSize: [26, 26]});
}"""


def _site_markers(fmap: folium.Map, layers: PlannerLayers, region: Region, show: Display) -> None:
    sites = layers.sites
    if sites.empty:
        return
    cat = region.standard.category(layers.category)
    group = folium.FeatureGroup(name="建议新址 · Proposed sites")
    for rank, gain, geom in zip(
        sites["rank"], sites.get("gain_population", np.nan), sites.geometry, strict=True
    ):
        tip = (
            f"建议新址 {rank}：新{cat.label_zh} · proposed site {rank}: a new "
            f"{words.lower_first(cat.label_en)}<br>+{words.residents(float(gain))} "
            f"({words.metres(layers.radius_m)})"
        )
        folium.Marker(
            show.latlon(geom.x, geom.y),
            icon=folium.DivIcon(
                html=f"<div class='lc-site'>{int(rank)}</div>",
                icon_size=(26, 26),
                icon_anchor=(13, 13),
            ),
            tooltip=tip,
            z_index_offset=1000,
        ).add_to(group)
    group.add_to(fmap)


def _legend(fmap: folium.Map, region: Region, layers: PlannerLayers) -> None:
    cat = region.standard.category(layers.category)
    Legend(
        html.escape(
            words.both(
                f"步行至最近的{cat.label_zh}",
                f"Walk to the nearest {words.lower_first(cat.label_en)}",
            )
        ),
        legend_sections(region, layers),
    ).add_to(fmap)
