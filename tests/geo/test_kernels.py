"""The compiled k-nearest-and-counts kernel and its NumPy/SciPy fallback, against networkx.

Both passes of :func:`livingcircle.geo.gaps.analyse` (the Numba multi-label pass of
:mod:`livingcircle.geo.kernels` and the tiled SciPy pass of
:meth:`livingcircle.geo.reach.ReachGraph.pairs_within`) run on the real Helsinki sample and
on a generated 10k-node grid with one-way streets; they must agree exactly with each other,
and with networkx's Dijkstra over the same network with every position spliced in as a node
(:func:`tests.geo.test_reference_dijkstra.reference_graph`).
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest

from livingcircle.data.synthetic import grid_city
from livingcircle.geo import kernels
from livingcircle.geo.demand import Demand, demand_frame, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import Analysis, analyse
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.standards import Standard
from tests.geo.test_reference_dijkstra import Positions, reference_graph
from tests.handmade import lonlat, region

MINUTES = (5, 10, 15)
K = 5


def homes(reg: Region, n: int, seed: int) -> Demand:
    """``n`` homes scattered up to 30 m around random street nodes."""
    rng = np.random.default_rng(seed)
    xy = reg.net.node_xy[rng.choice(reg.net.n_nodes, n, replace=False)]
    ll = reg.unproject(xy + rng.uniform(-30, 30, xy.shape))
    frame = demand_frame(
        gpd.points_from_xy(ll[:, 0], ll[:, 1]),
        np.ones(n),
        np.array([f"h{i}" for i in range(n)], dtype=object),
    )
    return place_demand(reg.net, frame, reg.max_snap_m)


def both(reg: Region, dem: Demand) -> tuple[Analysis, Analysis]:
    """The analysis by the compiled kernel and by the SciPy fallback."""
    fast = analyse(reg, dem, k=K, minutes=MINUTES, graph=ReachGraph(reg.net, compiled=True))
    slow = analyse(reg, dem, k=K, minutes=MINUTES, graph=ReachGraph(reg.net, compiled=False))
    return fast, slow


def assert_same(fast: Analysis, slow: Analysis) -> int:
    """Both passes give the same nearest, counts and k nearest, bit for bit; returns the pairs."""
    for cat, a in fast.categories.items():
        b = slow.categories[cat]
        np.testing.assert_array_equal(a.within, b.within, err_msg=cat)
        np.testing.assert_array_equal(a.k_nearest_m, b.k_nearest_m, err_msg=cat)
        np.testing.assert_array_equal(a.node_m, b.node_m, err_msg=cat)
        np.testing.assert_array_equal(a.nearest_m, b.nearest_m, err_msg=cat)
    return sum(int(a.within[:, -1].sum()) for a in fast.categories.values())


def assert_networkx(reg: Region, dem: Demand, res: Analysis, points: range) -> int:
    """Counts exactly, and the k nearest within float32's rounding up, as networkx has them."""
    fac, snap = reg.facilities, dem.snap
    spliced: Positions = defaultdict(list)
    for row, (e, off) in enumerate(zip(fac.snap.edge, fac.snap.offset_m, strict=True)):
        spliced[int(e)].append((float(off), f"f{row}"))
    limits = np.asarray(MINUTES, float) * 60 * res.speed_m_s
    checked = 0
    for p in points:
        here = {e: list(v) for e, v in spliced.items()}
        here.setdefault(int(snap.edge[p]), []).append((float(snap.offset_m[p]), "S"))
        dist = nx.single_source_dijkstra_path_length(
            reference_graph(reg.net, here), "S", cutoff=res.horizon_m
        )
        for code, cat in enumerate(reg.standard.category_ids):
            rows = np.flatnonzero(fac.category == code)
            ref = np.sort(
                [
                    dist[f"f{r}"] + fac.snap.access_m[r] + snap.access_m[p]
                    for r in rows
                    if f"f{r}" in dist
                ]
            )
            ref = ref[ref <= res.horizon_m]
            acc = res.categories[cat]
            assert acc.within[p].tolist() == [int((ref <= m).sum()) for m in limits], cat
            got = acc.k_nearest_m[p].astype(np.float64)
            want = np.full(K, np.inf)
            want[: min(K, len(ref))] = ref[:K]
            ulp = np.spacing(np.float32(want), dtype=np.float32).astype(np.float64)
            # stored rounded up to float32: never shorter than the walk, at most one step longer
            fin = np.isfinite(want)
            assert (np.isfinite(got) == fin).all(), cat
            assert (got[fin] >= want[fin] - 1e-6).all() and (
                got[fin] - want[fin] <= ulp[fin] + 1e-6
            ).all(), cat
            checked += len(ref)
    return checked


