"""Loading a region into a store from an OSM file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd

from data.departments import carry_department_records
from data.osm_file import Progress, read_osm_file
from geo.standards import Standard
from geo.store import RegionData, RegionInfo, Store, check_region_name


def load_osm(
    store: Store, path: Path, region: str, standard: Standard, progress: Progress | None = None
) -> RegionInfo:
    """Read an OSM file and store it as ``region``, replacing an earlier version whole.

    Nothing is written until the file has been read and its network built, so a bad file
    leaves the stored region as it was.
    """
    check_region_name(region)
    extract = read_osm_file(path, standard, progress)
    extract.facilities = carry_department_records(stored_facilities(store, region),
                                                  extract.facilities)
    nodes = extract.nodes
    bounds = (float(nodes["lon"].min()), float(nodes["lat"].min()),
              float(nodes["lon"].max()), float(nodes["lat"].max()))
    info = RegionInfo(
        name=region, source=f"osm-file:{path.name}", loaded_at=datetime.now(UTC),
        bounds=bounds, n_nodes=len(nodes), n_edges=len(extract.edges),
        n_facilities=len(extract.facilities),
    )
    if progress:
        progress(f"saving region {region}", info.n_facilities, "facilities")
    store.save_region(RegionData(info, nodes, extract.edges, extract.facilities))
    return info


def stored_facilities(store: Store, region: str) -> gpd.GeoDataFrame | None:
    """The facilities stored for ``region`` before a reload (None for a new region)."""
    if region not in {info.name for info in store.regions()}:
        return None
    return store.facilities(region, limit=2**31 - 1)
