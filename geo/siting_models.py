"""Maximal coverage (MCLP) and p-median on sparse walking distances, solved exactly by HiGHS.

These are spopt's models (``spopt.locate.MCLP`` and ``spopt.locate.PMedian``: Church and
ReVelle's maximal covering location problem, Hakimi's p-median in ReVelle and Swain's strong
form), written over the sparse pairs a bounded search finds instead of a dense
demand x candidate matrix, and handed to HiGHS as arrays. spopt builds its models term by
term in Python over every cell of the dense matrix, which does not reach a district of a
million homes; the same optimum comes out here (tests/geo/test_siting_models.py solves
spopt's own classes on small instances and compares).

Existing facilities are not candidates: they enter as data. For MCLP the residents they
already cover are left out (they stay covered whatever is built); for p-median every resident
has a *fallback* cost, the walk to the nearest existing facility capped at a bound, and is
served by a new site only where that is nearer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix

from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.network import FloatArray

IntArray = NDArray[np.int64]

#: Longest a solve may run by default (seconds); the best sites found by then are returned,
#: marked not optimal, with the solver's gap.
DEFAULT_TIME_LIMIT_S = 300.0


@dataclass(frozen=True)
class Pairs:
    """Candidate-point pairs with their walking distance, in any order.

    ``place`` indexes candidate sites, ``point`` demand points (or groups of them).
    """

    place: IntArray
    point: IntArray
    dist_m: FloatArray

    def __post_init__(self) -> None:
        if not len(self.place) == len(self.point) == len(self.dist_m):
            raise InvalidParameter(
                f"pairs need as many places as points and distances; got {len(self.place)} "
                f"places, {len(self.point)} points and {len(self.dist_m)} distances"
            )

    def __len__(self) -> int:
        """Number of pairs."""
        return len(self.place)

    def subset(self, keep: NDArray[np.bool_] | IntArray) -> Pairs:
        """The pairs a boolean mask or an index array keeps."""
        return Pairs(self.place[keep], self.point[keep], self.dist_m[keep])


@dataclass(frozen=True)
class Problem:
    """What both models solve over: who can be served from where, and the solve's bounds.

    Attributes
    ----------
    pairs
        ``(candidate, point)`` pairs: for MCLP those within the service radius; for p-median
        with the walk in metres, where only pairs nearer than the point's fallback matter.
    weight
        Residents per point (MCLP points with equal candidate sets may be merged beforehand).
    n_candidates
        Number of candidates (some may reach nobody).
    capacity
        Residents each candidate can serve (``inf`` or NaN: no limit; None: none limited).
        MCLP then assigns residents to a chosen site within reach and within its capacity (a
        capacitated MCLP: spopt's has none); p-median may split a point between sites, and
        existing facilities are not limited.
    time_limit_s, mip_gap
        Bounds on the solve: seconds, and the relative gap accepted as optimal.
    """

    pairs: Pairs
    weight: FloatArray
    n_candidates: int
    capacity: FloatArray | None = None
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    mip_gap: float = 0.0

    def capacities(self, p: int) -> FloatArray | None:
        """The finite capacities (None when no candidate is limited), once ``p`` is checked."""
        _check_p(p, self.n_candidates)
        return _capacities(self.capacity, self.n_candidates)

    def solve(self, model: _Model, started: float, sign: float, constant: float) -> Solution:
        """Solve ``model``; the objective is ``sign`` times the solver's plus ``constant``."""
        x, value, optimal, status, gap = model.solve(self.time_limit_s, self.mip_gap)
        chosen = np.flatnonzero(x[: self.n_candidates] > 0.5).astype(np.int64)
        seconds = time.perf_counter() - started
        return Solution(chosen, sign * value + constant, optimal, status, gap, seconds)


@dataclass(frozen=True)
class Solution:
    """What the solver chose.

    Attributes
    ----------
    chosen
        Candidate indices, ascending.
    objective
        The model's objective at ``chosen``: residents covered (MCLP) or the population-
        weighted walk in metres of the points given (p-median).
    optimal
        Whether the solver proved it optimal (within ``mip_gap``).
    status
        The solver's word for how it ended.
    gap
        Relative gap between ``objective`` and the best bound (0 when optimal).
    solve_s
        Seconds to build and solve the model.
    """

    chosen: IntArray
    objective: float
    optimal: bool
    status: str
    gap: float
    solve_s: float


def mclp(problem: Problem, p: int) -> Solution:
    """Choose ``p`` candidates covering the most weight (maximal covering location problem).

    ``problem.pairs`` are the pairs where the point lies within the service radius; the
    objective is the residents covered.
    """
    t0 = time.perf_counter()
    caps = problem.capacities(p)
    cover, weight, n_cand = problem.pairs, problem.weight, problem.n_candidates
    if caps is None:
        model = _mclp_model(cover, weight, n_cand, p)
    else:
        model = _capacitated_mclp_model(cover, weight, n_cand, p, caps)
    return problem.solve(model, t0, -1.0, 0.0)


def pmedian(problem: Problem, p: int, fallback_m: FloatArray) -> Solution:
    """Choose ``p`` candidates so the population-weighted walk is least (p-median).

    ``problem.pairs`` carry the walk in metres; ``fallback_m`` is, per point, the walk when
    no chosen site is nearer: to the nearest existing facility, capped at the model's bound
    (finite). The objective is the population-weighted walk in metres.
    """
    t0 = time.perf_counter()
    caps = problem.capacities(p)
    if not np.isfinite(fallback_m).all():
        raise InvalidParameter("every p-median fallback distance must be finite (cap it)")
    cost, w, n_cand = problem.pairs, problem.weight, problem.n_candidates
    if caps is None:
        model, constant = _radius_model(cost, w, fallback_m, n_cand, p)
    else:
        model, constant = _pmedian_model(cost, w, fallback_m, n_cand, p, caps), 0.0
    return problem.solve(model, t0, 1.0, constant)


def _check_p(p: int, n_candidates: int) -> None:
    if n_candidates == 0:
        raise InvalidParameter("there are no candidate sites to choose from")
    if not 1 <= p <= n_candidates:
        raise InvalidParameter(
            f"cannot choose {p} sites from {n_candidates} candidate sites: "
            f"ask for 1 to {n_candidates}, or give more candidates"
        )


def _capacities(capacity: FloatArray | None, n: int) -> FloatArray | None:
    """Finite capacities as an array, or None when no candidate is limited."""
    if capacity is None:
        return None
    caps = np.asarray(capacity, dtype=np.float64)
    if caps.shape != (n,):
        raise InvalidParameter(f"{len(caps)} capacities for {n} candidate sites")
    caps = np.where(np.isnan(caps), np.inf, caps)
    if (caps < 0).any():
        raise InvalidParameter("capacities must be 0 or more (NaN or inf for no limit)")
    return caps if np.isfinite(caps).any() else None


# -- models as arrays ------------------------------------------------------------------------


@dataclass
class _Model:
    """A MILP ``min cost.x`` with ``row_lo <= A x <= row_hi``, bounds and integer columns."""

    cost: FloatArray
    upper: FloatArray
    integer: int  # the first ``integer`` columns are binary, the rest continuous in [0, upper]
    rows: list[IntArray]
    cols: list[IntArray]
    vals: list[FloatArray]
    row_lo: list[FloatArray]
    row_hi: list[FloatArray]

    @classmethod
    def empty(cls, cost: FloatArray, integer: int) -> _Model:
        return cls(cost, np.ones(len(cost)), integer, [], [], [], [], [])

    @property
    def n_rows(self) -> int:
        return sum(len(r) for r in self.row_lo)

    def add_rows(
        self,
        rows: IntArray,
        cols: IntArray,
        vals: FloatArray | float,
        lo: FloatArray,
        hi: FloatArray,
    ) -> None:
        """Rows numbered from 0 within this block; ``lo``/``hi`` give the block's size."""
        start = self.n_rows
        self.rows.append(np.asarray(rows, np.int64) + start)
        self.cols.append(np.asarray(cols, np.int64))
        self.vals.append(np.broadcast_to(np.asarray(vals, np.float64), (len(rows),)))
        self.row_lo.append(np.asarray(lo, np.float64))
        self.row_hi.append(np.asarray(hi, np.float64))

    def solve(
        self, time_limit_s: float, mip_gap: float
    ) -> tuple[FloatArray, float, bool, str, float]:
        """Column values, objective, optimal?, status text and relative gap."""
        # the bare solver: highspy.Highs() prints a banner to stdout, which a CLI must not
        h = highspy._Highs()  # type: ignore[attr-defined]  # in highspy.__all__, not typed
        for name, value in (
            ("output_flag", False),
            ("time_limit", float(time_limit_s)),
            ("mip_rel_gap", float(mip_gap)),
        ):
            h.setOptionValue(name, value)
        h.passModel(self._lp())
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        if len(x) != len(self.cost) or info.primal_solution_status != 2:  # 2: feasible
            raise InvalidParameter(
                f"the siting model found no solution "
                f"({h.modelStatusToString(status)} after "
                f"{time_limit_s:.0f} s): allow more time or fewer "
                "candidates"
            )
        optimal = status == highspy.HighsModelStatus.kOptimal
        gap = 0.0 if optimal else float(info.mip_gap)
        return x, float(info.objective_function_value), optimal, h.modelStatusToString(status), gap

    def _lp(self) -> highspy.HighsLp:
        n = len(self.cost)
        a = coo_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.n_rows, n),
        ).tocsc()
        a.sum_duplicates()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, self.n_rows
        lp.col_cost_ = self.cost
        lp.col_lower_, lp.col_upper_ = np.zeros(n), self.upper
        lp.row_lower_ = np.concatenate(self.row_lo)
        lp.row_upper_ = np.concatenate(self.row_hi)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data
        lp.integrality_ = [highspy.HighsVarType.kInteger] * self.integer + [
            highspy.HighsVarType.kContinuous
        ] * (n - self.integer)
        return lp


