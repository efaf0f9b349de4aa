"""The gaps report's maps, drawn as SVG: streets, homes, labelled gaps, numbered sites.

Homes are coloured by minutes on foot and sized by residents, gap areas are outlined and the
largest labelled with their residents, proposed sites are numbered, communities are shaded by
their living-circle score, and a scale bar is drawn under the map. The legend is the
report's (:func:`livingcircle.maps.report_text.key_rows`), set beside the map.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from livingcircle.geo.engine import Region
from livingcircle.geo.planning import PlannerTables
from livingcircle.maps import words
from livingcircle.maps.palette import ALL_BANDS, GAP_COLOR, band_of, home_radius, score_color

_WIDTH = 900
_MAX_EDGES = 60_000  # more streets than this make a map too heavy to open: thin them
SITE_INK = "#000000"


@dataclass(frozen=True)
class _Frame:
    """Metric coordinates to SVG pixels."""

    lo: np.ndarray
    hi: np.ndarray
    scale: float

    def xy(self, coords: np.ndarray) -> np.ndarray:
        return np.column_stack(
            [
                (coords[:, 0] - self.lo[0]) * self.scale + 10,
                (self.hi[1] - coords[:, 1]) * self.scale + 10,
            ]
        )

    @property
    def box(self) -> shapely.Geometry:
        """The frame's area in metric coordinates."""
        return shapely.box(self.lo[0], self.lo[1], self.hi[0], self.hi[1])

    @property
    def height(self) -> int:
        return int((self.hi[1] - self.lo[1]) * self.scale) + 20


def map_svg(
    result: PlannerTables,
    region: Region,
    category: str | None = None,
    communities: gpd.GeoDataFrame | None = None,
) -> str:
    """Streets, homes by minutes and residents, labelled gaps and numbered sites (SVG).

    The map shows the first focus category unless ``category`` is given; its legend is the
    report's (:func:`livingcircle.maps.report_text.key_rows`), set beside it in HTML.
    """
    cat = category or (result.focus[0] if result.focus else None)
    net = region.net
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    frame = _Frame(lo, hi, _WIDTH / max(float((hi - lo).max()), 1.0))
    body = [_svg_communities(result, region, frame, communities), _svg_streets(region, frame)]
    if cat is not None:
        body += [
            _svg_gaps(result, region, frame, cat),
            _svg_homes(result, region, frame, cat),
            _svg_facilities(region, frame, cat),
            _svg_sites(result, region, frame, cat),
            _svg_gap_labels(result, region, frame, cat),
        ]
        label = region.standard.category(cat)
        body.insert(0, f"<title>{html.escape(words.both(label.label_zh, label.label_en))}</title>")
    body.append(_svg_scale(frame))
    h = frame.height + 30
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_WIDTH + 20}' height='{h}' "
        f"viewBox='0 0 {_WIDTH + 20} {h}' font-family='sans-serif'>" + "".join(body) + "</svg>"
    )


def _metric(region: Region, geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda c: region.project(c[:, 0], c[:, 1]))


def _svg_streets(region: Region, frame: _Frame) -> str:
    net = region.net
    edges = np.arange(net.n_edges)
    if len(edges) > _MAX_EDGES:
        edges = edges[:: int(np.ceil(len(edges) / _MAX_EDGES))]
    return (
        f"<path d='{_path(net.edge_geom[edges], frame.xy)}' stroke='#9a9a9a' fill='none' "
        "stroke-width='1'/>"
    )


def _svg_communities(
    result: PlannerTables, region: Region, frame: _Frame, communities: gpd.GeoDataFrame | None
) -> str:
    if communities is None or communities.empty:
        return ""
    tiers = result.tiers
    score = tiers[tiers["requirement"] == "(score)"].set_index("community")["met_share"]
    out = []
    for name, geom in zip(communities["name"], communities.geometry, strict=True):
        s = float(score.get(name, math.nan))
        rings = _rings(_metric(region, geom))
        out.append(
            f"<path d='{_path(rings, frame.xy, True)}' fill='{score_color(s)}' "
            "fill-opacity='0.6' stroke='#333' stroke-width='1.5' fill-rule='evenodd'/>"
        )
        inside = _metric(region, geom).intersection(frame.box)
        spot = (inside if not inside.is_empty else _metric(region, geom)).representative_point()
        c = frame.xy(np.array(spot.coords))[0]
        text = f"{name} {words.percent(s)}" if math.isfinite(s) else str(name)
        out.append(_svg_text(c[0], c[1], text, 17, "#333"))
    return "".join(out)


def _rings(geom: shapely.Geometry) -> np.ndarray:
    return np.array(
        [r for p in shapely.get_parts(geom) for r in [p.exterior, *p.interiors]], dtype=object
    )


def _gaps_of(result: PlannerTables, cat: str) -> gpd.GeoDataFrame:
    """Gap areas holding residents; none where the category has no facility (all is gap)."""
    gaps = result.gaps
    if not np.isfinite(result.analysis.access(cat).node_m).any():
        return gaps.iloc[:0]
    return gaps[(gaps["category"] == cat) & (gaps["population"] >= 0.5)]


