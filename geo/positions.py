"""A position on a street edge, and how it is walked to and from.

A position is an edge and an offset in metres from the edge's ``u`` end (:class:`Snap` holds
many, with the access leg from the point to the street). Every rule about walking onto or
off an edge lives here, vectorised over arrays of positions:

* **leaving** a position (:func:`leave_costs`): towards ``v`` always (``length - offset``),
  towards ``u`` (``offset``) unless the edge is one-way and the position is not at ``u``;
* **entering** it (:func:`enter_costs`): from ``u`` always, from ``v`` unless the edge is
  one-way and the position is not at ``v``;
* **along** the edge from one position to another (:func:`along`): straight, unless that
  walks back against a one-way edge.

The same rules as stretches of street within a budget (catchments, gaps):
:func:`entered_stretches`, :func:`leaving_stretches`, :func:`along_stretch`.

A position within :data:`AT_NODE_M` of an end stands on that node: it may leave or be
entered by that end against the edge's direction (the step has no length). Searches that
give node distances (from a start, or *to* a set of places) turn them into distances to or
from positions with :func:`from_nodes` and :func:`to_nodes`; a reversed search towards
places starts from :func:`entries`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from livingcircle.geo.network import FloatArray, IntArray, StreetNetwork

#: A point this close to an edge's end stands on that node: it may leave the edge by that
#: end even against a one-way edge's direction (the step has no length).
AT_NODE_M = 1e-6

Index = NDArray[np.int64]


@dataclass(frozen=True)
class Snap:
    """Points placed on their nearest street edge.

    Attributes
    ----------
    edge
        Edge id per point, -1 where no edge lies within the snapping distance.
    offset_m
        Position along the edge from its ``u`` end, in the edge's metres.
    access_m
        Straight-line distance from the point to the edge (the access leg), metres.
    xy
        The snapped positions in the network's CRS.
    """

    edge: IntArray
    offset_m: FloatArray
    access_m: FloatArray
    xy: FloatArray

    def __len__(self) -> int:
        return len(self.edge)

    def __getitem__(self, index: NDArray[np.intp] | slice) -> Snap:
        return Snap(self.edge[index], self.offset_m[index], self.access_m[index], self.xy[index])


def can_leave_by_u(net: StreetNetwork, edge: IntArray, offset_m: FloatArray) -> NDArray[np.bool_]:
    """Whether positions may walk off their edge by its ``u`` end."""
    return np.asarray(~net.edge_oneway[edge] | (offset_m <= AT_NODE_M), dtype=np.bool_)


def can_enter_from_v(net: StreetNetwork, edge: IntArray, offset_m: FloatArray) -> NDArray[np.bool_]:
    """Whether positions may be walked to from their edge's ``v`` end."""
    back = net.edge_length[edge] - offset_m <= AT_NODE_M
    return np.asarray(~net.edge_oneway[edge] | back, dtype=np.bool_)


