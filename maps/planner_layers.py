"""What the planner map paints, laid out from the planner analysis (no drawing here).

Per home (or H3 hexagon of homes): residents, minutes on foot to the nearest facility of the
category and the band of :data:`~livingcircle.maps.palette.ALL_BANDS` that holds them; the
streets per band, the category's gap areas and proposed sites from the analysis, and the
communities with their living-circle score. :mod:`livingcircle.maps.planner` draws them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import h3
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from livingcircle.data.demand import demand_for_region
from livingcircle.geo.demand import place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import DISTRICT
from livingcircle.geo.planning import PlannerTables, plan
from livingcircle.maps.palette import ALL_BANDS, band_of


@dataclass(frozen=True)
class PlannerLayers:
    """What the planner map paints, in lon/lat.

    Attributes
    ----------
    category, radius_m, speed_m_s
        The category mapped, its GB 50180 radius and the walking speed.
    streets
        Per band of :data:`ALL_BANDS`: street lines and their length in km.
    homes
        Points with ``population``, ``minutes`` and ``band``.
    hexagons
        H3 cells of the homes (``cell``, ``population``, ``minutes``: the residents' median,
        ``band``), or None when homes are drawn one by one.
    resolution
        The H3 resolution of ``hexagons``.
    gaps
        The category's gap areas (``population``, ``area_m2``...) from the analysis.
    sites
        Proposed sites of the category (``rank``, ``gain_population``, ``method`` if given).
    communities
        Community polygons with ``name`` and ``score`` (living-circle score 0..1), or None.
    facilities
        Facilities of the category in the region.
    covered_share
        Share of residents within the radius.
    source
        Where the homes came from.
    """

    category: str
    radius_m: float
    speed_m_s: float
    streets: list[tuple[BaseGeometry, float]]
    homes: gpd.GeoDataFrame
    hexagons: gpd.GeoDataFrame | None
    resolution: int
    gaps: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None
    facilities: int
    covered_share: float
    source: str


#: more homes than this are drawn as hexagons (a marker each would make the page too heavy)
MAX_HOME_MARKERS = 5_000
#: the most hexagons a district is cut into; the resolution is the finest that keeps to it
MAX_HEXAGONS = 3_000
DEFAULT_SITES = 3


def planner_layers(
    region: Region,
    category: str,
    speed_m_s: float = 1.0,
    homes: gpd.GeoDataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
    hexagons: bool | None = None,
    n_sites: int = DEFAULT_SITES,
    result: PlannerTables | None = None,
    source: str = "",
) -> PlannerLayers:
    """Run the planner analysis for ``category`` (unless ``result`` is given) and lay it out.

    Parameters
    ----------
    region, category, speed_m_s
        What to map, at which walking speed.
    homes
        Homes in the demand schema (``read_homes``); every street node, one resident each,
        when None.
    communities
        Community polygons with a ``name`` column, to shade by living-circle score.
    hexagons
        Draw H3 hexagons (True), homes (False), or hexagons only when there are more than
        :data:`MAX_HOME_MARKERS` homes (None).
    n_sites
        Proposed new sites to number on the map.
    result
        An analysis already made (``livingcircle gaps``), with ``category`` in its focus.
    source
        Where the homes came from, for the legend.
    """
    region.standard.category(category)  # an unknown id fails before the work
    if result is None:
        frame, origin = demand_for_region(region, homes=homes, boundaries=communities)
        demand = place_demand(region.net, frame, region.max_snap_m)
        result = plan(region, demand, [category], n_sites, speed_m_s=speed_m_s)
        source = source or origin
    acc = result.analysis.access(category)
    points = _homes(result, category)
    street_nodes = homes is None and source.startswith("street nodes")
    use_hex = (street_nodes or len(points) > MAX_HOME_MARKERS) if hexagons is None else hexagons
    res = hex_resolution(region)
    cov = result.coverage
    row = cov[(cov["community"] == DISTRICT) & (cov["category"] == category)]
    return PlannerLayers(
        category,
        acc.radius_m,
        result.analysis.speed_m_s,
        street_bands(region, acc.node_m, result.analysis.speed_m_s),
        points,
        hexagon_cells(points, res) if use_hex else None,
        res,
        result.gaps[result.gaps["category"] == category].reset_index(drop=True),
        _sites(result, category),
        _scored(result, communities),
        int(np.sum(region.facilities.category == region.standard.category_index(category))),
        float(row["covered_share"].iloc[0]) if len(row) else math.nan,
        source,
    )


def _homes(result: PlannerTables, category: str) -> gpd.GeoDataFrame:
    """Demand points with population, minutes to the nearest and band."""
    frame = result.analysis.demand.frame
    mins = result.analysis.minutes_to(category)
    return gpd.GeoDataFrame(
        {"population": result.analysis.demand.population, "minutes": mins, "band": band_of(mins)},
        geometry=frame.geometry.to_numpy(),
        crs="EPSG:4326",
    )


def _sites(result: PlannerTables, category: str) -> gpd.GeoDataFrame:
    sites = result.sites
    if sites.empty or "category" not in sites:
        return sites
    return sites[sites["category"] == category].reset_index(drop=True)


def _scored(result: PlannerTables, communities: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Community polygons with their population-weighted living-circle score."""
    if communities is None or communities.empty:
        return None
    tiers = result.tiers
    score = tiers[tiers["requirement"] == "(score)"].set_index("community")["met_share"]
    out = communities[["name", "geometry"]].copy()
    out["score"] = out["name"].map(score).astype(float)
    return out


