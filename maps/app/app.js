/* livingcircle resident app: where am I, what do I need, and how far is it on foot.
   Plain JavaScript over the livingcircle HTTP API; no request leaves this server.
   The URL holds the state (lat, lon, groups, profile, language, rings, open now), so a link
   opens the same answer. Answers are kept in localStorage and by the service worker, so a
   lost connection shows the last answers with their time instead of a blank page. */
"use strict";

// every string the app shows: key: [中文, English]
const TEXT = {
  title: ["生活圈", "Living circle"],
  skip: ["跳到结果", "Skip to results"],
  search_label: ["搜索地点、设施或街道", "Search a place, facility or street"],
  search_results: ["搜索结果", "Search results"],
  search_placeholder: ["搜索地点、设施、街道（中文、拼音或英文）", "Search a place, facility or street"],
  search_go: ["搜索", "Search"],
  menu: ["设置", "Settings"],
  profile: ["步行方式", "Walking"],
  large_text: ["大字", "Large text"],
  print: ["打印", "Print"],
  map_label: ["地图", "Map"],
  locate: ["我在哪", "Where am I"],
  what_label: ["我需要什么", "What do I need"],
  open_now: ["正在营业", "Open now"],
  rings: ["生活圈范围", "My living circle"],
  results_label: ["最近的服务", "Nearest services"],
  min: ["分钟", "min"],
  m: ["米", "m"],
  on_foot: ["步行", "on foot"],
  tap_hint: ["点地图、点“我在哪”或搜索一个地方，看看步行可达的服务。", "Tap the map, press “Where am I” or search a place to see what is within a walk."],
  locating: ["正在定位…", "Finding you…"],
  loading: ["正在查询…", "Looking…"],
  geo_refused: ["无法获取您的位置（定位被拒绝或不可用）。请点地图选一个地方，或搜索。", "Your location is not available (refused or unsupported). Tap the map or search instead."],
  geo_missing: ["此设备不支持定位。请点地图或搜索。", "This device cannot share its location. Tap the map or search instead."],
  nothing: ["附近没有找到所选类别的服务。", "None of the chosen services was found nearby."],
  none_open: ["附近没有正在营业的所选服务。", "None of the chosen services is open nearby."],
  outside: ["这里不在已加载的区域内。", "This place is outside the loaded regions."],
  jump: ["前往", "Go to"],
  offline: ["离线，显示 {t} 的结果", "Offline, shown from {t}"],
  offline_none: ["离线，且此处没有已保存的结果。", "Offline, and nothing is saved for this place."],
  slow: ["服务器没有响应，请稍后再试。", "The server does not answer; try again soon."],
  open: ["营业中", "Open"],
  closed: ["已关闭", "Closed"],
  closing_soon: ["即将关门", "Closing soon"],
  hours_unknown: ["营业时间未知", "Hours unknown"],
  hours: ["营业时间", "Hours"],
  phone: ["电话", "Phone"],
  website: ["网站", "Website"],
  source: ["数据来源", "Record from"],
  close: ["关闭", "Close"],
  route: ["步行路线", "Walking route"],
  no_route: ["没有找到步行路线。", "No walking route found."],
  step_free: ["无障碍路线", "Step-free route"],
  profile_route: ["{p}路线", "{p} route"],
  walking_at: ["步行方式：{p}，{v} 米/秒", "Walking: {p}, {v} m/s"],
  no_way: ["此处附近没有该步行方式可走的街道。", "No street near here can be walked this way."],
  note_dem: ["未载入高程数据：坡度只按街道上标注的坡度计算", "No elevation model was loaded: slopes come from the streets' incline tags only"],
  note_left_out: ["{n} 处设施标明轮椅无法进入，不计为可达", "{n} facilities marked as not wheelchair-accessible are left out"],
  note_reload: ["该区域的街道数据缺少路面、路缘等标注，部分步行规则未生效：请重新导入", "This region was loaded before street tags were kept: some of the profile's rules do not apply until it is loaded again"],
  note_flagged: ["{n} 处设施标明轮椅无法进入：出发前请确认", "{n} facilities are marked as not wheelchair-accessible: check before going"],
  checklist: ["这里的生活圈（GB 50180-2018）", "The living circle here (GB 50180-2018)"],
  all_met: ["{tier}：配套齐全", "{tier}: everything required is there"],
  missing: ["{min} 分钟内没有{what}", "no {what} within a {min}-minute walk"],
  no_results: ["没有找到“{q}”。", "Nothing called “{q}”."],
  suggest: ["您是不是要找：", "Did you mean:"],
  search_down: ["暂时无法搜索。", "Search is not available right now."],
  here: ["您在这里", "You are here"],
  spaces: ["{n} 个空位", "{n} spaces"],
  ago: ["{t} 前", "{t} ago"],
  just_now: ["刚刚", "just now"],
  minutes_ago: ["{n} 分钟", "{n} min"],
  hours_ago: ["{n} 小时", "{n} h"],
  queue: ["排队约 {n} 分钟", "about {n} min queue"],
  lang_other: ["English", "中文"],
  osm: ["地图数据 © OpenStreetMap 贡献者", "Map data © OpenStreetMap contributors"],
};
const DEFAULT_GROUPS = ["daily", "health"];
const TIMEOUT_MS = 8000;
const MAX_LIST = 40;

