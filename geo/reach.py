"""Walking distances between many points and many places, without a search per point.

Two passes serve the planner analysis, both over the street graph walked backwards (an arc
``b -> a`` for every street step ``a -> b``), so one-way streets are respected:

* :meth:`ReachGraph.nearest` is one Dijkstra per category from a virtual node joined to every
  facility, giving each street node its distance *to* the nearest one: the one nearest-field
  kernel (:func:`livingcircle.geo.accessibility.distance_to_nearest` calls it), on a
  reversed graph built once for every category.
* :meth:`ReachGraph.pairs_within` lists every (place, point) pair closer than a radius: the
  places (facilities, candidate sites) are grouped into square tiles, and one SciPy Dijkstra
  call per tile runs from all of its places at once on the graph cut to the tile's box widened
  by the radius (every node within network distance ``r`` lies within straight-line distance
  ``r``). Points (homes) never enter the graph: each is read off the nodes at both ends of its
  edge, or straight along the edge when it shares one with the place.

The work is one bounded search per *place*, whatever the number of points, and memory is one
tile's distance block at a time: no all-pairs precompute.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from livingcircle.geo import kernels, positions
from livingcircle.geo.config import MIN_ARC_M, disc_radius
from livingcircle.geo.network import FloatArray, StreetNetwork, row_ranges
from livingcircle.geo.positions import EdgeGroups, Snap

#: A tile's distance block (places x local nodes) is split so it holds at most this many cells.
_MAX_BLOCK = 4_000_000
#: Tiles grow until they hold about this many places: one SciPy call then serves many
#: searches (each call has a fixed cost in Python), while sparse places still get a tile each.
PLACES_PER_TILE = 128


@dataclass(frozen=True)
class PairChunk:
    """Pairs found in one tile: ``place`` and ``point`` positions and the distance (m).

    ``dist_m`` includes both access legs (place to street, street to point).
    """

    place: NDArray[np.int64]
    point: NDArray[np.int64]
    dist_m: FloatArray


class _Cells:
    """Points bucketed into square cells, for "everything in this box" look-ups."""

    def __init__(self, xy: FloatArray, size: float, origin: FloatArray, ncx: int) -> None:
        key = _cell_key(xy, size, origin, ncx)
        self.order = np.argsort(key, kind="stable")
        self.key = key[self.order]
        self.size, self.origin, self.ncx = size, origin, ncx

    def box(self, lo: FloatArray, hi: FloatArray) -> NDArray[np.int64]:
        """Positions of the points in cells meeting the box ``lo``-``hi`` (a few extra)."""
        c0, r0 = np.floor((lo - self.origin) / self.size).astype(np.int64)
        c1, r1 = np.floor((hi - self.origin) / self.size).astype(np.int64)
        rows = np.arange(max(r0, 0), r1 + 1) * self.ncx
        first = np.searchsorted(self.key, rows + max(c0, 0), side="left")
        last = np.searchsorted(self.key, rows + min(c1, self.ncx - 1), side="right")
        return np.concatenate([self.order[a:b] for a, b in zip(first, last, strict=True)])


def _cell_key(xy: FloatArray, size: float, origin: FloatArray, ncx: int) -> NDArray[np.int64]:
    cells = np.floor((xy - origin) / size).astype(np.int64)
    return np.asarray(cells[:, 1] * ncx + np.clip(cells[:, 0], 0, ncx - 1), dtype=np.int64)


def _tile_side(xy: FloatArray, radius: float) -> float:
    """A tile side holding about :data:`PLACES_PER_TILE` places, at least the radius."""
    w, h = np.ptp(xy, axis=0) + radius
    return float(max(radius, 250.0, np.sqrt(w * h * PLACES_PER_TILE / len(xy))))


class ReachGraph:
    """The reversed street graph of a network, built once for many passes.

    Parameters
    ----------
    net
        The walking network.
    compiled
        Count and rank with the compiled kernel of :mod:`livingcircle.geo.kernels` (the default
        where Numba imports) or with :meth:`pairs_within` (``False``): the same numbers.
    """

    def __init__(self, net: StreetNetwork, compiled: bool | None = None) -> None:
        self.net = net
        self.compiled = kernels.AVAILABLE if compiled is None else compiled and kernels.AVAILABLE
        n = net.n_nodes
        indptr, indices, weights, _ = net.csr
        src = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
        order = np.argsort(indices, kind="stable")
        #: reversed arcs as CSR: row ``b`` lists every ``a`` with a street step ``a -> b``
        self.ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(indices, minlength=n), out=self.ptr[1:])
        self.head = src[order]
        self.weight = np.maximum(weights[order], MIN_ARC_M)

    @property
    def arrays(self) -> kernels.Graph:
        """The reversed arcs as CSR: ``(ptr, head, weight)``."""
        return self.ptr, self.head, self.weight

    # -- nearest: one pass per category ----------------------------------------------------

    def nearest(
        self, places: Snap, limit_m: float = np.inf, known: FloatArray | None = None
    ) -> FloatArray:
        """Every node's network distance to the nearest of ``places`` (``inf`` past the limit).

        The places are entered as :func:`livingcircle.geo.positions.entries` says; access
        legs included. ``known``: the field where already found, as the compiled k-nearest
        pass leaves it (:func:`livingcircle.geo.kernels.nearest_field` goes on from there and
        fills it in); the SciPy pass does not need it.
        """
        n = self.net.n_nodes
        if len(places) == 0:
            return np.full(n, np.inf)
        starts, costs = positions.entries(self.net, places)
        entry = np.full(n, np.inf)  # several places may share an end node: keep the nearest
        np.minimum.at(entry, starts, costs)
        ends = np.flatnonzero(np.isfinite(entry)).astype(np.int32)
        if self.compiled:
            return kernels.nearest_field(
                self.arrays, ends, np.maximum(entry[ends], MIN_ARC_M), limit_m, known
            )
        ptr = np.append(self.ptr, self.ptr[-1] + len(ends))
        graph = csr_matrix(
            (
                np.concatenate([self.weight, np.maximum(entry[ends], MIN_ARC_M)]),
                np.concatenate([self.head, ends]),
                ptr,
            ),
            shape=(n + 1, n + 1),
        )
        dist = dijkstra(graph, directed=True, indices=n, limit=limit_m)
        return np.asarray(dist[:n], dtype=np.float64)

    # -- pairs within a radius ---------------------------------------------------------------

    def pairs_within(
        self, places: Snap, points: Snap, radius_m: float, tile_m: float | None = None
    ) -> Iterator[PairChunk]:
        """Every (place, point) pair a point can walk to the place from within ``radius_m``.

        Parameters
        ----------
        places
            Where the walks end (facilities, candidate sites); all must be snapped.
        points
            Where the walks start (homes); all must be snapped.
        radius_m
            The walking distance limit, access legs included.
        tile_m
            Side of the tiles places are grouped in; by default large enough to hold about
            :data:`PLACES_PER_TILE` places, and never less than the radius.

        Yields
        ------
        PairChunk
            The pairs of one tile of places; each pair is yielded once.
        """
        if len(places) == 0 or len(points) == 0:
            return
        _Tiles.check(places, points)
        yield from _Tiles(self, places, points, radius_m, tile_m).run()


class _Tiles:
    """The tiled bounded search of :meth:`ReachGraph.pairs_within`."""

    def __init__(
        self, graph: ReachGraph, places: Snap, points: Snap, radius_m: float, tile_m: float | None
    ) -> None:
        self.g, self.net = graph, graph.net
        self.places, self.points, self.radius = places, points, float(radius_m)
        self.reach = disc_radius(self.radius)
        xy = self.net.node_xy
        tile = float(tile_m) if tile_m else _tile_side(places.xy, self.radius)
        origin = (
            np.minimum(xy.min(axis=0), np.minimum(places.xy.min(axis=0), points.xy.min(axis=0)))
            - self.reach
        )
        far = (
            np.maximum(xy.max(axis=0), np.maximum(places.xy.max(axis=0), points.xy.max(axis=0)))
            + self.reach
        )
        cell = tile / 2
        ncx = int((far[0] - origin[0]) // cell) + 2
        self.node_cells = _Cells(xy, cell, origin, ncx)
        tiles_x = int((far[0] - origin[0]) // tile) + 2
        key = _cell_key(places.xy, tile, origin, tiles_x)
        self.order = np.argsort(key, kind="stable")
        _, first = np.unique(key[self.order], return_index=True)
        self.bounds = np.append(first, len(key))
        self.loc = np.full(self.net.n_nodes, -1, dtype=np.int64)
        self._attach()

    @staticmethod
    def check(places: Snap, points: Snap) -> None:
        if (places.edge < 0).any() or (points.edge < 0).any():
            raise ValueError("pairs_within needs snapped places and points (edge >= 0)")

    def _attach(self) -> None:
        """Points listed by the nodes they are read off: ``v`` always, ``u`` when allowed."""
        net, pts = self.net, self.points
        edge, off = pts.edge, pts.offset_m
        #: each point's cost to walk off its edge by ``u`` (``inf``: not allowed) and by ``v``
        self.leave_u, self.leave_v = positions.leave_costs(net, edge, off)
        via_u = np.flatnonzero(np.isfinite(self.leave_u))
        node = np.concatenate([net.edge_u[edge[via_u]], net.edge_v[edge]])
        point = np.concatenate([via_u, np.arange(len(pts))])
        is_u = np.concatenate([np.ones(len(via_u), bool), np.zeros(len(pts), bool)])
        order = np.argsort(node, kind="stable")
        self.att_point, self.att_is_u = point[order], is_u[order]
        self.att_ptr = np.zeros(net.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(node, minlength=net.n_nodes), out=self.att_ptr[1:])
        self.on_edge = EdgeGroups(edge)

    def run(self) -> Iterator[PairChunk]:
        for a, b in zip(self.bounds[:-1], self.bounds[1:], strict=True):
            tile = self.order[a:b]
            xy = self.places.xy[tile]
            nodes = self.node_cells.box(xy.min(axis=0) - self.reach, xy.max(axis=0) + self.reach)
            self.loc[nodes] = np.arange(len(nodes))
            try:
                step = max(1, _MAX_BLOCK // max(len(nodes), 1))
                for i in range(0, len(tile), step):
                    chunk = self._search(tile[i : i + step], nodes)
                    if len(chunk.place):
                        yield chunk
            finally:
                self.loc[nodes] = -1

    def _search(self, places: NDArray[np.int64], nodes: NDArray[np.int64]) -> PairChunk:
        dist = self._dijkstra(places, nodes)
        via_nodes = self._via_nodes(places, dist, nodes)
        same = self._same_edge(places, dist)
        return PairChunk(*(np.concatenate([x, y]) for x, y in zip(via_nodes, same, strict=True)))

    def _dijkstra(self, places: NDArray[np.int64], nodes: NDArray[np.int64]) -> FloatArray:
        """Distances (places x local nodes) from each local node to each place."""
        g, net, loc = self.g, self.net, self.loc
        n_loc, n_pl = len(nodes), len(places)
        arcs, count = row_ranges(g.ptr, nodes)
        heads = loc[g.head[arcs]]
        keep = heads >= 0
        rows = np.repeat(np.arange(n_loc), count)[keep]
        snap = self.places[places]
        lu, lv = loc[net.edge_u[snap.edge]], loc[net.edge_v[snap.edge]]
        at_u, at_v = positions.entry_costs(net, snap)
        back = np.isfinite(at_v) & (lv >= 0)  # not on a loop: CSR would add the two costs
        pl_cols = np.stack([lu, lv], axis=1)
        pl_w = np.stack([at_u, at_v], axis=1)
        pl_ok = np.stack([lu >= 0, back], axis=1)
        row_count = np.concatenate([np.bincount(rows, minlength=n_loc), pl_ok.sum(axis=1)])
        ptr = np.zeros(n_loc + n_pl + 1, dtype=np.int64)
        np.cumsum(row_count, out=ptr[1:])
        cols = np.concatenate([heads[keep], pl_cols[pl_ok]])
        w = np.maximum(np.concatenate([g.weight[arcs[keep]], pl_w[pl_ok]]), MIN_ARC_M)
        graph = csr_matrix((w, cols, ptr), shape=(n_loc + n_pl, n_loc + n_pl))
        out = dijkstra(graph, directed=True, indices=n_loc + np.arange(n_pl), limit=self.radius)
        return np.asarray(out[:, :n_loc], dtype=np.float64)

    def _via_nodes(
        self, places: NDArray[np.int64], dist: FloatArray, nodes: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]:
        """Pairs whose point walks off its edge by an end node (each pair found once)."""
        net, pts, loc = self.net, self.points, self.loc
        row, col = np.nonzero(dist < np.inf)
        att, count = row_ranges(self.att_ptr, nodes[col])
        pl = np.repeat(row, count)
        pt = self.att_point[att]
        edge = pts.edge[pt]
        lu, lv = loc[net.edge_u[edge]], loc[net.edge_v[edge]]
        du = np.where(lu >= 0, dist[pl, lu], np.inf)
        dv = np.where(lv >= 0, dist[pl, lv], np.inf)
        via_u = self.leave_u[pt] + du
        total = np.minimum(via_u, self.leave_v[pt] + dv) + pts.access_m[pt]
        # a pair reachable by both ends is listed under u and v: keep the u listing
        keep = (total <= self.radius) & (self.att_is_u[att] | np.isinf(via_u))
        keep &= self.places.edge[places[pl]] != edge  # same-edge pairs are done apart
        return places[pl[keep]], pt[keep], total[keep]

    def _same_edge(
        self, places: NDArray[np.int64], dist: FloatArray
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]:
        """Pairs on one edge: straight along it, or round by the nodes if that is shorter."""
        net, pts, loc = self.net, self.points, self.loc
        edge = self.places.edge[places]
        pl, pt = self.on_edge.pairs(edge)
        e, p_off, q_off = edge[pl], pts.offset_m[pt], self.places.offset_m[places[pl]]
        direct = positions.along(net, e, p_off, q_off) + self.places.access_m[places[pl]]
        lu, lv = loc[net.edge_u[e]], loc[net.edge_v[e]]
        du = np.where(lu >= 0, dist[pl, lu], np.inf)
        dv = np.where(lv >= 0, dist[pl, lv], np.inf)
        around = np.minimum(self.leave_u[pt] + du, self.leave_v[pt] + dv)
        total = np.minimum(direct, around) + pts.access_m[pt]
        keep = total <= self.radius
        return places[pl[keep]], pt[keep], total[keep]
