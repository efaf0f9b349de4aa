"""A notice-board poster: one A4 sheet for residents who do not use phones.

The sheet shows where it hangs on a map of the streets around (drawn from the loaded
network, no tiles) with the 5, 10 and 15-minute walking rings, the nearest everyday services
in large type (中文 first, English second), the GB 50180 living-circle checklist in plain
words ("5 分钟内没有幼儿园 · no kindergarten within a 5-minute walk") and a QR code that opens
the live app at the same place. It is an HTML page printed to PDF by Chromium (Playwright),
so Chinese is set in the bundled web font whatever the machine has installed.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import segno
import shapely
from shapely.geometry.base import BaseGeometry

from livingcircle.geo import config
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.kiosks import DEFAULT_CATEGORIES
from livingcircle.geo.results import CatchmentResult, FacilityHit, NearestResult, TierSummary
from livingcircle.maps.base import ink
from livingcircle.maps.offline import FONT_STACK, font_css, font_installed
from livingcircle.maps.pdf import print_pdf

DEFAULT_APP_URL = "http://127.0.0.1:8000/"
#: Services listed on the sheet (the nearest of each kind, nearest first).
MAX_SERVICES = 8
GREY = "#555555"
RING_COLOURS = {5: "#1b7837", 10: "#5aae61", 15: "#a6dba0"}  # dark to light: nearer is darker
_MAP_W, _MAP_H = 104.0, 92.0  # mm


@dataclass(frozen=True)
class Place:
    """Where the poster hangs: a point, its names, and the app's address for it."""

    lon: float
    lat: float
    name_zh: str
    name_en: str
    categories: tuple[str, ...] = DEFAULT_CATEGORIES


