"""Where new facilities would help most: greedy siting.

For a category, the candidates are street nodes near uncovered residents (or parcels a
planner gives). Each candidate covers the uncovered residents who could walk to it within the
category's radius (one bounded search per candidate, :mod:`livingcircle.geo.reach`). The
candidate covering the most residents is picked, those residents are marked covered, and the
next pick is the best for the residents still left: the classic greedy for maximum coverage,
which is within 1 - 1/e of the best possible set of sites.

:mod:`livingcircle.geo.siting_compare` puts greedy beside the exact maximal-coverage (MCLP)
and p-median optimum on the same candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from livingcircle.geo import config
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.gaps import Analysis
from livingcircle.geo.network import FloatArray
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import Snap, snap_geometries


@dataclass(frozen=True)
class Siting:
    """Greedy picks for one category.

    Attributes
    ----------
    category, radius_m
        What is sited, and the walking radius a pick covers.
    uncovered_population
        Residents beyond the radius before any pick.
    picks
        One row per pick, in order: ``rank``, ``candidate`` (node id or parcel row),
        ``gain_population`` (residents it newly covers), ``gain_points``,
        ``covered_population`` (cumulative), ``remaining_population`` and a Point (EPSG:4326)
        where the facility would stand.
    covered_by
        Per demand point, the rank of the pick that covers it (0 if none does).
    """

    category: str
    radius_m: float
    uncovered_population: float
    picks: gpd.GeoDataFrame
    covered_by: NDArray[np.int32]


def best_sites(
    region: Region,
    analysis: Analysis,
    category: str,
    n: int = 5,
    *,
    radius_m: float | None = None,
    parcels: gpd.GeoDataFrame | None = None,
    graph: ReachGraph | None = None,
) -> Siting:
    """The top ``n`` sites for a new ``category`` facility, chosen greedily one after another.

    Parameters
    ----------
    region, analysis
        The region and its analysis (which says who is uncovered).
    category
        The category to site.
    n
        Number of picks (fewer when every resident is covered sooner).
    radius_m
        Walking radius a new facility serves; the category's GB 50180 radius by default.
    parcels
        Candidate parcels (EPSG:4326 points or polygons, entered from the side facing the
        street); street nodes near uncovered residents when None.
    graph
        A reversed graph of ``region.net`` to reuse.
    """
    if n < 1:
        raise InvalidParameter(f"n={n} must be at least 1")
    acc = analysis.access(category)
    radius = acc.radius_m if radius_m is None else float(radius_m)
    demand = analysis.demand
    uncovered = np.flatnonzero(acc.nearest_m > radius)
    pop = demand.population[uncovered]
    if parcels is None:
        places, labels = _node_candidates(region, demand.snap.xy[uncovered], radius)
    else:
        places, labels = parcel_candidates(region, parcels)
    matrix = _coverage(graph or ReachGraph(region.net), places, demand.snap[uncovered], radius)
    ranks, gains, counts, chosen = greedy(matrix, pop, n)
    covered_by = np.zeros(len(demand), dtype=np.int32)
    covered_by[uncovered] = ranks
    xy = places.xy[chosen] if len(chosen) else np.zeros((0, 2))
    lonlat = region.unproject(xy) if len(chosen) else np.zeros((0, 2))
    total = float(pop.sum())
    covered = np.cumsum(gains)
    picks = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1),
            "candidate": labels[chosen],
            "gain_population": gains,
            "gain_points": counts,
            "covered_population": covered,
            "remaining_population": total - covered,
        },
        geometry=gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]) if len(chosen) else [],
        crs="EPSG:4326",
    )
    picks.insert(0, "category", category)
    return Siting(category, radius, total, picks, covered_by)


def _node_candidates(
    region: Region, uncovered_xy: FloatArray, radius: float
) -> tuple[Snap, NDArray[np.int64]]:
    """Street nodes within straight-line reach of an uncovered resident, as snapped places."""
    net = region.net
    if len(uncovered_xy) == 0:
        return Snap(np.zeros(0, np.int32), np.zeros(0), np.zeros(0), np.zeros((0, 2))), np.zeros(
            0, np.int64
        )
    dist, _ = cKDTree(uncovered_xy).query(
        net.node_xy, distance_upper_bound=config.disc_radius(radius)
    )
    nodes = np.flatnonzero(np.isfinite(dist)).astype(np.int64)
    return node_places(region, nodes), nodes


def node_places(region: Region, nodes: NDArray[np.int64]) -> Snap:
    """Street nodes as places on an edge that touches them (offset 0 or the full length)."""
    net = region.net
    ptr, edges = net.incidence
    edge = edges[ptr[nodes]]
    at_u = net.edge_u[edge] == nodes
    offset = np.where(at_u, 0.0, net.edge_length[edge])
    return Snap(edge.astype(np.int32), offset, np.zeros(len(nodes)), net.node_xy[nodes].copy())


def parcel_candidates(region: Region, parcels: gpd.GeoDataFrame) -> tuple[Snap, NDArray[np.int64]]:
    """Parcels on a walkable street as places (entered at their anchor), and their rows."""
    geoms = parcels.geometry.to_crs(region.net.crs).to_numpy()
    snap, anchor = snap_geometries(region.net, geoms, config.MAX_FACILITY_SNAP_M)
    ok = np.flatnonzero(snap.edge >= 0)
    if len(ok) == 0:
        raise InvalidParameter(
            f"none of the {len(parcels)} parcels lies within "
            f"{config.MAX_FACILITY_SNAP_M:.0f} m of a walkable street"
        )
    places = snap[ok]
    places = Snap(places.edge, places.offset_m, places.access_m, anchor[ok])
    return places, np.arange(len(parcels), dtype=np.int64)[ok]


def _coverage(rg: ReachGraph, places: Snap, points: Snap, radius: float) -> csr_matrix:
    """Sparse (candidates x uncovered points) matrix: 1 where the point walks there in time."""
    rows, cols = [], []
    for chunk in rg.pairs_within(places, points, radius):
        rows.append(chunk.place)
        cols.append(chunk.point)
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    return csr_matrix((np.ones(len(r), dtype=np.float64), (r, c)), shape=(len(places), len(points)))


def greedy(
    matrix: csr_matrix, pop: FloatArray, n: int
) -> tuple[NDArray[np.int32], FloatArray, NDArray[np.int64], NDArray[np.int64]]:
    """Greedy maximum coverage: picks, their population gains and point counts.

    Ties go to the lower candidate index, so the answer does not depend on timing.
    """
    ranks = np.zeros(matrix.shape[1], dtype=np.int32)
    left = pop.astype(np.float64).copy()
    gain = np.asarray(matrix @ left, dtype=np.float64)
    by_point = matrix.tocsc()
    chosen, gains, counts = [], [], []
    tiny = 1e-9 * max(1.0, float(pop.sum()))  # what float subtraction leaves of nothing
    for rank in range(1, n + 1):
        if len(gain) == 0 or gain.max() <= tiny:
            break
        best = int(np.argmax(gain))  # first of the maxima
        new = matrix.indices[matrix.indptr[best] : matrix.indptr[best + 1]]
        new = new[ranks[new] == 0]
        chosen.append(best)
        gains.append(float(left[new].sum()))
        counts.append(len(new))
        ranks[new] = rank
        # every candidate that reached these points loses their residents
        lost = by_point[:, new] @ left[new]
        gain -= np.asarray(lost, dtype=np.float64).ravel()
        left[new] = 0.0
        gain[best] = 0.0
    return (
        ranks,
        np.asarray(gains),
        np.asarray(counts, dtype=np.int64),
        np.asarray(chosen, dtype=np.int64),
    )


def picks_frame(sitings: list[Siting]) -> gpd.GeoDataFrame:
    """Several categories' picks in one frame (for writing out)."""
    frames = [s.picks for s in sitings if len(s.picks)]
    if not frames:
        return gpd.GeoDataFrame({"category": [], "rank": []}, geometry=[], crs="EPSG:4326")
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
