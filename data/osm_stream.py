"""Reading a walking network from a large OSM file in bounded memory.

The file is read once, as a stream. Node locations go to an index on disk
(libosmium's ``sparse_file_array``), never to Python objects; each walkable way is copied into
flat columns (node ids, lon, lat, a pointer per way) as it passes, and nothing else of the
file is kept. The network is then built from those columns with array operations
(:func:`network_from_arrays`), without a Python object per way or per edge, and equals what
:func:`livingcircle.geo.network.build_network` makes of the same ways: the same nodes in the
same order, the same edges in the same order, the same lengths.

Each edge keeps its way's ``name`` and the tags walking profiles read
(:data:`livingcircle.geo.config.RULE_TAGS`: ``highway``, ``surface``, ``kerb``...), one text
column each, ``""`` where the way has none. While the file streams only the values a way has
are kept, as codes into each tag's distinct values (:class:`Interned`), so memory grows with
the tags present, not with ways times tags.

Two node tags reach the edges too (:data:`NODE_TAGS`): ``kerb=*`` on a ``barrier=kerb`` node
and ``crossing=*`` on a ``highway=crossing`` node. An edge whose line passes through or ends at
such a node takes its value where the edge's own way has no such tag; where it meets several,
the first along the way. A kerb mapped on the junction of a sidewalk and a crossing therefore
reaches the sidewalk's edges at that junction as well as the crossing's (the engine costs
edges, not turns).

:func:`read_walking_network` builds a region's network, or one tile's (``bbox``): the ways
with a node inside the box, whole, so a tile's edges reach past its border as far as their
first junction outside it.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Geod
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from livingcircle.geo.config import MIN_COMPONENT_NODES, RULE_TAGS
from livingcircle.geo.errors import EmptyExtract, InvalidParameter, OSMFileError
from livingcircle.geo.network import Way
from livingcircle.geo.standards import Standard, WalkableFilter

#: Where node locations are kept while a file is read: on disk, so memory stays bounded by
#: the walkable ways, not by the file. ``flex_mem`` keeps them in memory (faster, small files).
LOCATIONS = "sparse_file_array"
Box = tuple[float, float, float, float]
IntArray = NDArray[np.int64]
_GEOD = Geod(ellps="WGS84")
#: The text columns of an edge, in order: its way's name and the tags profiles read.
EDGE_TEXT_COLUMNS = ("highway", "name", *(k for k in RULE_TAGS if k != "highway"))
#: Node tags that reach the edges at the node: (key the node must have, its value, the tag).
NODE_TAGS = (("barrier", "kerb", "kerb"), ("highway", "crossing", "crossing"))


class Interned:
    """A sparse text column: the rows that have a value, and codes into the distinct values.

    8 + 4 bytes a row with a value, nothing for the others; ``""`` is code 0.
    """

    def __init__(self) -> None:
        self.rows: array[int] = array("q")
        self.codes: array[int] = array("i")
        self._code: dict[str, int] = {"": 0}
        self.values: list[str] = [""]

    def code(self, value: str) -> int:
        """The code of ``value`` (a new one the first time it is seen)."""
        code = self._code.get(value)
        if code is None:
            code = self._code[value] = len(self.values)
            self.values.append(value)
        return code

    def add(self, row: int, value: str) -> None:
        """Give ``row`` its value."""
        self.rows.append(row)
        self.codes.append(self.code(value))

    def dense(self, n: int) -> NDArray[np.int32]:
        """The codes of rows ``0..n-1`` (0 where a row has no value)."""
        out = np.zeros(n, dtype=np.int32)
        out[np.frombuffer(self.rows, dtype=np.int64)] = np.frombuffer(self.codes, dtype=np.int32)
        return out

    def decode(self, codes: NDArray[np.int32]) -> NDArray[np.object_]:
        """Codes as their values, each distinct value one shared string."""
        decoded: NDArray[np.object_] = np.array(self.values, dtype=object)[codes]
        return decoded


@dataclass
class WayColumns:
    """Walkable ways as flat columns, filled one way at a time while a file streams past.

    ``refs``, ``lon`` and ``lat`` hold every way's nodes end to end (NaN where the extract
    lacks a node); way ``i`` is ``refs[ptr[i]:ptr[i + 1]]``.
    """

    refs: array[int] = field(default_factory=lambda: array("q"))
    lon: array[float] = field(default_factory=lambda: array("d"))
    lat: array[float] = field(default_factory=lambda: array("d"))
    ptr: array[int] = field(default_factory=lambda: array("q", [0]))
    way_id: array[int] = field(default_factory=lambda: array("q"))
    oneway: array[int] = field(default_factory=lambda: array("b"))
    text: dict[str, Interned] = field(
        default_factory=lambda: {k: Interned() for k in EDGE_TEXT_COLUMNS}
    )
    node_ref: array[int] = field(default_factory=lambda: array("q"))
    node_tag: array[int] = field(default_factory=lambda: array("b"))
    node_code: array[int] = field(default_factory=lambda: array("i"))

    def __len__(self) -> int:
        return len(self.way_id)

    def add(self, way: osmium.osm.Way, walkable: WalkableFilter) -> None:
        """Append one walkable way (its nodes' locations from the reader's index)."""
        for n in way.nodes:
            self.refs.append(n.ref)
            loc = n.location
            if loc.valid():
                self.lon.append(loc.lon)
                self.lat.append(loc.lat)
            else:
                self.lon.append(np.nan)
                self.lat.append(np.nan)
        tags = tag_map(way)
        self._close(way.id, tags, walkable.oneway(tags))

    def add_located(
        self,
        way_id: int,
        refs: list[int],
        lonlat: list[tuple[float, float]],
        tags: Mapping[str, str],
        walkable: WalkableFilter,
    ) -> None:
        """Append one walkable way from its node ids and their lon/lat (NaN: not located)."""
        self.refs.extend(refs)
        self.lon.extend(x for x, _ in lonlat)
        self.lat.extend(y for _, y in lonlat)
        self._close(way_id, tags, walkable.oneway(tags))

    def _close(self, way_id: int, tags: Mapping[str, str], oneway: int) -> None:
        row = len(self.way_id)
        self.ptr.append(len(self.refs))
        self.way_id.append(way_id)
        self.oneway.append(oneway)
        # a get per column: pyosmium answers it in C, far faster than iterating the tags
        for key, column in self.text.items():
            value = tags.get(key)
            if value:
                column.add(row, value)

    def add_node(self, node_id: int, tags: Mapping[str, str]) -> None:
        """Remember a node whose :data:`NODE_TAGS` tag the edges at it take (others: no-op)."""
        for i, (key, value, tag) in enumerate(NODE_TAGS):
            if tags.get(key) == value and (found := tags.get(tag)):
                self.node_ref.append(node_id)
                self.node_tag.append(i)
                self.node_code.append(self.text[tag].code(found))

    def ways(self) -> Iterator[Way]:
        """The same ways as :class:`Way` records, each run of located nodes apart.

        This is how :mod:`livingcircle.data.osm_file` handed ways to ``build_network``
        before it streamed; the tests compare both builders through it.
        """
        refs = np.frombuffer(self.refs, dtype=np.int64)
        lon, lat = np.frombuffer(self.lon), np.frombuffer(self.lat)
        _, text = self.way_text()
        for i, start, stop in _way_spans(self.ptr):
            ok = ~np.isnan(lon[start:stop])
            breaks = np.flatnonzero(np.diff(ok.astype(np.int8)) != 0) + 1
            for run in np.split(np.arange(start, stop), breaks):
                if len(run) >= 2 and ok[run[0] - start]:
                    yield Way(
                        id=self.way_id[i],
                        refs=refs[run].copy(),
                        lonlat=np.column_stack([lon[run], lat[run]]),
                        oneway=self.oneway[i],
                        highway=text["highway"][i],
                        name=text["name"][i],
                    )

    def way_text(self) -> tuple[IntArray, dict[str, NDArray[np.object_]]]:
        """Every way's id and its text columns (:data:`EDGE_TEXT_COLUMNS`), way tags only."""
        return np.frombuffer(self.way_id, dtype=np.int64), {
            k: c.decode(c.dense(len(self))) for k, c in self.text.items()
        }


