"""Display coordinates: Amap tiles are drawn in GCJ-02, our data is WGS-84."""

from __future__ import annotations

import coordTransform
import numpy as np
import shapely
from pyproj import Geod

from livingcircle.maps.base import Display

NINGBO = np.array([[121.5440, 29.8683], [121.6000, 29.9000]])  # Haishu, Yinzhou


def test_amap_shifts_chinese_points_by_hundreds_of_metres() -> None:
    shifted = Display("amap").xy(NINGBO)
    _, _, metres = Geod(ellps="WGS84").inv(NINGBO[:, 0], NINGBO[:, 1], shifted[:, 0], shifted[:, 1])
    assert (metres > 200).all() and (metres < 1000).all()
    back = np.column_stack(coordTransform.gcj02_to_wgs84(shifted[:, 0], shifted[:, 1]))
    _, _, error = Geod(ellps="WGS84").inv(NINGBO[:, 0], NINGBO[:, 1], back[:, 0], back[:, 1])
    assert (error < 2.0).all()  # the published inverse is approximate, to about a metre


def test_osm_tiles_and_points_outside_china_are_not_moved() -> None:
    assert np.array_equal(Display("osm").xy(NINGBO), NINGBO)
    helsinki = np.array([[24.9414, 60.1710]])
    assert np.allclose(Display("amap").xy(helsinki), helsinki)
    line = shapely.LineString(NINGBO)
    assert Display("osm").geom(line).equals(line)
    assert not Display("amap").geom(line).equals(line)
