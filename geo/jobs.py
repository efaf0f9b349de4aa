"""Planner jobs: an analysis asked for through the API, kept in the store until read.

A job's id is a hash of what it computes (the kind, the region, the region's load time and
the canonical JSON of the inputs), so asking twice for the same thing finds the first job
instead of computing again. A job moves ``queued`` -> ``running`` -> ``done`` or ``failed``;
a failed job keeps its inputs and its error for the planner to read. Result layers are kept
as GeoParquet bytes, by name.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from livingcircle.geo.errors import InvalidParameter, JobNotFound
from livingcircle.geo.text import check_match

#: The states of a job, in order.
STATES = ("queued", "running", "done", "failed")


def canonical_json(value: object) -> str:
    """``value`` as JSON with sorted keys and no spaces: equal inputs, equal text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def job_id(kind: str, region: str, loaded_at: datetime, inputs: Mapping[str, Any]) -> str:
    """The id of the job computing ``inputs`` on the version of ``region`` loaded then.

    24 hex digits of SHA-256 over the kind, region, load time and canonical inputs.
    """
    text = canonical_json([kind, region, loaded_at.isoformat(), dict(inputs)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Job:
    """A job as the store keeps it.

    Attributes
    ----------
    id, kind, region, owner
        Its id (:func:`job_id`), what it computes (``analysis``), the region and the owner of
        the key that asked first.
    state
        One of :data:`STATES`.
    inputs
        The validated inputs (JSON-able).
    progress
        ``{"stage": ..., "done": ..., "total": ...}`` as last reported.
    summary, error
        The summary once done (JSON-able), the error text once failed.
    created_at, updated_at
        When it was asked for and last changed (aware, UTC).
    """

    id: str
    kind: str
    region: str
    owner: str
    state: str
    inputs: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    progress: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] | None = None
    error: str | None = None


@runtime_checkable
class JobStore(Protocol):
    """Where jobs and their result layers are kept; both stores implement it."""

    def create_job(self, job: Job) -> tuple[Job, bool]:
        """Keep ``job`` unless one with its id is kept; the kept job and whether it is new."""
        ...

    def save_job(self, job: Job) -> None:
        """Replace a kept job's record (state, progress, summary, error)."""
        ...

    def job(self, job_id: str) -> Job:
        """The kept job ``job_id``; raises ``JobNotFound``."""
        ...

    def save_job_layers(self, job_id: str, layers: Mapping[str, bytes]) -> None:
        """Keep a job's result layers (GeoParquet bytes by name), replacing any kept."""
        ...

    def job_layer(self, job_id: str, name: str) -> bytes:
        """One result layer of a job; raises ``JobNotFound`` naming the layers there are."""
        ...


_ID = re.compile(r"^[0-9a-f]{24}$")
_LAYER = re.compile(r"^[a-z][a-z_]{0,31}$")


def check_job_id(job_id: str) -> str:
    """``job_id`` if it looks like one (24 hex digits), else ``JobNotFound``."""
    message = (
        f"there is no job {job_id!r}; job ids are 24 hex digits, as the POST that made the "
        "job answered"
    )
    return check_match(_ID, job_id, JobNotFound(message))


def check_layer_name(name: str) -> str:
    """A layer name: lowercase letters and ``_``, at most 32."""
    message = f"layer name {name!r} is not allowed; use 1 to 32 lowercase letters or '_'"
    return check_match(_LAYER, name, InvalidParameter(message))


def missing_layer(job_id: str, name: str, kept: Iterable[str]) -> JobNotFound:
    """The error for a layer a job does not have."""
    listed = ", ".join(sorted(kept)) or "none (the job is not done)"
    return JobNotFound(f"job {job_id} has no layer {name!r}; it has: {listed}")


def job_to_json(job: Job) -> dict[str, Any]:
    """A job as JSON-able values (times in ISO 8601)."""
    return asdict(job) | {
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


def job_from_json(raw: Mapping[str, Any]) -> Job:
    """The inverse of :func:`job_to_json`."""
    return Job(
        **(
            dict(raw)
            | {
                "created_at": datetime.fromisoformat(raw["created_at"]),
                "updated_at": datetime.fromisoformat(raw["updated_at"]),
            }
        )
    )
