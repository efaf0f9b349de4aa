"""``/docs`` and ``/redoc`` work offline: every file they load comes from this server."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from livingcircle.api.routes.docs import ASSETS, CACHE
from livingcircle.maps.offline import FONT_CSS, FONT_URL, remote_references
from tests.api.conftest import assert_problem
from tests.api.test_server import server  # noqa: F401  (the real server, over loopback)
from tests.maps.browser import open_page
from tests.maps.test_resident_map import SCREENSHOTS, WEB_FONT


def page_urls(html: str) -> list[str]:
    """Every ``src``/``href`` of a page."""
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_another_host(file_client: TestClient, path: str) -> None:
    response = file_client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert remote_references(html) == []
    assert "fonts.googleapis.com" not in html and "cdn.jsdelivr.net" not in html
    urls = page_urls(html)
    assert urls and all(u.startswith(("/assets/", "data:")) for u in urls), urls
    for url in urls:  # each one is served, with the long cache lifetime
        asset = file_client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["cache-control"] == CACHE


def test_assets_have_their_content_types(file_client: TestClient) -> None:
    types = {
        "swagger-ui/swagger-ui-bundle.js": "text/javascript",
        "swagger-ui/swagger-ui.css": "text/css",
        "swagger-ui/favicon-32x32.png": "image/png",
        "redoc/redoc.standalone.js": "text/javascript",
        "fonts/noto-sans-sc.css": "text/css",
        "fonts/noto-sans-sc-119-400-normal.woff2": "font/woff2",
    }
    assert set(ASSETS) <= set(types)
    for name, media in types.items():
        response = file_client.get(f"/assets/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].split(";")[0] == media
        assert response.headers["cache-control"] == CACHE


def test_redoc_script_asks_no_cdn_for_its_logo(file_client: TestClient) -> None:
    script = file_client.get("/assets/redoc/redoc.standalone.js").text
    assert "cdn.redoc.ly" not in script and len(script) > 1_000_000


def test_font_stylesheet_links_every_subset_here(file_client: TestClient) -> None:
    css = file_client.get("/assets/fonts/noto-sans-sc.css").text
    urls = re.findall(r"url\(([^)]+)\)", css)
    assert len(urls) > 150 and all(u.startswith("/assets/fonts/noto-sans-sc-") for u in urls)
    assert {"font-weight:400", "font-weight:700"} <= set(re.findall(r"font-weight:\d+", css))


@pytest.mark.parametrize(
    "name",
    [
        "nope.js",
        "fonts/x.woff2",
        "swagger-ui/index.html",
        "redoc/../../../etc/passwd",
        "fonts/400.css",
    ],
)
def test_only_listed_files_are_served(file_client: TestClient, name: str) -> None:
    response = file_client.get(f"/assets/{name}")
    assert response.status_code == 404
    if response.json()["instance"].startswith("/assets/"):
        assert_problem(response, 404, "served are", "swagger-ui/swagger-ui-bundle.js")


def test_docs_routes_are_not_in_the_schema(file_client: TestClient) -> None:
    paths = file_client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc", "/assets"))]


@pytest.mark.browser
def test_swagger_ui_renders_offline(server: str) -> None:  # noqa: F811
    with open_page(f"{server}/docs", 1280, 900) as (page, log):
        page.wait_for_selector(".opblock", timeout=15000)
        operations = page.locator(".opblock-summary-path").all_inner_texts()
        assert any("/v1/nearest" in o for o in operations), operations
        assert page.locator(".opblock-tag").count() >= 4
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "docs.png"))
        assert log.errors == [] and log.remote == []


@pytest.mark.browser
def test_redoc_renders_offline(server: str) -> None:  # noqa: F811
    with open_page(f"{server}/redoc", 1280, 900) as (page, log):
        page.wait_for_selector("[role=navigation] , .menu-content", timeout=20000)
        page.wait_for_selector("h1", timeout=20000)
        assert "livingcircle" in page.locator("h1").first.inner_text()
        assert page.locator("h2").count() > 5  # one heading per operation
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "redoc.png"))
        assert log.errors == [] and log.remote == []


@pytest.mark.browser
def test_served_kiosk_draws_chinese_in_the_linked_web_font(server: str) -> None:  # noqa: F811
    with open_page(f"{server}/v1/maps/kiosk/helsinki-station", 1080, 1920) as (page, log):
        assert page.locator(f'link[href="{FONT_URL}{FONT_CSS}"]').count() == 1
        font = page.evaluate(WEB_FONT)
        assert font["check"] is True
        assert font["faces"] and all(f == ["Noto Sans SC", "loaded"] for f in font["faces"])
        assert log.errors == [] and log.remote == []