def app_link(app_url: str, lon: float, lat: float, language: str = "zh") -> str:
    """The live app's address at a place: ``APP_URL?lat=..&lon=..&lang=zh``."""
    parts = urlsplit(app_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidParameter(
            f"--app-url {app_url!r} is not allowed; give an http(s) address "
            f"such as {DEFAULT_APP_URL}"
        )
    query = urlencode({"lat": f"{lat:.5f}", "lon": f"{lon:.5f}", "lang": language})
    base = app_url.split("#", 1)[0]
    return f"{base}{'&' if parts.query else '?'}{query}"


# -- the page ---------------------------------------------------------------------------------


def poster_html(region: Region, place: Place, app_url: str = DEFAULT_APP_URL) -> str:
    """The poster as a self-contained HTML page (A4 portrait, print CSS)."""
    minutes = list(config.DEFAULT_MINUTES)
    catchment = region.catchment(place.lon, place.lat, minutes)
    wanted = [c for c in place.categories if c in region.standard.category_ids]
    near = region.nearest(place.lon, place.lat, wanted, k=1, max_minutes=max(minutes), routes=False)
    services = _services(near)
    colours = {c.id: c.color for c in region.standard.categories}
    link = app_link(app_url, place.lon, place.lat)
    body = (
        "<header>"
        + _title(place, region.name)
        + _qr(link)
        + "</header>"
        + "<section class='middle'>"
        + _map_svg(region, place, catchment, services, colours)
        + _service_list(services, colours)
        + "</section>"
        + _checklist(catchment.tiers)
    )
    fonts = font_css(text=body) if font_installed() else ""
    return (
        f"<!DOCTYPE html><html lang='zh-Hans'><head><meta charset='utf-8'>"
        f"<title>{html.escape(place.name_zh)} · {html.escape(place.name_en)}</title>"
        f"<style>{fonts}\n{_CSS}</style></head><body>{body}</body></html>"
    )


def _services(near: NearestResult) -> list[FacilityHit]:
    hits = [hits[0] for hits in near.by_category.values() if hits]
    return sorted(hits, key=lambda h: h.time_s)[:MAX_SERVICES]


def _title(place: Place, region: str) -> str:
    where = f"{place.lat:.5f}, {place.lon:.5f} · {region}"
    return (
        f"<div class='title'><div class='here'><i></i>您在这里 · You are here</div>"
        f"<h1>{html.escape(place.name_zh)}</h1><h2>{html.escape(place.name_en)}</h2>"
        f"<div class='where'>{html.escape(where)}</div></div>"
    )


def _service_list(services: list[FacilityHit], colours: dict[str, str]) -> str:
    if not services:
        return (
            "<div class='services'><h3>附近的生活服务 · Nearest services</h3><p>15 分钟内"
            "没有找到 · none within a 15-minute walk</p></div>"
        )
    rows = []
    for i, h in enumerate(services, start=1):
        minutes = max(1, round(h.time_s / 60))
        name = html.escape(h.name_zh or h.name or "")
        rows.append(
            f"<li><b class='num' style='{_badge(colours.get(h.category, GREY))}'>{i}</b>"
            f"<span class='cat'>{html.escape(h.label_zh)}<small>{html.escape(h.label_en)}"
            f"</small></span><span class='min'>{minutes}<small>分钟 · min</small></span>"
            f"<span class='name'>{round(h.distance_m)} 米 · m{' · ' if name else ''}{name}"
            f"</span></li>"
        )
    return (
        "<div class='services'><h3>附近的生活服务 <small>Nearest everyday services, on "
        "foot</small></h3><ol>" + "".join(rows) + "</ol></div>"
    )


def _badge(colour: str) -> str:
    return f"background:{colour};color:{ink(colour)}"


def _qr(link: str) -> str:
    code = segno.make(link, error="m")
    return (
        f"<div class='qr'><img alt='QR code: {html.escape(link)}' "
        f"src='{code.svg_data_uri(border=4, dark='#000', light='#fff')}'>"
        f"<p class='scan'>扫码打开实时地图<br><small>Scan to open the live map</small></p>"
        f"<p class='url'>{html.escape(link)}</p></div>"
    )


def _checklist(tiers: list[TierSummary]) -> str:
    blocks = []
    for tier in tiers:
        missing = [r for r in tier.requirements if not r.present]
        met = [r for r in tier.requirements if r.present]
        lines = [
            f"<li class='no'><b>✗</b> {tier.minutes} 分钟内没有{html.escape(r.label_zh)}"
            f"<small> · no {html.escape(r.label_en.lower())} within a {tier.minutes}-"
            f"minute walk</small></li>"
            for r in missing
        ]
        if met:
            lines.append(
                f"<li class='yes'><b>✓</b> {tier.minutes} 分钟内有："
                f"{'、'.join(html.escape(r.label_zh) for r in met)}<small> · within "
                f"{tier.minutes} minutes: "
                f"{', '.join(html.escape(r.label_en.lower()) for r in met)}</small></li>"
            )
        blocks.append(
            f"<div class='tier'><h4>{html.escape(tier.label_zh)} <small>"
            f"{html.escape(tier.label_en)}, {tier.distance_m:.0f} m</small></h4>"
            f"<ul>{''.join(lines)}</ul></div>"
        )
    return (
        "<section class='check'><h3>生活圈检查 <small>GB 50180 living-circle check, "
        "walking at 1 m/s</small></h3>" + "".join(blocks) + "</section>"
    )


# -- the map ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Local metres around the place, fitted into the map box."""

    lon0: float
    lat0: float
    x0: float
    y0: float
    width: float
    height: float

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        x = (lon - self.lon0) * 111_320.0 * math.cos(math.radians(self.lat0))
        y = (self.lat0 - lat) * 110_540.0
        return x - self.x0, y - self.y0


def _frame(place: Place, rings: BaseGeometry) -> _Frame:
    w, s, e, n = (
        rings.bounds
        if not rings.is_empty
        else (place.lon - 0.01, place.lat - 0.006, place.lon + 0.01, place.lat + 0.006)
    )
    probe = _Frame(place.lon, place.lat, 0.0, 0.0, 1.0, 1.0)
    (x1, y1), (x2, y2) = probe.xy(w, n), probe.xy(e, s)
    width, height = (x2 - x1) * 1.02, (y2 - y1) * 1.02
    ratio = _MAP_W / _MAP_H
    width, height = max(width, height * ratio, 300.0), max(height, width / ratio, 300.0 / ratio)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return _Frame(place.lon, place.lat, cx - width / 2, cy - height / 2, width, height)


def _path(frame: _Frame, geom: BaseGeometry, closed: bool) -> str:
    parts = []
    for line in _lines(geom):
        points = [frame.xy(x, y) for x, y in shapely.get_coordinates(line)]
        if len(points) >= 2:
            parts.append(
                "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + ("Z" if closed else "")
            )
    return "".join(parts)


def _lines(geom: BaseGeometry) -> list[BaseGeometry]:
    if geom.is_empty:
        return []
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        polys = getattr(geom, "geoms", [geom])
        return [ring for p in polys for ring in (p.exterior, *p.interiors)]
    return list(getattr(geom, "geoms", [geom]))


def _map_svg(
    region: Region,
    place: Place,
    catchment: CatchmentResult,
    services: list[FacilityHit],
    colours: dict[str, str],
) -> str:
    rings = {r.minutes: r.polygon for r in catchment.rings}
    outer = rings[max(rings)] if rings else shapely.Point(place.lon, place.lat)
    frame = _frame(place, outer)
    reach = math.hypot(frame.width, frame.height) / 2 + 100
    streets = region.streets_near(place.lon, place.lat, reach)
    parts = [f"<rect width='{frame.width:.0f}' height='{frame.height:.0f}' fill='#fbfaf7'/>"]
    for minutes in sorted(rings, reverse=True):
        colour = RING_COLOURS.get(minutes, "#cccccc")
        parts.append(
            f"<path d='{_path(frame, rings[minutes], True)}' fill='{colour}' "
            f"fill-opacity='0.35' fill-rule='evenodd' stroke='{colour}' "
            "stroke-width='2.5' vector-effect='non-scaling-stroke'/>"
        )
    parts.append(
        f"<path d='{_path(frame, streets, False)}' fill='none' stroke='#6b6b6b' "
        "stroke-width='0.9' vector-effect='non-scaling-stroke' "
        "stroke-linecap='round'/>"
    )
    size = frame.width * 2.6 / _MAP_W  # pins 5 mm across on paper
    here = frame.xy(place.lon, place.lat)
    points = [frame.xy(h.lon, h.lat) for h in services]
    pins = _spread(here, points, size)
    for (x, y), (px, py) in zip(points, pins, strict=True):  # leader lines first, under all
        if (x, y) != (px, py):
            parts.append(
                f"<line x1='{x:.1f}' y1='{y:.1f}' x2='{px:.1f}' y2='{py:.1f}' "
                "stroke='#222' stroke-width='1.2' vector-effect='non-scaling-stroke'/>"
                f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{size / 4:.1f}' fill='#222'/>"
            )
    parts.append(
        f"<circle cx='{here[0]:.1f}' cy='{here[1]:.1f}' r='{size * 1.1:.1f}' "
        f"fill='#d7191c' stroke='#fff' stroke-width='{size / 3:.1f}'/>"
    )
    for i, ((x, y), hit) in enumerate(zip(pins, services, strict=True), start=1):
        colour = colours.get(hit.category, GREY)
        parts.append(
            f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{size:.1f}' fill='{colour}' "
            f"stroke='#fff' stroke-width='{size / 5:.1f}'/><text x='{x:.1f}' "
            f"y='{y + size * 0.42:.1f}' font-size='{size * 1.25:.1f}' "
            f"fill='{ink(colour)}' text-anchor='middle' font-weight='700'>{i}</text>"
        )
    svg = (
        f"<svg viewBox='0 0 {frame.width:.0f} {frame.height:.0f}' "
        f"xmlns='http://www.w3.org/2000/svg' role='img' aria-label='map'>{''.join(parts)}"
        "</svg>"
    )
    return (
        f"<div class='mapcol'><figure class='map'>{svg}</figure>"
        f"{_legend(sorted(rings), frame.width)}</div>"
    )


def _spread(
    here: tuple[float, float], points: list[tuple[float, float]], size: float
) -> list[tuple[float, float]]:
    """Where each numbered pin goes: at its facility, or pushed out until uncovered.

    A pin hidden by an earlier one or by the you-are-here dot moves away from the place
    until it is clear; a leader line then points at the facility.
    """
    taken = [(here, size * 1.1)]
    placed = []
    for i, (x, y) in enumerate(points):
        dx, dy = x - here[0], y - here[1]
        length = math.hypot(dx, dy)
        if length < size:  # at the place itself: fan out
            angle = -math.pi / 2 + i * math.pi / 4
            dx, dy, length = math.cos(angle), math.sin(angle), 1.0
        ux, uy = dx / length, dy / length
        px, py = x, y
        for _ in range(40):
            if all(math.hypot(px - tx, py - ty) >= r + size * 1.1 for (tx, ty), r in taken):
                break
            px, py = px + ux * size * 0.5, py + uy * size * 0.5
        taken.append(((px, py), size))
        placed.append((px, py))
    return placed


def _legend(minutes: list[int], width_m: float) -> str:
    items = "".join(
        f"<span><i style='background:{RING_COLOURS.get(m, '#ccc')}'></i>{m} 分钟 · {m} min</span>"
        for m in minutes
    )
    bar_m = _nice(width_m / 5)
    bar_mm = bar_m / width_m * _MAP_W
    return (
        f"<div class='legend'><span><i class='you'></i>您在这里 · you are here</span>{items}"
        f"<span class='bar'><em style='width:{bar_mm:.1f}mm'></em>{bar_m:.0f} 米 · m"
        f"</span></div>"
    )


def _nice(metres: float) -> float:
    for step in (50, 100, 200, 250, 500, 1000, 2000):
        if step >= metres * 0.7:
            return float(step)
    return 5000.0


# -- to PDF -----------------------------------------------------------------------------------


def make_poster(region: Region, place: Place, out: Path, app_url: str = DEFAULT_APP_URL) -> Path:
    """Write the poster of ``place`` to ``out`` (PDF)."""
    return print_pdf(poster_html(region, place, app_url), out, "poster")


_CSS = """
@page { size: A4 portrait; margin: 9mm 10mm; }
* { box-sizing: border-box; }
html, body { margin: 0; width: 190mm; font-family: FONT_STACK; color: #111; font-size: 12pt;
  line-height: 1.25; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
small { font-weight: 400; color: #333; }
header { display: flex; justify-content: space-between; align-items: flex-start;
  border-bottom: 1.2mm solid #d7191c; padding-bottom: 2mm; margin-bottom: 2.5mm; }
header .here { font-size: 15pt; font-weight: 700; color: #b01010; }
header .here i { display: inline-block; width: 4.5mm; height: 4.5mm; border-radius: 50%;
  background: #d7191c; border: 0.8mm solid #fff; box-shadow: 0 0 0 0.3mm #333;
  margin-right: 2mm; vertical-align: -0.6mm; }
h1 { font-size: 28pt; margin: 1mm 0 0; line-height: 1.1; }
h2 { font-size: 17pt; margin: 1mm 0 0; font-weight: 400; color: #222; }
header .where { font-size: 10pt; color: #444; margin-top: 1mm; }
.qr { display: flex; gap: 2.5mm; align-items: center; }
.qr img { width: 34mm; height: 34mm; image-rendering: pixelated; display: block; }
.qr .scan { font-size: 14pt; font-weight: 700; margin: 0; width: 34mm; }
.qr .scan small { display: block; font-size: 11pt; font-weight: 400; margin-top: 1mm; }
.qr .url { display: none; }
figure.map { margin: 0; width: 104mm; height: 92mm; border: 0.4mm solid #777; }
figure.map svg { width: 100%; height: 100%; display: block; }
.legend { font-size: 10.5pt; display: flex; flex-wrap: wrap; gap: 1mm 5mm; align-items: center;
  margin: 1.2mm 0 0; }
.legend span { white-space: nowrap; }
.legend i { display: inline-block; width: 6mm; height: 4mm; margin-right: 1.5mm;
  vertical-align: -0.6mm; border: 0.3mm solid #555; }
.legend i.you { width: 4mm; height: 4mm; border-radius: 50%; background: #d7191c;
  border: 0.6mm solid #fff; box-shadow: 0 0 0 0.3mm #333; }
.legend .bar em { display: inline-block; height: 1.8mm; border: 0.6mm solid #111;
  border-top: 0; margin-right: 1.5mm; }
h3 { font-size: 17pt; margin: 0 0 1mm; }
h3 small { font-size: 11pt; margin-left: 1mm; }
.middle { display: flex; gap: 4mm; }
.mapcol { flex: 0 0 104mm; }
.services { flex: 1 1 auto; min-width: 0; }
.services h3 small { display: block; margin: 0; }
.services ol { list-style: none; margin: 0; padding: 0; }
.services li { display: grid; grid-template-columns: 9mm minmax(0, 1fr) auto; column-gap: 2mm;
  align-items: center; border-bottom: 0.3mm solid #bbb; padding: 0.6mm 0; }
.num { width: 8mm; height: 8mm; border-radius: 50%; display: flex; align-items: center;
  justify-content: center; font-size: 14pt; grid-row: span 2; }
.cat { font-size: 15pt; font-weight: 700; line-height: 1.15; }
.cat small { font-size: 10.5pt; margin-left: 1.5mm; }
.min { grid-row: span 2; font-size: 22pt; font-weight: 700; text-align: right;
  line-height: 1; }
.min small { display: block; font-size: 9.5pt; margin-top: 0.5mm; }
.name { font-size: 11pt; color: #333; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.check { margin-top: 2.5mm; }
.tier { break-inside: avoid; margin-bottom: 1.2mm; }
.tier h4 { font-size: 13.5pt; margin: 0; }
.tier h4 small { font-size: 10pt; margin-left: 1mm; }
.tier ul { list-style: none; margin: 0.3mm 0 0; padding: 0; }
.tier li { font-size: 12.5pt; margin: 0.3mm 0; line-height: 1.2; }
.tier li small { font-size: 10pt; }
.tier li b { display: inline-block; width: 5mm; }
.tier li.no b { color: #b01010; }
.tier li.yes b { color: #1b7837; }
""".replace("FONT_STACK", FONT_STACK)
