"""Residents from an OSM file: residential buildings, residential land and admin boundaries.

One pyosmium pass collects

* residential buildings: ``building`` = residential, apartments, house, ... and also a plain
  ``building=yes`` standing on ``landuse=residential`` land (the common way homes are
  mapped), with ``building:levels`` and any ``population`` tag;
* ``landuse=residential`` areas: an area with no residential building on it becomes a demand
  unit itself (land mapped before its houses);
* ``boundary=administrative`` areas of ``admin_level`` 8 to 10 (districts, sub-districts,
  communities): the finest level found names each point's community.

:func:`demand_for_region` picks the best source there is: a user's file of homes, else the
OSM buildings, else every street node with an equal share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
import shapely.wkb

from livingcircle.data.osm_file import Progress, _check_path
from livingcircle.data.osm_stream import tag_map
from livingcircle.geo.demand import (
    SpreadBy,
    assign_communities,
    demand_frame,
    demand_from_buildings,
    demand_from_nodes,
)
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import OSMFileError

RESIDENTIAL_BUILDINGS = frozenset(
    {
        "residential",
        "apartments",
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "dormitory",
        "bungalow",
        "cabin",
        "farm",
        "houseboat",
        "static_caravan",
        "stilt_house",
        "flats",
    }
)
#: Share of residential land covered by floors, for land mapped without buildings.
LAND_FLOOR_RATIO = 0.25
ADMIN_LEVELS = ("8", "9", "10")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


@dataclass
class DemandSources:
    """What an OSM file says about where people live, in EPSG:4326."""

    buildings: gpd.GeoDataFrame  # id, building, levels, population, geometry
    residential_land: gpd.GeoDataFrame  # id, geometry
    boundaries: gpd.GeoDataFrame  # id, name, admin_level, geometry


def read_demand_sources(
    path: Path, admin_levels: tuple[str, ...] = ADMIN_LEVELS, progress: Progress | None = None
) -> DemandSources:
    """Read buildings, residential land and admin boundaries from an OSM file.

    Raises
    ------
    OSMFileError
        The file is missing, of an unknown kind, or cannot be parsed.
    """
    _check_path(path)
    collector = _Collector(admin_levels)
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_areas()
        .with_filter(osmium.filter.KeyFilter("building", "landuse", "boundary"))
    )
    try:
        for i, obj in enumerate(processor):
            if isinstance(obj, osmium.osm.Area):
                collector.take(obj)
            if progress and i % 20_000 == 0:
                progress(f"reading homes from {path.name}", i, "objects")
    except RuntimeError as exc:
        raise OSMFileError(f"cannot read OSM file {path}: {exc}") from exc
    return collector.frames()


class _Collector:
    def __init__(self, admin_levels: tuple[str, ...]) -> None:
        self.admin_levels = admin_levels
        self.wkb = osmium.geom.WKBFactory()
        self.rows: dict[str, list[dict[str, object]]] = {"b": [], "l": [], "a": []}
        self.geoms: dict[str, list[shapely.Geometry]] = {"b": [], "l": [], "a": []}

    def take(self, area: osmium.osm.Area) -> None:
        tags = tag_map(area)
        kind = "way" if area.from_way() else "relation"
        oid = f"osm:{kind}/{area.orig_id()}"
        building = tags.get("building")
        if building and tags.get("building:part") is None:
            self._add(
                "b",
                area,
                {
                    "id": oid,
                    "building": building,
                    "levels": _number(tags.get("building:levels")),
                    "population": _number(tags.get("population")),
                },
            )
        elif tags.get("landuse") == "residential":
            self._add("l", area, {"id": oid})
        elif (
            tags.get("boundary") == "administrative"
            and tags.get("admin_level") in self.admin_levels
        ):
            self._add(
                "a",
                area,
                {
                    "id": oid,
                    "name": tags.get("name:zh") or tags.get("name", ""),
                    "admin_level": int(tags.get("admin_level", "0")),
                },
            )

    def _add(self, key: str, area: osmium.osm.Area, row: dict[str, object]) -> None:
        try:
            geom = shapely.wkb.loads(self.wkb.create_multipolygon(area), hex=True)
        except (RuntimeError, osmium.InvalidLocationError):
            return  # an outline cut by the extract's edge
        if geom.is_empty:
            return
        self.rows[key].append(row)
        self.geoms[key].append(geom)

    def frames(self) -> DemandSources:
        columns = {
            "b": ["id", "building", "levels", "population"],
            "l": ["id"],
            "a": ["id", "name", "admin_level"],
        }
        out = {
            k: gpd.GeoDataFrame(
                pd.DataFrame(self.rows[k], columns=columns[k]),
                geometry=self.geoms[k],
                crs="EPSG:4326",
            )
            for k in columns
        }
        return DemandSources(out["b"], out["l"], out["a"])


def _number(value: str | None) -> float:
    match = _NUMBER.search(value or "")
    return float(match.group()) if match else np.nan


def residential_buildings(sources: DemandSources) -> gpd.GeoDataFrame:
    """Buildings that are homes: tagged as such, or ``building=yes`` on residential land."""
    b = sources.buildings
    tagged = np.array(b["building"].isin(RESIDENTIAL_BUILDINGS), dtype=bool)
    plain = np.array(b["building"] == "yes", dtype=bool)
    if plain.any() and len(sources.residential_land):
        land = sources.residential_land.geometry.to_numpy()
        inside = np.zeros(len(b), dtype=bool)
        hit, _ = shapely.STRtree(land).query(
            b.geometry.representative_point().to_numpy(), predicate="within"
        )
        inside[hit] = True
        tagged |= plain & inside
    return b.loc[tagged].reset_index(drop=True)


def homes_from_osm(
    sources: DemandSources, total: float | None = None, by: SpreadBy = "floor_area"
) -> gpd.GeoDataFrame:
    """Demand points from residential buildings, plus residential land with no building on it.

    A ``total`` is spread over them by floor area (footprint x levels; land counts at
    :data:`LAND_FLOOR_RATIO` of its area) or by count; communities come from the finest
    admin level present.
    """
    homes = residential_buildings(sources)
    land = sources.residential_land
    if len(land):
        if len(homes):
            has, _ = shapely.STRtree(homes.geometry.representative_point().to_numpy()).query(
                land.geometry.to_numpy(), predicate="contains"
            )
            land = land.drop(index=land.index[np.unique(has)])
        land = land.assign(building="(land)", levels=LAND_FLOOR_RATIO, population=np.nan)
    units = pd.concat([homes, land], ignore_index=True) if len(land) else homes
    units = gpd.GeoDataFrame(units, geometry="geometry", crs="EPSG:4326")
    demand = demand_from_buildings(units, total, by)
    return with_communities(demand, sources.boundaries)


def with_communities(demand: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Name each point's community after the finest admin boundary holding it."""
    if len(boundaries) == 0:
        return demand
    finest = boundaries[boundaries["admin_level"] == boundaries["admin_level"].max()]
    return assign_communities(demand, finest)


