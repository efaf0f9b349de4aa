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
def offline_page(
    sample_region: Region, standard: Standard, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, int, int]:
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
    assert path.stat().st_size < 3_000_000  # with the web font's subsets its text needs


#: the markers of the page's cluster group (the facilities), whatever folium named it
FACILITY_MARKERS = """() => Object.values(window)
  .filter(v => v instanceof L.MarkerClusterGroup)
  .reduce((n, c) => n + c.getLayers().length, 0)"""
#: the web font, by its family name and status (the machine may have CJK fonts of its own)
WEB_FONT = """async () => {
  await document.fonts.ready;
  const loaded = await document.fonts.load('16px "Noto Sans SC"', '社区');
  return {check: document.fonts.check('16px "Noto Sans SC"', '社区'),
          faces: loaded.map(f => [f.family, f.status])};
}"""


@pytest.mark.browser
def test_offline_map_renders_without_network(offline_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, n_facilities, n_routes = offline_page
    with open_page(path.as_uri()) as (page, log):
        assert log.errors == []
        assert log.remote == []
        assert page.evaluate(FACILITY_MARKERS) == n_facilities
        assert page.locator(".lc-legend-ring").count() == 3
        assert page.locator(".leaflet-control-layers").count() == 1
        assert page.locator(".leaflet-control-scale").count() == 1
        # a facility's marker (above the routes) opens its bilingual popup
        marker = next(
            m
            for m in page.locator(".leaflet-marker-icon.lc-facility").all()
            if (b := m.bounding_box()) and b["x"] > 500
        )
        marker.click()
        text = page.locator(".leaflet-popup-content").inner_text(timeout=3000)
        assert "min on foot" in text and "分钟" in text
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "resident.png"))
    assert n_routes > 10


@pytest.mark.browser
@pytest.mark.parametrize(
    ("width", "height", "name"),
    [(390, 844, "phone"), (1280, 800, "desktop"), (1080, 1920, "kiosk")],
)
def test_resident_map_on_each_screen(
    offline_page,
    width: int,
    height: int,  # type: ignore[no-untyped-def]
    name: str,
) -> None:
    path, _, _ = offline_page
    with open_page(path.as_uri(), width, height) as (page, log):
        toggle = page.locator("#lc-legend-toggle")
        legend = page.locator("#lc-legend").bounding_box()
        assert legend is not None
        assert legend["width"] * legend["height"] < 0.25 * width * height
        folded = toggle.get_attribute("aria-expanded") == "false"
        assert folded == (width < 600)  # folded on a phone, open on wider screens
        assert page.locator("#lc-legend-body").is_visible() != folded
        assert page.locator(".lc-cluster").count() > 0  # markers cluster
        scale = page.locator(".leaflet-control-scale-line").all_inner_texts()
        assert len(scale) == 1 and scale[0].endswith(("m", "km")), scale  # metric only
        assert "ft" not in scale[0] and "mi" not in scale[0]
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"resident-{name}.png"))
        toggle.click()  # the button folds and unfolds it
        assert (toggle.get_attribute("aria-expanded") == "true") == folded
        page.screenshot(path=str(SCREENSHOTS / f"resident-{name}-legend-toggled.png"))
        assert log.errors == [] and log.remote == []


@pytest.mark.browser
def test_chinese_is_drawn_in_the_inlined_web_font(offline_page) -> None:  # type: ignore[no-untyped-def]
    path, _, _ = offline_page
    with open_page(path.as_uri(), 390, 844) as (page, log):
        font = page.evaluate(WEB_FONT)
        assert font["check"] is True
        assert font["faces"] and all(f == ["Noto Sans SC", "loaded"] for f in font["faces"])
        family = page.evaluate("getComputedStyle(document.querySelector('#lc-legend')).fontFamily")
        assert family.startswith('"Noto Sans SC"')
        assert log.errors == [] and log.remote == []
