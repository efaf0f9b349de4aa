"""Reading a city from an OSM file (.osm.pbf, .osm, .osm.bz2) with pyosmium.

One pass gives the walkable ways (by the standard's walkable filter) with their node
locations, and every tagged node, closed way or multipolygon that matches a facility
category.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
import shapely.wkb

from livingcircle.geo.errors import OSMFileError
from livingcircle.geo.network import Way, build_network
from livingcircle.geo.standards import Standard

#: ``progress(stage, count, unit)``, e.g. ``("reading OSM file", 20000, "objects")``
Progress = Callable[[str, int, str], None]
SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
FACILITY_COLUMNS = [
    "id",
    "source",
    "source_id",
    "name",
    "name_zh",
    "name_en",
    "category",
    "opening_hours",
    "tags",
]


@dataclass
class Extract:
    """A city read from a file: the walking network and its facilities, in EPSG:4326."""

    nodes: pd.DataFrame
    edges: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    bounds: tuple[float, float, float, float] | None


def read_osm_file(path: Path, standard: Standard, progress: Progress | None = None) -> Extract:
    """Read the walking network and facilities from an OSM file.

    Parameters
    ----------
    path
        An ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file.
    standard
        Supplies the walkable filter and the facility categories.
    progress
        Called as ``progress(stage, count, unit)`` while reading.

    Raises
    ------
    OSMFileError
        The file is missing, of an unknown kind, or cannot be parsed.
    EmptyExtract
        The file has no walkable street.
    """
    _check_path(path)
    ways, facilities = _Collector(standard, progress).read(path)
    if progress:
        progress("building walking network", len(ways), "ways")
    nodes, edges = build_network(ways)
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
        self.ways: list[Way] = []
        self.rows: list[dict[str, object]] = []
        self.geoms: list[shapely.Geometry] = []
        self.wkb = osmium.geom.WKBFactory()

    def read(self, path: Path) -> tuple[list[Way], gpd.GeoDataFrame]:
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_areas()
            .with_filter(osmium.filter.EmptyTagFilter())
        )
        try:
            for i, obj in enumerate(processor):
                self._take(obj)
                if self.progress and i % 20_000 == 0:
                    self.progress(f"reading {path.name}", i, "objects")
        except RuntimeError as exc:  # libosmium reports parse errors as RuntimeError
            raise OSMFileError(
                f"cannot read OSM file {path}: {exc}; check that the file is complete "
                "(a download may have been cut short) and in PBF or OSM XML format"
            ) from exc
        frame = pd.DataFrame(self.rows, columns=FACILITY_COLUMNS)
        return self.ways, gpd.GeoDataFrame(frame, geometry=self.geoms, crs="EPSG:4326")

    def _take(self, obj: osmium.osm.OSMObject) -> None:
        if obj.is_node():
            self._facility(obj, "node", obj.id, lambda: shapely.Point(obj.lon, obj.lat))
        elif obj.is_way():
            if self.standard.walkable.is_walkable(obj.tags):
                self._way(obj)
            elif not obj.is_closed():  # closed ways come back as areas
                self._facility(obj, "way", obj.id, lambda: self._line_point(obj))
        elif obj.is_area():
            kind = "way" if obj.from_way() else "relation"
            self._facility(obj, kind, obj.orig_id(), lambda: self._area(obj))

    def _way(self, way: osmium.osm.Way) -> None:
        refs = [n.ref for n in way.nodes]
        coords = [(n.lon, n.lat) if n.location.valid() else (np.nan, np.nan) for n in way.nodes]
        arr = np.asarray(coords, dtype=np.float64)
        ok = ~np.isnan(arr[:, 0])
        # a clipped extract lacks some nodes: keep each run of located nodes as its own way
        breaks = np.flatnonzero(np.diff(ok.astype(np.int8)) != 0) + 1
        for run in np.split(np.arange(len(refs)), breaks):
            if len(run) >= 2 and ok[run[0]]:
                self.ways.append(
                    Way(
                        id=way.id,
                        refs=np.asarray(refs, dtype=np.int64)[run],
                        lonlat=arr[run],
                        oneway=self.standard.walkable.oneway(way.tags),
                        highway=way.tags.get("highway", ""),
                        name=way.tags.get("name", ""),
                    )
                )

    def _facility(
        self,
        obj: osmium.osm.OSMObject,
        kind: str,
        osm_id: int,
        geometry: Callable[[], shapely.Geometry | None],
    ) -> None:
        category = self.standard.classify(obj.tags)
        if category is None:
            return
        try:
            geom = geometry()
        except (RuntimeError, osmium.InvalidLocationError):
            return  # an outline cut by the extract's edge: nothing to place
        if geom is None or geom.is_empty:
            return
        tags = {t.k: t.v for t in obj.tags}
        self.rows.append(
            {
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
        )
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
