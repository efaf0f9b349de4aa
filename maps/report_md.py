"""The gaps report in Markdown, its maps linked beside it as SVG files."""

from __future__ import annotations

import pandas as pd

from livingcircle.maps import report_tables as tables
from livingcircle.maps import report_text as says
from livingcircle.maps import words
from livingcircle.maps.report_text import ReportData


def markdown(data: ReportData, stem: str) -> str:
    """The report in Markdown; maps are linked as ``STEM.map.svg``, ``STEM.map2.svg``..."""
    out = [f"# {data.region} 生活圈缺口报告 · Living-circle gaps: {data.region}", ""]
    for anchor, _, _ in says.SECTIONS:
        out += [f"## {says.title(anchor)}", "", *_md_section(data, anchor, stem), ""]
    return "\n".join(out)


def _md_section(data: ReportData, anchor: str, stem: str) -> list[str]:
    if anchor == "summary":
        return [f"- {x}" for x in says.summary_lines(data)]
    if anchor == "missing":
        lines = says.missing_lines(data)
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
                f"**{says.map_caption(data, category)}**",
                "",
                f"![{says.map_caption(data, category)}]({says.map_name(stem, i)})",
                "",
                *(
                    f"- {'■' if k.startswith('#') else '·'} {label}"
                    + (f" ({k})" if k.startswith("#") else "")
                    for k, label in says.key_rows(data, category)
                ),
                "",
            ]
        return out
    if anchor == "method":
        return [f"- {x}" for x in says.method_lines(data)]
    return [_md_table(tables.TABLES[anchor](data.result, data.standard))]


def _md_recs(data: ReportData) -> list[str]:
    table = tables.recommendation_table(data)
    if table.empty:
        return [words.both("没有建议", "no recommendation")]
    note = tables.recommendation_note(table)
    out = [_md_table(table), *(["", note] if note else [])]
    methods = tables.methods_table(data)
    if not methods.empty:
        out += [
            "",
            f"### {tables.METHODS_TITLE}",
            "",
            _md_table(methods),
            "",
            *(f"- {line}" for line in says.shortfall_lines(data)),
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
