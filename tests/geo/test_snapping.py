"""Vectorised snapping gives GEOS's answers: the same edge, the same offset and access leg.

GEOS's nearest search (``STRtree.query_nearest``, one tree walk per point) is what snapping
always was; it stays in ``routing._snap_geos`` as the reference and as the judge of ties.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from livingcircle.data.synthetic import grid_city
from livingcircle.geo import snapping
from livingcircle.geo.engine import Region
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.positions import Snap
from livingcircle.geo.routing import _snap_geos, snap_geometries, snap_points
from livingcircle.geo.standards import Standard
from tests.handmade import region


@pytest.fixture(scope="module")
def grid_net() -> StreetNetwork:
    nodes, edges, _ = grid_city(10_000, seed=0)
    return StreetNetwork.from_frames(nodes, edges)


def _points(net: StreetNetwork) -> np.ndarray:
    """Random points (some beyond the snap limit), nodes, near-nodes and edge midpoints."""
    rng = np.random.default_rng(3)
    lo, hi = net.node_xy.min(0), net.node_xy.max(0)
    mid = (net.node_xy[net.edge_u] + net.node_xy[net.edge_v]) / 2
    return np.vstack(
        [
            rng.uniform(lo - 300, hi + 300, (20_000, 2)),
            net.node_xy,
            net.node_xy + rng.normal(0, 5, net.node_xy.shape),
            mid,
        ]
    )


def _same(net: StreetNetwork, got: Snap, want: Snap, start: np.ndarray) -> None:
    """``got`` is GEOS's ``want``, with the access leg from ``start`` on the ellipsoid."""
    assert np.array_equal(got.edge, want.edge)
    ok = want.edge >= 0
    assert np.array_equal(np.isnan(got.offset_m), ~ok)
    assert np.abs(got.offset_m - want.offset_m)[ok].max(initial=0) <= 1e-9
    assert np.abs(got.xy - want.xy)[ok].max(initial=0) <= 1e-9
    legs = net.geodesic_legs(start[ok], want.xy[ok])
    assert np.abs(got.access_m[ok] - legs).max(initial=0) <= 1e-9
    # the plane's leg differs from the ellipsoid's by the projection's scale, under 0.1 %
    assert np.abs(legs - want.access_m[ok]).max(initial=0) <= 1e-3 * legs.max(initial=0)


@pytest.mark.parametrize("which", ["sample", "grid"])
def test_points_snap_as_geos_snaps_them(
    which: str, sample_region: Region, grid_net: StreetNetwork
) -> None:
    net = sample_region.net if which == "sample" else grid_net
    xy = _points(net)
    _same(net, snap_points(net, xy, 250.0), _snap_geos(net, shapely.points(xy), 250.0)[0], xy)


def test_facilities_and_their_anchors_snap_as_before(sample_region: Region) -> None:
    from livingcircle.data.osm_file import read_osm_file  # noqa: PLC0415
    from livingcircle.data.sample import sample_file  # noqa: PLC0415
    from livingcircle.geo.standards import load_standard  # noqa: PLC0415

    net = sample_region.net
    facilities = read_osm_file(sample_file(), load_standard()).facilities
    geoms = facilities.geometry.to_crs(net.crs).to_numpy()
    assert (shapely.get_type_id(geoms) != 0).any()  # polygons as well as points
    got, anchor = snap_geometries(net, geoms, 500.0)
    want, want_anchor = _snap_geos(net, geoms, 500.0)
    _same(net, got, want, want_anchor)
    assert np.array_equal(np.isnan(anchor), np.isnan(want_anchor))
    assert np.nanmax(np.abs(anchor - want_anchor)) == 0.0


def test_a_point_equally_near_two_edges_keeps_geos_choice(standard: Standard) -> None:
    # at node A two edges meet; points on A, and off the corner where both are nearest at A,
    # are equally near both: GEOS chooses, as it always did
    nodes = {"A": (0, 0), "B": (100, 0), "C": (0, 40), "D": (100, 40), "E": (0, -60)}
    reg = region(nodes, [("A", "B"), ("C", "D"), ("E", "A")], {}, standard)
    net = reg.net
    a = net.node_xy[0]
    xy = a + np.array([[0.0, 0.0], [-10, 10], [-3, 2], [50, 5], [30, 20.5]])
    got = snap_points(net, xy, 250.0)
    _same(net, got, _snap_geos(net, shapely.points(xy), 250.0)[0], xy)
    _, _, _, tie = net.segment_index.nearest(xy, 250.0)
    assert tie.tolist() == [True, True, True, False, False]


def test_numpy_path_finds_what_the_compiled_one_does(grid_net: StreetNetwork) -> None:
    index = grid_net.segment_index
    xy = _points(grid_net)
    seg, dist, frac, tie = index.nearest(xy, 250.0)
    n_seg, n_dist, n_frac, n_tie = index.nearest_numpy(xy, 250.0)
    n_seg[n_dist > 250.0] = -1
    ok = seg >= 0
    assert np.array_equal(tie[ok], n_tie[ok])
    assert np.array_equal(seg[~tie], n_seg[~tie])  # ties go to GEOS, whichever each picks
    sure = ok & ~tie
    assert np.abs(dist - n_dist)[ok].max() <= 1e-9
    assert np.abs(frac - n_frac)[sure].max() <= 1e-9


def test_an_index_without_segments_snaps_nothing() -> None:
    index = snapping.SegmentIndex(np.zeros((0, 2)), np.zeros(1, dtype=np.int64))
    seg, dist, _, tie = index.nearest(np.array([[0.0, 0.0]]), 250.0)
    assert seg.tolist() == [-1] and np.isinf(dist[0]) and not tie[0]


def test_no_answer_is_shorter_than_the_crow_flies(sample_region: Region) -> None:
    reg = sample_region
    rng = np.random.default_rng(11)
    nodes = reg.net.node_xy[rng.integers(0, reg.net.n_nodes, 25)]
    starts = reg.unproject(nodes + rng.normal(0, 15, nodes.shape))
    geod = Geod(ellps="WGS84")
    fac = reg.facilities
    anchor = reg.unproject(fac.anchor_xy)
    row = {fid: i for i, fid in enumerate(fac.text["id"])}
    slack = []
    for lon, lat in starts.tolist():
        hits = [
            h for hs in reg.nearest(lon, lat, k=3, routes=False).by_category.values() for h in hs
        ]
        hits += reg.catchment(lon, lat).facilities
        rows = np.array([row[h.id] for h in hits])
        _, _, crow = geod.inv(np.full(len(rows), lon), np.full(len(rows), lat), *anchor[rows].T)
        slack.append(np.array([h.distance_m for h in hits]) - crow)
    assert np.concatenate(slack).min() >= -1e-6


@pytest.mark.parametrize("cell_m", [12.0, 40.0, 250.0])
def test_cells_passed_over_hide_no_nearer_segment(grid_net: StreetNetwork, cell_m: float) -> None:
    """The compiled scan skips cells farther than its best so far: at any cell width (many
    rings, or one cell holding many segments) it finds the distances the NumPy scan does."""
    xy_v, ptr, _, _ = grid_net.vertices
    index = snapping.SegmentIndex(xy_v, ptr, cell_m=cell_m)
    xy = _points(grid_net)
    seg, dist, _, tie = index.nearest(xy, 250.0)
    _, n_dist, _, n_tie = index.nearest_numpy(xy, 250.0)
    ok = seg >= 0
    assert np.array_equal(ok, n_dist <= 250.0)
    assert np.abs(dist - n_dist)[ok].max() <= 1e-9
    assert np.array_equal(tie[ok], n_tie[ok])