const state = {
  lat: null, lon: null, region: null, groups: new Set(DEFAULT_GROUPS), profile: "standard",
  lang: (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en",
  rings: false, openNow: false, large: localStorage.getItem("lc:large") === "1",
};
let standard = null, categories = {}, regions = [], answer = null, map, layers;
const catchments = new Map();  // place + profile -> catchment, fetched once each

const $ = (id) => document.getElementById(id);
const t = (key, vars = {}) => ((TEXT[key] || [])[state.lang === "zh" ? 0 : 1] || key)
  .replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
const label = (obj) => (state.lang === "zh" ? obj.label_zh || obj.label_en : obj.label_en || obj.label_zh);
const fmtMin = (s) => (s / 60 < 10 ? (s / 60).toFixed(1) : Math.round(s / 60).toString());
const hhmm = (d) => d.toLocaleTimeString(state.lang === "zh" ? "zh-CN" : "en-GB", { hour: "2-digit", minute: "2-digit" });

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child.nodeType ? child : String(child));
  }
  return node;  // text goes in as text nodes: nothing a user types becomes HTML
}

/* -- the API, with a timeout and the last answer kept for a bad connection ------------- */

class Problem extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, { keep = true } = {}) {
  const control = new AbortController();
  const timer = setTimeout(() => control.abort(), TIMEOUT_MS);
  try {
    const response = await fetch(path, { signal: control.signal, headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Problem(response.status, body.detail || response.statusText);
    const cachedAt = response.headers.get("x-lc-offline");
    if (cachedAt) showOffline(new Date(cachedAt));
    else if (keep) remember(path, body);
    return body;
  } catch (error) {
    if (error instanceof Problem) throw error;
    const kept = recall(path);
    if (kept) { showOffline(new Date(kept.at)); return kept.body; }
    throw new Problem(0, navigator.onLine ? t("slow") : t("offline_none"));
  } finally {
    clearTimeout(timer);
  }
}

/* Kept answers are keyed by the question without its clock: the last answer for a place
   is shown offline whatever time it was asked at. */
const keyOf = (path) => "lc:answer:" + path.replace(/([?&])open_at=[^&]*&?/, "$1").replace(/[?&]$/, "");

function remember(path, body) {
  try {
    localStorage.setItem(keyOf(path), JSON.stringify({ at: Date.now(), body }));
  } catch (_) { /* storage full: the service worker still has it */ }
}

function recall(path) {
  try { return JSON.parse(localStorage.getItem(keyOf(path))); } catch (_) { return null; }
}

function showOffline(when) {
  const banner = $("banner");
  banner.textContent = t("offline", { t: hhmm(when) });
  banner.hidden = false;
}

/* -- the map ------------------------------------------------------------------------- */

function setUpMap() {
  map = L.map("map", { preferCanvas: true, zoomControl: true, maxZoom: 19, minZoom: 11 });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(t("osm"));
  L.control.scale({ imperial: false, metric: true, position: "bottomleft" }).addTo(map);
  layers = {
    streets: L.layerGroup().addTo(map),
    rings: L.layerGroup().addTo(map),
    route: L.layerGroup().addTo(map),
    legs: L.layerGroup().addTo(map),
    places: L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 36 }).addTo(map),
    here: L.layerGroup().addTo(map),
  };
  map.on("click", (e) => setPlace(e.latlng.lat, e.latlng.lng));
  map.setView([30, 120], 4);
}

