"""Keys in the core: reserved owners, expiry, who may edit what, and checks at one cost."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest

from livingcircle.geo import errors
from livingcircle.geo.keys import (
    DEFAULT_EXPIRY_DAYS,
    check_owner,
    may_edit,
    new_key,
    parse_expiry,
    require_any_role,
    require_edit,
    revoked,
    sources_in_tags,
    verify_key,
)
from livingcircle.geo.store import ApiKey

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("owner", ["osm", "openstreetmap", "overpass", "osm-file", "osm_x"])
def test_openstreetmap_names_cannot_own_a_key(owner: str) -> None:
    with pytest.raises(errors.ReservedOwner, match="OpenStreetMap") as caught:
        check_owner(owner)
    assert "reserved" in str(caught.value) and "--role admin" in str(caught.value)
    with pytest.raises(errors.ReservedOwner):
        new_key(owner, role="admin")  # the name rule holds for every role


def test_imported_sources_cannot_own_a_key_and_other_names_can() -> None:
    with pytest.raises(errors.ReservedOwner, match="imported department list") as caught:
        check_owner("health-bureau", {"health-bureau"})
    assert "'health-bureau-desk'" in str(caught.value)
    assert check_owner("health-bureau-desk", {"health-bureau"}) == "health-bureau-desk"
    assert check_owner("osmosis") == "osmosis"  # only osm itself and osm-* are OSM's
    with pytest.raises(errors.InvalidParameter, match="lowercase"):
        check_owner("Health Bureau")


def test_sources_are_read_from_the_tags_imports_write() -> None:
    tags = [
        '{"lc:sources": [{"source": "health-bureau", "source_id": "7"}]}',
        '{"lc:sources": [{"source": "parks", "source_id": "1"}, {"source_id": "x"}]}',
        '{"amenity": "clinic"}',
        "not json",
        '{"lc:sources": "not a list"}',
    ]
    assert sources_in_tags(tags) == {"health-bureau", "parks"}


def test_expiry_durations_dates_and_never() -> None:
    assert parse_expiry("90d", NOW) == NOW + timedelta(days=90)
    assert parse_expiry("2w", NOW) == NOW + timedelta(days=14)
    assert parse_expiry("1y", NOW) == NOW + timedelta(days=365)
    assert parse_expiry("2027-06-30", NOW) == datetime(2027, 7, 1, tzinfo=UTC)
    assert parse_expiry("never", NOW) is None
    for bad, words in [("0d", "at least"), ("2027-01-01", "past"), ("soon", "duration")]:
        with pytest.raises(errors.InvalidParameter, match=words):
            parse_expiry(bad, NOW)
    _, record = new_key("health-bureau")
    assert record.expires_at is not None
    lasts = record.expires_at - record.created_at
    assert abs(lasts - timedelta(days=DEFAULT_EXPIRY_DAYS)) < timedelta(seconds=5)


def _key(role: str, owner: str = "health-bureau") -> ApiKey:
    return ApiKey("0123456789ab", owner, "00", "00", NOW, role)


def test_who_may_edit_what() -> None:
    department, admin, planner = _key("department"), _key("admin", "ops"), _key("planner")
    assert may_edit(department, "health-bureau")
    assert not may_edit(department, "osm") and not may_edit(department, "police")
    assert may_edit(admin, "osm") and may_edit(admin, "police")
    assert not may_edit(planner, "health-bureau")  # even a planner named like the source
    with pytest.raises(errors.NotYourFacility, match="'osm'"):
        require_edit(department, "osm:node/1", "osm")
    with pytest.raises(errors.WrongRole, match="a department or admin key"):
        require_edit(planner, "health-bureau:1", "health-bureau")
    assert require_edit(admin, "osm:node/1", "osm") is admin
    with pytest.raises(errors.WrongRole, match="a planner or admin key"):
        require_any_role(department, ("planner", "admin"), "reading the audit log")


def test_revoked_and_expired_keys_are_refused_only_to_who_proves_the_secret() -> None:
    token, record = new_key("health-bureau", expires_at=NOW + timedelta(days=1))
    keys = {record.key_id: record}
    assert verify_key(token, keys.get, NOW) == record
    with pytest.raises(errors.ExpiredApiKey, match="expired on 2027-03-02"):
        verify_key(token, keys.get, NOW + timedelta(days=2))
    gone = revoked(record, NOW)
    assert revoked(gone, NOW + timedelta(hours=1)).revoked_at == NOW  # the first time stays
    keys[record.key_id] = gone
    with pytest.raises(errors.RevokedApiKey, match="revoked on 2027-03-01 12:00"):
        verify_key(token, keys.get, NOW)
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    # a wrong secret is not told the key is revoked
    with pytest.raises(errors.WrongApiKey) as caught:
        verify_key(wrong, keys.get, NOW)
    assert type(caught.value) is errors.WrongApiKey and "revoked" not in str(caught.value)
    with pytest.raises(errors.MissingApiKey, match="X-API-Key"):
        verify_key("", keys.get)


def test_an_unknown_id_costs_what_a_wrong_secret_costs() -> None:
    token, record = new_key("health-bureau")
    keys = {record.key_id: record}
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    unknown = "lc_" + ("f" * 12 if record.key_id != "f" * 12 else "e" * 12) + token[15:]

    def cost(candidate: str) -> float:
        start = time.perf_counter()
        with pytest.raises(errors.WrongApiKey):
            verify_key(candidate, keys.get)
        return time.perf_counter() - start

    runs = [(cost(wrong), cost(unknown)) for _ in range(7)]
    wrong_s = statistics.median(w for w, _ in runs)
    unknown_s = statistics.median(u for _, u in runs)
    assert wrong_s > 0.005  # scrypt ran
    assert 0.5 < unknown_s / wrong_s < 2.0, (unknown_s, wrong_s)
    start = time.perf_counter()
    with pytest.raises(errors.WrongApiKey):
        verify_key("not a key", keys.get)  # the shape is public: refused without hashing
    assert time.perf_counter() - start < wrong_s / 2
