"""The planner's report of the gap analysis: HTML, PDF (printed by Chromium) or Markdown.

Bilingual, 中文 first: category and requirement labels instead of ids, numbers as people write
them (38,000 residents; 12.5 min; 45%), the standard's requirements the region has no
facility for said in words, a ranked list of where to build (residents gained and tiers
completed per site, and the siting method when sites carry one), and maps drawn as SVG with
their legends (streets, homes coloured by minutes and sized by residents, gap areas labelled
with their residents, numbered sites). Every format has the same sections
(:data:`SECTIONS`). The interactive planner map is ``livingcircle map planner``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import DISTRICT
from livingcircle.geo.planning import PlannerTables
from livingcircle.geo.recommend import site_effects
from livingcircle.geo.siting_compare import shortfall
from livingcircle.geo.standards import Standard
from livingcircle.maps import words
from livingcircle.maps.palette import ALL_BANDS, GAP_COLOR, band_of, home_radius, score_color

#: the report's sections, in order: (anchor, 中文, English)
SECTIONS = (
    ("summary", "摘要", "Summary"),
    ("missing", "区域内没有的设施", "Facilities the region has none of"),
    ("recommendations", "建议新建的设施", "Recommendations: where to build next"),
    ("maps", "地图", "Maps"),
    ("coverage", "各类设施的覆盖情况", "Coverage per facility"),
    ("tiers", "GB 50180 生活圈达标情况", "GB 50180 living-circle requirements met"),
    ("communities", "各社区", "Communities"),
    ("gaps", "最大的缺口", "Largest gaps"),
    ("method", "方法与数据", "Method and data"),
)
METHODS = {
    "greedy": ("贪心算法", "greedy"),
    "mclp": ("最大覆盖模型", "maximal coverage (MCLP)"),
    "p-median": ("P 中位模型", "p-median"),
    "p_median": ("P 中位模型", "p-median"),
    "pmedian": ("P 中位模型", "p-median"),
}
MAX_MAPS = 3
MAX_RECOMMENDATIONS = 10
MAX_GAPS = 10
_WIDTH = 900
_MAX_EDGES = 60_000  # more streets than this make a map too heavy to open: thin them
SITE_INK = "#000000"


def title(anchor: str) -> str:
    """A section's heading, ``中文 · English``."""
    zh, en = next((z, e) for a, z, e in SECTIONS if a == anchor)
    return words.both(zh, en)


@dataclass(frozen=True)
class ReportData:
    """What the report says, worked out once for every format."""

    region: str
    result: PlannerTables
    standard: Standard
    counts: dict[str, int]
    effects: pd.DataFrame
    source: str
    maps: list[tuple[str, str]]  # category, SVG
    communities: gpd.GeoDataFrame | None


def report_data(
    result: PlannerTables,
    region: Region,
    source: str = "",
    communities: gpd.GeoDataFrame | None = None,
) -> ReportData:
    """Everything the report needs: counts, site effects and the maps."""
    codes = np.bincount(region.facilities.category, minlength=len(region.standard.category_ids))
    counts = {c: int(codes[i]) for i, c in enumerate(region.standard.category_ids)}
    effects = site_effects(region, result.analysis, result.sites)
    cats = map_categories(result)
    maps = [(c, map_svg(result, region, c, communities)) for c in cats]
    return ReportData(
        result.analysis.region, result, region.standard, counts, effects, source, maps, communities
    )


def map_categories(result: PlannerTables) -> list[str]:
    """The focus categories worth a map: most residents beyond the radius first."""
    cov = result.coverage
    district = cov[(cov["community"] == DISTRICT) & cov["category"].isin(result.focus)]
    uncovered = (district["population"] - district["covered_population"]).to_numpy()
    order = np.argsort(-uncovered, kind="stable")
    return [str(district["category"].iloc[i]) for i in order[:MAX_MAPS]]


