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
from dataclasses import dataclass

import folium
import geopandas as gpd
import h3
import numpy as np
import shapely
from folium.plugins import MarkerCluster
from jinja2 import Template
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from livingcircle.data.demand import demand_for_region
from livingcircle.geo.demand import place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import DISTRICT
from livingcircle.geo.planning import PlannerTables, plan
from livingcircle.maps import words
from livingcircle.maps.base import (
    Display,
    Legend,
    LegendRow,
    Macro,
    Tiles,
    add_streets,
    base_map,
    finish,
    glyph,
)
from livingcircle.maps.offline import FONT_STACK, page
from livingcircle.maps.palette import (
    ALL_BANDS,
    GAP_COLOR,
    SCORE_CLASSES,
    UNREACHABLE,
    band_of,
    home_radius,
    score_color,
)

#: more homes than this are drawn as hexagons (a marker each would make the page too heavy)
MAX_HOME_MARKERS = 5_000
#: the most hexagons a district is cut into; the resolution is the finest that keeps to it
MAX_HEXAGONS = 3_000
MAX_GAP_LABELS = 12
DEFAULT_SITES = 3


@dataclass(frozen=True)
class PlannerLayers:
    """What the planner map paints, in lon/lat.

    Attributes
    ----------
    category, radius_m, speed_m_s
        The category mapped, its GB 50180 radius and the walking speed.
    streets
        Per band of :data:`ALL_BANDS`: street lines and their length in km.
    homes
        Points with ``population``, ``minutes`` and ``band``.
    hexagons
        H3 cells of the homes (``cell``, ``population``, ``minutes``: the residents' median,
        ``band``), or None when homes are drawn one by one.
    resolution
        The H3 resolution of ``hexagons``.
    gaps
        The category's gap areas (``population``, ``area_m2``...) from the analysis.
    sites
        Proposed sites of the category (``rank``, ``gain_population``, ``method`` if given).
    communities
        Community polygons with ``name`` and ``score`` (living-circle score 0..1), or None.
    facilities
        Facilities of the category in the region.
    covered_share
        Share of residents within the radius.
    source
        Where the homes came from.
    """

    category: str
    radius_m: float
    speed_m_s: float
    streets: list[tuple[BaseGeometry, float]]
    homes: gpd.GeoDataFrame
    hexagons: gpd.GeoDataFrame | None
    resolution: int
    gaps: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None
    facilities: int
    covered_share: float
    source: str


def planner_layers(
    region: Region,
    category: str,
    speed_m_s: float = 1.0,
    homes: gpd.GeoDataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
    hexagons: bool | None = None,
    n_sites: int = DEFAULT_SITES,
    result: PlannerTables | None = None,
    source: str = "",
) -> PlannerLayers:
    """Run the planner analysis for ``category`` (unless ``result`` is given) and lay it out.

    Parameters
    ----------
    region, category, speed_m_s
        What to map, at which walking speed.
    homes
        Homes in the demand schema (``read_homes``); every street node, one resident each,
        when None.
    communities
        Community polygons with a ``name`` column, to shade by living-circle score.
    hexagons
        Draw H3 hexagons (True), homes (False), or hexagons only when there are more than
        :data:`MAX_HOME_MARKERS` homes (None).
    n_sites
        Proposed new sites to number on the map.
    result
        An analysis already made (``livingcircle gaps``), with ``category`` in its focus.
    source
        Where the homes came from, for the legend.
    """
    region.standard.category(category)  # an unknown id fails before the work
    if result is None:
        frame, origin = demand_for_region(region, homes=homes, boundaries=communities)
        demand = place_demand(region.net, frame, region.max_snap_m)
        result = plan(region, demand, [category], n_sites, speed_m_s=speed_m_s)
        source = source or origin
    acc = result.analysis.access(category)
    points = _homes(result, category)
    street_nodes = homes is None and source.startswith("street nodes")
    use_hex = (street_nodes or len(points) > MAX_HOME_MARKERS) if hexagons is None else hexagons
    res = hex_resolution(region)
    cov = result.coverage
    row = cov[(cov["community"] == DISTRICT) & (cov["category"] == category)]
    return PlannerLayers(
        category,
        acc.radius_m,
        result.analysis.speed_m_s,
        street_bands(region, acc.node_m, result.analysis.speed_m_s),
        points,
        hexagon_cells(points, res) if use_hex else None,
        res,
        result.gaps[result.gaps["category"] == category].reset_index(drop=True),
        _sites(result, category),
        _scored(result, communities),
        int(np.sum(region.facilities.category == region.standard.category_index(category))),
        float(row["covered_share"].iloc[0]) if len(row) else math.nan,
        source,
    )


