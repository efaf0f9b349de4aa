"""Distance fields updated where a change reaches, not recomputed over the whole region.

A category's *field* holds every street node's walking distance to the nearest facility of
it (:meth:`livingcircle.geo.reach.ReachGraph.nearest`). A what-if scenario changes the field
in two ways, and each is redone only where it can matter:

* **Something gets nearer** (a facility opens, a walking link is built): the new field is the
  elementwise minimum of the old one and a search from the new sources only. Every node the
  change improves lies on a shortest path whose every node it also improves, so the search
  needs to reach only the improved area: it runs on a disc of the network around the
  sources, and the disc widens (four times each step) until no improved node has a
  neighbour that the change could still improve beyond it (:func:`improve`).
* **Something gets farther** (a facility closes, a street is closed): only the nodes whose
  shortest walk used it can change; they are found the same way (the nodes whose old
  distance equals the distance via the closed thing, :func:`affected`), and their field is
  recomputed from the rest, which keeps its distances, plus the remaining facilities among
  them (:func:`recompute`).

Both are exact: each search is SciPy's Dijkstra on the cut-out part of the graph, adding
the same street lengths in the same order as a full pass does, so results equal a full pass
to the last bits but for ties between equally long walks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from livingcircle.geo import config, positions
from livingcircle.geo.network import FloatArray, IntArray, StreetNetwork, row_ranges
from livingcircle.geo.positions import Snap
from livingcircle.geo.reach import ReachGraph

#: A node whose distance via a closed thing is within this of its distance used it.
_TIE_REL, _TIE_ABS = 1e-12, 1e-9
#: The first disc of a search, metres (it widens as needed).
FIRST_RADIUS_M = 1_000.0
#: Above this many nodes a disc is found by distance to the sources, not by a ball query.
_BALL_QUERY_MAX = 200_000


@dataclass(frozen=True)
class Graph:
    """A walking graph as forward and reversed arcs, each arc knowing its street edge.

    Row ``b`` of the reversed arcs lists every ``a`` with a street step ``a -> b`` (searches
    towards facilities run on it); the forward arcs are the same steps from ``a``.
    ``edge_ok`` (per street edge, or None for all) switches streets off for one search.
    """

    n: int
    xy: FloatArray
    tree: cKDTree
    rev_ptr: NDArray[np.int64]
    rev_head: IntArray
    rev_w: FloatArray
    rev_edge: NDArray[np.int64] | None
    fwd_ptr: NDArray[np.int64]
    fwd_head: IntArray
    fwd_w: FloatArray
    fwd_edge: NDArray[np.int64] | None
    #: the area of the nodes' bounding box, m²; a lookup table kept at -1 between uses
    area_m2: float = 0.0
    scratch: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        span = np.ptp(self.xy, axis=0) if self.n else np.zeros(2)
        object.__setattr__(self, "area_m2", float(span[0] * span[1]))
        object.__setattr__(self, "scratch", np.full(self.n, -1, dtype=np.int64))

    @classmethod
    def from_reach(cls, rg: ReachGraph) -> Graph:
        """The graph of a region as it is (no street can be switched off)."""
        net = rg.net
        indptr, indices, weights, _ = net.csr
        return cls(
            net.n_nodes,
            net.node_xy,
            net.node_tree,
            rg.ptr,
            rg.head,
            rg.weight,
            None,
            indptr,
            indices,
            np.maximum(weights, config.MIN_ARC_M),
            None,
        )

    @classmethod
    def from_network(cls, net: StreetNetwork) -> Graph:
        """The graph of a (changed) network, every arc tagged with its edge."""
        two = ~net.edge_oneway
        ids = np.arange(net.n_edges, dtype=np.int64)
        src = np.concatenate([net.edge_u, net.edge_v[two]])
        dst = np.concatenate([net.edge_v, net.edge_u[two]])
        w = np.maximum(np.concatenate([net.edge_length, net.edge_length[two]]), config.MIN_ARC_M)
        edge = np.concatenate([ids, ids[two]])
        keep = src != dst  # self-loops never shorten a walk
        src, dst, w, edge = src[keep], dst[keep], w[keep], edge[keep]
        rev = _csr(dst, src, w, edge, net.n_nodes)
        fwd = _csr(src, dst, w, edge, net.n_nodes)
        return cls(net.n_nodes, net.node_xy, cKDTree(net.node_xy), *rev, *fwd)

    def disc(self, centres: FloatArray, radius: float) -> IntArray:
        """Nodes within straight-line ``radius`` of any centre, sorted."""
        if len(centres) == 0:
            return np.zeros(0, dtype=np.int32)
        if radius * radius * len(centres) * 3.2 > self.area_m2 + 1.0 or len(centres) > 64:
            dist, _ = cKDTree(centres).query(self.xy, distance_upper_bound=radius)
            return np.flatnonzero(np.isfinite(dist)).astype(np.int32)
        hits = self.tree.query_ball_point(centres, radius, return_sorted=False)
        parts = [np.asarray(h, dtype=np.int32) for h in hits]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int32)


def _csr(
    row: IntArray, col: IntArray, w: FloatArray, edge: NDArray[np.int64], n: int
) -> tuple[NDArray[np.int64], IntArray, FloatArray, NDArray[np.int64]]:
    order = np.argsort(row, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=ptr[1:])
    return ptr, col[order].astype(np.int32), w[order], edge[order]


def _enabled(
    edge: NDArray[np.int64] | None, arcs: NDArray[np.int64], edge_ok: NDArray[np.bool_] | None
) -> NDArray[np.bool_]:
    if edge_ok is None or edge is None:
        return np.ones(len(arcs), dtype=bool)
    return np.asarray(edge_ok[edge[arcs]], dtype=np.bool_)


@dataclass(frozen=True)
class Sources:
    """Where a search starts: nodes and the cost already walked to them (metres)."""

    node: IntArray
    cost: FloatArray

    @staticmethod
    def concat(parts: list[Sources]) -> Sources:
        """Several source lists as one."""
        if not parts:
            return Sources(np.zeros(0, np.int32), np.zeros(0))
        return Sources(
            np.concatenate([p.node for p in parts]).astype(np.int32),
            np.concatenate([p.cost for p in parts]),
        )

    def best(self) -> Sources:
        """One entry per node (sorted), the cheapest; none that cannot be reached."""
        ok = np.isfinite(self.cost)
        node, cost = self.node[ok], self.cost[ok]
        order = np.lexsort((cost, node))
        node, cost = node[order], cost[order]
        first = np.ones(len(node), dtype=bool)
        first[1:] = node[1:] != node[:-1]
        return Sources(node[first].astype(np.int32), cost[first])


def facility_sources(net: StreetNetwork, places: Snap) -> Sources:
    """The end nodes from which each place is walked to, and the cost from there.

    As :meth:`ReachGraph.nearest` enters them (:func:`livingcircle.geo.positions.entries`).
    """
    return Sources(*positions.entries(net, places))


def arc_sources(net: StreetNetwork, edges: NDArray[np.int64], field: FloatArray) -> Sources:
    """For each step ``a -> b`` along ``edges``: start at ``a``, its length plus ``field[b]``."""
    u, v = net.edge_u[edges], net.edge_v[edges]
    w = np.maximum(net.edge_length[edges], config.MIN_ARC_M)
    two = ~net.edge_oneway[edges]
    a = np.concatenate([u, v[two]])
    b = np.concatenate([v, u[two]])
    cost = np.concatenate([w, w[two]]) + field[b]
    keep = (a != b) & np.isfinite(cost)
    return Sources(a[keep].astype(np.int32), cost[keep])


def _local_dijkstra(
    g: Graph, nodes: IntArray, src: Sources, limit: float, edge_ok: NDArray[np.bool_] | None
) -> FloatArray:
    """Distances from the sources to every node of ``nodes`` (sorted), on arcs among them."""
    loc = g.scratch
    loc[nodes] = np.arange(len(nodes))
    try:
        return _dijkstra_on(g, nodes, src, limit, edge_ok, loc)
    finally:
        loc[nodes] = -1


def _dijkstra_on(
    g: Graph,
    nodes: IntArray,
    src: Sources,
    limit: float,
    edge_ok: NDArray[np.bool_] | None,
    loc: NDArray[np.int64],
) -> FloatArray:
    arcs, count = row_ranges(g.rev_ptr, nodes)
    rows = np.repeat(np.arange(len(nodes), dtype=np.int64), count)
    heads = loc[g.rev_head[arcs]]
    keep = (heads >= 0) & _enabled(g.rev_edge, arcs, edge_ok)
    s = src.best()
    s_loc = loc[s.node]
    s_keep = s_loc >= 0
    v = len(nodes)
    row = np.concatenate([rows[keep], np.full(int(s_keep.sum()), v, dtype=np.int64)])
    col = np.concatenate([heads[keep], s_loc[s_keep]])
    w = np.concatenate([g.rev_w[arcs[keep]], np.maximum(s.cost[s_keep], config.MIN_ARC_M)])
    order = np.lexsort((w, col, row))  # parallel arcs: keep the shortest (a sparse matrix
    row, col, w = row[order], col[order], w[order]  # would add them up)
    first = np.ones(len(row), dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (col[1:] != col[:-1])
    row, col, w = row[first], col[first], w[first]
    ptr = np.zeros(v + 2, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=v + 1), out=ptr[1:])
    graph = csr_matrix((w, col, ptr), shape=(v + 1, v + 1))
    dist = dijkstra(graph, directed=True, indices=v, limit=limit)
    return np.asarray(dist[:v], dtype=np.float64)


def _beats(cand: FloatArray, bound: FloatArray, ties: bool) -> NDArray[np.bool_]:
    if ties:
        return np.asarray(cand <= bound * (1 + _TIE_REL) + _TIE_ABS, dtype=np.bool_)
    return np.asarray(cand < bound, dtype=np.bool_)


def _grow(
    g: Graph,
    src: Sources,
    bound: FloatArray,
    ties: bool,
    edge_ok: NDArray[np.bool_] | None,
    first_m: float,
    limit: float,
) -> tuple[IntArray, FloatArray]:
    """Nodes whose distance from the sources beats ``bound`` (or ties it), and that distance.

    The search runs on a disc around the sources, exact up to its radius; it widens while an
    improved node has an arc whose far end the sources might still improve past the radius.
    """
    src = src.best()
    src = Sources(src.node[src.cost <= limit], src.cost[src.cost <= limit])
    if len(src.node) == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0)
    radius = min(max(first_m, FIRST_RADIUS_M), limit)
    while True:
        nodes = g.disc(g.xy[np.unique(src.node)], config.disc_radius(radius))
        dist = _local_dijkstra(g, nodes, src, radius, edge_ok)
        hit = np.isfinite(dist) & _beats(dist, bound[nodes], ties)
        if radius >= limit or not _escapes(
            g, nodes[hit], dist[hit], src, bound, ties, edge_ok, radius, limit
        ):
            return nodes[hit], dist[hit]
        radius = min(radius * 4, limit)


def _escapes(
    g: Graph,
    nodes: IntArray,
    dist: FloatArray,
    src: Sources,
    bound: FloatArray,
    ties: bool,
    edge_ok: NDArray[np.bool_] | None,
    radius: float,
    limit: float,
) -> bool:
    """Whether a node past ``radius`` might still be improved (so the disc must widen)."""
    far_src = (src.cost > radius) & _beats(src.cost, bound[src.node], ties)
    if far_src.any():
        return True
    arcs, count = row_ranges(g.rev_ptr, nodes)
    cand = np.repeat(dist, count) + g.rev_w[arcs]
    heads = g.rev_head[arcs]
    ok = _enabled(g.rev_edge, arcs, edge_ok) & (cand > radius) & (cand <= limit)
    return bool((ok & _beats(cand, bound[heads], ties)).any())


@dataclass(frozen=True)
class Walk:
    """Where the walks of a field may go: the graph, its open streets, and how far.

    ``edge_ok`` says which streets may be walked (all when None); a walk stops at ``limit``
    metres, beyond which a field holds no distance.
    """

    g: Graph
    edge_ok: NDArray[np.bool_] | None = None
    limit: float = config.NEAREST_MAX_RADIUS_M


def improve(walk: Walk, field: FloatArray, src: Sources) -> tuple[FloatArray, IntArray]:
    """The field after new sources open: ``min(field, distance from the sources)``.

    Returns the new field and the nodes it changed.
    """
    g, edge_ok, limit = walk.g, walk.edge_ok, walk.limit
    first = float(np.nanmax(np.minimum(field[src.node], limit))) if len(src.node) else 0.0
    nodes, dist = _grow(g, src, field, False, edge_ok, first, limit)
    out = field.copy()
    out[nodes] = dist
    return out, nodes


def affected(walk: Walk, field: FloatArray, via: Sources) -> IntArray:
    """Nodes whose distance in ``field`` may be the distance through ``via`` (ties included)."""
    nodes, _ = _grow(walk.g, via, field, True, walk.edge_ok, FIRST_RADIUS_M, walk.limit)
    return nodes


def recompute(walk: Walk, field: FloatArray, nodes: IntArray, remaining: Sources) -> FloatArray:
    """The field with ``nodes`` recomputed: from the other nodes' distances and ``remaining``.

    Every node outside ``nodes`` keeps its distance; a walk from inside leaves it by an arc
    to such a node (starting there with that node's distance plus the arc) or ends at one of
    the ``remaining`` facility entries inside.
    """
    g, edge_ok = walk.g, walk.edge_ok
    out = field.copy()
    if len(nodes) == 0:
        return out
    nodes = np.sort(nodes)
    inside = np.zeros(g.n, dtype=bool)
    inside[nodes] = True
    arcs, count = row_ranges(g.fwd_ptr, nodes)
    tail = np.repeat(nodes, count)
    head = g.fwd_head[arcs]
    cross = ~inside[head] & _enabled(g.fwd_edge, arcs, edge_ok) & np.isfinite(field[head])
    border = Sources(tail[cross], field[head[cross]] + g.fwd_w[arcs[cross]])
    own = inside[remaining.node]
    src = Sources.concat([border, Sources(remaining.node[own], remaining.cost[own])])
    out[nodes] = _local_dijkstra(g, nodes, src, walk.limit, edge_ok)
    return out


def close(
    before: Walk, after: Walk, field: FloatArray, via: Sources, remaining: Sources
) -> tuple[FloatArray, IntArray]:
    """The field after the walks through ``via`` are gone.

    ``via`` are the closed facilities' entries, or the closed streets' steps
    (:func:`arc_sources`); the nodes that used them are found on the graph as it was
    (``before``) and recomputed on the graph as it is (``after``).
    """
    nodes = affected(before, field, via)
    return recompute(after, field, nodes, remaining), nodes