def write_report(
    result: PlannerTables,
    region: Region,
    path: Path,
    source: str = "",
    communities: gpd.GeoDataFrame | None = None,
) -> Path:
    """Write ``path``: .html, .pdf or .md (a Markdown report's maps go beside it as SVG)."""
    data = report_data(result, region, source, communities)
    suffix = path.suffix.lower()
    if suffix == ".md":
        path.write_text(markdown(data, path.stem), encoding="utf-8")
        for i, (_, svg) in enumerate(data.maps, start=1):
            path.with_name(_map_name(path.stem, i)).write_text(svg, encoding="utf-8")
    elif suffix == ".pdf":
        from livingcircle.maps.pdf import print_pdf  # noqa: PLC0415  (Playwright only for PDFs)

        print_pdf(page(data, fonts=True), path)
    else:
        path.write_text(page(data), encoding="utf-8")
    return path


def _map_name(stem: str, i: int) -> str:
    return f"{stem}.map.svg" if i == 1 else f"{stem}.map{i}.svg"


# --- what the report says ----------------------------------------------------------------


def summary_lines(data: ReportData) -> list[str]:
    """The summary, one sentence a line."""
    a = data.result.analysis
    total = float(a.demand.population.sum())
    tiers = data.result.tiers
    district = tiers[tiers["community"] == DISTRICT]
    score = district[district["requirement"] == "(score)"]["met_share"]
    lines = [
        words.both(
            f"分析了 {words.people(total)} 位居民（{len(a.demand):,} 个住址）",
            f"{words.people(total)} residents analysed ({len(a.demand):,} homes)",
        ),
        words.both(f"步行速度 {a.speed_m_s:g} 米/秒", f"walking at {a.speed_m_s:g} m/s"),
    ]
    if len(score):
        s = words.percent(float(score.iloc[0]))
        lines.append(
            words.both(
                f"平均生活圈得分 {s}（满足 GB 50180 要求的比例）",
                f"mean living-circle score {s} (share of the GB 50180 "
                "requirements met, weighted by residents)",
            )
        )
    for tier in data.standard.tiers:
        row = district[
            (district["tier_minutes"] == tier.minutes) & (district["requirement"] == "(all)")
        ]
        if len(row):
            s = words.percent(float(row["met_share"].iloc[0]))
            lines.append(
                words.both(
                    f"{tier.label_zh}完整达标的居民 {s}",
                    f"residents whose {tier.label_en} is complete: {s}",
                )
            )
    if a.demand.dropped:
        lines.append(
            words.both(
                f"{a.demand.dropped:,} 个住址离街道太远，未计入",
                f"{a.demand.dropped:,} homes too far from a street left out",
            )
        )
    return lines


def missing_lines(data: ReportData) -> list[str]:
    """Sentences for each requirement (and focus category) the region has no facility for."""
    lines = [
        words.no_facility(r.label_zh, r.label_en)
        for r in words.missing_requirements(data.standard, data.counts)
    ]
    named = {
        c
        for t in data.standard.tiers
        for r in t.requirements
        for c in r.categories
        if all(data.counts.get(x, 0) == 0 for x in r.categories)
    }
    for c in data.result.focus:
        if data.counts.get(c, 0) == 0 and c not in named:
            cat = data.standard.category(c)
            lines.append(words.no_facility(cat.label_zh, cat.label_en))
    return lines


@dataclass(frozen=True)
class Recommendation:
    """One proposed site, as the report lists it."""

    category: str
    rank: int
    method: str
    lon: float
    lat: float
    gained: float
    tiers: list[tuple[int, float]]  # tier minutes, residents completing it


def recommendations(data: ReportData) -> dict[str, list[Recommendation]]:
    """Per siting method: the sites ranked by residents gained (a category's order kept)."""
    sites = data.result.sites
    if sites.empty:
        return {}
    methods = (
        sites["method"].astype(str) if "method" in sites else pd.Series("greedy", index=sites.index)
    )
    out: dict[str, list[Recommendation]] = {}
    minutes = [t.minutes for t in data.standard.tiers]
    for i in sites.index:
        gain = (
            sites.at[i, "gain_population"]
            if "gain_population" in sites
            else data.effects.at[i, "gain_population"]
        )
        geom = sites.geometry[i]
        tiers = [
            (m, float(data.effects.at[i, f"tier_{m}min"]))
            for m in minutes
            if data.effects.at[i, f"tier_{m}min"] >= 0.5
        ]
        out.setdefault(methods[i], []).append(
            Recommendation(
                str(sites.at[i, "category"]),
                int(sites.at[i, "rank"]),
                methods[i],
                geom.x,
                geom.y,
                float(gain),
                tiers,
            )
        )
    return {
        m: sorted(recs, key=lambda r: (-r.gained, r.category, r.rank))[:MAX_RECOMMENDATIONS]
        for m, recs in out.items()
    }


