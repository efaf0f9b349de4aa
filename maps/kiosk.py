"""The kiosk page: a full-screen local map and the nearest everyday services, in big type.

Always offline (Leaflet inlined, streets drawn instead of tiles), landscape or portrait,
Chinese first (or English, per kiosk). The list lives in a JSON block; served over HTTP the
page asks the API for fresh data every ``refresh_s`` seconds and redraws the list in place,
keeping the last good data when the network fails, never reloading itself.
"""

from __future__ import annotations

import html
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import folium
import shapely
from branca.element import Element

from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter, UnknownKiosk
from livingcircle.geo.kiosks import Kiosk
from livingcircle.geo.results import NearestResult
from livingcircle.geo.standards import Standard
from livingcircle.geo.status import describe
from livingcircle.geo.store import Store
from livingcircle.maps.base import Display, add_streets, base_map, finish, ink
from livingcircle.maps.offline import FONT_STACK, page
from livingcircle.maps.resident import you_are_here

DEFAULT_KIOSKS_FILE = Path(__file__).with_name("kiosks.toml")
WALK_MINUTES = 15


def load_kiosks(path: Path | None = None) -> dict[str, Kiosk]:
    """Kiosks from a TOML file (``maps/kiosks.toml`` by default)."""
    source = path or DEFAULT_KIOSKS_FILE
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
        return {
            kid: Kiosk(
                id=kid,
                name_zh=k["name_zh"],
                name_en=k["name_en"],
                region=k["region"],
                lat=float(k["lat"]),
                lon=float(k["lon"]),
                language=k.get("language", "zh"),
                categories=tuple(k["categories"]),
                refresh_s=int(k.get("refresh_s", 300)),
            )
            for kid, k in raw.get("kiosks", {}).items()
        }
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError) as exc:
        raise InvalidParameter(f"cannot read kiosks file {source}: {exc}") from exc


def served_kiosks(store: Store, path: Path | None = None) -> dict[str, Kiosk]:
    """The kiosks of the TOML file and those kept in the store (the store's win on an id)."""
    kiosks = load_kiosks(path)
    kiosks |= {k.id: k for k in store.kiosks()}
    return dict(sorted(kiosks.items()))


def kiosk(kiosk_id: str, path: Path | None = None) -> Kiosk:
    """One kiosk by id; raises :class:`UnknownKiosk`."""
    return pick_kiosk(load_kiosks(path), kiosk_id)


def pick_kiosk(kiosks: Mapping[str, Kiosk], kiosk_id: str) -> Kiosk:
    """Kiosk ``kiosk_id`` of ``kiosks``; raises :class:`UnknownKiosk` naming the ones there are."""
    if kiosk_id not in kiosks:
        raise UnknownKiosk(kiosk_id, kiosks)
    return kiosks[kiosk_id]