def _homes(result: PlannerTables, category: str) -> gpd.GeoDataFrame:
    """Demand points with population, minutes to the nearest and band."""
    frame = result.analysis.demand.frame
    mins = result.analysis.minutes_to(category)
    return gpd.GeoDataFrame(
        {"population": result.analysis.demand.population, "minutes": mins, "band": band_of(mins)},
        geometry=frame.geometry.to_numpy(),
        crs="EPSG:4326",
    )


def _sites(result: PlannerTables, category: str) -> gpd.GeoDataFrame:
    sites = result.sites
    if sites.empty or "category" not in sites:
        return sites
    return sites[sites["category"] == category].reset_index(drop=True)


def _scored(result: PlannerTables, communities: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Community polygons with their population-weighted living-circle score."""
    if communities is None or communities.empty:
        return None
    tiers = result.tiers
    score = tiers[tiers["requirement"] == "(score)"].set_index("community")["met_share"]
    out = communities[["name", "geometry"]].copy()
    out["score"] = out["name"].map(score).astype(float)
    return out


def street_bands(
    region: Region, node_m: NDArray[np.float64], speed_m_s: float
) -> list[tuple[BaseGeometry, float]]:
    """Per band of :data:`ALL_BANDS`: the streets whose middle is in it, and their km."""
    net = region.net
    mid = np.minimum(node_m[net.edge_u], node_m[net.edge_v]) + net.edge_length / 2
    band = band_of(mid / speed_m_s / 60)
    out = []
    for i in range(len(ALL_BANDS)):
        pick = np.flatnonzero(band == i)
        lines = region.unproject_geom(shapely.multilinestrings(net.edge_geom[pick]))
        out.append((lines, float(net.edge_length[pick].sum() / 1000)))
    return out


def hex_resolution(region: Region) -> int:
    """The finest H3 resolution (10 down to 7) cutting the district into few enough cells."""
    area_km2 = float(shapely.convex_hull(shapely.multipoints(region.net.node_xy)).area) / 1e6
    for res in (10, 9, 8):
        if area_km2 / h3.average_hexagon_area(res, "km^2") <= MAX_HEXAGONS:
            return res
    return 7


def hexagon_cells(homes: gpd.GeoDataFrame, resolution: int) -> gpd.GeoDataFrame:
    """H3 cells holding homes: residents, the residents' median minutes, its band."""
    lon, lat = homes.geometry.x.to_numpy(), homes.geometry.y.to_numpy()
    cells = np.array([h3.latlng_to_cell(y, x, resolution) for x, y in zip(lon, lat, strict=True)])
    mins = homes["minutes"].to_numpy(dtype=np.float64)
    pop = homes["population"].to_numpy(dtype=np.float64)
    order = np.lexsort((np.nan_to_num(mins, posinf=np.finfo(float).max), cells))
    cells, mins, pop = cells[order], mins[order], pop[order]
    keys, start = np.unique(cells, return_index=True)
    ends = np.append(start[1:], len(cells))
    total = np.add.reduceat(pop, start) if len(cells) else np.zeros(0)
    median = np.array(
        [_weighted_median(mins[a:b], pop[a:b]) for a, b in zip(start, ends, strict=True)]
    )
    shapes = [shapely.Polygon([(x, y) for y, x in h3.cell_to_boundary(c)]) for c in keys]
    return gpd.GeoDataFrame(
        {"cell": keys, "population": total, "minutes": median, "band": band_of(median)},
        geometry=shapes,
        crs="EPSG:4326",
    )


def _weighted_median(values: NDArray[np.float64], weights: NDArray[np.float64]) -> float:
    """The value half the weight lies at or below (values sorted ascending, inf last)."""
    cum = np.cumsum(weights)
    if cum[-1] <= 0:
        return float(values[len(values) // 2])
    return float(values[int(np.searchsorted(cum, cum[-1] / 2))])


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
    return draw(region, layers, offline, tiles)


def draw(
    region: Region, layers: PlannerLayers, offline: bool = False, tiles: Tiles = "osm"
) -> folium.Map:
    """The Folium map of laid-out planner layers."""
    show = Display(tiles)
    w, s, e, n = region.boundary.bounds
    fmap = base_map((w + e) / 2, (s + n) / 2, show, offline, zoom=14)
    fmap.options.update(zoom_snap=0.25, zoom_delta=0.5)  # fit the district, not a zoom step
    css = _CSS.replace("FONTS", FONT_STACK)
    page(fmap).header.add_child(folium.Element(f"<style>{css}</style>"), name="lc_plan")
    if offline:
        add_streets(
            fmap, region.unproject_geom(shapely.multilinestrings(region.net.edge_geom)), show
        )
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
    page(fmap).html.add_child(folium.Element(banner_html(region, layers)), name="lc_banner")
    folium.LayerControl(collapsed=True).add_to(fmap)
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
    pop = homes["population"].to_numpy(dtype=np.float64)
    mins = homes["minutes"].to_numpy(dtype=np.float64)
    home_markers(
        fmap,
        homes,
        show,
        [ALL_BANDS[int(b)].color for b in homes["band"]],
        [
            f"{words.residents(p)}<br>{_minutes_tip(float(m))}"
            for p, m in zip(pop, mins, strict=True)
        ],
        HomeStyle("居民住宅 · Homes", "#ffffff", 1.2, 0.85),
    )


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
    fac = region.facilities
    rows: NDArray[np.intp] = np.flatnonzero(
        fac.category == region.standard.category_index(category)
    )
    cluster = MarkerCluster(
        name=f"{cat.label_zh} · {cat.label_en} ({len(rows)})",
        options={"disableClusteringAtZoom": 16},
        icon_create_function=_CLUSTER_ICON,
    )
    letter = html.escape(glyph(cat))
    for (x, y), row in zip(show.xy(fac.anchor_lonlat[rows]).tolist(), rows, strict=True):
        name = html.escape(str(fac.text["name_zh"][row] or fac.text["name"][row] or cat.label_en))
        folium.Marker(
            [y, x],
            icon=folium.DivIcon(
                html=f"<div class='lc-facility'>{letter}</div>",
                icon_size=(20, 20),
                icon_anchor=(10, 10),
            ),
            tooltip=f"{name} · {html.escape(cat.label_zh)} · {html.escape(cat.label_en)}",
        ).add_to(cluster)
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


def legend_sections(region: Region, layers: PlannerLayers) -> list[tuple[str, list[LegendRow]]]:
    """The legend: headline, minutes on foot, residents, gaps, facilities, communities."""
    cat = region.standard.category(layers.category)
    head = []
    if not layers.facilities:
        head.append(
            LegendRow(
                html.escape(words.no_facility(cat.label_zh, cat.label_en)),
                "",
                "text",
                "lc-legend-row lc-legend-missing",
            )
        )
    else:
        share = words.percent(layers.covered_share)
        head.append(
            LegendRow(
                html.escape(
                    f"{layers.radius_m:.0f} 米内有{cat.label_zh}的居民：{share} · residents within "
                    f"{layers.radius_m:.0f} m of one: {share}"
                ),
                "",
                "text",
                "lc-legend-row lc-headline",
            )
        )
    kind = "box" if layers.hexagons is not None else "dot"
    speed = f"{layers.speed_m_s:g} m/s"
    bands = [
        LegendRow(html.escape(f"{b.label} ({km:.1f} km)"), b.color, kind, "lc-legend-band")
        for b, (_, km) in zip(ALL_BANDS, layers.streets, strict=True)
    ]
    sections = [
        ("", head),
        (
            html.escape(words.both(f"步行时间（{speed}）", f"Minutes on foot at {speed}"))
            + "<br><small>（括号内为街道长度 · street length in brackets）</small>",
            bands,
        ),
        (html.escape(words.both("居民", "Residents")), _resident_rows(layers)),
    ]
    marks = []
    if layers.facilities:
        marks.append(
            LegendRow(
                html.escape(
                    words.both(
                        f"超出 {layers.radius_m:.0f} 米的缺口（标注居民数）",
                        f"gap beyond {layers.radius_m:.0f} m, labelled with its residents",
                    )
                ),
                GAP_COLOR,
                "outline",
                "lc-legend-gap",
            )
        )
    marks.append(
        LegendRow(
            html.escape(f"{cat.label_zh} · {cat.label_en} ({layers.facilities})"),
            "",
            "badge",
            "lc-legend-row lc-legend-facility",
            badge=f"<span class='lc-facility'>{html.escape(glyph(cat))}</span>",
        )
    )
    if not layers.sites.empty:
        marks.append(
            LegendRow(
                html.escape(words.both("建议新址（按优先顺序）", "proposed new sites, in order")),
                "",
                "badge",
                "lc-legend-row lc-legend-site",
                badge="<span class='lc-site'>1</span>",
            )
        )
    sections.append((html.escape(words.both("缺口与设施", "Gaps and facilities")), marks))
    if layers.communities is not None:
        sections.append(
            (
                html.escape(words.both("社区生活圈得分", "Community living-circle score")),
                _score_rows(),
            )
        )
    return sections


def _resident_rows(layers: PlannerLayers) -> list[LegendRow]:
    source = html.escape(f"数据来源 · from: {layers.source}") if layers.source else ""
    if layers.hexagons is not None:
        rows = [
            LegendRow(
                html.escape(
                    words.both(
                        f"H3 六边形（分辨率 {layers.resolution}），颜色越深居民越多",
                        f"H3 hexagons (resolution {layers.resolution}): stronger colour, "
                        "more residents; "
                        "colour: the residents' median time",
                    )
                ),
                "",
                "badge",
                "lc-legend-row",
                badge="<span class='lc-swatch' style='width:28px;height:14px;background:"
                "linear-gradient(90deg,#56B4E94d,#56B4E9)'></span>",
            )
        ]
    else:
        pop = layers.homes["population"].to_numpy(dtype=np.float64)
        top = float(pop.max()) if len(pop) else 1.0
        low = float(pop.min()) if len(pop) else 0.0
        sizes = [top] if top <= 1.5 * low else _nice_sizes(top)
        rows = [
            LegendRow(
                html.escape(words.residents(v)),
                "",
                "badge",
                "lc-legend-row",
                badge=_size_badge(float(home_radius(np.array([v]), top, low)[0])),
            )
            for v in sizes
        ]
    if source:
        rows.append(LegendRow(source, "", "text"))
    return rows


def _size_badge(radius: float) -> str:
    d = round(2 * radius)
    return (
        f"<span class='lc-swatch' style='width:{d}px;height:{d}px;border-radius:50%;"
        f"border:1.5px solid #333;background:#ffffff'></span>"
    )


def _nice_sizes(top: float) -> list[float]:
    """Two or three round numbers of residents up to ``top`` for the size key."""
    if top < 1:
        return [top]
    big = 10 ** math.floor(math.log10(top))
    big = max(v * big for v in (1, 2, 5) if v * big <= top)
    return sorted(
        {big, max(big / 10, 1.0), max(big / 100, 1.0)} if big >= 100 else {big, max(big / 10, 1.0)}
    )


def _score_rows() -> list[LegendRow]:
    labels = {
        0.8: "80% 以上 · 80% or more",
        0.6: "60–80%",
        0.4: "40–60%",
        0.0: "40% 以下 · under 40%",
    }
    return [
        LegendRow(html.escape(labels[low]), color, "box", "lc-legend-row lc-legend-score")
        for low, color in SCORE_CLASSES
    ]
