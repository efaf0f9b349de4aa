"""Snapping points onto street edges and bounded shortest paths from a snapped point.

A search never runs over the whole region: every node within network distance ``r`` of the
start lies within straight-line distance ``r`` of it, so the search cuts out the nodes in
that disc (a KD-tree query), builds a small CSR graph with one extra node for the start
point, and runs SciPy's Dijkstra on it. Distances up to ``r`` are exact; the cost depends on
how much street lies within ``r``, not on the size of the region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from livingcircle.geo import positions
from livingcircle.geo.config import MIN_ARC_M, disc_radius
from livingcircle.geo.network import FloatArray, IntArray, StreetNetwork, row_ranges
from livingcircle.geo.positions import Snap

# Snap lives in positions; importers of routing find it here too
__all__ = ["Pieces", "Search", "Snap", "search", "snap_geometries", "snap_points"]

Pieces = tuple[IntArray, FloatArray, FloatArray]

_NO_PRED = -9999
#: Up to this many points are snapped by GEOS alone (the same edges and offsets).
_FEW_POINTS = 16


def snap_points(net: StreetNetwork, xy: FloatArray, max_distance_m: float) -> Snap:
    """Snap (P, 2) points onto the nearest edge within ``max_distance_m``.

    Vectorised over all points (:class:`~livingcircle.geo.snapping.SegmentIndex`); a point
    equally near two edges is settled by GEOS (``STRtree.query_nearest``), as it always was.
    The nearest edge is found in the projected plane; ``access_m``, the leg from the point
    to it, is measured on the ellipsoid (:meth:`StreetNetwork.geodesic_legs`).
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(xy) <= _FEW_POINTS:  # a query's one point: one GEOS tree walk beats the grid's set-up
        snap = _snap_geos(net, shapely.points(xy), max_distance_m)[0]
        ok = snap.edge >= 0
        snap.access_m[ok] = net.geodesic_legs(xy[ok], snap.xy[ok])
        return snap
    index = net.segment_index
    seg, dist, frac, tie = index.nearest(xy, max_distance_m)
    ok = seg >= 0
    s = seg[ok]
    edge = np.full(len(xy), -1, dtype=np.int32)
    offset, access = np.full(len(xy), np.nan), np.full(len(xy), np.nan)
    on = np.full((len(xy), 2), np.nan)
    e, f = index.edge[s], frac[ok][:, None]
    along = index.along0[s] + frac[ok] * index.length[s]
    edge[ok] = e
    offset[ok] = np.clip(along / net.geom_length[e], 0.0, 1.0) * net.edge_length[e]
    access[ok] = dist[ok]
    a, b = index.a[s], index.b[s]
    on[ok] = np.where(f >= 1, b, np.where(f <= 0, a, a + f * (b - a)))
    snap = Snap(edge, offset, access, on)
    if tie.any():  # GEOS's choice among equally near edges, exactly as before
        rows = np.flatnonzero(tie)
        _put(snap, rows, _snap_geos(net, shapely.points(xy[rows]), max_distance_m)[0])
    snap.access_m[ok] = net.geodesic_legs(xy[ok], snap.xy[ok])
    return snap


def snap_geometries(
    net: StreetNetwork, geoms: NDArray[np.object_], max_distance_m: float
) -> tuple[Snap, FloatArray]:
    """Snap geometries onto their nearest edge; a polygon snaps from its closest point.

    Returns the snapped edge positions and each geometry's anchor: the point of the geometry
    nearest that edge (a point is its own anchor; a school's grounds are entered from the
    side that meets the street, not from their centroid). ``access_m`` is the gap between
    anchor and edge on the ellipsoid, as edges are measured (zero where a footway enters a
    polygon). Points take :func:`snap_points`; other geometries GEOS's nearest search.
    """
    geoms = np.asarray(geoms, dtype=object)
    point = np.asarray(shapely.get_type_id(geoms) == 0) & ~np.asarray(shapely.is_empty(geoms))
    rows, other = np.flatnonzero(point), np.flatnonzero(~point)
    if len(other) == len(geoms):
        snap, anchor = _snap_geos(net, geoms, max_distance_m)
        near = snap.edge >= 0
        snap.access_m[near] = net.geodesic_legs(anchor[near], snap.xy[near])
        return snap, anchor
    xy = shapely.get_coordinates(geoms[rows])
    snap = snap_points(net, xy, max_distance_m)
    anchor = np.full((len(geoms), 2), np.nan)
    anchor[rows[snap.edge >= 0]] = xy[snap.edge >= 0]  # a point is its own anchor
    if len(other) == 0:
        return snap, anchor
    out = snap[np.zeros(len(geoms), dtype=np.intp)]  # a fresh Snap of the right length
    rest, anchor[other] = _snap_geos(net, geoms[other], max_distance_m)
    near = rest.edge >= 0
    rest.access_m[near] = net.geodesic_legs(anchor[other][near], rest.xy[near])
    _put(out, rows, snap)
    _put(out, other, rest)
    return out, anchor


