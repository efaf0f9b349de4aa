"""Kiosk page, opened in a real browser with no network (the planner map: test_planner.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from livingcircle.geo.engine import Region
from livingcircle.geo.errors import UnknownKiosk
from livingcircle.maps.kiosk import kiosk, kiosk_data, kiosk_page
from livingcircle.maps.offline import remote_references
from tests.maps.browser import open_page
from tests.maps.test_resident_map import SCREENSHOTS


@pytest.fixture(scope="module")
def kiosk_file(sample_region: Region, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("maps") / "kiosk.html"
    kiosk_page(kiosk("helsinki-station"), sample_region).save(str(path))
    return path


def test_offline_pages_link_no_other_host(kiosk_file: Path) -> None:
    for path in (kiosk_file,):
        html = path.read_text(encoding="utf-8")
        assert [r for r in remote_references(html) if "leafletjs.com" not in r] == []
        assert path.stat().st_size < 3_000_000


def test_unknown_kiosk_names_the_configured_ones() -> None:
    with pytest.raises(UnknownKiosk, match="helsinki-station"):
        kiosk("nowhere")


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1080, 1920), (1920, 1080)])
def test_kiosk_is_legible_in_both_orientations(
    kiosk_file: Path, sample_region: Region, width: int, height: int
) -> None:
    k = kiosk("helsinki-station")
    expected = kiosk_data(
        k, sample_region.nearest(k.lon, k.lat, k.categories), sample_region.standard
    )["services"]
    with open_page(kiosk_file.as_uri(), width, height) as (page, log):
        assert log.errors == [] and log.remote == []
        items = page.locator("#lc-services li")
        assert items.count() == len(expected) == len(k.categories)
        assert page.locator(".lc-kiosk-pin").count() == len(expected)
        assert page.locator("path.lc-here").count() == 1
        first = items.first.inner_text()
        assert expected[0]["label_zh"] in first and expected[0]["label_en"] in first
        # every piece of text in the panel is at least 24 px
        sizes = page.eval_on_selector_all(
            "#lc-panel *",
            "els => els.filter(e => e.childNodes.length && "
            "[...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))"
            ".map(e => parseFloat(getComputedStyle(e).fontSize))",
        )
        assert sizes and min(sizes) >= 24
        # map and list side by side (landscape) or stacked (portrait), both on screen
        box_map = page.locator(".folium-map").bounding_box()
        box_list = page.locator("#lc-panel").bounding_box()
        assert box_map["width"] * box_map["height"] > 0.3 * width * height
        assert box_list["x"] + box_list["width"] <= width + 1
        assert box_list["y"] + box_list["height"] <= height + 1
        last = items.last.bounding_box()
        assert last["y"] + last["height"] <= height  # the whole list fits on the screen
        # no reload loop: the page sets no refresh and never reloads itself
        html = kiosk_file.read_text(encoding="utf-8")
        assert "location.reload" not in html and 'http-equiv="refresh"' not in html
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"kiosk-{width}x{height}.png"))
