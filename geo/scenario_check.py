"""Checking a scenario against a region: every change resolved to rows, edges and snapped points.

:func:`check_scenario` lists every problem of a scenario (an unknown category or facility, a
point outside the region or too far from a street, a link too long) without computing any
walk; :func:`resolve` is what :func:`livingcircle.geo.scenario.run_scenario` starts from.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from livingcircle.geo.engine import Region
from livingcircle.geo.network import FloatArray
from livingcircle.geo.routing import Snap, search, snap_points
from livingcircle.geo.scenario_spec import (
    ClosedStreet,
    Lonlat,
    NewFacility,
    NewLink,
    Scenario,
    ScenarioError,
)

#: A link end this close to a street's end node joins that node (no new node), metres.
NODE_MERGE_M = 1.0
#: Longest walk searched between the two points of a ``between`` closure, metres.
CLOSE_PATH_MAX_M = 3_000.0
#: Most changes one scenario may list.
MAX_CHANGES = 1_000
#: Longest walking link a scenario may add, metres.
MAX_LINK_M = 2_000.0


@dataclass
class Resolved:
    """A scenario resolved against a region: rows, edges and snapped points."""

    closed_rows: NDArray[np.int64]
    new_xy: FloatArray
    new_codes: NDArray[np.int64]
    closed_edges: NDArray[np.bool_]
    cut_edge: list[int] = field(default_factory=list)
    cut_off: list[float] = field(default_factory=list)
    link_ends: list[tuple[tuple[int, float], tuple[int, float], bool]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def resolve(region: Region, scenario: Scenario, way_ids: NDArray[np.int64] | None) -> Resolved:
    """Check every change and resolve it to rows, edges and snapped points.

    ``way_ids`` are the stored region's (one per stored edge). At a profile's view of the
    region a street is closed as the stored region names and places it (by way id, at a
    point, between two points), then on the view's edges; one the profile does not walk
    changes nothing for it and is told in ``notes``, not refused.
    """
    res = Resolved(
        np.zeros(0, np.int64),
        np.zeros((0, 2)),
        np.zeros(0, np.int64),
        np.zeros(region.net.n_edges, dtype=bool),
    )
    if len(scenario) == 0:
        res.problems.append(
            "it lists no change; allowed: add_facility, close_facility, add_link, close_street"
        )
    if len(scenario) > MAX_CHANGES:
        res.problems.append(
            f"it lists {len(scenario):,} changes; at most {MAX_CHANGES:,} are allowed"
        )
        return res
    _resolve_new(region, scenario.add_facilities, res)
    ids = region.facilities.text["id"]
    wanted = set(scenario.close_facilities)
    index = {fid: i for i, fid in enumerate(ids) if fid in wanted} if wanted else {}
    rows = []
    for i, fid in enumerate(scenario.close_facilities, start=1):
        if fid in index:
            rows.append(index[fid])
            continue
        close = difflib.get_close_matches(fid, ids, n=3)
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else f"ids look like {ids[0]!r}"
            if ids
            else "the region has no facility"
        )
        res.problems.append(
            f"close_facility #{i}: no facility {fid!r} in region "
            f"{region.name!r}; allowed: the id of one of its "
            f"{len(ids):,} facilities ({hint})"
        )
    res.closed_rows = np.unique(np.asarray(rows, dtype=np.int64))
    for i, street in enumerate(scenario.close_streets, start=1):
        _resolve_closure(region, street, i, way_ids, res)
    for i, link in enumerate(scenario.add_links, start=1):
        _resolve_link(region, link, i, res)
    return res


def _resolve_new(region: Region, new: Sequence[NewFacility], res: Resolved) -> None:
    std = region.standard
    codes, xy = [], []
    for i, fac in enumerate(new, start=1):
        where = f"add_facility #{i}" + (f" ({fac.name})" if fac.name else "")
        if fac.category not in std.category_ids:
            close = difflib.get_close_matches(fac.category, std.category_ids, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            res.problems.append(
                f"{where}: unknown category {fac.category!r}{hint}; allowed: "
                f"{', '.join(sorted(std.category_ids))}"
            )
            continue
        if fac.capacity is not None and not (np.isfinite(fac.capacity) and fac.capacity >= 0):
            res.problems.append(f"{where}: capacity {fac.capacity} must be a number >= 0")
            continue
        if not _inside(region, fac.lon, fac.lat, where, res):
            continue
        codes.append(std.category_index(fac.category))
        xy.append(region.project(fac.lon, fac.lat)[0])
    res.new_codes = np.asarray(codes, dtype=np.int64)
    res.new_xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)


def _inside(region: Region, lon: float, lat: float, where: str, res: Resolved) -> bool:
    if not (np.isfinite([lon, lat]).all() and -180 <= lon <= 180 and -90 <= lat <= 90):
        res.problems.append(
            f"{where}: coordinates lon={lon}, lat={lat} are invalid; allowed: "
            "lon -180 to 180, lat -90 to 90 (WGS 84 degrees)"
        )
        return False
    if not region.contains(lon, lat):
        w, s, e, n = region.boundary.bounds
        res.problems.append(
            f"{where}: point (lon {lon:.6f}, lat {lat:.6f}) is outside region "
            f"{region.name!r}, which covers lon {w:.4f} to {e:.4f}, lat "
            f"{s:.4f} to {n:.4f}"
        )
        return False
    return True


def _base_cut(region: Region, xy: FloatArray, limit: float) -> tuple[Snap, FloatArray]:
    """Snap points onto the region's streets, and each one's distance to the nearest street."""
    net = region.net
    _, dist = net.edge_tree.query_nearest(
        shapely.points(xy), return_distance=True, all_matches=False
    )
    return snap_points(net, xy, limit), np.asarray(dist, dtype=np.float64)


def _snap_end(
    region: Region, point: Lonlat, limit: float, where: str, res: Resolved
) -> tuple[int, float] | None:
    """A point on the nearest street within ``limit``: (edge, offset), or a problem told."""
    if not _inside(region, point[0], point[1], where, res):
        return None
    if not 0 < limit <= region.max_snap_m:
        res.problems.append(
            f"{where}: max_snap_m {limit} is out of range; allowed: more "
            f"than 0 up to {region.max_snap_m:.0f} m"
        )
        return None
    snap, dist = _base_cut(region, region.project(point[0], point[1]), limit)
    if snap.edge[0] < 0:
        res.problems.append(
            f"{where}: (lon {point[0]:.6f}, lat {point[1]:.6f}) is "
            f"{dist[0]:,.0f} m from the nearest street; the limit is "
            f"{limit:,.0f} m (move it nearer a street, or raise max_snap_m "
            f"up to {region.max_snap_m:.0f})"
        )
        return None
    return int(snap.edge[0]), float(snap.offset_m[0])


def _resolve_closure(
    region: Region, street: ClosedStreet, i: int, way_ids: NDArray[np.int64] | None, res: Resolved
) -> None:
    where = f"close_street #{i}" + (f" ({street.name})" if street.name else "")
    given = [x is not None for x in (street.way_id, street.at, street.between)]
    if sum(given) != 1:
        res.problems.append(
            f"{where}: give exactly one of way_id, at (a point) or between (two points)"
        )
        return
    stored = region.walking.base or region  # closures are named on the stored streets
    if street.way_id is not None:
        if way_ids is None:
            res.problems.append(
                f"{where}: this region's way ids are not known here; close "
                "the street by a point (at) or two points (between)"
            )
            return
        hit = way_ids == int(street.way_id)
        if not hit.any():
            res.problems.append(
                f"{where}: no street of way id {street.way_id} in region "
                f"{region.name!r}; allowed: the OSM way id of one of its "
                f"{len(np.unique(way_ids)):,} ways"
            )
            return
        _close(region, stored, np.flatnonzero(hit), where, res)
        return
    if street.at is not None:
        end = _snap_end(stored, street.at, street.max_snap_m, where, res)
        if end is not None:
            _close(region, stored, np.array([end[0]]), where, res)
        return
    assert street.between is not None
    a = _snap_end(stored, street.between[0], street.max_snap_m, f"{where} start", res)
    b = _snap_end(stored, street.between[1], street.max_snap_m, f"{where} end", res)
    if a is not None and b is not None:
        edges = _path_edges(stored, a, b)
        if edges is None:
            res.problems.append(
                f"{where}: no walk of at most {CLOSE_PATH_MAX_M:,.0f} m joins "
                "its two points; allowed: two points on one street or on "
                "streets joined within that walk"
            )
        else:
            _close(region, stored, np.asarray(edges, dtype=np.int64), where, res)


def _close(
    region: Region, stored: Region, edges: NDArray[np.int64], where: str, res: Resolved
) -> None:
    """Close ``stored``'s ``edges`` on ``region`` (a profile's view of it, or itself)."""
    kept = region.walking.base_edges
    if stored is region or kept is None:
        res.closed_edges[edges] = True
        return
    renumber = np.full(stored.net.n_edges, -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    mine = renumber[edges]
    res.closed_edges[mine[mine >= 0]] = True
    if (mine < 0).any():
        profile = region.walking.profile
        name = profile.id if profile is not None else "this"
        n, walked = len(edges), int((mine >= 0).sum())
        res.notes.append(
            f"{where}: the {name} profile walks none of the {n} street edge(s) it closes, "
            "so it changes nothing at that profile"
            if walked == 0
            else f"{where}: the {name} profile walks {walked} of the {n} street edges it "
            f"closes; closing the other {n - walked} changes nothing at that profile"
        )


def _path_edges(region: Region, a: tuple[int, float], b: tuple[int, float]) -> list[int] | None:
    """The edges of the shortest walk from a to b (both ends' edges included)."""
    if a[0] == b[0]:
        return [a[0]]
    net = region.net
    start = Snap(
        np.array([a[0]], np.int32),
        np.array([a[1]]),
        np.zeros(1),
        net.points_at(np.array([a[0]], np.int32), np.array([a[1]])),
    )
    srch = search(net, start, CLOSE_PATH_MAX_M)
    ends = np.array([net.edge_u[b[0]], net.edge_v[b[0]]])
    dist = srch.node_dist(ends) + np.array([b[1], net.edge_length[b[0]] - b[1]])
    if not np.isfinite(dist).any() or dist.min() > CLOSE_PATH_MAX_M:
        return None
    steps = srch.path_edges(int(ends[int(np.argmin(dist))]))
    return [a[0], *[e for e, _ in steps], b[0]]


def _resolve_link(region: Region, link: NewLink, i: int, res: Resolved) -> None:
    where = f"add_link #{i}" + (f" ({link.name})" if link.name else "")
    a = _snap_end(region, link.start, link.max_snap_m, f"{where} start", res)
    b = _snap_end(region, link.end, link.max_snap_m, f"{where} end", res)
    if a is None or b is None:
        return
    for end, name in ((a, "start"), (b, "end")):
        if res.closed_edges[end[0]]:
            res.problems.append(
                f"{where}: its {name} joins a street this scenario closes; "
                "allowed: ends on open streets"
            )
            return
    net = region.net
    xy = net.points_at(np.array([a[0], b[0]], np.int32), np.array([a[1], b[1]]))
    span = float(np.hypot(*(xy[1] - xy[0])))
    if span <= NODE_MERGE_M:
        res.problems.append(
            f"{where}: both ends meet the streets at the same point; allowed: "
            f"ends more than {NODE_MERGE_M:.0f} m apart"
        )
        return
    if span > MAX_LINK_M:
        res.problems.append(
            f"{where}: the link would be {span:,.0f} m long; at most {MAX_LINK_M:,.0f} m is allowed"
        )
        return
    res.link_ends.append((a, b, link.oneway))


def link_nodes(region: Region, res: Resolved) -> list[tuple[int, int, bool]]:
    """Each link end as a node: an edge's end node if near one, else a cut to make."""
    net = region.net
    ends: list[tuple[str, int, float]] = []
    for a, b, _ in res.link_ends:
        for edge, off in (a, b):
            length = float(net.edge_length[edge])
            if off <= NODE_MERGE_M:
                ends.append(("node", int(net.edge_u[edge]), 0.0))
            elif length - off <= NODE_MERGE_M:
                ends.append(("node", int(net.edge_v[edge]), 0.0))
            else:
                ends.append(("cut", edge, off))
    cuts = sorted({(e, o) for kind, e, o in ends if kind == "cut"})
    merged: dict[tuple[int, float], tuple[int, float]] = {}
    for e, o in cuts:  # cuts within a metre on one edge share their node
        prev = next(
            (k for k in merged.values() if k[0] == e and abs(k[1] - o) <= NODE_MERGE_M), None
        )
        merged[(e, o)] = prev or (e, o)
    kept = sorted(set(merged.values()))
    res.cut_edge, res.cut_off = [e for e, _ in kept], [o for _, o in kept]
    number = {c: net.n_nodes + i for i, c in enumerate(kept)}
    ids = [n if kind == "node" else number[merged[(n, o)]] for kind, n, o in ends]
    return [(ids[2 * i], ids[2 * i + 1], one) for i, (_, _, one) in enumerate(res.link_ends)]


def check_scenario(
    region: Region,
    scenario: Scenario,
    way_ids: NDArray[np.int64] | None = None,
    source: str = "the scenario",
) -> None:
    """Check a scenario against a region without computing it (cheap: snaps and lookups).

    Raises
    ------
    ScenarioError
        As :func:`run_scenario` would, before any walk is computed.
    """
    res = resolve(region, scenario, way_ids)
    if res.problems:
        raise ScenarioError(res.problems, source)
