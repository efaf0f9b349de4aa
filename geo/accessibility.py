"""Walking distance from every place to the nearest facility of a category, in one pass.

One Dijkstra per category over the reversed graph, started from a virtual node joined to
both ends of every facility's edge (at the facility's offset, plus its access leg), gives
each street node its distance *to* the nearest facility, one-way streets respected. A point
on an edge then walks to either end as the edge allows, or straight to a facility on the
same edge. No search per home: the cost is one graph pass per category, whatever the number
of homes (the "precompute" peer tools need gigabytes for).
"""

from __future__ import annotations

import numpy as np

from livingcircle.geo import positions
from livingcircle.geo.network import FloatArray, StreetNetwork
from livingcircle.geo.positions import EdgeGroups, Snap
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import Pieces


def distance_to_nearest(
    net: StreetNetwork, facilities: Snap, limit_m: float = np.inf, graph: ReachGraph | None = None
) -> FloatArray:
    """Network distance from every node to its nearest facility (``inf`` past ``limit_m``).

    The pass is :meth:`livingcircle.geo.reach.ReachGraph.nearest`; give ``graph`` to reuse
    one reversed graph for several categories.

    Parameters
    ----------
    net
        The walking network.
    facilities
        Snapped facilities of one category; their access legs are included.
    limit_m
        Stop searching past this distance.
    graph
        The network's reversed graph, if already built.
    """
    return (graph or ReachGraph(net)).nearest(facilities, limit_m)


def points_distance(
    net: StreetNetwork,
    node_dist: FloatArray,
    points: Snap,
    facilities: Snap,
    by_edge: EdgeGroups | None = None,
) -> FloatArray:
    """Distance from snapped points to the nearest facility, given each node's distance.

    Includes the points' and facilities' access legs; a facility on the point's own edge is
    reached directly when that is shorter. ``by_edge`` (the points grouped by edge) saves
    grouping the facilities when many categories are measured for the same points.
    """
    edge = points.edge
    du, dv = node_dist[net.edge_u[edge]], node_dist[net.edge_v[edge]]
    best = positions.to_nodes(net, edge, points.offset_m, du, dv)
    if by_edge is None:
        straight = positions.same_edge_nearest(net, points, facilities)
    else:  # the same numbers, looked up from the facilities' side
        straight = np.full(len(points), np.inf)
        place, point = by_edge.pairs(facilities.edge)
        off = points.offset_m[point]
        cost = positions.along(net, facilities.edge[place], off, facilities.offset_m[place])
        np.minimum.at(straight, point, cost + facilities.access_m[place])
    best = np.minimum(best, straight)
    return np.asarray(best + points.access_m, dtype=np.float64)


def beyond(
    net: StreetNetwork, node_dist: FloatArray, radius_m: float, facilities: Snap | None = None
) -> Pieces:
    """Stretches of street from which the nearest facility is farther than ``radius_m``.

    A point ``p`` metres along edge ``(u, v)`` reaches a facility through ``u`` (walking back,
    when the edge allows it) or through ``v``; the stretch between what either end covers
    is beyond the radius. Given the ``facilities`` (the ones ``node_dist`` was computed
    from), a facility standing on the edge itself also covers the stretch around it (only the
    stretch behind it on a one-way edge), so an edge may hold several gaps.
    """
    du, dv = node_dist[net.edge_u], node_dist[net.edge_v]
    from_u, from_v = positions.leaving_stretches(net, slice(None), du, dv, radius_m)
    start, end = from_u, net.edge_length - from_v
    gap = end > start
    if facilities is not None and len(facilities):
        reach = radius_m - facilities.access_m
        on = reach > 0
        gap[facilities.edge[on]] = False  # these edges are done below
        pieces = _gaps_around(net, from_u, from_v, facilities[np.flatnonzero(on)], reach[on])
    else:
        pieces = (np.zeros(0, np.int32), np.zeros(0), np.zeros(0))
    edges = np.flatnonzero(gap).astype(np.int32)
    return (
        np.concatenate([edges, pieces[0]]),
        np.concatenate([start[gap], pieces[1]]),
        np.concatenate([end[gap], pieces[2]]),
    )


def _gaps_around(
    net: StreetNetwork, from_u: FloatArray, from_v: FloatArray, facilities: Snap, reach: FloatArray
) -> Pieces:
    """Uncovered stretches of the edges that hold facilities.

    On each such edge: the complement of what its ends cover and what each facility covers.
    """
    f_edge = facilities.edge
    edges = np.unique(f_edge)
    length = net.edge_length
    near_lo, near_hi = positions.along_stretch(net, f_edge, facilities.offset_m, reach, True)
    lo = np.concatenate([np.zeros(len(edges)), length[edges] - from_v[edges], near_lo])
    hi = np.concatenate([from_u[edges], length[edges], near_hi])
    owner = np.concatenate([edges, edges, f_edge])
    order = np.lexsort((lo, owner))
    owner, lo, hi = owner[order], np.clip(lo[order], 0, None), hi[order]
    # running end of the covered stretch within each edge: offset each edge's values so one
    # running maximum over the whole array never carries across edges
    group = np.searchsorted(edges, owner)
    shift = (float(length.max(initial=0.0)) + 1.0) * 2 * group
    covered_to = np.maximum.accumulate(hi + shift) - shift
    nxt = np.flatnonzero((owner[1:] == owner[:-1]) & (lo[1:] > covered_to[:-1]))
    return (owner[nxt + 1].astype(np.int32), covered_to[nxt], lo[nxt + 1])
