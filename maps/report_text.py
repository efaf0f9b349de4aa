"""What the gaps report says, in words, the same for every format.

The sections (:data:`SECTIONS`) and their headings, the data worked out once for every format
(:class:`ReportData`), and the sentences: the summary, the requirements the region has no
facility for, the ranked recommendations, the method, and each map's caption and legend.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import DISTRICT
from livingcircle.geo.planning import PlannerTables
from livingcircle.geo.recommend import site_effects
from livingcircle.geo.siting_compare import shortfall
from livingcircle.geo.standards import Standard
from livingcircle.maps import words
from livingcircle.maps.palette import ALL_BANDS
from livingcircle.maps.report_svg import map_svg

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


def map_name(stem: str, i: int) -> str:
    """The file of a Markdown report's ``i``-th map: ``STEM.map.svg``, ``STEM.map2.svg``..."""
    return f"{stem}.map.svg" if i == 1 else f"{stem}.map{i}.svg"


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
    return lines + _dropped(a.demand.dropped, f"{a.demand.dropped:,} 个住址离街道太远，未计入")


def _dropped(homes: int, zh: str) -> list[str]:
    """The sentence on the homes too far from a street to count (``zh`` in Chinese), if any."""
    return [words.both(zh, f"{homes:,} homes too far from a street left out")] if homes else []


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
    return lines + _dropped(a.demand.dropped, f"未计入 {a.demand.dropped:,} 个离街道太远的住址")


def shortfall_lines(data: ReportData) -> list[str]:
    """Where greedy falls short of the optimum, with category labels instead of ids."""
    lines = []
    for line in shortfall(data.result.siting_comparison):
        cat, _, rest = line.partition(": ")
        lines.append(f"{words.category_label(data.standard.category(cat))}: {rest}")
    return lines


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
