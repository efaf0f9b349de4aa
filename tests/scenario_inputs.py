"""What the what-if scenarios are built on: random homes and street points near the middle.

Shared by the scenario tests and bench/bench_scenario.py, so that a scenario is measured on
the kind of homes and changes it is tested on.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from numpy.typing import NDArray

from livingcircle.geo.demand import demand_frame
from livingcircle.geo.engine import Region


def random_homes(reg: Region, n: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` homes within a few tens of metres of random street nodes, 1 to 80 residents each."""
    rng = np.random.default_rng(seed)
    xy = reg.net.node_xy[rng.choice(reg.net.n_nodes, n)] + rng.normal(0, 40, (n, 2))
    ll = reg.unproject(xy)
    return demand_frame(
        gpd.points_from_xy(ll[:, 0], ll[:, 1], crs="EPSG:4326"),
        rng.uniform(1, 80, n),
        np.array([f"h{i}" for i in range(n)], dtype=object),
    )


def middle_street_points(reg: Region) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Street points near the middle of the network (lon/lat): a new link's ends, two closures.

    The link joins the mid-points of the street nearest the middle and of one 120 to 400 m
    from it (across a block); the closures are a third of the way along two other streets
    among the 400 nearest.
    """
    net = reg.net
    mid = np.median(net.node_xy, axis=0)
    every = np.arange(net.n_edges, dtype=np.int32)
    near = np.argsort(np.hypot(*(net.points_at(every, net.edge_length / 2) - mid).T))[:400]
    half = net.points_at(near.astype(np.int32), net.edge_length[near] / 2)
    far = np.hypot(*(half - half[0]).T)
    other = int(np.flatnonzero((far > 120) & (far < 400))[0])
    link = reg.unproject(half[[0, other]])
    shut = reg.unproject(
        net.points_at(near[[10, 25]].astype(np.int32), net.edge_length[near[[10, 25]]] / 3)
    )
    return link, shut