def method_label(method: str) -> str:
    """``贪心算法 · greedy``."""
    zh, en = METHODS.get(method.lower(), (method, method))
    return words.both(zh, en)


def summary_tables(result: PlannerTables) -> dict[str, pd.DataFrame]:
    """The report's tables, written as the report writes them (labels, rounded numbers)."""
    standard = result.analysis.standard
    out = {
        title("coverage"): coverage_table(result, standard),
        title("tiers"): tier_table(result, standard),
    }
    comm = community_table(result, standard)
    if len(comm):
        out[title("communities")] = comm
    out[title("gaps")] = gap_table(result, standard)
    return out


def coverage_table(result: PlannerTables, standard: Standard) -> pd.DataFrame:
    """Per focus category: radius, residents covered, within 15 minutes, mean walk."""
    cov = result.coverage
    d = cov[(cov["community"] == DISTRICT) & cov["category"].isin(result.focus)]
    longest = max(result.analysis.minutes)
    none = [
        result.analysis.access(c).node_m.size > 0
        and not np.isfinite(result.analysis.access(c).node_m).any()
        for c in d["category"]
    ]
    return pd.DataFrame(
        {
            "设施 · Facility": [words.category_label(standard.category(c)) for c in d["category"]],
            "服务半径 · Radius": [words.metres(r) for r in d["radius_m"]],
            "半径内的居民 · Residents within it": [
                "没有 · none in region" if n else f"{words.percent(s)} ({words.people(p)})"
                for s, p, n in zip(d["covered_share"], d["covered_population"], none, strict=True)
            ],
            f"{longest} 分钟内 · Within {longest} min": [
                words.percent(s) for s in d["within_share"]
            ],
            "平均步行（分钟）· Mean walk (min)": [words.minutes(m) for m in d["mean_minutes"]],
            "无法到达 · Unreachable": [words.people(p) for p in d["unreachable_population"]],
        }
    )


def tier_table(result: PlannerTables, standard: Standard) -> pd.DataFrame:
    """Per tier and requirement: the share of residents for whom it is met."""
    tiers = result.tiers
    t = tiers[(tiers["community"] == DISTRICT) & (tiers["tier_minutes"] > 0)]
    tier_label = {x.minutes: words.both(x.label_zh, x.label_en) for x in standard.tiers}
    req_label = {
        r.id: words.both(r.label_zh, r.label_en) for x in standard.tiers for r in x.requirements
    }
    req_label["(all)"] = words.both("整级完整", "the whole tier")
    return pd.DataFrame(
        {
            "生活圈 · Tier": [tier_label.get(m, str(m)) for m in t["tier_minutes"]],
            "要求 · Requirement": [req_label.get(r, r) for r in t["requirement"]],
            "距离 · Distance": [
                "–" if not math.isfinite(r) else words.metres(r) for r in t["radius_m"]
            ],
            "达标居民 · Residents meeting it": [words.percent(s) for s in t["met_share"]],
        }
    )


def community_table(result: PlannerTables, standard: Standard) -> pd.DataFrame:
    """Per community: residents, living-circle score, covered share per focus category."""
    tiers, cov = result.tiers, result.coverage
    score = tiers[(tiers["requirement"] == "(score)") & (tiers["community"] != DISTRICT)]
    if score.empty:
        return pd.DataFrame()
    out = pd.DataFrame(
        {
            "社区 · Community": score["community"].to_numpy(),
            "居民 · Residents": [words.people(p) for p in score["population"]],
            "生活圈得分 · Score": [words.percent(s) for s in score["met_share"]],
        }
    )
    for c in result.focus[:4]:
        rows = cov[(cov["category"] == c)].set_index("community")["covered_share"]
        label = standard.category(c)
        out[words.both(label.label_zh, label.label_en)] = [
            words.percent(float(rows.get(n, math.nan))) for n in score["community"]
        ]
    return out


