"""A region's facilities placed on its streets: the columns a query reads, in id order.

:func:`place_facilities` snaps them (the costly part of building a region, and what a
region cache keeps); :func:`index_facilities` turns the placed rows into a
:class:`FacilityIndex`. :class:`Found` holds the facilities one search reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.spatial import cKDTree

from livingcircle.geo import config
from livingcircle.geo.network import FloatArray, IntArray, StreetNetwork
from livingcircle.geo.positions import Snap
from livingcircle.geo.results import DECIMALS
from livingcircle.geo.routing import Search, snap_geometries


@dataclass(frozen=True)
class FacilityIndex:
    """Facilities that could be snapped, as columns in id order.

    ``text`` holds the ``id``, ``name``, ``name_zh`` and ``opening_hours`` columns as lists of
    str; ``anchor_xy`` is where a facility is entered (its point, or its polygon's side that
    meets the street).
    """

    text: dict[str, list[str]]
    category: IntArray
    snap: Snap
    anchor_xy: FloatArray
    anchor_lonlat: FloatArray
    tree: cKDTree
    #: where each facility's access leg meets the street (lon/lat), for drawing the leg
    street_lonlat: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))


@dataclass(frozen=True)
class Found:
    """Facilities found by one search: facility rows, categories, distances (m).

    ``total`` adds both access legs to the network distance ``net``.
    """

    rows: NDArray[np.int64]
    cats: IntArray
    net: FloatArray
    total: FloatArray
    search: Search

    def order(self) -> NDArray[np.intp]:
        """Positions nearest first; distances equal to the micrometre tie, lower id first."""
        return np.lexsort((self.rows, np.round(self.total, 6)))

    def k_best(self, k: NDArray[np.int64], wanted: NDArray[np.int64]) -> dict[int, list[int]]:
        """Per wanted category, positions of its ``k[c]`` nearest; ties go to the lower id."""
        order = self.order()
        grouped = order[np.argsort(self.cats[order], kind="stable")]
        cats = self.cats[grouped]
        lo = np.searchsorted(cats, wanted, side="left")
        hi = np.minimum(np.searchsorted(cats, wanted, side="right"), lo + k[wanted])
        return {int(c): grouped[a:b].tolist() for c, a, b in zip(wanted, lo, hi, strict=True)}


@dataclass(frozen=True)
class Placed:
    """Facility rows (known categories, in id order) and where each meets the street.

    ``snap.edge`` is -1 for a facility farther than ``config.MAX_FACILITY_SNAP_M`` from any
    street; ``anchor`` is where a facility is entered (see :func:`snap_geometries`).
    """

    table: gpd.GeoDataFrame
    snap: Snap
    anchor: FloatArray


def facility_rows(facilities: gpd.GeoDataFrame, category_ids: Sequence[str]) -> gpd.GeoDataFrame:
    """Facilities of known categories, in id order (ties in distance break by id)."""
    known = facilities["category"].isin(list(category_ids)).to_numpy()
    return facilities.loc[known].sort_values("id", kind="stable")


def place_facilities(
    net: StreetNetwork, facilities: gpd.GeoDataFrame, category_ids: Sequence[str]
) -> Placed:
    """Snap the facilities of known categories onto the network (:class:`Placed`)."""
    table = facility_rows(facilities, category_ids)
    geoms = table.geometry.to_crs(net.crs).to_numpy()
    snap, anchor = snap_geometries(net, geoms, config.MAX_FACILITY_SNAP_M)
    return Placed(table, snap, anchor)


def index_facilities(
    net: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    category_ids: Sequence[str],
    placed: Placed | None = None,
) -> tuple[FacilityIndex, int]:
    """The :class:`FacilityIndex` of the facilities that meet a street, and how many do not.

    ``placed`` is :func:`place_facilities`'s answer for these facilities if already known
    (a region cache); else the facilities are snapped here.
    """
    placed = placed or place_facilities(net, facilities, category_ids)
    ok = placed.snap.edge >= 0
    kept = placed.table.loc[ok]
    text = {
        c: (kept[c].fillna("").astype(str).tolist() if c in kept else [""] * len(kept))
        for c in ("id", "name", "name_zh", "opening_hours")
    }
    codes = {c: i for i, c in enumerate(category_ids)}
    cats = kept["category"].map(codes).to_numpy(dtype=np.int32)
    snap, anchor = placed.snap[np.flatnonzero(ok)], placed.anchor[ok]
    to_lonlat = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(anchor[:, 0], anchor[:, 1])
    tree = cKDTree(snap.xy if len(snap) else np.zeros((0, 2)))
    lonlat = np.round(np.column_stack([lon, lat]), DECIMALS)  # as GeoJSON gives them
    slon, slat = to_lonlat.transform(snap.xy[:, 0], snap.xy[:, 1])
    street = np.round(np.column_stack([slon, slat]), DECIMALS)
    index = FacilityIndex(text, cats, snap, anchor, lonlat, tree, street)
    return index, int((~ok).sum())