def _way_spans(ptr: array[int]) -> Iterator[tuple[int, int, int]]:
    for i in range(len(ptr) - 1):
        yield i, ptr[i], ptr[i + 1]


def read_walking_network(
    path: Path,
    standard: Standard,
    bbox: Box | None = None,
    locations: str = LOCATIONS,
    min_component_nodes: int = MIN_COMPONENT_NODES,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Stream an OSM file's walking network (nodes and edges), optionally one tile of it.

    Parameters
    ----------
    path
        An ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file.
    standard
        Supplies the walkable filter.
    bbox
        ``(west, south, east, north)`` in degrees: only ways with a node inside it, whole.
        None for the whole file.
    locations
        libosmium's node location index: ``sparse_file_array`` (on disk, in a temporary
        folder; memory bounded by the walkable ways) or ``flex_mem`` (in memory).
    min_component_nodes
        As :func:`livingcircle.geo.network.build_network`; for a tile, pieces are judged
        within the tile.

    Returns
    -------
    nodes, edges
        As :func:`livingcircle.geo.network.build_network`.

    Raises
    ------
    OSMFileError
        The file cannot be read.
    EmptyExtract
        No walkable way (in the box).
    """
    box = _check_box(bbox)
    columns = WayColumns()
    walkable = standard.walkable
    with location_storage(locations) as storage:
        processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        processor.with_locations(storage)
        if walkable.require:  # a first cut in C; barrier=kerb nodes may have no highway
            keys = dict.fromkeys([*walkable.require, *(k for k, _, _ in NODE_TAGS)])
            processor.with_filter(osmium.filter.KeyFilter(*keys))
        for obj in read_guarded(path, processor):
            if isinstance(obj, osmium.osm.Node):
                columns.add_node(obj.id, tag_map(obj))
            elif isinstance(obj, osmium.osm.Way) and walkable.is_walkable(tag_map(obj)):
                if box is None or _touches(obj, box):
                    columns.add(obj, walkable)
    return network_from_arrays(columns, min_component_nodes)


def tag_map(obj: osmium.osm.Node | osmium.osm.Way | osmium.osm.Area) -> Mapping[str, str]:
    """An object's tags as the standard's rules read them.

    pyosmium's ``TagList`` answers ``in``, ``[]`` and ``get`` as a mapping does, but is not
    declared one (and types ``get(key, default)`` as ``str | None``), hence the cast.
    """
    return cast(Mapping[str, str], obj.tags)


def read_guarded(
    path: Path, processor: osmium.FileProcessor
) -> Iterator[osmium.osm.types.OSMEntity]:
    """Iterate ``processor``, turning libosmium's parse errors into :class:`OSMFileError`."""
    try:
        yield from processor
    except RuntimeError as exc:  # libosmium reports parse errors as RuntimeError
        raise OSMFileError(
            f"cannot read OSM file {path}: {exc}; check that the file is complete "
            "(a download may have been cut short) and in PBF or OSM XML format"
        ) from exc


