"""Loading a region into a store from an OSM file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from livingcircle.data.departments import carry_department_records
from livingcircle.data.osm_file import Progress, read_osm_file
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionData, RegionInfo, Store, check_region_name


def load_osm(
    store: Store, path: Path, region: str, standard: Standard, progress: Progress | None = None
) -> RegionInfo:
    """Read an OSM file and store it as ``region``, replacing an earlier version whole.

    Nothing is written until the file has been read and its network built, so a bad file
    leaves the stored region as it was.
    """
    check_region_name(region)
    extract = read_osm_file(path, standard, progress)
    nodes = extract.nodes
    bounds = (
        float(nodes["lon"].min()),
        float(nodes["lat"].min()),
        float(nodes["lon"].max()),
        float(nodes["lat"].max()),
    )
    info = RegionInfo(
        name=region,
        source=f"osm-file:{path.name}",
        loaded_at=datetime.now(UTC),
        bounds=bounds,
        n_nodes=len(nodes),
        n_edges=len(extract.edges),
        n_facilities=len(extract.facilities),
    )
    if progress:
        progress(f"saving region {region}", info.n_facilities, "facilities")
    new = extract.facilities
    store.save_region(
        RegionData(info, nodes, extract.edges, new),
        keep=lambda stored: carry_department_records(stored, new),
    )
    return stored_info(store, region)


def stored_info(store: Store, region: str) -> RegionInfo:
    """The record of ``region`` as stored (its facilities counted after what was kept)."""
    return next(i for i in store.regions() if i.name == region)
