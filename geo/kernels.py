"""The compiled kernel of the planner analysis (Numba): k nearest and counts in one pass.

:func:`k_and_counts` is one *multi-label* multi-source Dijkstra over the reversed CSR arrays
of :class:`livingcircle.geo.reach.ReachGraph`, for the facilities of every category at once:
a label is a (node, facility) pair, and labels wait in a bucket queue (Dial's: buckets of a
fraction of a metre across the horizon, so a step costs no heap's ``log n``), each expanded
again only if a shorter one is found later (rare: an arc shorter than a bucket). The
facilities are taken in tiles (short spatially sorted runs, whatever their category, so a
tile is as compact as the whole city's facilities make it), each tile one pass whose labels
sit in a small dense block (a row per node reached, a column per facility of the tile, and a
bit per label found). Once a tile's queue is empty, every home near it reads its distance to
each facility labelled at its edge's two ends (the better end, or straight along the edge to
a facility on it), and is counted within each limit and kept among its k nearest of that
facility's category. Nothing is stored per pair, so memory stays a few megabytes besides the
outputs whatever the city; the work is the number of (node, facility) labels within the
horizon, which is what any exact count must look at.

The nearest of each category is :func:`nearest_field`: one multi-source Dijkstra with a
bucket queue, entering each facility's end nodes at their costs. It gives SciPy's distances
bit for bit without building SciPy's graph with a virtual source per category, and is faster
than SciPy's Fibonacci heap on street graphs; SciPy's pass is the benchmark's floor.
The multi-label pass leaves each category's field exact within its horizon, so the nearest
pass starts where that ends: for a category with a facility within the horizon of most
homes, it has almost nothing left to do.

Numba (BSD-2-Clause) compiles the kernel on first use and caches the machine code on disk
(``cache=True``): the first call in a fresh environment costs a few seconds of compiling
(bench/bench_gaps.py prints it), later processes load it in well under a second. Where Numba
cannot be imported, :data:`AVAILABLE` is False and the analysis uses the NumPy/SciPy tiled
pass of :meth:`livingcircle.geo.reach.ReachGraph.pairs_within` instead, which gives the same
numbers (tests/geo/test_kernels.py runs both against networkx and against each other).
"""

from __future__ import annotations

import mmap
import sys
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from livingcircle.geo import jit, positions
from livingcircle.geo.config import MIN_ARC_M
from livingcircle.geo.network import FloatArray, StreetNetwork
from livingcircle.geo.positions import EdgeGroups, Snap

#: Whether the compiled kernels can run here (else the NumPy/SciPy passes are used).
AVAILABLE = jit.AVAILABLE
#: Facilities per tile of the multi-label pass: large enough that a tile's pass is not
#: dominated by its set-up, small enough that its label table stays in cache.
TILE_FACILITIES = 16

#: Metres per bucket of the nearest pass's queue.
BUCKET_M = 1.0
#: Queue entries per node the nearest pass starts with (it doubles when a pass needs more).
QUEUE_PER_NODE = 2

#: Reversed arcs as CSR, ``(ptr, head, weight)``: :attr:`~livingcircle.geo.reach.ReachGraph.arrays`.
Graph = tuple[NDArray[np.int64], NDArray[np.int32], FloatArray]


# -- the nearest: one multi-source pass ----------------------------------------------------


