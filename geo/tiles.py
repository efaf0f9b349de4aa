"""Tiles with halos: cutting a region into pieces that one worker each can analyse exactly.

A region is split by a k-d tree over its street nodes and homes (:func:`split_boxes`): a box
is halved at the median of its longer side until it holds at most ``max_points``, so tiles
are small where the city is dense and large where it is not. The boxes partition the plane,
so every home and every facility lies in exactly one tile's *core*.

Each tile is analysed on its core plus a *halo*: every street node within straight-line
distance :func:`halo_m` of the core's homes, every edge touching one of them, and every
facility on those edges. A walk of network length ``d`` from a home never leaves the disc of
radius ``d`` around it (straight lines are never longer than streets, up to the projection's
scale factor, which :data:`HALO_SLACK` covers), so every answer within the *horizon* (the
longest walk asked, at the fastest profile, and the longest service radius) is found on the
tile's subgraph exactly as on the whole network. Farther answers are not: a tile reports them
as "beyond the horizon", never as a time.

Everything here is pure NumPy over :class:`~livingcircle.geo.network.StreetNetwork` arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.network import FloatArray, IntArray, StreetNetwork
from livingcircle.geo.routing import Snap

#: Straight lines in the projected CRS may be a little longer than the street lengths (the
#: UTM scale factor, under 0.1 %; great-circle lengths of generated cities, under 0.5 %):
#: the halo is widened by this factor, ten times what the engine's searches use.
HALO_SLACK = 1.01
#: Metres added to the widened halo.
HALO_PAD_M = 25.0
#: Street nodes plus homes per tile core, by default.
DEFAULT_MAX_POINTS = 20_000
#: A tile whose subgraph (core and halo) holds more nodes than this is split again; one that
#: cannot be split further is refused (a worker would need more memory than planned).
DEFAULT_MAX_SUBGRAPH_NODES = 400_000

Box = tuple[float, float, float, float]
IndexArray = NDArray[np.intp]


@dataclass(frozen=True)
class Tile:
    """One tile: its core box and the subgraph it is analysed on.

    Attributes
    ----------
    index
        Position in the plan, 0-based; stable for the same inputs.
    box
        The core, ``(xmin, ymin, xmax, ymax)`` half-open (outer sides are infinite).
    nodes
        Node ids of the subgraph (core and halo), ascending, in the whole network's ids.
    edges
        Edge ids of the subgraph, ascending.
    core_nodes
        How many of ``nodes`` lie in the core box.
    homes
        Indices of the homes whose snapped position lies in the core.
    facilities
        Indices of the facilities on the subgraph's edges (each home's answers come from
        these).
    owned
        Indices of the facilities whose snapped position lies in the core: each facility is
        owned by exactly one tile, so facility-side summaries count it once.
    """

    index: int
    box: Box
    nodes: IntArray
    edges: IntArray
    core_nodes: int
    homes: IndexArray
    facilities: IndexArray
    owned: IndexArray

    @property
    def halo_nodes(self) -> int:
        """Subgraph nodes outside the core."""
        return len(self.nodes) - self.core_nodes


@dataclass(frozen=True)
class TilePlan:
    """A region's tiles and the horizon their halos were cut for.

    ``horizon_m`` is the longest walk (access legs included) answered exactly; ``halo_m`` the
    straight-line width of the halo around each core's homes.
    """

    tiles: list[Tile]
    horizon_m: float
    halo_m: float

    @property
    def halo_overhead(self) -> float:
        """Halo nodes over core nodes, summed over tiles (0 means no overlap)."""
        core = sum(t.core_nodes for t in self.tiles)
        return sum(t.halo_nodes for t in self.tiles) / core if core else 0.0

    def summary(self) -> dict[str, float]:
        """Tiles, nodes and the halo overhead, for a report line."""
        sizes = [len(t.nodes) for t in self.tiles] or [0]
        return {
            "tiles": float(len(self.tiles)),
            "horizon_m": self.horizon_m,
            "halo_m": self.halo_m,
            "largest_subgraph_nodes": float(max(sizes)),
            "halo_overhead": self.halo_overhead,
        }


def horizon_m(
    minutes: Sequence[int], speeds_m_s: Sequence[float], radii_m: Sequence[float] = ()
) -> float:
    """The longest walk a run must answer exactly, metres.

    The longest of ``minutes`` at the fastest of ``speeds_m_s``, or the longest service
    radius (compliance compares the nearest facility with it), whichever is longer.
    """
    if not minutes or not speeds_m_s:
        raise InvalidParameter("a horizon needs at least one minutes value and one speed")
    walk = max(minutes) * 60.0 * max(speeds_m_s)
    return float(max([walk, *radii_m]))


def halo_m(horizon: float) -> float:
    """Straight-line halo width that keeps every walk of up to ``horizon`` metres inside."""
    return horizon * HALO_SLACK + HALO_PAD_M


def split_boxes(points: FloatArray, max_points: int) -> list[tuple[Box, IndexArray]]:
    """A k-d split of (n, 2) points into boxes of at most ``max_points`` each.

    Each box is halved at the median of its points' longer side. Returns the boxes, in a
    stable depth-first order, with the indices of the points in each; the boxes partition
    the plane (outer sides are infinite), a point lies in the box whose
    ``xmin <= x < xmax`` and ``ymin <= y < ymax``.
    """
    if max_points < 1:
        raise InvalidParameter(f"max_points must be at least 1, got {max_points}")
    inf = float("inf")
    stack: list[tuple[Box, IndexArray]] = [((-inf, -inf, inf, inf), np.arange(len(points)))]
    out: list[tuple[Box, IndexArray]] = []
    while stack:
        box, idx = stack.pop()
        halves = _halve(points, box, idx) if len(idx) > max_points else None
        if halves is None:
            out.append((box, idx))
        else:
            stack.extend(reversed(halves))
    return out


def _halve(
    points: FloatArray, box: Box, idx: IndexArray
) -> tuple[tuple[Box, IndexArray], tuple[Box, IndexArray]] | None:
    """The two halves of a box at its points' median, or None if they cannot be told apart."""
    xy = points[idx]
    spans = xy.max(axis=0) - xy.min(axis=0)
    axis = int(np.argmax(spans))
    values = xy[:, axis]
    cut = float(np.partition(values, len(values) // 2)[len(values) // 2])
    low = values < cut
    if not low.any():  # the median is the smallest value: cut above it instead
        above = values[values > cut]
        if not len(above):
            return None  # every point at the same place
        cut = float(above.min())
        low = values < cut
    xmin, ymin, xmax, ymax = box
    lo_box = (xmin, ymin, cut, ymax) if axis == 0 else (xmin, ymin, xmax, cut)
    hi_box = (cut, ymin, xmax, ymax) if axis == 0 else (xmin, cut, xmax, ymax)
    return (lo_box, idx[low]), (hi_box, idx[~low])


def in_box(xy: FloatArray, box: Box) -> NDArray[np.bool_]:
    """Which (n, 2) points lie in a half-open box."""
    xmin, ymin, xmax, ymax = box
    x, y = xy[:, 0], xy[:, 1]
    return np.asarray((x >= xmin) & (x < xmax) & (y >= ymin) & (y < ymax), dtype=np.bool_)


def plan_tiles(
    net: StreetNetwork,
    homes: Snap,
    facilities: Snap,
    horizon: float,
    max_points: int = DEFAULT_MAX_POINTS,
    max_subgraph_nodes: int = DEFAULT_MAX_SUBGRAPH_NODES,
) -> TilePlan:
    """Tiles of a region, sized by its density, each with the halo ``horizon`` needs.

    Parameters
    ----------
    net
        The region's street network.
    homes, facilities
        Snapped homes and facilities (every one snapped: ``edge >= 0``).
    horizon
        Longest walk to answer exactly, metres (:func:`horizon_m`).
    max_points
        Street nodes plus homes per core at most.
    max_subgraph_nodes
        A tile whose core and halo hold more nodes is split again; if it cannot be split
        (a single box's halo is that large) the plan is refused.

    Raises
    ------
    InvalidParameter
        A tile's subgraph would exceed ``max_subgraph_nodes`` and cannot be split further.
    """
    if (homes.edge < 0).any() or (facilities.edge < 0).any():
        raise InvalidParameter("every home and facility must be snapped before tiling")
    width = halo_m(horizon)
    points = np.concatenate([net.node_xy, homes.xy])
    leaves = split_boxes(points, max_points)
    tiles: list[Tile] = []
    pending = [box for box, _ in leaves]
    while pending:
        box = pending.pop(0)
        tile = _tile(net, homes, facilities, box, width, len(tiles))
        if len(tile.nodes) <= max_subgraph_nodes:
            if len(tile.homes) or len(tile.owned):
                tiles.append(tile)
            continue
        pending[:0] = _split_again(points, box, tile, max_subgraph_nodes)
    return TilePlan(tiles, float(horizon), width)


def _split_again(points: FloatArray, box: Box, tile: Tile, limit: int) -> list[Box]:
    idx = np.flatnonzero(in_box(points, box))
    halves = _halve(points, box, idx) if len(idx) > 1 else None
    if halves is None:
        raise InvalidParameter(
            f"tile {tile.index} needs {len(tile.nodes):,} street nodes with its halo, more "
            f"than the limit of {limit:,}; give workers more memory and raise the limit, or "
            "analyse a shorter horizon"
        )
    return [halves[0][0], halves[1][0]]


def _tile(
    net: StreetNetwork, homes: Snap, facilities: Snap, box: Box, width: float, index: int
) -> Tile:
    core_homes = np.flatnonzero(in_box(homes.xy, box))
    nodes, edges = halo_subgraph(net, homes.xy[core_homes], homes.edge[core_homes], width)
    core = int(in_box(net.node_xy[nodes], box).sum())
    on_edges = np.flatnonzero(np.isin(facilities.edge, edges))
    owned = np.flatnonzero(in_box(facilities.xy, box))
    return Tile(index, box, nodes, edges, core, core_homes, on_edges, owned)


def halo_subgraph(
    net: StreetNetwork, xy: FloatArray, home_edges: IntArray, width: float
) -> tuple[IntArray, IntArray]:
    """Nodes and edges within ``width`` of points' bounding box, and the points' own edges.

    An edge is kept when either end lies within ``width`` (straight line) of the box, so every
    street a walk of up to ``width`` from a point can use is there; the nodes are the ends of
    the kept edges. Both arrays are ascending ids of the whole network.
    """
    if not len(xy):
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    lo, hi = xy.min(axis=0) - width, xy.max(axis=0) + width
    near = _nodes_near_box(net.node_xy, xy.min(axis=0), xy.max(axis=0), lo, hi, width)
    ptr, incident = net.incidence
    starts, stops = ptr[near], ptr[near + 1]
    counts = stops - starts
    picks = np.repeat(stops - np.cumsum(counts), counts) + np.arange(int(counts.sum()))
    edges = np.unique(np.concatenate([incident[picks], home_edges])).astype(np.int32)
    nodes = np.unique(np.concatenate([net.edge_u[edges], net.edge_v[edges]])).astype(np.int32)
    return nodes, edges


def _nodes_near_box(
    node_xy: FloatArray,
    box_lo: FloatArray,
    box_hi: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    width: float,
) -> IndexArray:
    """Nodes within straight-line ``width`` of the box ``box_lo``-``box_hi``."""
    inside = np.flatnonzero(
        (node_xy[:, 0] >= lo[0])
        & (node_xy[:, 0] <= hi[0])
        & (node_xy[:, 1] >= lo[1])
        & (node_xy[:, 1] <= hi[1])
    )
    xy = node_xy[inside]
    gap = np.maximum(np.maximum(box_lo - xy, xy - box_hi), 0.0)
    return inside[np.hypot(gap[:, 0], gap[:, 1]) <= width]


def subnetwork(net: StreetNetwork, tile: Tile) -> StreetNetwork:
    """The tile's subgraph as a network of its own (ids renumbered, order kept)."""
    return StreetNetwork(
        crs=net.crs,
        node_xy=net.node_xy[tile.nodes],
        edge_u=np.searchsorted(tile.nodes, net.edge_u[tile.edges]).astype(np.int32),
        edge_v=np.searchsorted(tile.nodes, net.edge_v[tile.edges]).astype(np.int32),
        edge_length=net.edge_length[tile.edges],
        edge_oneway=net.edge_oneway[tile.edges],
        edge_geom=net.edge_geom[tile.edges],
    )


def remap_snap(snap: Snap, edges: IntArray) -> Snap:
    """Snapped positions on the whole network, on a subgraph of ``edges`` (ascending ids).

    Raises
    ------
    InvalidParameter
        A position lies on an edge the subgraph lacks.
    """
    pos = np.searchsorted(edges, snap.edge)
    ok = (pos < len(edges)) & (edges[np.minimum(pos, len(edges) - 1)] == snap.edge)
    if len(snap) and (not len(edges) or not ok.all()):
        raise InvalidParameter("a snapped position lies on an edge outside the tile's subgraph")
    return Snap(pos.astype(np.int32), snap.offset_m, snap.access_m, snap.xy)


def tile_of(xy: FloatArray, tiles: Sequence[Tile]) -> NDArray[np.int64]:
    """The index of the tile whose core holds each point (-1 for none)."""
    out = np.full(len(xy), -1, dtype=np.int64)
    for tile in tiles:
        out[in_box(xy, tile.box)] = tile.index
    return out


__all__ = [
    "HALO_PAD_M",
    "HALO_SLACK",
    "Tile",
    "TilePlan",
    "halo_m",
    "halo_subgraph",
    "horizon_m",
    "plan_tiles",
    "remap_snap",
    "split_boxes",
    "subnetwork",
    "tile_of",
]
