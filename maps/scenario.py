"""The scenario map: what a what-if scenario changes, and for whom.

The homes whose walk to the nearest facility of one category changed are coloured by the
change (after minus before) on a diverging Okabe-Ito palette: blues where the walk got
shorter, orange and vermilion where it got longer; homes that can newly reach one, and homes
that no longer can, have rows of their own. Homes are sized by their residents. Opened
facilities (a ring) and closed ones (struck through) are marked apart from the category's
other facilities, added links and closed streets are drawn as lines, a banner gives the
headline figure of the ``summary`` layer, and the view is fitted to the district. The
legend is bilingual, 中文 first, like the planner map's.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.scenario import ScenarioResult
from livingcircle.geo.standards import Category
from livingcircle.maps import words
from livingcircle.maps.base import PLAIN, Display, Legend, LegendRow, MapLook, glyph
from livingcircle.maps.district import (
    HomeStyle,
    district_map,
    facility_markers,
    finish_district,
    home_markers,
)
from livingcircle.maps.palette import home_radius

#: more changed homes than this: only the ones whose walk changed most are drawn
MAX_HOME_MARKERS = 5_000


@dataclass(frozen=True)
class ChangeClass:
    """A class of change in minutes on foot: ``low < change <= high`` (or a status)."""

    low: float
    high: float
    color: str
    label_zh: str
    label_en: str
    status: str = ""

    @property
    def label(self) -> str:
        """``近 1–5 分钟 · 1–5 min nearer``."""
        return words.both(self.label_zh, self.label_en)


#: diverging: nearer in blues, farther in orange to vermilion; reach gained/lost apart
CHANGE_CLASSES = (
    ChangeClass(math.nan, math.nan, "#009E73", "新可到达", "newly reachable", "newly reachable"),
    ChangeClass(-math.inf, -5, "#0072B2", "近 5 分钟以上", "5 min or more nearer"),
    ChangeClass(-5, -1, "#56B4E9", "近 1–5 分钟", "1–5 min nearer"),
    ChangeClass(-1, 0, "#B9E0F5", "近不到 1 分钟", "under 1 min nearer"),
    ChangeClass(0, 1, "#F6D08B", "远不到 1 分钟", "under 1 min farther"),
    ChangeClass(1, 5, "#E69F00", "远 1–5 分钟", "1–5 min farther"),
    ChangeClass(5, math.inf, "#D55E00", "远 5 分钟以上", "5 min or more farther"),
    ChangeClass(
        math.nan, math.nan, "#000000", "不再可到达", "no longer reachable", "no longer reachable"
    ),
)
LINK_COLOR = "#009E73"
CLOSED_COLOR = "#000000"


def change_class(change_min: NDArray[np.float64], status: NDArray[np.object_]) -> NDArray[np.intp]:
    """Index into :data:`CHANGE_CLASSES` per changed home."""
    out = np.zeros(len(change_min), dtype=np.intp)
    for i, c in enumerate(CHANGE_CLASSES):
        if c.status:
            out[status == c.status] = i
        else:
            out[(change_min > c.low) & (change_min <= c.high)] = i
    return out


@dataclass(frozen=True)
class ScenarioLayers:
    """What the scenario map paints, in lon/lat.

    Attributes
    ----------
    name
        The scenario's name.
    category
        The category mapped.
    summary
        Its row of the ``summary`` layer.
    homes
        The changed homes of the category (the ``changes`` layer's rows) with ``cls``, an
        index into :data:`CHANGE_CLASSES`, at most :data:`MAX_HOME_MARKERS` of them.
    total_changed
        How many homes changed (some may not be drawn).
    facilities, streets
        The ``facilities`` and ``streets`` layers.
    """

    name: str
    category: str
    summary: pd.Series
    homes: gpd.GeoDataFrame
    total_changed: int
    facilities: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame


def default_category(result: ScenarioResult) -> str:
    """The first category the scenario changes: of its facilities, else whose walks moved."""
    for cat in result.facilities["category"].tolist():
        if cat in result.categories:
            return str(cat)
    summary = result.summary()
    moved = summary[summary["homes_changed"] > 0]["category"].tolist()
    if moved:
        return str(moved[0])
    if not result.categories:
        raise InvalidParameter("the scenario changes no category, so there is nothing to map")
    return result.categories[0]


def scenario_layers(result: ScenarioResult, category: str | None = None) -> ScenarioLayers:
    """The layers of ``result`` for ``category`` (default: :func:`default_category`)."""
    cat = category or default_category(result)
    if cat not in result.categories:
        raise InvalidParameter(
            f"the scenario does not change the walks to {cat!r}; "
            f"allowed --category: {', '.join(result.categories)}"
        )
    summary = result.summary().set_index("category").loc[cat]
    changes = result.changes()
    homes = changes[changes["category"] == cat].reset_index(drop=True)
    homes["cls"] = change_class(
        homes["change_min"].to_numpy(np.float64), homes["status"].to_numpy(object)
    )
    total = len(homes)
    if total > MAX_HOME_MARKERS:
        size = np.nan_to_num(np.abs(homes["change_min"].to_numpy(np.float64)), nan=np.inf)
        homes = homes.iloc[np.argsort(-size, kind="stable")[:MAX_HOME_MARKERS]]
    return ScenarioLayers(
        result.scenario.name,
        cat,
        summary,
        homes.reset_index(drop=True),
        total,
        result.facilities,
        result.streets,
    )


def scenario_map(
    region: Region, result: ScenarioResult, category: str | None = None, *, look: MapLook = PLAIN
) -> folium.Map:
    """A district map of a scenario's difference layer for one category.

    Parameters
    ----------
    region
        The region the scenario ran on.
    result
        :func:`livingcircle.geo.scenario.run_scenario`'s result.
    category
        The category mapped; default: the first the scenario changes.
    look
        Offline or on which tiles, and where the font comes from.
    """
    return draw(region, scenario_layers(result, category), look)


def draw(region: Region, layers: ScenarioLayers, look: MapLook = PLAIN) -> folium.Map:
    """The Folium map of laid-out scenario layers."""
    show = Display(look.tiles)
    fmap = district_map(region, look, _CSS, "lc_scen")
    _street_changes(fmap, layers.streets, show)
    _homes(fmap, layers, show)
    _facilities(fmap, region, layers, show)
    _facility_changes(fmap, region, layers.facilities, show)
    Legend(html.escape(f"方案 · Scenario: {layers.name}"), legend_sections(region, layers)).add_to(
        fmap
    )
    return finish_district(fmap, region, look, banner_html(region, layers))


_CSS = """
.lc-opened, .lc-closed, .lc-existing { display: flex; align-items: center;
  justify-content: center; box-sizing: border-box; font-weight: 700; }
.lc-opened { width: 28px; height: 28px; border-radius: 50%; background: #fff;
  border: 4px solid #009E73; color: #000; font-size: 14px;
  box-shadow: 0 0 0 2px #fff, 0 1px 4px rgba(0,0,0,.6); }
.lc-closed { width: 26px; height: 26px; border-radius: 4px; background: #fff;
  border: 3px dashed #000; color: #000; font-size: 16px;
  box-shadow: 0 1px 4px rgba(0,0,0,.6); }
.lc-existing { width: 18px; height: 18px; border-radius: 4px; background: #000; color: #fff;
  font-size: 10px; border: 2px solid #fff; box-shadow: 0 1px 3px rgba(0,0,0,.6); }
.lc-banner { font-family: FONTS; position: absolute; z-index: 1000; top: 10px;
  left: 56px; right: 64px; margin: 0 auto; max-width: 560px; width: fit-content;
  background: #fff; color: #1d1d1d; border-radius: 8px; padding: 6px 12px; font-size: 14px;
  font-weight: 700; box-shadow: 0 1px 6px rgba(0,0,0,.35); }
.lc-banner small { display: block; font-weight: 400; font-size: 12px; }
#lc-legend .lc-legend-none { opacity: .45; }
@media (max-width: 599px) { .lc-banner { font-size: 12px; }
  .lc-banner small { font-size: 11px; } }
"""


def signed(n: float) -> str:
    """Residents with their sign: ``+1,240``, ``−85``, ``±0``."""
    if round(n) == 0:
        return "±0"
    return ("+" if n > 0 else "−") + words.people(abs(n))


def banner_html(region: Region, layers: ScenarioLayers) -> str:
    """The headline: residents gained within the category's radius, and the mean walk."""
    cat = region.standard.category(layers.category)
    row = layers.summary
    radius, change = float(row["radius_m"]), signed(float(row["covered_change"]))
    head = (
        f"{change} 位居民在 {radius:.0f} 米内 · {change} residents within {radius:.0f} m "
        f"of a {words.lower_first(cat.label_en)}"
    )
    mean = float(row["mean_change_min"])
    walk = (
        f"{'+' if mean > 0 else '−' if mean < 0 else '±'}{words.minutes(abs(mean))}"
        if math.isfinite(mean)
        else "–"
    )
    homes = f"{int(row['homes_changed']):,}"
    sub = (
        f"{homes} 处住宅步行时间变化，全区平均 {walk} 分钟 · walk changed for {homes} "
        f"homes, district mean {walk} min"
    )
    return (
        f"<div class='lc-banner' role='status'>{html.escape(head)}"
        f"<small>{html.escape(sub)}</small></div>"
    )


def _change_note(before: float, after: float) -> str:
    b, a = words.minutes(before), words.minutes(after)
    return (
        f"{words.both(f'步行 {b} → {a} 分钟', f'{b} → {a} min')}"
        "<br><small>（– 为无法到达 · – : none within reach）</small>"
    )


def _homes(fmap: folium.Map, layers: ScenarioLayers, show: Display) -> None:
    homes = layers.homes
    if homes.empty:
        return
    before = homes["minutes_before"].to_numpy(dtype=np.float64)
    after = homes["minutes_after"].to_numpy(dtype=np.float64)
    home_markers(
        fmap,
        homes,
        show,
        [CHANGE_CLASSES[int(c)].color for c in homes["cls"]],
        [_change_note(float(b), float(a)) for b, a in zip(before, after, strict=True)],
        HomeStyle("步行时间有变化的住宅 · Homes whose walk changed", "#333333", 1, 0.9),
    )


def _street_changes(fmap: folium.Map, streets: gpd.GeoDataFrame, show: Display) -> None:
    for change, name, color, dash in (
        ("link", "新增步行连接 · Added links", LINK_COLOR, None),
        ("closed", "封闭街道 · Closed streets", CLOSED_COLOR, "6 5"),
    ):
        lines = streets[streets["change"] == change]
        if lines.empty:
            continue
        group = folium.FeatureGroup(name=name)
        for geom, length in zip(lines.geometry, lines["length_m"], strict=True):
            folium.GeoJson(
                shapely.geometry.mapping(show.geom(geom)),
                style_function=lambda _f, c=color, d=dash, k=change: {
                    "color": c,
                    "weight": 6,
                    "opacity": 0.95,
                    "dashArray": d,
                    "className": f"lc-street-{k}",
                },
                tooltip=f"{html.escape(name)} ({words.metres(float(length))})",
            ).add_to(group)
        group.add_to(fmap)


def _facilities(fmap: folium.Map, region: Region, layers: ScenarioLayers, show: Display) -> None:
    """The category's facilities that stay open, small and quiet."""
    cat = region.standard.category(layers.category)
    fac = region.facilities
    closed = set(layers.facilities["id"][layers.facilities["change"] == "close"].tolist())
    rows = [
        r
        for r in np.flatnonzero(
            fac.category == region.standard.category_index(layers.category)
        ).tolist()
        if fac.text["id"][r] not in closed
    ]
    group = folium.FeatureGroup(name=f"{cat.label_zh} · {cat.label_en} ({len(rows)})")
    facility_markers(group, region, layers.category, rows, show, ("lc-existing", 18), False)
    group.add_to(fmap)


def _facility_changes(
    fmap: folium.Map, region: Region, facilities: gpd.GeoDataFrame, show: Display
) -> None:
    if facilities.empty:
        return
    group = folium.FeatureGroup(name="新开与关闭的设施 · Opened and closed facilities")
    for change, name, category, geom in facilities[
        ["change", "name", "category", "geometry"]
    ].itertuples(index=False):
        cat = region.standard.category(category)
        opened = change == "add"
        what = words.both("新开" if opened else "关闭", "opened" if opened else "closed")
        tip = f"{what}：{name or cat.label_en} · {words.category_label(cat)}"
        inner = html.escape(glyph(cat)) if opened else "&#10005;"
        size = 28 if opened else 26
        folium.Marker(
            show.latlon(geom.x, geom.y),
            icon=folium.DivIcon(
                html=f"<div class='{'lc-opened' if opened else 'lc-closed'}'>{inner}</div>",
                icon_size=(size, size),
                icon_anchor=(size // 2, size // 2),
            ),
            tooltip=html.escape(tip),
            z_index_offset=1000,
        ).add_to(group)
    group.add_to(fmap)


def legend_sections(region: Region, layers: ScenarioLayers) -> list[tuple[str, list[LegendRow]]]:
    """The legend: change classes with their residents, sizes, facilities and streets."""
    cat = region.standard.category(layers.category)
    pop = layers.homes.groupby("cls")["population"].sum() if len(layers.homes) else {}
    counts = [float(pop.get(i, 0.0)) for i in range(len(CHANGE_CLASSES))]
    rows = [
        LegendRow(
            html.escape(f"{c.label} ({words.people(n)})"),
            c.color,
            "dot",
            "lc-legend-change" + ("" if n else " lc-legend-none"),
        )
        for c, n in zip(CHANGE_CLASSES, counts, strict=True)
    ]
    heading = (
        html.escape(
            words.both(
                f"步行至最近{cat.label_zh}的时间变化",
                f"Change in the walk to the nearest {words.lower_first(cat.label_en)}",
            )
        )
        + "<br><small>（括号内为居民数 · residents in brackets）</small>"
    )
    sections = [(heading, rows)]
    if layers.total_changed > len(layers.homes):
        rows.append(
            LegendRow(
                html.escape(
                    words.both(
                        f"仅显示变化最大的 {len(layers.homes):,} 处住宅",
                        f"only the {len(layers.homes):,} homes that changed most are drawn",
                    )
                ),
                "",
                "text",
            )
        )
    sections.append(
        (
            html.escape(words.both("居民（圆越大人越多）", "Residents (bigger: more)")),
            _size_rows(layers.homes),
        )
    )
    sections.append(
        (
            html.escape(words.both("方案的改动", "What the scenario changes")),
            _change_rows(cat, layers),
        )
    )
    return sections


def _size_rows(homes: gpd.GeoDataFrame) -> list[LegendRow]:
    if homes.empty:
        return [
            LegendRow(
                html.escape(words.both("没有住宅的步行时间变化", "no home's walk changed")),
                "",
                "text",
            )
        ]
    pop = homes["population"].to_numpy(dtype=np.float64)
    top, low = float(pop.max()), float(pop.min())
    sizes = [top] if top <= 1.5 * low else _round_sizes(top)
    out = []
    for v in sizes:
        d = round(2 * float(home_radius(np.array([v]), top, low)[0]))
        out.append(
            LegendRow(
                html.escape(words.residents(v)),
                "",
                "badge",
                "lc-legend-row",
                badge=f"<span class='lc-swatch' style='width:{d}px;height:{d}px;"
                "border-radius:50%;border:1.5px solid #333;"
                "background:#fff'></span>",
            )
        )
    return out


def _round_sizes(top: float) -> list[float]:
    """A round number of residents up to ``top`` (1, 2 or 5 times a power of ten), and a tenth."""
    power = 10 ** math.floor(math.log10(max(top, 1.0)))
    big = max(v * power for v in (1, 2, 5) if v * power <= max(top, 1.0))
    return sorted({big, max(big / 10, 1.0)})


def _change_rows(cat: Category, layers: ScenarioLayers) -> list[LegendRow]:
    fac, streets = layers.facilities, layers.streets
    n_add, n_close = int((fac["change"] == "add").sum()), int((fac["change"] == "close").sum())
    n_link = int((streets["change"] == "link").sum())
    n_closed = int((streets["change"] == "closed").sum())
    label = words.both(f"{cat.label_zh}（保留）", f"{cat.label_en} (kept)")
    rows = [
        _badge_row(label, "existing", f"<span class='lc-existing'>{html.escape(glyph(cat))}</span>")
    ]
    if n_add:
        opened = words.both(f"新开设施（{n_add}）", f"opened facility ({n_add})")
        rows.append(_badge_row(opened, "opened", "<span class='lc-opened'>+</span>"))
    if n_close:
        closed = words.both(f"关闭设施（{n_close}）", f"closed facility ({n_close})")
        rows.append(_badge_row(closed, "closed", "<span class='lc-closed'>&#10005;</span>"))
    if n_link:
        rows.append(
            LegendRow(
                html.escape(words.both("新增步行连接", "added walking link")),
                LINK_COLOR,
                "line",
                "lc-legend-row lc-legend-link",
            )
        )
    if n_closed:
        dashed = (
            "<span class='lc-swatch' style='width:18px;height:0;border-top:4px dashed #000'></span>"
        )
        rows.append(_badge_row(words.both("封闭街道", "closed street"), "closed-street", dashed))
    return rows


def _badge_row(label: str, kind: str, badge: str) -> LegendRow:
    """A legend row of plain text ``label`` beside an HTML ``badge``."""
    return LegendRow(
        html.escape(label), "", "badge", f"lc-legend-row lc-legend-{kind}", badge=badge
    )
