"""A scenario's street network: the region's, split where a link meets a street, with links.

:class:`NetworkChange` keeps the region's node and edge ids and flags closed, replaced
(split) and new link edges; :func:`place_points` puts homes and facilities on it as a
region built with the changed network would (off a closed street, onto a nearer link).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import shapely
import shapely.ops
from numpy.typing import NDArray

from livingcircle.geo.engine import Region
from livingcircle.geo.network import FloatArray, StreetNetwork, geodesic_m
from livingcircle.geo.routing import Snap


@dataclass(frozen=True)
class NetworkChange:
    """The scenario's street network, built around the region's.

    ``net`` holds the region's nodes and edges with their ids, then the new nodes where a
    link meets the middle of a street, then the pieces of the streets split there, then the
    links. ``closed``, ``replaced`` (split into pieces) and ``link`` flag edges; ``pieces``
    maps a split edge to its cut offsets (metres from ``u``, starting at 0) and piece ids.
    """

    net: StreetNetwork
    n_base_nodes: int
    n_base_edges: int
    closed: NDArray[np.bool_]
    replaced: NDArray[np.bool_]
    link: NDArray[np.bool_]
    pieces: dict[int, tuple[FloatArray, NDArray[np.int64]]]

    @property
    def before_ok(self) -> NDArray[np.bool_]:
        """Edges of the region's network (as split), closed ones included."""
        return np.asarray(~self.replaced & ~self.link, dtype=np.bool_)

    @property
    def closed_ok(self) -> NDArray[np.bool_]:
        """The region's network without the closed streets, links not yet built."""
        return np.asarray(self.before_ok & ~self.closed, dtype=np.bool_)

    @property
    def after_ok(self) -> NDArray[np.bool_]:
        """The scenario's network: closed streets gone, links built."""
        return np.asarray(~self.replaced & ~self.closed, dtype=np.bool_)

    def final_network(self) -> tuple[StreetNetwork, NDArray[np.int64]]:
        """The scenario's network alone (every node kept) and each edge's id in it (-1: gone)."""
        keep = self.after_ok
        ids = np.full(self.net.n_edges, -1, dtype=np.int64)
        ids[keep] = np.arange(int(keep.sum()))
        n = self.net
        final = StreetNetwork(
            n.crs,
            n.node_xy,
            n.edge_u[keep],
            n.edge_v[keep],
            n.edge_length[keep],
            n.edge_oneway[keep],
            n.edge_geom[keep],
        )
        return final, ids

    def remap(self, snap: Snap) -> Snap:
        """Positions on the region's edges as positions on the pieces of split edges."""
        edge, off = snap.edge.astype(np.int64).copy(), snap.offset_m.copy()
        for e, (cuts, ids) in self.pieces.items():
            on = np.flatnonzero(edge == e)
            if len(on):
                i = np.clip(np.searchsorted(cuts, off[on], side="right") - 1, 0, len(ids) - 1)
                edge[on], off[on] = ids[i], off[on] - cuts[i]
        return Snap(edge.astype(np.int32), off, snap.access_m, snap.xy)


def network_with(
    region: Region,
    cut_edge: list[int],
    cut_off: list[float],
    links: list[tuple[int, int, bool]],
    closed: NDArray[np.bool_],
) -> NetworkChange:
    """The region's network with edges split at the cuts and links between nodes."""
    net = region.net
    n0, e0 = net.n_nodes, net.n_edges
    node_xy = [net.node_xy]
    u, v, length, oneway, geoms = (
        [net.edge_u],
        [net.edge_v],
        [net.edge_length],
        [net.edge_oneway],
        [net.edge_geom],
    )
    pieces: dict[int, tuple[FloatArray, NDArray[np.int64]]] = {}
    next_node, next_edge = n0, e0
    for e in sorted(set(cut_edge)):
        offs = np.unique([o for ce, o in zip(cut_edge, cut_off, strict=True) if ce == e])
        nodes = np.arange(next_node, next_node + len(offs))
        next_node += len(offs)
        node_xy.append(net.points_at(np.full(len(offs), e, dtype=np.int32), offs))
        ends = np.concatenate([[net.edge_u[e]], nodes, [net.edge_v[e]]])
        cuts = np.concatenate([[0.0], offs, [net.edge_length[e]]])
        frac = cuts * (net.geom_length[e] / net.edge_length[e])
        geom = net.edge_geom[e]
        geoms.append(
            np.array(
                [shapely.ops.substring(geom, a, b) for a, b in itertools.pairwise(frac)],
                dtype=object,
            )
        )
        u.append(ends[:-1].astype(np.int32))
        v.append(ends[1:].astype(np.int32))
        length.append(np.diff(cuts))
        oneway.append(np.full(len(offs) + 1, net.edge_oneway[e]))
        ids = np.arange(next_edge, next_edge + len(offs) + 1, dtype=np.int64)
        next_edge += len(ids)
        pieces[e] = (cuts[:-1], ids)
    xy = np.vstack(node_xy)
    lonlat = region.unproject(xy)
    for a, b, one in links:
        u.append(np.array([a], np.int32))
        v.append(np.array([b], np.int32))
        length.append(np.array([geodesic_m(lonlat[[a, b]])]))
        oneway.append(np.array([one]))
        geoms.append(np.array([shapely.LineString(xy[[a, b]])], dtype=object))
    full = StreetNetwork(
        net.crs,
        xy,
        np.concatenate(u),
        np.concatenate(v),
        np.concatenate(length),
        np.concatenate(oneway).astype(bool),
        np.concatenate(geoms),
    )
    m = full.n_edges
    flag_closed = np.zeros(m, dtype=bool)
    flag_closed[:e0] = closed
    replaced = np.zeros(m, dtype=bool)
    for e, (_, ids) in pieces.items():
        replaced[e] = True
        flag_closed[ids] = closed[e]
    link = np.zeros(m, dtype=bool)
    link[m - len(links) :] = True
    return NetworkChange(full, n0, e0, flag_closed, replaced, link, pieces)


