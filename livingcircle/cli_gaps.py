"""``livingcircle gaps``: who is not within the standard's walk, and where to build next.

The work is :func:`livingcircle.gaps_run.run_gaps` (one region) or
:mod:`livingcircle.cli_distributed` (``--distributed``, a province on Dask); this module reads
the options and prints the outcome.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from livingcircle.cli_options import (
    AtlasChoice,
    Kept,
    Quiet,
    Residents,
    Scheduler,
    Walking,
    Workers,
    category_option,
    command,
    out_option,
    region_option,
)
from livingcircle.cli_output import err, print_frame, steps
from livingcircle.geo import config
from livingcircle.geo.errors import InvalidParameter

if TYPE_CHECKING:
    from livingcircle.geo.demand import SpreadBy
    from livingcircle.geo.planning import PlannerTables

__all__ = ["gaps"]

REPORTS = ("md", "html", "pdf", "none")


@command
def gaps(
    *,
    out_file: Annotated[
        str,
        out_option(
            "Result file: .gpkg (layers), .parquet or .csv (one file per "
            "table beside it); a report NAME.report.md is written beside it. With "
            "--distributed: a folder or fsspec URL (s3://bucket/run with s3fs)."
        ),
    ],
    region: Annotated[
        list[str] | None,
        region_option(
            "Region to analyse; with --distributed repeat it for a province "
            "(default there: every loaded region)."
        ),
    ] = None,
    category: Annotated[
        list[str] | None,
        category_option(
            "Category for gap areas and new sites, repeatable; default: "
            "every category the standard requires. Every category is analysed."
        ),
    ] = None,
    residents: Residents,
    osm: Annotated[
        Path | None,
        typer.Option(
            "--osm",
            help="OSM file to take residential buildings and admin boundaries from "
            "(without --homes); without either, every street node is a home.",
        ),
    ] = None,
    spread: Annotated[
        str,
        typer.Option("--spread", help="How a total is spread over buildings: floor_area or count."),
    ] = "floor_area",
    parcels: Annotated[
        Path | None,
        typer.Option("--parcels", help="Candidate parcels for new sites; default: street nodes."),
    ] = None,
    sites: Annotated[
        int, typer.Option("--sites", help="New sites per category.", min=0, max=100)
    ] = 5,
    siting: Annotated[
        str,
        typer.Option(
            "--siting",
            help="Siting methods to compare on the same candidates, comma-separated: "
            "greedy, mclp (maximal coverage), pmedian (least total walk); writes "
            "NAME.siting.csv and NAME.siting-sites.geojson beside --out.",
        ),
    ] = "greedy",
    compare_profiles: Annotated[
        str,
        typer.Option(
            "--compare-profiles",
            help="Also judge the homes at these walking profiles, comma-separated (elderly,"
            "step-free): NAME.profiles.csv beside --out counts, per profile and 5-minute "
            "category, the homes within 5 minutes at --profile and not at it.",
        ),
    ] = "",
    k: Kept = 5,
    walk: Walking,
    report: Annotated[
        str,
        typer.Option(
            "--report", help="Report format: md, html, pdf (printed by Chromium) or none."
        ),
    ] = "md",
    distributed: Annotated[
        bool,
        typer.Option(
            "--distributed",
            help="Province scale: tiles with halos as Dask tasks, partitioned GeoParquet "
            "and summaries per community, district and city under --out (no siting or report).",
        ),
    ] = False,
    workers: Workers = None,
    scheduler: Scheduler = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep finished tiles of an earlier run.")
    ] = False,
    where: AtlasChoice,
    quiet: Quiet = False,
) -> None:
    """Who is not within the standard's walk of each service, and where to build next."""
    from livingcircle.gaps_run import GapsJob, run_gaps  # noqa: PLC0415  (heavy imports)

    atlas = where.atlas()
    speed_m_s = walk.speed_m_s(atlas.standard)
    if distributed:
        from livingcircle.cli_distributed import gaps_distributed  # noqa: PLC0415
        from livingcircle.distributed import ProvinceJob  # noqa: PLC0415

        province = ProvinceJob(
            out_file, category or None, k, speed_m_s=speed_m_s, resume=resume, profile=walk.profile
        )
        with steps(not quiet) as tell:
            gaps_distributed(atlas, region, province, residents, workers, scheduler, tell, err)
        return
    if not region or len(region) > 1:
        raise InvalidParameter("--region: name exactly one region, or add --distributed")
    from livingcircle.geo.siting_compare import shortfall  # noqa: PLC0415

    methods = _methods(siting)
    if spread not in ("floor_area", "count") or report not in REPORTS:
        raise InvalidParameter(
            f"--spread {spread!r} / --report {report!r}: allowed "
            "floor_area or count / md, html, pdf or none"
        )
    job = GapsJob(
        region[0],
        Path(out_file),
        category or [],
        residents.homes,
        osm,
        residents.population,
        cast("SpreadBy", spread),  # floor_area or count, checked above
        residents.communities,
        parcels,
        sites,
        k,
        config.DEFAULT_MINUTES,
        speed_m_s,
        None if report == "none" else report,
        siting=methods,
        profile=walk.profile,
        compare=_profiles(compare_profiles, atlas.standard.profiles),
    )
    start = time.perf_counter()
    with steps(not quiet) as tell:
        done = run_gaps(atlas, job, tell)
    _print_gaps(done.result)
    for note in shortfall(done.result.siting_comparison):
        err.print(note, highlight=False)
    err.print(
        f"homes from {done.source}; analysed in {time.perf_counter() - start:.1f} s; "
        f"wrote {', '.join(str(f) for f in done.files)}"
        + (f"; PostGIS tables {', '.join(done.tables)}" if done.tables else ""),
        highlight=False,
    )


def _profiles(names: str, known: Mapping[str, object]) -> tuple[str, ...]:
    """``--compare-profiles`` as profile names of the standard, each checked."""
    from livingcircle.geo.errors import UnknownProfile  # noqa: PLC0415

    wanted = tuple(dict.fromkeys(n.strip() for n in names.split(",") if n.strip()))
    for name in wanted:
        if name not in known:
            raise UnknownProfile(name, known)
    return wanted


def _methods(siting: str) -> tuple[str, ...]:
    """``--siting`` as method names, each of :data:`~livingcircle.geo.siting_compare.METHODS`."""
    from livingcircle.geo.siting_compare import METHODS  # noqa: PLC0415  (heavy imports)

    methods = tuple(m.strip().lower() for m in siting.split(",") if m.strip())
    if not methods or set(methods) - set(METHODS):
        raise InvalidParameter(
            f"--siting {siting!r}: allowed a comma-separated list of {', '.join(METHODS)}"
        )
    return methods


def _print_gaps(result: PlannerTables) -> None:
    from livingcircle.maps.report import summary_tables  # noqa: PLC0415

    title, frame = next(iter(summary_tables(result).items()))
    print_frame(title, frame)