@pytest.fixture(scope="module")
def grid(standard: Standard) -> Region:
    """A 10k-node jittered grid with one-way streets and facilities of every category."""
    nodes, edges, facilities = grid_city(10_000, seed=3)
    assert edges["oneway"].any()
    return Region("grid-10000", StreetNetwork.from_frames(nodes, edges), facilities, standard)


def test_kernel_equals_fallback_and_networkx_on_the_sample(sample_region: Region) -> None:
    dem = homes(sample_region, 300, seed=5)
    fast, slow = both(sample_region, dem)
    assert assert_same(fast, slow) > 10_000
    assert assert_networkx(sample_region, dem, fast, range(0, 300, 25)) > 1_000


def test_kernel_equals_fallback_and_networkx_on_a_one_way_grid(grid: Region) -> None:
    dem = homes(grid, 2_000, seed=9)
    fast, slow = both(grid, dem)
    assert assert_same(fast, slow) > 10_000
    assert assert_networkx(grid, dem, fast, range(0, 2_000, 200)) > 100


def test_a_place_on_a_loop_street_is_walked_to_the_shorter_way_round(standard: Standard) -> None:
    """A clinic three fifths of the way round a 400 m two-way loop: from the loop's one node
    it is 150 m back, not 250 m on; the k nearest and the counts walk the same way as the
    nearest does, in both passes (they once entered a loop from its start only)."""
    nodes = {"A": (0, 0), "B": (-100, 0)}
    loop = ("A", "A", False, [(0, 100), (100, 100), (100, 0)])
    reg = region(nodes, [("A", "B"), loop], {"f": ("clinic", 103, 50)}, standard)
    ll = np.array([lonlat(-100, 5)])
    frame = demand_frame(gpd.points_from_xy(ll[:, 0], ll[:, 1]), np.ones(1), np.array(["h"]))
    dem = place_demand(reg.net, frame, reg.max_snap_m)
    for fast in (True, False):
        res = analyse(reg, dem, ["clinic"], k=1, graph=ReachGraph(reg.net, compiled=fast))
        acc = res.categories["clinic"]
        walk = 5 + 100 + 150 + 3  # to B, B to A, A back round the loop, off the street
        assert acc.nearest_m[0] == pytest.approx(walk, abs=0.2)
        assert float(acc.k_nearest_m[0, 0]) == pytest.approx(acc.nearest_m[0], abs=1e-4)
        assert acc.within[0].tolist() == [1, 1, 1]  # 258 m: within 5 minutes at 1 m/s


def test_the_nearest_pass_goes_on_from_a_known_part_of_its_field(sample_region: Region) -> None:
    """Given the field where it is at most some bound (as the k pass leaves it), the nearest
    pass finds the rest: the same field, bit for bit, whatever the bound."""
    reg = sample_region
    rg = ReachGraph(reg.net, compiled=True)
    for code in range(len(reg.standard.category_ids)):
        mine = reg.facilities.snap[np.flatnonzero(reg.facilities.category == code)]
        full = rg.nearest(mine, 20_000)
        for bound in (0.0, 150.0, 900.0, 1e9):
            known = np.where(full <= bound, full, np.inf)
            np.testing.assert_array_equal(rg.nearest(mine, 20_000, known), full)
            np.testing.assert_array_equal(
                rg.nearest(mine, 500, known), np.where(full <= 500, full, np.inf)
            )