let streetsBox = null;  // [region, west, south, east, north] of the streets drawn

async function drawStreets(region, lat, lon) {
  const d = 0.01;  // about 1 km around the place: what a 15-minute walk covers
  const [w, s, e, n] = [lon - d * 2, lat - d, lon + d * 2, lat + d];
  const b = streetsBox;  // still well inside what is drawn: nothing to ask for
  if (b && b[0] === region && lon - b[1] > d && b[3] - lon > d && lat - b[2] > d / 2 && b[4] - lat > d / 2) return;
  const bbox = [w, s, e, n].map((v) => v.toFixed(5)).join(",");
  try {
    const streets = await api(`/v1/regions/${encodeURIComponent(region)}/streets?bbox=${bbox}`);
    layers.streets.clearLayers();
    L.geoJSON(streets, { interactive: false, style: { color: "#9aa5b1", weight: 1.6, opacity: 0.9 } })
      .addTo(layers.streets);
    streetsBox = [region, w, s, e, n];
  } catch (_) { /* streets are a backdrop: the answer still shows without them */ }
}

/* One character for a category, beside its colour (never colour alone): its Chinese name
   without a shared prefix (社区卫生服务站 -> 卫), or its English initial. */
function mark(cat) {
  const c = categories[cat] || { label_zh: "?", label_en: "?" };
  if (state.lang !== "zh") return c.label_en.trim().charAt(0).toUpperCase();
  return c.label_zh.replace(/^(社区|公共|生活)/, "").trim().charAt(0);
}

