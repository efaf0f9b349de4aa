"""A short planner's report of the gap analysis: Markdown or HTML, tables and a map.

The map is a plain SVG drawn from the analysis (streets coloured by minutes to the nearest
facility of the first focus category, gap areas outlined, suggested sites numbered), so the
report opens anywhere without a network connection or a JavaScript library. The interactive
planner map is ``livingcircle map planner``.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import DISTRICT
from livingcircle.geo.planning import PlannerTables

#: minutes on foot: upper bound of each colour band (as the planner map's)
BANDS = ((5, "#1a9850"), (10, "#a6d96a"), (15, "#fdae61"), (float("inf"), "#d7191c"))
GAP_COLOR = "#7b3294"
SITE_COLOR = "#08519c"
_MAX_EDGES = 60_000  # more streets than this make a map too heavy to open: thin them
_WIDTH = 900


def write_report(result: PlannerTables, region: Region, path: Path, source: str = "") -> Path:
    """Write ``path`` (.md or .html); a Markdown report gets its map as ``NAME.map.svg``."""
    svg = map_svg(result, region)
    if path.suffix.lower() == ".md":
        map_file = path.with_name(f"{path.stem}.map.svg")
        map_file.write_text(svg, encoding="utf-8")
        path.write_text(_markdown(result, map_file.name, source), encoding="utf-8")
    else:
        path.write_text(_html(result, svg, source), encoding="utf-8")
    return path


def summary_tables(result: PlannerTables) -> dict[str, pd.DataFrame]:
    """The report's tables: coverage per focus category, the tiers, gaps, sites."""
    cov = result.coverage
    district = cov[cov["community"] == DISTRICT].copy()
    district = district[district["category"].isin(result.focus)]
    coverage = pd.DataFrame({
        "category": district["category"], "radius m": district["radius_m"].round(0),
        "residents": district["population"].round(0),
        "covered %": (100 * district["covered_share"]).round(1),
        "within 15 min %": (100 * district["within_share"]).round(1),
        "mean minutes": district["mean_minutes"].round(1)})
    tiers = result.tiers
    tiers = tiers[(tiers["community"] == DISTRICT)]
    tier_table = pd.DataFrame({
        "tier (min)": tiers["tier_minutes"], "requirement": tiers["requirement"],
        "met %": (100 * tiers["met_share"]).round(1)})
    by_comm = cov[(cov["community"] != DISTRICT) & cov["category"].isin(result.focus)]
    communities = by_comm.pivot_table(index="community", columns="category",
                                      values="covered_share").mul(100).round(1) \
        if len(by_comm) else pd.DataFrame()
    gaps = result.gaps.sort_values("population", ascending=False).head(15)
    gap_table = pd.DataFrame({"category": gaps["category"],
                              "residents": gaps["population"].round(0),
                              "homes": gaps["points"], "area ha": (gaps["area_m2"] / 1e4).round(1),
                              "street km": gaps["street_km"].round(2)})
    sites = result.sites
    site_table = pd.DataFrame({
        "category": sites.get("category", []), "rank": sites.get("rank", []),
        "newly covered": sites.get("gain_population", pd.Series(dtype=float)).round(0),
        "lon": sites.geometry.x.round(6) if len(sites) else [],
        "lat": sites.geometry.y.round(6) if len(sites) else []})
    out = {"Coverage of the district (GB 50180 radius)": coverage,
           "GB 50180 requirements met (share of residents)": tier_table,
           "Largest gaps": gap_table, "Where to build next (greedy, one after another)":
           site_table}
    if len(communities):
        out["Covered % per community"] = communities.reset_index()
    return out


def _markdown(result: PlannerTables, map_name: str, source: str) -> str:
    a = result.analysis
    lines = [f"# Living-circle gaps: {a.region}", "",
             f"{len(a.demand):,} demand points, {a.demand.population.sum():,.0f} residents"
             f"{f' ({source})' if source else ''}; walking {a.speed_m_s:g} m/s; "
             f"{a.demand.dropped:,} points too far from a street left out.", "",
             f"![map]({map_name})", ""]
    for title, table in summary_tables(result).items():
        lines += [f"## {title}", "", _md_table(table), ""]
    return "\n".join(lines)


def _md_table(table: pd.DataFrame) -> str:
    if table.empty:
        return "(none)"
    cells = [[str(c) for c in table.columns]] + [
        ["" if (isinstance(v, float) and np.isnan(v)) else str(v) for v in row]
        for row in table.itertuples(index=False)]
    head = "| " + " | ".join(cells[0]) + " |"
    rule = "|" + "|".join("---" for _ in cells[0]) + "|"
    return "\n".join([head, rule, *("| " + " | ".join(r) + " |" for r in cells[1:])])


