/* The resident app's service worker: the app and its fonts from the cache first (refreshed
   in the background), answers and streets from the network first with the last copy as the
   fallback. A copy served for a lost connection says when it was fetched (x-lc-offline), so
   the app can show "offline, shown from HH:MM". Nothing here talks to another host. */
"use strict";
const SHELL = "lc-shell-v1";
const DATA = "lc-data-v1";
const SHELL_FILES = ["/", "/app/app.js", "/app/app.css", "/app/icon.svg", "/app/manifest.webmanifest",
  "/app/vendor/leaflet.js", "/app/vendor/leaflet.css", "/app/vendor/markercluster.js",
  "/app/vendor/MarkerCluster.css", "/app/vendor/MarkerCluster.Default.css",
  "/assets/fonts/noto-sans-sc-400.css"];
const NETWORK_MS = 6000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => ![SHELL, DATA].includes(n)).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/v1/")) event.respondWith(networkFirst(event.request));
  else if (url.pathname === "/" || url.pathname.startsWith("/app/") || url.pathname.startsWith("/assets/fonts/"))
    event.respondWith(cacheFirst(event.request, url.pathname === "/" ? "/" : event.request));
});

async function cacheFirst(request, key) {
  const cache = await caches.open(SHELL);
  const hit = await cache.match(key, { ignoreSearch: key === "/" });
  const fresh = fetch(request).then((response) => {
    if (response.ok) cache.put(key, response.clone());
    return response;
  }).catch(() => null);
  return hit || (await fresh) || new Response("offline", { status: 503 });
}

/* The cache key of an answer: its URL without the clock (open_at). */
function keyOf(request) {
  const url = new URL(request.url);
  url.searchParams.delete("open_at");
  return url.toString();
}

async function networkFirst(request) {
  const cache = await caches.open(DATA);
  const key = keyOf(request);
  try {
    const response = await withTimeout(fetch(request), NETWORK_MS);
    if (response.ok) {
      const copy = new Headers(response.headers);
      copy.set("x-lc-fetched", new Date().toISOString());
      cache.put(key, new Response(await response.clone().blob(), { status: response.status, headers: copy }));
    }
    return response;
  } catch (error) {
    const hit = await cache.match(key);
    if (!hit) throw error;
    const headers = new Headers(hit.headers);
    headers.set("x-lc-offline", hit.headers.get("x-lc-fetched") || new Date().toISOString());
    return new Response(await hit.blob(), { status: hit.status, headers });
  }
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}
