"""Tiles with halos: the split, the halo's reach, and answers equal to the whole network's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from livingcircle.data.synthetic import grid_city
from livingcircle.geo.demand import Demand, demand_from_nodes, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.standards import Standard
from livingcircle.geo.tiles import (
    halo_m,
    horizon_m,
    in_box,
    plan_tiles,
    remap_snap,
    split_boxes,
    subnetwork,
    tile_of,
)

HORIZON = 1125.0


@pytest.fixture(scope="module")
def city(standard: Standard) -> tuple[Region, Demand]:
    nodes, edges, fac = grid_city(6_000, seed=4)
    region = Region("grid", StreetNetwork.from_frames(nodes, edges), fac, standard)
    homes = demand_from_nodes(region.net, region.unproject(region.net.node_xy))
    return region, place_demand(region.net, homes, region.max_snap_m)


def test_split_partitions_the_points_and_follows_density() -> None:
    rng = np.random.default_rng(0)
    dense = rng.normal(0, 100, size=(3000, 2))
    sparse = rng.uniform(-5000, 5000, size=(1000, 2))
    points = np.concatenate([dense, sparse])
    boxes = split_boxes(points, 250)
    owner = np.zeros(len(points), dtype=int)
    for box, idx in boxes:
        assert len(idx) <= 250
        assert in_box(points[idx], box).all()
        owner += in_box(points, box)
    assert (owner == 1).all()  # every point in exactly one box
    areas = [
        (min(b[2], 5000) - max(b[0], -5000)) * (min(b[3], 5000) - max(b[1], -5000))
        for b, _ in boxes
    ]
    near_centre = [a for (b, _), a in zip(boxes, areas, strict=True) if in_box(dense[:1], b)[0]]
    assert near_centre[0] < np.median(areas) / 10  # small tiles where it is dense


def test_split_stops_at_identical_points() -> None:
    boxes = split_boxes(np.zeros((50, 2)), 10)
    assert len(boxes) == 1


def test_horizon_takes_the_fastest_profile_and_the_longest_radius() -> None:
    assert horizon_m([5, 10, 15], [0.8, 1.0, 1.25]) == 1125.0
    assert horizon_m([5], [1.0], [300.0, 1000.0]) == 1000.0
    with pytest.raises(InvalidParameter):
        horizon_m([], [1.0])


def test_halo_holds_every_node_within_the_horizon(city: tuple[Region, Demand]) -> None:
    region, demand = city
    net = region.net
    plan = plan_tiles(net, demand.snap, region.facilities.snap, 400.0, max_points=1500)
    assert len(plan.tiles) >= 6
    indptr, indices, weights, _ = net.csr
    graph = csr_matrix((weights, indices, indptr), shape=(net.n_nodes, net.n_nodes))
    rng = np.random.default_rng(1)
    for tile in plan.tiles:
        home = int(rng.choice(tile.homes))
        start = int(net.edge_u[demand.snap.edge[home]])
        # walks of up to 400 m from the home that leave by its edge's u end
        dist = dijkstra(graph, indices=start, limit=400.0 - demand.snap.offset_m[home])
        reached = np.flatnonzero(np.isfinite(dist))
        assert np.isin(reached, tile.nodes).all()


def test_each_facility_is_owned_by_one_tile(city: tuple[Region, Demand]) -> None:
    region, demand = city
    plan = plan_tiles(region.net, demand.snap, region.facilities.snap, HORIZON, max_points=2000)
    owned = np.concatenate([t.owned for t in plan.tiles])
    assert sorted(owned.tolist()) == list(range(len(region.facilities.snap)))
    homes = np.concatenate([t.homes for t in plan.tiles])
    assert sorted(homes.tolist()) == list(range(len(demand)))
    assert (tile_of(demand.snap.xy, plan.tiles) >= 0).all()
    assert 0 < plan.halo_overhead < 10
    assert plan.halo_m == halo_m(HORIZON)


def test_subnetwork_keeps_lengths_and_snaps(city: tuple[Region, Demand]) -> None:
    region, demand = city
    plan = plan_tiles(region.net, demand.snap, region.facilities.snap, HORIZON, max_points=2000)
    tile = plan.tiles[0]
    sub = subnetwork(region.net, tile)
    assert sub.n_nodes == len(tile.nodes)
    np.testing.assert_array_equal(sub.edge_length, region.net.edge_length[tile.edges])
    snap = remap_snap(demand.snap[tile.homes], tile.edges)
    np.testing.assert_array_equal(tile.edges[snap.edge], demand.snap.edge[tile.homes])
    outside = np.setdiff1d(np.arange(region.net.n_edges), tile.edges)[:1]
    far = demand.snap[np.flatnonzero(np.isin(demand.snap.edge, outside))[:1]]
    if len(far):
        with pytest.raises(InvalidParameter, match="outside the tile"):
            remap_snap(far, tile.edges)


def test_a_tile_too_large_is_split_again_or_refused(city: tuple[Region, Demand]) -> None:
    region, demand = city
    fac = region.facilities.snap
    few = plan_tiles(region.net, demand.snap, fac, HORIZON, max_points=10**6)
    assert len(few.tiles) == 1
    limited = plan_tiles(
        region.net, demand.snap, fac, HORIZON, max_points=10**6, max_subgraph_nodes=4_000
    )
    assert len(limited.tiles) > 1
    assert max(len(t.nodes) for t in limited.tiles) <= 4_000
    with pytest.raises(InvalidParameter, match=r"more than the limit of 50") as info:
        plan_tiles(region.net, demand.snap, fac, HORIZON, max_subgraph_nodes=50)
    assert "street nodes with its halo" in str(info.value)
