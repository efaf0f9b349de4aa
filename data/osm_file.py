"""Reading a city from an OSM file (.osm.pbf, .osm, .osm.bz2) with pyosmium.

One pass gives the walkable ways (by the standard's walkable filter) with their node
locations, and every tagged node, closed way or multipolygon that matches a facility
category. The file streams: node locations are kept in an index on disk, walkable ways in
flat columns, and the network is built from those with array operations
(:mod:`livingcircle.data.osm_stream`), so memory is bounded by the walking network, not by
the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import osmium
import pandas as pd
import shapely
import shapely.wkb

from livingcircle.data.osm_stream import (
    LOCATIONS,
    WayColumns,
    location_storage,
    network_from_arrays,
    read_guarded,
    tag_map,
)
from livingcircle.geo.errors import OSMFileError
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import FACILITY_COLUMNS

#: ``progress(stage, count, unit)``, e.g. ``("reading OSM file", 20000, "objects")``
Progress = Callable[[str, int, str], None]
SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")


@dataclass
class Extract:
    """A city read from a file: the walking network and its facilities, in EPSG:4326."""

    nodes: pd.DataFrame
    edges: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    bounds: tuple[float, float, float, float] | None


def read_osm_file(
    path: Path, standard: Standard, progress: Progress | None = None, locations: str = LOCATIONS
) -> Extract:
    """Read the walking network and facilities from an OSM file.

    Parameters
    ----------
    path
        An ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file.
    standard
        Supplies the walkable filter and the facility categories.
    progress
        Called as ``progress(stage, count, unit)`` while reading.
    locations
        libosmium's node location index (see
        :func:`livingcircle.data.osm_stream.read_walking_network`); on disk by default.

    Raises
    ------
    OSMFileError
        The file is missing, of an unknown kind, or cannot be parsed.
    EmptyExtract
        The file has no walkable street.
    """
    _check_path(path)
    ways, facilities = _Collector(standard, progress).read(path, locations)
    if progress:
        progress("building walking network", len(ways), "ways")
    nodes, edges = network_from_arrays(ways)
    return Extract(nodes, edges, facilities, _header_box(path))


def _check_path(path: Path) -> None:
    if not path.exists():
        raise OSMFileError(f"OSM file {path} does not exist")
    if not path.is_file():
        raise OSMFileError(f"{path} is not a file")
    if not path.name.lower().endswith(SUFFIXES):
        raise OSMFileError(
            f"{path.name} is not an OSM file; allowed endings: {', '.join(SUFFIXES)}"
        )


def _header_box(path: Path) -> tuple[float, float, float, float] | None:
    try:
        box = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING).header().box()
    except RuntimeError:
        return None
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


class _Collector:
    def __init__(self, standard: Standard, progress: Progress | None) -> None:
        self.standard = standard
        self.progress = progress
        self.ways = WayColumns()
        self.rows: list[dict[str, object]] = []
        self.geoms: list[shapely.Geometry] = []
        self.wkb = osmium.geom.WKBFactory()

    def read(self, path: Path, locations: str) -> tuple[WayColumns, gpd.GeoDataFrame]:
        with location_storage(locations) as storage:
            processor = (
                osmium.FileProcessor(str(path))
                .with_locations(storage)
                .with_areas()
                .with_filter(osmium.filter.EmptyTagFilter())
            )
            for i, obj in enumerate(read_guarded(path, processor)):
                self._take(obj)
                if self.progress and i % 20_000 == 0:
                    self.progress(f"reading {path.name}", i, "objects")
        frame = pd.DataFrame(self.rows, columns=FACILITY_COLUMNS)
        return self.ways, gpd.GeoDataFrame(frame, geometry=self.geoms, crs="EPSG:4326")

    def _take(self, obj: osmium.osm.types.OSMEntity) -> None:
        if isinstance(obj, osmium.osm.Node):
            node = obj
            self.ways.add_node(node.id, tag_map(node))
            self._facility(node, "node", node.id, lambda: shapely.Point(node.lon, node.lat))
        elif isinstance(obj, osmium.osm.Way):
            way = obj
            if self.standard.walkable.is_walkable(tag_map(way)):
                self.ways.add(way, self.standard.walkable)
            elif not way.is_closed():  # closed ways come back as areas
                self._facility(way, "way", way.id, lambda: self._line_point(way))
        elif isinstance(obj, osmium.osm.Area):
            area = obj
            kind = "way" if area.from_way() else "relation"
            self._facility(area, kind, area.orig_id(), lambda: self._area(area))

    def _facility(
        self,
        obj: osmium.osm.Node | osmium.osm.Way | osmium.osm.Area,
        kind: str,
        osm_id: int,
        geometry: Callable[[], shapely.Geometry | None],
    ) -> None:
        category = self.standard.classify(tag_map(obj))
        if category is None:
            return
        try:
            geom = geometry()
        except (RuntimeError, osmium.InvalidLocationError):
            return  # an outline cut by the extract's edge: nothing to place
        if geom is None or geom.is_empty:
            return
        tags = {t.k: t.v for t in obj.tags}
        self.rows.append(facility_row(kind, osm_id, tags, category))
        self.geoms.append(geom)

    def _area(self, area: osmium.osm.Area) -> shapely.Geometry:
        geom = shapely.wkb.loads(self.wkb.create_multipolygon(area), hex=True)
        parts = shapely.get_parts(geom)
        return parts[0] if len(parts) == 1 else geom

    def _line_point(self, way: osmium.osm.Way) -> shapely.Geometry | None:
        coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
        if not coords:
            return None
        return shapely.LineString(coords) if len(coords) > 1 else shapely.Point(coords[0])


def facility_row(kind: str, osm_id: int, tags: dict[str, str], category: str) -> dict[str, object]:
    """An OSM object of ``category`` as a store's facility columns (its tags as JSON text)."""
    return {
        "id": f"osm:{kind}/{osm_id}",
        "source": "osm",
        "source_id": f"{kind}/{osm_id}",
        "name": tags.get("name", ""),
        "name_zh": tags.get("name:zh", ""),
        "name_en": tags.get("name:en", ""),
        "category": category,
        "opening_hours": tags.get("opening_hours", ""),
        "tags": json.dumps(tags, ensure_ascii=False, sort_keys=True),
    }
