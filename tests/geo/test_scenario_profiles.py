"""A scenario at a walking profile: closures named on the stored streets, on the real sample.

A profile's view renumbers the stored region's edges (step-free leaves the sample's
``highway=steps`` out), so a closure is resolved on the stored streets, then on the view's;
one the profile does not walk changes nothing for it and is noted, and the ``streets``
layer gives stored edge ids.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from numpy.typing import NDArray

from livingcircle.data.osm_file import Extract
from livingcircle.data.sample import sample_homes
from livingcircle.geo.demand import Demand, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import Analysis, analyse
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.profile_views import walked_demand
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.scenario import (
    ClosedStreet,
    Scenario,
    ScenarioResult,
    check_scenario,
    run_scenario,
)
from livingcircle.geo.standards import Standard

CATEGORIES = ["clinic", "pharmacy"]


class At:
    """The sample walked at one profile: its region (a view or itself), homes, before."""

    def __init__(self, stored: Region, demand: Demand, profile: str, ways: NDArray[np.int64]):
        self.region, self.demand = walked_demand(stored, demand, profile)
        self.graph = ReachGraph(self.region.net)
        speed = stored.standard.speed(profile)
        self.before: Analysis = analyse(
            self.region, self.demand, CATEGORIES, speed_m_s=speed, graph=self.graph,
            profile=profile,
        )  # fmt: skip
        self.ways = ways

    def run(self, *closed: ClosedStreet) -> ScenarioResult:
        spec = Scenario("closures", close_streets=closed)
        check_scenario(self.region, spec, self.ways)  # the check agrees with the run
        return run_scenario(self.region, self.demand, self.before, spec, self.graph, self.ways)


@pytest.fixture(scope="module")
def stored(sample_extract: Extract, standard: Standard) -> Region:
    net = StreetNetwork.from_frames(sample_extract.nodes, sample_extract.edges)
    return Region("helsinki", net, sample_extract.facilities, standard)


@pytest.fixture(scope="module")
def ways(sample_extract: Extract) -> NDArray[np.int64]:
    return np.asarray(sample_extract.edges["way_id"], dtype=np.int64)


@pytest.fixture(scope="module")
def both(stored: Region, ways: NDArray[np.int64]) -> dict[str, At]:
    homes = sample_homes(stored).iloc[::5]
    demand = place_demand(stored.net, homes, stored.max_snap_m)
    return {p: At(stored, demand, p, ways) for p in ("standard", "step-free")}


def _steps(stored: Region) -> NDArray[np.int64]:
    return np.flatnonzero(stored.net.edge_tags["highway"] == "steps")


def _lonlat_on(stored: Region, edge: int) -> tuple[float, float]:
    """A point in the middle of a stored edge (lon, lat)."""
    mid = shapely.line_interpolate_point(stored.net.edge_geom[edge], 0.5, normalized=True)
    lon, lat = stored.unproject(shapely.get_coordinates(mid))[0]
    return float(lon), float(lat)


def _alone(stored: Region, edges: NDArray[np.int64], gap_m: float = 3.0) -> int:
    """An edge of ``edges`` whose middle is more than ``gap_m`` from every other edge."""
    for e in edges.tolist():
        mid = shapely.line_interpolate_point(stored.net.edge_geom[e], 0.5, normalized=True)
        near = stored.net.edge_tree.query(mid, predicate="dwithin", distance=gap_m)
        if set(near.tolist()) == {e}:
            return int(e)
    raise AssertionError("no edge stands alone")


def _unchanged(result: ScenarioResult) -> None:
    for c in CATEGORIES:
        assert np.array_equal(result.before.minutes_to(c), result.after.minutes_to(c))


def test_the_sample_has_steps_step_free_leaves_out(stored: Region, both: dict[str, At]) -> None:
    view = both["step-free"].region
    assert view is not stored and view.walking.base is stored
    assert len(_steps(stored)) == 114
    assert not np.isin(_steps(stored), view.walking.base_edges).any()


def test_closing_a_steps_way_at_step_free_is_accepted_and_changes_nothing(
    stored: Region, ways: NDArray[np.int64], both: dict[str, At]
) -> None:
    way = int(ways[_steps(stored)[0]])
    result = both["step-free"].run(ClosedStreet(way_id=way))
    assert len(result.streets) == 0
    assert result.network is not None and not result.network.closed.any()
    assert any("step-free profile walks none of the" in n for n in result.notes)
    _unchanged(result)
    plain = both["standard"].run(ClosedStreet(way_id=way))  # standard walks the steps
    assert sorted(plain.streets["edge"]) == np.flatnonzero(ways == way).tolist()
    assert plain.notes == ()


def test_closing_at_a_point_on_steps_at_step_free_closes_those_steps(
    stored: Region, both: dict[str, At]
) -> None:
    edge = _alone(stored, _steps(stored))
    at = ClosedStreet(at=_lonlat_on(stored, edge))
    free = both["step-free"].run(at)
    assert len(free.streets) == 0  # no neighbour the profile walks is closed instead
    assert free.network is not None and not free.network.closed.any()
    note = "close_street #1: the step-free profile walks none"
    assert any(n.startswith(note) for n in free.notes)
    _unchanged(free)
    plain = both["standard"].run(at)
    assert plain.streets["edge"].tolist() == [edge]


def test_the_streets_layer_gives_stored_edge_ids(
    stored: Region, ways: NDArray[np.int64], both: dict[str, At]
) -> None:
    view = both["step-free"].region
    kept = view.walking.base_edges
    assert kept is not None
    walked = np.isin(np.arange(stored.net.n_edges), kept)
    # a way of several edges, all walked at step-free, far into the renumbered edges
    every = {int(w) for w in np.unique(ways[walked])} - {int(w) for w in ways[~walked]}
    far = [e for e in kept[len(kept) // 2 :].tolist() if int(ways[e]) in every]
    way = next(int(ways[e]) for e in far if (ways == ways[e]).sum() > 1)
    mine = np.flatnonzero(ways == way)
    edge = _alone(stored, kept[np.isin(kept, mine)])
    for name, at in both.items():
        by_way = at.run(ClosedStreet(way_id=way))
        assert sorted(by_way.streets["edge"]) == mine.tolist(), name
        assert by_way.notes == ()
        lengths = by_way.streets.sort_values("edge")["length_m"].to_numpy()
        assert lengths == pytest.approx(stored.net.edge_length[mine], abs=1e-9)
        by_point = at.run(ClosedStreet(at=_lonlat_on(stored, edge)))
        assert by_point.streets["edge"].tolist() == [edge], name
        ids = by_point.streets["edge"].to_numpy()
        assert shapely.equals_exact(
            by_point.streets.geometry.to_numpy(),
            shapely.transform(stored.net.edge_geom[ids], stored.unproject),
            1e-9,
        ).all()
    free = both["step-free"].run(ClosedStreet(way_id=way))
    assert free.network is not None and free.network.closed.sum() == len(mine)
    assert np.array_equal(kept[np.flatnonzero(free.network.closed)], mine)
