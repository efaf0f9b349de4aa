"""The planner's report on the sample: bilingual, labelled, rounded, HTML and PDF alike."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest
from pypdf import PdfReader

from livingcircle.data.sample import sample_communities, sample_homes
from livingcircle.geo.demand import assign_communities, demand_frame, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.planning import PlannerTables, plan
from livingcircle.maps.report import write_report
from livingcircle.maps.report_text import SECTIONS, title
from tests.maps.browser import open_page
from tests.maps.test_resident_map import SCREENSHOTS

HEADINGS = [title(a) for a, _, _ in SECTIONS]


@pytest.fixture(scope="module")
def communities(sample_region: Region) -> gpd.GeoDataFrame:
    return sample_communities(sample_region)


@pytest.fixture(scope="module")
def planned(sample_region: Region, communities: gpd.GeoDataFrame) -> PlannerTables:
    raw = sample_homes(sample_region)
    frame = assign_communities(
        demand_frame(
            raw.geometry.to_numpy(), raw["population"].to_numpy(), raw["id"].to_numpy(dtype=object)
        ),
        communities,
    )
    return plan(
        sample_region,
        place_demand(sample_region.net, frame),
        ["clinic", "pharmacy", "kindergarten"],
        3,
    )


@pytest.fixture(scope="module")
def reports(
    sample_region: Region,
    planned: PlannerTables,
    communities: gpd.GeoDataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("report")
    return {
        ext: write_report(
            planned, sample_region, folder / f"gaps.report.{ext}", "sample homes", communities
        )
        for ext in ("html", "md", "pdf")
    }


def test_html_says_it_in_both_languages(reports: dict[str, Path]) -> None:
    text = reports["html"].read_text(encoding="utf-8")
    found = re.findall(r"<h2>(.*?)</h2>", text)
    assert found == HEADINGS
    # the sample has no kindergarten at all: said in words, never as nan or "none found"
    assert "这个区域没有幼儿园 / 托儿所 · this region has no kindergarten / nursery" in text
    assert "nan" not in text.lower().replace("nanny", "") and "none found" not in text
    # labels, not ids; numbers as people write them
    assert "社区卫生服务站 · Clinic / health station" in text and "health_station" not in text
    assert "20,000 位居民" in text or "20,000 residents" in text
    assert not re.search(r"\d\.0(?![\d.])", re.sub(r"<svg.*?</svg>", "", text, flags=re.S))
    assert text.count("<svg") == 3 and "gap beyond 300 m" in text
    assert "新建 · Build" in text and "#1" in text


def test_markdown_has_the_same_sections(reports: dict[str, Path]) -> None:
    text = reports["md"].read_text(encoding="utf-8")
    assert re.findall(r"^## (.*)$", text, flags=re.M) == HEADINGS
    assert (reports["md"].parent / "gaps.report.map.svg").read_text().startswith("<svg")


def test_pdf_has_the_sections_of_the_html(reports: dict[str, Path]) -> None:
    reader = PdfReader(reports["pdf"])
    text = "\n".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", "", text)
    positions = [flat.find(re.sub(r"\s+", "", h)) for h in HEADINGS]
    assert -1 not in positions, [h for h, p in zip(HEADINGS, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert len(reader.pages) >= 2 and (not outline or outline[0])
    if shutil.which("pdftoppm"):  # pictures of the pages, for a person to look at
        SCREENSHOTS.mkdir(exist_ok=True)
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", str(reports["pdf"]), str(SCREENSHOTS / "report-pdf")],
            check=True,
            timeout=120,
        )


@pytest.mark.browser
@pytest.mark.parametrize(("size", "width", "height"), [("phone", 390, 844), ("desktop", 1280, 800)])
def test_report_in_a_browser(reports: dict[str, Path], size: str, width: int, height: int) -> None:
    with open_page(reports["html"].as_uri(), width, height) as (page, log):
        assert log.errors == [] and log.remote == []
        assert page.locator("h2").all_inner_texts() == HEADINGS
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width + 1  # nothing runs off a phone's screen sideways
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"report-{size}.png"), full_page=True)


def test_the_report_compares_the_siting_methods(tmp_path: Path, sample_region: Region) -> None:
    from livingcircle.geo.demand import demand_from_nodes  # noqa: PLC0415
    from livingcircle.maps.report_tables import METHODS_TITLE  # noqa: PLC0415

    net = sample_region.net
    homes = demand_from_nodes(net, sample_region.unproject(net.node_xy), 20_000)
    demand = place_demand(net, homes, sample_region.max_snap_m)
    result = plan(sample_region, demand, ["clinic"], 2, methods=("greedy", "mclp"))
    text = write_report(result, sample_region, tmp_path / "r.md").read_text(encoding="utf-8")
    assert METHODS_TITLE in text and "最大覆盖模型" in text
    assert "MCLP optimum" in text and "\\n- clinic:" not in text  # labels, not ids