def street_bands(
    region: Region, node_m: NDArray[np.float64], speed_m_s: float
) -> list[tuple[BaseGeometry, float]]:
    """Per band of :data:`ALL_BANDS`: the streets whose middle is in it, and their km."""
    net = region.net
    mid = np.minimum(node_m[net.edge_u], node_m[net.edge_v]) + net.edge_length / 2
    band = band_of(mid / speed_m_s / 60)
    out = []
    for i in range(len(ALL_BANDS)):
        pick = np.flatnonzero(band == i)
        lines = region.unproject_geom(shapely.multilinestrings(net.edge_geom[pick]))
        out.append((lines, float(net.edge_length[pick].sum() / 1000)))
    return out


def hex_resolution(region: Region) -> int:
    """The finest H3 resolution (10 down to 7) cutting the district into few enough cells."""
    area_km2 = float(shapely.convex_hull(shapely.multipoints(region.net.node_xy)).area) / 1e6
    for res in (10, 9, 8):
        if area_km2 / h3.average_hexagon_area(res, "km^2") <= MAX_HEXAGONS:
            return res
    return 7


def hexagon_cells(homes: gpd.GeoDataFrame, resolution: int) -> gpd.GeoDataFrame:
    """H3 cells holding homes: residents, the residents' median minutes, its band."""
    lon, lat = homes.geometry.x.to_numpy(), homes.geometry.y.to_numpy()
    cells = np.array([h3.latlng_to_cell(y, x, resolution) for x, y in zip(lon, lat, strict=True)])
    mins = homes["minutes"].to_numpy(dtype=np.float64)
    pop = homes["population"].to_numpy(dtype=np.float64)
    order = np.lexsort((np.nan_to_num(mins, posinf=np.finfo(float).max), cells))
    cells, mins, pop = cells[order], mins[order], pop[order]
    keys, start = np.unique(cells, return_index=True)
    ends = np.append(start[1:], len(cells))
    total = np.add.reduceat(pop, start) if len(cells) else np.zeros(0)
    median = np.array(
        [_weighted_median(mins[a:b], pop[a:b]) for a, b in zip(start, ends, strict=True)]
    )
    shapes = [shapely.Polygon([(x, y) for y, x in h3.cell_to_boundary(c)]) for c in keys]
    return gpd.GeoDataFrame(
        {"cell": keys, "population": total, "minutes": median, "band": band_of(median)},
        geometry=shapes,
        crs="EPSG:4326",
    )


def _weighted_median(values: NDArray[np.float64], weights: NDArray[np.float64]) -> float:
    """The value half the weight lies at or below (values sorted ascending, inf last)."""
    cum = np.cumsum(weights)
    if cum[-1] <= 0:
        return float(values[len(values) // 2])
    return float(values[int(np.searchsorted(cum, cum[-1] / 2))])