def _choose_p(model: _Model, n_candidates: int, p: int) -> None:
    """Exactly ``p`` sites, as spopt's models ask."""
    model.add_rows(
        np.zeros(n_candidates, np.int64), np.arange(n_candidates), 1.0, np.array([p]), np.array([p])
    )


def _mclp_model(cover: Pairs, weight: FloatArray, n_cand: int, p: int) -> _Model:
    """Columns ``y`` (sites) then ``z`` (points covered); ``z_i <= sum of y_j covering i``."""
    n_pts = len(weight)
    model = _Model.empty(
        np.concatenate([np.zeros(n_cand), -np.asarray(weight, np.float64)]), n_cand
    )
    pts = np.arange(n_pts)
    model.add_rows(
        np.concatenate([pts, cover.point]),
        np.concatenate([n_cand + pts, cover.place]),
        np.concatenate([np.ones(n_pts), -np.ones(len(cover))]),
        np.full(n_pts, -np.inf),
        np.zeros(n_pts),
    )
    _choose_p(model, n_cand, p)
    return model


def _capacitated_mclp_model(
    cover: Pairs, weight: FloatArray, n_cand: int, p: int, caps: FloatArray
) -> _Model:
    """Columns ``y`` then one assignment ``x`` per pair, limited by the site's capacity."""
    w = np.asarray(weight, np.float64)[cover.point]
    model = _Model.empty(np.concatenate([np.zeros(n_cand), -w]), n_cand)
    _assignments(model, cover, n_cand, len(weight), None)
    _capacity_rows(model, cover, w, n_cand, caps)
    _choose_p(model, n_cand, p)
    return model


