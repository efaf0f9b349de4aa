"""Print a self-contained HTML page to PDF with the system's Chromium (through Playwright).

Chromium is Debian's (``/usr/bin/chromium``); nothing is downloaded. The page must stand
alone (fonts and images inlined): every request other than ``data:`` is refused.
"""

from __future__ import annotations

from pathlib import Path

from livingcircle.geo.errors import LivingCircleError

CHROMIUM = Path("/usr/bin/chromium")
RENDER_TIMEOUT_MS = 60_000


def print_pdf(page: str, out: Path, what: str = "report", chromium: Path = CHROMIUM) -> Path:
    """Print ``page`` to ``out`` (A4 unless the page's CSS ``@page`` says otherwise).

    Raises
    ------
    LivingCircleError
        Chromium is missing, or fails to print within a minute.
    """
    from playwright.sync_api import Error as PlaywrightError  # noqa: PLC0415  (only for PDFs)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    if not chromium.exists():
        raise LivingCircleError(
            f"Chromium is needed to print the {what} as PDF and is not at "
            f"{chromium}; install it (Debian: apt-get install chromium), "
            "or ask for HTML"
        )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(chromium),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            try:
                tab = browser.new_page()
                tab.route(
                    "**/*",
                    lambda route: (
                        route.abort()
                        if not route.request.url.startswith(("data:", "about:"))
                        else route.continue_()
                    ),
                )
                tab.set_content(page, wait_until="load", timeout=RENDER_TIMEOUT_MS)
                tab.evaluate("document.fonts.ready.then(() => true)")
                tab.set_default_timeout(RENDER_TIMEOUT_MS)
                tab.pdf(
                    path=str(out),
                    format="A4",
                    print_background=True,
                    prefer_css_page_size=True,
                    outline=True,
                    tagged=True,
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise LivingCircleError(f"Chromium could not print the {what}: {exc}") from exc
    return out
