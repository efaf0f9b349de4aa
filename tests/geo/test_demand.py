"""Demand points: spreading a population, the street-node fallback, communities, snapping."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from livingcircle.geo.demand import (
    assign_communities,
    demand_frame,
    demand_from_buildings,
    demand_from_nodes,
    place_demand,
    spread_population,
)
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.standards import Standard
from tests.handmade import lonlat, region


def squares(sides: list[float], **columns: list[float]) -> gpd.GeoDataFrame:
    """Square footprints of the given sides (m), 100 m apart along a row."""
    polys = []
    for i, s in enumerate(sides):
        corners = [lonlat(i * 100 + dx, dy) for dx, dy in ((0, 0), (s, 0), (s, s), (0, s))]
        polys.append(shapely.Polygon(corners))
    return gpd.GeoDataFrame(columns, geometry=polys, crs="EPSG:4326")


def test_total_spread_by_floor_area_uses_levels() -> None:
    b = squares([10, 20, 10], levels=[1, 1, np.nan])  # 100, 400, 100 (default 1 level) m²
    pop = spread_population(b, total=600)
    assert pop == pytest.approx([100, 400, 100], rel=1e-3)
    b2 = squares([10, 10], levels=[3, 1])
    assert spread_population(b2, total=400) == pytest.approx([300, 100], rel=1e-3)


def test_total_spread_by_count_and_known_values_kept() -> None:
    b = squares([10, 20, 30], population=[np.nan, 50, np.nan])
    pop = spread_population(b, total=250, by="count")
    assert pop == pytest.approx([100, 50, 100])
    assert spread_population(b, total=250).sum() == pytest.approx(250)
    with pytest.raises(InvalidParameter):
        spread_population(b, total=10)  # less than the 50 already given
    with pytest.raises(InvalidParameter):
        spread_population(b, by="height")  # type: ignore[arg-type]


def test_without_a_total_floor_area_gives_a_rule_of_thumb() -> None:
    b = squares([30], levels=[2])  # 1800 m² of floors
    assert spread_population(b) == pytest.approx([60], rel=1e-2)  # UTM areas, hand plane


def test_buildings_become_points_on_their_footprints() -> None:
    b = squares([10, 20])
    d = demand_from_buildings(b, total=50)
    assert (d.geometry.geom_type == "Point").all()
    assert all(p.within(poly) for p, poly in zip(d.geometry, b.geometry, strict=True))
    assert d["population"].sum() == pytest.approx(50)


def test_street_nodes_fallback_and_communities(standard: Standard) -> None:
    reg = region({"A": (0, 0), "B": (200, 0)}, [("A", "B")], {}, standard)
    d = demand_from_nodes(reg.net, reg.unproject(reg.net.node_xy), total=1000)
    assert d["population"].tolist() == [500, 500]
    west = shapely.Polygon(
        [lonlat(x, y) for x, y in ((-50, -50), (100, -50), (100, 50), (-50, 50))]
    )
    bounds = gpd.GeoDataFrame({"name": ["west"]}, geometry=[west], crs="EPSG:4326")
    named = assign_communities(d, bounds)
    assert named["community"].tolist() == ["west", ""]


def test_place_demand_drops_points_too_far_from_a_street(standard: Standard) -> None:
    reg = region({"A": (0, 0), "B": (200, 0)}, [("A", "B")], {}, standard)
    ll = np.array([lonlat(50, 10), lonlat(50, 900)])
    frame = demand_frame(
        gpd.points_from_xy(ll[:, 0], ll[:, 1]),
        np.array([3.0, 7.0]),
        np.array(["near", "far"], dtype=object),
    )
    placed = place_demand(reg.net, frame, 250)
    assert len(placed) == 1 and placed.frame["id"].tolist() == ["near"]
    assert placed.dropped == 1 and placed.dropped_population == 7
    assert placed.snap.access_m[0] == pytest.approx(10, abs=0.1)
    with pytest.raises(InvalidParameter):
        place_demand(reg.net, frame.drop(columns="population"))
    with pytest.raises(InvalidParameter):
        place_demand(reg.net, frame.assign(population=[-1.0, 2.0]))


def test_place_demand_projects_as_to_crs_does(standard: Standard) -> None:
    """Homes in any CRS land where ``to_crs`` puts them; an empty point is dropped, and a
    frame without a CRS is refused with what to set."""
    reg = region({"A": (0, 0), "B": (200, 0)}, [("A", "B")], {}, standard)
    ll = np.array([lonlat(50, 10), lonlat(120, -20)])
    frame = demand_frame(
        gpd.points_from_xy(ll[:, 0], ll[:, 1]), np.array([3.0, 7.0]), np.array(["a", "b"])
    )
    wgs84 = place_demand(reg.net, frame, 250)
    mercator = place_demand(reg.net, frame.to_crs(3857), 250)
    assert mercator.snap.edge.tolist() == wgs84.snap.edge.tolist()
    assert mercator.snap.offset_m == pytest.approx(wgs84.snap.offset_m, abs=1e-6)
    empty = frame.set_geometry([shapely.Point(ll[0]), shapely.Point()], crs="EPSG:4326")
    placed = place_demand(reg.net, empty, 250)
    assert placed.frame["id"].tolist() == ["a"] and placed.dropped_population == 7
    with pytest.raises(InvalidParameter, match="set_crs"):
        place_demand(reg.net, frame.set_crs(None, allow_override=True))
