"""The engine against exact Dijkstra (networkx) on the real Helsinki network.

The reference graph is the same street network with every snapped position (the query
point and all facilities) inserted as a node that splits its edge, so both sides use the
same snapped positions; then ``networkx.single_source_dijkstra_path_length`` gives the exact
walking distance to each facility.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Geod

from livingcircle.geo.engine import Region
from livingcircle.geo.errors import PointTooFarFromNetwork
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.routing import Snap, snap_points

SPEED = 1.0  # m/s
N_POINTS = 40


Positions = dict[int, list[tuple[float, str]]]


def reference_graph(net: StreetNetwork, positions: Positions) -> nx.DiGraph:
    """Street arcs with positions ``{edge: [(offset_m, name)]}`` spliced in as nodes."""
    g = nx.DiGraph()

    def arc(a: object, b: object, w: float) -> None:
        if a != b and (not g.has_edge(a, b) or g[a][b]["weight"] > w):
            g.add_edge(a, b, weight=w)

    for e in range(net.n_edges):
        u, v, length = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_length[e])
        chain = [(0.0, u), *sorted(positions.get(e, [])), (length, v)]
        for (oa, a), (ob, b) in itertools.pairwise(chain):
            arc(a, b, ob - oa)
            if not net.edge_oneway[e] or ob - oa <= 1e-6:  # a point on a node stands on it
                arc(b, a, ob - oa)
    return g


def query_points(region: Region, n: int, seed: int = 7) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)

    picks = rng.choice(region.net.n_nodes, size=n * 2, replace=False)
    xy = region.net.node_xy[picks] + rng.uniform(-60, 60, size=(n * 2, 2))
    points = []
    for x, y in xy:
        lon, lat = region.unproject(np.array([[x, y]]))[0]
        if region.contains(lon, lat):
            points.append((float(lon), float(lat)))
    return points[:n]


@pytest.fixture(scope="module")
def reference(sample_region: Region) -> tuple[Region, dict[int, list[tuple[float, str]]]]:
    fac = sample_region.facilities
    positions: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for row, (e, off) in enumerate(zip(fac.snap.edge, fac.snap.offset_m, strict=True)):
        positions[int(e)].append((float(off), f"f{row}"))
    return sample_region, positions


@pytest.fixture(scope="module")
def prepared_region(sample_extract, standard) -> Region:  # type: ignore[no-untyped-def]
    net = StreetNetwork.from_frames(sample_extract.nodes, sample_extract.edges)
    return Region("helsinki", net, sample_extract.facilities, standard).prepare_nearest()


@pytest.mark.parametrize("prepared", [False, True], ids=["widening", "prepared"])
def test_nearest_of_every_category_matches_networkx(
    reference,
    standard,
    prepared,  # type: ignore[no-untyped-def]
    prepared_region,
) -> None:
    region, fac_positions = reference
    if prepared:  # the same network and facilities, with distance fields
        region = prepared_region
    fac = region.facilities
    checked = 0
    for lon, lat in query_points(region, N_POINTS):
        xy = region.project(lon, lat)
        start: Snap = snap_points(region.net, xy, region.max_snap_m)
        if start.edge[0] < 0:
            continue
        positions = {e: list(p) for e, p in fac_positions.items()}
        positions.setdefault(int(start.edge[0]), []).append((float(start.offset_m[0]), "S"))
        dist = nx.single_source_dijkstra_path_length(reference_graph(region.net, positions), "S")
        result = region.nearest(lon, lat, k=1, speed_m_s=SPEED, routes=False)
        for ci, cat in enumerate(standard.category_ids):
            rows = np.flatnonzero(fac.category == ci)
            ref = [
                dist[f"f{r}"] + fac.snap.access_m[r] + start.access_m[0]
                for r in rows
                if f"f{r}" in dist
            ]
            hits = result.by_category[cat]
            if not ref:
                assert hits == [], cat
                continue
            assert hits, f"{cat}: engine found nothing, reference {min(ref):.3f} m"
            assert hits[0].time_s == pytest.approx(min(ref) / SPEED, abs=1e-6), cat
            checked += 1
    assert checked > N_POINTS * 10  # most categories exist in the sample


def test_catchment_facilities_match_networkx(reference) -> None:  # type: ignore[no-untyped-def]
    region, fac_positions = reference
    fac = region.facilities
    for lon, lat in query_points(region, 8, seed=11):
        xy = region.project(lon, lat)
        start = snap_points(region.net, xy, region.max_snap_m)
        positions = {e: list(p) for e, p in fac_positions.items()}
        positions.setdefault(int(start.edge[0]), []).append((float(start.offset_m[0]), "S"))
        dist = nx.single_source_dijkstra_path_length(reference_graph(region.net, positions), "S")
        result = region.catchment(lon, lat, speed_m_s=SPEED)
        ids = fac.text["id"]
        expected = {}
        for r in range(len(ids)):
            if f"f{r}" in dist:
                total = dist[f"f{r}"] + fac.snap.access_m[r] + start.access_m[0]
                if total <= 15 * 60 * SPEED - 1e-6:
                    expected[ids[r]] = total
        got = {h.id: h.distance_m for h in result.facilities}
        assert set(got) >= set(expected)
        assert set(got) - set(expected) <= {  # only boundary cases within float noise
            i for i in got if abs(got[i] - 900) < 1e-6
        }
        for fid, total in expected.items():
            assert got[fid] == pytest.approx(total, abs=1e-6), fid
            ring = next(h.ring_minutes for h in result.facilities if h.id == fid)
            assert ring == min(m for m in (5, 10, 15) if total <= m * 60 * SPEED + 1e-9)
        assert len(ids) > 500  # the sample's facilities


def test_routes_run_from_snapped_point_to_facility(sample_region: Region) -> None:
    lon, lat = 24.9414, 60.1710
    result = sample_region.nearest(lon, lat, k=1)
    origin = shapely.Point(result.origin.snapped_lon, result.origin.snapped_lat)
    for hits in result.by_category.values():
        for hit in hits:
            assert hit.route is not None
            start, end = shapely.get_point(hit.route, 0), shapely.get_point(hit.route, -1)
            assert shapely.distance(start, origin) < 1e-7
            assert shapely.distance(end, shapely.Point(hit.lon, hit.lat)) < 1e-7
            route_m = _geodesic_length(hit.route)
            walked = hit.distance_m - result.origin.access_m
            assert route_m == pytest.approx(walked, rel=2e-3, abs=0.5), hit.category


def test_a_route_of_no_length_is_still_a_line(sample_region: Region) -> None:
    # a supermarket whose grounds meet the street where this point joins it: every point of the
    # route is the same one
    hit = sample_region.nearest(24.942824, 60.167854, ["supermarket"]).by_category["supermarket"][0]
    assert hit.route is not None and len(hit.route.coords) == 2
    assert hit.route.length == 0


def _geodesic_length(line: shapely.LineString) -> float:
    return float(Geod(ellps="WGS84").geometry_length(line))


def test_points_far_from_any_street_are_refused(sample_region: Region) -> None:
    # inside the region's outline (streets' hull + 250 m) but 300 m from the nearest street
    assert sample_region.contains(24.9420, 60.1811)
    with pytest.raises(PointTooFarFromNetwork, match="walkable street"):
        sample_region.nearest(24.9420, 60.1811)


def test_catchment_features_are_each_hits_properties(sample_region: Region) -> None:
    result = sample_region.catchment(24.9414, 60.1710)
    hits = list(result.facilities)
    assert len(hits) == len(result.facilities) > 100
    assert result.facilities[3] == hits[3] and result.facilities[:2] == hits[:2]
    features = result.facilities.features()
    assert [f["properties"] for f in features] == [h.properties() for h in hits]
    assert [f["geometry"]["coordinates"] for f in features] == [(h.lon, h.lat) for h in hits]
    for feature, hit in zip(features, hits, strict=True):
        props = feature["properties"]
        assert (props["kind"], props["id"], props["category"]) == ("facility", hit.id, hit.category)
        assert props["distance_m"] == round(hit.distance_m, 3)
        assert props["minutes"] == round(hit.time_s / 60, 1)
        assert props["ring_minutes"] in (5, 10, 15)
        assert ("opening_hours" in props) == bool(hit.opening_hours)


def test_catchment_geojson_is_lean_and_rounded(sample_region: Region) -> None:
    collection = sample_region.catchment(24.9414, 60.1710).to_geojson()
    rings = [f for f in collection["features"] if f["properties"]["kind"] == "ring"]
    for ring in rings:
        for part in ring["geometry"]["coordinates"]:
            xy = np.asarray(part)
            assert (np.abs(np.diff(xy, axis=0)).max(axis=1) > 0).all()  # no point twice in a row
    coords = np.concatenate(
        [np.asarray(c, dtype=float).reshape(-1, 2) for c in _coordinates(collection)]
    )
    assert np.array_equal(coords, np.round(coords, 7))  # about a centimetre, no noise digits


def _coordinates(collection: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for feature in collection["features"]:
        geometry = feature["geometry"]
        parts = {
            "Point": [[geometry["coordinates"]]],
            "LineString": [geometry["coordinates"]],
            "Polygon": geometry["coordinates"],
        }.get(geometry["type"])
        out += parts if parts is not None else [r for p in geometry["coordinates"] for r in p]
    out.append([collection["features"][0]["properties"]["snapped"]])  # the origin's
    return out
