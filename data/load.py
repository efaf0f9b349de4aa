"""Loading a region into a store from an OSM file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from livingcircle.data.osm_file import Extract, Progress, read_osm_file
from livingcircle.geo.elevation import sample_dem
from livingcircle.geo.provenance import carry_department_records
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionData, RegionInfo, Store, check_region_name
from livingcircle.geo.text import clean_edges, clean_facilities

log = logging.getLogger("livingcircle.load")


def load_osm(
    store: Store,
    path: Path,
    region: str,
    standard: Standard,
    progress: Progress | None = None,
    dem: Path | None = None,
    told: Callable[[str], None] | None = None,
) -> RegionInfo:
    """Read an OSM file and store it as ``region``, replacing an earlier version whole.

    Nothing is written until the file has been read and its network built, so a bad file
    leaves the stored region as it was. With ``dem`` (a GeoTIFF) every street node gets its
    elevation (an ``ele`` column; the profiles' slope rules use it), and ``told`` hears how
    much of the region the DEM covers.
    """
    check_region_name(region)
    store.check_not_busy(region)  # a refused load fails now, not after reading the file
    extract = read_osm_file(path, standard, progress)
    if dem is not None:
        nodes = extract.nodes
        heights = sample_dem(dem, nodes["lon"].to_numpy(), nodes["lat"].to_numpy())
        extract = replace(extract, nodes=nodes.assign(ele=heights.metres))
        if told:
            told(heights.describe())
    return save_extract(store, region, extract, f"osm-file:{path.name}", progress)


def save_extract(
    store: Store, region: str, extract: Extract, source: str, progress: Progress | None = None
) -> RegionInfo:
    """Store a read or fetched extract as ``region``, keeping every department's records."""
    extract = clean_text(extract, region)
    nodes = extract.nodes
    new = extract.facilities
    info = RegionInfo.of(region, source, datetime.now(UTC), nodes, extract.edges, new)
    if progress:
        progress(f"saving region {region}", info.n_facilities, "facilities")
    store.save_region(
        RegionData(info, nodes, extract.edges, new),
        keep=lambda stored: carry_department_records(stored, new),
    )
    return stored_info(store, region)


def stored_info(store: Store, region: str) -> RegionInfo:
    """The record of ``region`` as stored (its facilities counted after what was kept)."""
    return next(i for i in store.regions() if i.name == region)


def clean_text(extract: Extract, region: str) -> Extract:
    """The extract with text the stores refuse cleaned (``geo.text``), each change logged.

    OpenStreetMap's text is not ours to refuse: a name with a control character loses the
    character, not the facility, the same way on both stores.
    """
    facilities, cleaned = clean_facilities(extract.facilities)
    edges, cleaned_edges = clean_edges(extract.edges)
    for c in (cleaned + cleaned_edges)[:20]:
        log.warning("region %r: %s %s", region, c.id, c.change)
    if len(cleaned) + len(cleaned_edges) > 20:
        log.warning("region %r: %d more text changes", region, len(cleaned + cleaned_edges) - 20)
    return replace(extract, facilities=facilities, edges=edges)