@jit.compiled
def _nearest_pass(  # noqa: PLR0912  (one loop: a call per label would cost more than it)
    graph: Graph,
    seeds: tuple[NDArray[np.int32], FloatArray],
    limit: float,
    dist: FloatArray,
    room: tuple[int, int],
) -> bool:
    """The multi-source pass, in place on ``dist``; False if its queue ran out of room.

    Dial's bucket queue: nodes wait in buckets of ``BUCKET_M`` metres kept in a ring of
    ``room[0]`` buckets (more than the longest arc or the spread of the first labels
    needs, so all that wait lie within one turn), taken nearest bucket first, and a node is
    expanded whenever it is taken at its current distance (label-correcting: an arc
    shorter than a bucket costs a second look, never a wrong sum). No heap: on a city of a
    million nodes a 4-ary heap's sifting cost twice the pass's own work.
    """
    ptr, head, weight = graph
    starts, costs = seeds
    ring, cap = room
    top = np.full(ring, -1, dtype=np.int64)
    qd, qv, qn = np.empty(cap), np.empty(cap, dtype=np.int32), np.empty(cap, dtype=np.int64)
    size, b = 0, np.iinfo(np.int64).max
    for u in range(len(ptr) - 1):  # the known next to unknown ones: the search goes on there
        if dist[u] < np.inf:
            for a in range(ptr[u], ptr[u + 1]):
                if dist[head[a]] == np.inf:
                    if size == cap:
                        return False
                    bucket = int(dist[u] / BUCKET_M)
                    qd[size], qv[size], qn[size] = dist[u], u, top[bucket % ring]
                    top[bucket % ring], size, b = size, size + 1, min(b, bucket)
                    break
    for i in range(len(starts)):
        u, c = starts[i], costs[i]
        if c <= limit and c < dist[u]:
            if size == cap:
                return False
            dist[u], bucket = c, int(c / BUCKET_M)
            qd[size], qv[size], qn[size] = c, u, top[bucket % ring]
            top[bucket % ring], size, b = size, size + 1, min(b, bucket)
    taken = 0
    while taken < size:
        e = top[b % ring]
        if e < 0:
            b += 1
            continue
        top[b % ring], taken = qn[e], taken + 1
        u, du = qv[e], qd[e]
        if du > dist[u]:  # a shorter label was found since
            continue
        for a in range(ptr[u], ptr[u + 1]):
            v, nd = head[a], du + weight[a]
            if nd < dist[v] and nd <= limit:
                if size == cap:
                    return False
                dist[v], bucket = nd, max(int(nd / BUCKET_M), b)
                qd[size], qv[size], qn[size] = nd, v, top[bucket % ring]
                top[bucket % ring], size = size, size + 1
    return True


def nearest_field(
    graph: Graph,
    starts: NDArray[np.int32],
    costs: FloatArray,
    limit: float,
    known: FloatArray | None = None,
) -> FloatArray:
    """Each node's distance to the nearest of ``starts``, entered at ``costs``, up to ``limit``.

    One multi-source Dijkstra over ``graph`` with a bucket queue; ``inf`` past the limit.

    ``starts`` are distinct nodes. The distances are the same sums, bit for bit, as SciPy's
    ``dijkstra`` from a virtual source with an arc of each cost to each start (the fallback of
    :meth:`livingcircle.geo.reach.ReachGraph.nearest`), without building that graph.

    ``known`` holds the field already found where it is finite (every node within some bound
    of the starts, such as :func:`k_and_counts` leaves within its horizon, ``inf`` elsewhere);
    it is filled in and returned. The search then starts from the known nodes next to
    unknown ones, and the known ones are final: it is the same field, and where ``known``
    covers most of the city, a small part of the pass. (A shortest path to an unknown node
    leaves the known ones at a last known node, and every path to it is at least its known
    distance: the sums come out the same.)
    """
    n = len(graph[0]) - 1
    if known is None:
        dist = np.full(n, np.inf)
    else:  # filled in where it is: the caller's array becomes the field
        dist = known
        dist[dist > limit] = np.inf
    costs = np.asarray(costs, dtype=np.float64)
    first = np.concatenate([costs[costs <= limit], dist[np.isfinite(dist)]])
    spread = float(first.max() - first.min()) if len(first) else 0.0
    far = float(graph[2].max()) if len(graph[2]) else 0.0
    ring = int(max(far, spread) / BUCKET_M) + 3
    cap = QUEUE_PER_NODE * n + len(starts) + 64
    before = dist.copy()
    while not _nearest_pass(graph, (starts, costs), float(limit), dist, (ring, cap)):
        dist[:], cap = before, 2 * cap  # out of room (arcs shorter than a bucket): again
    return dist


# -- k nearest and counts: one multi-label pass per tile of facilities -----------------------


