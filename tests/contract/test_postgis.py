"""What only the PostGIS store has: its schema, stable row keys, bad URLs, the CLI.

What every store promises is tests/contract/test_store_contract.py's, run on both.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from livingcircle.data.embedded import FileStore
from livingcircle.data.pg_schema import SCHEMA_REVISION, Base
from livingcircle.data.postgis import PostgisStore, upgrade
from livingcircle.data.synthetic import grid_city
from livingcircle.geo.errors import DatabaseUnavailable, SchemaOutOfDate, StoreError
from livingcircle.geo.store import FacilityQuery, RegionData, RegionInfo, Store
from tests.cli_process import embedded_env, run_livingcircle
from tests.contract.conftest import empty_postgis

pytestmark = pytest.mark.postgis
REGION = "helsinki"
TABLES = (
    "regions",
    "facilities",
    "walk_nodes",
    "walk_edges",
    "categories",
    "tier_requirements",
    "api_keys",
    "facility_audit",
    "facility_status",
    "kiosks",
)


@pytest.fixture
def pg(postgis_url: str) -> PostgisStore:
    return empty_postgis(postgis_url)


def row_keys(store: PostgisStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {r[0]: r[1] for r in conn.execute(text("SELECT id, fid FROM facilities"))}


# -- loads ------------------------------------------------------------------------------------


def test_row_keys_stay_stable_across_reloads(pg: PostgisStore, sample_data: RegionData) -> None:
    pg.save_region(sample_data)
    keys = row_keys(pg)
    facilities = sample_data.facilities
    removed, renamed = facilities["id"].iloc[3], facilities["id"].iloc[4]
    new = facilities[facilities["id"] != removed].copy()
    new.loc[new["id"] == renamed, "name"] = "Toinen nimi"
    added = new.iloc[[0]].assign(id="dept:1", source="dept", source_id="1")
    new = pd.concat([new, added], ignore_index=True)
    pg.save_region(
        RegionData(
            replace(sample_data.info, n_facilities=len(new)),
            sample_data.nodes,
            sample_data.edges,
            new,
        )
    )
    after = row_keys(pg)
    assert removed not in after
    del keys[removed]
    assert {k: after[k] for k in keys} == keys


def test_network_is_ready_for_pgrouting(pg: PostgisStore) -> None:
    nodes, edges, facilities = grid_city(500, seed=1)
    info = RegionInfo.of(
        "grid", "synthetic", datetime(2026, 5, 1, tzinfo=UTC), nodes, edges, facilities
    )
    pg.save_region(RegionData(info, nodes, edges, facilities))
    with pg.engine.connect() as conn:
        bad = conn.execute(
            text("""
            SELECT count(*) FROM walk_edges e WHERE region = 'grid' AND NOT (
                e.cost = e.length_m
                AND e.reverse_cost = CASE WHEN e.oneway THEN -1 ELSE e.cost END
                AND EXISTS (SELECT 1 FROM walk_nodes n WHERE n.region = e.region
                            AND n.node = e.source AND ST_Equals(n.geom, ST_StartPoint(e.geom)))
                AND EXISTS (SELECT 1 FROM walk_nodes n WHERE n.region = e.region
                            AND n.node = e.target AND ST_Equals(n.geom, ST_EndPoint(e.geom))))
        """)
        ).scalar_one()
        oneway = conn.execute(
            text("SELECT count(*) FROM walk_edges WHERE reverse_cost = -1")
        ).scalar_one()
    assert bad == 0
    assert oneway == int(edges["oneway"].sum()) > 0


def test_standard_is_kept_in_tables(pg: PostgisStore, standard: object) -> None:
    pg.save_standard(standard)  # type: ignore[arg-type]
    pg.save_standard(standard)  # type: ignore[arg-type]
    with pg.engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM categories ORDER BY position")).scalars().all()
        tiers = (
            conn.execute(text("SELECT DISTINCT tier_minutes FROM tier_requirements ORDER BY 1"))
            .scalars()
            .all()
        )
    assert ids == [c.id for c in standard.categories]  # type: ignore[attr-defined]
    assert tiers == [5, 10, 15]


# -- schema -----------------------------------------------------------------------------------


def test_every_table_opens_in_qgis(postgis_url: str) -> None:
    """A primary key on every table; an SRID and a GiST index on every geometry column."""
    store = PostgisStore(postgis_url)
    with store.engine.connect() as conn:
        geometry = conn.execute(
            text(
                "SELECT f_table_name, f_geometry_column, srid FROM geometry_columns "
                "WHERE f_table_schema = 'public'"
            )
        ).all()
        indexed = conn.execute(
            text("""
            SELECT t.relname, a.attname FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)
            WHERE am.amname = 'gist'""")
        ).all()
    inspector = inspect(store.engine)
    for table in TABLES:
        assert inspector.get_pk_constraint(table)["constrained_columns"], table
    assert {(t, c) for t, c, _ in geometry} == {
        ("regions", "boundary"),
        ("facilities", "geom"),
        ("facilities", "anchor"),
        ("walk_nodes", "geom"),
        ("walk_edges", "geom"),
    }
    assert {srid for _, _, srid in geometry} == {4326}
    assert {(t, c) for t, c, _ in geometry} <= set(indexed)


def test_migration_and_models_agree(postgis_url: str) -> None:
    inspector = inspect(PostgisStore(postgis_url).engine)
    for table in Base.metadata.sorted_tables:
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(columns) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (table.name, column)
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= indexes, table.name


def test_upgrade_is_idempotent(postgis_url: str) -> None:
    assert upgrade(postgis_url) == SCHEMA_REVISION
    assert upgrade(postgis_url) == SCHEMA_REVISION


# -- bad URLs and schemas ---------------------------------------------------------------------


def test_server_down_names_the_url_without_password_for_the_operator_only() -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        PostgisStore("postgresql+psycopg://livingcircle:s3cr3t@127.0.0.1:1/somewhere")
    message, detail = str(caught.value), caught.value.operator_detail  # type: ignore[attr-defined]
    assert "s3cr3t" not in message + detail
    assert "livingcircle:***@127.0.0.1:1/somewhere" in detail
    for secret in ("livingcircle", "127.0.0.1", "somewhere", ":1"):
        assert secret not in message
    assert "not answering" in message
    assert "make postgis" in message


def test_missing_database_says_what_to_run(postgis_url: str) -> None:
    url = make_url(postgis_url).set(database="livingcircle_no_such_db")
    with pytest.raises(DatabaseUnavailable, match=r"does not exist.*livingcircle db upgrade"):
        PostgisStore(url.render_as_string(hide_password=False))


@pytest.mark.parametrize("url", ["not a url", "mysql://u:p@h/db", "sqlite:///x.db"])
def test_not_a_postgresql_url(url: str) -> None:
    with pytest.raises(StoreError, match=r"postgresql\+psycopg://USER"):
        PostgisStore(url)


def test_database_without_schema_says_run_upgrade(make_database: Callable[..., str]) -> None:
    url = make_database(upgraded=False)
    with pytest.raises(SchemaOutOfDate, match="run 'livingcircle db upgrade'"):
        PostgisStore(url)
    upgrade(url)
    assert PostgisStore(url).regions() == []


def test_old_schema_revision_says_run_upgrade(make_database: Callable[..., str]) -> None:
    url = make_database()
    with PostgisStore(url).engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    from livingcircle.data.postgis import dispose_engines  # noqa: PLC0415

    dispose_engines()  # forget that this URL was checked
    with pytest.raises(SchemaOutOfDate, match=r"revision 0000.*livingcircle db upgrade"):
        PostgisStore(url)


# -- configuration and the command line -------------------------------------------------------


def test_lc_database_url_selects_postgis(
    postgis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from livingcircle.cli_options import open_cli_store as _store  # noqa: PLC0415

    monkeypatch.delenv("LC_DATABASE_URL", raising=False)
    assert isinstance(_store(tmp_path), FileStore)
    assert isinstance(_store(tmp_path, postgis_url), PostgisStore)
    monkeypatch.setenv("LC_DATABASE_URL", postgis_url)
    chosen: Store = _store(tmp_path)
    assert isinstance(chosen, PostgisStore)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_livingcircle(embedded_env(COLUMNS="200"), *args)


def test_command_line_against_postgis(make_database: Callable[..., str], sample_path: Path) -> None:
    url = make_database(upgraded=False)
    done = cli("db", "upgrade", "--database", url)
    assert done.returncode == 0, done.stderr
    assert f"revision {SCHEMA_REVISION}" in done.stderr
    done = cli("load", str(sample_path), "--region", REGION, "--database", url, "--quiet")
    assert done.returncode == 0, done.stderr
    assert "776 new" in done.stderr, done.stderr
    done = cli("regions", "--json", "--database", url)
    assert done.returncode == 0, done.stderr
    assert [r["name"] for r in json.loads(done.stdout)] == [REGION], done.stdout
    done = cli(
        "nearest",
        "--lat",
        "60.171",
        "--lon",
        "24.9414",
        "--json",
        "-c",
        "pharmacy",
        "--database",
        url,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["features"]
    with PostgisStore(url).engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM categories")).scalar_one() > 10


def test_command_line_wrong_url_is_one_clear_line() -> None:
    done = cli(
        "nearest",
        "--lat",
        "60.171",
        "--lon",
        "24.9414",
        "--database",
        "postgresql://livingcircle:s3cr3t@127.0.0.1:1/nowhere",
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "s3cr3t" not in done.stderr
    assert "127.0.0.1:1/nowhere" in lines[0]
    assert "make postgis" in lines[0]


def test_connections_dropped_by_the_server_are_replaced(
    pg: PostgisStore, sample_data: RegionData
) -> None:
    """After a server restart or an idle timeout the next query still answers."""
    pg.save_region(sample_data)
    assert len(pg.facilities(REGION, FacilityQuery(limit=5))) == 5
    conninfo = pg.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        dropped = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert dropped and dropped[0] >= 1
    assert len(pg.facilities(REGION, FacilityQuery(limit=5))) == 5
    pg.save_region(sample_data)
    assert pg.regions()[0].name == REGION