def demand_for_region(
    region: Region,
    osm_file: Path | None = None,
    homes: gpd.GeoDataFrame | None = None,
    total: float | None = None,
    by: SpreadBy = "floor_area",
    boundaries: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, str]:
    """The best demand there is, and a word on where it came from.

    A user's ``homes`` first, else residential buildings of ``osm_file``, else every street
    node of the region with an equal share of ``total`` (1 resident each without a total).
    ``boundaries`` (a user's communities) replace the OSM admin boundaries.
    """
    sources = read_demand_sources(osm_file) if osm_file is not None else None
    if homes is not None:
        demand, origin = homes, "user file"
    elif sources is not None and (len(sources.buildings) or len(sources.residential_land)):
        demand = homes_from_osm(sources, total, by)
        origin = f"OSM residential buildings ({len(demand):,} homes)"
        if len(demand) == 0:
            demand, origin = _nodes(region, total), "street nodes (no residential building)"
    else:
        demand, origin = _nodes(region, total), "street nodes (no homes given)"
    if boundaries is not None:
        demand = assign_communities(demand, boundaries)
    elif sources is not None and homes is not None:
        demand = with_communities(demand, sources.boundaries)
    return demand, origin


def _nodes(region: Region, total: float | None) -> gpd.GeoDataFrame:
    return demand_from_nodes(region.net, region.unproject(region.net.node_xy), total)


__all__ = [
    "DemandSources",
    "demand_for_region",
    "demand_frame",
    "homes_from_osm",
    "read_demand_sources",
    "residential_buildings",
]