#: A tile's bucket queue (Dial's): ``top[b]`` is the last entry offered in bucket ``b`` (-1:
#: none), and each entry's distance, label and the entry offered before it in its bucket.
Queue = tuple[NDArray[np.int64], FloatArray, NDArray[np.int64], NDArray[np.int64]]
#: One tile's labels: each vertex's row (-1: none yet), the vertex of each row, per row one
#: tentative distance per facility of the tile (``2**SHIFT`` of them: label ``(row << SHIFT)
#: | facility``), and per row a bit per facility that has a label there.
Block = tuple[NDArray[np.int32], NDArray[np.int32], FloatArray, NDArray[np.int64]]
#: Buckets of the queue across the horizon.
BUCKETS = 512
#: Rows of the block to start with (it doubles when a tile needs more).
ROWS = 1 << 12
#: Labels per row: ``2**SHIFT``, the tile's facilities rounded up to a power of two (at most
#: 32, so that a row's bits are a positive int64).
SHIFT = (TILE_FACILITIES - 1).bit_length()
_LOW = (1 << SHIFT) - 1
#: The bit a power of two sets, by its remainder mod 67 (distinct for 2**0 .. 2**62).
_BIT = np.zeros(67, dtype=np.int64)
_BIT[[pow(2, i, 67) for i in range(63)]] = np.arange(63)


@jit.inlined
def _record(
    best: NDArray[np.float32],
    within: NDArray[np.int32],
    p: int,
    c: int,
    total: float,
    limits: FloatArray,
) -> None:
    """Home ``p``'s next facility of slot ``c``: counted, and kept if among its k nearest.

    Kept rounded up to float32, which keeps their order: the k smallest rounded are the
    k smallest, rounded.
    """
    for i in range(len(limits)):
        if total <= limits[i]:
            within[p, c, i] += 1
    up = np.float32(total)
    if up < total:
        up = np.nextafter(up, np.float32(np.inf))
    k = best.shape[2]
    if up >= best[c, p, k - 1]:
        return
    j = k - 1
    while j > 0 and best[c, p, j - 1] > up:
        best[c, p, j] = best[c, p, j - 1]
        j -= 1
    best[c, p, j] = up


@jit.compiled
def _node_labels(  # noqa: PLR0912  (one loop: a call per label would cost more than it)
    graph: Graph,
    seeds: tuple[NDArray[np.int64], NDArray[np.int64], FloatArray],
    tile: tuple[int, int, float],
    block: Block,
    queue: Queue,
) -> int:
    """One tile's multi-label pass; returns the rows it used (``-1 - rows``: out of room).

    When the block or the queue is full the caller grows both and runs the tile again: no
    array is replaced inside the loop, which would cost reference counting on every label
    (it did: twice the time of the pass).

    Node ``v`` gets a row of the block when first reached. Labels wait in buckets of
    ``horizon / BUCKETS`` metres, taken nearest bucket first; a label taken is expanded if it
    still holds its distance, and offered again whenever a shorter one is found
    (label-correcting, so an arc shorter than a bucket, or a tie in one, cannot leave a label
    long). When the queue is empty every finite entry of the block is the node's exact
    distance to that facility (within the horizon): the least sum over paths, added in
    walking order, as any Dijkstra gives it.
    """
    ptr, head, weight = graph
    seed_ptr, seed_node, seed_cost = seeds
    first, last, horizon = tile
    loc, verts, tent, mask = block
    top, qd, qk, qn = queue
    scale, nb = (len(top) - 1) / horizon, len(top) - 1
    n_rows, size, f, a, a_end, d, b = 0, 0, 0, 0, 0, 0.0, 0
    s, s_end = seed_ptr[first], seed_ptr[last]
    while True:
        # the next label offered: a seed, else an arc of the label taken last
        if s < s_end:
            while seed_ptr[first + f + 1] <= s:
                f += 1
            u, nd = seed_node[s], seed_cost[s]
            s += 1
        elif a < a_end:
            u, nd = head[a], d + weight[a]
            a += 1
        else:
            while b <= nb and top[b] < 0:
                b += 1
            if b > nb:
                break
            e = top[b]
            top[b] = qn[e]
            d, i = qd[e], qk[e]
            if d <= tent[i]:  # else a shorter label was found since
                v, f = verts[i >> SHIFT], i & _LOW
                a, a_end = ptr[v], ptr[v + 1]
            continue
        if nd > horizon:
            continue
        r = loc[u]
        if r < 0:
            if n_rows == len(verts):
                return -1 - n_rows
            r = n_rows
            loc[u], verts[r], mask[r] = r, u, 0
            n_rows += 1
        j = (r << SHIFT) | f
        if nd < tent[j]:
            if size == len(qd):
                return -1 - n_rows
            tent[j] = nd
            mask[r] |= 1 << f
            bucket = max(min(int(nd * scale), nb), b)
            qd[size], qk[size], qn[size] = nd, j, top[bucket]
            top[bucket] = size
            size += 1
    return n_rows


