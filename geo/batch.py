"""Nearest facilities for many origins at once, without a search per origin.

:func:`nearest_many` gives the answer :meth:`livingcircle.geo.engine.Region.nearest` gives
for each origin (the same facilities, in the same order, ties included), computed per
category rather than per origin:

1. one pass over the whole street graph (:meth:`livingcircle.geo.reach.ReachGraph.nearest`)
   gives every origin its distance to the category's nearest facility;
2. origins are grouped by that distance into radii that double from
   :data:`FIRST_RADIUS_M`, and one tiled bounded search per group
   (:meth:`livingcircle.geo.reach.ReachGraph.pairs_within`) lists every (facility, origin)
   pair within the group's radius;
3. an origin whose k-th nearest lies inside the radius is done; the others move on to the
   next radius, up to the limit.

Origins that cannot be answered (outside the region, too far from a street) keep their place
with a reason, and never stop the rest. Work is bounded by the radii, not by the origins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from livingcircle.geo import config
from livingcircle.geo.accessibility import points_distance
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter, LivingCircleError
from livingcircle.geo.network import FloatArray
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.routing import Snap

#: The smallest search radius of a group of origins; radii double from here.
FIRST_RADIUS_M = 250.0
#: A k-th distance this far inside the radius is certainly among the k nearest (the answer
#: orders distances rounded to the micrometre, as the single query does).
_SURE_M = 1e-5


@dataclass(frozen=True)
class ManyNearest:
    """The k nearest of each category for many origins, as columns, one row per answer.

    Rows are ordered by origin, then category (in the order asked), then rank. An origin
    gets ``k`` rows per category when that many facilities are in reach, else the ones
    there are, or one row with ``row == -1`` and a ``reason``.

    Attributes
    ----------
    origin
        Position of the origin in the input.
    category
        Position of the category in :attr:`categories`.
    rank
        1 for the nearest; 0 on rows without a facility.
    row
        Facility row in the region's facility index, -1 where none.
    distance_m
        Walking distance, both access legs included; NaN where no facility.
    reason
        Why a row has no facility, else None.
    categories
        The category ids asked, in order.
    """

    origin: NDArray[np.int64]
    category: NDArray[np.int64]
    rank: NDArray[np.int64]
    row: NDArray[np.int64]
    distance_m: FloatArray
    reason: list[str | None]
    categories: list[str]


def nearest_many(
    region: Region,
    lon: FloatArray,
    lat: FloatArray,
    categories: Iterable[str] | None = None,
    k: int = 1,
    speed_m_s: float = config.DEFAULT_SPEED_M_S,
    max_minutes: float | None = None,
    graph: ReachGraph | None = None,
) -> ManyNearest:
    """The ``k`` nearest facilities of each category from every origin.

    Parameters
    ----------
    region
        The region asked.
    lon, lat
        The origins, WGS 84 degrees.
    categories
        Category ids; all when None or empty.
    k
        Facilities per category and origin, 1 to ``config.MAX_K``.
    speed_m_s
        Walking speed; only needed with ``max_minutes``.
    max_minutes
        Ignore facilities farther than this; defaults to ``config.NEAREST_MAX_RADIUS_M``.
    graph
        The region's reversed graph, when the caller keeps one for many calls.
    """
    cats = region.standard.resolve_categories(categories)
    if not 1 <= k <= config.MAX_K:
        raise InvalidParameter(f"k={k} is out of range; allowed: 1 to {config.MAX_K}")
    limit = config.NEAREST_MAX_RADIUS_M
    if max_minutes is not None:
        if not 0 < max_minutes <= config.MAX_MINUTES:
            raise InvalidParameter(
                f"max_minutes={max_minutes} is out of range; allowed: "
                f"more than 0, up to {config.MAX_MINUTES}"
            )
        limit = max_minutes * 60 * speed_m_s
    snap, reasons = snap_many(region, lon, lat)
    ok = np.flatnonzero(snap.edge >= 0)
    graph = graph or ReachGraph(region.net)
    parts = [_bad_rows(reasons, len(cats))]
    for slot, cat in enumerate(cats):
        code = region.standard.category_index(cat)
        parts.append(_category(region, graph, snap[ok], ok, code, slot, k, limit))
    return _gather(parts, list(cats), reasons, limit)


def snap_many(region: Region, lon: FloatArray, lat: FloatArray) -> tuple[Snap, list[str | None]]:
    """Origins on their streets, and why each that could not be placed was not.

    Origins are checked as :meth:`Region.nearest` checks one (valid degrees, inside the
    region, near a street); a refused origin has edge -1 and the same message as the error
    a single query raises.
    """
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    if lon.shape != lat.shape or lon.ndim != 1:
        raise InvalidParameter("lon and lat must be one-dimensional and of one length")
    valid = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    inside = valid & region.contains_many(np.where(valid, lon, 0), np.where(valid, lat, 0))
    xy = region.project(np.where(inside, lon, 0), np.where(inside, lat, 0))
    snap = region.snap_xy(xy)
    snap.edge[~inside] = -1
    reasons: list[str | None] = [None] * len(lon)
    for i in np.flatnonzero(snap.edge < 0).tolist():  # only refused origins: say why
        reasons[i] = _refusal(region, float(lon[i]), float(lat[i]))
    return snap, reasons


def _refusal(region: Region, lon: float, lat: float) -> str:
    """The message a single query from this refused origin raises."""
    try:
        region.nearest(lon, lat, region.standard.category_ids[:1], routes=False)
    except LivingCircleError as exc:
        return str(exc)
    return f"point ({lat}, {lon}) could not be placed on a street"  # pragma: no cover


def _category(
    region: Region,
    graph: ReachGraph,
    points: Snap,
    origin: NDArray[np.int64],
    code: int,
    slot: int,
    k: int,
    limit: float,
) -> list[NDArray[np.generic]]:
    """One category's rows for the placed origins: columns origin, slot, rank, row, dist."""
    fac = region.facilities
    rows = np.flatnonzero(fac.category == code).astype(np.int64)
    if len(points) == 0:
        return _none(np.zeros(0, np.int64), slot)
    if len(rows) == 0:
        return _none(origin, slot)
    places = fac.snap[rows]
    first = points_distance(region.net, graph.nearest(places, limit), points, places)
    need = min(k, len(rows))
    radius = np.minimum(_first_radius(first), limit)
    pending = np.flatnonzero(first <= limit)
    found: list[list[NDArray[np.generic]]] = []
    while len(pending):
        r = float(radius[pending].min())
        group = pending[radius[pending] == r]
        # the nearest is known: search only as far as the group's farthest nearest
        reach = min(r, float(first[group].max()) + 2 * _SURE_M) if need == 1 else r
        done, answer = _within(graph, places, rows, points[group], reach, need, r >= limit)
        found.append(_rows(origin[group][answer[0]], slot, answer[1], answer[2], answer[3]))
        later = group[~done]
        radius[later] = np.minimum(r * 2, limit)
        pending = np.setdiff1d(pending, group[done], assume_unique=True)
    missing = np.setdiff1d(origin, np.concatenate([f[0] for f in found] or [np.zeros(0)]))
    found.append(_none(missing.astype(np.int64), slot))
    return [np.concatenate(col) for col in zip(*found, strict=True)]


