"""Synthetic grid cities for benchmarks and tests, in the stored region schema.

:func:`grid_city` lays out a jittered square street grid around a centre point (Ningbo by
default), drops a few street edges at random, and scatters facilities of every category of
the standard over it. Its three frames have exactly the columns and dtypes that
:func:`livingcircle.geo.network.build_network` returns and
:class:`livingcircle.geo.store.RegionData` stores, so they
feed ``StreetNetwork.from_frames`` and ``Region`` unchanged. Everything is vectorised: a
million nodes (about two million edges) take a few seconds. :class:`SyntheticCity` builds a
city's region and homes where it is called (a worker), and :func:`synthetic_province` lays
out a province of such cities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from livingcircle.geo.network import FloatArray

if TYPE_CHECKING:
    from livingcircle.geo.demand import Demand
    from livingcircle.geo.engine import Region

#: Ningbo (Haishu / Yinzhou), the default centre.
NINGBO = (121.55, 29.87)

#: Relative density of each category (unlisted categories get 1.0): bus stops, restaurants
#: and shops are everywhere, hospitals and government offices are rare.
CATEGORY_WEIGHTS: dict[str, float] = {
    "hospital": 0.15,
    "clinic": 1.0,
    "pharmacy": 1.5,
    "wet_market": 0.5,
    "supermarket": 1.5,
    "convenience": 4.0,
    "kindergarten": 1.0,
    "primary_school": 0.6,
    "junior_high_school": 0.3,
    "school": 0.3,
    "elderly_care": 0.4,
    "community_centre": 0.5,
    "culture": 0.3,
    "sports": 0.6,
    "park": 0.8,
    "restaurant": 8.0,
    "bank": 1.2,
    "post_office": 0.3,
    "police": 0.2,
    "government": 0.2,
    "daily_services": 3.0,
    "car_parking": 3.0,
    "bicycle_parking": 2.0,
    "toilets": 1.0,
    "recycling": 1.5,
    "parcel_locker": 2.0,
    "bus_stop": 5.0,
}

_HIGHWAYS = np.array(
    [
        "residential",
        "residential",
        "tertiary",
        "residential",
        "service",
        "secondary",
        "residential",
        "footway",
        "residential",
        "primary",
    ]
)
_ONEWAY_FRACTION = 0.02
_POLYGON_FRACTION = 0.10

_GEOD = Geod(ellps="WGS84")
_EARTH_RADIUS_M = 6_371_009.0  # only to lay the grid out in degrees


def grid_city(
    n_nodes: int,
    spacing_m: float = 100.0,
    seed: int = 0,
    *,
    center: tuple[float, float] = NINGBO,
    facilities_per_km2: float = 40.0,
    drop_fraction: float = 0.05,
    jitter_m: float = 10.0,
    categories: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Build a jittered square street grid with facilities, in the stored region schema.

    Parameters
    ----------
    n_nodes
        Number of street nodes (the last grid row may be partial).
    spacing_m
        Distance between neighbouring junctions before jitter, metres.
    seed
        Random seed; the same arguments give the same city.
    center
        ``(lon, lat)`` of the grid's centre.
    facilities_per_km2
        Mean facility density over the grid's area.
    drop_fraction
        Share of grid edges removed at random (no node is left without an edge).
    jitter_m
        Each node moves by up to this much in x and in y, metres.
    categories
        Facility category ids; the bundled standard's categories by default. Every category
        gets at least one facility.

    Returns
    -------
    nodes, edges, facilities
        ``nodes``: ``node`` (int32, 0..N-1), ``osmid``, ``lon``, ``lat``. ``edges``: EPSG:4326
        GeoDataFrame with ``edge``, ``u``, ``v``, ``length_m`` (great-circle), ``oneway``,
        ``way_id``, ``highway``, ``name`` and a LineString from ``u`` to ``v``.
        ``facilities``: EPSG:4326 GeoDataFrame with ``id`` (``syn:N``), ``source``,
        ``source_id``, ``name``, ``name_zh``, ``name_en``, ``category``, ``opening_hours``,
        ``tags`` and a Point or (one in ten) small square Polygon.

    """
    if n_nodes < 4:
        raise ValueError(f"n_nodes={n_nodes} is too small; a grid city needs at least 4 nodes")
    rng = np.random.default_rng(seed)
    if categories is None:
        from livingcircle.geo.standards import load_standard  # noqa: PLC0415

        categories = load_standard().category_ids
    cols = int(np.ceil(np.sqrt(n_nodes)))
    rows = int(np.ceil(n_nodes / cols))
    width, height = (cols - 1) * spacing_m, (rows - 1) * spacing_m
    to_lonlat = _Equirectangular(center, width / 2, height / 2)

    # nodes: row-major, jittered
    idx = np.arange(n_nodes, dtype=np.int64)
    col, row = idx % cols, idx // cols
    x = col * spacing_m + rng.uniform(-jitter_m, jitter_m, n_nodes)
    y = row * spacing_m + rng.uniform(-jitter_m, jitter_m, n_nodes)
    lon, lat = to_lonlat(x, y)
    nodes = pd.DataFrame(
        {
            "node": np.arange(n_nodes, dtype=np.int32),
            "osmid": idx + 1_000_000_000,
            "lon": lon,
            "lat": lat,
        }
    )

    # edges: east and north neighbours, a few dropped, a few one-way in a random direction
    east = idx[(col < cols - 1) & (idx + 1 < n_nodes)]
    north = idx[idx + cols < n_nodes]
    u = np.concatenate([east, north])
    v = np.concatenate([east + 1, north + cols])
    horizontal = np.arange(len(u)) < len(east)
    keep = rng.random(len(u)) >= drop_fraction
    degree = np.bincount(u[keep], minlength=n_nodes) + np.bincount(v[keep], minlength=n_nodes)
    keep |= (degree[u] == 0) | (degree[v] == 0)  # give every stranded node its edges back
    u, v, horizontal = u[keep], v[keep], horizontal[keep]
    oneway = rng.random(len(u)) < _ONEWAY_FRACTION
    flip = oneway & (rng.random(len(u)) < 0.5)
    u, v = np.where(flip, v, u), np.where(flip, u, v)
    coords = np.empty((len(u), 2, 2))
    coords[:, 0, 0], coords[:, 0, 1] = lon[u], lat[u]
    coords[:, 1, 0], coords[:, 1, 1] = lon[v], lat[v]
    # a street is a grid row (horizontal) or column (vertical); edges carry its way id
    street = np.where(horizontal, row[u], rows + np.minimum(col[u], col[v]))
    street_names = np.concatenate(
        [
            [f"Synthetic Road {r + 1}" for r in range(rows)],
            [f"Synthetic Street {c + 1}" for c in range(cols)],
        ]
    ).astype(object)
    edges = gpd.GeoDataFrame(
        {
            "edge": np.arange(len(u), dtype=np.int32),
            "u": u.astype(np.int32),
            "v": v.astype(np.int32),
            "length_m": _geodesic_m(coords[:, 0], coords[:, 1]),
            "oneway": oneway,
            "way_id": (street + 2_000_000_000).astype(np.int64),
            "highway": pd.array(_HIGHWAYS.astype(object)[street % len(_HIGHWAYS)], dtype="str"),
            "name": pd.array(street_names[street], dtype="str"),
        },
        geometry=shapely.linestrings(coords),
        crs="EPSG:4326",
    )
    facilities = _facilities(
        rng,
        to_lonlat=to_lonlat,
        width=width,
        height=height,
        per_km2=facilities_per_km2,
        categories=categories,
    )
    return nodes, edges, facilities


