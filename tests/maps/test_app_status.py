"""A department's live car-park status in the app and on the kiosk, with its age, until stale.

A real server over loopback, a key made with the CLI, a kiosk added with the CLI, and a
standards file whose car-park status goes stale after a few seconds.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from livingcircle.geo.standards import DEFAULT_STANDARDS_FILE
from tests.api.conftest import LAT, LON
from tests.api.test_server import start_server, wait_ready
from tests.cli_process import embedded_env, run_livingcircle

pytestmark = pytest.mark.browser
STALE_S = 6
OWNER = "parking-office"


def cli(folder: Path, *args: str) -> str:
    return run_livingcircle(embedded_env(folder), *args, timeout=120, check=True).stdout.strip()


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path
) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("status")
    shutil.copytree(sample_store_dir, folder, dirs_exist_ok=True)
    standards = folder / "standards.toml"
    text = DEFAULT_STANDARDS_FILE.read_text(encoding="utf-8")
    assert "car_parking = 900" in text
    standards.write_text(
        text.replace("car_parking = 900", f"car_parking = {STALE_S}"), encoding="utf-8"
    )
    key = cli(folder, "keys", "add", "--owner", OWNER)
    cli(
        folder,
        "kiosk",
        "add",
        "--id",
        "station-parking",
        "--region",
        "helsinki",
        "--lat",
        str(LAT),
        "--lon",
        str(LON),
        "--name-zh",
        "车站停车",
        "--name-en",
        "Station parking",
        "-c",
        "car_parking",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LC_STANDARDS_FILE", str(standards))
        process, port = start_server(folder)
    base = f"http://127.0.0.1:{port}"
    wait_ready(process, base)
    yield base, key
    process.terminate()
    process.communicate(timeout=30)


def test_live_spaces_show_with_their_age_then_go(browser: Browser, served: tuple[str, str]) -> None:
    base, key = served
    url = f"{base}/v1/regions/helsinki/facilities"
    park = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [LON, LAT + 0.0001]},
        "properties": {
            "source_id": "p-1",
            "category": "car_parking",
            "name_zh": "车站停车场",
            "name": "Station car park",
        },
    }
    made = httpx.post(url, json=park, headers={"X-API-Key": key}, timeout=30)
    assert made.status_code == 201, made.text
    fid = made.json()["id"]
    time.sleep(1.5)  # the workers pick the new facility up from the store
    put = httpx.put(
        f"{url}/{fid}/status",
        json={"spaces_free": 42, "spaces_total": 120},
        headers={"X-API-Key": key},
        timeout=30,
    )
    assert put.status_code == 200, put.text
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN"
    )
    page = context.new_page()
    app = f"{base}/?lat={LAT}&lon={LON}&groups=parking"
    page.goto(app)
    page.wait_for_selector("#results li .live", timeout=30_000)
    assert "42 个空位 · 刚刚" in page.locator("#results").inner_text()
    kiosk = context.new_page()
    kiosk.set_viewport_size({"width": 1080, "height": 1920})
    kiosk.goto(f"{base}/v1/maps/kiosk/station-parking")
    kiosk.wait_for_function("document.body.innerText.includes('42 个空位')", timeout=30_000)
    data = httpx.get(f"{base}/v1/maps/kiosk/station-parking/data", timeout=30).json()
    assert any("42 个空位" in s.get("status_zh", "") for s in data["services"])
    time.sleep(STALE_S + 1)  # the report is now older than the standards file allows
    page.reload()
    page.wait_for_selector("#results li", timeout=30_000)
    page.wait_for_timeout(500)
    assert "个空位" not in page.locator("#results").inner_text()
    data = httpx.get(f"{base}/v1/maps/kiosk/station-parking/data", timeout=30).json()
    assert not any(s.get("status_zh") for s in data["services"])
    context.close()
