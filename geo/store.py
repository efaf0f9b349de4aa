"""What a store keeps for a region, and the protocol every store implements.

Two stores satisfy :class:`Store`: the embedded file store (``data.embedded``, the default,
no server needed) and the PostGIS store. ``tests/contract`` runs one suite against both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidParameter

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

Bounds = tuple[float, float, float, float]


def check_region_name(name: str) -> str:
    """Validate a region name: lowercase letters, digits, ``-`` and ``_``, at most 63."""
    if not _NAME.match(name):
        raise InvalidParameter(
            f"region name {name!r} is not allowed; use 1 to 63 lowercase letters, digits, "
            "'-' or '_', starting with a letter or digit (e.g. 'haishu' or 'helsinki-centre')"
        )
    return name


@dataclass(frozen=True)
class RegionInfo:
    """A loaded region's record."""

    name: str
    source: str
    loaded_at: datetime
    bounds: Bounds
    n_nodes: int
    n_edges: int
    n_facilities: int

    def covers(self, lon: float, lat: float, margin_deg: float = 0.01) -> bool:
        """Whether a point lies in the bounding box (widened by ``margin_deg``)."""
        w, s, e, n = self.bounds
        return w - margin_deg <= lon <= e + margin_deg and s - margin_deg <= lat <= n + margin_deg


@dataclass
class RegionData:
    """Everything stored for a region, in EPSG:4326.

    ``nodes``: ``node``, ``osmid``, ``lon``, ``lat``. ``edges``: ``edge``, ``u``, ``v``,
    ``length_m``, ``oneway``, ``way_id``, ``highway``, ``name``, LineString geometry.
    ``facilities``: ``id``, ``source``, ``source_id``, ``name``, ``name_zh``, ``name_en``,
    ``category``, ``opening_hours``, ``tags`` (JSON text) and a Point or Polygon geometry.
    """

    info: RegionInfo
    nodes: pd.DataFrame
    edges: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame


@runtime_checkable
class Store(Protocol):
    """Where regions live. Every write replaces a region whole or not at all."""

    def regions(self) -> list[RegionInfo]:
        """Every loaded region, by name."""
        ...

    def save_region(self, data: RegionData) -> None:
        """Store a region, replacing any earlier version atomically."""
        ...

    def load_region(self, name: str) -> RegionData:
        """Read a region back; raises ``RegionNotFound``."""
        ...

    def delete_region(self, name: str) -> None:
        """Remove a region; raises ``RegionNotFound``."""
        ...

    def facilities(
        self,
        region: str,
        bbox: Bounds | None = None,
        categories: list[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> gpd.GeoDataFrame:
        """Facilities in a bounding box and categories, ordered by id, one page."""
        ...

    def nearest_candidates(
        self, region: str, lon: float, lat: float, categories: list[str] | None, limit: int
    ) -> gpd.GeoDataFrame:
        """The ``limit`` facilities nearest in a straight line, nearest first.

        A KNN index query; the frame gets a ``straight_m`` column.
        """
        ...

    def facilities_in_polygon(
        self, region: str, polygon: BaseGeometry, categories: list[str] | None = None
    ) -> gpd.GeoDataFrame:
        """Facilities whose geometry intersects ``polygon`` (EPSG:4326), ordered by id."""
        ...