class _Equirectangular:
    """Local metres (origin at the grid's south-west corner) to lon/lat around a centre."""

    def __init__(self, center: tuple[float, float], half_w: float, half_h: float) -> None:
        self.lon0, self.lat0 = center
        self.half_w, self.half_h = half_w, half_h
        self.m_per_deg_lat = np.radians(1.0) * _EARTH_RADIUS_M
        self.m_per_deg_lon = self.m_per_deg_lat * np.cos(np.radians(self.lat0))

    def __call__(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        lon = self.lon0 + (np.asarray(x) - self.half_w) / self.m_per_deg_lon
        lat = self.lat0 + (np.asarray(y) - self.half_h) / self.m_per_deg_lat
        return lon, lat


def _geodesic_m(a: FloatArray, b: FloatArray) -> FloatArray:
    """WGS 84 geodesic distance between (n, 2) lon/lat arrays, as real edges are measured."""
    _, _, dist = _GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    return np.asarray(dist, dtype=np.float64)


def _facilities(
    rng: np.random.Generator,
    *,
    to_lonlat: _Equirectangular,
    width: float,
    height: float,
    per_km2: float,
    categories: Sequence[str],
) -> gpd.GeoDataFrame:
    ids = np.asarray(categories, dtype=object)
    k = len(ids)
    area_km2 = max(width, 1.0) * max(height, 1.0) / 1e6
    n = max(k, round(per_km2 * area_km2))
    weights = np.array([CATEGORY_WEIGHTS.get(c, 1.0) for c in categories])
    cat = np.concatenate([np.arange(k), rng.choice(k, size=n - k, p=weights / weights.sum())])
    x, y = rng.uniform(0, width, n), rng.uniform(0, height, n)
    lon, lat = to_lonlat(x, y)
    geoms = shapely.points(lon, lat)
    square = rng.random(n) < _POLYGON_FRACTION
    if square.any():
        half = rng.uniform(10.0, 40.0, int(square.sum()))
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=np.float64)
        sx = x[square][:, None] + half[:, None] * corners[:, 0]
        sy = y[square][:, None] + half[:, None] * corners[:, 1]
        slon, slat = to_lonlat(sx, sy)
        geoms[square] = shapely.polygons(np.stack([slon, slat], axis=-1))
    number = pd.Series(np.arange(n)).astype("str")
    category = pd.Series(ids[cat], dtype="str")
    name = category.str.replace("_", " ").str.capitalize() + " " + number
    return gpd.GeoDataFrame(
        {
            "id": "syn:" + number,
            "source": pd.Series(np.full(n, "synthetic", dtype=object), dtype="str"),
            "source_id": number,
            "name": name,
            "name_zh": "合成" + number,
            "name_en": name,
            "category": category,
            "opening_hours": pd.Series(np.full(n, "", dtype=object), dtype="str"),
            "tags": pd.Series(np.full(n, "{}", dtype=object), dtype="str"),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


@dataclass(frozen=True)
class SyntheticCity:
    """A grid city and its homes, built where it is called: a region builder for a worker.

    Calling it returns the region (:func:`grid_city` on the bundled standard) and one home
    per street node with ``residents`` each, placed on its streets; it is small to pickle,
    so a province of such cities is built on the workers
    (:func:`livingcircle.distributed.analyse_built_province`), never in one process.
    """

    name: str
    n_nodes: int
    seed: int = 0
    center: tuple[float, float] = NINGBO
    residents: float = 3.0

    def __call__(self) -> tuple[Region, Demand]:
        """Build the city, its region and its placed homes."""
        from livingcircle.geo.demand import demand_from_nodes, place_demand  # noqa: PLC0415
        from livingcircle.geo.engine import Region  # noqa: PLC0415
        from livingcircle.geo.network import StreetNetwork  # noqa: PLC0415
        from livingcircle.geo.standards import load_standard  # noqa: PLC0415

        nodes, edges, facilities = grid_city(self.n_nodes, seed=self.seed, center=self.center)
        net = StreetNetwork.from_frames(nodes, edges)
        del nodes, edges
        region = Region(self.name, net, facilities, load_standard())
        lonlat = region.unproject(net.node_xy)
        homes = demand_from_nodes(net, lonlat, self.residents * net.n_nodes)
        return region, place_demand(net, homes, region.max_snap_m)


def synthetic_province(
    n_nodes: int, city_nodes: int = 1_000_000, seed: int = 0
) -> list[SyntheticCity]:
    """A province of grid cities of ``city_nodes`` each (the last smaller), side by side.

    The cities' centres are about 1.5 city widths apart on a grid of rows of five, east and
    north of Ningbo, so no two overlap; each has its own seed.
    """
    count = max(1, int(np.ceil(n_nodes / city_nodes)))
    step_deg = 1.5 * np.sqrt(city_nodes) * 100.0 / (np.radians(1.0) * _EARTH_RADIUS_M)
    cities = []
    for i in range(count):
        size = min(city_nodes, n_nodes - i * city_nodes)
        center = (NINGBO[0] + step_deg * (i % 5), NINGBO[1] + step_deg * (i // 5))
        cities.append(SyntheticCity(f"city{i:02d}", max(size, 4), seed + i, center))
    return cities