def gap_table(result: PlannerTables, standard: Standard) -> pd.DataFrame:
    """The gap areas holding the most residents."""
    gaps = result.gaps
    gaps = gaps[gaps["population"] >= 0.5].sort_values("population", ascending=False)
    gaps = gaps.head(MAX_GAPS)
    return pd.DataFrame(
        {
            "设施 · Facility": [
                words.category_label(standard.category(c)) for c in gaps["category"]
            ],
            "居民 · Residents": [words.people(p) for p in gaps["population"]],
            "住址 · Homes": [f"{int(n):,}" for n in gaps["points"]],
            "面积（公顷）· Area (ha)": [
                f"{a / 1e4:,.0f}" if a >= 1e5 else f"{a / 1e4:.1f}" for a in gaps["area_m2"]
            ],
            "街道（公里）· Street (km)": [
                f"{k:.0f}" if k >= 10 else f"{k:.1f}" for k in gaps["street_km"]
            ],
        }
    )


def method_lines(data: ReportData) -> list[str]:
    """How the figures were made."""
    a = data.result.analysis
    lines = [
        words.both(
            "步行距离沿真实街道网络计算，住址与设施吸附到最近的可步行街道",
            "walks follow the street network; homes and facilities join their "
            "nearest walkable street",
        ),
        words.both(
            "服务半径取自 GB 50180-2018（可在标准文件中修改）",
            "service radii from GB 50180-2018 (editable in the standards file)",
        ),
        words.both(
            f"居民数据来源：{data.source or '未注明'}",
            f"residents from: {data.source or 'not stated'}",
        ),
        words.both(
            "缺口：离最近设施超过服务半径的街道两侧区域",
            "gaps: the areas along streets farther than the radius from the nearest facility",
        ),
        words.both(
            "建议新址按新覆盖的居民排序；“完整”指该级生活圈的所有要求均已满足",
            "sites are ranked by residents newly within the radius; a tier is "
            "complete when every one of its requirements is met",
        ),
    ]
    if a.demand.dropped:
        lines.append(
            words.both(
                f"未计入 {a.demand.dropped:,} 个离街道太远的住址",
                f"{a.demand.dropped:,} homes too far from a street left out",
            )
        )
    return lines


# --- HTML and PDF ---------------------------------------------------------------------


_CSS = """
@page { size: A4; margin: 14mm 12mm; }
body { font-family: FONTS; color: #1d1d1d; max-width: 980px; margin: 0 auto; padding: 16px;
  line-height: 1.5; font-size: 15px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 2px solid #1d1d1d; padding-bottom: 2px;
  break-after: avoid; }
h3 { font-size: 16px; margin: 14px 0 4px; break-after: avoid; }
.meta { color: #555; margin: 0; }
ul.facts li, ol.recs li { margin: 3px 0; }
ol.recs li .what { display: block; color: #333; }
.missing li { color: #b00020; font-weight: 700; }
.ok { color: #1b7837; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; width: 100%; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.n, th.n { text-align: right; white-space: nowrap; }
figure { margin: 10px 0 18px; break-inside: avoid; }
figure svg { width: 100%; height: auto; border: 1px solid #ccc; background: #fafafa; }
figcaption { font-weight: 700; margin: 4px 0; }
.key { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; margin-top: 4px; }
.key span { display: inline-flex; align-items: center; gap: 5px; }
.sw { display: inline-block; width: 14px; height: 14px; border-radius: 50%;
  border: 1px solid #333; }
@media (max-width: 600px) { body { padding: 8px; font-size: 14px; }
  table { display: block; overflow-x: auto; } }
"""