def _pmedian_model(
    cost: Pairs,
    weight: FloatArray,
    fallback: FloatArray,
    n_cand: int,
    p: int,
    caps: FloatArray | None,
) -> _Model:
    """Columns ``y``, one ``x`` per pair, then one fallback ``g`` per point."""
    w = np.asarray(weight, np.float64)
    n_pairs = len(cost)
    model = _Model.empty(
        np.concatenate([np.zeros(n_cand), w[cost.point] * cost.dist_m, w * fallback]), n_cand
    )
    _assignments(model, cost, n_cand, len(w), n_cand + n_pairs)
    if caps is not None:
        _capacity_rows(model, cost, w[cost.point], n_cand, caps)
    _choose_p(model, n_cand, p)
    return model


def _radius_model(
    cost: Pairs, weight: FloatArray, fallback: FloatArray, n_cand: int, p: int
) -> tuple[_Model, float]:
    """The uncapacitated p-median in Elloumi's radius form, points merged where it is exact.

    A point's walk is its nearest candidate's, plus each step ``D[k+1] - D[k]`` up its sorted
    candidate distances (the last step up to its fallback) for which none of its ``k``
    nearest candidates is open: ``z >= 1 - sum(y over those k)``. Points whose ``k`` nearest
    form the same set share that ``z`` (their steps' weights add up), so neighbours collapse
    into few rows; the optimum is the same as the assignment form's.
    """
    w = np.asarray(weight, np.float64)
    order = np.lexsort((cost.place, cost.dist_m, cost.point))
    pl, pt, d = cost.place[order], cost.point[order], cost.dist_m[order]
    first = np.r_[True, pt[1:] != pt[:-1]] if len(pt) else np.zeros(0, bool)
    last = np.r_[pt[1:] != pt[:-1], True] if len(pt) else np.zeros(0, bool)
    step = np.where(last, fallback[pt], np.r_[d[1:], 0.0]) - d
    constant = float(w @ fallback - w[pt[last]] @ fallback[pt[last]] + w[pt[first]] @ d[first])
    masks = _prefix_masks(pl, first, n_cand)
    keys, group = np.unique(masks, axis=0, return_inverse=True)
    coef = np.bincount(group.ravel(), weights=w[pt] * step, minlength=len(keys))
    n_z = len(keys)
    model = _Model.empty(np.concatenate([np.zeros(n_cand), coef]), n_cand)
    bits = np.unpackbits(keys.view(np.uint8), axis=1, bitorder="little")[:, :n_cand]
    zrow, ycol = np.nonzero(bits)
    model.add_rows(
        np.concatenate([np.arange(n_z), zrow]),
        np.concatenate([n_cand + np.arange(n_z), ycol]),
        1.0,
        np.ones(n_z),
        np.full(n_z, np.inf),
    )
    _choose_p(model, n_cand, p)
    return model, constant


