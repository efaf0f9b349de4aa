"""Where residents live: demand points with a population, snapped onto the street network.

A demand frame is a GeoDataFrame in EPSG:4326 with point geometries, a float ``population``
and optionally a ``community`` name and an ``id``. It comes from residential buildings (with a
population given per building, or a district total spread over them by floor area or count),
from a user's file of homes, or, when nothing better is known, from every street node with an
equal share. Reading OSM files and user files lives in ``data/``; this module only shapes and
places the points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from livingcircle.geo import config
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.network import FloatArray, StreetNetwork
from livingcircle.geo.routing import Snap, snap_points

SpreadBy = Literal["floor_area", "count"]
#: Levels assumed for a residential building whose ``building:levels`` is not tagged.
DEFAULT_LEVELS = 1.0


def spread_population(
    buildings: gpd.GeoDataFrame,
    total: float | None = None,
    by: SpreadBy = "floor_area",
    default_levels: float = DEFAULT_LEVELS,
) -> NDArray[np.float64]:
    """Population per building: given values kept, a district ``total`` spread over the rest.

    Parameters
    ----------
    buildings
        Footprints (any CRS with a defined geographic meaning; areas are measured in metres),
        optionally with ``levels`` (storeys) and ``population`` (known residents, NaN if not).
    total
        Residents of the whole district. What the known ``population`` values leave over is
        shared among the buildings without one. Without a total, buildings lacking a value get
        one resident per 30 m² of floor area (a planning rule of thumb) or 1 per building.
    by
        ``"floor_area"``: shares in proportion to footprint area x levels; ``"count"``: equal
        shares.
    default_levels
        Storeys assumed where ``levels`` is missing.
    """
    if by not in ("floor_area", "count"):
        raise InvalidParameter(f"unknown spread {by!r}; allowed: count, floor_area")
    n = len(buildings)
    known = _column(buildings, "population", np.nan)
    has = np.isfinite(known) & (known >= 0)
    weight = floor_area_m2(buildings, default_levels) if by == "floor_area" else np.ones(n)
    weight = np.where(has, 0.0, np.maximum(weight, 0.0))
    out = np.where(has, known, 0.0)
    if total is None:
        return out + (weight / 30.0 if by == "floor_area" else weight)
    left = float(total) - float(out.sum())
    if left < 0:
        raise InvalidParameter(
            f"the district total {total:,.0f} is smaller than the population already given per "
            f"building ({out.sum():,.0f}); pass a larger total or drop the per-building values"
        )
    if weight.sum() > 0:
        out = out + left * weight / weight.sum()
    return out


def floor_area_m2(
    buildings: gpd.GeoDataFrame, default_levels: float = DEFAULT_LEVELS
) -> FloatArray:
    """Footprint area (m², in a local metric CRS) times storeys (``levels``, else the default)."""
    if len(buildings) == 0:
        return np.zeros(0)
    metric = buildings.geometry.to_crs(buildings.geometry.estimate_utm_crs())
    levels = _column(buildings, "levels", default_levels)
    levels = np.where(np.isfinite(levels) & (levels > 0), levels, default_levels)
    return np.asarray(metric.area.to_numpy() * levels, dtype=np.float64)


def _column(frame: pd.DataFrame, name: str, fill: float) -> FloatArray:
    if name not in frame:
        return np.full(len(frame), fill)
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
    return np.where(np.isnan(values), fill, values)


def demand_from_buildings(
    buildings: gpd.GeoDataFrame,
    total: float | None = None,
    by: SpreadBy = "floor_area",
) -> gpd.GeoDataFrame:
    """One demand point per building (a point on its footprint) with its population."""
    pop = spread_population(buildings, total, by)
    points = buildings.geometry.to_crs("EPSG:4326").representative_point()
    ids = (
        buildings["id"].astype(str).to_numpy()
        if "id" in buildings
        else np.array([f"building:{i}" for i in range(len(buildings))], dtype=object)
    )
    return demand_frame(points, pop, ids)


def demand_from_nodes(
    net: StreetNetwork, lonlat: FloatArray, total: float | None = None
) -> gpd.GeoDataFrame:
    """The fallback: every street node is a home with an equal share (1 each without a total).

    ``lonlat`` are the nodes' WGS 84 coordinates (``Region.unproject(net.node_xy)``).
    """
    n = net.n_nodes
    share = np.full(n, 1.0 if total is None else float(total) / max(n, 1))
    ids = np.char.add("node:", np.arange(n).astype(str)).astype(object)
    return demand_frame(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1], crs="EPSG:4326"), share, ids)


def demand_frame(
    points: object,
    population: FloatArray,
    ids: NDArray[np.object_],
    community: NDArray[np.object_] | None = None,
) -> gpd.GeoDataFrame:
    """The demand schema: ``id``, ``population``, ``community`` and a point, EPSG:4326."""
    frame = gpd.GeoDataFrame(
        {
            "id": pd.Series(ids, dtype="str"),
            "population": np.asarray(population, dtype=np.float64),
            "community": pd.Series(
                community if community is not None else np.full(len(ids), "", dtype=object),
                dtype="str",
            ),
        },
        geometry=points,
        crs="EPSG:4326",
    )
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class Demand:
    """Demand points placed on the network, in the order of the frame they came from.

    Attributes
    ----------
    frame
        The demand frame (EPSG:4326), only the points that could be snapped.
    population, community
        Per point; ``community`` is ``""`` where none is known.
    snap
        Their positions on the street edges (with access legs).
    dropped, dropped_population
        Points farther than the snapping limit from any street, and their residents.
    """

    frame: gpd.GeoDataFrame
    population: FloatArray
    community: NDArray[np.object_]
    snap: Snap
    dropped: int
    dropped_population: float

    def __len__(self) -> int:
        return len(self.population)


def place_demand(
    net: StreetNetwork, demand: gpd.GeoDataFrame, max_snap_m: float = config.MAX_SNAP_M
) -> Demand:
    """Snap demand points onto the street network (points too far from any street are dropped).

    Raises
    ------
    InvalidParameter
        The frame lacks ``population``, has non-point geometries or negative populations.
    """
    _check_demand(demand)
    snap = snap_points(net, _projected_xy(demand.geometry, net.crs), max_snap_m)
    ok = snap.edge >= 0
    pop = demand["population"].to_numpy(dtype=np.float64)
    kept = demand.loc[ok].reset_index(drop=True)
    community = (
        kept["community"].fillna("").astype(str).to_numpy(dtype=object)
        if "community" in kept
        else np.full(len(kept), "", dtype=object)
    )
    return Demand(
        kept, pop[ok], community, snap[np.flatnonzero(ok)], int((~ok).sum()), float(pop[~ok].sum())
    )


def _projected_xy(points: gpd.GeoSeries, crs: CRS) -> FloatArray:
    """(n, 2) coordinates of the points in ``crs`` (NaN for an empty point).

    The same transform as ``points.to_crs(crs)``, to the bit, on the coordinates alone: a
    million homes are not made into new geometries first (that was a quarter of snapping).
    """
    if points.crs is None:
        raise InvalidParameter(
            "the homes have no coordinate system; allowed: a frame with a CRS, e.g. "
            "frame.set_crs('EPSG:4326') for longitude and latitude"
        )
    x, y = points.x.to_numpy(), points.y.to_numpy()
    px, py = Transformer.from_crs(points.crs, crs, always_xy=True).transform(x, y)
    xy = np.column_stack([px, py]).astype(np.float64)
    xy[np.isnan(x) | np.isnan(y)] = np.nan
    return xy


def _check_demand(demand: gpd.GeoDataFrame) -> None:
    if "population" not in demand:
        raise InvalidParameter(
            "demand points need a 'population' column (residents per point, a number >= 0); "
            f"the homes have: {', '.join(map(str, demand.columns)) or 'no column'}; allowed: "
            "rename the residents' column to 'population', or give the homes as a file, "
            "where a pop, residents, people or 人口 column is taken too"
        )
    if len(demand) and not (demand.geometry.geom_type == "Point").all():
        raise InvalidParameter(
            "demand geometries must be points; use demand_from_buildings for footprints"
        )
    pop = pd.to_numeric(demand["population"], errors="coerce").to_numpy(dtype=np.float64)
    if (~np.isfinite(pop)).any() or (pop < 0).any():
        raise InvalidParameter("demand 'population' must be a finite number >= 0 everywhere")


def assign_communities(
    demand: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame, name: str = "name"
) -> gpd.GeoDataFrame:
    """Set each point's ``community`` to the name of the boundary polygon holding it.

    Points in no polygon keep an empty community; where polygons overlap the first wins.
    """
    if len(boundaries) == 0 or len(demand) == 0:
        return demand
    polys = boundaries.to_crs("EPSG:4326")
    hit_point, hit_poly = polys.sindex.query(demand.geometry.to_numpy(), predicate="within")
    names = polys[name].fillna("").astype(str).to_numpy()
    out = demand.copy()
    community = out["community"].to_numpy(dtype=object).copy()
    order = np.lexsort((hit_poly, hit_point))
    first = np.unique(hit_point[order], return_index=True)[1]
    community[hit_point[order][first]] = names[hit_poly[order][first]]
    out["community"] = pd.Series(community, dtype="str", index=out.index)
    return out