def _put(out: Snap, rows: NDArray[np.intp], part: Snap) -> None:
    """Write ``part`` into rows ``rows`` of ``out``."""
    out.edge[rows], out.offset_m[rows] = part.edge, part.offset_m
    out.access_m[rows], out.xy[rows] = part.access_m, part.xy


def _snap_geos(
    net: StreetNetwork, geoms: NDArray[np.object_], max_distance_m: float
) -> tuple[Snap, FloatArray]:
    """:func:`snap_geometries` through GEOS's nearest search, one tree walk per geometry."""
    n = len(geoms)
    edge = np.full(n, -1, dtype=np.int32)
    offset, access = np.full(n, np.nan), np.full(n, np.nan)
    xy, anchor = np.full((n, 2), np.nan), np.full((n, 2), np.nan)
    if n == 0:
        return Snap(edge, offset, access, xy), anchor
    # an unbounded query is faster than one with max_distance; filter afterwards
    (src, hit), dist = net.edge_tree.query_nearest(geoms, return_distance=True, all_matches=False)
    near = dist <= max_distance_m
    src, hit, dist = src[near], hit[near], dist[near]
    lines = net.edge_geom[hit]
    gap = shapely.shortest_line(lines, geoms[src])
    on_edge = shapely.get_point(gap, 0)
    anchor[src] = shapely.get_coordinates(shapely.get_point(gap, 1))
    along = shapely.line_locate_point(lines, on_edge)
    edge[src] = hit
    offset[src] = np.clip(along / net.geom_length[hit], 0.0, 1.0) * net.edge_length[hit]
    access[src] = dist
    xy[src] = shapely.get_coordinates(on_edge)
    return Snap(edge, offset, access, xy), anchor


