"""Scenario jobs: a what-if scenario run by the job runner, its layers and summary kept.

A scenario job's inputs are ``scenario`` (the mapping a TOML scenario file holds, see
:mod:`livingcircle.data.scenario_file`), ``homes`` (inline GeoJSON or ``None``), ``profile``
and ``k``. It analyses the region before, then runs
:func:`livingcircle.geo.scenario.run_scenario`; the stored region is never changed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from livingcircle.data.scenario_file import KINDS, scenario_from_changes
from livingcircle.geo.gaps import analyse
from livingcircle.geo.jobs import Job
from livingcircle.geo.profile_views import walked_demand
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.scenario import Scenario, ScenarioResult, run_scenario

if TYPE_CHECKING:
    from livingcircle.api.jobs import JobRunner

#: The result layers of a scenario, as GET .../layers/{name} serves them.
SCENARIO_LAYERS = ("summary", "tiers", "changes", "facilities", "streets")
#: What the messages call a scenario sent to the API.
SOURCE = "the scenario"


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """The scenario a JSON body gives (the TOML file's structure); ``ScenarioError`` if bad."""
    taken = (
        ["unknown section _problems; allowed: name, " + ", ".join(KINDS)]
        if "_problems" in data
        else []
    )
    return scenario_from_changes({**data, "_problems": taken}, "scenario", SOURCE)


def way_ids(runner: JobRunner, region: str) -> np.ndarray[Any, np.dtype[np.int64]] | None:
    """Each stored edge's OSM way id (for closing a street by way), if the store has them."""
    edges = runner.atlas.store.load_region(region).edges
    return edges["way_id"].to_numpy(np.int64) if "way_id" in edges else None


def compute_scenario(runner: JobRunner, job: Job) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Run a scenario job: its layers (Parquet bytes by name) and its summary."""
    from livingcircle.api.jobs import _Progress  # noqa: PLC0415  (a cycle)

    inputs = job.inputs
    spec = parse_scenario(inputs["scenario"])
    tell = _Progress(runner, job)
    region, demand = runner.job_demand(job, tell)
    speed = region.standard.speed(inputs["profile"])
    region, demand = walked_demand(region, demand, inputs["profile"])
    graph = ReachGraph(region.net)
    before = analyse(region, demand, k=inputs["k"], speed_m_s=speed, graph=graph, progress=tell)
    tell("computing the scenario", 0, 1)
    ways = way_ids(runner, job.region)  # the stored ones: closures name them
    result = run_scenario(region, demand, before, spec, graph, ways, SOURCE)
    return scenario_layer_bytes(result), scenario_summary(result)


def scenario_layer_bytes(result: ScenarioResult) -> dict[str, bytes]:
    """Each layer as GeoParquet (plain Parquet for ``summary`` and ``tiers``)."""
    out = {}
    for name, frame in result.layers().items():
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        out[name] = buffer.getvalue()
    return out


def scenario_summary(result: ScenarioResult) -> dict[str, Any]:
    """Before and after per category and per tier, rounded as people write them."""
    demand = result.before.demand
    categories = {
        str(r["category"]): _rounded(r, CATEGORY_DIGITS)
        | {"homes_changed": int(r["homes_changed"])}
        for r in _records(result.summary())
    }
    tiers = {
        str(r["tier_minutes"]): _rounded(r, TIER_DIGITS)
        | {"homes_gained": int(r["homes_gained"]), "homes_lost": int(r["homes_lost"])}
        for r in _records(result.tiers())
    }
    spec = result.scenario
    return {
        "scenario": spec.name,
        "changes": len(spec),
        "homes": len(demand),
        "residents": _round(float(demand.population.sum()), 0),
        "homes_dropped": demand.dropped,
        "categories": categories,
        "tiers": tiers,
        "facilities_opened": len(spec.add_facilities),
        "facilities_closed": len(spec.close_facilities),
        "links_added": len(spec.add_links),
        "streets_closed": len(spec.close_streets),
        "notes": list(result.notes),
    }


#: The summary's numbers per category and per tier, and the decimals each is rounded to.
CATEGORY_DIGITS = {
    "covered_before": 0,
    "covered_after": 0,
    "covered_change": 0,
    "covered_share_before": 3,
    "covered_share_after": 3,
    "mean_minutes_before": 1,
    "mean_minutes_after": 1,
}
TIER_DIGITS = {"met_before": 0, "met_after": 0, "share_before": 3, "share_after": 3}


def _rounded(record: Mapping[str, Any], digits: Mapping[str, int]) -> dict[str, Any]:
    return {name: _round(record[name], d) for name, d in digits.items()}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(r) for r in frame.to_dict(orient="records")]


def _round(value: Any, digits: int) -> float | int | None:
    if value is None or not np.isfinite(float(value)):
        return None
    return round(float(value)) if digits == 0 else round(float(value), digits)