def page(data: ReportData, fonts: bool = False) -> str:
    """The report as one self-contained HTML page (``fonts``: the web font inlined)."""
    from livingcircle.maps.offline import FONT_STACK, font_css, font_installed  # noqa: PLC0415

    heading = words.both(f"{data.region} 生活圈缺口报告", f"Living-circle gaps: {data.region}")
    body = [
        f"<header><h1>{html.escape(heading)}</h1><p class='meta'>"
        f"{html.escape(words.both('面向规划的步行可达性分析', 'walking access for planners'))}"
        "</p></header>"
    ]
    body += [_section(a, _render[a](data)) for a, _, _ in SECTIONS]
    text = "\n".join(body)
    style = _CSS.replace("FONTS", FONT_STACK)
    font = font_css(text=text) if fonts and font_installed() else ""
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(heading)}</title><link rel='icon' href='data:,'>"
        f"<style>{font}{style}</style></head><body>{text}</body></html>"
    )


def _section(anchor: str, inner: str) -> str:
    return f"<section id='{anchor}'><h2>{html.escape(title(anchor))}</h2>{inner}</section>"


def _ul(lines: list[str], css: str = "facts") -> str:
    return f"<ul class='{css}'>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>"


def _missing_html(data: ReportData) -> str:
    lines = missing_lines(data)
    if not lines:
        return (
            "<p class='ok'>"
            + html.escape(
                words.both(
                    "每项要求都至少有一处设施",
                    "the region has at least one facility for every requirement",
                )
            )
            + "</p>"
        )
    return _ul(lines, "missing")


def recommendation_table(data: ReportData) -> pd.DataFrame:
    """The ranked recommendations as a table (one per method when several are compared)."""
    rows = []
    for method, items in recommendations(data).items():
        for i, rec in enumerate(items, start=1):
            cat = data.standard.category(rec.category)
            radius = data.result.analysis.access(rec.category).radius_m
            tiers = {t.minutes: t for t in data.standard.tiers}
            done = (
                "；".join(
                    words.both(
                        f"{tiers[m].label_zh} {words.people(n)} 人",
                        f"{tiers[m].label_en}: {words.people(n)}",
                    )
                    for m, n in rec.tiers
                )
                or "–"
            )
            rows.append(
                {
                    "序 · #": str(i),
                    "方法 · Method": method_label(method),
                    "新建 · Build": words.category_label(cat) + f" (#{rec.rank})",
                    "位置 · Where (lat, lon)": f"{rec.lat:.5f}, {rec.lon:.5f}",
                    "新增半径内居民 · Residents newly within the radius": (
                        f"+{words.people(rec.gained)} ({radius:.0f} m)"
                    ),
                    "使生活圈完整的居民 · Residents whose tier it completes": done,
                }
            )
    table = pd.DataFrame(rows)
    if (
        len(table)
        and set(table["方法 · Method"]) == {method_label("greedy")}
        and "method" not in data.result.sites
    ):
        table = table.drop(columns="方法 · Method")
    return table


def recommendation_note(table: pd.DataFrame) -> str:
    """A line under the recommendations when none of them completes a tier."""
    col = "使生活圈完整的居民 · Residents whose tier it completes"
    if len(table) and (table[col] == "–").all():
        return words.both(
            "这些新址单独都不能使任何一级生活圈完整：其他要求的设施仍然缺少",
            "none of these sites alone completes a tier: facilities for other "
            "requirements are still missing",
        )
    return ""


def _recs_html(data: ReportData) -> str:
    table = recommendation_table(data)
    if table.empty:
        return (
            "<p>"
            + html.escape(
                words.both(
                    "没有建议：所有居民都已在服务半径内，或未要求选址",
                    "no recommendation: every resident is within reach, or no sites were asked for",
                )
            )
            + "</p>"
        )
    note = recommendation_note(table)
    out = _table_html(table) + (f"<p>{html.escape(note)}</p>" if note else "")
    methods = methods_table(data)
    if not methods.empty:
        out += (
            f"<h3>{html.escape(METHODS_TITLE)}</h3>"
            + _table_html(methods)
            + _ul(shortfall_lines(data))
        )
    return out


