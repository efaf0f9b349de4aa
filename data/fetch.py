"""Reading a city from Overpass through osmnx: the same network and facilities as a file.

The walking ways are downloaded with osmnx's Overpass client and the standard's walkable
filter (``standard.walkable.overpass_filter()``, osmnx's own walk filter), then put into the
same flat columns a file is read into and built by
:func:`livingcircle.data.osm_stream.network_from_arrays`, exactly as
:mod:`livingcircle.data.osm_file` does: the same edges, with the same way tags and node tags
(``name`` and the tags walking profiles read; see :mod:`livingcircle.data.osm_stream`). The
raw Overpass answer (``out;``) carries every tag of every way and node, so osmnx's
``settings.useful_tags_way`` (which only its graph builder reads) plays no part. Facilities
come from ``osmnx.features_from_polygon`` with the tags the categories' rules name,
classified by ``standard.classify``. Point the endpoint at a self-hosted Overpass with
``overpass_url`` (``LC_OVERPASS_URL`` on the command line).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
import requests
import shapely
from osmnx import _overpass
from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError
from shapely.geometry.base import BaseGeometry

from livingcircle.data.load import save_extract
from livingcircle.data.osm_file import Extract, Progress, facility_row
from livingcircle.data.osm_stream import WayColumns, network_from_arrays
from livingcircle.geo.errors import (  # OverpassError: still importable from here
    EmptyExtract,
    InvalidParameter,
    OverpassError,
)
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import FACILITY_COLUMNS, RegionInfo, Store, check_region_name

DEFAULT_OVERPASS_URL = "https://overpass-api.de/api"


@dataclass(frozen=True)
class OverpassOptions:
    """Where and how to ask Overpass (``url`` without ``/interpreter``)."""

    url: str = DEFAULT_OVERPASS_URL
    timeout_s: float = 180.0
    rate_limit: bool = True


def area_polygon(
    area: str | tuple[float, float, float, float] | Path, nominatim_url: str | None = None
) -> BaseGeometry:
    """The polygon of an area, in EPSG:4326.

    ``area`` is a place name (geocoded by osmnx), a ``(west, south, east, north)`` box, or a
    polygon file (GeoJSON, GeoPackage, Shapefile) in any CRS. Place names are looked up
    at ``nominatim_url`` (osmnx's default, the public Nominatim, when None).
    """
    if isinstance(area, tuple):
        west, south, east, north = area
        if not (west < east and south < north):
            raise InvalidParameter(f"bounding box {area} is empty; give west,south,east,north")
        return shapely.box(west, south, east, north)
    if isinstance(area, Path):
        try:
            shapes = gpd.read_file(area).to_crs(4326)
        except (OSError, ValueError) as exc:
            raise InvalidParameter(f"cannot read polygon file {area}: {exc}") from exc
        return shapes.geometry.union_all()
    saved = ox.settings.nominatim_url, ox.settings.use_cache
    ox.settings.nominatim_url = nominatim_url or saved[0]
    ox.settings.use_cache = False
    try:
        with _osmnx_errors(f"looking up the place {area!r}", "LC_NOMINATIM_URL"):
            try:
                return ox.geocode_to_gdf(area).geometry.union_all()
            except (InsufficientResponseError, TypeError) as exc:  # no result, or no outline
                raise InvalidParameter(
                    f"cannot find the place {area!r} ({exc}); give a more precise name, a "
                    "west,south,east,north box or a polygon file"
                ) from exc
    finally:
        ox.settings.nominatim_url, ox.settings.use_cache = saved


def fetch_osm(
    polygon: BaseGeometry,
    standard: Standard,
    options: OverpassOptions,
    progress: Progress | None = None,
) -> Extract:
    """Download the walking network and facilities inside ``polygon`` (EPSG:4326).

    Raises
    ------
    OverpassError
        The server answered with an error, did not answer in time, or sent no usable data.
    EmptyExtract
        The area has no walkable street.
    """
    with _osmnx_settings(options), _osmnx_errors(f"asking {options.url}"):
        if progress:
            progress("downloading walkable ways", 0, "requests")
        responses = list(
            _overpass._download_overpass_network(
                polygon, "walk", standard.walkable.overpass_filter()
            )
        )
        if progress:
            progress("downloading facilities", 0, "requests")
        features = _features(polygon, standard)
    ways = ways_from_overpass(responses, standard)
    if not len(ways):
        raise EmptyExtract(
            "Overpass returned no walkable street for this area; check the area "
            "(a place name, a west,south,east,north box or a polygon file)"
        )
    nodes, edges = network_from_arrays(ways)
    return Extract(nodes, edges, facilities_frame(features, standard), polygon.bounds)


def ways_from_overpass(responses: list[dict[str, Any]], standard: Standard) -> WayColumns:
    """Walkable ways from Overpass JSON as a file's columns (missing nodes not located)."""
    located: dict[int, tuple[float, float]] = {}
    raw_ways: dict[int, dict[str, Any]] = {}
    columns = WayColumns()
    for response in responses:
        for element in response.get("elements", []):
            if element["type"] == "node":
                located[element["id"]] = (element["lon"], element["lat"])
                if "tags" in element:
                    columns.add_node(element["id"], element["tags"])
            elif element["type"] == "way":
                raw_ways[element["id"]] = element
    missing = (np.nan, np.nan)
    for way_id in sorted(raw_ways):
        element = raw_ways[way_id]
        tags = element.get("tags", {})
        if standard.walkable.is_walkable(tags):
            refs = element["nodes"]
            lonlat = [located.get(r, missing) for r in refs]
            columns.add_located(way_id, refs, lonlat, tags, standard.walkable)
    return columns


def facility_tags(standard: Standard, any_value_from: int = 3) -> dict[str, bool | str | list[str]]:
    """The Overpass tags to ask for: the first key of every category rule (a superset).

    A key that the rules name with ``any_value_from`` values or more is asked for with any
    value: Overpass matches values exactly, and OSM writes several as ``"cafe;restaurant"``.
    ``standard.classify`` picks the facilities out of the answer.
    """
    values: dict[str, set[str]] = {}
    for category in standard.categories:
        for rule in category.rules:
            key, value = rule[0]
            values.setdefault(key, set()).update([value] if isinstance(value, str) else value)
    return {
        key: True if "*" in found or len(found) >= any_value_from else sorted(found)
        for key, found in values.items()
    }


def _features(polygon: BaseGeometry, standard: Standard) -> gpd.GeoDataFrame:
    try:
        return ox.features_from_polygon(polygon, facility_tags(standard))
    except InsufficientResponseError:  # osmnx: no matching feature at all
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")


def facilities_frame(features: gpd.GeoDataFrame, standard: Standard) -> gpd.GeoDataFrame:
    """The features osmnx returns as the stored facilities frame (ids as from a file)."""
    rows, geoms = [], []
    skip = {"geometry", "nodes", "ways"}
    columns = [c for c in features.columns if c not in skip]
    for (kind, osm_id), values, shape in zip(
        features.index,
        features[columns].to_dict("records"),
        features.geometry.to_numpy(),
        strict=True,
    ):
        tags = {k: str(v) for k, v in values.items() if isinstance(v, str) or pd.notna(v)}
        category = standard.classify(tags)
        if category is None or shape is None or shape.is_empty:
            continue
        if (
            kind == "way"
            and shape.geom_type == "LineString"
            and (standard.walkable.is_walkable(tags) or shape.is_closed)
        ):
            continue  # a street (network only), or an outline the file path reads as an area
        geom = _like_osmium(shape)
        rows.append(facility_row(kind, osm_id, tags, category))
        geoms.append(geom)
    frame = pd.DataFrame(rows, columns=FACILITY_COLUMNS)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")


def _like_osmium(geom: BaseGeometry) -> BaseGeometry:
    """Rings as libosmium writes them.

    Outer rings counter-clockwise, inner ones clockwise, each starting at its smallest
    (lon, lat) vertex. Where a footway enters an area, the point it is entered from depends
    on the vertex order; this keeps it the same as from a file.
    """
    if geom.geom_type == "Polygon":
        return shapely.Polygon(
            _ring(geom.exterior, ccw=True), [_ring(r, ccw=False) for r in geom.interiors]
        )
    if geom.geom_type == "MultiPolygon":
        return shapely.MultiPolygon([_like_osmium(p) for p in geom.geoms])
    return geom


def _ring(ring: BaseGeometry, ccw: bool) -> np.ndarray:
    xy = shapely.get_coordinates(ring)[:-1]
    if shapely.LinearRing(xy).is_ccw != ccw:
        xy = xy[::-1]
    start = int(np.lexsort((xy[:, 1], xy[:, 0]))[0])
    xy = np.roll(xy, -start, axis=0)
    return np.vstack([xy, xy[:1]])


def fetch_region(
    store: Store,
    region: str,
    polygon: BaseGeometry,
    standard: Standard,
    options: OverpassOptions,
    label: str,
    progress: Progress | None = None,
) -> RegionInfo:
    """Fetch an area and store it as ``region`` (replacing an earlier version whole)."""
    check_region_name(region)
    store.check_not_busy(region)  # a refused fetch fails before it downloads anything
    extract = fetch_osm(polygon, standard, options, progress)
    return save_extract(store, region, extract, f"overpass:{label}", progress)


@contextmanager
def _osmnx_settings(options: OverpassOptions) -> Iterator[None]:
    """Set osmnx's global settings for one fetch; put them back afterwards."""
    names = ("overpass_url", "overpass_rate_limit", "use_cache", "requests_timeout", "log_console")
    saved = {n: getattr(ox.settings, n) for n in names}
    ox.settings.overpass_url = options.url.rstrip("/").removesuffix("/interpreter")
    ox.settings.overpass_rate_limit = options.rate_limit
    ox.settings.use_cache = False
    ox.settings.requests_timeout = options.timeout_s
    ox.settings.log_console = False
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(ox.settings, name, value)


@contextmanager
def _osmnx_errors(doing: str, setting: str = "LC_OVERPASS_URL") -> Iterator[None]:
    """Turn osmnx's and requests' errors into ours, naming the ``setting`` of the server."""
    try:
        yield
    except requests.Timeout as exc:
        raise OverpassError(
            f"{doing}: no answer in time ({exc}); try a smaller area, a longer "
            f"timeout, or another server ({setting})"
        ) from exc
    except requests.RequestException as exc:
        raise OverpassError(
            f"{doing}: cannot reach the server ({exc}); check {setting} and the network"
        ) from exc
    except (ResponseStatusCodeError, InsufficientResponseError) as exc:
        raise OverpassError(
            f"{doing}: the server answered with an error ({exc}); try again "
            f"later or use another server ({setting})"
        ) from exc
