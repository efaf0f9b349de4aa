"""The synthetic grid city: stored region schema, exact lengths, and a region that answers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from livingcircle.data.synthetic import grid_city
from livingcircle.geo.engine import Region
from livingcircle.geo.network import StreetNetwork, geodesic_m
from livingcircle.geo.standards import load_standard
from livingcircle.geo.store import FACILITY_COLUMNS

N = 400
EDGE_COLUMNS = ["edge", "u", "v", "length_m", "oneway", "way_id", "highway", "name", "geometry"]


@pytest.fixture(scope="module")
def city() -> tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return grid_city(N, seed=3)


def test_nodes_schema(city: tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    nodes = city[0]
    assert list(nodes.columns) == ["node", "osmid", "lon", "lat"]
    assert [str(t) for t in nodes.dtypes] == ["int32", "int64", "float64", "float64"]
    assert np.array_equal(nodes["node"].to_numpy(), np.arange(N))
    assert nodes["osmid"].is_unique
    assert nodes["lon"].between(121.4, 121.7).all() and nodes["lat"].between(29.8, 29.95).all()


def test_edges_schema(city: tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    nodes, edges, _ = city
    assert list(edges.columns) == EDGE_COLUMNS
    assert edges.crs == "EPSG:4326"
    for col, dtype in [
        ("edge", np.int32),
        ("u", np.int32),
        ("v", np.int32),
        ("length_m", np.float64),
        ("oneway", np.bool_),
        ("way_id", np.int64),
    ]:
        assert edges[col].dtype == dtype, col
    assert pd.api.types.is_string_dtype(edges["highway"])
    assert pd.api.types.is_string_dtype(edges["name"])
    assert np.array_equal(edges["edge"].to_numpy(), np.arange(len(edges)))
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    assert ((u >= 0) & (u < N) & (v >= 0) & (v < N) & (u != v)).all()
    assert (edges.geom_type == "LineString").all()
    assert 1.5 * N < len(edges) < 2 * N  # a square grid has about 2N edges, 5% dropped
    assert 0 < edges["oneway"].sum() < 0.1 * len(edges)
    # every edge runs from u to v, and its length is the geodesic length of its line
    coords = shapely.get_coordinates(edges.geometry.to_numpy()).reshape(-1, 2, 2)
    lonlat = nodes[["lon", "lat"]].to_numpy()
    assert np.array_equal(coords[:, 0], lonlat[u]) and np.array_equal(coords[:, 1], lonlat[v])
    exact = np.array([geodesic_m(shapely.get_coordinates(g)) for g in edges.geometry])
    length = edges["length_m"].to_numpy()
    assert (length > 0).all()
    np.testing.assert_allclose(length, exact, rtol=0, atol=1e-6)
    assert 75 < np.median(length) < 125  # 100 m spacing, 10 m jitter
    # no node is left without a street
    assert np.bincount(np.concatenate([u, v]), minlength=N).min() >= 1


def test_facilities_schema(
    city: tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    facilities = city[2]
    assert list(facilities.columns) == [*FACILITY_COLUMNS, "geometry"]
    assert facilities.crs == "EPSG:4326"
    for col in FACILITY_COLUMNS:
        assert pd.api.types.is_string_dtype(facilities[col]), col
    assert facilities["id"].is_unique and facilities["id"].str.startswith("syn:").all()
    assert (facilities["source"] == "synthetic").all()
    assert (facilities["tags"] == "{}").all() and (facilities["opening_hours"] == "").all()
    assert set(facilities.geom_type) <= {"Point", "Polygon"}
    assert set(facilities["category"]) == set(load_standard().category_ids)


def test_polygons_appear_at_scale() -> None:
    facilities = grid_city(2_500, seed=1)[2]
    share = (facilities.geom_type == "Polygon").mean()
    assert 0.03 < share < 0.2
    assert facilities.geometry.is_valid.all()


def test_same_seed_same_city() -> None:
    a, b = grid_city(100, seed=7), grid_city(100, seed=7)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(pd.DataFrame(x), pd.DataFrame(y))


def test_region_answers(city: tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    nodes, edges, facilities = city
    standard = load_standard()
    region = Region("grid", StreetNetwork.from_frames(nodes, edges), facilities, standard)
    assert region.unsnapped_facilities == 0
    mid = nodes.iloc[N // 2 + 10]
    lon, lat = float(mid["lon"]) + 1e-4, float(mid["lat"])

    result = region.catchment(lon, lat)
    assert [r.minutes for r in result.rings] == [5, 10, 15]
    areas = [r.area_m2 for r in result.rings]
    assert 0 < areas[0] < areas[1] < areas[2]
    assert result.facilities
    assert len(result.tiers) == len(standard.tiers)

    nearest = region.nearest(lon, lat, categories=["restaurant", "hospital"], k=1)
    hits = nearest.by_category["restaurant"]
    assert len(hits) == 1 and hits[0].distance_m > 0 and hits[0].route is not None