def shortfall_lines(data: ReportData) -> list[str]:
    """Where greedy falls short of the optimum, with category labels instead of ids."""
    lines = []
    for line in shortfall(data.result.siting_comparison):
        cat, _, rest = line.partition(": ")
        lines.append(f"{words.category_label(data.standard.category(cat))}: {rest}")
    return lines


#: the heading of the siting methods' comparison, under the recommendations
METHODS_TITLE = words.both(
    "选址方法比较（同一批候选地点）", "Siting methods compared on the same candidates"
)


def methods_table(data: ReportData) -> pd.DataFrame:
    """Each siting method's objective on the same candidates, per category (when compared)."""
    summary = data.result.siting_comparison
    if summary.empty or "method" not in summary.columns:
        return pd.DataFrame()
    rows = []
    for r in summary.itertuples(index=False):
        share = getattr(r, "share_of_mclp_optimum", float("nan"))
        rows.append(
            {
                words.both("设施", "Facility"): words.category_label(
                    data.standard.category(str(r.category))
                ),
                words.both("方法", "Method"): method_label(str(r.method)),
                words.both("新覆盖居民", "Residents newly covered"): words.people(
                    float(r.newly_covered_population)
                ),
                words.both("占最优覆盖", "Share of the MCLP optimum"): "–"
                if math.isnan(share)
                else words.percent(float(share)),
                words.both("平均步行距离", "Mean walk"): "–"
                if math.isnan(r.mean_m)
                else words.metres(float(r.mean_m)),
                words.both("已证明最优", "Proven optimal"): words.both("是", "yes")
                if r.optimal
                else words.both("否", "no"),
            }
        )
    return pd.DataFrame(rows)


def _maps_html(data: ReportData) -> str:
    if not data.maps:
        return "<p>" + html.escape(words.both("没有地图", "no map")) + "</p>"
    figures = []
    for category, svg in data.maps:
        figures.append(
            f"<figure><figcaption>{html.escape(map_caption(data, category))}"
            f"</figcaption>{svg}{_key_html(data, category)}</figure>"
        )
    return "".join(figures)


def map_caption(data: ReportData, category: str) -> str:
    """``步行至最近的药店（分钟）· Minutes on foot to the nearest pharmacy``."""
    cat = data.standard.category(category)
    text = words.both(
        f"步行至最近的{cat.label_zh}（分钟）",
        f"minutes on foot to the nearest {words.lower_first(cat.label_en)}",
    )
    if data.counts.get(category, 0) == 0:
        text += f" — {words.no_facility(cat.label_zh, cat.label_en)}"
    return text


def key_rows(data: ReportData, category: str) -> list[tuple[str, str]]:
    """The map's legend: (kind or colour, label)."""
    radius = data.result.analysis.access(category).radius_m
    rows = [(b.color, b.label) for b in ALL_BANDS]
    rows += [
        ("size", words.both("圆越大居民越多", "bigger circle: more residents")),
        (
            "gap",
            words.both(
                f"超出 {radius:.0f} 米的缺口（标注居民数）",
                f"gap beyond {radius:.0f} m, with its residents",
            ),
        ),
        ("facility", words.category_label(data.standard.category(category))),
        ("site", words.both("建议新址（序号）", "proposed site, ranked")),
    ]
    if data.communities is not None:
        rows.append(
            ("community", words.both("社区（颜色越深得分越低）", "community: darker, lower score"))
        )
    return rows


def _key_html(data: ReportData, category: str) -> str:
    swatches = {
        "size": "<span class='sw' style='width:8px;height:8px'></span><span class='sw'></span>",
        "gap": f"<span class='sw' style='border-radius:0;border:2px dashed {GAP_COLOR}'></span>",
        "facility": "<span class='sw' style='border-radius:2px;background:#000'></span>",
        "site": "<span class='sw' style='background:#fff;border:3px solid #000'></span>",
        "community": "<span class='sw' style='border-radius:0;background:#969696'></span>",
    }
    items = []
    for kind, label in key_rows(data, category):
        sw = swatches.get(kind, f"<span class='sw' style='background:{kind}'></span>")
        items.append(f"<span>{sw}{html.escape(label)}</span>")
    return "<div class='key'>" + "".join(items) + "</div>"


