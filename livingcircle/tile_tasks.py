"""One tile of a province run: its input written by the client, its task run on a worker.

:func:`tile_input` gathers a tile's subgraph, the facilities on it and its core's homes as
plain objects; :func:`run_tile` (the Dask task) reads them back, runs the single-machine
:func:`livingcircle.geo.gaps.analyse` on the tile and writes its homes
(:func:`points_table`) and the facilities it owns as GeoParquet partitions.
"""

from __future__ import annotations

import io
import pickle
import time
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import fsspec
import geopandas as gpd
import numpy as np
import pandas as pd

from livingcircle.geo.demand import Demand
from livingcircle.geo.engine import FacilityIndex, Region
from livingcircle.geo.errors import InvalidParameter, LivingCircleError
from livingcircle.geo.gaps import Analysis, analyse
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.routing import Snap
from livingcircle.geo.standards import Standard
from livingcircle.geo.tiles import Tile, remap_snap, subnetwork

if TYPE_CHECKING:
    from livingcircle.distributed import ProvinceJob

#: The partitions' columns worth dictionary encoding (a few distinct values each).
_DICTIONARY_COLUMNS = ("region", "community", "category")


def tile_input(
    region: Region,
    demand: Demand,
    tile: Tile,
    cats: Sequence[str],
    job: ProvinceJob,
    horizon: float,
) -> dict[str, Any]:
    """A tile's whole input as plain objects: the subgraph, its facilities, the core's homes.

    Facilities and homes keep the positions they were snapped to on the whole network (the
    subgraph holds their edges), so no answer depends on snapping again.
    """
    fac = region.facilities
    rows = tile.facilities
    homes = tile.homes
    frame = demand.frame.iloc[homes][["id", "population", "community", "geometry"]]
    owned = fac.anchor_lonlat[tile.owned]
    return {
        "region": region.name,
        "tile": tile.index,
        "standard": region.standard,
        "timezone": region.timezone,
        "net": subnetwork(region.net, tile),
        "fac_text": {k: [v[i] for i in rows.tolist()] for k, v in fac.text.items()},
        "fac_category": fac.category[rows],
        "fac_snap": remap_snap(fac.snap[rows], tile.edges),
        "fac_anchor_xy": fac.anchor_xy[rows],
        "fac_anchor_lonlat": fac.anchor_lonlat[rows],
        "fac_street_lonlat": fac.street_lonlat[rows] if len(fac.street_lonlat) else None,
        "homes": frame.reset_index(drop=True),
        "home_population": demand.population[homes],
        "home_community": demand.community[homes],
        "home_snap": remap_snap(demand.snap[homes], tile.edges),
        "owned": {
            "id": [fac.text["id"][i] for i in tile.owned.tolist()],
            "category": [region.standard.category_ids[c] for c in fac.category[tile.owned]],
            "lon": owned[:, 0],
            "lat": owned[:, 1],
        },
        "categories": list(cats),
        "k": job.k,
        "minutes": tuple(job.minutes),
        "speed_m_s": region.standard.speed(job.profile, job.speed_m_s),  # the tile walks at it
        "horizon_m": horizon,
    }