function pin(cat, title) {
  const c = categories[cat] || { color: "#555" };
  const glyph = mark(cat);
  return L.divIcon({ className: "pin", html: `<span style="background:${c.color}">${escapeHtml(glyph)}</span>`,
                     iconSize: null, title });
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/* -- where am I ---------------------------------------------------------------------- */

async function setPlace(lat, lon, { fit = false } = {}) {
  performance.mark("lc-place");  // bench/bench_app.py reads the "lc-answer" measures
  state.lat = Number(lat.toFixed(6)); state.lon = Number(lon.toFixed(6));
  saveUrl();
  layers.here.clearLayers();
  L.marker([state.lat, state.lon], { icon: L.divIcon({ className: "here", iconSize: null }),
                                     title: t("here"), alt: t("here"), keyboard: false })
    .addTo(layers.here);
  if (fit || map.getZoom() < 14) map.setView([state.lat, state.lon], 16);
  await refresh();
}

function locate() {
  if (!("geolocation" in navigator)) { say(t("geo_missing"), true); return; }
  say(t("locating"));
  navigator.geolocation.getCurrentPosition(
    (pos) => setPlace(pos.coords.latitude, pos.coords.longitude, { fit: true }),
    () => say(t("geo_refused"), true),
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
}

/* -- what do I need ------------------------------------------------------------------ */

function wanted() {
  const cats = new Set();
  for (const g of standard.groups) if (state.groups.has(g.id)) g.categories.forEach((c) => cats.add(c));
  return [...cats];
}

async function refresh() {
  if (state.lat === null) { say(t("tap_hint")); return; }
  const cats = wanted();
  $("card").hidden = true;
  layers.route.clearLayers();
  say(t("loading"));
  const query = new URLSearchParams({ lat: state.lat, lon: state.lon, k: 1, routes: "false",
                                      profile: state.profile });
  cats.forEach((c) => query.append("category", c));
  if (state.groups.has("parking")) query.set("skip_full", "true");  // car parks reported full
  if (state.openNow) {  // the device's clock, to the minute (the server's is the default)
    query.set("open_now", "true");
    query.set("open_at", new Date(Math.floor(Date.now() / 60000) * 60000).toISOString());
  }
  try {
    answer = await api(`/v1/nearest?${query}`);
  } catch (error) {
    answer = null;
    showProblem(error);
    return;
  }
  state.region = answer.properties.region;
  drawStreets(state.region, state.lat, state.lon);
  drawAnswer();
  if (performance.getEntriesByName("lc-place").length) performance.measure("lc-answer", "lc-place");
  if (state.rings) await showRings(); else { layers.rings.clearLayers(); $("checklist").hidden = true; }
}

/* The walking profile the answer was walked at, and what it left out or assumed. */
function drawWalking(props) {
  const box = $("walking"), p = profileOf(props.profile || state.profile);
  if (!p || p.id === "standard") { box.hidden = true; return; }
  box.replaceChildren(el("strong", {}, t("walking_at", { p: label(p), v: props.speed_m_s ?? p.speed_m_s })),
    ...(props.notes || []).map((n) => el("span", { class: "note" }, noteText(n))));
  box.hidden = false;
}

function profileOf(id) { return standard.profiles.find((p) => p.id === id); }

function noteText(note) {  // the engine's notes are English: the known kinds in either language
  const kinds = [["elevation model", "note_dem"], ["are not reachable", "note_left_out"],
                 ["check before going", "note_flagged"], ["loaded before they were kept", "note_reload"]];
  const kind = kinds.find(([words]) => note.includes(words));
  const n = (note.match(/^(\d+) /) || [])[1] || "";
  return kind ? t(kind[1], { n }) : note;
}

function routeName() {
  if (state.profile === "standard") return t("route");
  if (state.profile === "step-free") return t("step_free");
  const p = profileOf(state.profile);
  return p ? t("profile_route", { p: label(p) }) : t("route");
}

function hits() {
  const found = answer.features.filter((f) => f.properties.kind === "facility");
  return state.openNow ? found.filter((f) => f.properties.open_status !== "closed") : found;
}

function drawAnswer() {
  drawWalking(answer.properties);
  const list = $("results");
  list.replaceChildren();
  layers.places.clearLayers();
  layers.legs.clearLayers();
  const found = hits().sort((a, b) => a.properties.time_s - b.properties.time_s).slice(0, MAX_LIST);
  say(found.length ? "" : t(state.openNow ? "none_open" : "nothing"));
  for (const f of found) {
    const p = f.properties, [lon, lat] = f.geometry.coordinates;
    const name = (state.lang === "zh" ? p.name_zh || p.name : p.name || p.name_zh) || label({ label_zh: p.category_zh, label_en: p.category_en });
    const title = `${name}, ${fmtMin(p.time_s)} ${t("min")}`;
    L.marker([lat, lon], { icon: pin(p.category, title), title, alt: title })
      .on("click", () => openCard(f)).addTo(layers.places);
    if (p.access_from) {  // it stands off the street: draw the walk from the street to it
      L.polyline([[p.access_from[1], p.access_from[0]], [lat, lon]],
                 { color: "#3d4852", weight: 2, dashArray: "4 4", interactive: false }).addTo(layers.legs);
    }
    list.append(el("li", {}, el("button", { type: "button", onclick: () => openCard(f) },
      glyph(p.category),
      el("span", { class: "name" }, name),
      el("span", { class: "walk" }, el("strong", {}, `${fmtMin(p.time_s)} ${t("min")}`),
         `${Math.round(p.distance_m)} ${t("m")}`),
      el("span", { class: "what" }, label({ label_zh: p.category_zh, label_en: p.category_en }), " ",
         openState(p), liveState(p)))));
  }
}

function glyph(cat) {
  const c = categories[cat] || { color: "#555" };
  return el("span", { class: "glyph", style: `background:${c.color}`, "aria-hidden": "true" }, mark(cat));
}

function openState(p) {
  if (!p.open_status) return null;
  if (p.open_status === "open" && p.closing_soon) return el("span", { class: "state soon" }, t("closing_soon"));
  const word = { open: "open", closed: "closed" }[p.open_status] || "hours_unknown";
  return el("span", { class: `state ${p.open_status}` }, t(word));
}

function liveState(p) {
  const s = p.status;
  if (!s) return null;
  const parts = [];
  if (s.spaces_free !== undefined && s.spaces_free !== null) parts.push(t("spaces", { n: s.spaces_free }));
  if (s.queue_minutes !== undefined && s.queue_minutes !== null) parts.push(t("queue", { n: s.queue_minutes }));
  if (s.note) parts.push(s.note);
  if (!parts.length) return null;
  return el("span", { class: "live" }, " · ", parts.join(" · "), " · ", age(s.age_s));
}

function age(seconds) {
  if (seconds === undefined || seconds === null || seconds < 60) return t("just_now");
  const span = seconds < 3600 ? t("minutes_ago", { n: Math.round(seconds / 60) })
                              : t("hours_ago", { n: Math.round(seconds / 3600) });
  return t("ago", { t: span });
}

/* -- take me there ------------------------------------------------------------------- */

async function openCard(feature) {
  const p = feature.properties, card = $("card");
  const name = (state.lang === "zh" ? p.name_zh || p.name : p.name || p.name_zh) || label({ label_zh: p.category_zh, label_en: p.category_en });
  const rows = [[t("on_foot"), `${fmtMin(p.time_s)} ${t("min")} · ${Math.round(p.distance_m)} ${t("m")}`],
                [t("route"), routeName()]];
  if (p.opening_hours) rows.push([t("hours"), p.opening_hours]);
  card.replaceChildren(
    el("button", { type: "button", class: "close", "aria-label": t("close"), onclick: () => { card.hidden = true; layers.route.clearLayers(); } }, "×"),
    el("h2", {}, name),
    el("p", { class: "what" }, `${p.category_zh} · ${p.category_en}`, " ", openState(p), liveState(p)),
    detailList(rows));
  card.hidden = false;
  card.scrollIntoView({ block: "nearest" });
  drawRoute(p);
  try {  // phone, website and the record's source come with the facility itself
    const full = await api(`/v1/regions/${encodeURIComponent(state.region)}/facilities/${encodeURIComponent(p.id)}`);
    const tags = full.properties.tags || {};
    const more = [...rows];
    const phone = tags.phone || tags["contact:phone"], site = tags.website || tags["contact:website"];
    if (phone) more.push([t("phone"), el("a", { href: `tel:${phone.replace(/[^+\d]/g, "")}` }, phone)]);
    if (site && /^https?:\/\//.test(site)) more.push([t("website"), el("a", { href: site, rel: "noopener noreferrer", target: "_blank" }, site)]);
    const source = full.properties.source || "osm";
    more.push([t("source"), source === "osm" ? "OpenStreetMap" : source]);
    card.querySelector("dl").replaceWith(detailList(more));
  } catch (_) { /* the card already shows what the answer held */ }
}

function detailList(rows) {
  return el("dl", {}, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

async function drawRoute(p) {
  layers.route.clearLayers();
  const query = new URLSearchParams({ lat: state.lat, lon: state.lon, k: 1, routes: "true",
                                      profile: state.profile, category: p.category });
  try {
    const routed = await api(`/v1/nearest?${query}`);
    const route = routed.features.find((f) => f.properties.kind === "route" && f.properties.id === p.id);
    if (!route) { say(t("no_route")); return; }
    L.geoJSON(route, { style: { color: "#0b5394", weight: 6, opacity: 0.85 } }).addTo(layers.route);
    const [lon, lat] = [p.lon, p.lat];
    map.fitBounds(L.geoJSON(route).getBounds().pad(0.3), { maxZoom: 18 });
  } catch (error) { showProblem(error); }
}

/* -- my living circle ---------------------------------------------------------------- */

async function showRings() {
  const key = `${state.lat},${state.lon},${state.profile}`;
  let rings = catchments.get(key);
  if (!rings) {
    const query = new URLSearchParams({ lat: state.lat, lon: state.lon, profile: state.profile });
    try { rings = await api(`/v1/catchment?${query}`); } catch (error) { showProblem(error); return; }
    catchments.set(key, rings);
  }
  layers.rings.clearLayers();
  const shade = { 5: "#08519c", 10: "#3182bd", 15: "#6baed6" };
  for (const f of rings.features.filter((x) => x.properties.kind === "ring")) {
    L.geoJSON(f, { interactive: false, style: { color: shade[f.properties.minutes] || "#6baed6", weight: 2,
                                                fillOpacity: 0.12, dashArray: f.properties.minutes === 15 ? "6 4" : null } })
      .addTo(layers.rings);
  }
  drawChecklist(rings.properties.tiers);
}

function drawChecklist(tiers) {
  const box = $("checklist");
  box.replaceChildren(el("h2", {}, t("checklist")));
  for (const tier of tiers) {
    const missing = tier.requirements.filter((r) => !r.present);
    const tierName = label(tier);
    if (!missing.length) { box.append(el("p", {}, "✓ ", t("all_met", { tier: tierName }))); continue; }
    box.append(el("p", {}, el("strong", {}, tierName)),
      el("ul", {}, missing.map((r) => el("li", { class: "missing" }, "✗ ",
        t("missing", { min: tier.minutes, what: state.lang === "zh" ? r.label_zh : r.label_en.toLowerCase() })))));
  }
  box.hidden = false;
}

/* -- search -------------------------------------------------------------------------- */

async function search(text) {
  const q = text.trim().slice(0, 100);
  const box = $("search-results");
  if (!q) { box.hidden = true; return; }
  const query = new URLSearchParams({ q, limit: 8 });
  if (state.lat !== null) { query.set("lat", state.lat); query.set("lon", state.lon); }
  if (state.region) query.set("region", state.region);
  let found;
  try { found = await api(`/v1/search?${query}`, { keep: false }); } catch (error) {
    box.replaceChildren(el("li", { class: "hint" }, error.status === 404 ? t("search_down") : error.message));
    box.hidden = false; return;
  }
  box.replaceChildren();
  for (const f of found.features) {
    const p = f.properties, [lon, lat] = f.geometry.coordinates;
    const kind = p.category_zh ? `${label({ label_zh: p.category_zh, label_en: p.category_en })}` : "";
    box.append(el("li", {}, el("button", { type: "button", onclick: () => {
      box.hidden = true; $("search").value = p.name || p.name_zh; setPlace(lat, lon, { fit: true });
    } }, el("span", { class: "name" }, p.name_zh && state.lang === "zh" ? p.name_zh : p.name || p.name_zh), " ",
      el("span", { class: "what" }, kind))));
  }
  if (!found.features.length) {
    const tips = (found.properties && found.properties.suggestions) || [];
    box.append(el("li", { class: "hint" }, t("no_results", { q }), tips.length ? ` ${t("suggest")} ` : "",
      tips.map((s) => el("button", { type: "button", class: "chip", onclick: () => { $("search").value = s; search(s); } }, s))));
  }
  box.hidden = false;
}

/* -- messages, problems, the URL ----------------------------------------------------- */

function say(text, error = false) {
  const m = $("message");
  m.replaceChildren(text);
  m.classList.toggle("error", error);
}

function showProblem(error) {
  if (error.status === 404 || error.status === 422) {  // outside every region, or a bad spot
    const m = $("message");
    const noWay = / way from here/.test(error.message || "");  // a profile's streets: say so first
    m.replaceChildren(...(noWay ? [t("no_way"), el("br")] : []), error.message || t("outside"));
    m.classList.add("error");
    if (/outside/.test(error.message || "")) {
      m.append(el("br"), ...regions.map((r) => el("button", { type: "button", onclick: () => setPlace(r.lat, r.lon, { fit: true }) },
                                              `${t("jump")} ${r.name}`)));
    }
    $("results").replaceChildren();
    layers.places.clearLayers();
    return;
  }
  say(error.message || t("slow"), true);
}

function saveUrl() {
  const q = new URLSearchParams();
  if (state.lat !== null) { q.set("lat", state.lat); q.set("lon", state.lon); }
  q.set("groups", [...state.groups].join(","));
  q.set("profile", state.profile);
  q.set("lang", state.lang);
  if (state.rings) q.set("rings", "1");
  if (state.openNow) q.set("open", "1");
  history.replaceState(null, "", `?${q}`);
}

function readUrl() {
  const q = new URLSearchParams(location.search);
  const lat = parseFloat(q.get("lat")), lon = parseFloat(q.get("lon"));
  if (Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    state.lat = lat; state.lon = lon;
  }
  if (q.get("groups") !== null) state.groups = new Set(q.get("groups").split(",").filter(Boolean).slice(0, 20));
  if (/^[a-z0-9_-]{1,32}$/.test(q.get("profile") || "")) state.profile = q.get("profile");
  if (["zh", "en"].includes(q.get("lang"))) state.lang = q.get("lang");
  state.rings = q.get("rings") === "1";
  state.openNow = q.get("open") === "1";
}

/* -- the page's words and controls --------------------------------------------------- */

function translate() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = `${t("title")} · ${state.lang === "zh" ? "Living circle" : "生活圈"}`;
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((n) => { n.placeholder = t(n.dataset.i18nPlaceholder); });
  document.querySelectorAll("[data-i18n-aria]").forEach((n) => n.setAttribute("aria-label", t(n.dataset.i18nAria)));
  const other = $("lang");
  other.textContent = state.lang === "zh" ? "EN" : "中文";
  other.setAttribute("aria-label", t("lang_other"));
  other.lang = state.lang === "zh" ? "en" : "zh-CN";
  if (map) { map.attributionControl.remove(); map.attributionControl = L.control.attribution({ prefix: false }).addTo(map); map.attributionControl.addAttribution(t("osm")); }
  drawChips();
  drawProfiles();
}

function drawChips() {
  $("chips").replaceChildren(...standard.groups.map((g) => el("button", {
    type: "button", class: "chip", "aria-pressed": state.groups.has(g.id) ? "true" : "false",
    onclick: () => { state.groups.has(g.id) ? state.groups.delete(g.id) : state.groups.add(g.id); saveUrl(); drawChips(); refresh(); },
  }, label(g))));
}

function drawProfiles() {
  const select = $("profile");
  select.replaceChildren(...standard.profiles.map((p) => el("option", { value: p.id, selected: p.id === state.profile },
    `${label(p)} (${p.speed_m_s} m/s)`)));
}

function wire() {
  $("locate").addEventListener("click", locate);
  $("lang").addEventListener("click", () => { state.lang = state.lang === "zh" ? "en" : "zh"; saveUrl(); translate(); if (answer) drawAnswer(); if (state.rings && state.lat !== null) showRings(); });
  $("menu-button").addEventListener("click", () => {
    const menu = $("menu"); menu.hidden = !menu.hidden;
    $("menu-button").setAttribute("aria-expanded", String(!menu.hidden));
  });
  $("profile").addEventListener("change", (e) => { state.profile = e.target.value; saveUrl(); refresh(); });
  $("large-text").checked = state.large;
  $("large-text").addEventListener("change", (e) => {
    state.large = e.target.checked; document.body.classList.toggle("large", state.large);
    localStorage.setItem("lc:large", state.large ? "1" : "0");
  });
  $("print").addEventListener("click", () => window.print());
  $("open-now").checked = state.openNow;
  $("open-now").addEventListener("change", (e) => { state.openNow = e.target.checked; saveUrl(); refresh(); });
  $("rings").checked = state.rings;
  $("rings").addEventListener("change", (e) => { state.rings = e.target.checked; saveUrl(); if (state.rings) showRings(); else { layers.rings.clearLayers(); $("checklist").hidden = true; } });
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); search($("search").value); });
  window.addEventListener("online", () => { $("banner").hidden = true; });
}

async function start() {
  readUrl();
  saveUrl();  // what was kept of a hand-made link: nothing else stays in the address
  document.body.classList.toggle("large", state.large);
  setUpMap();
  try {
    const [std, cats, regs] = await Promise.all([api("/v1/standards"), api("/v1/categories"), api("/v1/regions")]);
    standard = std;
    cats.forEach((c) => { categories[c.id] = c; });
    regions = regs.features.map((f) => {
      const [w, s, e, n] = f.bbox || L.geoJSON(f).getBounds().toBBoxString().split(",").map(Number);
      return { name: f.properties.name, lat: (s + n) / 2, lon: (w + e) / 2 };
    });
  } catch (error) {
    say(error.message || t("slow"), true);
    return;
  }
  if (!standard.profiles.some((p) => p.id === state.profile)) state.profile = "standard";
  translate();
  wire();
  if (state.lat !== null) await setPlace(state.lat, state.lon, { fit: true });
  else if (regions.length) { map.setView([regions[0].lat, regions[0].lon], 14); say(t("tap_hint")); }
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
}

start();
