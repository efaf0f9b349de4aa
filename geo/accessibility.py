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
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from livingcircle.geo.network import FloatArray, StreetNetwork
from livingcircle.geo.routing import AT_NODE_M, Pieces, Snap


def distance_to_nearest(
    net: StreetNetwork, facilities: Snap, limit_m: float = np.inf
) -> FloatArray:
    """Network distance from every node to its nearest facility (``inf`` past ``limit_m``).

    Parameters
    ----------
    net
        The walking network.
    facilities
        Snapped facilities of one category; their access legs are included.
    limit_m
        Stop searching past this distance.
    """
    n = net.n_nodes
    if len(facilities) == 0:
        return np.full(n, np.inf)
    edge, off = facilities.edge, facilities.offset_m
    length, oneway = net.edge_length[edge], net.edge_oneway[edge]
    # reversed graph: an arc node -> source means the walk goes source -> node
    indptr, indices, weights, _ = net.csr
    src = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
    # from the virtual node: reach u (walk u -> facility along the edge), or v when the edge
    # may be walked back (two-way, or the facility stands at v itself)
    back = ~oneway | (length - off <= AT_NODE_M)
    starts = np.concatenate([net.edge_u[edge], net.edge_v[edge][back]])
    costs = np.concatenate([off, (length - off)[back]]) + np.concatenate(
        [facilities.access_m, facilities.access_m[back]]
    )
    entry = np.full(n, np.inf)  # several facilities may share an end node: keep the nearest
    np.minimum.at(entry, starts, costs)
    ends = np.flatnonzero(np.isfinite(entry)).astype(np.int32)
    rows = np.concatenate([indices, np.full(len(ends), n, dtype=np.int32)])
    cols = np.concatenate([src, ends])
    w = np.maximum(np.concatenate([weights, entry[ends]]), 1e-9)
    graph = csr_matrix((w, (rows, cols)), shape=(n + 1, n + 1))
    dist = dijkstra(graph, directed=True, indices=n, limit=limit_m)
    return np.asarray(dist[:n], dtype=np.float64)


def points_distance(
    net: StreetNetwork, node_dist: FloatArray, points: Snap, facilities: Snap
) -> FloatArray:
    """Distance from snapped points to the nearest facility, given each node's distance.

    Includes the points' and facilities' access legs; a facility on the point's own edge is
    reached directly when that is shorter.
    """
    edge, off = points.edge, points.offset_m
    length, oneway = net.edge_length[edge], net.edge_oneway[edge]
    via_v = (length - off) + node_dist[net.edge_v[edge]]
    via_u = np.where(oneway & (off > AT_NODE_M), np.inf, off + node_dist[net.edge_u[edge]])
    best = np.minimum(via_u, via_v)
    if len(facilities):
        best = np.minimum(best, _same_edge(net, points, facilities))
    return np.asarray(best + points.access_m, dtype=np.float64)


def _same_edge(net: StreetNetwork, points: Snap, facilities: Snap) -> FloatArray:
    """Direct distance along a shared edge to the nearest facility on it (``inf`` if none)."""
    order = np.argsort(facilities.edge, kind="stable")
    f_edge = facilities.edge[order]
    lo = np.searchsorted(f_edge, points.edge, side="left")
    hi = np.searchsorted(f_edge, points.edge, side="right")
    out = np.full(len(points), np.inf)
    count = hi - lo
    if not count.any():
        return out
    # every (point, facility on its edge) pair, vectorised
    point = np.repeat(np.arange(len(points)), count)
    f = order[np.arange(int(count.sum())) + np.repeat(lo - np.cumsum(count) + count, count)]
    ahead = facilities.offset_m[f] - points.offset_m[point]
    allowed = (ahead >= -AT_NODE_M) | ~net.edge_oneway[points.edge[point]]
    np.minimum.at(out, point[allowed], (np.abs(ahead) + facilities.access_m[f])[allowed])
    return out


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
    length, oneway = net.edge_length, net.edge_oneway
    from_u = np.where(oneway, 0.0, np.clip(radius_m - node_dist[net.edge_u], 0, None))
    from_v = np.clip(radius_m - node_dist[net.edge_v], 0, None)
    start, end = from_u, length - from_v
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
    q = facilities.offset_m
    lo = np.concatenate([np.zeros(len(edges)), length[edges] - from_v[edges], q - reach])
    hi = np.concatenate(
        [from_u[edges], length[edges], np.where(net.edge_oneway[f_edge], q, q + reach)]
    )
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