def _svg_gaps(result: PlannerTables, region: Region, frame: _Frame, cat: str) -> str:
    out = []
    for geom in _gaps_of(result, cat).geometry:
        out.append(
            f"<path d='{_path(_rings(_metric(region, geom)), frame.xy, True)}' "
            f"stroke='{GAP_COLOR}' fill='{GAP_COLOR}' fill-opacity='0.08' "
            "fill-rule='evenodd' stroke-width='2' stroke-dasharray='7 4'/>"
        )
    return "".join(out)


def _svg_gap_labels(result: PlannerTables, region: Region, frame: _Frame, cat: str) -> str:
    out = []
    for pop, geom in list(
        zip(_gaps_of(result, cat)["population"], _gaps_of(result, cat).geometry, strict=True)
    )[:3]:
        c = frame.xy(np.array(_metric(region, geom.representative_point()).coords))[0]
        out.append(_svg_text(c[0], c[1], words.residents(float(pop)), 18, "#1d1d1d", box=GAP_COLOR))
    return "".join(out)


def _svg_homes(result: PlannerTables, region: Region, frame: _Frame, cat: str) -> str:
    a = result.analysis
    mins = a.minutes_to(cat)
    pop = a.demand.population
    xy = frame.xy(
        region.project(a.demand.frame.geometry.x.to_numpy(), a.demand.frame.geometry.y.to_numpy())
    )
    radius = (
        home_radius(
            pop, float(pop.max()) if len(pop) else 1.0, float(pop.min()) if len(pop) else 0.0
        )
        * 0.8
    )
    band = band_of(mins)
    order = np.argsort(-pop, kind="stable")[:20_000]
    return "".join(
        f"<circle cx='{xy[i, 0]:.1f}' cy='{xy[i, 1]:.1f}' r='{radius[i]:.1f}' "
        f"fill='{ALL_BANDS[band[i]].color}' fill-opacity='0.85' stroke='#fff' "
        "stroke-width='1'/>"
        for i in order.tolist()
    )


def _svg_facilities(region: Region, frame: _Frame, cat: str) -> str:
    fac = region.facilities
    rows = np.flatnonzero(fac.category == region.standard.category_index(cat))
    if not len(rows):
        return ""
    lonlat = fac.anchor_lonlat[rows]
    xy = frame.xy(region.project(lonlat[:, 0], lonlat[:, 1]))
    return "".join(
        f"<rect x='{x - 6:.1f}' y='{y - 6:.1f}' width='12' height='12' rx='2' "
        "fill='#000' stroke='#fff' stroke-width='2'/>"
        for x, y in xy.tolist()
    )


def _svg_sites(result: PlannerTables, region: Region, frame: _Frame, cat: str) -> str:
    sites = result.sites
    if sites.empty:
        return ""
    sites = sites[sites["category"] == cat]
    if "method" in sites:
        sites = sites[sites["method"] == sites["method"].iloc[0]] if len(sites) else sites
    out = []
    for rank, geom in zip(sites["rank"], sites.geometry, strict=True):
        px, py = frame.xy(region.project(geom.x, geom.y))[0]
        out.append(
            f"<circle cx='{px:.1f}' cy='{py:.1f}' r='11' fill='#fff' stroke='{SITE_INK}'"
            f" stroke-width='3'/><text x='{px:.1f}' y='{py + 5:.1f}' font-size='14' "
            f"font-weight='700' text-anchor='middle'>{int(rank)}</text>"
        )
    return "".join(out)


def _svg_text(x: float, y: float, text: str, size: int, color: str, box: str = "") -> str:
    width = size * (
        0.62 * len(text.encode("ascii", "ignore")) + 1.0 * sum(1 for ch in text if ord(ch) > 0x2E80)
    )
    rect = (
        f"<rect x='{x - width / 2 - 5:.1f}' y='{y - size:.1f}' width='{width + 10:.1f}' "
        f"height='{size * 1.5:.1f}' rx='5' fill='#fff' stroke='{box}' stroke-width='2'/>"
        if box
        else ""
    )
    halo = "" if box else " stroke='#fff' stroke-width='3' paint-order='stroke'"
    return (
        f"{rect}<text x='{x:.1f}' y='{y + size * 0.15:.1f}' font-size='{size}' "
        f"font-weight='700' fill='{color}' text-anchor='middle'{halo}>"
        f"{html.escape(text)}</text>"
    )


def _svg_scale(frame: _Frame) -> str:
    metres = _nice(200 / frame.scale)
    px = metres * frame.scale
    y = frame.height + 12
    label = words.metres(metres)
    return (
        f"<path d='M10 {y}h{px:.1f}' stroke='#000' stroke-width='3'/>"
        f"<text x='{14 + px:.1f}' y='{y + 4}' font-size='12'>{html.escape(label)}</text>"
    )


def _nice(metres: float) -> float:
    step = 10.0 ** math.floor(math.log10(max(metres, 1.0)))
    return max(v * step for v in (1, 2, 5) if v * step <= max(metres, 1.0))


def _path(geoms: np.ndarray, xy: Callable[[np.ndarray], np.ndarray], close: bool = False) -> str:
    if len(geoms) == 0:
        return ""
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    pts = xy(coords)
    first = np.ones(len(owner), dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    cmd = np.where(first, "ZM" if close else "M", "L")
    out = "".join(f"{c}{x:.1f} {y:.1f}" for c, (x, y) in zip(cmd, pts, strict=True))
    return (out[1:] + "Z") if close else out
