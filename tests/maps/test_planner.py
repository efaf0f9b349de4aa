"""The planner map on the sample: homes and hexagons by minutes, gaps, sites, communities."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from livingcircle.data.sample import sample_communities, sample_homes
from livingcircle.geo.demand import assign_communities, demand_frame, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import gap_areas
from livingcircle.geo.planning import PlannerTables, plan
from livingcircle.maps import words
from livingcircle.maps.base import MapLook
from livingcircle.maps.offline import remote_references
from livingcircle.maps.palette import ALL_BANDS, UNREACHABLE, band_of
from livingcircle.maps.planner import draw, planner_map
from livingcircle.maps.planner_layers import hex_resolution, planner_layers
from tests.maps.browser import open_page
from tests.maps.test_resident_map import SCREENSHOTS

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


@pytest.fixture(scope="module")
def homes(sample_region: Region) -> gpd.GeoDataFrame:
    raw = sample_homes(sample_region)
    return demand_frame(
        raw.geometry.to_numpy(), raw["population"].to_numpy(), raw["id"].to_numpy(dtype=object)
    )


@pytest.fixture(scope="module")
def communities(sample_region: Region) -> gpd.GeoDataFrame:
    return sample_communities(sample_region)


@pytest.fixture(scope="module")
def planned(
    sample_region: Region, homes: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
) -> PlannerTables:
    frame = assign_communities(homes, communities)
    return plan(sample_region, place_demand(sample_region.net, frame), ["pharmacy"], 3)


@pytest.fixture(scope="module")
def pages(
    sample_region: Region,
    planned: PlannerTables,
    homes: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("planner")
    out = {}
    for name, hexes in (("homes", False), ("hexagons", True)):
        layers = planner_layers(
            sample_region,
            "pharmacy",
            communities=communities,
            hexagons=hexes,
            result=planned,
            source="sample homes",
        )
        out[name] = folder / f"{name}.html"
        draw(sample_region, layers, MapLook(offline=True)).save(str(out[name]))
    out["none"] = folder / "none.html"  # the sample has no kindergarten at all
    planner_map(sample_region, "kindergarten", offline=True, homes=homes).save(str(out["none"]))
    return out


def test_words_are_written_as_people_write_them() -> None:
    assert words.people(38000.0) == "38,000" and words.people(18895.142) == "18,900"
    assert words.people(1240.4) == "1,240" and words.people(85.6) == "86"
    assert words.residents(1240) == "1,240 位居民 · 1,240 residents"
    assert [words.percent(x) for x in (0.45, 0.001, 0.998, 1.0, 0.0, math.nan)] == [
        "45%",
        "<1%",
        ">99%",
        "100%",
        "0%",
        "–",
    ]
    assert words.minutes(12.456) == "12.5" and words.minutes(math.inf) == "–"
    assert (
        words.no_facility("社区卫生服务站", "Community health station")
        == "这个区域没有社区卫生服务站 · this region has no community health station"
    )


def test_more_than_15_minutes_and_unreachable_are_apart() -> None:
    bands = band_of(np.array([0.0, 5.0, 5.01, 14.9, 15.2, 80.0, np.inf]))
    assert bands.tolist() == [0, 0, 1, 2, 3, 3, 4]
    colours = [b.color for b in ALL_BANDS]
    assert len(set(colours)) == len(colours) and ALL_BANDS[-1] is UNREACHABLE


def test_layers_use_the_analysis(
    sample_region: Region, planned: PlannerTables, communities: gpd.GeoDataFrame
) -> None:
    layers = planner_layers(
        sample_region, "pharmacy", communities=communities, hexagons=True, result=planned
    )
    # the gap areas are the analysis's own, not drawn again
    expected = gap_areas(sample_region, planned.analysis, "pharmacy")
    assert layers.gaps["population"].tolist() == pytest.approx(expected["population"].tolist())
    assert layers.hexagons is not None and 9 <= layers.resolution <= 10
    assert layers.resolution == hex_resolution(sample_region)
    total = planned.analysis.demand.population.sum()
    assert layers.hexagons["population"].sum() == pytest.approx(total)
    assert layers.homes["population"].sum() == pytest.approx(total)
    assert sum(km for _, km in layers.streets) == pytest.approx(
        sample_region.net.edge_length.sum() / 1000
    )
    assert layers.communities is not None and layers.communities["score"].notna().sum() >= 5
    assert list(layers.sites["rank"]) == [1, 2, 3] and layers.facilities > 0


def test_offline_pages_link_no_other_host(pages: dict[str, Path]) -> None:
    for path in pages.values():
        text = path.read_text(encoding="utf-8")
        assert [r for r in remote_references(text) if "leafletjs.com" not in r] == []
        assert path.stat().st_size < 4_000_000


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_planner_map_shows_homes_gaps_and_sites(
    pages: dict[str, Path], size: str, sample_region: Region
) -> None:
    width, height = SIZES[size]
    with open_page(pages["homes"].as_uri(), width, height) as (page, log):
        assert log.errors == [] and log.remote == []
        legend = page.locator("#lc-legend")
        if size == "phone":  # folded at first, one tap opens it
            page.locator("#lc-legend-toggle").click()
        assert legend.locator(".lc-legend-band").count() == len(ALL_BANDS)
        text = legend.inner_text()
        assert text.index("步行至最近的药店") < text.index("Walk to the nearest pharmacy")
        assert "超过 15 分钟" in text and "无法到达" in text and "社区生活圈得分" in text
        assert page.locator("path.lc-home").count() > 50  # every home of the sample
        labels = page.locator(".lc-gap-label").all_inner_texts()
        assert labels and all("位居民" in t and "residents" in t for t in labels)
        assert page.locator(".lc-site").count() >= 3
        assert page.locator(".lc-banner").inner_text().startswith("300 米内有药店的居民")
        if size == "phone":
            page.locator("#lc-legend-toggle").click()
        # the view holds the whole district, and not much more
        w, s, e, n = sample_region.boundary.bounds
        view = page.evaluate(
            "() => { const m = Object.values(window).find(v => v && "
            "v._leaflet_id && v.getBounds); const b = m.getBounds(); "
            "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"
        )
        assert view[0] <= w and view[1] <= s and view[2] >= e and view[3] >= n
        assert (view[2] - view[0]) < 4 * (e - w) or (view[3] - view[1]) < 4 * (n - s)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"planner-{size}.png"))


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_planner_hexagons_and_a_missing_category(pages: dict[str, Path], size: str) -> None:
    width, height = SIZES[size]
    with open_page(pages["hexagons"].as_uri(), width, height) as (page, log):
        assert log.errors == [] and log.remote == []
        assert page.locator("path.lc-hex").count() > 10
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"planner-hexagons-{size}.png"))
    with open_page(pages["none"].as_uri(), width, height) as (page, log):
        assert log.errors == []
        banner = page.locator(".lc-banner.lc-missing").inner_text()
        assert banner == "这个区域没有幼儿园 / 托儿所 · this region has no kindergarten / nursery"
        assert page.locator("path.lc-gap").count() == 0  # no gap outline around everything
        page.screenshot(path=str(SCREENSHOTS / f"planner-missing-{size}.png"))
