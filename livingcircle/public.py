"""The Python API: a few lines in a notebook, GeoDataFrames and maps back.

The same store, settings and answers as the command line and the HTTP API: regions are
kept where ``LC_DATA_DIR`` (or ``LC_DATABASE_URL``) says, unless a call names another.
This module holds the functions of ``import livingcircle as lc`` (:func:`open`,
:func:`load`, :func:`fetch`, :func:`regions`, :func:`categories`, :func:`analyse_province`);
a region's questions are in :mod:`livingcircle.region`, the answers' frames in
:mod:`livingcircle.answers`.

>>> import livingcircle as lc
>>> helsinki = lc.open("helsinki")
>>> near = helsinki.nearest((60.1710, 24.9414), categories=["pharmacy"])
>>> near[["category", "name", "minutes"]].shape
(1, 3)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
from tqdm.auto import tqdm

from livingcircle.answers import Analysis, Answer, ScenarioOutcome
from livingcircle.arguments import (
    Bar,
    check_frame,
    check_int,
    check_names,
    check_profile,
    standard_from,
)
from livingcircle.data.load import load_osm
from livingcircle.geo import config
from livingcircle.geo.errors import InvalidParameter, PlaceNotFound
from livingcircle.region import Region
from livingcircle.settings import EngineSettings, store_at

if TYPE_CHECKING:
    from livingcircle.distributed import ProvinceResult

#: The public names: those defined elsewhere (importable from here too), then this module's.
__all__ = ["Analysis", "Answer", "PlaceNotFound", "Region", "ScenarioOutcome"]
__all__ += ["analyse_province", "categories", "fetch", "load", "open", "regions"]


# -- module functions -------------------------------------------------------------------


def regions(data_dir: str | Path | None = None, database: str | None = None) -> pd.DataFrame:
    """The loaded regions, one row each.

    Parameters
    ----------
    data_dir, database
        The store: an embedded store folder or a PostGIS URL; by default what ``LC_DATA_DIR``
        and ``LC_DATABASE_URL`` say, as for the command line.

    Examples
    --------
    >>> "helsinki" in lc.regions()["name"].tolist()
    True
    """
    rows = [
        {
            "name": i.name,
            "source": i.source,
            "loaded_at": i.loaded_at,
            "n_nodes": i.n_nodes,
            "n_edges": i.n_edges,
            "n_facilities": i.n_facilities,
            "west": i.bounds[0],
            "south": i.bounds[1],
            "east": i.bounds[2],
            "north": i.bounds[3],
        }
        for i in store_at(data_dir, database).regions()
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "name",
            "source",
            "loaded_at",
            "n_nodes",
            "n_edges",
            "n_facilities",
            "west",
            "south",
            "east",
            "north",
        ],
    )


def open(  # lc.open, as osmnx and geopandas users expect; builtins.open is untouched
    region: str,
    data_dir: str | Path | None = None,
    database: str | None = None,
    standards: str | Path | None = None,
) -> Region:
    """A loaded region, ready to answer.

    Parameters
    ----------
    region
        Its name (see :func:`regions`).
    data_dir, database
        The store, as :func:`regions`.
    standards
        A standards TOML replacing the bundled GB 50180-2018 file.

    Examples
    --------
    >>> lc.open("helsinki").name
    'helsinki'
    """
    if not isinstance(region, str):
        raise TypeError(f"region must be a region name (str), not {type(region).__name__}")
    return Region(
        store_at(data_dir, database), region, standard_from(standards), EngineSettings().max_snap_m
    )


def load(
    path: str | Path,
    region: str,
    data_dir: str | Path | None = None,
    database: str | None = None,
    standards: str | Path | None = None,
    progress: bool = True,
) -> Region:
    """Load a city's walking network and facilities from an OSM file, then open it.

    Parameters
    ----------
    path
        An OSM extract: ``.osm.pbf``, ``.osm`` or ``.osm.bz2``.
    region
        The name to keep it under; an earlier version is replaced whole, or kept if the load
        fails.
    data_dir, database, standards
        As :func:`open`.
    progress
        Show progress bars.

    Examples
    --------
    >>> from livingcircle.data.sample import sample_file
    >>> lc.load(sample_file(), "helsinki", progress=False).name
    'helsinki'
    """
    store, standard = store_at(data_dir, database), standard_from(standards)
    with Bar(progress, "load") as bar:
        load_osm(store, Path(path), region, standard, bar)
    return Region(store, region, standard, EngineSettings().max_snap_m)


def fetch(
    place: str | tuple[float, float, float, float] | Path,
    region: str,
    *,
    progress: bool = True,
    data_dir: str | Path | None = None,
    database: str | None = None,
    standards: str | Path | None = None,
) -> Region:
    """Download a walking network and facilities from OpenStreetMap, then open the region.

    It asks the Overpass server ``LC_OVERPASS_URL`` (and Nominatim for a place name), so it
    needs the network; :func:`load` reads a file instead. The options are keyword-only.

    Parameters
    ----------
    place
        A place name (looked up at ``LC_NOMINATIM_URL``), a ``(west, south, east, north)``
        box in degrees, or a polygon file.
    region, data_dir, database, standards, progress
        As :func:`load`.
    """
    from livingcircle.data.fetch import OverpassOptions, area_polygon, fetch_region  # noqa: PLC0415
    from livingcircle.settings import NominatimSettings, OverpassSettings  # noqa: PLC0415

    settings = OverpassSettings()
    options = OverpassOptions(settings.url, settings.timeout_s, settings.rate_limit)
    store, standard = store_at(data_dir, database), standard_from(standards)
    with Bar(progress, "fetch") as bar:
        polygon = area_polygon(place, NominatimSettings().url)
        fetch_region(store, region, polygon, standard, options, str(place), bar)
    return Region(store, region, standard, EngineSettings().max_snap_m)


def categories(standards: str | Path | None = None) -> pd.DataFrame:
    """Facility categories: id, 中文 and English labels, and the tiers that require them.

    Examples
    --------
    >>> lc.categories().set_index("id").loc["pharmacy", "label_zh"]
    '药店'
    """
    standard = standard_from(standards)
    needed: dict[str, list[str]] = {}
    for tier in standard.tiers:
        for req in tier.requirements:
            for c in req.categories:
                needed.setdefault(c, []).append(f"{tier.minutes} min ({req.radius_m:.0f} m)")
    return pd.DataFrame(
        [
            {
                "id": c.id,
                "label_zh": c.label_zh,
                "label_en": c.label_en,
                "required_by": ", ".join(needed.get(c.id, [])),
            }
            for c in standard.categories
        ]
    )


def analyse_province(
    regions: Sequence[str | Region] | None,
    out: str | Path,
    homes: str | Path | gpd.GeoDataFrame | None = None,
    categories: Iterable[str] | None = None,
    k: int = 5,
    profile: str = "standard",
    speed_m_s: float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    data_dir: str | Path | None = None,
    database: str | None = None,
) -> ProvinceResult:
    """The gap analysis of a province (many regions, or one large one) on a Dask cluster.

    Each region is cut into tiles with halos, one Dask task per tile; the answers within the
    horizon equal :meth:`Region.analyse`'s, farther ones say "beyond". See
    :mod:`livingcircle.distributed`.

    Parameters
    ----------
    regions
        Region names or opened regions; every loaded region when None.
    out
        A folder or fsspec URL (``s3://bucket/run`` with s3fs) every worker can read.
    homes
        Province-wide homes (a frame or a file) split by region; every street node when None.
    categories, k, profile, speed_m_s
        As :meth:`Region.analyse`.
    workers, scheduler
        A local cluster of ``workers`` processes, or an existing scheduler
        (``tcp://HOST:8786``; default ``LC_DASK_SCHEDULER``).
    resume
        Keep the tiles an earlier run into ``out`` finished.
    progress
        Show a progress bar per tile and the dashboard link.
    data_dir, database
        The store, as :func:`regions`.

    Returns
    -------
    livingcircle.distributed.ProvinceResult
        Tiles computed, resumed and failed, the halo overhead, and the summaries per
        community, district and city; the homes are in ``result.points_url``.

    Raises
    ------
    ClusterUnavailable
        The scheduler does not answer within seconds (the message names its address).
    WorkerCannotReach
        A worker cannot read what this machine writes to ``out``, or write there (checked
        before any tile is planned).

    Examples
    --------
    >>> run = lc.analyse_province(["helsinki"], "province-run", categories=["pharmacy"],
    ...                           workers=1, progress=False)
    >>> run.failed, sorted(run.plans)
    ([], ['helsinki'])
    """
    from livingcircle import distributed  # noqa: PLC0415  (Dask only when asked)
    from livingcircle.data.user_files import read_homes  # noqa: PLC0415

    store = store_at(data_dir, database)
    opened = [
        r if isinstance(r, Region) else open(r, data_dir, database)
        for r in (regions if regions is not None else [i.name for i in store.regions()])
    ]
    if not opened:
        raise InvalidParameter("no region is loaded; load one with lc.load(path, region=...)")
    standard = opened[0].standard
    frame = (
        read_homes(Path(homes)) if isinstance(homes, str | Path) else check_frame("homes", homes)
    )
    job = distributed.ProvinceJob(
        str(out),
        check_names("categories", categories) or None,
        check_int("k", k, 1, config.MAX_K),
        speed_m_s=standard.speed(check_profile(profile), speed_m_s),
        resume=resume,
        profile=profile,
    )
    bar = tqdm(total=0, desc="tiles", disable=not progress)

    def tell(done: int, total: int, message: str) -> None:
        bar.total = total
        bar.update(done - bar.n)

    stream = sys.stderr if progress else None
    try:
        engines = [r.engine for r in opened]
        return distributed.run_province(
            engines, job, frame, workers=workers, scheduler=scheduler, progress=tell, stream=stream
        )
    finally:
        bar.close()
