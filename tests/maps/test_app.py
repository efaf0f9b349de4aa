"""The resident app in a real browser (Debian's Chromium) against the real server.

Phone (390 x 844) and desktop (1280 x 800) views: where am I (location, tap), chips, a tapped
facility's route, the rings and the checklist, the language switch, a shared URL, the network
cut after a first visit, accessibility (axe-core), no request leaving 127.0.0.1, no console
error, and a server log without coordinates. Screenshots go to tests/maps/screenshots/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page

from tests.api.test_server import start_server, wait_ready

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).with_name("screenshots")
HOME = {"latitude": 60.1710, "longitude": 24.9414}
VIEWS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
LOCAL = ("http://127.0.0.1", "data:", "blob:", "about:")


@dataclass
class Served:
    base: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("app")
    shutil.copytree(sample_store_dir, folder, dirs_exist_ok=True)
    process, port = start_server(folder, "--access-log")
    served = Served(f"http://127.0.0.1:{port}")
    wait_ready(process, served.base)
    yield served
    process.terminate()
    log = process.communicate(timeout=30)[0]
    # privacy: the access log has the requests, never their coordinates or search text
    assert "GET /" in log
    assert not re.search(r"lat=|lon=|60\.17|24\.94|q=", log), log[-2000:]


@dataclass
class Session:
    context: BrowserContext
    page: Page
    errors: list[str]
    remote: list[str]


def session(browser: Browser, view: str, **options: Any) -> Session:
    context = browser.new_context(
        **VIEWS[view],
        locale=options.pop("locale", "zh-CN"),
        geolocation=HOME,
        permissions=["geolocation"],
        **options,
    )
    page = context.new_page()
    errors: list[str] = []
    remote: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    context.on("request", lambda r: None if r.url.startswith(LOCAL) else remote.append(r.url))
    return Session(context, page, errors, remote)


def results(page: Page) -> list[str]:
    try:
        page.wait_for_selector("#results li", timeout=30_000)
    except Exception:
        shot(page, "failed")
        print("message:", page.locator("#message").inner_text(), page.url)
        raise
    return page.locator("#results li .name").all_inner_texts()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"app-{name}.png"))


def serious(page: Page) -> list[str]:
    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("view", list(VIEWS))
def test_where_am_i_gives_the_nearest_list(browser: Browser, served: Served, view: str) -> None:
    s = session(browser, view)
    s.page.goto(served.base + "/")
    s.page.get_by_role("button", name="我在哪").click()
    names = results(s.page)
    assert names and "lat=60.171" in s.page.url
    minutes = s.page.locator("#results li .walk strong").all_inner_texts()
    values = [float(m.split()[0]) for m in minutes]
    assert values == sorted(values) and all("分钟" in m for m in minutes)
    box = s.page.locator("#results li").first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= VIEWS[view]["viewport"]["height"]
    shot(s.page, f"{view}-nearest")
    assert serious(s.page) == []
    assert s.errors == [] and s.remote == []
    s.context.close()


def test_a_tap_on_the_map_and_the_chips(browser: Browser, served: Served) -> None:
    s = session(browser, "phone")
    s.page.goto(served.base + "/?lat=60.1700&lon=24.9400")
    before = results(s.page)
    s.page.get_by_role("button", name="儿童").click()  # children: kindergartens, schools
    s.page.wait_for_function(
        f"document.querySelectorAll('#results li').length > {len(before)}", timeout=30_000
    )
    assert "children" in s.page.url
    box = s.page.locator("#map").bounding_box()
    assert box is not None
    s.page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3)
    s.page.wait_for_function("!location.search.includes('lat=60.17&')", timeout=30_000)
    assert results(s.page)
    assert s.errors == [] and s.remote == []
    s.context.close()


def test_a_tapped_facility_shows_its_card_and_route(browser: Browser, served: Served) -> None:
    s = session(browser, "phone")
    s.page.goto(served.base + "/?lat=60.1710&lon=24.9414&groups=health")
    results(s.page)
    s.page.locator("#results li button").first.click()
    s.page.wait_for_selector("#card:not([hidden]) h2")
    s.page.wait_for_function("layers.route.getLayers().length > 0", timeout=30_000)
    s.page.wait_for_function(
        "document.querySelector('#card').textContent.includes('数据来源')", timeout=30_000
    )
    card = s.page.locator("#card").inner_text()
    assert "分钟" in card and "数据来源" in card
    shot(s.page, "phone-card")
    assert serious(s.page) == []
    assert s.errors == [] and s.remote == []
    s.context.close()


def test_rings_and_the_checklist_then_english(browser: Browser, served: Served) -> None:
    s = session(browser, "desktop")
    s.page.goto(served.base + "/?lat=60.1710&lon=24.9414")
    results(s.page)
    s.page.get_by_text("生活圈范围").click()
    s.page.wait_for_selector("#checklist:not([hidden])")
    s.page.wait_for_function("layers.rings.getLayers().length === 3")
    assert re.search(r"5 分钟内没有", s.page.locator("#checklist").inner_text())
    s.page.get_by_role("button", name="English").click()
    s.page.wait_for_function("document.documentElement.lang === 'en'")
    assert "within a 5-minute walk" in s.page.locator("#checklist").inner_text()
    assert "min" in s.page.locator("#results li .walk strong").first.inner_text()
    assert "lang=en" in s.page.url and "rings=1" in s.page.url
    shot(s.page, "desktop-rings-en")
    assert serious(s.page) == []
    assert s.errors == [] and s.remote == []
    s.context.close()


def test_a_shared_link_opens_the_same_answer(browser: Browser, served: Served) -> None:
    first = session(browser, "phone")
    first.page.goto(served.base + "/?lat=60.1690&lon=24.9450&groups=daily,elderly&lang=en")
    names = results(first.page)
    link = first.page.url
    first.context.close()
    again = session(browser, "desktop", locale="zh-CN")
    again.page.goto(link)
    assert results(again.page) == names
    assert again.page.evaluate("document.documentElement.lang") == "en"
    pressed = again.page.locator("#chips [aria-pressed=true]").all_inner_texts()
    assert pressed == ["Daily shopping", "Older residents"]
    again.context.close()


def test_without_a_network_the_last_answers_show(browser: Browser, served: Served) -> None:
    s = session(browser, "phone")
    url = served.base + "/?lat=60.1710&lon=24.9414&groups=daily"
    s.page.goto(url)
    names = results(s.page)
    s.page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    s.page.reload()  # the service worker now controls the page and has the shell
    results(s.page)
    s.context.set_offline(True)
    s.page.reload()
    assert results(s.page) == names
    banner = s.page.locator("#banner")
    banner.wait_for(state="visible", timeout=30_000)
    assert re.search(r"离线，显示 \d\d:\d\d 的结果", banner.inner_text())
    shot(s.page, "phone-offline")
    assert serious(s.page) == []
    s.context.close()


def test_a_refused_location_says_what_to_do(browser: Browser, served: Served) -> None:
    context = browser.new_context(**VIEWS["phone"], locale="en-GB")
    page = context.new_page()
    page.goto(served.base + "/")
    page.get_by_role("button", name="Where am I").click()
    page.wait_for_function("document.querySelector('#message').textContent.includes('Tap')")
    assert "not available" in page.locator("#message").inner_text()
    context.close()


def test_a_place_outside_every_region_offers_the_regions(browser: Browser, served: Served) -> None:
    s = session(browser, "phone", locale="en-GB")
    s.page.goto(served.base + "/?lat=29.87&lon=121.55")
    s.page.wait_for_selector("#message button", timeout=30_000)
    assert "outside" in s.page.locator("#message").inner_text()
    s.page.get_by_role("button", name="Go to helsinki").click()
    assert results(s.page)
    s.context.close()


def test_the_server_log_holds_no_coordinates(served: Served) -> None:
    """The log itself is read when the module's server stops (the fixture's teardown)."""
    answer = httpx.get(f"{served.base}/v1/nearest", params={"lat": 60.1711, "lon": 24.94141})
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("赫尔辛基中央", "赫尔辛基中央车站"),  # a kiosk
        ("zhongguolou", "中國樓酒家"),  # pinyin
        ("Kaupatori", "Kauppatori"),
    ],
)  # a typo
def test_search_by_characters_pinyin_and_typos(
    browser: Browser, served: Served, query: str, found: str
) -> None:
    s = session(browser, "phone")
    s.page.goto(served.base + "/")
    s.page.fill("#search", query)
    s.page.press("#search", "Enter")
    s.page.wait_for_selector("#search-results li button", timeout=30_000)
    assert found in s.page.locator("#search-results").inner_text()
    assert serious(s.page) == []
    s.page.locator("#search-results li button").first.click()
    assert results(s.page)
    assert s.errors == [] and s.remote == []
    s.context.close()


def test_search_without_a_match_suggests_names(browser: Browser, served: Served) -> None:
    s = session(browser, "desktop", locale="en-GB")
    s.page.goto(served.base + "/")
    s.page.fill("#search", "<b>qqxzv</b>")
    s.page.press("#search", "Enter")
    hint = s.page.locator("#search-results .hint")
    hint.wait_for(timeout=30_000)
    assert "Did you mean" in hint.inner_text() and "<b>" in hint.inner_text()  # text, not HTML
    assert s.page.locator("#search-results b").count() == 0
    s.context.close()


def test_open_now_with_a_fixed_clock(browser: Browser, served: Served) -> None:
    s = session(browser, "phone")
    s.page.clock.set_fixed_time(datetime(2026, 12, 2, 8, 30, tzinfo=UTC))  # 10:30 in Helsinki
    s.page.goto(served.base + "/?lat=60.1710&lon=24.9414&groups=daily,health")
    every = results(s.page)
    s.page.get_by_text("正在营业").click()
    s.page.wait_for_function("location.search.includes('open=1')")
    s.page.wait_for_function(
        f"document.querySelectorAll('#results li').length < {len(every)}", timeout=30_000
    )
    states = s.page.locator("#results li .state").all_inner_texts()
    assert states and set(states) <= {"营业中", "即将关门"}
    shot(s.page, "phone-open-now")
    assert serious(s.page) == []
    assert s.errors == [] and s.remote == []
    s.context.close()


def test_chinese_renders_with_the_bundled_font(browser: Browser, served: Served) -> None:
    s = session(browser, "phone")
    s.page.goto(served.base + "/?lat=60.1710&lon=24.9414")
    results(s.page)
    s.page.evaluate("document.fonts.ready")
    loaded = s.page.evaluate("""[...document.fonts].filter(f => f.family.includes('Noto Sans SC')
                                && f.status === 'loaded').length""")
    assert loaded > 0
    assert s.page.evaluate("document.fonts.check('16px \"Noto Sans SC\"', '生活圈')")
    family = s.page.evaluate("getComputedStyle(document.querySelector('.title')).fontFamily")
    assert family.startswith('"Noto Sans SC"')
    s.context.close()


def test_a_hand_made_link_is_refused_as_text(browser: Browser, served: Served) -> None:
    s = session(browser, "phone", locale="en-GB")
    hostile = "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
    s.page.goto(
        f"{served.base}/?lat={hostile}&lon=24.94&groups={hostile}&profile={hostile}"
        f"&lang={hostile}&q={'x' * 5000}"
    )
    s.page.wait_for_timeout(1500)
    assert s.page.locator("img[src=x]").count() == 0
    assert "lat=" not in s.page.url  # the bad place was dropped, not used
    assert s.page.evaluate("document.documentElement.lang") == "en"
    assert "Tap the map" in s.page.locator("#message").inner_text()
    assert s.errors == [] and s.remote == []
    s.context.close()


def test_a_served_kiosk_page_survives_a_restart_without_network(
    browser: Browser, served: Served
) -> None:
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN")
    page = context.new_page()
    url = served.base + "/v1/maps/kiosk/helsinki-station"
    page.goto(url)
    page.wait_for_function("document.body.innerText.includes('分钟')", timeout=30_000)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the service worker, which keeps the page
    page.wait_for_function("document.body.innerText.includes('分钟')", timeout=30_000)
    context.set_offline(True)
    page.reload()
    page.wait_for_function("document.body.innerText.includes('分钟')", timeout=30_000)
    loaded = page.evaluate("""document.fonts.ready.then(() => [...document.fonts].filter(
        f => f.family.includes('Noto Sans SC') && f.status === 'loaded').length)""")
    assert loaded > 0  # the page's Chinese in the web font, from the worker's cache
    context.close()
