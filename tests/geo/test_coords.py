"""Coordinate conversion: round trips through GCJ-02, BD-09 and EPSG codes stay under 1 m."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from livingcircle.geo.coords import from_wgs84, normalise_crs, to_wgs84
from livingcircle.geo.errors import InvalidParameter

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def china_points() -> tuple[np.ndarray, np.ndarray]:
    """Points over mainland China, Ningbo's Haishu district densest."""
    rng = np.random.default_rng(7)
    lon = np.concatenate([rng.uniform(121.4, 121.7, 500), rng.uniform(75, 134, 500)])
    lat = np.concatenate([rng.uniform(29.7, 30.0, 500), rng.uniform(20, 50, 500)])
    return lon, lat


@pytest.mark.parametrize("crs", ["gcj02", "bd09", "EPSG:4547", "EPSG:32651", "wgs84"])
def test_round_trip_under_one_metre(china_points: tuple[np.ndarray, np.ndarray], crs: str) -> None:
    lon, lat = china_points
    x, y = from_wgs84(lon, lat, crs)
    back_lon, back_lat = to_wgs84(x, y, crs)
    _, _, error = GEOD.inv(lon, lat, back_lon, back_lat)
    assert np.nanmax(error) < 1.0


@pytest.mark.parametrize(("crs", "least_m"), [("gcj02", 100.0), ("bd09", 300.0)])
def test_chinese_offsets_are_real(
    china_points: tuple[np.ndarray, np.ndarray], crs: str, least_m: float
) -> None:
    lon, lat = china_points
    x, y = from_wgs84(lon[:500], lat[:500], crs)
    _, _, offset = GEOD.inv(lon[:500], lat[:500], x, y)
    assert offset.min() > least_m  # the conversion is not silently a no-op


def test_outside_china_unchanged() -> None:
    lon, lat = to_wgs84([24.94], [60.17], "gcj02")
    assert (lon[0], lat[0]) == (24.94, 60.17)


def test_names() -> None:
    assert normalise_crs("GCJ-02") == "gcj02"
    assert normalise_crs("EPSG:4326") == "wgs84"
    assert normalise_crs("EPSG:4547") == "EPSG:4547"
    with pytest.raises(InvalidParameter, match="allowed: wgs84, gcj02, bd09"):
        normalise_crs("amap")
