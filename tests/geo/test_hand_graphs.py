"""Small networks where every answer is known by hand.

Positions go through the region's UTM projection, so expectations hold to a few
centimetres (``TOL``), not to the nanometre; the exact comparison is the networkx reference
test on the real network.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from pyproj import Geod

from livingcircle.geo import config
from livingcircle.geo.errors import InvalidParameter, UnknownCategory
from livingcircle.geo.routing import search, snap_points
from livingcircle.geo.standards import Standard
from tests.handmade import lonlat, region

TOL = 0.2  # metres


@pytest.fixture(params=[False, True], ids=["widening", "prepared"])
def prepared(request: pytest.FixtureRequest) -> bool:
    """Nearest queries with and without the distance fields give the same answers."""
    return bool(request.param)


def _pieces(reg, x, y, budget):  # type: ignore[no-untyped-def]
    xy = reg.project(*lonlat(x, y))
    start = snap_points(reg.net, xy, 100.0)
    srch = search(reg.net, start, budget)
    e, s, t = srch.reached_pieces(budget)
    return sorted(zip(e.tolist(), np.round(s, 1).tolist(), np.round(t, 1).tolist(), strict=True))


def test_partly_reached_edge_counts_only_its_reached_part(standard: Standard) -> None:
    reg = region({"A": (0, 0), "B": (300, 0)}, [("A", "B")], {}, standard)
    pieces = _pieces(reg, 0, -10, 50.0)
    assert len(pieces) == 1
    edge, start, end = pieces[0]
    assert (edge, start) == (0, 0.0) and end == pytest.approx(50.0, abs=TOL)
    # 1 minute at 1 m/s: 60 m budget less the 10 m access leg, 50 m along the street
    ring = reg.catchment(*lonlat(0, -10), minutes=[1], speed_m_s=1.0).rings[0].polygon
    assert ring.contains(shapely.Point(lonlat(45, 0)))
    assert ring.contains(shapely.Point(lonlat(45, 40)))
    assert not ring.contains(shapely.Point(lonlat(130, 0)))  # past 50 m reach + 50 m frontage


def test_edge_reached_from_both_ends_keeps_its_unreached_middle(standard: Standard) -> None:
    nodes = {"X": (0, 0), "Y": (0, 40)}
    u_shape = ("X", "Y", False, [(200, 0), (200, 40)])  # 440 m around
    reg = region(nodes, [("X", "Y"), u_shape], {}, standard)
    # start mid-way along XY, 3 m off it; budget 117 m: 20 m to either end, 97 m beyond
    pieces = _pieces(reg, -3, 20, 117.0 - 3.0)
    long_edge = [(s, t) for e, s, t in pieces if e == 1]
    assert len(long_edge) == 2
    (s1, t1), (s2, t2) = sorted(long_edge)
    assert s1 == 0.0 and t1 == pytest.approx(94.0, abs=TOL)
    assert s2 == pytest.approx(440 - 94.0, abs=TOL) and t2 == pytest.approx(440.0, abs=TOL)
    ring = reg.catchment(*lonlat(-3, 20), minutes=[2], speed_m_s=1.0).rings[0].polygon
    assert ring.contains(shapely.Point(lonlat(60, 0)))
    assert ring.contains(shapely.Point(lonlat(60, 40)))
    assert not ring.contains(shapely.Point(lonlat(200, 20)))  # far end of the U, unreached


def test_one_way_path_forces_the_detour(standard: Standard, prepared: bool) -> None:
    nodes = {"A": (0, 0), "B": (100, 0), "C": (50, 80)}
    edges = [("A", "B", True), ("B", "C"), ("C", "A")]
    reg = region(nodes, edges, {"f": ("clinic", 70, 0)}, standard, prepared)
    side = math.hypot(50, 80)
    # start 95 m along the one-way A->B: the clinic 25 m back is reached only round the loop
    hit = reg.nearest(*lonlat(95, -3), ["clinic"], speed_m_s=1.0).by_category["clinic"][0]
    assert hit.distance_m == pytest.approx(3 + 5 + 2 * side + 70, abs=TOL)
    # ... and its route goes round the loop too, not 25 m back against the traffic
    assert hit.route is not None
    assert Geod(ellps="WGS84").geometry_length(hit.route) == pytest.approx(
        5 + 2 * side + 70, abs=1.0
    )
    # start 50 m along: the clinic is 20 m ahead, with the traffic
    hit = reg.nearest(*lonlat(50, -3), ["clinic"], speed_m_s=1.0).by_category["clinic"][0]
    assert hit.distance_m == pytest.approx(3 + 20, abs=TOL)
    # a two-way copy of the same network takes the short way back
    two_way = region(
        nodes, [("A", "B"), ("B", "C"), ("C", "A")], {"f": ("clinic", 70, 0)}, standard, prepared
    )
    hit = two_way.nearest(*lonlat(95, -3), ["clinic"], speed_m_s=1.0).by_category["clinic"][0]
    assert hit.distance_m == pytest.approx(3 + 25, abs=TOL)


def test_islands_are_unreachable_not_near(standard: Standard, prepared: bool) -> None:
    nodes = {"A": (0, 0), "B": (200, 0), "C": (0, 300), "D": (200, 300)}
    facilities = {"near": ("pharmacy", 150, 0), "island": ("clinic", 20, 300)}
    reg = region(nodes, [("A", "B"), ("C", "D")], facilities, standard, prepared)
    result = reg.nearest(*lonlat(10, 5), ["clinic", "pharmacy"], speed_m_s=1.0)
    assert result.by_category["clinic"] == []  # 295 m away in a straight line, no path
    assert result.by_category["pharmacy"][0].distance_m == pytest.approx(5 + 140, abs=TOL)
    catch = reg.catchment(*lonlat(10, 5), speed_m_s=1.0)
    assert [h.id for h in catch.facilities] == ["near"]
    assert not catch.rings[-1].polygon.contains(shapely.Point(lonlat(100, 300)))


def test_ties_break_by_facility_id(standard: Standard, prepared: bool) -> None:
    # the start is the middle node; both pharmacies sit at street ends exactly 100 m away
    points = {"b-left": ("pharmacy", 0, 0), "a-right": ("pharmacy", 200, 0)}
    nodes = {"A": (0, 0), "M": (100, 0), "B": (200, 0)}
    reg = region(nodes, [("M", "A"), ("M", "B")], points, standard, prepared)
    one = reg.nearest(*lonlat(100, 0), ["pharmacy"], k=1).by_category["pharmacy"]
    assert [h.id for h in one] == ["a-right"]
    two = reg.nearest(*lonlat(100, 0), ["pharmacy"], k=2).by_category["pharmacy"]
    assert [h.id for h in two] == ["a-right", "b-left"]
    assert two[0].distance_m == pytest.approx(two[1].distance_m, abs=1e-6)


def test_k_nearest_are_sorted_and_bounded(standard: Standard, prepared: bool) -> None:
    points = {f"p{i}": ("pharmacy", 20.0 * i + 10, 0) for i in range(5)}
    reg = region({"A": (0, 0), "B": (200, 0)}, [("A", "B")], points, standard, prepared)
    hits = reg.nearest(*lonlat(0, 0), ["pharmacy"], k=3).by_category["pharmacy"]
    assert [h.id for h in hits] == ["p0", "p1", "p2"]
    assert [round(h.distance_m) for h in hits] == [10, 30, 50]
    few = reg.nearest(*lonlat(0, 0), ["pharmacy"], k=10).by_category["pharmacy"]
    assert len(few) == 5


def test_speed_and_profiles_scale_time_not_distance(standard: Standard) -> None:
    reg = region({"A": (0, 0), "B": (200, 0)}, [("A", "B")], {"f": ("toilets", 120, 0)}, standard)
    normal = reg.nearest(*lonlat(0, 0), ["toilets"]).by_category["toilets"][0]
    elderly = reg.nearest(*lonlat(0, 0), ["toilets"], profile="elderly").by_category["toilets"][0]
    assert elderly.distance_m == pytest.approx(normal.distance_m)
    assert elderly.time_s == pytest.approx(normal.time_s / 0.8)


def test_catchment_rings_nest_and_assign_facilities(standard: Standard) -> None:
    points = {"a": ("pharmacy", 250, 0), "b": ("pharmacy", 450, 0), "c": ("pharmacy", 1000, 0)}
    reg = region({"A": (0, 0), "B": (1200, 0)}, [("A", "B")], points, standard)
    result = reg.catchment(*lonlat(0, 0), minutes=[5, 10, 15], speed_m_s=1.0)
    assert {h.id: h.ring_minutes for h in result.facilities} == {"a": 5, "b": 10}
    polys = [r.polygon for r in result.rings]
    assert polys[0].buffer(1e-9).within(polys[1].buffer(1e-9))
    assert polys[1].buffer(1e-9).within(polys[2].buffer(1e-9))
    tier5 = next(t for t in result.tiers if t.minutes == 5)
    shops = next(r for r in tier5.requirements if r.id == "community_shops")
    assert shops.present is True and shops.nearest_id == "a"
    assert "kindergarten" in tier5.missing


@pytest.mark.parametrize("minutes", [[0], [61], [], [5, 10, 15, 20, 25, 30, 35]])
def test_minutes_out_of_range_are_refused(standard: Standard, minutes: list[int]) -> None:
    reg = region({"A": (0, 0), "B": (200, 0)}, [("A", "B")], {}, standard)
    with pytest.raises(InvalidParameter, match="allowed: 1 to 6 whole minutes"):
        reg.catchment(*lonlat(0, 0), minutes=minutes)


def test_unknown_category_names_the_allowed_ones(standard: Standard) -> None:
    reg = region({"A": (0, 0), "B": (200, 0)}, [("A", "B")], {}, standard)
    with pytest.raises(UnknownCategory, match=r"allowed: .*pharmacy"):
        reg.nearest(*lonlat(0, 0), ["chemists"])
    with pytest.raises(KeyError):  # also a KeyError, for callers that catch builtins
        reg.nearest(*lonlat(0, 0), ["chemists"])


def test_prepared_search_goes_only_as_far_as_the_answer(standard: Standard) -> None:
    points = {"near": ("pharmacy", 120, 0), "far": ("clinic", 1900, 0)}
    nodes = {"A": (0, 0), "B": (2000, 0)}
    plain = region(nodes, [("A", "B")], points, standard)
    ready = region(nodes, [("A", "B")], points, standard, prepared=True)
    for reg in (plain, ready):
        hit = reg.nearest(*lonlat(100, 0), ["pharmacy"]).by_category["pharmacy"][0]
        assert hit.distance_m == pytest.approx(20, abs=TOL)
    # without fields: a detour beyond the crow-flies 20 m, but at least the smallest radius
    assert plain.nearest(*lonlat(100, 0), ["pharmacy"]).searched_m == config.NEAREST_MIN_RADIUS_M
    # bounded by the walk through the edge's end (100 m back to A, 120 m on), not 1 km
    assert ready.nearest(*lonlat(100, 0), ["pharmacy"]).searched_m == pytest.approx(220, abs=1)
    # the clinic: one search of 2 km (round either end of the edge) with the fields, and
    # without them one search a detour beyond its 1.8 km as the crow flies (no widening)
    assert ready.nearest(*lonlat(100, 0), ["clinic"]).searched_m == pytest.approx(2000, abs=1)
    crow = 1800 / config.DISC_SLACK * config.NEAREST_DETOUR
    assert plain.nearest(*lonlat(100, 0), ["clinic"]).searched_m == pytest.approx(crow, rel=1e-3)


def test_parallel_streets_keep_the_shortest_arc_each_way(standard: Standard) -> None:
    """Two streets from A to B (a straight one and a bend) and a one-way back: each
    direction keeps only its shortest arc, and the edge it walks."""
    nodes = {"A": (0, 0), "B": (100, 0), "C": (0, 100)}
    edges = [("A", "B", False, [(50, 40)]), ("A", "B"), ("B", "A", True), ("A", "C")]
    net = region(nodes, edges, {}, standard).net
    indptr, dst, w, arc_edge = net.csr
    arcs = {
        (int(u), int(dst[i])): (float(w[i]), int(arc_edge[i]))
        for u in range(net.n_nodes)
        for i in range(indptr[u], indptr[u + 1])
    }
    assert set(arcs) == {(0, 1), (1, 0), (0, 2), (2, 0)}
    assert arcs[0, 1] == (net.edge_length[1], 1)  # the straight street, not the bend
    back = min(net.edge_length[1], net.edge_length[2])
    assert arcs[1, 0][0] == back and net.edge_length[arcs[1, 0][1]] == back
    assert net.edge_length[0] > net.edge_length[1] + 10