def nearest_open(change: NetworkChange, base: StreetNetwork, xy: FloatArray, limit: float) -> Snap:
    """Snap points onto the nearest open edge of the changed network (edge -1: none)."""
    n = len(xy)
    out = Snap(
        np.full(n, -1, np.int32), np.full(n, np.nan), np.full(n, np.nan), np.full((n, 2), np.nan)
    )
    if n == 0:
        return out
    pts = shapely.points(xy)
    src, hit = base.edge_tree.query(pts, predicate="dwithin", distance=limit)
    hit = hit.astype(np.int64)
    ok = ~change.closed[hit]
    src, hit = src[ok], hit[ok]
    links = np.flatnonzero(change.link & ~change.closed)
    l_src = np.repeat(np.arange(n), len(links))
    l_hit = np.tile(links, n)
    all_src = np.concatenate([src, l_src])
    all_hit = np.concatenate([hit, l_hit])
    geoms = change.net.edge_geom[all_hit]
    dist = shapely.distance(geoms, pts[all_src])
    keep = dist <= limit
    all_src, all_hit, dist, geoms = all_src[keep], all_hit[keep], dist[keep], geoms[keep]
    order = np.lexsort((all_hit, dist, all_src))
    first = order[np.unique(all_src[order], return_index=True)[1]]
    who, edge = all_src[first], all_hit[first]
    along = shapely.line_locate_point(geoms[first], pts[who])
    glen = np.maximum(shapely.length(geoms[first]), 1e-9)
    off = np.clip(along / glen, 0.0, 1.0) * change.net.edge_length[edge]
    on = shapely.line_interpolate_point(geoms[first], along)
    snap = change.remap(Snap(edge.astype(np.int32), off, dist[first], shapely.get_coordinates(on)))
    out.edge[who], out.offset_m[who] = snap.edge, snap.offset_m
    # the leg on the ellipsoid, as snap_points measures it
    out.access_m[who], out.xy[who] = base.geodesic_legs(xy[who], snap.xy), snap.xy
    return out


def place_points(
    change: NetworkChange, base: StreetNetwork, xy: FloatArray, snap: Snap, limit: float
) -> tuple[Snap, NDArray[np.bool_]]:
    """Points on the changed network: kept, moved off a closed street, or onto a link.

    Returns the new positions and which points moved.
    """
    placed = change.remap(snap)
    moved = np.zeros(len(snap), dtype=bool)
    ok = placed.edge >= 0
    moved[ok] = change.closed[placed.edge[ok]]
    links = np.flatnonzero(change.link)
    if len(links):
        bounds = shapely.bounds(change.net.edge_geom[links])
        lo, hi = bounds[:, :2].min(axis=0) - limit, bounds[:, 2:].max(axis=0) + limit
        near = np.flatnonzero(ok & (xy >= lo).all(axis=1) & (xy <= hi).all(axis=1) & ~moved)
        if len(near):
            pts = shapely.points(xy[near])
            d = np.min([shapely.distance(change.net.edge_geom[e], pts) for e in links], axis=0)
            planar = np.hypot(*(xy[near] - placed.xy[near]).T)  # measured as d is
            moved[near[d < planar]] = True
    idx = np.flatnonzero(moved)
    if len(idx):
        again = nearest_open(change, base, xy[idx], limit)
        placed = Snap(
            placed.edge.copy(), placed.offset_m.copy(), placed.access_m.copy(), placed.xy.copy()
        )
        placed.edge[idx], placed.offset_m[idx] = again.edge, again.offset_m
        placed.access_m[idx], placed.xy[idx] = again.access_m, again.xy
    return placed, moved