def _table_html(table: pd.DataFrame) -> str:
    if table.empty:
        return "<p>" + html.escape(words.both("无", "none")) + "</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in table.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _tables_html(
    pick: Callable[[PlannerTables, Standard], pd.DataFrame],
) -> Callable[[ReportData], str]:
    return lambda data: _table_html(pick(data.result, data.standard))


def _communities_html(data: ReportData) -> str:
    table = community_table(data.result, data.standard)
    if table.empty:
        return (
            "<p>"
            + html.escape(
                words.both(
                    "未提供社区边界（--communities）",
                    "no community boundaries given (--communities)",
                )
            )
            + "</p>"
        )
    return _table_html(table)


_render: dict[str, Callable[[ReportData], str]] = {
    "summary": lambda d: _ul(summary_lines(d)),
    "missing": _missing_html,
    "recommendations": _recs_html,
    "maps": _maps_html,
    "coverage": _tables_html(coverage_table),
    "tiers": _tables_html(tier_table),
    "communities": _communities_html,
    "gaps": _tables_html(gap_table),
    "method": lambda d: _ul(method_lines(d)),
}


# --- Markdown -----------------------------------------------------------------------------


def markdown(data: ReportData, stem: str) -> str:
    """The report in Markdown; maps are linked as ``STEM.map.svg``, ``STEM.map2.svg``..."""
    out = [f"# {data.region} 生活圈缺口报告 · Living-circle gaps: {data.region}", ""]
    for anchor, _, _ in SECTIONS:
        out += [f"## {title(anchor)}", "", *_md_section(data, anchor, stem), ""]
    return "\n".join(out)


def _md_section(data: ReportData, anchor: str, stem: str) -> list[str]:
    if anchor == "summary":
        return [f"- {x}" for x in summary_lines(data)]
    if anchor == "missing":
        lines = missing_lines(data)
        return [f"- **{x}**" for x in lines] or [
            words.both(
                "每项要求都至少有一处设施",
                "the region has at least one facility for every requirement",
            )
        ]
    if anchor == "recommendations":
        return _md_recs(data)
    if anchor == "maps":
        out = []
        for i, (category, _) in enumerate(data.maps, start=1):
            out += [
                f"**{map_caption(data, category)}**",
                "",
                f"![{map_caption(data, category)}]({_map_name(stem, i)})",
                "",
                *(
                    f"- {'■' if k.startswith('#') else '·'} {label}"
                    + (f" ({k})" if k.startswith("#") else "")
                    for k, label in key_rows(data, category)
                ),
                "",
            ]
        return out
    if anchor == "method":
        return [f"- {x}" for x in method_lines(data)]
    tables = {
        "coverage": coverage_table,
        "tiers": tier_table,
        "communities": community_table,
        "gaps": gap_table,
    }
    return [_md_table(tables[anchor](data.result, data.standard))]


def _md_recs(data: ReportData) -> list[str]:
    table = recommendation_table(data)
    if table.empty:
        return [words.both("没有建议", "no recommendation")]
    note = recommendation_note(table)
    out = [_md_table(table), *(["", note] if note else [])]
    methods = methods_table(data)
    if not methods.empty:
        out += [
            "",
            f"### {METHODS_TITLE}",
            "",
            _md_table(methods),
            "",
            *(f"- {line}" for line in shortfall_lines(data)),
        ]
    return out


def _md_table(table: pd.DataFrame) -> str:
    if table.empty:
        return words.both("无", "none")
    cells = [[str(c) for c in table.columns]] + [
        [str(v) for v in row] for row in table.itertuples(index=False)
    ]
    head = "| " + " | ".join(cells[0]) + " |"
    rule = "|" + "|".join("---" for _ in cells[0]) + "|"
    return "\n".join([head, rule, *("| " + " | ".join(r) + " |" for r in cells[1:])])


# --- the SVG map --------------------------------------------------------------------------


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
    report's (:func:`key_rows`), set beside it in HTML.
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
