"""The resident app: how much a phone downloads, and how fast a tap becomes an answer.

Starts ``livingcircle serve`` on the sample over loopback and measures, in one run:

* the app shell's compressed size (what the first visit downloads with gzip: the page, its
  script and styles, Leaflet and the cluster plugin, the manifest and icon), without the
  street outline, which is listed apart, as are the web fonts;
* the time from a tap on the map to the drawn answer (the app's own ``lc-answer``
  performance measure: request, answer, list and markers drawn), over N taps at random
  points of the sample in Debian's Chromium at 390 x 844, p50 and p95.

Targets (issue 13): shell <= 300 kB compressed; tap to answer p95 <= 150 ms on loopback.

    python bench/bench_app.py [--taps 50]
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fmt, table

from tests.maps.browser import ARGS, CHROMIUM


def serve(folder: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "LC_DATA_DIR": str(folder)}
    env.pop("LC_DATABASE_URL", None)
    lc = [sys.executable, "-m", "livingcircle"]
    subprocess.run(
        [*lc, "demo", "--out", str(folder / "demo.html")], env=env, check=True, capture_output=True
    )
    process = subprocess.Popen(
        [*lc, "serve", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def shell_sizes(base: str) -> list[tuple[str, int, int]]:
    """(path, bytes, gzip bytes) of every file the page and its service worker load."""
    page = httpx.get(base + "/").text
    paths = ["/", *re.findall(r'(?:href|src)="(/(?:app|assets)/[^"]+)"', page), "/sw.js"]
    out = []
    for path in dict.fromkeys(paths):
        body = httpx.get(base + path).content
        sent = httpx.get(base + path, headers={"Accept-Encoding": "gzip"})
        wire = (
            sent.num_bytes_downloaded
            if sent.headers.get("content-encoding") == "gzip"
            else len(gzip.compress(body, 6))
        )
        out.append((path, len(body), wire))
    return out


def taps(base: str, n: int) -> tuple[list[float], int, int]:
    """Tap-to-answer times (ms), and the web font files and bytes the first view loaded."""
    rng = np.random.default_rng(0)
    fonts: list[int] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        page.on(
            "response", lambda r: fonts.append(len(r.body())) if r.url.endswith(".woff2") else None
        )
        page.goto(base + "/?lat=60.1710&lon=24.9414&groups=daily,health")
        page.wait_for_selector("#results li")
        page.wait_for_timeout(500)
        box = page.locator("#map").bounding_box()
        assert box is not None
        done = 1
        while done <= n:  # a tap on a marker opens its card instead: tap elsewhere
            x = box["x"] + box["width"] * rng.uniform(0.15, 0.85)
            y = box["y"] + box["height"] * rng.uniform(0.15, 0.85)
            page.mouse.click(x, y)
            try:
                page.wait_for_function(
                    f"performance.getEntriesByName('lc-answer').length > {done}", timeout=5_000
                )
                done += 1
            except PlaywrightTimeout:
                continue
        times = page.evaluate("performance.getEntriesByName('lc-answer').map(e => e.duration)")
        browser.close()
    return [float(t) for t in times[1:]], len(fonts), sum(fonts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taps", type=int, default=50)
    parser.add_argument("--port", type=int, default=8731)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} (1 min)")
    with tempfile.TemporaryDirectory() as tmp:
        process = serve(Path(tmp), args.port)
        base = f"http://127.0.0.1:{args.port}"
        try:
            sizes = shell_sizes(base)
            streets = httpx.get(
                base + "/v1/regions/helsinki/streets?bbox=24.9174,60.1590,24.9654,60.1830",
                headers={"Accept-Encoding": "gzip"},
            )
            cpu = time.process_time()
            times, n_fonts, font_bytes = taps(base, args.taps)
            cpu = time.process_time() - cpu
        finally:
            process.terminate()
    rows = [[p, fmt(b / 1000, 1), fmt(w / 1000, 1)] for p, b, w in sizes]
    total = sum(w for _, _, w in sizes)
    rows.append(["shell total", fmt(sum(b for _, b, _ in sizes) / 1000, 1), fmt(total / 1000, 1)])
    rows.append(
        [
            "(streets around a place)",
            fmt(len(streets.content) / 1000, 1),
            fmt(streets.num_bytes_downloaded / 1000, 1),
        ]
    )
    rows.append([f"(web font: {n_fonts} subset files, woff2)", "-", fmt(font_bytes / 1000, 1)])
    print(table(["file", "kB", "kB gzip"], rows))
    print(
        f"shell {total / 1000:.1f} kB compressed: {'PASS' if total <= 300_000 else 'MISS'} "
        "(target <= 300 kB)"
    )
    p50, p95 = np.percentile(times, [50, 95])
    print(
        table(
            ["taps", "p50 ms", "p95 ms", "max ms", "bench CPU s"],
            [[str(len(times)), fmt(p50, 1), fmt(p95, 1), fmt(max(times), 1), fmt(cpu, 2)]],
        )
    )
    print(
        f"tap to drawn answer p95 {p95:.1f} ms: {'PASS' if p95 <= 150 else 'MISS'} "
        "(target <= 150 ms on loopback)"
    )


if __name__ == "__main__":
    main()
