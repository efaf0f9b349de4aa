"""The resident app at a walking profile: the picker, the answer's profile and notes, the card.

In a real browser against the real server, as ``test_app.py``; screenshots of the step-free
answer at phone (390 x 844), desktop (1366 x 900) and kiosk (1080 x 1920) sizes go to
tests/maps/screenshots/.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser

from tests.maps.test_app import (  # noqa: F401  (the server fixture)
    VIEWS,
    Served,
    results,
    serious,
    served,
    session,
    shot,
)

pytestmark = pytest.mark.browser
SIZES = {
    "phone": VIEWS["phone"],
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "kiosk": {"viewport": {"width": 1080, "height": 1920}},
}


def test_the_picker_offers_every_profile_the_standard_has(
    browser: Browser,
    served: Served,  # noqa: F811
) -> None:
    profiles = httpx.get(f"{served.base}/v1/standards", timeout=30).json()["profiles"]
    s = session(browser, "desktop")
    s.page.goto(served.base + "/?lat=60.1710&lon=24.9414&groups=health")
    results(s.page)
    assert s.page.locator("#walking").is_hidden()  # standard: nothing to say
    s.page.get_by_role("button", name="设置").click()
    offered = s.page.locator("#profile option").evaluate_all("os => os.map(o => o.value)")
    assert offered == [p["id"] for p in profiles] and "step-free" in offered
    with s.page.expect_request(lambda r: "profile=step-free" in r.url and "/v1/nearest" in r.url):
        s.page.select_option("#profile", "step-free")
    s.page.wait_for_selector("#walking:not([hidden])", timeout=30_000)
    walking = s.page.locator("#walking").inner_text()
    assert "步行方式：无障碍（轮椅、婴儿车），0.8 米/秒" in walking
    assert "未载入高程数据" in walking and "处设施标明轮椅无法进入" in walking
    assert "profile=step-free" in s.page.url
    assert s.errors == [] and s.remote == []
    s.context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_step_free_answer_and_card_name_the_profile(
    browser: Browser,
    served: Served,  # noqa: F811
    size: str,
) -> None:
    s = session(browser, "phone" if size == "phone" else "desktop")
    s.page.set_viewport_size(SIZES[size]["viewport"])
    s.page.goto(served.base + "/?lat=60.1710&lon=24.9414&groups=health&profile=step-free")
    results(s.page)
    s.page.wait_for_selector("#walking:not([hidden])", timeout=30_000)
    s.page.locator("#results li button").first.click()
    s.page.wait_for_selector("#card:not([hidden]) h2")
    s.page.wait_for_function("layers.route.getLayers().length > 0", timeout=30_000)
    assert "无障碍路线" in s.page.locator("#card").inner_text()
    shot(s.page, f"{size}-step-free")
    assert serious(s.page) == []
    s.page.get_by_role("button", name="EN").click()
    s.page.wait_for_function(
        "document.querySelector('#walking').textContent.includes('Walking: Step-free')",
        timeout=30_000,
    )
    assert s.errors == [] and s.remote == []
    s.context.close()
