"""Planner jobs run off the event loop: one analysis at a time per worker, kept in the store.

:class:`JobRunner` owns a one-thread pool. A job is handed to it when first asked for and
runs to the end whatever the client does (it is not tied to the request); it writes its
progress, then its result layers and summary (or its error) to the store, so any worker over
the same store can answer for it.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from livingcircle.api.scenario_jobs import compute_scenario
from livingcircle.data.demand import demand_for_region
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.demand import Demand, demand_frame, place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import LivingCircleError
from livingcircle.geo.gaps import DISTRICT
from livingcircle.geo.jobs import Job, JobStore
from livingcircle.geo.planning import PlannerTables, plan
from livingcircle.geo.profile_views import walked_demand
from livingcircle.geo.supply import capacities_from_frame

log = logging.getLogger("livingcircle.api")

#: The result layers of an analysis, as GET .../layers/{name} serves them.
LAYERS = ("points", "gaps", "sites", "coverage", "tiers")
#: Least time between two progress writes of a job, in seconds.
PROGRESS_EVERY_S = 0.5


class JobRunner:
    """Runs jobs in a bounded pool (``workers`` at once; the rest wait their turn)."""

    def __init__(self, atlas: Atlas, store: JobStore, workers: int = 1) -> None:
        self.atlas, self.store = atlas, store
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lc-job")

    def submit(self, job: Job) -> None:
        """Run ``job`` when a thread is free."""
        self._pool.submit(self.run, job)

    def shutdown(self) -> None:
        """Let the running job finish; start no other."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run(self, job: Job) -> None:
        """Run an analysis or scenario job to ``done`` or ``failed``, keeping every step."""
        job = self.move(job, state="running")
        try:
            if job.kind == "scenario":
                layers, result = compute_scenario(self, job)
            else:
                tables = self._analyse(job)
                layers, result = layer_bytes(tables), summary(tables)
            self.store.save_job_layers(job.id, layers)
            self.move(
                job, state="done", summary=result, progress={"stage": "done", "done": 1, "total": 1}
            )
        except LivingCircleError as exc:
            self.move(job, state="failed", error=str(exc))
        except Exception as exc:  # a planner reads why; the log keeps the trace
            log.exception("job %s failed", job.id)
            self.move(
                job,
                state="failed",
                error=f"internal error ({type(exc).__name__}: "
                f"{exc}); the inputs are kept, report the job id {job.id}",
            )

    def move(self, job: Job, **changes: Any) -> Job:
        """Keep ``job`` with ``changes`` (and the time now); returns it."""
        moved = replace(job, updated_at=datetime.now(UTC), **changes)
        self.store.save_job(moved)
        return moved

    def job_demand(self, job: Job, tell: _Progress) -> tuple[Region, Demand]:
        """The engine of the job's region and the job's homes placed on its streets."""
        tell(f"building the street graph of {job.region}", 0, 1)
        region = self.atlas.region(job.region)
        homes = homes_frame(job.inputs["homes"]) if job.inputs.get("homes") else None
        frame, _ = demand_for_region(region, homes=homes)
        tell(f"placing {len(frame):,} homes on the streets", 0, 1)
        return region, place_demand(region.net, frame, region.max_snap_m)

    def _analyse(self, job: Job) -> PlannerTables:
        inputs = job.inputs
        tell = _Progress(self, job)
        region, demand = self.job_demand(job, tell)
        capacities = capacities_from_frame(self.store_facilities(job.region))
        speed = region.standard.speed(inputs["profile"])
        region, demand = walked_demand(region, demand, inputs["profile"])
        return plan(
            region,
            demand,
            inputs["categories"] or None,
            inputs["sites"],
            None,
            inputs["k"],
            speed_m_s=speed,
            progress=tell,
            capacities=capacities,
        )

    def store_facilities(self, region: str) -> pd.DataFrame:
        """The region's stored facilities (with the capacities departments stated)."""
        return self.atlas.store.load_region(region).facilities


class _Progress:
    """``progress(stage, done, total)`` for :func:`plan`, written at most every 0.5 s."""

    def __init__(self, runner: JobRunner, job: Job) -> None:
        self.runner, self.job = runner, job
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < PROGRESS_EVERY_S and done not in (0, total):
                return
            self._last = now
            self.job = self.runner.move(
                self.job, progress={"stage": stage, "done": int(done), "total": int(total)}
            )


def homes_frame(collection: dict[str, Any]) -> gpd.GeoDataFrame:
    """Homes from an inline GeoJSON FeatureCollection of Points (properties kept)."""
    frame = gpd.GeoDataFrame.from_features(collection["features"], crs="EPSG:4326")
    if "population" not in frame:  # place_demand says what is needed
        return frame
    ids = (
        frame["id"].astype(str).to_numpy(dtype=object)
        if "id" in frame
        else np.array([f"home:{i}" for i in range(len(frame))], dtype=object)
    )
    community = (
        frame["community"].fillna("").astype(str).to_numpy(dtype=object)
        if "community" in frame
        else None
    )
    pop = pd.to_numeric(frame["population"], errors="coerce").to_numpy(dtype=np.float64)
    return demand_frame(frame.geometry.to_numpy(), pop, ids, community)


def summary(tables: PlannerTables) -> dict[str, Any]:
    """The district's figures per category, rounded as people write them."""
    cov = tables.coverage[tables.coverage["community"] == DISTRICT]
    per_category = {
        str(r.category): {
            "covered_share": _round(r.covered_share, 3),
            "covered_population": _round(r.covered_population, 0),
            "mean_minutes": _round(r.mean_minutes, 1),
            "radius_m": _round(r.radius_m, 0),
        }
        for r in cov.itertuples()
    }
    demand = tables.analysis.demand
    return {
        "homes": len(demand),
        "residents": _round(float(demand.population.sum()), 0),
        "homes_dropped": demand.dropped,
        "focus": list(tables.focus),
        "coverage": per_category,
        "gap_areas": len(tables.gaps),
        "sites": len(tables.sites),
    }


def _round(value: float, digits: int) -> float | int | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value)) if digits == 0 else round(float(value), digits)


def layer_bytes(tables: PlannerTables) -> dict[str, bytes]:
    """Each result layer as GeoParquet (plain Parquet for the tables without geometry)."""
    out = {}
    for name in LAYERS:
        buffer = io.BytesIO()
        getattr(tables, name).to_parquet(buffer, index=False)
        out[name] = buffer.getvalue()
    return out


def layer_geojson(data: bytes) -> bytes:
    """A kept layer as a GeoJSON FeatureCollection (null geometry for a plain table)."""
    try:
        frame = gpd.read_parquet(io.BytesIO(data))
    except ValueError:  # no geometry: a table
        table = pd.read_parquet(io.BytesIO(data))
        rows = json.loads(table.to_json(orient="records"))
        features = [{"type": "Feature", "geometry": None, "properties": r} for r in rows]
        return json.dumps(
            {"type": "FeatureCollection", "features": features}, ensure_ascii=False
        ).encode()
    text: str = frame.to_crs("EPSG:4326").to_json(na="null", ensure_ascii=False)
    return text.encode()
