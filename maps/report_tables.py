"""The gaps report's tables, written as the report writes them: labels, rounded numbers.

Coverage per facility, the GB 50180 requirements met, communities, the largest gaps, the
ranked recommendations and the siting methods compared. :func:`summary_tables` is what the
``gaps`` command prints.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from livingcircle.geo.gaps import DISTRICT
from livingcircle.geo.planning import PlannerTables
from livingcircle.geo.standards import Standard
from livingcircle.maps import words
from livingcircle.maps.report_text import MAX_GAPS, ReportData, method_label, recommendations, title


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


#: the sections that are one table each, by anchor
TABLES: dict[str, Callable[[PlannerTables, Standard], pd.DataFrame]] = {
    "coverage": coverage_table,
    "tiers": tier_table,
    "communities": community_table,
    "gaps": gap_table,
}
