"""Fuzzing (Schemathesis) of the whole OpenAPI schema over real HTTP, on both stores.

A real ``livingcircle serve`` (uvicorn) runs over each store with the Helsinki sample. Every
operation gets valid and invalid requests from a fixed seed and a bounded number of cases
(``LC_SCHEMA_EXAMPLES`` per operation, default 8; set it higher for a longer hunt), with a
department's key (a planner's for analyses, scenarios and the audit log) so that writes reach
the store.
The run passes when no answer is a 5xx, every answer's status, content type, headers and
body are what the schema documents, and no invalid request is accepted.

Random coordinates rarely fall in the sample and random ids rarely exist, so hooks move half
of the generated points into it and point half of the region and facility ids at real ones
(deterministically, from the generated values): the run reaches real answers and real writes,
not only "not found".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation

from livingcircle.data.embedded import FileStore
from livingcircle.geo.keys import new_key
from livingcircle.geo.store import Store
from tests.api.conftest import LAT, LON
from tests.api.test_server import free_port, wait_ready

#: Cases per operation and mode; job submissions (each valid one runs a plan) get a third.
EXAMPLES = int(os.environ.get("LC_SCHEMA_EXAMPLES", "8"))
WEST, SOUTH, EAST, NORTH = 24.936, 60.165, 24.952, 60.178
DEPARTMENT = "fuzz-dept"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
#: An invalid request may also be refused as too large (413: homes beyond maxItems are).
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [
                    *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422"),
                    *("428", "429", "5xx"),  # Schemathesis's own list, with 413
                ]
            }
        }
    }
)
HEADERS = ParameterLocation.HEADER
SERVE = [sys.executable, "-m", "livingcircle", "serve", "--host", "127.0.0.1"]
OSM_IDS = ["osm:node/25502063", "osm:node/1369465577"]


def pick(value: object, ways: int) -> int:
    """A deterministic choice among ``ways`` from a generated value."""
    return zlib.crc32(repr(value).encode()) % ways


def inside(lon: object, lat: object) -> tuple[float, float] | None:
    """A point of the sample for every other generated pair of numbers; None to keep it."""
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)):
        return None
    if pick((lon, lat), 2):
        return None
    return (
        WEST + abs(float(lon)) % 1 * (EAST - WEST),  # type: ignore[arg-type]
        SOUTH + abs(float(lat)) % 1 * (NORTH - SOUTH),  # type: ignore[arg-type]
    )


def into_helsinki(
    context: schemathesis.HookContext, query: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Move every other generated lat/lon query into the sample region."""
    moved = inside((query or {}).get("lon"), (query or {}).get("lat"))
    return query if moved is None or query is None else {**query, "lon": moved[0], "lat": moved[1]}


