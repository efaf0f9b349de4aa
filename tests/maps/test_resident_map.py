"""The resident map, checked in a real browser with no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from livingcircle.geo.engine import Region
from livingcircle.geo.standards import Standard
from livingcircle.maps.offline import remote_references
from livingcircle.maps.resident import resident_map
from tests.maps.browser import open_page

LON, LAT = 24.9414, 60.1710
SCREENSHOTS = Path(__file__).with_name("screenshots")  # for a person to look at; not committed


@pytest.fixture(scope="module")
def offline_page(sample_region: Region, standard: Standard,
                 tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    catch = sample_region.catchment(LON, LAT)
    near = sample_region.nearest(LON, LAT)
    streets = sample_region.streets_near(LON, LAT, 1200)
    path = tmp_path_factory.mktemp("maps") / "resident.html"
    resident_map(catch, standard, near, streets=streets, offline=True).save(str(path))
    routes = sum(1 for hits in near.by_category.values() if hits)
    return path, len(catch.facilities), routes


def test_offline_html_links_no_other_host(offline_page) -> None:  # type: ignore[no-untyped-def]
    path, _, _ = offline_page
    html = path.read_text(encoding="utf-8")
    assert [r for r in remote_references(html) if "leafletjs.com" not in r] == []
    assert path.stat().st_size < 3_000_000


@pytest.mark.browser
def test_offline_map_renders_without_network(offline_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, n_facilities, n_routes = offline_page
    with open_page(path.as_uri()) as (page, log):
        assert log.errors == []
        assert log.remote == []
        assert page.locator("path.lc-facility").count() == n_facilities
        assert page.locator(".lc-legend-ring").count() == 3
        assert page.locator(".leaflet-control-layers").count() == 1
        assert page.locator(".leaflet-control-scale").count() == 1
        # markers sit above routes: a click on one opens its bilingual popup
        marker = next(m for m in page.locator("path.lc-facility").all()
                      if (b := m.bounding_box()) and b["x"] > 500)
        box = marker.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        text = page.locator(".leaflet-popup-content").inner_text(timeout=3000)
        assert "min on foot" in text and "分钟" in text
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "resident.png"))
    assert n_routes > 10