def _prefix_masks(place: IntArray, first: NDArray[np.bool_], n_cand: int) -> NDArray[np.uint64]:
    """Per pair (sorted by point, then distance), the set of candidates up to it, as bits."""
    words = (n_cand + 63) // 64
    masks = np.zeros((len(place), words), np.uint64)
    masks[np.arange(len(place)), place // 64] = np.left_shift(
        np.uint64(1), (place % 64).astype(np.uint64)
    )
    start = np.flatnonzero(first)
    rank = np.arange(len(place)) - np.repeat(start, np.diff(np.r_[start, len(place)]))
    for k in range(1, int(rank.max(initial=0)) + 1):  # at most one pass per candidate
        at = np.flatnonzero(rank == k)
        masks[at] |= masks[at - 1]
    return masks


def _assignments(
    model: _Model, pairs: Pairs, n_cand: int, n_pts: int, fallback_col: int | None
) -> None:
    """Each point served once at most (exactly once with a fallback), only by open sites."""
    k = np.arange(len(pairs))
    rows, cols = pairs.point, n_cand + k
    if fallback_col is None:
        model.add_rows(rows, cols, 1.0, np.full(n_pts, -np.inf), np.ones(n_pts))
    else:
        pts = np.arange(n_pts)
        model.add_rows(
            np.concatenate([rows, pts]),
            np.concatenate([cols, fallback_col + pts]),
            1.0,
            np.ones(n_pts),
            np.ones(n_pts),
        )
    # x_k <= y_j: the strong form, whose LP relaxation is nearly always integral
    model.add_rows(
        np.concatenate([k, k]),
        np.concatenate([n_cand + k, pairs.place]),
        np.concatenate([np.ones(len(k)), -np.ones(len(k))]),
        np.full(len(k), -np.inf),
        np.zeros(len(k)),
    )


def _capacity_rows(
    model: _Model, pairs: Pairs, w: FloatArray, n_cand: int, caps: FloatArray
) -> None:
    """Residents assigned to site ``j`` stay within ``cap_j`` when it is open."""
    limited = np.flatnonzero(np.isfinite(caps))
    slot = np.full(n_cand, -1, np.int64)
    slot[limited] = np.arange(len(limited))
    keep = np.flatnonzero(slot[pairs.place] >= 0)
    rows = np.concatenate([slot[pairs.place[keep]], np.arange(len(limited))])
    cols = np.concatenate([n_cand + keep, limited])
    vals = np.concatenate([w[keep], -caps[limited]])
    model.add_rows(rows, cols, vals, np.full(len(limited), -np.inf), np.zeros(len(limited)))