@dataclass(frozen=True)
class Search:
    """Shortest network distances from one snapped point, exact up to ``radius_m``.

    ``nodes`` holds the global ids of the nodes cut out for the search (sorted), ``dist`` their
    network distance from the snapped point (``inf`` past the radius), ``pred`` the local
    predecessor of each (``len(nodes)`` is the start point itself).
    """

    net: StreetNetwork
    start: Snap
    radius_m: float
    nodes: IntArray
    dist: FloatArray
    pred: IntArray
    arc_ids: NDArray[np.int64]
    arc_src: IntArray
    arc_dst: IntArray

    def node_dist(self, nodes: IntArray) -> FloatArray:
        """Distance to global node ids (``inf`` for nodes not reached)."""
        pos = np.searchsorted(self.nodes, nodes)
        pos = np.minimum(pos, len(self.nodes) - 1)
        found = self.nodes[pos] == nodes
        return np.where(found, self.dist[pos], np.inf)

    def to_positions(self, edge: IntArray, offset_m: FloatArray) -> FloatArray:
        """Network distance from the start to points at ``offset_m`` along ``edge``.

        Walks in from either end of the edge as its direction allows, or straight along it
        when the point shares the start's edge. Access legs are not included.
        """
        net = self.net
        du, dv = self.node_dist(net.edge_u[edge]), self.node_dist(net.edge_v[edge])
        best = positions.from_nodes(net, edge, offset_m, du, dv)
        same = edge == self.start.edge[0]
        direct = positions.along(
            net, edge, np.full_like(offset_m, self.start.offset_m[0]), offset_m
        )
        return np.where(same, np.minimum(best, direct), best)

    def route_legs(
        self, edge: IntArray, offset_m: FloatArray, dist_m: FloatArray
    ) -> tuple[IntArray, FloatArray, FloatArray, NDArray[np.int64]]:
        """Edge walks from the start to positions at network distances ``dist_m`` (known).

        Each route is along the start's edge to the node it leaves by, whole edges along the
        shortest-path tree, and into the position's edge by the end that gives ``dist_m``;
        or, when that is as short, straight along the shared edge. Returns ``(edge, from_m,
        to_m, route)`` per walk, each route's walks in order.
        """
        legs: list[tuple[int, float, float, int]] = []
        for i, (e, off, dist) in enumerate(
            zip(edge.tolist(), offset_m.tolist(), dist_m.tolist(), strict=True)
        ):
            legs.extend((*leg, i) for leg in self._legs_to(e, off, dist))
        e_a, from_a, to_a, route_a = (np.array(c) for c in zip(*legs, strict=True))
        return e_a.astype(np.int32), from_a, to_a, route_a.astype(np.int64)

    def _legs_to(self, edge: int, off: float, dist: float) -> list[tuple[int, float, float]]:
        """One route's edge walks ``(edge, from_m, to_m)``, as :meth:`route_legs` says."""
        net = self.net
        s_edge, s_off = int(self.start.edge[0]), float(self.start.offset_m[0])
        one = np.array([edge], dtype=np.int32)
        if edge == s_edge:
            straight = positions.along(net, one, np.array([s_off]), np.array([off]))[0]
            if straight <= dist + 1e-9:
                return [(edge, s_off, off)]
        u, v, length = int(net.edge_u[edge]), int(net.edge_v[edge]), float(net.edge_length[edge])
        at_u = float(self.node_dist(np.array([u]))[0]) + off <= dist + 1e-9
        steps = self.path_edges(u if at_u else v)
        if steps:
            e0, forward = steps[0]
            left_by = int(net.edge_u[e0] if forward else net.edge_v[e0])
        else:
            left_by = u if at_u else v
        s_len = float(net.edge_length[s_edge])
        legs = [(s_edge, s_off, 0.0 if left_by == int(net.edge_u[s_edge]) else s_len)]
        for e, fwd in steps:
            e_len = float(net.edge_length[e])
            legs.append((e, 0.0, e_len) if fwd else (e, e_len, 0.0))
        legs.append((edge, 0.0 if at_u else length, off))
        return legs

    def reached_pieces(self, budget_m: float) -> Pieces:
        """The parts of edges within ``budget_m``: ``(edge, start_m, end_m)`` intervals.

        An edge reached from both ends in full appears once as ``[0, length]``; a partly
        reached edge gives the reached stretch from each end it was entered from.
        """
        return self.reached_pieces_many([budget_m])[0]

    def reached_pieces_many(self, budgets: Sequence[float]) -> list[Pieces]:
        """:meth:`reached_pieces` for several budgets, sharing the work of the largest."""
        net = self.net
        reached = self.nodes[self.dist < max(budgets)]
        ind_ptr, ind_edges = net.incidence
        edges = _distinct(
            np.concatenate(
                [ind_edges[row_ranges(ind_ptr, reached)[0]], self.start.edge.astype(np.int32)]
            )
        )
        length = net.edge_length[edges]
        du, dv = self.node_dist(net.edge_u[edges]), self.node_dist(net.edge_v[edges])
        src_edge, src_off = self.start.edge[:1], self.start.offset_m[:1]
        src_len = net.edge_length[src_edge]
        out = []
        for budget in budgets:
            from_u, from_v = positions.entered_stretches(net, edges, du, dv, budget)
            full = from_u + from_v >= length
            lo, hi = positions.along_stretch(net, src_edge, src_off, np.full(1, budget), False)
            e = np.concatenate([edges[full], edges[~full], edges[~full], src_edge])
            s = np.concatenate(
                [
                    np.zeros(full.sum()),
                    np.zeros((~full).sum()),
                    (length - from_v)[~full],
                    np.maximum(lo, 0.0),
                ]
            )
            t = np.concatenate(
                [length[full], from_u[~full], length[~full], np.minimum(hi, src_len)]
            )
            keep = t > s
            out.append(_merge_intervals(e[keep].astype(np.int32), s[keep], t[keep]))
        return out

    @cached_property
    def _arc_keys(self) -> NDArray[np.int64]:
        """One number per local arc, ``source * (n + 1) + target``.

        The arcs are sorted by (source, target), so one binary search finds the arc of every
        step of a path.
        """
        keys: NDArray[np.int64] = (
            self.arc_src.astype(np.int64) * (len(self.nodes) + 1) + self.arc_dst
        )
        return keys

    def path_edges(self, end_node: int) -> list[tuple[int, bool]]:
        """Edges from the start to global node ``end_node``: ``(edge, forward)`` pairs."""
        chain = [int(np.searchsorted(self.nodes, end_node))]
        start = len(self.nodes)
        while (prev := int(self.pred[chain[-1]])) not in (start, _NO_PRED):
            chain.append(prev)
        if len(chain) < 2:
            return []
        steps = np.asarray(chain[::-1], dtype=np.int64)
        stride = len(self.nodes) + 1
        at = np.searchsorted(self._arc_keys, steps[:-1] * stride + steps[1:])
        edges = self.net.csr[3][self.arc_ids[at]]
        forward = self.net.edge_u[edges] == self.nodes[steps[:-1]]
        return [(int(e), bool(f)) for e, f in zip(edges, forward, strict=True)]


