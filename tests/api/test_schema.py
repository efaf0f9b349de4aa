"""Property-based run of the whole OpenAPI schema (Schemathesis): valid and invalid requests
alike get no 5xx, and every answer conforms to the documented status, type and schema.

Random coordinates rarely fall in the Helsinki sample, so a hook moves half of the generated
points into it (deterministically, from the generated numbers): the run exercises real
nearest, catchment and map answers, not only "outside every region".
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from livingcircle.api.app import create_app
from livingcircle.settings import StoreSettings
from tests.api.conftest import settings_for

#: Examples per operation; ``LC_SCHEMA_EXAMPLES`` raises it for a longer hunt.
EXAMPLES = int(os.environ.get("LC_SCHEMA_EXAMPLES", "50"))
WEST, SOUTH, EAST, NORTH = 24.936, 60.165, 24.952, 60.178
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def into_helsinki(
    context: schemathesis.HookContext, query: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Move every other generated point into the sample region."""
    lat, lon = (query or {}).get("lat"), (query or {}).get("lon")
    if not all(isinstance(v, float) and abs(v) <= 180 for v in (lat, lon)) or int(abs(lat) * 8) % 2:  # type: ignore[arg-type]
        return query
    return {
        **query,
        "lat": SOUTH + abs(lat) % 1 * (NORTH - SOUTH),  # type: ignore[dict-item]
        "lon": WEST + abs(lon) % 1 * (EAST - WEST),
    }


# Schemathesis's fixture-based loader does not run on pytest 9 (it sets a private node id), so
# the app is made at import, over a folder the fixture below fills before any call.
DATA_DIR = Path(tempfile.mkdtemp(prefix="lc-schema-"))
app = create_app(settings_for(StoreSettings(data_dir=DATA_DIR, database_url=None)))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
schema.hook("map_query")(into_helsinki)


@pytest.fixture(scope="module", autouse=True)
def running_app(sample_store_dir: Path) -> Iterator[None]:
    """The sample in the app's folder, and the lifespan run (store opened, regions built)."""
    shutil.copytree(sample_store_dir, DATA_DIR, dirs_exist_ok=True)
    try:
        with TestClient(app):
            yield
    finally:
        shutil.rmtree(DATA_DIR, ignore_errors=True)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_schema_holds(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
