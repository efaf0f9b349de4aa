"""Hand-built networks whose answers are known by hand.

Coordinates are given in metres east/north of a point in Ningbo and converted with a local
equirectangular approximation; each edge's ``length_m`` is set to its exact planar length,
which is what the engine treats as the truth.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from livingcircle.geo.engine import Region
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import FACILITY_COLUMNS

LON0, LAT0 = 121.55, 29.87
_M_PER_DEG_LAT = 111_320.0
_M_PER_DEG_LON = _M_PER_DEG_LAT * math.cos(math.radians(LAT0))


def lonlat(x: float, y: float) -> tuple[float, float]:
    """Metres east/north of the origin to lon/lat."""
    return LON0 + x / _M_PER_DEG_LON, LAT0 + y / _M_PER_DEG_LAT


Via = Sequence[tuple[float, float]]
Edge = tuple[str, str] | tuple[str, str, bool] | tuple[str, str, bool, Via]


def network(
    nodes: dict[str, tuple[float, float]], edges: Sequence[Edge]
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, dict[str, int]]:
    """Frames for nodes named by letters and edges ``(a, b[, oneway[, via points]])``."""
    names = list(nodes)
    ids = {n: i for i, n in enumerate(names)}
    ll = np.array([lonlat(*nodes[n]) for n in names])
    node_frame = pd.DataFrame(
        {
            "node": np.arange(len(names), dtype=np.int32),
            "osmid": np.arange(len(names), dtype=np.int64) + 1000,
            "lon": ll[:, 0],
            "lat": ll[:, 1],
        }
    )
    rows, geoms = [], []
    for i, e in enumerate(edges):
        a, b = e[0], e[1]
        oneway = bool(e[2]) if len(e) > 2 else False  # type: ignore[misc]
        via = list(e[3]) if len(e) > 3 else []  # type: ignore[misc]
        xy = np.array([nodes[a], *via, nodes[b]], dtype=float)
        length = float(np.hypot(*np.diff(xy, axis=0).T).sum())
        rows.append(
            {
                "edge": i,
                "u": ids[a],
                "v": ids[b],
                "length_m": length,
                "oneway": oneway,
                "way_id": i + 1,
                "highway": "footway",
                "name": f"{a}{b}",
            }
        )
        geoms.append(shapely.LineString([lonlat(x, y) for x, y in xy]))
    edge_frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")
    edge_frame = edge_frame.astype({"edge": np.int32, "u": np.int32, "v": np.int32})
    return node_frame, edge_frame, ids


def facilities(points: dict[str, tuple[str, float, float]]) -> gpd.GeoDataFrame:
    """Point facilities ``{id: (category, x, y)}``."""
    rows = [
        {
            "id": fid,
            "source": "test",
            "source_id": fid,
            "name": fid,
            "name_zh": "",
            "name_en": "",
            "category": cat,
            "opening_hours": "",
            "tags": json.dumps({}),
        }
        for fid, (cat, _, _) in points.items()
    ]
    geoms = [shapely.Point(lonlat(x, y)) for _, x, y in points.values()]
    frame = pd.DataFrame(rows, columns=FACILITY_COLUMNS)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")


def region(
    nodes: dict[str, tuple[float, float]],
    edges: Sequence[Edge],
    points: dict[str, tuple[str, float, float]],
    standard: Standard,
    prepared: bool = False,
) -> Region:
    """A Region over a hand-built network with point facilities (distance fields if
    ``prepared``)."""
    n, e, _ = network(nodes, edges)
    reg = Region("hand", StreetNetwork.from_frames(n, e), facilities(points), standard)
    return reg.prepare_nearest() if prepared else reg
