"""The scenario map on the sample: a new clinic where clinics are farthest, in Chromium."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from livingcircle.data.sample import sample_homes
from livingcircle.geo.demand import demand_frame, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import analyse
from livingcircle.geo.scenario import NewFacility, Scenario, ScenarioResult, run_scenario
from livingcircle.maps.base import MapLook
from livingcircle.maps.offline import remote_references
from livingcircle.maps.scenario import CHANGE_CLASSES, change_class, scenario_map
from tests.maps.browser import open_page
from tests.maps.test_resident_map import SCREENSHOTS
from tests.test_cli import run

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


@pytest.fixture(scope="module")
def result(sample_region: Region) -> ScenarioResult:
    raw = sample_homes(sample_region)
    frame = demand_frame(
        raw.geometry.to_numpy(), raw["population"].to_numpy(), raw["id"].to_numpy(dtype=object)
    )
    demand = place_demand(sample_region.net, frame)
    before = analyse(sample_region, demand, ["clinic", "pharmacy"])
    near = before.access("clinic").nearest_m
    far = int(np.argmax(np.where(np.isfinite(near), near, -1)))
    spot = frame.geometry.iloc[far]
    what_if = Scenario(
        "港湾诊所 Harbour clinic", (NewFacility("clinic", spot.x, spot.y, "Harbour clinic"),)
    )
    return run_scenario(sample_region, demand, before, what_if)


@pytest.fixture(scope="module")
def page(
    sample_region: Region, result: ScenarioResult, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "scenario.html"
    scenario_map(sample_region, result, look=MapLook(offline=True)).save(str(path))
    return path


def test_changes_fall_in_one_class_each() -> None:
    change = np.array([-7.0, -5.0, -2.0, -0.5, 0.3, 1.0, 3.0, 9.0, np.nan, np.nan])
    status = np.array(
        ["nearer"] * 4 + ["farther"] * 4 + ["newly reachable", "no longer reachable"], dtype=object
    )
    assert change_class(change, status).tolist() == [1, 1, 2, 3, 4, 4, 5, 6, 0, 7]
    assert len({c.color for c in CHANGE_CLASSES}) == len(CHANGE_CLASSES)


def test_the_page_links_no_other_host(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert [r for r in remote_references(text) if "leafletjs.com" not in r] == []


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_scenario_map_shows_what_changed(page: Path, result: ScenarioResult, size: str) -> None:
    width, height = SIZES[size]
    row = result.summary().set_index("category").loc["clinic"]
    assert row["covered_change"] > 0
    with open_page(page.as_uri(), width, height) as (tab, log):
        assert log.errors == [] and log.remote == []
        banner = tab.locator(".lc-banner").inner_text()
        assert banner.startswith("+") and "位居民在 300 米内" in banner
        assert "residents within 300 m of a clinic" in banner
        if size == "phone":  # folded at first
            tab.locator("#lc-legend-toggle").click()
        legend = tab.locator("#lc-legend")
        assert legend.locator(".lc-legend-change").count() == len(CHANGE_CLASSES)
        text = legend.inner_text()
        assert "新可到达 · newly reachable" in text and "不再可到达 · no longer reachable" in text
        assert text.index("方案") < text.index("Scenario")
        assert legend.locator(".lc-legend-opened").count() == 1
        assert tab.locator(".lc-opened").count() >= 2  # the marker and its legend swatch
        assert tab.locator("path.lc-home").count() == row["homes_changed"]
        if size == "phone":
            tab.locator("#lc-legend-toggle").click()
        SCREENSHOTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"scenario-{size}.png"))


def test_the_map_command(tmp_path: Path, sample_path: Path) -> None:
    done = run(tmp_path, "load", str(sample_path), "--region", "helsinki", "--quiet")
    assert done.returncode == 0, done.stderr
    file = tmp_path / "what-if.toml"
    file.write_text(
        'name = "Harbour clinic"\n[[add_facility]]\ncategory = "clinic"\n'
        "lon = 24.9500\nlat = 60.1651\n",
        encoding="utf-8",
    )
    out = tmp_path / "scenario.html"
    done = run(
        tmp_path,
        "map",
        "scenario",
        str(file),
        "-r",
        "helsinki",
        "--out",
        str(out),
        "--offline",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    assert "lc-legend-change" in out.read_text(encoding="utf-8")
    done = run(
        tmp_path,
        "map",
        "scenario",
        str(file),
        "-r",
        "helsinki",
        "--category",
        "park",
        "--out",
        str(out),
        "--quiet",
    )
    assert done.returncode == 2 and "allowed --category: clinic" in done.stderr