@contextmanager
def location_storage(kind: str) -> Iterator[str]:
    """An osmium location index spec; a file-backed one lives in a temporary folder."""
    allowed = ("sparse_file_array", "dense_file_array", "flex_mem", "sparse_mem_array")
    if kind not in allowed:
        raise InvalidParameter(
            f"unknown node location index {kind!r}; allowed: {', '.join(allowed)}"
        )
    if not kind.endswith("_file_array"):
        yield kind
        return
    with tempfile.TemporaryDirectory(prefix="lc-locations-") as tmp:
        yield f"{kind},{Path(tmp) / 'locations.idx'}"


def _check_box(bbox: Box | None) -> Box | None:
    if bbox is None:
        return None
    west, south, east, north = (float(v) for v in bbox)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidParameter(
            f"bbox {bbox!r} is not (west, south, east, north) in degrees with west < east "
            "and south < north"
        )
    return west, south, east, north


def _touches(way: osmium.osm.Way, box: Box) -> bool:
    west, south, east, north = box
    for n in way.nodes:
        loc = n.location
        if loc.valid() and west <= loc.lon <= east and south <= loc.lat <= north:
            return True
    return False


def network_from_arrays(
    columns: WayColumns, min_component_nodes: int = MIN_COMPONENT_NODES
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Split the ways at every junction and way end, with array operations only.

    The result equals ``build_network(columns.ways(), min_component_nodes)``.
    """
    runs = _located_runs(columns)
    if runs is None:
        raise EmptyExtract("the extract has no walkable street (no way passes the walkable filter)")
    refs, lon, lat, run, way = runs
    a, b = _pieces(refs, run)
    rev = np.frombuffer(columns.oneway, dtype=np.int8)[way[a]] == -1
    osm_u, osm_v = np.where(rev, refs[b], refs[a]), np.where(rev, refs[a], refs[b])
    osmids, inverse = np.unique(np.concatenate([osm_u, osm_v]), return_inverse=True)
    u, v = inverse[: len(a)], inverse[len(a) :]
    keep_node = _kept_nodes(u, v, len(osmids), min_component_nodes)
    node_pos = np.empty(len(osmids), dtype=np.int64)
    node_pos[inverse] = np.concatenate([np.where(rev, b, a), np.where(rev, a, b)])
    nodes = pd.DataFrame(
        {
            "node": np.arange(keep_node.sum(), dtype=np.int32),
            "osmid": osmids[keep_node],
            "lon": lon[node_pos[keep_node]],
            "lat": lat[node_pos[keep_node]],
        }
    )
    keep = keep_node[u]
    new_id = np.cumsum(keep_node) - 1
    a, b = a[keep], b[keep]
    rev, ways_of = rev[keep], way[a]
    edges = gpd.GeoDataFrame(
        {
            "edge": np.arange(len(a), dtype=np.int32),
            "u": new_id[u[keep]].astype(np.int32),
            "v": new_id[v[keep]].astype(np.int32),
            "length_m": _lengths(lon, lat, a, b),
            "oneway": np.frombuffer(columns.oneway, dtype=np.int8)[ways_of] != 0,
            "way_id": np.frombuffer(columns.way_id, dtype=np.int64)[ways_of],
            **_edge_text(columns, ways_of, _node_codes(columns, refs, a, b)),
        },
        geometry=_lines(lon, lat, a, b, rev),
        crs="EPSG:4326",
    )
    return nodes, edges


def _located_runs(
    columns: WayColumns,
) -> tuple[IntArray, NDArray[np.float64], NDArray[np.float64], IntArray, IntArray] | None:
    """Each way's runs of located nodes with two or more nodes: refs, lon, lat, run, way."""
    refs = np.frombuffer(columns.refs, dtype=np.int64)
    lon = np.frombuffer(columns.lon, dtype=np.float64)
    lat = np.frombuffer(columns.lat, dtype=np.float64)
    ptr = np.frombuffer(columns.ptr, dtype=np.int64)
    if len(refs) == 0:
        return None
    ok = ~np.isnan(lon)
    start = np.zeros(len(refs), dtype=bool)
    start[ptr[:-1][ptr[:-1] < len(refs)]] = True
    start[1:] |= ok[1:] != ok[:-1]
    run = np.cumsum(start) - 1
    size = np.bincount(run)
    keep = ok & (size[run] >= 2)
    if not keep.any():
        return None
    way = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    _, run = np.unique(run[keep], return_inverse=True)
    return refs[keep], lon[keep], lat[keep], run.astype(np.int64), way[keep]


def _pieces(refs: IntArray, run: IntArray) -> tuple[IntArray, IntArray]:
    """First and last position of every edge: cut where a node is used more than once."""
    _, inv, uses = np.unique(refs, return_inverse=True, return_counts=True)
    first = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
    last = np.r_[first[1:] - 1, len(refs) - 1]
    np.add.at(uses, inv[first], 2)  # way ends are junctions too
    np.add.at(uses, inv[last], 2)
    cut = np.flatnonzero(uses[inv] > 1)
    same = run[cut[:-1]] == run[cut[1:]]
    return cut[:-1][same], cut[1:][same]


def _kept_nodes(u: IntArray, v: IntArray, n: int, min_component_nodes: int) -> NDArray[np.bool_]:
    graph = coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    # the largest piece always stays, however small the extract
    keep: NDArray[np.bool_] = (sizes[labels] >= min_component_nodes) | (labels == np.argmax(sizes))
    return keep


def _lengths(
    lon: NDArray[np.float64], lat: NDArray[np.float64], a: IntArray, b: IntArray
) -> NDArray[np.float64]:
    """Geodesic length of positions ``a..b`` (inclusive), summed segment by segment."""
    if len(a) == 0:
        return np.zeros(0)
    seg = np.append(np.asarray(_GEOD.line_lengths(lon, lat), dtype=np.float64), 0.0)
    bounds = np.column_stack([a, b]).ravel()
    total: NDArray[np.float64] = np.add.reduceat(seg, bounds)[::2]
    total[a == b] = 0.0
    return total


def _lines(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    a: IntArray,
    b: IntArray,
    rev: NDArray[np.bool_],
) -> NDArray[np.object_]:
    """LineStrings over positions ``a..b``, backwards where ``rev``."""
    if len(a) == 0:
        return np.empty(0, dtype=object)
    sizes = b - a + 1
    piece = np.repeat(np.arange(len(a)), sizes)
    offset = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    pos = np.where(rev[piece], b[piece] - offset, a[piece] + offset)
    lines: NDArray[np.object_] = shapely.linestrings(
        np.column_stack([lon[pos], lat[pos]]), indices=piece
    )
    return lines


def _node_codes(
    columns: WayColumns, refs: IntArray, a: IntArray, b: IntArray
) -> dict[str, NDArray[np.int32]]:
    """Per :data:`NODE_TAGS` tag, each edge's code from the first tagged node on its line (0: none).

    Edge ``i`` covers positions ``a[i]..b[i]``; consecutive edges of a run share an end, so a
    position lies on at most two edges: the last starting at or before it and the first
    ending at or after it.
    """
    out: dict[str, NDArray[np.int32]] = {}
    node_ref = np.frombuffer(columns.node_ref, dtype=np.int64)
    node_tag = np.frombuffer(columns.node_tag, dtype=np.int8)
    node_code = np.frombuffer(columns.node_code, dtype=np.int32)
    for i, (_, _, tag) in enumerate(NODE_TAGS):
        codes = np.zeros(len(a), dtype=np.int32)
        mine = node_tag == i
        if mine.any() and len(a):
            ids, first = np.unique(node_ref[mine], return_index=True)
            pos = np.flatnonzero(np.isin(refs, ids))
            code = node_code[mine][first][np.searchsorted(ids, refs[pos])]
            edge = np.clip(
                np.r_[np.searchsorted(a, pos, "right") - 1, np.searchsorted(b, pos, "left")],
                0,
                len(a) - 1,
            )
            at, code = np.r_[pos, pos], np.r_[code, code]
            on = (a[edge] <= at) & (at <= b[edge])
            edge, at, code = edge[on], at[on], code[on]
            order = np.lexsort((at, edge))  # by edge, then along the way
            edge, code = edge[order], code[order]
            first_on_edge = np.diff(edge, prepend=-1) != 0
            codes[edge[first_on_edge]] = code[first_on_edge]
        out[tag] = codes
    return out


def _edge_text(
    columns: WayColumns, ways_of: IntArray, node_codes: Mapping[str, NDArray[np.int32]]
) -> dict[str, NDArray[np.object_]]:
    """The edges' text columns: their way's tags, a node's where the way has none."""
    out = {}
    for key, column in columns.text.items():
        codes = column.dense(len(columns))[ways_of]
        if key in node_codes:
            codes = np.where(codes == 0, node_codes[key], codes)
        out[key] = column.decode(codes)
    return out


def write_network_pbf(nodes: pd.DataFrame, edges: gpd.GeoDataFrame, path: Path) -> Path:
    """Write a network in the stored schema as an OSM file, one way per edge.

    Street nodes keep their ``osmid``; inner vertices of an edge's line get new ids above
    them. Generated cities (:func:`livingcircle.data.synthetic.grid_city`) become PBF files
    this way, for benchmarks and tests of the reader.
    """
    path.unlink(missing_ok=True)
    next_id = int(nodes["osmid"].max()) + 1
    osmid = nodes["osmid"].to_numpy(np.int64)
    writer = osmium.SimpleWriter(str(path))
    try:
        for i, lon, lat in zip(osmid, nodes["lon"], nodes["lat"], strict=True):
            writer.add_node(osmium.osm.mutable.Node(id=int(i), location=(lon, lat)))
        inner: list[tuple[int, float, float]] = []
        ways = []
        for u, v, line, highway, oneway in zip(
            edges["u"], edges["v"], edges.geometry, edges["highway"], edges["oneway"], strict=True
        ):
            mid = shapely.get_coordinates(line)[1:-1]
            ids = list(range(next_id, next_id + len(mid)))
            next_id += len(mid)
            inner += [(j, x, y) for j, (x, y) in zip(ids, mid, strict=True)]
            tags = {"highway": str(highway or "footway")}
            if oneway:
                tags["oneway:foot"] = "yes"
            ways.append(([int(osmid[u]), *ids, int(osmid[v])], tags))
        for j, x, y in inner:
            writer.add_node(osmium.osm.mutable.Node(id=j, location=(x, y)))
        for k, (refs, tags) in enumerate(ways, start=1):
            writer.add_way(osmium.osm.mutable.Way(id=k, nodes=refs, tags=tags))
    finally:
        writer.close()
    return path
