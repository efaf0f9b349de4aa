"""Open a page in Debian's Chromium through Playwright and record what it did."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL = ("file:", "data:", "about:", "blob:", "http://127.0.0.1", "http://localhost")


@dataclass
class PageLog:
    errors: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)


@contextmanager
def open_page(url: str, width: int = 1280, height: int = 900) -> Iterator[tuple[object, PageLog]]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run 'make browser' (Debian package chromium)")
    log = PageLog()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: log.errors.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(LOCAL) else log.remote.append(r.url))
        page.goto(url)
        page.wait_for_timeout(800)
        try:
            yield page, log
        finally:
            browser.close()
