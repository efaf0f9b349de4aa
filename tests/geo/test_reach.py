"""Tiled pair search and the reversed-graph nearest pass against one-facility references."""

from __future__ import annotations

import numpy as np
import pytest

from livingcircle.geo.accessibility import beyond, distance_to_nearest, points_distance
from livingcircle.geo.engine import Region
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import Snap, snap_points
from livingcircle.geo.standards import Standard
from tests.handmade import lonlat, region


def sample_points(reg: Region, n: int, seed: int) -> Snap:
    """Points near random nodes, and points on facilities' own edges (same-edge pairs)."""
    rng = np.random.default_rng(seed)
    xy = reg.net.node_xy[rng.integers(0, reg.net.n_nodes, n)] + rng.uniform(-40, 40, (n, 2))
    near = snap_points(reg.net, xy, 250)
    near = near[np.flatnonzero(near.edge >= 0)]
    fs = reg.facilities.snap[np.arange(min(n, len(reg.facilities.category)))]
    off = np.clip(fs.offset_m + rng.uniform(-30, 30, len(fs)), 0, reg.net.edge_length[fs.edge])
    on = Snap(fs.edge, off, rng.uniform(0, 20, len(fs)), fs.xy)
    return Snap(
        *(
            np.concatenate([a, b])
            for a, b in zip(
                (near.edge, near.offset_m, near.access_m, near.xy),
                (on.edge, on.offset_m, on.access_m, on.xy),
                strict=True,
            )
        )
    )


def pairs_by_place(
    rg: ReachGraph, places: Snap, points: Snap, radius: float, tile_m: float | None = None
) -> dict[int, dict[int, float]]:
    out: dict[int, dict[int, float]] = {}
    for ch in rg.pairs_within(places, points, radius, tile_m):
        for pl, pt, d in zip(ch.place.tolist(), ch.point.tolist(), ch.dist_m.tolist(), strict=True):
            assert pt not in out.setdefault(pl, {}), "a pair is listed twice"
            out[pl][pt] = d
    return out


@pytest.mark.parametrize("tile_m", [None, 300.0])
def test_pairs_equal_one_facility_passes_on_the_sample(
    sample_region: Region, tile_m: float | None
) -> None:
    reg, radius = sample_region, 600.0
    points = sample_points(reg, 800, seed=5)
    fac = reg.facilities.snap
    rng = np.random.default_rng(1)
    picked = np.sort(rng.choice(len(fac), 60, replace=False))
    found = pairs_by_place(ReachGraph(reg.net), fac[picked], points, radius, tile_m)
    for i, f in enumerate(picked):
        one = fac[np.array([f])]
        ref = points_distance(reg.net, distance_to_nearest(reg.net, one), points, one)
        want = {int(p): float(ref[p]) for p in np.flatnonzero(ref <= radius)}
        got = found.get(i, {})
        assert got.keys() == want.keys()
        for p, d in want.items():
            assert got[p] == pytest.approx(d, abs=1e-6)


def test_nearest_pass_equals_distance_to_nearest(sample_region: Region) -> None:
    reg = sample_region
    rg = ReachGraph(reg.net)
    for code in range(len(reg.standard.categories)):
        mine = reg.facilities.snap[np.flatnonzero(reg.facilities.category == code)]
        a, b = distance_to_nearest(reg.net, mine, 2000), rg.nearest(mine, 2000)
        assert np.array_equal(np.isinf(a), np.isinf(b))
        assert a[np.isfinite(a)] == pytest.approx(b[np.isfinite(b)], abs=1e-9)


def test_one_way_and_same_edge_pairs(standard: Standard) -> None:
    nodes = {"A": (0, 0), "B": (400, 0), "C": (200, 300)}
    reg = region(
        nodes, [("A", "B", True), ("B", "C"), ("C", "A")], {"f": ("clinic", 200, 0)}, standard
    )
    pts = snap_points(
        reg.net, reg.project(*np.array([lonlat(50, 0), lonlat(350, 0), lonlat(200, 5)]).T), 50
    )
    found = pairs_by_place(ReachGraph(reg.net), reg.facilities.snap, pts, 1500)[0]
    loop = 2 * np.hypot(200, 300)
    assert found[0] == pytest.approx(150, abs=0.3)  # ahead on the one-way
    assert found[1] == pytest.approx(50 + loop + 200, abs=0.3)  # behind it: round the loop
    assert found[2] == pytest.approx(5, abs=0.3)
    assert 1 not in pairs_by_place(ReachGraph(reg.net), reg.facilities.snap, pts, 900)[0]


def test_beyond_counts_a_facility_on_the_edge(standard: Standard) -> None:
    reg = region({"A": (0, 0), "B": (2000, 0)}, [("A", "B")], {"f": ("clinic", 1000, 0)}, standard)
    fac = reg.facilities.snap
    node_d = distance_to_nearest(reg.net, fac)
    _, start, end = beyond(reg.net, node_d, 300, fac)
    order = np.argsort(start)
    assert start[order] == pytest.approx([0, 1300], abs=0.5)
    assert end[order] == pytest.approx([700, 2000], abs=0.5)
    # without the facilities, the edge's middle would wrongly count as a gap
    assert len(beyond(reg.net, node_d, 300)[0]) == 1
