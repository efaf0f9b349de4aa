"""Homes from OSM: residential buildings, residential land, admin boundaries as communities."""

from __future__ import annotations

from pathlib import Path

import pytest

from livingcircle.data.demand import (
    demand_for_region,
    homes_from_osm,
    read_demand_sources,
    residential_buildings,
)
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import OSMFileError
from tests.handmade import lonlat


def _square(first_id: int, x: float, y: float, side: float) -> tuple[str, list[int]]:
    corners = [(x, y), (x + side, y), (x + side, y + side), (x, y + side)]
    nodes = []
    for i, (cx, cy) in enumerate(corners):
        lon, lat = lonlat(cx, cy)
        nodes.append(f'<node id="{first_id + i}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    return "\n".join(nodes), [first_id + i for i in range(4)] + [first_id]


def _way(way_id: int, refs: list[int], tags: dict[str, str]) -> str:
    nds = "".join(f'<nd ref="{r}"/>' for r in refs)
    tag = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return f'<way id="{way_id}" version="1">{nds}{tag}</way>'


@pytest.fixture(scope="module")
def osm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A community (admin_level 10) holding residential land with two buildings on it, an
    apartment block outside the land, a shop and bare residential land."""
    shapes = {  # way id: (x, y, side, tags)
        1: (0, 0, 400, {"boundary": "administrative", "admin_level": "10", "name": "东社区"}),
        2: (10, 10, 150, {"landuse": "residential"}),
        3: (20, 20, 20, {"building": "yes", "building:levels": "6"}),
        4: (60, 20, 20, {"building": "house"}),
        5: (250, 250, 40, {"building": "apartments", "building:levels": "10 floors"}),
        6: (300, 20, 20, {"building": "retail"}),
        7: (600, 0, 100, {"landuse": "residential"}),
        8: (700, 300, 30, {"building": "yes"}),  # not on residential land: not a home
    }
    nodes, ways = [], []
    for wid, (x, y, side, tags) in shapes.items():
        text, refs = _square(wid * 10, x, y, side)
        nodes.append(text)
        ways.append(_way(wid, refs, tags))
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
        + "\n".join(nodes + ways)
        + "\n</osm>\n"
    )
    path = tmp_path_factory.mktemp("osm") / "homes.osm"
    path.write_text(xml, encoding="utf-8")
    return path


def test_sources_read_buildings_land_and_boundaries(osm_file: Path) -> None:
    src = read_demand_sources(osm_file)
    assert len(src.buildings) == 5 and len(src.residential_land) == 2
    assert src.boundaries["name"].tolist() == ["东社区"]
    levels = dict(zip(src.buildings["id"], src.buildings["levels"], strict=True))
    assert levels["osm:way/3"] == 6 and levels["osm:way/5"] == 10
    homes = residential_buildings(src)
    assert sorted(homes["id"]) == ["osm:way/3", "osm:way/4", "osm:way/5"]


def test_homes_spread_by_floor_area_with_bare_land_and_communities(osm_file: Path) -> None:
    demand = homes_from_osm(read_demand_sources(osm_file), total=10_000)
    ids = demand["id"].tolist()
    assert sorted(ids) == ["osm:way/3", "osm:way/4", "osm:way/5", "osm:way/7"]
    pop = dict(zip(ids, demand["population"], strict=True))
    assert sum(pop.values()) == pytest.approx(10_000)
    # floors: 400 x 6, 400 x 1, 1600 x 10 and the bare land 10,000 x 0.25
    floors = {"osm:way/3": 2400, "osm:way/4": 400, "osm:way/5": 16000, "osm:way/7": 2500}
    total_floor = sum(floors.values())
    for i, f in floors.items():
        assert pop[i] == pytest.approx(10_000 * f / total_floor, rel=0.02)
    community = dict(zip(ids, demand["community"], strict=True))
    assert community["osm:way/3"] == "东社区" and community["osm:way/7"] == ""


def test_falls_back_to_street_nodes(sample_region: Region, tmp_path: Path) -> None:
    demand, origin = demand_for_region(sample_region, total=3225.0)
    assert len(demand) == sample_region.net.n_nodes and "street nodes" in origin
    assert demand["population"].sum() == pytest.approx(3225)


def test_the_sample_has_homes(sample_region: Region, sample_path: Path) -> None:
    demand, origin = demand_for_region(sample_region, sample_path, total=20_000)
    assert "OSM residential buildings" in origin
    assert len(demand) > 30 and demand["population"].sum() == pytest.approx(20_000)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(OSMFileError):
        read_demand_sources(tmp_path / "missing.osm.pbf")
    bad = tmp_path / "bad.osm"
    bad.write_text("<osm><node id=")
    with pytest.raises(OSMFileError):
        read_demand_sources(bad)
