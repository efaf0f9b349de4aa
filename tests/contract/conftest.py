"""Fixtures of the store contract suite: each store, and throwaway PostGIS databases.

The PostGIS side creates its own databases (``livingcircle_test_<random>``, copied from the
``livingcircle_template`` that ``make postgis`` prepares) and drops them at the end; it never
touches a developer's data. ``LC_TEST_DATABASE_URL`` names the server and role to use (its
database is only used to create and drop the throwaway ones); the default is the local
server ``make postgis`` sets up. When ``LC_REQUIRE_POSTGIS=1`` (``make test``, CI) a missing
server fails the PostGIS tests instead of skipping them.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from livingcircle.data.embedded import FileStore
from livingcircle.data.osm_file import Extract
from livingcircle.data.postgis import PostgisStore, dispose_engines, safe_url, upgrade
from livingcircle.geo.store import RegionData, RegionInfo, Store

DEFAULT_SERVER_URL = "postgresql+psycopg://livingcircle:livingcircle@127.0.0.1:5432/postgres"
TEMPLATE = "livingcircle_template"
REGION = "helsinki"


def postgis_required() -> bool:
    return os.environ.get("LC_REQUIRE_POSTGIS") == "1"


def pytest_report_header(config: pytest.Config) -> str:
    server = os.environ.get("LC_TEST_DATABASE_URL", DEFAULT_SERVER_URL)
    mode = "required (fail if missing)" if postgis_required() else "optional (skip if missing)"
    return f"postgis: {safe_url(server)}, {mode}"


class PostgisServer:
    """Creates throwaway databases on the test server and drops them at the end."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.created: list[str] = []

    def create(self, upgraded: bool = True) -> str:
        """A new empty database (with the schema when ``upgraded``); returns its URL."""
        name = f"livingcircle_test_{secrets.token_hex(6)}"
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
            template = (
                TEMPLATE
                if conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE]
                ).fetchone()
                else "template1"
            )
            _create_database(conn, name, template)
        self.created.append(name)
        url = self.url.set(database=name).render_as_string(hide_password=False)
        if upgraded:
            upgrade(url)
        return url

    def drop_all(self) -> None:
        dispose_engines()
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
            for name in self.created:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self.created.clear()


def _create_database(conn: psycopg.Connection, name: str, template: str) -> None:
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )
    for attempt in range(20):  # another session may be copying the template right now
        try:
            conn.execute(statement)
            return
        except psycopg.errors.ObjectInUse:
            if attempt == 19:
                raise
            time.sleep(0.25)


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[PostgisServer]:
    url = make_url(os.environ.get("LC_TEST_DATABASE_URL", DEFAULT_SERVER_URL))
    server = PostgisServer(url.set(drivername="postgresql+psycopg"))
    try:
        with psycopg.connect(server.conninfo, autocommit=True, connect_timeout=5):
            pass
    except psycopg.Error as exc:
        message = (
            f"no PostgreSQL server for the tests at {safe_url(url)} "
            f"({str(exc).strip().splitlines()[0]}); run 'make postgis' or set "
            "LC_TEST_DATABASE_URL"
        )
        if postgis_required():
            pytest.fail(f"{message} (LC_REQUIRE_POSTGIS=1: PostGIS tests must run)", pytrace=False)
        pytest.skip(message)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgis_url(postgis_server: PostgisServer) -> str:
    """One upgraded throwaway database for the tests that empty it before they run."""
    return postgis_server.create()


@pytest.fixture(scope="session")
def make_database(postgis_server: PostgisServer) -> Callable[..., str]:
    """A factory of further throwaway databases: ``make_database(upgraded=False)``."""
    return postgis_server.create


def empty_postgis(url: str) -> PostgisStore:
    store = PostgisStore(url)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM regions"))
        # the audit log refuses DELETE (0006); its owner may switch the triggers off
        conn.execute(text("ALTER TABLE facility_audit DISABLE TRIGGER USER"))
        conn.execute(text("DELETE FROM facility_audit"))
        conn.execute(text("ALTER TABLE facility_audit ENABLE TRIGGER USER"))
        conn.execute(text("DELETE FROM api_keys"))
        conn.execute(text("DELETE FROM kiosks"))
        conn.execute(text("DELETE FROM jobs"))
    return store


@pytest.fixture(params=["file", pytest.param("postgis", marks=pytest.mark.postgis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """Each store, empty."""
    if request.param == "file":
        return FileStore(tmp_path / "store")
    return empty_postgis(request.getfixturevalue("postgis_url"))


@pytest.fixture(params=["file", pytest.param("postgis", marks=pytest.mark.postgis)])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each store's name, for tests that open the store in another process too."""
    return str(request.param)


@pytest.fixture
def open_store(
    store_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[str, Callable[[], Store]]:
    """``(where, opener)``: the store's folder or URL, and how to open it again."""
    if store_kind == "file":
        where = str(tmp_path / "store")
        return where, lambda: FileStore(Path(where))
    url = request.getfixturevalue("postgis_url")
    empty_postgis(url)
    return url, lambda: PostgisStore(url)


def region_data(extract: Extract, name: str = REGION) -> RegionData:
    """A region from an extract, with a fixed load time."""
    nodes, edges, facilities = extract.nodes, extract.edges, extract.facilities
    loaded_at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    info = RegionInfo.of(name, "osm-file:Helsinki.osm.pbf", loaded_at, nodes, edges, facilities)
    return RegionData(info, nodes, edges, facilities)


@pytest.fixture(scope="session")
def sample_data(sample_extract: Extract) -> RegionData:
    """The Helsinki sample as a region."""
    return region_data(sample_extract)


@pytest.fixture(scope="session")
def pair(
    tmp_path_factory: pytest.TempPathFactory,
    make_database: Callable[..., str],
    sample_data: RegionData,
) -> tuple[FileStore, PostgisStore]:
    """Both stores, each with the Helsinki sample loaded (a database of their own)."""
    file_store = FileStore(tmp_path_factory.mktemp("pair"))
    postgis_store = PostgisStore(make_database())
    file_store.save_region(sample_data)
    postgis_store.save_region(sample_data)
    return file_store, postgis_store