@jit.compiled
def _clear(block: Block, n_rows: int, field: FloatArray, slot: NDArray[np.int64]) -> None:
    """Each node's nearest label per slot into ``field``, and the block's rows cleared."""
    loc, verts, tent, mask = block
    for r in range(n_rows):
        v, bits = verts[r], mask[r]
        while bits:
            low = bits & -bits
            bits ^= low
            f = _BIT[low % 67]
            j = (r << SHIFT) | f
            field[slot[f], v] = min(field[slot[f], v], tent[j])
            tent[j] = np.inf
        loc[v] = -1


@jit.inlined
def _room(loc: NDArray[np.int32], rows: int) -> tuple[Block, Queue]:
    """A block of ``rows`` rows over ``loc`` and a queue of ``4 * rows`` entries, all empty."""
    block = (
        loc,
        np.empty(rows, dtype=np.int32),
        np.full(rows << SHIFT, np.inf),
        np.zeros(rows, dtype=np.int64),
    )
    size = 4 * rows
    top = np.full(BUCKETS + 1, -1, dtype=np.int64)
    return block, (
        top,
        np.empty(size),
        np.empty(size, dtype=np.int64),
        np.empty(size, dtype=np.int64),
    )


@jit.inlined
def _one_home(
    block: Block,
    p: int,
    rows: tuple[int, int],
    legs: tuple[FloatArray, FloatArray, FloatArray],
    walks: tuple[int, NDArray[np.int64], NDArray[np.int64], FloatArray, FloatArray],
    slot: NDArray[np.int64],
    limits: tuple[float, FloatArray],
    out: tuple[NDArray[np.float32], NDArray[np.int32]],
) -> None:
    """Home ``p`` to each facility of the tile labelled at its edge's ends or on its edge.

    ``rows``: the rows of its edge's ends (-1: none). ``walks``: its first straight walk
    (-1: none), the next of each, their facilities and costs, and a row to gather them in.
    """
    tent, mask = block[2], block[3]
    leave_u, leave_v, access = legs
    e, nxt, d_fac, d_cost, straight = walks
    direct = 0
    while e >= 0:
        f = d_fac[e]
        if direct >> f & 1:
            straight[f] = min(straight[f], d_cost[e])
        else:
            straight[f], direct = d_cost[e], direct | 1 << f
        e = nxt[e]
    ru, rv = rows
    bits = (mask[ru] if ru >= 0 else 0) | (mask[rv] if rv >= 0 else 0) | direct
    while bits:
        low = bits & -bits
        bits ^= low
        f = _BIT[low % 67]
        walk = straight[f] if direct & low else np.inf
        if ru >= 0:
            walk = min(walk, tent[(ru << SHIFT) | f] + leave_u[p])
        if rv >= 0:
            walk = min(walk, tent[(rv << SHIFT) | f] + leave_v[p])
        total = walk + access[p]
        if total <= limits[0]:
            _record(out[0], out[1], p, slot[f], total, limits[1])