def tile_region(payload: dict[str, Any]) -> tuple[Region, Demand]:
    """The tile as a region of its own and its homes, ready for ``analyse``."""
    net: StreetNetwork = payload["net"]
    standard: Standard = payload["standard"]
    empty = gpd.GeoDataFrame(
        {"id": [], "category": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326")
    )
    region = Region(payload["region"], net, empty, standard, timezone=payload["timezone"])
    snap: Snap = payload["fac_snap"]
    street = payload["fac_street_lonlat"]
    region.facilities = FacilityIndex(
        payload["fac_text"],
        payload["fac_category"],
        snap,
        payload["fac_anchor_xy"],
        payload["fac_anchor_lonlat"],
        _tree(snap),
        street if street is not None else np.zeros((0, 2)),
    )
    homes = payload["homes"]
    demand = Demand(
        gpd.GeoDataFrame(homes, geometry="geometry", crs="EPSG:4326"),
        payload["home_population"],
        payload["home_community"],
        payload["home_snap"],
        0,
        0.0,
    )
    return region, demand


def _tree(snap: Snap) -> Any:
    from scipy.spatial import cKDTree  # noqa: PLC0415

    return cKDTree(snap.xy if len(snap) else np.zeros((0, 2)))


# -- one tile's task ----------------------------------------------------------------------


def run_tile(input_url: str, part_url: str) -> dict[str, Any]:
    """Analyse one tile (a Dask task): read its input, write its partition, say how it went.

    A data error (a :class:`LivingCircleError` or ``ValueError`` from the analysis) is
    returned as ``{"error": reason}`` rather than raised, so Dask does not retry it and the
    other tiles complete; a worker that dies is retried by Dask.
    """
    started, cpu = time.perf_counter(), time.process_time()
    with fsspec.open(input_url, "rb") as f:
        payload = pickle.load(f)  # the run's own scratch, written just before
    where = {"region": payload["region"], "tile": payload["tile"]}
    try:
        region, demand = tile_region(payload)
        frame = _tile_points(region, demand, payload) if len(demand) else None
    except (LivingCircleError, ValueError, KeyError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        return {**where, "error": reason, "trace": traceback.format_exc(limit=3)}
    if frame is not None:
        _write_atomic(part_url, frame)
    # the facilities partition comes last: its presence marks the tile as done (resume)
    _write_atomic(facilities_part(part_url), _owned_frame(payload))
    homes = 0 if frame is None else len(frame)
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return {**where, "homes": homes, "seconds": seconds, "cpu_s": cpu_s}


def facilities_part(part_url: str) -> str:
    """The facilities partition beside a points partition (``points/`` to ``facilities/``)."""
    head, name = part_url.rsplit("/points/", 1)
    return f"{head}/facilities/{name}"


def _owned_frame(payload: dict[str, Any]) -> gpd.GeoDataFrame:
    """The facilities this tile owns (each facility is owned by exactly one tile)."""
    owned = payload["owned"]
    frame = pd.DataFrame(
        {
            "region": payload["region"],
            "tile": np.int32(payload["tile"]),
            "id": pd.Series(owned["id"], dtype=object),
            "category": pd.Series(owned["category"], dtype=object),
        }
    )
    geometry = gpd.points_from_xy(owned["lon"], owned["lat"], crs="EPSG:4326")
    return gpd.GeoDataFrame(frame, geometry=geometry)


def _tile_points(region: Region, demand: Demand, payload: dict[str, Any]) -> gpd.GeoDataFrame:
    _check_homes(demand)
    result = analyse(
        region,
        demand,
        payload["categories"],
        payload["k"],
        payload["minutes"],
        payload["speed_m_s"],
        horizon_m=payload["horizon_m"],
    )
    frame = points_table(result, payload["horizon_m"])
    frame.insert(0, "tile", np.int32(payload["tile"]))
    return frame


def _check_homes(demand: Demand) -> None:
    """Refuse homes whose residents are not a number >= 0 (the summaries would be NaN)."""
    bad = ~(demand.population >= 0) | ~np.isfinite(demand.population)
    if bad.any():
        ids = demand.frame["id"].to_numpy()[bad][:5]
        raise InvalidParameter(
            f"{int(bad.sum())} home(s) have a population that is not a number >= 0 (ids "
            f"{', '.join(map(str, ids))}); allowed: finite residents per home, 0 or more"
        )


def points_table(result: Analysis, horizon: float) -> gpd.GeoDataFrame:
    """One row per home: the answers within ``horizon`` metres, and which lie beyond it.

    Columns: ``region``, ``id``, ``population``, ``community``, ``score``,
    ``tier_<m>_met`` per tier, and per category ``<c>_min`` (minutes to the nearest; NaN when
    beyond the horizon), ``<c>_beyond``, ``<c>_ok`` (within its radius), ``<c>_n<m>``
    (facilities within each of the minutes) and ``<c>_knn1_m`` to ``<c>_knn<k>_m`` (the k
    nearest distances, metres, float32, ``inf`` where fewer lie within the horizon). The
    same function makes the single-machine table, so the two compare column by column.
    """
    demand = result.demand
    frame = demand.frame[["id", "geometry"]].copy()
    frame.insert(0, "region", result.region)
    frame["population"] = demand.population
    frame["community"] = demand.community.astype(str)
    comp = result.compliance()
    frame["score"] = comp.score
    columns: dict[str, Any] = {}
    for tier in result.standard.tiers:
        columns[f"tier_{tier.minutes}_met"] = comp.tier_met(tier.minutes)
    for c, acc in result.categories.items():
        near = acc.nearest_m
        beyond = ~(near <= horizon)
        columns[f"{c}_min"] = np.where(beyond, np.nan, near / result.speed_m_s / 60.0)
        columns[f"{c}_beyond"] = beyond
        columns[f"{c}_ok"] = near <= acc.radius_m
        for j, m in enumerate(result.minutes):
            columns[f"{c}_n{m}"] = acc.within[:, j]
        for j in range(result.k):  # one float32 column per rank: columnar, fast to read
            columns[f"{c}_knn{j + 1}_m"] = acc.k_nearest_m[:, j]
    extra = pd.DataFrame(columns, index=frame.index)
    frame = pd.concat([frame, extra], axis=1)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def _write_atomic(url: str, frame: gpd.GeoDataFrame) -> None:
    """Write a partition under a temporary name and move it in place (resume sees whole files)."""
    fs, path = fsspec.core.url_to_fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    buf = io.BytesIO()
    # dictionary-encode only the repeated names: over a tile's ~300 answer columns the
    # default (every column) took half the task's writing time and made larger files
    names = [c for c in _DICTIONARY_COLUMNS if c in frame.columns]
    frame.to_parquet(buf, index=False, use_dictionary=names)
    tmp = f"{path}.tmp"
    with fs.open(tmp, "wb") as f:
        f.write(buf.getvalue())
    fs.mv(tmp, path)
