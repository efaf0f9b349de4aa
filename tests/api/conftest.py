"""The API under test: the real app, its lifespan run, over each store with the Helsinki sample.

The embedded store's folder is loaded from the sample once per session and copied for each
module, so one module's writes never leak into another. The PostGIS side loads the sample into
a throwaway database of each module, on the contract suite's server
(``tests/contract/conftest.py``): it runs when the server is there, and fails instead of
skipping when ``LC_REQUIRE_POSTGIS=1``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from livingcircle.api.app import create_app
from livingcircle.api.settings import APISettings, Settings
from livingcircle.data.embedded import FileStore
from livingcircle.data.load import load_osm
from livingcircle.data.sample import SAMPLE_REGION
from livingcircle.geo.keys import new_key
from livingcircle.geo.standards import Standard
from livingcircle.settings import EngineSettings, StoreSettings
from tests.contract.conftest import make_database, postgis_server  # noqa: F401  (fixtures)

LAT, LON = 60.1710, 24.9414
CORS_ORIGIN = "https://kiosk.example.org"


@pytest.fixture(scope="session")
def sample_store_dir(
    tmp_path_factory: pytest.TempPathFactory, sample_path: Path, standard: Standard
) -> Path:
    """A data folder with the Helsinki sample loaded (read-only: copy it to change it)."""
    folder = tmp_path_factory.mktemp("api-sample")
    load_osm(FileStore(folder), sample_path, SAMPLE_REGION, standard)
    return folder


@pytest.fixture(scope="module")
def sample_postgis_url(
    make_database: Callable[..., str],  # noqa: F811
    sample_path: Path,
    standard: Standard,
) -> str:
    """A throwaway PostGIS database of this module with the Helsinki sample loaded."""
    from livingcircle.data.postgis import PostgisStore  # noqa: PLC0415

    url = make_database()
    store = PostgisStore(url)
    load_osm(store, sample_path, SAMPLE_REGION, standard)
    store.save_standard(standard)
    return url


def settings_for(store: StoreSettings, **api: object) -> Settings:
    """Settings naming ``store``, with CORS for one origin and any API overrides.

    The failed-key limits are raised: the suite's wrong-key tests all come from one address
    (tests/api/test_auth.py tests the limits).
    """
    api = {"auth_fail_limit": 10_000, "auth_fail_key_limit": 10_000, **api}
    return Settings(
        api=APISettings(cors_origins=[CORS_ORIGIN], **api),  # type: ignore[arg-type]
        store=store,
        engine=EngineSettings(standards_file=None),
    )


@pytest.fixture(scope="module")
def file_settings(tmp_path_factory: pytest.TempPathFactory, sample_store_dir: Path) -> Settings:
    """Settings over this module's own copy of the sample folder."""
    folder = tmp_path_factory.mktemp("api-store")
    shutil.copytree(sample_store_dir, folder, dirs_exist_ok=True)
    return settings_for(StoreSettings(data_dir=folder, database_url=None))


@pytest.fixture(scope="module", params=["file", pytest.param("postgis", marks=pytest.mark.postgis)])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each store, by name."""
    return str(request.param)


@pytest.fixture(scope="module")
def store_settings(store_kind: str, request: pytest.FixtureRequest) -> Settings:
    """Settings over this module's own copy of the sample, in each store."""
    if store_kind == "file":
        settings: Settings = request.getfixturevalue("file_settings")
        return settings
    url = request.getfixturevalue("sample_postgis_url")
    return settings_for(StoreSettings(data_dir=Path("/nonexistent"), database_url=url))


@pytest.fixture(scope="module")
def client(store_settings: Settings) -> Iterator[TestClient]:
    """A client of the app over each store, lifespan run (regions built at start-up)."""
    with TestClient(create_app(store_settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def file_client(file_settings: Settings) -> Iterator[TestClient]:
    """A client of the app over the embedded store only."""
    with TestClient(create_app(file_settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def key_for(client: TestClient) -> Callable[[str], str]:
    """Makes an API key for an owner in the store of ``client``; returns the token."""

    def make(owner: str) -> str:
        token, record = new_key(owner)
        client.app.state.store.add_api_key(record)  # type: ignore[attr-defined]
        return token

    return make


def read_audit(client: TestClient, region: str = "helsinki", **params: object) -> Any:
    """A region's audit log as JSON, read with a planner's key (one per app, made here)."""
    state = client.app.state  # type: ignore[attr-defined]
    token = getattr(state, "test_planner_token", None)
    if token is None:
        token, record = new_key("audit-reader", "planner")
        state.store.add_api_key(record)
        state.test_planner_token = token
    response = client.get(
        f"/v1/regions/{region}/audit", params=params, headers={"X-API-Key": token}
    )
    assert response.status_code == 200, response.text
    return response.json()


def assert_problem(response: object, status: int, *words: str) -> dict[str, object]:
    """An RFC 9457 problem with ``status`` whose detail mentions every one of ``words``."""
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert "Traceback" not in str(body) and 'File "' not in str(body)
    for word in words:
        assert word in str(body["detail"]), body["detail"]
    return body
