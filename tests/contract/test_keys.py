"""Key lifecycle on both stores: expiry, revocation, last use and reserved owners, the same."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import Result
from shapely import Point
from typer.testing import CliRunner

from livingcircle.cli import app
from livingcircle.geo.errors import InvalidParameter, ReservedOwner
from livingcircle.geo.keys import new_key
from livingcircle.geo.store import FacilityRecord, Store
from tests.contract.conftest import REGION, RegionData

AT = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)


def _editor(store: Store) -> Any:
    assert isinstance(store, Store)
    return store


def test_keys_keep_expiry_revocation_and_last_use(store: Store) -> None:
    keys = _editor(store)
    _, lasting = new_key("health-bureau", expires_at=AT + timedelta(days=90))
    _, forever = new_key("ops", role="admin", expires_at=None)
    keys.add_api_key(lasting)
    keys.add_api_key(forever)
    assert keys.api_keys() == [lasting, forever]
    with pytest.raises(InvalidParameter, match="already"):
        keys.add_api_key(lasting)

    gone = keys.revoke_api_key(lasting.key_id)
    assert gone.revoked_at is not None and abs(gone.revoked_at - datetime.now(UTC)).seconds < 60
    assert replace(gone, revoked_at=None) == lasting
    assert keys.api_keys() == [gone, forever]  # kept, marked
    assert keys.revoke_api_key(lasting.key_id).revoked_at == gone.revoked_at  # the first time
    with pytest.raises(InvalidParameter, match="no API key"):
        keys.revoke_api_key("0123456789ab")

    keys.touch_api_key(forever.key_id, AT)
    keys.touch_api_key(forever.key_id, AT - timedelta(minutes=5))  # a late writer: no step back
    keys.touch_api_key("0123456789ab", AT)  # unknown: ignored
    assert keys.api_keys()[1].last_used_at == AT


@pytest.mark.parametrize("owner", ["osm", "osm-file", "overpass"])
def test_stores_refuse_openstreetmap_owners(store: Store, owner: str) -> None:
    keys = _editor(store)
    _, record = new_key("placeholder")
    with pytest.raises(ReservedOwner, match="OpenStreetMap"):
        keys.add_api_key(replace(record, owner=owner))  # a record made around new_key
    assert keys.api_keys() == []


def test_stores_refuse_an_imported_lists_source(store: Store, sample_data: RegionData) -> None:
    store.save_region(sample_data)
    keys = _editor(store)
    assert keys.import_sources() == set()
    merged = {"lc:sources": [{"source": "parking-office", "source_id": "7"}]}
    keys.save_facility(REGION, _imported(merged), "parking-office", create=True)
    assert keys.import_sources() == {"parking-office"}
    _, record = new_key("placeholder")
    with pytest.raises(ReservedOwner, match="imported department list"):
        keys.add_api_key(replace(record, owner="parking-office"))
    keys.add_api_key(replace(record, owner="parking-office-desk"))
    assert [k.owner for k in keys.api_keys()] == ["parking-office-desk"]


def _imported(tags: dict[str, object]) -> FacilityRecord:
    return FacilityRecord(
        id="parking-office:7",
        source="parking-office",
        source_id="7",
        category="car_parking",
        geometry=Point(24.9414, 60.1710),
        name="Asema",
        tags=json.dumps(tags),
    )


def test_keys_commands_list_revoke_and_refuse(
    open_store: tuple[str, Callable[[], Store]], store_kind: str
) -> None:
    where, opener = open_store
    flag = "--data-dir" if store_kind == "file" else "--database"

    def cli(*args: str) -> Result:
        return CliRunner().invoke(app, ["keys", *args, flag, where], env={"COLUMNS": "200"})

    refused = cli("add", "--owner", "osm")
    assert isinstance(refused.exception, ReservedOwner)
    made = cli("add", "--owner", "ops", "--role", "admin", "--expires", "30d")
    assert made.exit_code == 0 and made.stdout.startswith("lc_"), made.output
    [key] = _editor(opener()).api_keys()
    assert key.role == "admin" and key.expires_at is not None
    assert cli("revoke", key.key_id).exit_code == 0
    [row] = json.loads(cli("list", "--json").stdout)
    assert row["key_id"] == key.key_id and row["revoked"] and row["last_use"] is None
    assert row["expires"] == key.expires_at.strftime("%Y-%m-%d %H:%M")
    table = cli("list").stdout
    assert all(word in table for word in ("role", "expires", "revoked", "last use", key.key_id))
    bad = cli("add", "--owner", "ops", "--expires", "tomorrow")
    assert isinstance(bad.exception, InvalidParameter) and "--expires" in str(bad.exception)
