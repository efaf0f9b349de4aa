"""All-points distances (one pass per category) agree with the per-query engine."""

from __future__ import annotations

import numpy as np
import pytest

from livingcircle.geo.accessibility import distance_to_nearest, points_distance
from livingcircle.geo.engine import Region
from livingcircle.geo.routing import snap_points
from livingcircle.geo.standards import Standard
from tests.geo.test_reference_dijkstra import query_points
from tests.handmade import lonlat, region


def test_one_pass_per_category_equals_nearest(sample_region: Region, standard: Standard) -> None:
    reg, fac = sample_region, sample_region.facilities
    points = query_points(reg, 60, seed=3)
    xy = reg.project(*np.array(points).T)
    snaps = snap_points(reg.net, xy, reg.max_snap_m)
    for ci, cat in enumerate(standard.category_ids):
        mine = fac.snap[np.flatnonzero(fac.category == ci)]
        if len(mine) == 0:
            continue
        node_d = distance_to_nearest(reg.net, mine)
        got = points_distance(reg.net, node_d, snaps, mine)
        for (lon, lat), d in zip(points, got, strict=True):
            hits = reg.nearest(lon, lat, [cat], routes=False).by_category[cat]
            if not hits:
                assert not np.isfinite(d)
                continue
            assert d == pytest.approx(hits[0].distance_m, abs=1e-6), cat


def test_one_way_streets_are_walked_the_right_way(standard: Standard) -> None:
    nodes = {"A": (0, 0), "B": (100, 0), "C": (50, 80)}
    reg = region(
        nodes, [("A", "B", True), ("B", "C"), ("C", "A")], {"f": ("clinic", 70, 0)}, standard
    )
    fac = reg.facilities
    node_d = distance_to_nearest(reg.net, fac.snap)
    side = np.hypot(50, 80)
    # from B the clinic (25 m back along the one-way) is only reached round the loop
    b = int(np.argmin(np.hypot(*(reg.net.node_xy - reg.net.node_xy[1]).T)))
    assert node_d[b] == pytest.approx(2 * side + 70, abs=0.2)
    assert node_d[0] == pytest.approx(70, abs=0.2)  # from A, straight along
    xy = reg.project(*lonlat(95, -3))
    start = snap_points(reg.net, xy, 50)
    got = points_distance(reg.net, node_d, start, fac.snap)[0]
    assert got == pytest.approx(3 + 5 + 2 * side + 70, abs=0.2)


def test_limit_stops_the_search(standard: Standard) -> None:
    reg = region({"A": (0, 0), "B": (1000, 0)}, [("A", "B")], {"f": ("toilets", 0, 0)}, standard)
    node_d = distance_to_nearest(reg.net, reg.facilities.snap, limit_m=500)
    assert np.isinf(node_d).sum() == 1