def test_the_nearest_pass_equals_scipys_with_any_room(
    sample_region: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bucket queue's pass gives SciPy's field bit for bit, with no limit or one, and
    when its queue starts far too small (it doubles and goes again)."""
    reg = sample_region
    fast, scipy = ReachGraph(reg.net, compiled=True), ReachGraph(reg.net, compiled=False)
    for cramped in (False, True):
        if cramped:
            monkeypatch.setattr(kernels, "QUEUE_PER_NODE", 0)
        for code in (0, 5, 26):
            mine = reg.facilities.snap[np.flatnonzero(reg.facilities.category == code)]
            for limit in (np.inf, 700.0):
                want = scipy.nearest(mine, limit)
                np.testing.assert_array_equal(fast.nearest(mine, limit), want)


def test_a_tile_out_of_room_grows_and_goes_again(
    grid: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block of 8 rows is far too small for a tile: it doubles until the tile fits, and the
    tile's labels are found again, so the numbers are the same as with room to spare."""
    dem = homes(grid, 500, seed=4)
    rg = ReachGraph(grid.net, compiled=True)
    hm = kernels.Homes(grid.net, dem.snap)
    fac = grid.facilities
    slots = (fac.category.astype(np.int64), len(grid.standard.category_ids))
    limits = np.array([300.0, 600.0, 900.0])
    roomy = kernels.k_and_counts(rg.arrays, hm, fac.snap, slots, K, limits, 900.0)
    monkeypatch.setattr(kernels, "ROWS", 8)
    cramped = kernels.k_and_counts(rg.arrays, hm, fac.snap, slots, K, limits, 900.0)
    assert int(roomy[1].sum()) > 1_000
    for a, b in zip(roomy, cramped, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape", [(3, 5), (3, 1 << 20)])
def test_outputs_are_mapped_full_and_writable(shape: tuple[int, int]) -> None:
    """Small outputs come from ``np.full``; large ones from one populated mapping, the
    same values, writable, and private to the process (not shared with a fork)."""
    for dtype, fill in ((np.float32, np.inf), (np.int32, 0)):
        out = kernels.mapped(shape, dtype, fill)
        assert out.shape == shape and out.dtype == dtype and out.flags.writeable
        assert (out == fill).all()
        out[-1, -1] = 7
        assert out[-1, -1] == 7 and (out[0] == fill).all()
        if hasattr(os, "fork"):  # a worker forked from this process writes its own copy
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                out[0, 0] = 5
                os._exit(0)
            os.waitpid(pid, 0)
            assert out[0, 0] == fill


def test_counts_compare_as_float32_exactly() -> None:
    """A distance rounded up to float32 is within a float32 limit exactly when it is itself."""
    rng = np.random.default_rng(0)
    limit = np.float32(900.0)
    d = np.concatenate(
        [rng.uniform(0, 1800, 100_000), 900.0 + rng.uniform(-1e-4, 1e-4, 100_000), [900.0]]
    )
    up = d.astype(np.float32)
    up = np.where(up < d, np.nextafter(up, np.float32(np.inf)), up)
    np.testing.assert_array_equal(up <= limit, d <= float(limit))
    # and the rounding up stays within one float32 step at walking distances
    assert float((up - d).max()) <= float(np.spacing(np.float32(1800.0)))


def test_the_fallback_is_chosen_without_numba(
    sample_region: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ReachGraph(sample_region.net).compiled
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    assert not ReachGraph(sample_region.net).compiled
    assert not ReachGraph(sample_region.net, compiled=True).compiled


def test_compiled_without_a_writable_cache_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where Numba finds no folder to cache machine code in (a read-only install for a user
    without a home), it refuses ``cache=True`` when the function is decorated; the kernels
    are then compiled per process instead of failing the package's import."""
    from livingcircle.geo import jit  # noqa: PLC0415

    real = jit.numba.njit

    def refusing(*args: Any, cache: bool = False, **options: Any) -> Any:
        if cache:
            raise RuntimeError("cannot cache function 'add': no locator available for file")
        return real(*args, **options)

    monkeypatch.setattr(jit.numba, "njit", refusing)

    def add(a: int, b: int) -> int:
        return a + b

    assert jit.compiled(add)(2, 3) == 5