@jit.compiled
def _home_labels(
    block: Block,
    n_rows: int,
    homes: tuple[NDArray[np.int64], ...],
    legs: tuple[FloatArray, FloatArray, FloatArray],
    direct: tuple[NDArray[np.int64], NDArray[np.int64], FloatArray],
    chain: NDArray[np.int64],
    slot: NDArray[np.int64],
    limits: tuple[float, FloatArray],
    out: tuple[NDArray[np.float32], NDArray[np.int32]],
) -> None:
    """Every home near the tile: its distance to each facility, by the better end or straight.

    Only the facilities with a label at one of its edge's ends (or on its edge) are looked
    at. Each home is done once: one that walks straight to a facility of the tile first,
    the others at their edge's ``v`` end, or at ``u`` when ``v`` has no labels.
    """
    loc, verts = block[:2]
    att_ptr, att_pt, end_u, end_v = homes
    d_home, d_fac, d_cost = direct
    straight = np.full(1 << SHIFT, np.inf)
    n_direct = len(d_home)
    nxt = np.full(n_direct, -1, dtype=np.int64)  # the straight walks of each home, chained
    for e in range(n_direct):
        nxt[e], chain[d_home[e]] = chain[d_home[e]], e
    for q in range(-n_direct, n_rows):
        b0, b1 = (att_ptr[verts[q]], att_ptr[verts[q] + 1]) if q >= 0 else (0, 1)
        for b in range(b0, b1):
            if q < 0:
                p = d_home[q + n_direct]
                if chain[p] != q + n_direct:  # not its first straight walk: done already
                    continue
            else:
                p = att_pt[b]
                if p < 0:  # listed at its u end: done at v if v has labels
                    p = -1 - p
                    if loc[end_v[p]] >= 0:
                        continue
                if chain[p] >= 0:  # done with the straight walks
                    continue
            ru = loc[end_u[p]] if end_u[p] >= 0 else -1
            walks = (chain[p], nxt, d_fac, d_cost, straight)
            _one_home(block, p, (ru, loc[end_v[p]]), legs, walks, slot, limits, out)
    for e in range(n_direct):
        chain[d_home[e]] = -1


@jit.compiled
def _all_tiles(
    graph: Graph,
    homes: tuple[NDArray[np.int64], ...],
    legs: tuple[FloatArray, FloatArray, FloatArray],
    places: tuple[tuple[NDArray[np.int64], NDArray[np.int64], FloatArray], NDArray[np.int64]],
    direct: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], FloatArray],
    bounds: NDArray[np.int64],
    limits: tuple[float, FloatArray],
    out: tuple[NDArray[np.float32], NDArray[np.int32], FloatArray],
    rows: int,
) -> None:
    seeds, slot = places
    horizon = limits[0]
    loc = np.full(len(graph[0]) - 1, -1, dtype=np.int32)
    block, queue = _room(loc, rows)
    chain = np.full(len(legs[2]), -1, dtype=np.int64)
    d_ptr, d_home, d_fac, d_cost = direct
    for t in range(len(bounds) - 1):
        first, last = bounds[t], bounds[t + 1]
        mine = slot[first:last]
        n_rows = _node_labels(graph, seeds, (first, last, horizon), block, queue)
        while n_rows < 0:  # out of room: cleared, grown, and the tile again
            _clear(block, -1 - n_rows, out[2], mine)  # (paths found so far: never below it)
            rows *= 2
            block, queue = _room(loc, rows)
            n_rows = _node_labels(graph, seeds, (first, last, horizon), block, queue)
        lo, hi = d_ptr[first], d_ptr[last]
        walks = (d_home[lo:hi], d_fac[lo:hi] - first, d_cost[lo:hi])
        _home_labels(block, n_rows, homes, legs, walks, chain, mine, limits, out[:2])
        _clear(block, n_rows, out[2], mine)


