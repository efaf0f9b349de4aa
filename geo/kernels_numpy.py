"""The NumPy/SciPy k-nearest-and-counts step: from the pairs of a tiled bounded search.

The fallback of :mod:`livingcircle.geo.kernels` where Numba cannot be imported, and the step
the scenario uses on its few changed homes: every (place, point) pair within the horizon from
:meth:`livingcircle.geo.reach.ReachGraph.pairs_within` is kept as one sortable 64-bit key,
sorted per category, and read off as the k smallest per point and the counts per limit.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from livingcircle.geo.network import FloatArray
from livingcircle.geo.reach import PairChunk

#: Per category slot the ``(points, k)`` k smallest distances (float32, rounded up), and the
#: ``(points, slots, limits)`` counts within each limit: what both passes of the step return.
KAndCounts = tuple[list[NDArray[np.float32]], NDArray[np.int32]]


def k_and_counts_from_pairs(
    chunks: Iterable[PairChunk],
    place_slot: NDArray[np.int64],
    n_slots: int,
    n_points: int,
    k: int,
    limits: FloatArray,
) -> KAndCounts:
    """Per category slot: the k smallest distances per point; and counts within each limit.

    ``within`` is ``(points, slots, limits)``. Pairs are kept as one sortable 64-bit key each:
    the point in the high half, the distance as float32 bits in the low half (non-negative
    floats sort as their bit patterns). The float32 is rounded *up* from the exact distance,
    so it is within a limit exactly when the exact distance is (for limits a float32 holds,
    as whole metres do), and a reported walk is never shorter than the true one.
    """
    keys: list[list[NDArray[np.uint64]]] = [[] for _ in range(n_slots)]
    for ch in chunks:
        slot = place_slot[ch.place]
        key = (ch.point.astype(np.uint64) << np.uint64(32)) | ceil32_bits(ch.dist_m)
        order = np.argsort(slot, kind="stable")
        bounds = np.searchsorted(slot[order], np.arange(n_slots + 1))
        for j in np.flatnonzero(np.diff(bounds)).tolist():
            keys[j].append(key[order[bounds[j] : bounds[j + 1]]])
    within = np.zeros((n_points, n_slots, len(limits)), dtype=np.int32)
    best = []
    for j, part in enumerate(keys):
        best.append(_k_smallest(part, n_points, k, limits, within[:, j, :]))
        part.clear()  # free as we go
    return best, within


def ceil32_bits(dist: FloatArray) -> NDArray[np.uint64]:
    """Bits of the smallest float32 not below each (non-negative) distance."""
    low = dist.astype(np.float32)
    low = np.where(low < dist, np.nextafter(low, np.float32(np.inf)), low)
    return low.view(np.uint32).astype(np.uint64)


def _k_smallest(
    parts: list[NDArray[np.uint64]],
    n_points: int,
    k: int,
    limits: FloatArray,
    within: NDArray[np.int32],
) -> NDArray[np.float32]:
    """``(points, k)`` smallest distances from (point, distance) keys (``inf`` fills).

    Also writes the counts within each limit into ``within`` (points x limits).
    """
    best = np.full((n_points, k), np.inf, dtype=np.float32)
    if not parts:
        return best
    key = np.concatenate(parts)
    key.sort()
    point = (key >> np.uint64(32)).astype(np.int64)
    dist = (key & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32)
    del key
    for i, limit in enumerate(limits):
        within[:, i] = np.bincount(point[dist <= np.float32(limit)], minlength=n_points)
    start = np.ones(len(point), dtype=bool)
    start[1:] = point[1:] != point[:-1]
    rank = np.arange(len(point)) - np.maximum.accumulate(np.where(start, np.arange(len(point)), 0))
    keep = rank < k
    best[point[keep], rank[keep]] = dist[keep]
    return best