def leave_costs(
    net: StreetNetwork, edge: IntArray, offset_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Metres from positions to the ``u`` and ``v`` ends of their edges (``inf``: not allowed)."""
    to_u = np.where(can_leave_by_u(net, edge, offset_m), offset_m, np.inf)
    return to_u, net.edge_length[edge] - offset_m


def enter_costs(
    net: StreetNetwork, edge: IntArray, offset_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Metres from the ``u`` and ``v`` ends of their edges to positions (``inf``: not allowed)."""
    from_v = net.edge_length[edge] - offset_m
    return offset_m, np.where(can_enter_from_v(net, edge, offset_m), from_v, np.inf)


def entry_costs(net: StreetNetwork, places: Snap) -> tuple[FloatArray, FloatArray]:
    """Metres to each place from its edge's ``u`` end and from its ``v`` end, access leg included.

    ``inf`` where the ``v`` end may not enter. On a loop (``u == v``) both ends are one node:
    the ``u`` cost is the shorter way round and the ``v`` cost is ``inf``, so a search that
    keeps one entry per (node, place) starts from the same costs as :func:`entries` lists.
    """
    edge = places.edge
    from_u, from_v = enter_costs(net, edge, places.offset_m)
    at_u, at_v = from_u + places.access_m, from_v + places.access_m
    loop = net.edge_u[edge] == net.edge_v[edge]
    return np.where(loop, np.minimum(at_u, at_v), at_u), np.where(loop, np.inf, at_v)


def along(net: StreetNetwork, edge: IntArray, from_m: FloatArray, to_m: FloatArray) -> FloatArray:
    """Metres straight along ``edge`` from ``from_m`` to ``to_m`` (``inf``: back on a one-way)."""
    ahead = to_m - from_m
    allowed = (ahead >= -AT_NODE_M) | ~net.edge_oneway[edge]
    return np.where(allowed, np.abs(ahead), np.inf)


def from_nodes(
    net: StreetNetwork, edge: IntArray, offset_m: FloatArray, du: FloatArray, dv: FloatArray
) -> FloatArray:
    """Distances to positions, given the distances ``du`` and ``dv`` to their edge's ends."""
    enter_u, enter_v = enter_costs(net, edge, offset_m)
    return np.minimum(du + enter_u, dv + enter_v)


def to_nodes(
    net: StreetNetwork, edge: IntArray, offset_m: FloatArray, du: FloatArray, dv: FloatArray
) -> FloatArray:
    """Distances from positions, given the distances ``du`` and ``dv`` from their edge's ends."""
    leave_u, leave_v = leave_costs(net, edge, offset_m)
    return np.minimum(leave_u + du, leave_v + dv)


def entered_stretches(
    net: StreetNetwork, edge: IntArray | slice, du: FloatArray, dv: FloatArray, budget: float
) -> tuple[FloatArray, FloatArray]:
    """Metres of each edge walked in within ``budget``, from its ``u`` end and from its ``v`` end.

    ``du`` and ``dv`` are the distances to the ends; a one-way edge is walked in from ``u``
    only. The stretches may overlap or run past the edge's length.
    """
    from_u = np.clip(budget - du, 0, None)
    return from_u, np.where(net.edge_oneway[edge], 0.0, np.clip(budget - dv, 0, None))


def leaving_stretches(
    net: StreetNetwork, edge: IntArray | slice, du: FloatArray, dv: FloatArray, budget: float
) -> tuple[FloatArray, FloatArray]:
    """Metres of each edge, next to its ``u`` and its ``v`` end, left by that end within ``budget``.

    ``du`` and ``dv`` are the distances from the ends; a one-way edge is left by ``v`` only.
    """
    to_u = np.where(net.edge_oneway[edge], 0.0, np.clip(budget - du, 0, None))
    return to_u, np.clip(budget - dv, 0, None)


def along_stretch(
    net: StreetNetwork, edge: IntArray, offset_m: FloatArray, budget: FloatArray, towards: bool
) -> tuple[FloatArray, FloatArray]:
    """The stretch of each edge within ``budget`` straight along it of a position.

    Walking from the position (``towards=False``) or to it (``towards=True``): on a one-way
    edge only the stretch ahead of it, or behind it. Not clipped to the edge.
    """
    back = np.where(net.edge_oneway[edge], 0.0, budget)
    if towards:
        return offset_m - budget, offset_m + back
    return offset_m - back, offset_m + budget


def entries(net: StreetNetwork, places: Snap) -> tuple[IntArray, FloatArray]:
    """Where a search walking *to* ``places`` starts: end nodes and the cost from each.

    Each place is entered from its edge's ``u`` end, and from ``v`` where allowed; the cost
    includes the place's access leg. A node may be listed more than once.
    """
    edge, off = places.edge, places.offset_m
    back = can_enter_from_v(net, edge, off)
    nodes = np.concatenate([net.edge_u[edge], net.edge_v[edge][back]]).astype(np.int32)
    length = net.edge_length[edge]
    costs = np.concatenate([off + places.access_m, (length - off + places.access_m)[back]])
    return nodes, costs


class EdgeGroups:
    """Positions grouped by edge, for "every position on these edges" look-ups.

    Parameters
    ----------
    edge
        The edge of each position.
    """

    def __init__(self, edge: IntArray) -> None:
        self.order: Index = np.argsort(edge, kind="stable").astype(np.int64)
        self.edge = edge[self.order]

    def pairs(self, edges: IntArray) -> tuple[Index, Index]:
        """Every ``(i, j)`` with position ``j`` of the group on ``edges[i]``, ``i`` ascending."""
        lo = np.searchsorted(self.edge, edges, side="left")
        hi = np.searchsorted(self.edge, edges, side="right")
        count = hi - lo
        total = int(count.sum())
        i = np.repeat(np.arange(len(edges), dtype=np.int64), count)
        shift = np.repeat(lo - np.cumsum(count) + count, count)
        return i, self.order[np.arange(total, dtype=np.int64) + shift]


def same_edge_nearest(net: StreetNetwork, points: Snap, places: Snap) -> FloatArray:
    """Metres from each point straight along its edge to the nearest place on it.

    The places' access legs are included, the points' are not; ``inf`` where no place
    shares the point's edge or every one lies behind it on a one-way edge.
    """
    out = np.full(len(points), np.inf)
    if len(places) == 0:
        return out
    point, place = EdgeGroups(places.edge).pairs(points.edge)
    if len(point) == 0:
        return out
    e = points.edge[point]
    cost = along(net, e, points.offset_m[point], places.offset_m[place]) + places.access_m[place]
    np.minimum.at(out, point, cost)
    return out
