"""The sparse MCLP and p-median models against spopt's own, on small random instances."""

from __future__ import annotations

import numpy as np
import pulp
import pytest
from spopt.locate import MCLP, PMedian

from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.siting_models import Pairs, Problem, mclp, pmedian

pytestmark = pytest.mark.filterwarnings("ignore:.*PuLP 4.0:DeprecationWarning")


def pairs(cost: np.ndarray, keep: np.ndarray) -> Pairs:
    homes, sites = np.nonzero(keep)
    return Pairs(sites.astype(np.int64), homes.astype(np.int64), cost[homes, sites])


@pytest.mark.parametrize("seed", range(4))
def test_mclp_equals_spopt(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 800, (30, 10))
    w = rng.integers(1, 20, 30).astype(float)
    p = int(rng.integers(1, 5))
    ours = mclp(Problem(pairs(cost, cost <= 300), w, 10), p)
    ref = MCLP.from_cost_matrix(cost, w, 300, p).solve(pulp.PULP_CBC_CMD(msg=False))
    assert ours.optimal and len(ours.chosen) == p
    assert ours.objective == pytest.approx(ref.problem.objective.value())


@pytest.mark.parametrize("seed", range(4))
def test_pmedian_equals_spopt_with_a_fixed_fallback(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 800, (30, 10))
    w = rng.integers(0, 20, 30).astype(float)
    fallback = np.minimum(rng.uniform(100, 900, 30), 700.0)
    p = int(rng.integers(1, 5))
    ours = pmedian(Problem(pairs(cost, cost < fallback[:, None]), w, 10), p, fallback)
    fixed = np.r_[np.zeros(10, int), 1]
    ref = PMedian.from_cost_matrix(
        np.column_stack([np.minimum(cost, 700), fallback]),
        w,
        p + 1,
        predefined_facilities_arr=fixed,
    ).solve(pulp.PULP_CBC_CMD(msg=False))
    assert ours.objective == pytest.approx(ref.problem.objective.value(), rel=1e-9)
    # the assignment form (used with capacities) agrees when capacities do not bind
    loose = pmedian(
        Problem(pairs(cost, cost < fallback[:, None]), w, 10, capacity=np.full(10, w.sum() + 1)),
        p,
        fallback,
    )
    assert loose.objective == pytest.approx(ours.objective, rel=1e-9)


def test_bad_sizes() -> None:
    empty = Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    with pytest.raises(InvalidParameter, match="no candidate sites"):
        mclp(Problem(empty, np.ones(3), 0), 1)
    with pytest.raises(InvalidParameter, match="cannot choose 4 sites from 3"):
        pmedian(Problem(empty, np.ones(3), 3), 4, np.ones(3))
    with pytest.raises(InvalidParameter, match="finite"):
        pmedian(Problem(empty, np.ones(3), 3), 1, np.full(3, np.inf))
    with pytest.raises(InvalidParameter, match="as many places as points"):
        Pairs(np.zeros(2, np.int64), np.zeros(1, np.int64), np.zeros(2))
