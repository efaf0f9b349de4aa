"""``livingcircle scenario``: before and after figures of a what-if, never an edit."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from livingcircle.cli_options import (
    AtlasChoice,
    Kept,
    Quiet,
    Residents,
    Walking,
    command,
    command_group,
    json_option,
    out_option,
    region_option,
)
from livingcircle.cli_output import err, out, print_frame, steps
from livingcircle.geo.errors import InvalidParameter

if TYPE_CHECKING:
    from livingcircle.geo.atlas import Atlas
    from livingcircle.geo.scenario import Scenario, ScenarioResult

__all__ = ["ScenarioRegion", "scenario_app", "scenario_result"]

scenario_app = command_group(
    "What-if scenarios: open or close facilities, add a walking "
    "link, close a street; before and after, never an edit."
)
ScenarioFile = Annotated[
    Path,
    typer.Argument(help="Scenario file: .toml, or .geojson with a 'change' property per feature."),
]
ScenarioRegion = Annotated[str, region_option("Region to try it on.")]
SUMMARY = [
    "category",
    "covered_before",
    "covered_after",
    "mean_minutes_before",
    "mean_minutes_after",
    "homes_changed",
]
TIERS = ["tier_minutes", "met_before", "met_after", "homes_gained", "homes_lost"]


@scenario_app.command("run")
@command
def scenario_run(
    *,
    file: ScenarioFile,
    region: ScenarioRegion,
    residents: Residents,
    out_file: Annotated[
        Path | None,
        out_option(
            "Difference layers: .gpkg (layers summary, tiers, changes, "
            "facilities, streets), or .parquet/.csv (one file per layer)."
        ),
    ] = None,
    k: Kept = 5,
    walk: Walking,
    as_json: Annotated[
        bool, json_option("Print the before/after figures as JSON instead of tables.")
    ] = False,
    where: AtlasChoice,
    quiet: Quiet = False,
) -> None:
    """Before and after figures of a scenario, and the homes whose walk changed."""
    from livingcircle.data.scenario_file import (  # noqa: PLC0415  (heavy imports)
        OUT_SUFFIXES,
        read_scenario,
        write_scenario_result,
    )

    if out_file is not None and out_file.suffix.lower() not in OUT_SUFFIXES:
        raise InvalidParameter(
            f"cannot write {out_file.name}: allowed endings {', '.join(OUT_SUFFIXES)}"
        )
    spec = read_scenario(file)
    atlas = where.atlas()
    speed_m_s = walk.speed_m_s(atlas.standard)
    start = time.perf_counter()
    with steps(not quiet) as tell:
        result = scenario_result(
            atlas, spec, file.name, region, residents, k, speed_m_s, tell, profile=walk.profile
        )
    files = write_scenario_result(result, out_file) if out_file is not None else []
    summary, tiers = result.summary(), result.tiers()
    if as_json:
        out.print_json(
            data={
                "scenario": spec.name,
                "region": region,
                "categories": json.loads(summary.to_json(orient="records")),
                "tiers": json.loads(tiers.to_json(orient="records")),
                "notes": list(result.notes),
            }
        )
    else:
        print_frame(f"{spec.name}: per category, before → after", summary[SUMMARY])
        print_frame("GB 50180 tiers met (residents)", tiers[TIERS])
        for note in result.notes:
            err.print(f"note: {note}", highlight=False)
    err.print(
        f"scenario computed in {result.timings_s['compute']:.2f} s "
        f"({time.perf_counter() - start:.1f} s with the homes and the before analysis)"
        + (f"; wrote {', '.join(str(f) for f in files)}" if files else ""),
        highlight=False,
    )


def scenario_result(
    atlas: Atlas,
    spec: Scenario,
    source: str,
    region_name: str,
    residents: Residents,
    k: int = 5,
    speed_m_s: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    profile: str = "standard",
) -> ScenarioResult:
    """Homes, the before analysis and the scenario's after, on the region as stored.

    ``profile`` is the walking profile the homes are judged at, on its own network.
    """
    import numpy as np  # noqa: PLC0415

    from livingcircle.gaps_run import place_homes  # noqa: PLC0415  (heavy imports)
    from livingcircle.geo.gaps import analyse, no_progress  # noqa: PLC0415
    from livingcircle.geo.profile_views import walked_demand  # noqa: PLC0415
    from livingcircle.geo.reach import ReachGraph  # noqa: PLC0415
    from livingcircle.geo.scenario import run_scenario  # noqa: PLC0415

    tell = progress or no_progress
    engine = atlas.region(region_name)
    edges = atlas.store.load_region(region_name).edges
    homes, bounds, population = residents.homes, residents.communities, residents.population
    demand, _ = place_homes(engine, homes, None, population, "floor_area", bounds, tell)
    speed_m_s = engine.standard.speed(profile, speed_m_s)  # the profile's, unless given
    engine, demand = walked_demand(engine, demand, profile, speed_m_s)
    graph = ReachGraph(engine.net)
    before = analyse(engine, demand, k=k, speed_m_s=speed_m_s, graph=graph, progress=progress)
    tell("computing the scenario", 0, 1)
    way_ids = edges["way_id"].to_numpy(np.int64)  # the stored ones: closures name them
    result = run_scenario(engine, demand, before, spec, graph, way_ids, source)
    tell("computing the scenario", 1, 1)
    return result