def real_ids(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Point three regions in four at the sample, and half the facility ids at real ones."""
    params = dict(path_parameters or {})
    if "region" in params and pick(params["region"], 4):
        params["region"] = "helsinki"
    if "facility_id" in params and pick(params["facility_id"], 2):
        mine = [f"{DEPARTMENT}:fuzz-{i}" for i in range(3)]
        params["facility_id"] = (mine + OSM_IDS)[pick(params["facility_id"], 5)]
    return params


def point_bodies(context: schemathesis.HookContext, body: Any) -> Any:
    """Move every other generated Point of a facility body into the sample region."""
    geometry = body.get("geometry") if isinstance(body, dict) else None
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if isinstance(coords, list) and len(coords) == 2 and (moved := inside(*coords)):
        return {**body, "geometry": {**geometry, "coordinates": list(moved)}}
    return body


@dataclass
class Served:
    """A running server, its store's name, and the keys it knows."""

    base: str
    kind: str
    department: str
    planner: str


def add_keys(store: Store) -> tuple[str, str]:
    """A department's and a planner's key, stored."""
    department, record = new_key(DEPARTMENT)
    store.add_api_key(record)  # type: ignore[attr-defined]
    planner, record = new_key("fuzz-planning", role="planner")
    store.add_api_key(record)  # type: ignore[attr-defined]
    return department, planner


def start(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """``livingcircle serve`` with ``env`` on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [*SERVE, "--port", str(port), "--no-access-log"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module", params=["file", pytest.param("postgis", marks=pytest.mark.postgis)])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path
) -> Iterator[Served]:
    """A real server over each store, with keys and three facilities of the department."""
    env = {"LC_REFRESH_SECONDS": "0"}
    if request.param == "file":
        folder = tmp_path_factory.mktemp("fuzzed")
        shutil.copytree(sample_store_dir, folder, dirs_exist_ok=True)
        store: Store = FileStore(folder)
        env |= {"LC_DATA_DIR": str(folder), "LC_DATABASE_URL": ""}
    else:
        from livingcircle.data.postgis import PostgisStore  # noqa: PLC0415

        url = request.getfixturevalue("sample_postgis_url")
        store = PostgisStore(url)
        env |= {"LC_DATABASE_URL": url}
    department, planner = add_keys(store)
    process, base = start(env)
    try:
        wait_ready(process, base, within_s=120)
        served = Served(base, str(request.param), department, planner)
        add_facilities(served)
        yield served
    finally:
        process.terminate()
        output = process.communicate(timeout=60)[0]
    assert "Traceback" not in output, output[-5000:]


def add_facilities(served: Served) -> None:
    """Three facilities of the department, for the fuzzed edits to find."""
    for i in range(3):
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [LON, LAT + 0.0001 * i]},
            "properties": {"source_id": f"fuzz-{i}", "category": "clinic"},
        }
        made = httpx.post(
            f"{served.base}/v1/regions/helsinki/facilities",
            json=feature,
            headers={"X-API-Key": served.department},
            timeout=30,
        )
        assert made.status_code == 201, made.text


def examples(label: str) -> int:
    """Cases of one operation in one mode."""
    submits = label.startswith("POST") and label.endswith(("/analyses", "/scenarios"))
    return max(2, EXAMPLES // 3) if submits else EXAMPLES


def modes(operation: APIOperation) -> tuple[GenerationMode, ...]:
    """Valid and invalid cases; OPTIONS, answered from the path alone, has no invalid ones."""
    if operation.method.upper() == "OPTIONS":
        return (GenerationMode.POSITIVE,)
    return (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def summary(exc: BaseException) -> str:
    """A failure's titles, the first line of each message, and the curl line to reproduce."""
    lines = [line.strip() for line in str(exc).splitlines()]
    kept = []
    for i, line in enumerate(lines):
        if line.startswith("- "):
            kept += [line, next((x for x in lines[i + 1 :] if x), "")]
        elif line.startswith("curl "):
            kept.append(line)
    return "\n    ".join(k[:400] for k in kept) or str(exc)[:2000]


def fuzz(served: Served) -> tuple[Counter[str], list[str]]:
    """Every operation in both modes: the cases run per mode, and the failures found."""
    schema = schemathesis.openapi.from_url(f"{served.base}/openapi.json", config=CONFIG)
    # the hooks make requests valid: only the positive cases take them
    positive = schemathesis.openapi.from_url(f"{served.base}/openapi.json", config=CONFIG)
    positive.hook("map_query")(into_helsinki)
    positive.hook("map_path_parameters")(real_ids)
    positive.hook("map_body")(point_bodies)
    hooked = {op.ok().label: op.ok() for op in positive.get_all_operations()}
    counts: Counter[str] = Counter()
    failures: list[str] = []
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        planner = any(p in operation.path for p in ("/analyses", "/scenarios", "/audit"))
        headers = {"X-API-Key": served.planner if planner else served.department}
        for mode in modes(operation):
            chosen = hooked[operation.label] if mode is GenerationMode.POSITIVE else operation
            run = Run(served, session, headers, f"{served.kind} {mode.value}")
            try:
                run.over(chosen, mode)
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label
            counts[mode.value] += run.cases
            failures.extend(run.found)
    return counts, failures


@dataclass
class Run:
    """The cases of one operation in one mode, over one session."""

    served: Served
    session: requests.Session
    headers: dict[str, str]
    name: str
    cases: int = 0
    found: list[str] = field(default_factory=list)

    def over(self, operation: APIOperation, mode: GenerationMode) -> None:
        """Generate, call and check the cases; keep the first two failures."""

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=examples(operation.label),
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            self.cases += 1
            if len(self.found) < 2:  # two failures of one operation tell enough
                self.check(case, operation.label)

        run()

    def check(self, case: schemathesis.Case, label: str) -> None:
        """One case: called over HTTP and checked; a failure kept in short."""
        negative = case.meta is not None and case.meta.generation.mode.is_negative
        # an invalid case may leave the key out or spoil it on purpose: then it is not given
        # back (a GET whose only other flaw is an unknown query parameter would pass)
        given = {k.lower() for k in case.headers or {}}
        spoilt = negative and case.meta is not None and case.meta.is_negative_at(HEADERS)
        keep = not negative or ("x-api-key" in given and not spoilt)
        try:
            case.call_and_validate(
                base_url=self.served.base,
                session=self.session,
                headers=self.headers if keep else None,
                checks=CHECKS,
                timeout=60,
            )
        except (AssertionError, FailureGroup) as exc:
            self.found.append(f"[{self.name}] {label}: {summary(exc)}")


@pytest.mark.slow
def test_fuzzing_finds_no_server_error_and_no_schema_violation(served: Served) -> None:
    counts, failures = fuzz(served)
    print(f"\nfuzzed {served.kind}: {dict(counts)} cases")  # the counts, for the report
    assert counts["positive"] > 200 and counts["negative"] > 100, counts
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:12])