class Homes:
    """Demand points read off the nodes at the ends of their edges, built once per analysis.

    A home leaves its edge by ``v`` always and by ``u`` where allowed; ``arrays`` lists the
    homes at each node (CSR; a home listed at its ``u`` end as ``-1 - home``) and each home's
    ends (``-1``: may not leave that way).
    """

    def __init__(self, net: StreetNetwork, points: Snap) -> None:
        self.net, self.points = net, points
        leave_u, leave_v = positions.leave_costs(net, points.edge, points.offset_m)
        ok_u = np.isfinite(leave_u)
        via_u = np.flatnonzero(ok_u)
        node = np.concatenate([net.edge_u[points.edge[via_u]], net.edge_v[points.edge]])
        order = np.argsort(node, kind="stable")
        pt = np.concatenate([-1 - via_u, np.arange(len(points))])[order].astype(np.int64)
        ptr = np.zeros(net.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(node, minlength=net.n_nodes), out=ptr[1:])
        end_u = np.where(ok_u, net.edge_u[points.edge], -1).astype(np.int64)
        self.arrays = (ptr, pt, end_u, net.edge_v[points.edge].astype(np.int64))
        self.legs = (
            np.where(ok_u, leave_u, 0.0).astype(np.float64),
            np.asarray(leave_v, dtype=np.float64),
            points.access_m.astype(np.float64),
        )
        self.on_edge = EdgeGroups(points.edge)


def mapped(shape: tuple[int, ...], dtype: type[np.generic], fill: float) -> NDArray[Any]:
    """A new array of ``fill``, its memory mapped in one call where the system allows it.

    An output of hundreds of megabytes (the k nearest of every home) is otherwise mapped a
    4 KB page at a time as it is first written, and on a virtual machine each such page
    fault costs microseconds: a second of CPU for half a gigabyte. Linux 5.14 and later
    populate a private anonymous mapping in one ``madvise(MADV_POPULATE_WRITE)``; anywhere
    else (or for a small array) this is ``np.full``.
    """
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if size >= _MAPPED_BYTES and sys.platform == "linux":
        try:
            buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            buf.madvise(getattr(mmap, "MADV_POPULATE_WRITE", _MADV_POPULATE_WRITE))
        except (OSError, ValueError):  # an older kernel: its pages come as they are written
            pass
        else:
            out = np.frombuffer(buf, dtype=dtype).reshape(shape)
            out.fill(fill)
            return out
    return np.full(shape, fill, dtype=dtype)


#: Arrays from this size up are mapped by :func:`mapped` in one call.
_MAPPED_BYTES = 1 << 24
_MADV_POPULATE_WRITE = 23  # Linux's value; Python's mmap names it from 3.12


def _csr(owner: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=ptr[1:])
    return ptr


def _seeds(net: StreetNetwork, homes: Homes, places: Snap) -> tuple[Any, Any]:
    """Where each place's labels start, and the homes that walk to it straight along its edge.

    Entered from ``u`` always and from ``v`` where allowed (each at least ``MIN_ARC_M``, as the
    SciPy passes have it); a home on the same edge walks straight along it when allowed
    (access leg of the place included). Both are grouped by place (CSR).
    """
    edge, off, acc = places.edge, places.offset_m, places.access_m
    at_u, at_v = positions.entry_costs(net, places)
    back = np.isfinite(at_v)
    f_n = np.concatenate([np.arange(len(edge)), np.flatnonzero(back)])
    v_n = np.concatenate([net.edge_u[edge], net.edge_v[edge][back]]).astype(np.int64)
    c_n = np.maximum(np.concatenate([at_u, at_v[back]]), MIN_ARC_M)
    order = np.argsort(f_n, kind="stable")
    seeds = (_csr(f_n, len(edge)), v_n[order], np.asarray(c_n[order], dtype=np.float64))
    pl, pt = homes.on_edge.pairs(edge)  # place ascending
    cost = positions.along(net, edge[pl], homes.points.offset_m[pt], off[pl]) + acc[pl]
    ok = np.isfinite(cost)
    pl = pl[ok]
    direct = (_csr(pl, len(edge)), pt[ok], pl, np.asarray(cost[ok], dtype=np.float64))
    return seeds, direct


def tile_order(xy: FloatArray, side_m: float) -> NDArray[np.int64]:
    """Places sorted by square tiles of ``side_m`` (row by row), so runs are close together."""
    cells = np.floor((xy - xy.min(axis=0)) / side_m).astype(np.int64)
    return np.lexsort((cells[:, 0], cells[:, 1])).astype(np.int64)


