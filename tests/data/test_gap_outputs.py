"""Writing the gap analysis: GeoPackage layers, GeoParquet and CSV files, the report."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from livingcircle.data.gap_outputs import write_result
from livingcircle.geo.demand import demand_frame, place_demand
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.planning import PlannerTables, plan
from livingcircle.geo.standards import Standard
from livingcircle.maps.report import write_report
from tests.handmade import lonlat, region


@pytest.fixture(scope="module")
def result(standard: Standard) -> tuple[object, PlannerTables]:
    reg = region({"A": (0, 0), "B": (1000, 0)}, [("A", "B")], {"c1": ("clinic", 100, 0)}, standard)
    ll = np.array([lonlat(x, 0) for x in (0, 500, 900)])
    frame = demand_frame(
        gpd.points_from_xy(ll[:, 0], ll[:, 1]),
        np.array([1.0, 2.0, 3.0]),
        np.array(["a", "b", "c"], dtype=object),
        np.array(["东", "东", "西"], dtype=object),
    )
    return reg, plan(reg, place_demand(reg.net, frame), ["clinic"], n_sites=2)


def test_geopackage_has_seven_layers(result: tuple[object, PlannerTables], tmp_path: Path) -> None:
    _, res = result
    path = tmp_path / "out.gpkg"
    assert write_result(res, path) == [path]
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {
        "points",
        "gaps",
        "sites",
        "coverage",
        "tiers",
        "access_scores",
        "equity",
    }
    points = gpd.read_file(path, layer="points")
    assert points["clinic_ok"].tolist() == [True, False, False]
    sites = gpd.read_file(path, layer="sites")
    # only node B (1000 m) is near an uncovered home: it covers the one at 900 m, not 500 m
    assert sites["gain_population"].tolist() == [3] and sites["candidate"].tolist() == [1]
    coverage = gpd.read_file(path, layer="coverage")
    assert set(coverage["community"]) == {"(district)", "东", "西"}
    scores = gpd.read_file(path, layer="access_scores")
    # one clinic (5,000 residents by default) within 300 m of the home at 0 m alone
    assert scores["id"].tolist() == ["a", "b", "c"]
    assert scores["score_2sfca"].tolist() == pytest.approx([5000, 0, 0])
    equity = gpd.read_file(path, layer="equity")
    assert set(equity["community"]) == {"(district)", "东", "西"}
    assert set(equity["group"]) == {"everyone"}


def test_parquet_and_csv_beside_each_other(
    result: tuple[object, PlannerTables], tmp_path: Path
) -> None:
    _, res = result
    files = write_result(res, tmp_path / "r.parquet")
    assert [f.name for f in files] == [
        "r.parquet",
        "r.gaps.parquet",
        "r.sites.parquet",
        "r.coverage.parquet",
        "r.tiers.parquet",
        "r.access_scores.parquet",
        "r.equity.parquet",
    ]
    assert gpd.read_parquet(files[0]).crs.to_epsg() == 4326
    files = write_result(res, tmp_path / "r.csv")
    points = pd.read_csv(files[0])
    assert {"lon", "lat", "score", "clinic_min"} <= set(points.columns)
    gaps = pd.read_csv(files[1])
    assert gaps["wkt"].str.startswith("POLYGON").all()
    with pytest.raises(InvalidParameter):
        write_result(res, tmp_path / "r.xlsx")


def test_reports(result: tuple[object, PlannerTables], tmp_path: Path) -> None:
    reg, res = result
    md = write_report(res, reg, tmp_path / "r.report.md", "test homes")  # type: ignore[arg-type]
    text = md.read_text(encoding="utf-8")
    assert "(r.report.map.svg)" in text
    assert "| 社区卫生服务站 · Clinic / health station | 300 米 · 300 m |" in text
    assert (tmp_path / "r.report.map.svg").read_text().startswith("<svg")
    page = write_report(res, reg, tmp_path / "r.report.html")  # type: ignore[arg-type]
    assert "<svg" in page.read_text() and "<table" in page.read_text()
