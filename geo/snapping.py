"""Nearest street segment for many points at once, without a tree walk per point.

Every edge's polyline is cut into straight segments, and each segment is listed in the cells
of a square grid that its bounding box touches. A point's candidates are the segments listed
in the ``(2r + 1)²`` cells around its own: every segment within ``r`` cell widths of the point
is among them, so the nearest candidate is *certain* once it lies within that distance.
Points not yet certain look again with a wider ring, up to the snapping distance. Everything
is NumPy over all points (in chunks), no Python loop per point.

A point with two segments of different edges (or two far apart on one edge) within
:data:`TIE_M` of its best distance is a tie: :class:`SegmentIndex` reports it, and the caller
settles it as GEOS does (``STRtree.query_nearest``), so ties keep the rule they always had.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from livingcircle.geo.jit import AVAILABLE, compiled

FloatArray = NDArray[np.float64]
Index = NDArray[np.int64]

#: Candidates this close (metres) to a point's best distance make it a tie (GEOS decides).
TIE_M = 1e-6
#: Metres a cell's bounds may be off by rounding (far above it, far below any snapping gap).
CELL_SLACK_M = 1e-3
#: Points handled together (their candidate pairs are held at once).
CHUNK = 65_536
#: Most grid cells an index holds (its cell table is 8 bytes a cell).
MAX_CELLS = 16_000_000


@compiled
def _cell_lists(i0: Index, i1: Index, width: int, n_cells: int) -> tuple[Index, Index]:
    """:meth:`SegmentIndex._cells` by counting sort (compiled): no sort of the pairs."""
    ptr = np.zeros(n_cells + 1, np.int64)
    for s in range(len(i0)):
        for iy in range(i0[s, 1], i1[s, 1] + 1):
            for ix in range(i0[s, 0], i1[s, 0] + 1):
                ptr[iy * width + ix + 1] += 1
    ptr = np.cumsum(ptr)
    fill = ptr[:-1].copy()
    seg = np.empty(ptr[-1], np.int64)
    for s in range(len(i0)):
        for iy in range(i0[s, 1], i1[s, 1] + 1):
            for ix in range(i0[s, 0], i1[s, 0] + 1):
                key = iy * width + ix
                seg[fill[key]] = s
                fill[key] += 1
    return ptr, seg


@compiled
def _segment_distance(
    px: float, py: float, ax: float, ay: float, bx: float, by: float, len2: float
) -> tuple[float, float]:
    """Distance from a point to a segment as GEOS computes it, and the fraction along it."""
    dx, dy = bx - ax, by - ay
    qx, qy = px - ax, py - ay
    r = (qx * dx + qy * dy) / len2 if len2 > 0 else 0.0
    if r <= 0:
        return np.hypot(qx, qy), 0.0
    if r >= 1:
        return np.hypot(px - bx, py - by), 1.0
    return abs((qy * dx - qx * dy) / len2) * np.sqrt(len2), r


@compiled
def _cell_gap(
    px: float, py: float, ix: int, iy: int, origin: FloatArray, cell: float, grid: tuple[Any, ...]
) -> float:
    """A lower bound of the distance from a point to anything listed in cell (ix, iy).

    A segment is listed in every cell its bounding box touches, so the one nearest a point
    is listed in the cell where its nearest point lies: a cell farther than a distance holds
    nothing nearer (the border cells reach to infinity: points and boxes are clipped into
    them). :data:`CELL_SLACK_M` covers the rounding of the cell's edges.
    """
    width, height = grid[4], grid[5]
    x0 = origin[0] + ix * cell
    y0 = origin[1] + iy * cell
    gx = max(x0 - px if ix > 0 else 0.0, px - (x0 + cell) if ix < width - 1 else 0.0, 0.0)
    gy = max(y0 - py if iy > 0 else 0.0, py - (y0 + cell) if iy < height - 1 else 0.0, 0.0)
    return float(np.hypot(gx, gy)) - CELL_SLACK_M


@compiled
def _scan(
    px: float,
    py: float,
    cx: int,
    cy: int,
    ring: int,
    origin: FloatArray,
    cell: float,
    grid: tuple[Any, ...],
    best: tuple[float, int, float],
) -> tuple[float, int, float]:
    """The nearest of the segments in the cells exactly ``ring`` around (``cx``, ``cy``).

    ``best`` is the best so far; a cell farther than it is passed over (:func:`_cell_gap`).
    """
    ptr, cell_seg, seg_xy, len2, width, height = grid
    d1, s1, f1 = best
    for iy in range(max(cy - ring, 0), min(cy + ring, height - 1) + 1):
        edge_row = iy in (cy - ring, cy + ring)
        step = 1 if edge_row else 2 * ring
        for ix in range(cx - ring, cx + ring + 1, max(step, 1)):
            if ix < 0 or ix >= width or _cell_gap(px, py, ix, iy, origin, cell, grid) > d1:
                continue
            key = iy * width + ix
            for j in range(ptr[key], ptr[key + 1]):
                sg = cell_seg[j]
                d, f = _segment_distance(
                    px, py, seg_xy[sg, 0], seg_xy[sg, 1], seg_xy[sg, 2], seg_xy[sg, 3], len2[sg]
                )
                if d < d1:
                    d1, s1, f1 = d, sg, f
    return d1, s1, f1


@compiled
def _nearest_all(
    p: FloatArray,
    origin: FloatArray,
    cell: float,
    grid: tuple[Any, ...],
    edge_of: Index,
    along0: FloatArray,
    length: FloatArray,
    max_distance_m: float,
) -> tuple[Index, FloatArray, FloatArray, NDArray[np.bool_]]:
    """:meth:`SegmentIndex.nearest`, one point at a time (compiled)."""
    ptr, cell_seg, seg_xy, len2, width, height = grid
    n = len(p)
    seg, dist, frac = np.full(n, -1, np.int64), np.full(n, np.inf), np.zeros(n)
    tie = np.zeros(n, np.bool_)
    for i in range(n):
        px, py = p[i, 0], p[i, 1]
        cx = min(max(int(np.floor((px - origin[0]) / cell)), 0), width - 1)
        cy = min(max(int(np.floor((py - origin[1]) / cell)), 0), height - 1)
        best = (np.inf, -1, 0.0)
        ring = 0
        while True:  # shell by shell until the best is certain
            best = _scan(px, py, cx, cy, ring, origin, cell, grid, best)
            if best[0] + TIE_M <= ring * cell or ring * cell >= max_distance_m + TIE_M:
                break
            ring += 1
        d1, s1, f1 = best
        if s1 < 0:
            continue
        seg[i], dist[i], frac[i] = s1, d1, f1
        a1 = along0[s1] + f1 * length[s1]
        tied = abs(d1 - max_distance_m) <= TIE_M
        for iy in range(max(cy - ring, 0), min(cy + ring, height - 1) + 1):  # any tie?
            for ix in range(max(cx - ring, 0), min(cx + ring, width - 1) + 1):
                if _cell_gap(px, py, ix, iy, origin, cell, grid) > d1 + TIE_M:
                    continue  # nothing there is near enough to tie
                key = iy * width + ix
                for j in range(ptr[key], ptr[key + 1]):
                    sg = cell_seg[j]
                    d, f = _segment_distance(
                        px,
                        py,
                        seg_xy[sg, 0],
                        seg_xy[sg, 1],
                        seg_xy[sg, 2],
                        seg_xy[sg, 3],
                        len2[sg],
                    )
                    if d <= d1 + TIE_M and (
                        edge_of[sg] != edge_of[s1] or abs(along0[sg] + f * length[sg] - a1) > TIE_M
                    ):
                        tied = True
        tie[i] = tied
    return seg, dist, frac, tie


class SegmentIndex:
    """Straight segments of every edge, listed by the grid cells their bounding boxes touch.

    Parameters
    ----------
    xy
        (V, 2) vertex coordinates of all edges, one edge after another.
    ptr
        ``xy[ptr[e]:ptr[e+1]]`` are edge ``e``'s vertices (at least two).
    cell_m
        Grid cell width; default: about one segment per cell (10 to 200 m), widened if the
        grid would exceed :data:`MAX_CELLS`.
    """

    def __init__(self, xy: FloatArray, ptr: Index, cell_m: float | None = None) -> None:
        n_edges = len(ptr) - 1
        owner = np.repeat(np.arange(n_edges, dtype=np.int64), np.diff(ptr))
        starts = np.ones(len(xy), dtype=bool)
        starts[ptr[1:] - 1] = False  # an edge's last vertex starts no segment
        first = np.flatnonzero(starts)
        self.edge = owner[first]
        self.a, self.b = xy[first], xy[first + 1]
        self.seg_xy = np.ascontiguousarray(np.hstack([self.a, self.b]))
        d = self.b - self.a
        self.len2 = d[:, 0] ** 2 + d[:, 1] ** 2
        self.length = np.sqrt(self.len2)
        before = np.concatenate([[0.0], np.cumsum(self.length)])
        first_seg = ptr[:-1] - np.arange(n_edges)  # segments before each edge's first
        #: metres along the edge's geometry where each segment starts
        self.along0 = before[:-1] - before[first_seg][self.edge]
        lo = np.minimum(self.a, self.b)
        hi = np.maximum(self.a, self.b)
        self.origin = lo.min(axis=0) if len(lo) else np.zeros(2)
        span = (hi.max(axis=0) - self.origin) if len(hi) else np.ones(2)
        area = float(np.prod(np.maximum(span, 1.0)))
        cell = cell_m or float(np.clip(np.sqrt(area / max(len(first), 1)), 10.0, 200.0))
        self.cell = max(cell, np.sqrt(area / MAX_CELLS))
        self.shape = (np.floor(span / self.cell).astype(np.int64) + 1).tolist()
        self.ptr, self.cell_seg = self._cells(lo, hi)

    def _cells(self, lo: FloatArray, hi: FloatArray) -> tuple[Index, Index]:
        """CSR from cell (``iy * width + ix``) to the segments whose boxes touch it."""
        i0, i1 = self._cell_of(lo), self._cell_of(hi)
        if AVAILABLE:
            return _cell_lists(i0, i1, self.shape[0], self.shape[0] * self.shape[1])
        nx, ny = i1[:, 0] - i0[:, 0] + 1, i1[:, 1] - i0[:, 1] + 1
        count = nx * ny
        seg = np.repeat(np.arange(len(lo), dtype=np.int64), count)
        k = np.arange(len(seg), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
        ix = i0[seg, 0] + k % nx[seg]
        iy = i0[seg, 1] + k // nx[seg]
        key = iy * self.shape[0] + ix
        order = np.argsort(key, kind="stable")
        ptr = np.zeros(self.shape[0] * self.shape[1] + 1, dtype=np.int64)
        np.cumsum(np.bincount(key, minlength=len(ptr) - 1), out=ptr[1:])
        return ptr, seg[order]

    def _cell_of(self, xy: FloatArray) -> Index:
        """(n, 2) cell column and row of points, clipped to the grid."""
        i = np.floor((xy - self.origin) / self.cell)
        cells: Index = np.clip(i, 0, np.asarray(self.shape) - 1).astype(np.int64)
        return cells

    def _distances(self, p: FloatArray, seg: Index) -> tuple[FloatArray, FloatArray]:
        """Distance from points ``p`` (n, 2) to segments ``seg`` (n), and the fraction along.

        The distance is computed as GEOS computes it (``Distance::pointToSegment``).
        """
        a, b, len2 = self.a[seg], self.b[seg], self.len2[seg]
        dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
        px, py = p[:, 0] - a[:, 0], p[:, 1] - a[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(len2 > 0, (px * dx + py * dy) / len2, 0.0)
            s = (py * dx - px * dy) / len2
        to_a = np.hypot(px, py)
        to_b = np.hypot(p[:, 0] - b[:, 0], p[:, 1] - b[:, 1])
        dist = np.where(r <= 0, to_a, np.where(r >= 1, to_b, np.abs(s) * np.sqrt(len2)))
        return dist, np.clip(r, 0.0, 1.0)

    def nearest(
        self, p: FloatArray, max_distance_m: float
    ) -> tuple[Index, FloatArray, FloatArray, NDArray[np.bool_]]:
        """Each point's nearest segment within ``max_distance_m`` (-1 if none).

        Returns ``(segment, distance, fraction along the segment, tie)``; where ``tie`` is
        set the segment is one of several equally near and the caller must settle it.
        """
        if len(self.edge) == 0:
            n = len(p)
            return np.full(n, -1, np.int64), np.full(n, np.inf), np.zeros(n), np.zeros(n, bool)
        if AVAILABLE:
            grid = (self.ptr, self.cell_seg, self.seg_xy, self.len2, *self.shape)
            cell = self._cell_of(p)  # in cell order, a point's candidates are in cache
            order = np.argsort(cell[:, 1] * self.shape[0] + cell[:, 0])
            got = _nearest_all(
                np.ascontiguousarray(p[order], dtype=np.float64),
                self.origin,
                self.cell,
                grid,
                self.edge,
                self.along0,
                self.length,
                float(max_distance_m),
            )
            out = _unsort(got, order)
        else:
            out = self.nearest_numpy(p, max_distance_m)
        seg, dist, _, tie = out
        far = dist > max_distance_m
        seg[far], tie[far] = -1, tie[far] & (dist[far] <= max_distance_m + TIE_M)
        return out

    def nearest_numpy(
        self, p: FloatArray, max_distance_m: float
    ) -> tuple[Index, FloatArray, FloatArray, NDArray[np.bool_]]:
        """:meth:`nearest` in NumPy alone (where Numba is missing), before the range cut."""
        n = len(p)
        out = (np.full(n, -1, dtype=np.int64), np.full(n, np.inf), np.zeros(n), np.zeros(n, bool))
        for lo in range(0, n, CHUNK):  # bounded temporaries
            todo = np.arange(lo, min(lo + CHUNK, n), dtype=np.int64)
            ring = 1
            while len(todo):
                todo = self._look(p, todo, ring, max_distance_m, out)
                ring *= 2
        return out

    def _candidates(self, p: FloatArray, ring: int) -> tuple[Index, Index]:
        """Segments listed within ``ring`` cells of each point: ``(point, segment)`` pairs.

        The pairs are grouped by point, in point order.
        """
        cell = self._cell_of(p)
        steps = np.arange(-ring, ring + 1)
        cx = cell[:, :1] + np.repeat(steps, len(steps))  # (n, (2 ring + 1)²)
        cy = cell[:, 1:] + np.tile(steps, len(steps))
        inside = (cx >= 0) & (cx < self.shape[0]) & (cy >= 0) & (cy < self.shape[1])
        key = np.where(inside, cy * self.shape[0] + cx, 0).ravel()
        count = np.where(inside.ravel(), self.ptr[key + 1] - self.ptr[key], 0)
        point = np.repeat(np.arange(len(p), dtype=np.int64), count.reshape(len(p), -1).sum(1))
        start = np.repeat(self.ptr[key] - np.cumsum(count) + count, count)
        return point, self.cell_seg[np.arange(len(start), dtype=np.int64) + start]

    def _look(
        self,
        p: FloatArray,
        todo: Index,
        ring: int,
        max_distance_m: float,
        out: tuple[Index, FloatArray, FloatArray, NDArray[np.bool_]],
    ) -> Index:
        """Candidates of points ``todo`` within ``ring`` cells; write the certain ones.

        A point is certain when its best candidate lies within the ring's reach, or when the
        ring reaches past ``max_distance_m`` (then no candidate may mean no edge in range).
        Returns the points not yet certain.
        """
        point, seg = self._candidates(p[todo], ring)
        d, f = self._distances(p[todo][point], seg)
        per = np.bincount(point, minlength=len(todo))
        got = per > 0
        opens = (np.cumsum(per) - per)[got]
        d1 = np.full(len(todo), np.inf)
        if len(d):
            d1[got] = np.minimum.reduceat(d, opens)
        best = np.flatnonzero(d == d1[point])
        best = best[np.concatenate([[True], point[best][1:] != point[best][:-1]])]
        pick = np.zeros(len(todo), dtype=np.int64)
        pick[point[best]] = best  # the first of each point's best candidates
        along = self.along0[seg] + f * self.length[seg]
        b = pick[point]
        other = (d <= d1[point] + TIE_M) & (
            (self.edge[seg] != self.edge[seg[b]]) | (np.abs(along - along[b]) > TIE_M)
        )
        tie = np.zeros(len(todo), dtype=bool)
        if len(d):
            tie[got] = np.logical_or.reduceat(other, opens)
        reach = ring * self.cell
        sure = (got & (d1 + TIE_M <= reach)) | (reach >= max_distance_m + TIE_M)
        done, pk = todo[sure & got], pick[sure & got]
        seg_out, dist_out, frac_out, tie_out = out
        seg_out[done], dist_out[done], frac_out[done] = seg[pk], d[pk], f[pk]
        tie_out[done] = tie[sure & got] | (np.abs(d[pk] - max_distance_m) <= TIE_M)
        left: Index = todo[~sure]
        return left


def _unsort(
    got: tuple[Index, FloatArray, FloatArray, NDArray[np.bool_]], order: NDArray[np.intp]
) -> tuple[Index, FloatArray, FloatArray, NDArray[np.bool_]]:
    """Results computed for ``p[order]``, back in the order of ``p``."""
    seg, dist = np.empty_like(got[0]), np.empty_like(got[1])
    frac, tie = np.empty_like(got[2]), np.empty_like(got[3])
    seg[order], dist[order], frac[order], tie[order] = got
    return seg, dist, frac, tie
