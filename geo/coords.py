"""Coordinate systems of facility lists: WGS-84, China's GCJ-02 and BD-09, or any EPSG code.

OpenStreetMap and GPS use WGS-84; Amap/Gaode and Tencent export GCJ-02, Baidu BD-09 (offsets
of hundreds of metres). Everything is stored in WGS-84 (EPSG:4326), so lists are converted on
import with :func:`to_wgs84`. The published GCJ-02 inverse is an approximation (errors of a few
metres); it is refined here by fixed-point iteration so a round trip stays well under 1 m.
Outside China GCJ-02 and BD-09 leave coordinates unchanged, as the transforms define.
"""

from __future__ import annotations

import math

import coordTransform
import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from livingcircle.geo.errors import InvalidParameter

FloatArray = NDArray[np.float64]

#: Names a mapping file may give besides an EPSG code (``"EPSG:4547"``).
NAMED = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "epsg:4326": "wgs84",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
}
_ITERATIONS = 4
#: Mean Earth radius (m), for straight-line distances on a spherical Earth.
EARTH_RADIUS_M = 6_371_008.8


def great_circle_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Straight-line (haversine, spherical Earth) distance between two points, metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def normalise_crs(crs: str) -> str:
    """``"wgs84"``, ``"gcj02"``, ``"bd09"`` or a validated ``"EPSG:n"`` (or other pyproj text).

    Raises
    ------
    InvalidParameter
        ``crs`` names no known coordinate system.
    """
    key = crs.strip().lower()
    if key in NAMED:
        return NAMED[key]
    try:
        parsed = CRS.from_user_input(crs.strip())
    except CRSError:
        raise InvalidParameter(
            f"unknown coordinate system {crs!r}; allowed: wgs84, gcj02, bd09 or an EPSG code "
            "such as 'EPSG:4547'"
        ) from None
    return "wgs84" if parsed.equals(CRS.from_epsg(4326)) else crs.strip()


def to_wgs84(x: ArrayLike, y: ArrayLike, crs: str) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates in ``crs`` to WGS-84 longitude and latitude (vectorised).

    Parameters
    ----------
    x, y
        Longitudes and latitudes (or eastings and northings for a projected EPSG code).
    crs
        ``"wgs84"``, ``"gcj02"``, ``"bd09"`` or anything :func:`normalise_crs` accepts.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    kind = normalise_crs(crs)
    if kind == "wgs84":
        return xs.copy(), ys.copy()
    if kind == "gcj02":
        return _gcj02_to_wgs84(xs, ys)
    if kind == "bd09":
        gx, gy = coordTransform.bd09_to_gcj02(xs, ys)
        return _gcj02_to_wgs84(np.asarray(gx, np.float64), np.asarray(gy, np.float64))
    transformer = Transformer.from_crs(kind, 4326, always_xy=True)
    lon, lat = transformer.transform(xs, ys)
    return np.asarray(lon, np.float64), np.asarray(lat, np.float64)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[FloatArray, FloatArray]:
    """The inverse of :func:`to_wgs84` (for tests, and maps drawn on Amap or Baidu tiles)."""
    xs = np.asarray(lon, dtype=np.float64)
    ys = np.asarray(lat, dtype=np.float64)
    kind = normalise_crs(crs)
    if kind == "wgs84":
        return xs.copy(), ys.copy()
    if kind in ("gcj02", "bd09"):
        convert = coordTransform.wgs84_to_gcj02 if kind == "gcj02" else coordTransform.wgs84_to_bd09
        gx, gy = convert(xs, ys)
        return np.asarray(gx, np.float64), np.asarray(gy, np.float64)
    transformer = Transformer.from_crs(4326, kind, always_xy=True)
    px, py = transformer.transform(xs, ys)
    return np.asarray(px, np.float64), np.asarray(py, np.float64)


def _gcj02_to_wgs84(gx: FloatArray, gy: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Invert WGS-84 -> GCJ-02 by fixed-point iteration (the offset varies slowly)."""
    lon, lat = (np.asarray(v, np.float64) for v in coordTransform.gcj02_to_wgs84(gx, gy))
    for _ in range(_ITERATIONS):
        fx, fy = (np.asarray(v, np.float64) for v in coordTransform.wgs84_to_gcj02(lon, lat))
        lon = lon + (gx - fx)
        lat = lat + (gy - fy)
    return lon, lat


def check_lonlat(lon: float, lat: float) -> None:
    """Refuse a WGS 84 point outside lon -180..180, lat -90..90 or not finite."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or not np.isfinite([lon, lat]).all():
        raise InvalidParameter(
            f"coordinates lat={lat}, lon={lon} are invalid; allowed: lat -90 to 90, "
            "lon -180 to 180 (WGS 84 degrees)"
        )
