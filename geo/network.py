"""The walking graph: building it from OSM ways, and its array form for routing.

A region's network is kept as plain arrays. Street edges are undirected records with a
``oneway`` flag (walking is two-way unless ``oneway:foot`` says otherwise); the router sees
them as a CSR adjacency of directed arcs built once per region. Node ids are contiguous
``int32`` indices; OSM ids stay in a side array.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Geod, Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from livingcircle.geo.config import MIN_COMPONENT_NODES
from livingcircle.geo.errors import EmptyExtract
from livingcircle.geo.snapping import SegmentIndex

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int32]


@dataclass(frozen=True)
class Way:
    """A walkable OSM way as read from a source: node ids, their lon/lat, and tags we keep."""

    id: int
    refs: NDArray[np.int64]
    lonlat: FloatArray
    oneway: int = 0
    highway: str = ""
    name: str = ""


_GEOD = Geod(ellps="WGS84")


def geodesic_m(lonlat: FloatArray) -> float:
    """Length of a (n, 2) lon/lat polyline on the WGS 84 ellipsoid, metres.

    The spherical great-circle formula (osmnx's convention) is about 0.3 % short at 60
    degrees north; at walking distances that is metres, so edges are measured on the
    ellipsoid.
    """
    return float(_GEOD.line_length(lonlat[:, 0], lonlat[:, 1]))


def build_network(
    ways: Iterable[Way], min_component_nodes: int = MIN_COMPONENT_NODES
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Split ways into street edges at every junction and way end.

    Parameters
    ----------
    ways
        Walkable ways. A way whose nodes lack locations should arrive already split.
    min_component_nodes
        Connected pieces with fewer nodes are dropped, except the largest.

    Returns
    -------
    nodes, edges
        ``nodes``: ``node`` (0..N-1), ``osmid``, ``lon``, ``lat``. ``edges``: a GeoDataFrame in
        EPSG:4326 with ``edge``, ``u``, ``v``, ``length_m``, ``oneway`` (only ``u`` to ``v``),
        ``way_id``, ``highway``, ``name`` and a LineString from ``u`` to ``v``.
    """
    ways = [w for w in ways if len(w.refs) >= 2]
    if not ways:
        raise EmptyExtract("the extract has no walkable street (no way passes the walkable filter)")
    uses = Counter(int(r) for w in ways for r in w.refs)
    for w in ways:  # way ends are junctions too
        uses[int(w.refs[0])] += 2
        uses[int(w.refs[-1])] += 2
    records = [piece for w in ways for piece in _split(w, uses)]
    return _frames(records, min_component_nodes)


def _split(way: Way, uses: Counter[int]) -> Iterable[tuple[int, int, FloatArray, Way]]:
    cut = [i for i, r in enumerate(way.refs) if uses[int(r)] > 1]
    for a, b in itertools.pairwise(cut):
        coords = way.lonlat[a : b + 1]
        if way.oneway == -1:
            yield int(way.refs[b]), int(way.refs[a]), coords[::-1], way
        else:
            yield int(way.refs[a]), int(way.refs[b]), coords, way


def _frames(
    records: list[tuple[int, int, FloatArray, Way]], min_component_nodes: int
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    osm_u = np.array([r[0] for r in records], dtype=np.int64)
    osm_v = np.array([r[1] for r in records], dtype=np.int64)
    osmids, inverse = np.unique(np.concatenate([osm_u, osm_v]), return_inverse=True)
    u, v = inverse[: len(records)], inverse[len(records) :]
    n = len(osmids)
    graph = coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    # the largest piece always stays, however small the extract
    keep_node = (sizes[labels] >= min_component_nodes) | (labels == np.argmax(sizes))
    keep_edge = keep_node[u]
    lonlat = np.zeros((n, 2))
    for (_, _, coords, _), iu, iv in zip(records, u, v, strict=True):
        lonlat[iu], lonlat[iv] = coords[0], coords[-1]
    new_id = np.cumsum(keep_node) - 1
    nodes = pd.DataFrame(
        {
            "node": np.arange(keep_node.sum(), dtype=np.int32),
            "osmid": osmids[keep_node],
            "lon": lonlat[keep_node, 0],
            "lat": lonlat[keep_node, 1],
        }
    )
    kept = [r for r, k in zip(records, keep_edge, strict=True) if k]
    edges = gpd.GeoDataFrame(
        {
            "edge": np.arange(len(kept), dtype=np.int32),
            "u": new_id[u[keep_edge]].astype(np.int32),
            "v": new_id[v[keep_edge]].astype(np.int32),
            "length_m": [geodesic_m(r[2]) for r in kept],
            "oneway": [r[3].oneway != 0 for r in kept],
            "way_id": np.array([r[3].id for r in kept], dtype=np.int64),
            "highway": [r[3].highway for r in kept],
            "name": [r[3].name for r in kept],
        },
        geometry=[shapely.LineString(r[2]) for r in kept],
        crs="EPSG:4326",
    )
    return nodes, edges


@dataclass(frozen=True)
class StreetNetwork:
    """A region's walking graph in a local metric projection, ready for routing.

    Attributes
    ----------
    crs
        The projected CRS all ``*_xy`` arrays use (the region's UTM zone).
    node_xy
        (N, 2) node coordinates.
    edge_u, edge_v, edge_length, edge_oneway
        Street edges; ``edge_length`` is the geodesic length in metres, the authority for
        every distance. Geometry lengths are only used to place points along an edge.
    edge_geom
        Edge LineStrings in ``crs``, oriented from ``u`` to ``v``.
    edge_tags
        The edges' text columns (``highway``, ``name`` and any kept OSM tag), one string per
        edge, "" where absent: what walking profiles cost edges by (``geo/profiles.py``).
    node_ele
        Node elevations in metres (NaN where unknown), when a DEM was sampled at load.
    """

    crs: CRS
    node_xy: FloatArray
    edge_u: IntArray
    edge_v: IntArray
    edge_length: FloatArray
    edge_oneway: NDArray[np.bool_]
    edge_geom: NDArray[np.object_]
    edge_tags: Mapping[str, NDArray[np.object_]] = field(default_factory=dict)
    node_ele: FloatArray | None = None

    @classmethod
    def from_frames(cls, nodes: pd.DataFrame, edges: gpd.GeoDataFrame) -> StreetNetwork:
        """Project a stored network (lon/lat) into its UTM zone."""
        if len(edges) == 0:
            raise EmptyExtract("the region has no street edges")
        lon, lat = nodes["lon"].to_numpy(), nodes["lat"].to_numpy()
        crs = utm_crs(float(np.mean(lon)), float(np.mean(lat)))
        to_xy = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        x, y = to_xy.transform(lon, lat)
        # the vertices projected in one call and the lines made from them: what to_crs gives,
        # without copying every geometry first; the vertices are kept for ``vertices``
        ll, owner = shapely.get_coordinates(edges.geometry.to_numpy(), return_index=True)
        vx, vy = to_xy.transform(ll[:, 0], ll[:, 1])
        vertex_xy = np.column_stack([vx, vy])
        geoms = shapely.linestrings(vertex_xy, indices=owner)
        if len(geoms) != len(edges) or shapely.has_z(edges.geometry.to_numpy()).any():
            geoms = edges.geometry.to_crs(crs).to_numpy()  # an empty line or heights: as stored
            vertex_xy, owner = shapely.get_coordinates(geoms, return_index=True)
        net = cls(
            crs=crs,
            node_xy=np.column_stack([x, y]),
            edge_u=edges["u"].to_numpy(np.int32),
            edge_v=edges["v"].to_numpy(np.int32),
            edge_length=edges["length_m"].to_numpy(np.float64),
            edge_oneway=edges["oneway"].to_numpy(bool),
            edge_geom=geoms,
            edge_tags={
                str(c): _shared_strings(edges[c])
                for c in edges.columns
                if c not in _EDGE_ARRAYS and c != edges.geometry.name
            },
            node_ele=nodes["ele"].to_numpy(np.float64) if "ele" in nodes else None,
        )
        net.__dict__["_edge_coords"] = (vertex_xy, owner)  # the cached_property's slot
        return net

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        """Number of street edges."""
        return len(self.edge_u)

    @cached_property
    def geom_length(self) -> FloatArray:
        """Projected length of each edge geometry (to turn positions into metres)."""
        return np.maximum(np.asarray(shapely.length(self.edge_geom), dtype=np.float64), 1e-9)

    @cached_property
    def csr(self) -> tuple[NDArray[np.int64], IntArray, FloatArray, IntArray]:
        """Directed arcs as CSR: ``indptr``, ``indices``, ``weights`` (m), ``arc_edge``.

        Self-loops are left out and parallel arcs are reduced to the shortest, which never
        changes a shortest-path distance.
        """
        two_way = ~self.edge_oneway
        edge_ids = np.arange(self.n_edges, dtype=np.int32)
        src = np.concatenate([self.edge_u, self.edge_v[two_way]])
        dst = np.concatenate([self.edge_v, self.edge_u[two_way]])
        w = np.concatenate([self.edge_length, self.edge_length[two_way]])
        arc_edge = np.concatenate([edge_ids, edge_ids[two_way]])
        keep = src != dst
        src, dst, w, arc_edge = src[keep], dst[keep], w[keep], arc_edge[keep]
        key = src.astype(np.int64) * self.n_nodes + dst
        order = np.argsort(key, kind="stable")
        key = key[order]
        par = np.flatnonzero(key[1:] == key[:-1])
        if len(par):  # parallel arcs: the shortest first (then the first listed), as lexsort
            rows = np.union1d(par, par + 1)  # each group's positions, contiguous
            group = order[rows]
            order[rows] = group[np.lexsort((w[group], key[rows]))]
        src, dst, w, arc_edge = src[order], dst[order], w[order], arc_edge[order]
        first = np.ones(len(src), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        src, dst, w, arc_edge = src[first], dst[first], w[first], arc_edge[first]
        indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=self.n_nodes), out=indptr[1:])
        return indptr, dst.astype(np.int32), w.astype(np.float64), arc_edge

    @cached_property
    def incidence(self) -> tuple[NDArray[np.int64], IntArray]:
        """Node-to-edge incidence as CSR (``indptr``, edge ids), ignoring direction."""
        ends = np.concatenate([self.edge_u, self.edge_v])
        edges = np.concatenate([np.arange(self.n_edges, dtype=np.int32)] * 2)
        order = np.argsort(ends, kind="stable")
        indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends, minlength=self.n_nodes), out=indptr[1:])
        return indptr, edges[order]

    @cached_property
    def _edge_coords(self) -> tuple[FloatArray, NDArray[np.intp]]:
        """Every edge's vertices, one edge after another, and the edge of each."""
        xy, owner = shapely.get_coordinates(self.edge_geom, return_index=True)
        return xy, owner

    @cached_property
    def vertices(self) -> tuple[FloatArray, NDArray[np.int64], FloatArray, FloatArray]:
        """Edge vertices for sampling without GEOS: ``xy``, ``ptr``, ``key``, ``base``.

        ``xy[ptr[e]:ptr[e+1]]`` are edge ``e``'s vertices; ``key`` is each vertex's position as
        ``base[e]`` plus metres along the edge, one increasing array over all edges, so a
        position on any edge is found with a single ``searchsorted``.
        """
        xy, owner = self._edge_coords
        step = np.hypot(*np.diff(xy, axis=0).T)
        step[owner[1:] != owner[:-1]] = 0.0
        along = np.concatenate([[0.0], np.cumsum(step)])
        ptr = np.searchsorted(owner, np.arange(self.n_edges + 1)).astype(np.int64)
        along -= along[ptr[:-1]][owner]
        along *= (self.edge_length / self.geom_length)[owner]
        base = np.concatenate([[0.0], np.cumsum(self.edge_length + 1.0)[:-1]])
        return xy, ptr, base[owner] + along, base

    def positions_along(
        self, edge: IntArray, start_m: FloatArray, end_m: FloatArray, spacing_m: float
    ) -> tuple[IntArray, FloatArray]:
        """Positions every ``spacing_m`` (and at both ends) along ``[start_m, end_m]`` of edges.

        Returns the edge and the metres from its ``u`` end of each position.
        """
        count = np.floor((end_m - start_m) / spacing_m).astype(np.int64) + 2
        piece = np.repeat(np.arange(len(edge)), count)
        k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        pos = start_m[piece] + np.minimum(k * spacing_m, (end_m - start_m)[piece])
        return edge[piece], pos

    def position_key(self, edge: IntArray, pos_m: FloatArray) -> FloatArray:
        """One increasing number for positions on any edge: ordered by edge, then metres."""
        return self.vertices[3][edge] + pos_m

    def points_at(self, edge: IntArray, pos_m: FloatArray) -> FloatArray:
        """Coordinates of the points ``pos_m`` metres from the ``u`` end of ``edge``."""
        _, ptr, key, _ = self.vertices
        vx, vy = self._vertex_columns
        target = self.position_key(edge, pos_m)
        j = np.clip(np.searchsorted(key, target, side="right") - 1, ptr[edge], ptr[edge + 1] - 2)
        span = key[j + 1] - key[j]
        frac = np.where(span > 0, (target - key[j]) / np.where(span > 0, span, 1.0), 0.0)
        return np.column_stack(
            [vx[j] + frac * (vx[j + 1] - vx[j]), vy[j] + frac * (vy[j + 1] - vy[j])]
        )

    @cached_property
    def _vertex_columns(self) -> tuple[FloatArray, FloatArray]:
        xy = self.vertices[0]
        return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])

    def walk_coords(
        self, edge: IntArray, from_m: FloatArray, to_m: FloatArray
    ) -> tuple[FloatArray, NDArray[np.intp]]:
        """Coordinates of edges walked from ``from_m`` to ``to_m`` (metres from ``u``).

        Each walk gives its two end points (interpolated) and, in walking order, the vertices
        strictly between them. Returns the coordinates of all walks, one after the other, and
        the walk each belongs to.
        """
        xy, ptr, key, base = self.vertices
        lo, hi = np.minimum(from_m, to_m), np.maximum(from_m, to_m)
        first = np.clip(
            np.searchsorted(key, base[edge] + lo, side="right"), ptr[edge], ptr[edge + 1]
        )
        stop = np.clip(np.searchsorted(key, base[edge] + hi, side="left"), first, ptr[edge + 1])
        count = stop - first + 2
        walk = np.repeat(np.arange(len(edge)), count)
        opens = np.cumsum(count) - count
        k = np.arange(len(walk)) - opens[walk]  # 0 is the walk's start, count-1 its end
        vertex = np.where((from_m > to_m)[walk], stop[walk] - k, first[walk] + k - 1)
        inner = (k > 0) & (k < count[walk] - 1)
        out = np.empty((len(walk), 2))
        out[inner] = xy[vertex[inner]]
        out[opens] = self.points_at(edge, from_m)
        out[opens + count - 1] = self.points_at(edge, to_m)
        return out, walk

    @cached_property
    def node_tree(self) -> cKDTree:
        """KD-tree over node coordinates."""
        return cKDTree(self.node_xy)

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """R-tree over edge geometries, for snapping."""
        return shapely.STRtree(self.edge_geom)

    @cached_property
    def _to_lonlat(self) -> Transformer:
        return Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def geodesic_legs(self, a_xy: FloatArray, b_xy: FloatArray) -> FloatArray:
        """Metres from points ``a_xy`` to ``b_xy`` (both (n, 2) in ``crs``) on the ellipsoid.

        Access legs are measured so, as edges are: the UTM plane is up to 0.04 % short near
        the zone's central meridian, which once made an answer shorter than the crow flies.
        """
        if len(a_xy) == 0:
            return np.zeros(0)
        both = np.vstack([a_xy, b_xy])
        lon, lat = self._to_lonlat.transform(both[:, 0], both[:, 1])
        n = len(a_xy)
        _, _, dist = _GEOD.inv(lon[:n], lat[:n], lon[n:], lat[n:])
        return np.asarray(dist, dtype=np.float64)

    @cached_property
    def segment_index(self) -> SegmentIndex:
        """Straight segments of the edges, for snapping many points at once."""
        xy, ptr, _, _ = self.vertices
        return SegmentIndex(xy, ptr)

    @cached_property
    def _per_thread(self) -> threading.local:
        return threading.local()

    @contextmanager
    def local_ids(self, nodes: IntArray) -> Iterator[IntArray]:
        """A lookup from global node id to position in ``nodes`` (sorted, distinct), -1 elsewhere.

        One array per thread, filled for ``nodes`` and cleared again on exit, so a lookup costs
        what ``nodes`` costs, not what the network does (a binary search per arc did).
        """
        table = getattr(self._per_thread, "table", None)
        if table is None:
            table = self._per_thread.table = np.full(self.n_nodes, -1, dtype=np.int32)
        table[nodes] = np.arange(len(nodes), dtype=np.int32)
        try:
            yield table
        finally:
            table[nodes] = -1

    def warm(self) -> StreetNetwork:
        """Build every index now rather than on the first query."""
        for name in (
            "geom_length",
            "csr",
            "incidence",
            "vertices",
            "_vertex_columns",
            "node_tree",
            "edge_tree",
        ):  # not segment_index: only bulk snapping uses it, and builds it when first asked
            getattr(self, name)
        return self


#: Edge columns :class:`StreetNetwork` holds as arrays of their own (the rest are tags).
_EDGE_ARRAYS = frozenset({"edge", "u", "v", "length_m", "oneway", "way_id", "geometry"})


def _shared_strings(column: pd.Series) -> NDArray[np.object_]:
    """A text column as str per row, each distinct value one object (8 bytes a row)."""
    values = pd.Categorical(column.fillna("").astype(str))
    shared: NDArray[np.object_] = values.categories.to_numpy(object)[values.codes]
    return shared


def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS 84 / UTM zone CRS containing ``lon``, ``lat``."""
    zone = int((lon + 180) // 6) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def row_ranges(
    ptr: NDArray[np.int64], rows: NDArray[np.integer]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Positions ``ptr[r]:ptr[r+1]`` of every row in ``rows`` of a CSR array, and the counts.

    The positions of all rows are concatenated in the order of ``rows``.
    """
    rows = rows.astype(np.int64, copy=False)
    count = ptr[rows + 1] - ptr[rows]
    shift = np.repeat(ptr[rows] - np.cumsum(count) + count, count)
    return np.arange(int(count.sum()), dtype=np.int64) + shift, count
