"""Sample files made from a region, and the progress the planner analysis reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from livingcircle.data.osm_file import Extract
from livingcircle.data.sample import (
    SAMPLE_POPULATION,
    sample_communities,
    sample_department,
    sample_homes,
)
from livingcircle.data.user_files import read_homes
from livingcircle.geo.demand import place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.planning import plan


def test_sample_homes_come_from_residential_buildings(sample_region: Region) -> None:
    homes = sample_homes(sample_region)
    assert list(homes.columns[:4]) == ["lon", "lat", "population", "id"]
    assert homes["population"].sum() == pytest.approx(SAMPLE_POPULATION, abs=5)
    assert homes["id"].str.startswith("osm:").all()  # buildings, not street nodes
    assert sample_region.contains_many(homes["lon"].to_numpy(), homes["lat"].to_numpy()).all()
    again = sample_homes(sample_region)
    assert again.drop(columns="geometry").equals(homes.drop(columns="geometry"))


def test_sample_homes_without_buildings_are_street_nodes(
    sample_region: Region, sample_extract: Extract
) -> None:
    elsewhere = Region(
        "elsewhere", sample_region.net, sample_extract.facilities, sample_region.standard
    )  # not the sample: no OSM file is assumed
    homes = sample_homes(elsewhere, population=1000)
    assert len(homes) == sample_region.net.n_nodes
    assert homes["population"].sum() == pytest.approx(1000, abs=1)
    with pytest.raises(InvalidParameter, match="above 0"):
        sample_homes(elsewhere, population=0)


def test_sample_communities_are_named_polygons(sample_region: Region) -> None:
    grid = sample_communities(sample_region, rows=2, cols=3)
    assert grid["name"].tolist()[:2] == ["社区 A · Community A", "社区 B · Community B"]
    assert len(grid) == 6 and grid.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert grid.union_all().area == pytest.approx(sample_region.boundary.area, rel=1e-6)
    with pytest.raises(InvalidParameter, match="26 cells at most"):
        sample_communities(sample_region, rows=6, cols=6)


def test_sample_department_has_known_new_and_bad_rows(sample_region: Region) -> None:
    rows, mapping = sample_department(sample_region)
    assert list(rows.columns) == ["编号", "名称", "类型", "经度", "纬度"]
    assert rows["编号"].is_unique and rows["经度"].isna().sum() == 1
    assert 'source = "health-bureau"' in mapping and '"药店" = "pharmacy"' in mapping


def test_plan_reports_its_stages(sample_region: Region, tmp_path: Path) -> None:
    csv = tmp_path / "homes.csv"  # the round trip 'sample homes' then 'gaps --homes' makes
    sample_homes(sample_region).drop(columns="geometry").to_csv(csv, index=False)
    demand = place_demand(sample_region.net, read_homes(csv), 50.0)
    told: list[tuple[str, int, int]] = []
    plan(sample_region, demand, ["clinic"], n_sites=2, progress=lambda *a: told.append(a))
    stages = list(dict.fromkeys(stage for stage, _, _ in told))
    # the k nearest and the counts first: the nearest passes start from what that finds
    assert stages[0] == "counting facilities within 5, 10, 15 min"
    assert f"nearest facility: {sample_region.standard.category_ids[0]}" in stages
    assert "drawing gap areas" in stages and "choosing 2 new sites per category" in stages
    assert all(0 <= done <= total for _, done, total in told)
    assert ("drawing gap areas", 1, 1) in told  # every stage ends complete