def _within(
    graph: ReachGraph,
    places: Snap,
    rows: NDArray[np.int64],
    points: Snap,
    radius: float,
    need: int,
    final: bool,
) -> tuple[
    NDArray[np.bool_], tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], FloatArray]
]:
    """The ``need`` nearest within ``radius`` per point, and which points are sure of them.

    Returns the points that are done, and (point, rank, facility row, distance) of their
    answers, nearest first; a point is done when its ``need``-th facility lies inside the
    radius, or on the ``final`` radius.
    """
    near = _near(places, points, radius)  # only facilities a point could walk to
    chunks = list(graph.pairs_within(places[near], points, radius))
    rows = rows[near]
    place = np.concatenate([c.place for c in chunks] or [np.zeros(0, np.int64)])
    point = np.concatenate([c.point for c in chunks] or [np.zeros(0, np.int64)])
    dist = np.concatenate([c.dist_m for c in chunks] or [np.zeros(0)])
    order = np.lexsort((rows[place], np.round(dist, 6), point))  # as Found.order
    place, point, dist = place[order], point[order], dist[order]
    start = np.searchsorted(point, np.arange(len(points)))
    rank = np.arange(len(point)) - start[point]
    keep = rank < need
    place, point, dist, rank = place[keep], point[keep], dist[keep], rank[keep]
    last = np.zeros(len(points), dtype=bool)
    last[point[(rank == need - 1) & (dist <= radius - _SURE_M)]] = True
    done = last | final
    mine = done[point]
    return done, (point[mine], rank[mine] + 1, rows[place[mine]], dist[mine])


def _near(places: Snap, points: Snap, radius: float) -> NDArray[np.intp]:
    """Facilities within ``radius`` of some point in a straight line (metric, slack added)."""
    gap, _ = cKDTree(points.xy).query(places.xy, distance_upper_bound=config.disc_radius(radius))
    return np.flatnonzero(np.isfinite(gap))


def _first_radius(first: FloatArray) -> FloatArray:
    """The doubling radius that holds each origin's nearest facility."""
    steps = np.ceil(np.log2(np.maximum(first + 2 * _SURE_M, FIRST_RADIUS_M) / FIRST_RADIUS_M))
    return np.asarray(FIRST_RADIUS_M * 2.0 ** np.where(np.isfinite(steps), steps, 0))


def _rows(
    origin: NDArray[np.int64],
    slot: int,
    rank: NDArray[np.int64],
    row: NDArray[np.int64],
    dist: FloatArray,
) -> list[NDArray[np.generic]]:
    return [origin, np.full(len(origin), slot, dtype=np.int64), rank, row, dist]


def _none(origin: NDArray[np.int64], slot: int) -> list[NDArray[np.generic]]:
    zeros = np.zeros(len(origin), dtype=np.int64)
    return _rows(origin, slot, zeros, zeros - 1, np.full(len(origin), np.nan))


def _bad_rows(reasons: list[str | None], n_cats: int) -> list[NDArray[np.generic]]:
    bad = np.array([i for i, r in enumerate(reasons) if r is not None], dtype=np.int64)
    origin = np.repeat(bad, n_cats)
    slots = np.tile(np.arange(n_cats, dtype=np.int64), len(bad))
    zeros = np.zeros(len(origin), dtype=np.int64)
    return [origin, slots, zeros, zeros - 1, np.full(len(origin), np.nan)]


def _gather(
    parts: list[list[NDArray[np.generic]]], cats: list[str], reasons: list[str | None], limit: float
) -> ManyNearest:
    origin, slot, rank, row, dist = (np.concatenate(col) for col in zip(*parts, strict=True))
    order = np.lexsort((rank, slot, origin))
    origin, slot, row = (a[order].astype(np.int64) for a in (origin, slot, row))
    why: list[str | None] = [None] * len(order)
    for i in np.flatnonzero(row < 0).tolist():
        o = int(origin[i])
        why[i] = reasons[o] or f"no {cats[int(slot[i])]} within {limit:,.0f} m on foot"
    return ManyNearest(
        origin,
        slot,
        rank[order].astype(np.int64),
        row,
        dist[order].astype(np.float64),
        why,
        list(cats),
    )