def _html(result: PlannerTables, svg: str, source: str) -> str:
    a = result.analysis
    parts = [f"<h1>Living-circle gaps: {html.escape(a.region)}</h1>",
             f"<p>{len(a.demand):,} demand points, {a.demand.population.sum():,.0f} residents"
             f"{html.escape(f' ({source})') if source else ''}; walking {a.speed_m_s:g} m/s."
             "</p>", svg]
    for title, table in summary_tables(result).items():
        parts += [f"<h2>{html.escape(title)}</h2>",
                  table.to_html(index=False, na_rep="", border=0) if len(table) else
                  "<p>(none)</p>"]
    style = ("body{font-family:sans-serif;max-width:960px;margin:auto}table{border-collapse:"
             "collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Gaps "
            f"{html.escape(a.region)}</title><style>{style}</style></head><body>"
            + "\n".join(parts) + "</body></html>")


def map_svg(result: PlannerTables, region: Region) -> str:
    """Streets by minutes to the first focus category, gap areas, numbered sites (SVG)."""
    net = region.net
    lo, hi = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    scale = _WIDTH / max(float((hi - lo).max()), 1.0)
    height = int((hi[1] - lo[1]) * scale) + 20

    def xy(coords: np.ndarray) -> np.ndarray:
        return np.column_stack([(coords[:, 0] - lo[0]) * scale + 10,
                                (hi[1] - coords[:, 1]) * scale + 10])

    body = []
    if result.focus:
        cat = result.focus[0]
        node_m = result.analysis.categories[cat].node_m
        mid = np.minimum(node_m[net.edge_u], node_m[net.edge_v]) + net.edge_length / 2
        minutes = mid / result.analysis.speed_m_s / 60
        edges = np.arange(net.n_edges)
        if len(edges) > _MAX_EDGES:
            edges = edges[:: int(np.ceil(len(edges) / _MAX_EDGES))]
        low = 0.0
        for high, color in BANDS:
            pick = edges[(minutes[edges] >= low) & (minutes[edges] < high)]
            body.append(f"<path d='{_path(net.edge_geom[pick], xy)}' stroke='{color}' "
                        "fill='none' stroke-width='1.2'/>")
            low = high
        gaps = result.gaps[result.gaps["category"] == cat]
        for geom in gaps.geometry:
            metric = shapely.transform(geom, lambda c: region.project(c[:, 0], c[:, 1]))
            rings = [r for p in shapely.get_parts(metric)
                     for r in [p.exterior, *p.interiors]]
            body.append(f"<path d='{_path(np.array(rings, dtype=object), xy, True)}' "
                        f"stroke='{GAP_COLOR}' fill='{GAP_COLOR}' fill-opacity='0.15' "
                        "fill-rule='evenodd' "
                        "stroke-width='1.5'/>")
        sites = result.sites[result.sites["category"] == cat] if len(result.sites) else \
            result.sites
        for rank, geom in zip(sites.get("rank", []), sites.geometry, strict=True):
            px, py = xy(region.project(geom.x, geom.y))[0]
            body.append(f"<circle cx='{px:.1f}' cy='{py:.1f}' r='9' fill='{SITE_COLOR}'/>"
                        f"<text x='{px:.1f}' y='{py + 4:.1f}' font-size='11' fill='white' "
                        f"text-anchor='middle'>{rank}</text>")
        title = (f"Minutes on foot to the nearest {cat}: green under 5, light green 5-10, "
                 f"orange 10-15, red over 15; purple: beyond its radius; blue: new sites")
        body.insert(0, f"<title>{html.escape(title)}</title>")
        body.append(f"<text x='10' y='{height - 4}' font-size='12'>{html.escape(title)}</text>")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{_WIDTH + 20}' "
            f"height='{height + 14}' viewBox='0 0 {_WIDTH + 20} {height + 14}'>"
            + "".join(body) + "</svg>")


def _path(geoms: np.ndarray, xy: object, close: bool = False) -> str:
    if len(geoms) == 0:
        return ""
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    pts = xy(coords)  # type: ignore[operator]
    first = np.ones(len(owner), dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    cmd = np.where(first, "ZM" if close else "M", "L")
    out = "".join(f"{c}{x:.1f} {y:.1f}" for c, (x, y) in zip(cmd, pts, strict=True))
    return (out[1:] + "Z") if close else out
