"""What ``livingcircle gaps`` does: find the homes, analyse, write tables, report, database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from livingcircle.data.demand import demand_for_region
from livingcircle.data.gap_outputs import SUFFIXES, write_postgis, write_result
from livingcircle.data.user_files import read_boundaries, read_homes, read_parcels
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.demand import Demand, SpreadBy, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.gaps import StepProgress, no_progress
from livingcircle.geo.planning import PlannerTables, plan
from livingcircle.geo.profile_analysis import analyse_profiles, homes_losing
from livingcircle.geo.profile_views import walked_demand
from livingcircle.geo.supply import capacities_from_frame
from livingcircle.maps.report import write_report


@dataclass(frozen=True)
class GapsJob:
    """The command's options, gathered."""

    region: str
    out: Path
    categories: list[str]
    homes: Path | None = None
    osm: Path | None = None
    population: float | None = None
    spread: SpreadBy = "floor_area"
    communities: Path | None = None
    parcels: Path | None = None
    sites: int = 5
    k: int = 5
    minutes: tuple[int, ...] = (5, 10, 15)
    #: overrides the profile's speed when given
    speed_m_s: float | None = None
    report: str | None = "md"
    #: the walking profile homes are judged at: its street rules, not only its speed
    profile: str = "standard"
    #: profiles to judge the homes at too: NAME.profiles.csv, the homes each loses
    compare: tuple[str, ...] = ()
    database: bool = True
    siting: tuple[str, ...] = ("greedy",)


@dataclass(frozen=True)
class GapsDone:
    """What was made: the result, the files, the database tables and the demand's origin."""

    result: PlannerTables
    files: list[Path]
    tables: list[str]
    source: str


def run_gaps(atlas: Atlas, job: GapsJob, progress: StepProgress | None = None) -> GapsDone:
    """Run the whole analysis for ``job`` and write everything it asks for.

    ``progress(stage, done, total)`` is told each stage ("reading homes", "analysing
    clinic"...), for a progress bar.
    """
    tell = progress or no_progress
    if job.out.suffix.lower() not in SUFFIXES:  # before the work, not after it
        raise InvalidParameter(
            f"cannot write {job.out.name}: allowed endings {', '.join(SUFFIXES)}"
        )
    tell(f"building the street graph of {job.region}", 0, 1)
    region = atlas.region(job.region)
    tell(f"building the street graph of {job.region}", 1, 1)
    demand, source = place_homes(
        region, job.homes, job.osm, job.population, job.spread, job.communities, tell
    )
    compared = _compare(region, demand, job, tell)
    speed = region.standard.speed(job.profile, job.speed_m_s)  # the profile's, unless given
    region, demand = walked_demand(region, demand, job.profile, speed)
    parcels: gpd.GeoDataFrame | None = read_parcels(job.parcels) if job.parcels else None
    # the capacities departments stated (the engine keeps no tags): read once more
    capacities = capacities_from_frame(atlas.store.load_region(job.region).facilities)
    result = plan(
        region,
        demand,
        job.categories or None,
        job.sites,
        parcels,
        job.k,
        job.minutes,
        speed,
        progress=progress,
        capacities=capacities,
        methods=job.siting,
    )
    tell("writing the results", 0, 1)
    files = write_result(result, job.out)
    files += _write_siting(result, job.out)
    if compared is not None:
        files.append(job.out.with_name(f"{job.out.stem}.profiles.csv"))
        compared.to_csv(files[-1], index=False)
    if job.report:
        files.append(
            write_report(
                result,
                region,
                job.out.with_name(f"{job.out.stem}.report.{job.report}"),
                source,
                read_boundaries(job.communities) if job.communities else None,
            )
        )
    tables: list[str] = []
    if job.database:  # the PostGIS store: QGIS reads the tables there
        from livingcircle.data.postgis import PostgisStore  # noqa: PLC0415  (needs psycopg)

        if isinstance(atlas.store, PostgisStore):
            tables = write_postgis(result, atlas.store.engine, job.region)
    tell("writing the results", 1, 1)
    return GapsDone(result, files, tables, source)


def _compare(
    region: Region, demand: Demand, job: GapsJob, tell: StepProgress
) -> pd.DataFrame | None:
    """The homes each of ``job.compare`` loses against ``job.profile`` (5-minute facilities).

    Each profile walks its own network (:func:`analyse_profiles`); the categories are the
    5-minute tier's (GB 50180: elderly day-care, clinic, shops...).
    """
    if not job.compare:
        return None
    names = (job.profile, *[p for p in job.compare if p != job.profile])
    five = [c for r in region.standard.tiers[0].requirements for c in r.categories]
    tell(f"judging the homes at {', '.join(names[1:])}", 0, 1)
    homes = demand.frame.assign(population=demand.population)
    runs = analyse_profiles(region, homes, names, dict.fromkeys(five), k=1)
    tell(f"judging the homes at {', '.join(names[1:])}", 1, 1)
    minutes = region.standard.tiers[0].minutes
    return homes_losing(runs, minutes=minutes, reference=job.profile)


def _write_siting(result: PlannerTables, out: Path) -> list[Path]:
    """The siting methods compared (when more than greedy was asked): a table and the sites."""
    if result.siting_comparison.empty:
        return []
    table = out.with_name(f"{out.stem}.siting.csv")
    result.siting_comparison.to_csv(table, index=False)
    sites = out.with_name(f"{out.stem}.siting-sites.geojson")
    result.compared_sites.to_file(sites, driver="GeoJSON")
    return [table, sites]


def place_homes(
    region: Region,
    homes: Path | None,
    osm: Path | None,
    population: float | None,
    spread: SpreadBy,
    communities: Path | None,
    tell: StepProgress = no_progress,
) -> tuple[Demand, str]:
    """The homes the options name, placed on the region's streets, and where they came from.

    ``homes`` (a user's file) first, else the residential buildings of ``osm``, else every
    street node; ``population`` is spread over them, ``communities`` name their community.
    """
    tell("reading homes", 0, 1)
    frame = read_homes(homes, population) if homes else None
    bounds = read_boundaries(communities) if communities else None
    demand_frame, source = demand_for_region(region, osm, frame, population, spread, bounds)
    tell("reading homes", 1, 1)
    tell(f"placing {len(demand_frame):,} homes on the streets", 0, 1)
    demand = place_demand(region.net, demand_frame, region.max_snap_m)
    tell(f"placing {len(demand_frame):,} homes on the streets", 1, 1)
    return demand, source
