"""The gaps report as one self-contained HTML page (what the PDF prints, too)."""

from __future__ import annotations

import html
from collections.abc import Callable

import pandas as pd

from livingcircle.geo.planning import PlannerTables
from livingcircle.geo.standards import Standard
from livingcircle.maps import words
from livingcircle.maps.palette import GAP_COLOR
from livingcircle.maps.report_tables import (
    METHODS_TITLE,
    community_table,
    coverage_table,
    gap_table,
    methods_table,
    recommendation_note,
    recommendation_table,
    tier_table,
)
from livingcircle.maps.report_text import (
    SECTIONS,
    ReportData,
    key_rows,
    map_caption,
    method_lines,
    missing_lines,
    shortfall_lines,
    summary_lines,
    title,
)

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
