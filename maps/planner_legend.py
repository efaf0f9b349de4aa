"""The planner map's legend: headline, minutes on foot, residents, gaps, sites, communities.

Bilingual, 中文 first; labels are HTML-escaped here, as :class:`~livingcircle.maps.base.Legend`
wants them.
"""

from __future__ import annotations

import html
import math

import numpy as np

from livingcircle.geo.engine import Region
from livingcircle.maps import words
from livingcircle.maps.base import LegendRow, SwatchKind, glyph
from livingcircle.maps.palette import ALL_BANDS, GAP_COLOR, SCORE_CLASSES, home_radius
from livingcircle.maps.planner_layers import PlannerLayers


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
    kind: SwatchKind = "box" if layers.hexagons is not None else "dot"
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