class KPass(NamedTuple):
    """What :func:`k_and_counts` finds: per slot (category) and home, and per slot and node."""

    #: ``(slots, homes, k)`` distances rounded up to float32, ascending, ``inf`` where fewer
    #: are within the horizon.
    best: NDArray[np.float32]
    #: ``(homes, slots, limits)`` int32 counts within each limit.
    within: NDArray[np.int32]
    #: ``(slots, nodes)``: each node's distance to the nearest place of the slot where it is
    #: within the horizon (``inf`` elsewhere), the ``known`` part of :func:`nearest_field`'s
    #: field; :func:`points_nearest` reads the fields once they are whole.
    field: FloatArray
    #: The homes that walk straight along their edge to a place: home, slot, metres (the
    #: place's access leg included).
    straight: tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]


def k_and_counts(
    graph: Graph,
    homes: Homes,
    places: Snap,
    slot: tuple[NDArray[np.int64], int],
    k: int,
    limits: FloatArray,
    horizon: float,
) -> KPass:
    """Each home's k nearest places of each slot, its counts within each limit, and the fields.

    One pass over the places of every slot (category) together: each tile holds the nearest
    places whatever their category, so its rows fill up as they would for the densest one.

    Parameters
    ----------
    graph
        The reversed arcs of :attr:`livingcircle.geo.reach.ReachGraph.arrays`.
    homes
        The demand points as sink vertices (:class:`Homes`).
    places
        The facilities (snapped).
    slot
        Each place's slot (its category's column in the outputs), and how many slots.
    k
        Distances kept per home and slot.
    limits
        Count facilities within each of these distances (access legs included).
    horizon
        No distance past this is kept or counted.
    """
    (slot_of, n_slots), n_pts = slot, len(homes.points)
    best = mapped((n_slots, n_pts, k), np.float32, np.inf)
    within = mapped((n_pts, n_slots, len(limits)), np.int32, 0)
    field = mapped((n_slots, homes.net.n_nodes), np.float64, np.inf)
    order = tile_order(places.xy, max(horizon, 250.0)) if len(places) else np.zeros(0, np.int64)
    seeds, direct = _seeds(homes.net, homes, places[order])
    in_order = slot_of[order].astype(np.int64)
    if len(places):
        bounds = np.append(np.arange(0, len(order), TILE_FACILITIES), len(order))
        _all_tiles(
            graph,
            homes.arrays,
            homes.legs,
            (seeds, in_order),
            direct,
            bounds.astype(np.int64),
            (float(horizon), limits.astype(np.float64)),
            (best, within, field),
            ROWS,
        )
    return KPass(best, within, field, (direct[1], in_order[direct[2]], direct[3]))


@jit.compiled
def _points_nearest(
    fields: FloatArray,
    homes: tuple[NDArray[np.int64], ...],
    legs: tuple[FloatArray, FloatArray, FloatArray],
    straight: tuple[NDArray[np.int64], NDArray[np.int64], FloatArray],
    limit: float,
    out: FloatArray,
) -> None:
    end_u, end_v = homes[2], homes[3]
    leave_u, leave_v, access = legs
    for c in range(len(out)):
        field, row = fields[c], out[c]
        for p in range(len(access)):
            d = leave_v[p] + field[end_v[p]]
            if end_u[p] >= 0:
                d = min(leave_u[p] + field[end_u[p]], d)
            row[p] = d
    s_home, s_slot, s_cost = straight
    for e in range(len(s_home)):
        out[s_slot[e], s_home[e]] = min(out[s_slot[e], s_home[e]], s_cost[e])
    for c in range(len(out)):
        row = out[c]
        for p in range(len(access)):
            d = row[p] + access[p]
            row[p] = d if d <= limit else np.inf


def points_nearest(pass_: KPass, homes: Homes, limit: float) -> FloatArray:
    """``(slots, homes)``: each home's distance to the nearest place of each slot.

    Read off the whole fields (``pass_.field`` once :func:`nearest_field` has filled it in)
    at the two ends of each home's edge, or straight along it; access legs included, ``inf``
    past ``limit``. The same sums as :func:`livingcircle.geo.accessibility.points_distance`.
    """
    out = mapped((len(pass_.field), len(homes.points)), np.float64, np.inf)
    _points_nearest(pass_.field, homes.arrays, homes.legs, pass_.straight, float(limit), out)
    return out