def kiosk_data(
    k: Kiosk,
    nearest: NearestResult,
    standard: Standard,
    statuses: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """What the list shows (also the JSON the page refreshes from).

    ``statuses`` are the fresh live statuses by facility id (``StatusRules.shown``); a
    service with one carries it and its words in both languages (``status_zh``,
    ``status_en``: "42 个空位 · 2 分钟前").
    """
    colors = {c.id: c.color for c in standard.categories}
    rows = []
    for cat_id, hits in nearest.by_category.items():
        if hits:
            h = hits[0]
            rows.append(
                {
                    "category": cat_id,
                    "color": colors[cat_id],
                    "label_zh": h.label_zh,
                    "label_en": h.label_en,
                    "name": h.name_zh or h.name or "",
                    "minutes": round(h.time_s / 60, 1),
                    "metres": round(h.distance_m),
                    "lon": h.lon,
                    "lat": h.lat,
                    **_status_words((statuses or {}).get(h.id)),
                }
            )
    rows.sort(key=lambda r: r["minutes"])
    return {
        "kiosk": k.id,
        "name_zh": k.name_zh,
        "name_en": k.name_en,
        "language": k.language,
        "services": rows,
    }


def _status_words(shown: Mapping[str, Any] | None) -> dict[str, Any]:
    if shown is None:
        return {}
    return {
        "status": dict(shown),
        "status_zh": describe(shown, "zh"),
        "status_en": describe(shown, "en"),
    }


def kiosk_page(
    k: Kiosk,
    region: Region,
    refresh_url: str | None = None,
    font_url: str | None = None,
    statuses: Mapping[str, Mapping[str, Any]] | None = None,
) -> folium.Map:
    """The kiosk's page as a Folium map (``.save(path)`` or ``.get_root().render()``).

    The web font is inlined (the subsets the page's text needs), or linked from ``font_url``
    when the API serves the page: its list may then show names the first page did not.
    """
    near = region.nearest(k.lon, k.lat, k.categories, k=1, max_minutes=WALK_MINUTES)
    data = kiosk_data(k, near, region.standard, statuses)
    show = Display("none")
    fmap = base_map(k.lon, k.lat, show, offline=True, zoom=16, zoom_control=False)
    add_streets(fmap, region.streets_near(k.lon, k.lat, WALK_MINUTES * 60 + 300), show)
    for hits in near.by_category.values():
        if hits and hits[0].route is not None:
            color = region.standard.category(hits[0].category).color
            folium.PolyLine(
                [(y, x) for x, y in shapely.get_coordinates(hits[0].route)],
                color=color,
                weight=5,
                opacity=0.8,
            ).add_to(fmap)
    for i, row in enumerate(data["services"], start=1):
        folium.Marker(
            [row["lat"], row["lon"]],
            icon=folium.DivIcon(
                html=f"<div class='lc-kiosk-pin' style='background:{row['color']};"
                f"color:{ink(row['color'])}'>{i}</div>",
                icon_size=(34, 34),
                icon_anchor=(17, 17),
            ),
        ).add_to(fmap)
    you_are_here(fmap, k.lon, k.lat, show, radius=14)
    root = page(fmap)
    root.header.add_child(Element(f"<style>{_CSS}</style>"), name="lc_kiosk_css")
    root.html.add_child(Element(_panel(k, data, refresh_url)), name="lc_kiosk_panel")
    return finish(fmap, offline=True, font_url=font_url)


def _panel(k: Kiosk, data: dict[str, Any], refresh_url: str | None) -> str:
    first, second = (k.name_zh, k.name_en) if k.language == "zh" else (k.name_en, k.name_zh)
    blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    config = json.dumps(
        {"refresh_url": refresh_url, "refresh_s": k.refresh_s, "language": k.language}
    )
    return (
        f"<aside id='lc-panel'><header><div class='lc-here-label'><i></i>"
        f"{'您在这里' if k.language == 'zh' else 'You are here'}</div>"
        f"<h1>{html.escape(first)}</h1><h2>{html.escape(second)}</h2></header>"
        f"<ol id='lc-services'></ol><footer id='lc-updated'></footer></aside>"
        f"<script id='lc-data' type='application/json'>{blob}</script>"
        f"<script>var LC_KIOSK = {config};{_JS}</script>"
    )


_CSS = """
html, body { margin: 0; height: 100%; font-family: FONT_STACK; }
.folium-map { position: absolute !important; left: 0; top: 0; width: 62vw !important;
  height: 100vh !important; }
#lc-panel { position: absolute; right: 0; top: 0; width: 38vw; height: 100vh;
  box-sizing: border-box; padding: 20px 32px; overflow: hidden; display: flex;
  flex-direction: column; background: #fbfaf7;
  border-left: 4px solid #d7191c; font-size: 26px; line-height: 1.3; color: #1d1d1d; }
#lc-panel h1 { font-size: 44px; margin: 4px 0 0; }
#lc-panel h2 { font-size: 28px; margin: 0 0 10px; color: #555; font-weight: 500; }
.lc-here-label { font-size: 28px; color: #d7191c; font-weight: 700; }
.lc-here-label i { display: inline-block; width: 22px; height: 22px; border-radius: 50%;
  background: #d7191c; border: 3px solid #fff; box-shadow: 0 0 3px #333; margin-right: 10px;
  vertical-align: -3px; }
#lc-services { list-style: none; margin: 0; padding: 0; flex: 1 1 auto; min-height: 0;
  display: flex; flex-direction: column; }
#lc-services li { flex: 1 1 0; min-height: 0; max-height: 120px; display: grid;
  grid-template-columns: 52px 1fr auto; gap: 0 14px; align-content: center;
  align-items: center; border-bottom: 2px solid #e5e1d8; }
.lc-num { width: 44px; height: 44px; border-radius: 50%; color: #fff; font-weight: 700;
  display: flex; align-items: center; justify-content: center; font-size: 26px; }
.lc-cat { font-size: 30px; font-weight: 700; }
.lc-cat small { font-size: 24px; font-weight: 500; color: #555; margin-left: 8px; }
.lc-name { grid-column: 2; font-size: 24px; color: #444; }
.lc-min { grid-row: 1 / span 2; grid-column: 3; text-align: right; font-size: 40px;
  font-weight: 700; }
.lc-min span { display: block; font-size: 24px; font-weight: 500; color: #555; }
.lc-status { grid-column: 2; font-size: 24px; font-weight: 700; color: #0b5394; }
#lc-updated { margin-top: 10px; font-size: 24px; color: #777; }
.lc-kiosk-pin { width: 34px; height: 34px; border-radius: 50%; color: #fff; font-weight: 700;
  font-size: 20px; text-align: center; border: 3px solid #fff;
  box-shadow: 0 0 4px rgba(0,0,0,.5); box-sizing: border-box; line-height: 28px; }
.leaflet-control-attribution { font-size: 14px; }
@media (orientation: portrait) {
  .folium-map { width: 100vw !important; height: 40vh !important; }
  #lc-panel { top: 40vh; width: 100vw; height: 60vh; border-left: 0;
    border-top: 4px solid #d7191c; }
}
""".replace("FONT_STACK", FONT_STACK)

_JS = """
(function () {
  function ink(hex) {  // black or white, whichever contrasts more (as maps/base.py ink)
    var c = [1, 3, 5].map(function (i) {
      var v = parseInt(hex.substr(i, 2), 16) / 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    var lum = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    return (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) ? '#000000' : '#ffffff';
  }
  function render(data) {
    var list = document.getElementById('lc-services');
    var zh = data.language !== 'en';
    list.innerHTML = '';
    data.services.forEach(function (s, i) {
      var li = document.createElement('li');
      var num = document.createElement('div');
      num.className = 'lc-num'; num.textContent = i + 1;
      num.style.background = s.color || '#555';
      num.style.color = ink(s.color || '#555');
      var cat = document.createElement('div'); cat.className = 'lc-cat';
      cat.textContent = zh ? s.label_zh : s.label_en;
      var small = document.createElement('small');
      small.textContent = zh ? s.label_en : s.label_zh; cat.appendChild(small);
      var min = document.createElement('div'); min.className = 'lc-min';
      min.textContent = Math.round(s.minutes);
      var unit = document.createElement('span');
      unit.textContent = zh ? '分钟 · min' : 'min · 分钟'; min.appendChild(unit);
      var name = document.createElement('div'); name.className = 'lc-name';
      name.textContent = (s.name ? s.name + ' · ' : '') + s.metres + ' m';
      li.appendChild(num); li.appendChild(cat); li.appendChild(min); li.appendChild(name);
      if (s.status_zh) {  // a department's live report, with its age
        var live = document.createElement('div'); live.className = 'lc-status';
        live.textContent = zh ? s.status_zh : s.status_en;
        li.appendChild(live);
      }
      list.appendChild(li);
    });
    document.getElementById('lc-updated').textContent =
      (zh ? '步行时间按 1 米/秒计 · ' : '') + 'Walking at 1 m/s · ' +
      new Date().toLocaleTimeString();
  }
  var current = JSON.parse(document.getElementById('lc-data').textContent);
  render(current);
  var cfg = window.LC_KIOSK;
  if (cfg.refresh_url && location.protocol.indexOf('http') === 0) {
    setInterval(function () {
      fetch(cfg.refresh_url, {cache: 'no-store'})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (fresh) { current = fresh; render(current); })
        .catch(function () { /* keep showing the last good data */ });
    }, cfg.refresh_s * 1000);
    // the app's service worker keeps this page, its font and its data for a restart
    // without a network (the page itself is already whole: Leaflet and the map inlined)
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/sw.js').catch(function () {});
    }
  }
})();
"""
