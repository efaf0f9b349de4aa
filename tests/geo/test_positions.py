"""The rules of a position on an edge, by hand, and the callers that must agree on them."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from livingcircle.geo import positions
from livingcircle.geo.accessibility import distance_to_nearest, points_distance
from livingcircle.geo.engine import Region
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.positions import AT_NODE_M, EdgeGroups, Snap
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import search, snap_points
from livingcircle.geo.standards import Standard
from tests.handmade import lonlat, region

INF = np.inf


@pytest.fixture
def two_streets(standard: Standard) -> StreetNetwork:
    """Edge 0: one-way A->B, 100 m; edge 1: two-way B->C, 50 m."""
    reg = region(
        {"A": (0, 0), "B": (100, 0), "C": (100, 50)}, [("A", "B", True), ("B", "C")], {}, standard
    )
    return reg.net


def _snap(edge: list[int], offset: list[float], access: list[float] | None = None) -> Snap:
    n = len(edge)
    acc = np.zeros(n) if access is None else np.asarray(access, dtype=float)
    return Snap(np.asarray(edge, np.int32), np.asarray(offset, float), acc, np.zeros((n, 2)))


def _close(a: np.ndarray, b: list[float]) -> bool:
    return bool(np.allclose(a, b, atol=0.05))


def test_leaving_a_one_way_edge_goes_by_v_unless_standing_at_u(two_streets: StreetNetwork) -> None:
    net = two_streets
    edge = np.array([0, 0, 0, 1], np.int32)
    off = np.array([30.0, 0.0, AT_NODE_M / 2, 30.0])
    to_u, to_v = positions.leave_costs(net, edge, off)
    assert np.isinf(to_u[0]) and to_u[1] == 0.0 and to_u[2] == AT_NODE_M / 2
    assert to_u[3] == 30.0
    assert _close(to_v, [70, 100, 100, 20])


def test_entering_a_one_way_edge_comes_from_u_unless_standing_at_v(
    two_streets: StreetNetwork,
) -> None:
    net = two_streets
    length = float(net.edge_length[0])
    edge = np.array([0, 0, 1], np.int32)
    off = np.array([30.0, length, 30.0])
    from_u, from_v = positions.enter_costs(net, edge, off)
    assert from_u.tolist() == off.tolist()
    assert np.isinf(from_v[0]) and from_v[1] == 0.0 and _close(from_v[2:], [20])


def test_along_refuses_only_walking_back_on_a_one_way(two_streets: StreetNetwork) -> None:
    net = two_streets
    edge = np.array([0, 0, 0, 1], np.int32)
    got = positions.along(
        net,
        edge,
        np.array([10.0, 40.0, 40.0, 40.0]),
        np.array([40.0, 10.0, 40.0 - AT_NODE_M, 10.0]),
    )
    assert got[0] == 30.0 and np.isinf(got[1]) and got[2] == pytest.approx(AT_NODE_M)
    assert got[3] == 30.0


def test_entries_list_v_only_where_a_place_may_be_entered_from_it(
    two_streets: StreetNetwork,
) -> None:
    net = two_streets
    nodes, costs = positions.entries(net, _snap([0, 1], [30.0, 10.0], [5.0, 1.0]))
    a, b, c = 0, 1, 2
    pairs = sorted(zip(nodes.tolist(), np.round(costs, 1).tolist(), strict=True))
    assert pairs == [(a, 35.0), (b, 11.0), (c, 41.0)]  # no entry from B into the one-way


def test_same_edge_nearest_skips_places_behind_on_a_one_way(two_streets: StreetNetwork) -> None:
    net = two_streets
    places = _snap([0, 0, 1], [20.0, 90.0, 45.0], [0.0, 2.0, 0.0])
    points = _snap([0, 1, 0], [50.0, 5.0, 95.0])
    got = positions.same_edge_nearest(net, points, places)
    assert got[0] == pytest.approx(42.0)  # 40 m ahead plus 2 m access; 30 m behind is refused
    assert got[1] == pytest.approx(40.0)  # two-way: straight back along the edge
    assert np.isinf(got[2])  # both places behind it
    assert np.isinf(positions.same_edge_nearest(net, points, _snap([], []))).all()


def test_edge_groups_pair_each_edge_with_its_positions() -> None:
    groups = EdgeGroups(np.array([3, 1, 3, 2], np.int32))
    i, j = groups.pairs(np.array([3, 0, 1], np.int32))
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 0), (0, 2), (2, 1)]


def test_one_way_loop_is_left_forward_only(standard: Standard) -> None:
    """A start on a one-way loop walks on round it; it used to step back against it."""
    nodes = {"A": (0, 0), "B": (0, -100)}
    loop = ("A", "A", True, [(100, 0), (100, 100), (0, 100)])  # 400 m, anticlockwise
    reg = region(nodes, [loop, ("A", "B")], {"f": ("clinic", 0, -50)}, standard)
    start = snap_points(reg.net, reg.project(*lonlat(30, -1)), 10.0)  # 30 m after A
    assert int(start.edge[0]) == 0 and float(start.offset_m[0]) == pytest.approx(30, abs=0.1)
    fac = reg.facilities.snap
    got = search(reg.net, start, 1000.0).to_positions(fac.edge, fac.offset_m)[0]
    assert got == pytest.approx(370 + 50, abs=0.2)
    field = points_distance(reg.net, distance_to_nearest(reg.net, fac), start, fac)[0]
    assert field - start.access_m[0] == pytest.approx(got, abs=1e-4)  # the field adds the leg


def test_one_kernel_serves_the_prepared_fields(sample_region: Region) -> None:
    """The region's prepared fields are the reach kernel's, category by category."""
    reg = copy.copy(sample_region).prepare_nearest()  # the shared fixture stays as it is
    rg = ReachGraph(reg.net)
    fields = reg._fields
    assert fields is not None
    for code in np.flatnonzero(np.bincount(reg.facilities.category)):
        mine = reg.facilities.snap[np.flatnonzero(reg.facilities.category == code)]
        want = rg.nearest(mine, 20_000)
        assert np.array_equal(fields[code], want.astype(np.float32))
        assert np.array_equal(distance_to_nearest(reg.net, mine, 20_000, rg), want)