def search(net: StreetNetwork, start: Snap, radius_m: float) -> Search:
    """Shortest paths from one snapped point, exact for every distance up to ``radius_m``.

    Parameters
    ----------
    net
        The region's network.
    start
        A single snapped point (``len(start) == 1``, ``start.edge[0] >= 0``).
    radius_m
        Network distance up to which answers must be exact.
    """
    indptr, indices, weights, _ = net.csr
    disc = disc_radius(radius_m)
    edge = int(start.edge[0])
    u, v = int(net.edge_u[edge]), int(net.edge_v[edge])
    near = net.node_tree.query_ball_point(start.xy[0], disc, return_sorted=False)
    nodes = _distinct(np.concatenate([np.asarray(near, dtype=np.int32), [u, v]]).astype(np.int32))
    n = len(nodes)
    arc_ids = row_ranges(indptr, nodes)[0]
    arc_src = np.repeat(np.arange(n, dtype=np.int32), indptr[nodes + 1] - indptr[nodes])
    with net.local_ids(nodes) as local:  # global node id -> position in ``nodes``, or -1
        pos = local[indices[arc_ids]]
    inside = pos >= 0
    arc_ids, arc_src, arc_dst = arc_ids[inside], arc_src[inside], pos[inside]
    out_dst, out_w = _start_arcs(net, start, nodes)
    # arcs are grouped by source already: the local CSR is built directly, start row last
    local_ptr = np.zeros(n + 2, dtype=np.int32)  # the same index type as ``cols``: no copy
    np.cumsum(np.bincount(arc_src, minlength=n), out=local_ptr[1 : n + 1])
    local_ptr[n + 1] = local_ptr[n] + len(out_dst)
    cols = np.concatenate([arc_dst, np.asarray(out_dst, dtype=np.int32)])
    # Zero-length arcs would vanish from a sparse matrix; a nanometre keeps them as arcs.
    w = np.maximum(np.concatenate([weights[arc_ids], out_w]), MIN_ARC_M)
    graph = csr_matrix((w, cols, local_ptr), shape=(n + 1, n + 1))
    dist, pred = dijkstra(graph, directed=True, indices=n, limit=disc, return_predecessors=True)
    return Search(net, start, radius_m, nodes, dist[:n], pred, arc_ids, arc_src, arc_dst)


def _start_arcs(net: StreetNetwork, start: Snap, nodes: IntArray) -> tuple[IntArray, FloatArray]:
    """Arcs from the start point to the local ends of its edge it may leave by, and their costs.

    A loop edge leaves by its one node, whichever way round is shorter.
    """
    edge = start.edge[:1]
    to_u, to_v = positions.leave_costs(net, edge, start.offset_m[:1])
    ends = np.searchsorted(nodes, np.concatenate([net.edge_v[edge], net.edge_u[edge]]))
    cost = np.concatenate([to_v, to_u])
    if ends[0] == ends[1]:
        return ends[:1].astype(np.int32), cost.min(keepdims=True)
    ok = np.isfinite(cost)
    return ends[ok].astype(np.int32), cost[ok]


def _merge_intervals(
    edge: IntArray, start: FloatArray, end: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Merge overlapping or touching intervals on the same edge."""
    if len(edge) == 0:
        return edge, start, end
    order = np.lexsort((start, edge))
    edge, start, end = edge[order], start[order], end[order]
    rank = np.cumsum(np.concatenate([[False], edge[1:] != edge[:-1]]))
    base = rank * 1e7  # longer than any edge: one increasing key per (edge, metres)
    reach = np.maximum.accumulate(base + end)
    opens = np.ones(len(base), dtype=bool)
    opens[1:] = base[1:] + start[1:] > reach[:-1] + 1e-9
    firsts = np.flatnonzero(opens)
    last = np.concatenate([firsts[1:] - 1, [len(base) - 1]])
    return edge[firsts].astype(np.int32), start[firsts], reach[last] - base[firsts]


def _distinct(values: IntArray) -> IntArray:
    """Sorted distinct values (``np.unique`` without its hashing, faster on small arrays)."""
    ordered: IntArray = np.sort(values)
    out: IntArray = ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]
    return out
