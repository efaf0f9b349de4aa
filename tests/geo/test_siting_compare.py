"""Greedy, MCLP and p-median siting on one hand-built district, against spopt's exact optimum.

A 5 x 4 street grid (200 m blocks) with one clinic, 30 homes and 10 candidate parcels. The
walking distances come from :meth:`ReachGraph.pairs_within` (checked against networkx in
test_reach.py); spopt's own ``MCLP`` and ``PMedian`` solve the same dense matrices through
PuLP, and our sparse HiGHS models must reach the same objective.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pulp
import pytest
from spopt.locate import MCLP, PMedian

from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.gaps import Analysis, analyse
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import snap_geometries
from livingcircle.geo.siting_compare import compare_sites, shortfall
from livingcircle.geo.standards import Standard
from tests.geo.test_gaps import demand_at
from tests.handmade import lonlat, region

# spopt builds its models with PuLP calls that PuLP 3.3 marks as going away in PuLP 4.0
pytestmark = pytest.mark.filterwarnings("ignore:.*PuLP 4.0:DeprecationWarning")
N_SITES = 3
BOUND_M = 900.0


@pytest.fixture(scope="module")
def district(standard: Standard) -> tuple[Region, Analysis, gpd.GeoDataFrame]:
    names = {(i, j): f"n{i}{j}" for i in range(5) for j in range(4)}
    nodes = {name: (200.0 * i, 200.0 * j) for (i, j), name in names.items()}
    edges = [(names[i, j], names[i + 1, j]) for i in range(4) for j in range(4)] + [
        (names[i, j], names[i, j + 1]) for i in range(5) for j in range(3)
    ]
    reg = region(nodes, edges, {"c": ("clinic", 0, 0)}, standard)
    rng = np.random.default_rng(14)
    along = rng.uniform(0, 800, 30)
    row = rng.integers(0, 4, 30) * 200.0
    homes = [(float(x), float(y) + 15) for x, y in zip(along, row, strict=True)]
    dem = demand_at(reg, homes, rng.integers(1, 40, 30).astype(float).tolist())
    spots = [(100 + 170 * k % 800, 200 * (k % 4) + 10) for k in range(10)]
    ll = np.array([lonlat(x, y) for x, y in spots])
    parcels = gpd.GeoDataFrame(
        {"capacity": np.full(10, np.nan)},
        geometry=gpd.points_from_xy(ll[:, 0], ll[:, 1]),
        crs="EPSG:4326",
    )
    return reg, analyse(reg, dem, categories=["clinic"]), parcels


def dense(reg: Region, res: Analysis, parcels: gpd.GeoDataFrame, radius: float) -> np.ndarray:
    """(homes x parcels) walking distances, inf beyond ``radius``."""
    snap, _ = snap_geometries(reg.net, parcels.geometry.to_crs(reg.net.crs).to_numpy(), 200)
    out = np.full((len(res.demand), len(parcels)), np.inf)
    for c in ReachGraph(reg.net).pairs_within(snap, res.demand.snap, radius):
        out[c.point, c.place] = c.dist_m
    return out


def test_mclp_equals_spopt_and_beats_or_ties_greedy(district: tuple) -> None:
    reg, res, parcels = district
    summary, sites = compare_sites(reg, res, "clinic", N_SITES, parcels)
    by = summary.set_index("method")
    acc = res.access("clinic")
    uncovered = acc.nearest_m > acc.radius_m
    assert uncovered.sum() > 10  # the instance is not trivial
    cost = dense(reg, res, parcels, acc.radius_m)[uncovered]
    pop = res.demand.population[uncovered]
    ref = MCLP.from_cost_matrix(cost, pop, acc.radius_m, N_SITES).solve(
        pulp.PULP_CBC_CMD(msg=False)
    )
    assert by.loc["mclp", "newly_covered_population"] == pytest.approx(
        ref.problem.objective.value()
    )
    assert by.loc["mclp", "objective"] == pytest.approx(ref.problem.objective.value())
    assert by.loc["mclp", "optimal"]
    assert (
        by.loc["greedy", "newly_covered_population"]
        <= by.loc["mclp", "newly_covered_population"] + 1e-9
    )
    assert by.loc["mclp", "share_of_mclp_optimum"] == pytest.approx(1.0)
    assert set(sites["method"]) == {"greedy", "mclp", "pmedian"}
    assert (sites.groupby("method").size() == N_SITES).all()
    assert sites.crs.to_epsg() == 4326
    notes = shortfall(summary)
    assert notes[0].startswith("clinic: greedy ") and "MCLP optimum" in notes[0]
    assert "p-median optimum" in notes[1]


def test_pmedian_equals_spopt_with_the_existing_clinic_fixed(district: tuple) -> None:
    reg, res, parcels = district
    summary, _ = compare_sites(
        reg, res, "clinic", N_SITES, parcels, methods=["pmedian"], max_walk_m=BOUND_M
    )
    row = summary.iloc[0]
    pop = res.demand.population
    existing = np.minimum(res.access("clinic").nearest_m, BOUND_M)
    cost = np.minimum(dense(reg, res, parcels, BOUND_M), BOUND_M)
    # the existing clinic is one more column, always open: spopt's predefined facility
    matrix = np.column_stack([cost, existing])
    fixed = np.zeros(matrix.shape[1], dtype=int)
    fixed[-1] = 1
    ref = PMedian.from_cost_matrix(matrix, pop, N_SITES + 1, predefined_facilities_arr=fixed).solve(
        pulp.PULP_CBC_CMD(msg=False)
    )
    assert row["objective"] == pytest.approx(ref.problem.objective.value(), rel=1e-9)
    assert row["total_weighted_m"] == pytest.approx(row["objective"], rel=1e-9)
    assert row["mean_m"] == pytest.approx(row["objective"] / pop.sum())
    # without new sites everyone walks to the existing clinic: the model can only do better
    assert row["objective"] <= pop @ existing


def test_existing_facilities_stay_covered(district: tuple) -> None:
    reg, res, parcels = district
    summary, _ = compare_sites(reg, res, "clinic", N_SITES, parcels)
    acc = res.access("clinic")
    covered_now = res.demand.population[acc.nearest_m <= acc.radius_m].sum()
    assert covered_now > 0
    # only residents beyond the existing clinic's radius count as newly covered
    beyond = res.demand.population[acc.nearest_m > acc.radius_m].sum()
    assert (summary["newly_covered_population"] <= beyond + 1e-9).all()


def test_capacity_is_respected(district: tuple) -> None:
    reg, res, parcels = district
    small = parcels.assign(capacity=20.0)
    summary, sites = compare_sites(reg, res, "clinic", N_SITES, small, methods=["mclp"])
    assert summary.iloc[0]["objective"] <= 20.0 * N_SITES + 1e-6
    assert (sites["capacity"] == 20).all()
    free, _ = compare_sites(reg, res, "clinic", N_SITES, parcels, methods=["mclp"])
    assert summary.iloc[0]["objective"] <= free.iloc[0]["objective"] + 1e-9


def test_street_point_candidates(district: tuple) -> None:
    reg, res, _ = district
    summary, sites = compare_sites(reg, res, "clinic", 2, max_candidates=6)
    assert (summary["candidates"] <= 6).all()
    assert len(sites) == 2 * 3


def test_clear_errors(district: tuple) -> None:
    reg, res, parcels = district
    with pytest.raises(InvalidParameter, match="from 10 candidate sites"):
        compare_sites(reg, res, "clinic", 11, parcels)
    with pytest.raises(InvalidParameter, match="allowed greedy, mclp, pmedian"):
        compare_sites(reg, res, "clinic", 2, parcels, methods=["tabu"])
    with pytest.raises(InvalidParameter, match="from 0 candidate sites"):
        compare_sites(reg, res, "clinic", 2, radius_m=5000)  # everyone covered: no street points
    with pytest.raises(InvalidParameter, match="capacity column"):
        compare_sites(reg, res, "clinic", 2, capacity="beds")


def test_plan_compares_only_when_asked(district: tuple) -> None:
    from livingcircle.geo.planning import plan  # noqa: PLC0415

    reg, res, parcels = district
    plain = plan(reg, res.demand, ["clinic"], N_SITES, parcels)
    assert plain.siting_comparison.empty and plain.compared_sites.empty
    both = plan(
        reg, res.demand, ["clinic"], N_SITES, parcels, methods=("greedy", "mclp", "pmedian")
    )
    assert both.siting_comparison["method"].tolist() == ["greedy", "mclp", "pmedian"]
    assert len(both.compared_sites) == 3 * N_SITES
    assert both.sites.equals(plain.sites)  # the greedy picks are as before
