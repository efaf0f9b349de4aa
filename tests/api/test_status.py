"""Live status through the API: set with the owner's key, shown with its age, hidden once stale."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from livingcircle.geo.kiosks import Kiosk
from livingcircle.geo.status import FacilityStatus
from tests.api.conftest import LAT, LON, assert_problem, read_audit

URL = "/v1/regions/helsinki/facilities"
STATUS = "/v1/regions/helsinki/status"
OWNER = "parking-office"


def car_park(source_id: str, dlat: float) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [LON, LAT + dlat]},
        "properties": {
            "source_id": source_id,
            "category": "car_parking",
            "name_zh": f"停车场 {source_id}",
        },
    }


@pytest.fixture(scope="module")
def parking_key(key_for: Callable[[str], str]) -> str:
    return key_for(OWNER)


@pytest.fixture(scope="module")
def police_key(key_for: Callable[[str], str]) -> str:
    return key_for("police")


@pytest.fixture(scope="module")
def parks(client: TestClient, parking_key: str) -> Iterator[list[str]]:
    """Two car parks of the parking office right by the query point, nearer one first."""
    ids = []
    for source_id, dlat in (("p-near", 0.0001), ("p-far", 0.0004)):
        response = client.post(
            URL, json=car_park(source_id, dlat), headers={"X-API-Key": parking_key}
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    yield ids
    for fid in ids:
        client.delete(f"{URL}/{fid}", headers={"X-API-Key": parking_key})


@pytest.fixture
def clock(client: TestClient) -> Iterator[Callable[[timedelta], None]]:
    """Moves the API's clock forward (for reading; reports keep the real time)."""
    live = client.app.state.live  # type: ignore[attr-defined]
    real = live.clock

    def move(by: timedelta) -> None:
        live.clock = lambda: real() + by

    yield move
    live.clock = real


def put_status(client: TestClient, fid: str, key: str, **body: object) -> Any:
    return client.put(f"{URL}/{fid}/status", json=body, headers={"X-API-Key": key})


def nearest_parks(client: TestClient, **params: object) -> list[dict[str, Any]]:
    answer = client.get(
        "/v1/nearest", params={"lat": LAT, "lon": LON, "category": "car_parking", **params}
    )
    assert answer.status_code == 200, answer.text
    return [
        f["properties"] for f in answer.json()["features"] if f["properties"]["kind"] == "facility"
    ]


def test_owner_sets_status_shown_in_answers_and_audited(
    client: TestClient, parks: list[str], parking_key: str
) -> None:
    response = put_status(client, parks[0], parking_key, spaces_free=42, spaces_total=120)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["spaces_free"] == 42 and body["actor"] == OWNER and body["stale"] is False
    assert body["category"] == "car_parking" and body["updated_at"].endswith("+00:00")
    [listed] = [s for s in client.get(STATUS).json() if s["facility_id"] == parks[0]]
    assert listed["spaces_total"] == 120 and 0 <= listed["age_s"] < 60
    [first] = nearest_parks(client)
    assert first["id"] == parks[0]
    assert first["status"]["spaces_free"] == 42 and first["status"]["age_s"] < 60
    catchment = client.get("/v1/catchment", params={"lat": LAT, "lon": LON, "minutes": 5})
    shown = [
        f["properties"]
        for f in catchment.json()["features"]
        if f["properties"].get("id") == parks[0]
    ]
    assert shown and shown[0]["status"]["spaces_free"] == 42
    entry = read_audit(client)[0]
    assert (entry["action"], entry["facility_id"], entry["actor"]) == ("status", parks[0], OWNER)
    assert entry["after"]["spaces_free"] == 42


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}])
def test_status_without_a_key_is_401(
    client: TestClient, parks: list[str], headers: dict[str, str]
) -> None:
    before = read_audit(client)
    response = client.put(f"{URL}/{parks[0]}/status", json={"spaces_free": 1}, headers=headers)
    assert_problem(response, 401, "X-API-Key")
    assert read_audit(client) == before


def test_status_with_a_wrong_key_is_403(client: TestClient, parks: list[str]) -> None:
    response = put_status(client, parks[0], "lc_000000000000_" + "A" * 43, spaces_free=1)
    assert_problem(response, 403, "not valid")


def test_another_departments_facility_is_403(
    client: TestClient, parks: list[str], police_key: str, parking_key: str
) -> None:
    assert_problem(
        put_status(client, parks[0], police_key, spaces_free=1), 403, f"'{OWNER}'", "'police:'"
    )
    osm = client.get(URL, params={"category": "car_parking", "limit": 1}).json()["features"]
    osm_id = next(f["id"] for f in osm if f["properties"]["source"] == "osm")
    assert_problem(put_status(client, osm_id, parking_key, spaces_free=1), 403, "'osm'")
    assert_problem(put_status(client, "osm:node/1", parking_key, spaces_free=1), 404)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"spaces_free": -1},
        {"spaces_free": "42"},
        {"spaces_free": 4.5},
        {"spaces_free": 10, "spaces_total": 5},
        {"note": "x" * 201},
        {"note": "a\u0007b"},
        {"queue_minutes": 99999},
        {"colour": "red"},
        {"closed_until": "2027-01-01T10:00:00"},
        {"closed_until": "not a time"},
    ],
)
def test_bad_status_is_422(
    client: TestClient, parks: list[str], parking_key: str, body: dict[str, object]
) -> None:
    assert_problem(put_status(client, parks[0], parking_key, **body), 422)


def test_stale_status_is_hidden(
    client: TestClient, parks: list[str], parking_key: str, clock: Callable[[timedelta], None]
) -> None:
    put_status(client, parks[1], parking_key, spaces_free=7, spaces_total=20)
    assert next(p for p in nearest_parks(client, k=2) if p["id"] == parks[1])["status"]
    clock(timedelta(seconds=901))  # car parks go stale after 900 s (the standards file)
    assert all("status" not in p for p in nearest_parks(client, k=2))
    assert all(s["facility_id"] not in parks for s in client.get(STATUS).json())
    stale = client.get(STATUS, params={"include_stale": True}).json()
    assert {s["facility_id"]: s["stale"] for s in stale if s["facility_id"] in parks} == {
        parks[0]: True,
        parks[1]: True,
    }
    assert stale[0]["age_s"] >= 901


def test_status_set_in_the_past_through_the_store_is_hidden(
    client: TestClient, parks: list[str]
) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    then = datetime.now(UTC) - timedelta(minutes=20)
    store.set_status("helsinki", FacilityStatus(parks[1], "", then, spaces_free=3), OWNER)
    client.app.state.live.forget("helsinki")  # type: ignore[attr-defined]
    assert all("status" not in p for p in nearest_parks(client, k=2) if p["id"] == parks[1])
    store.set_status(
        "helsinki", FacilityStatus(parks[1], "", then + timedelta(minutes=10), spaces_free=3), OWNER
    )
    client.app.state.live.forget("helsinki")  # type: ignore[attr-defined]
    shown = next(p for p in nearest_parks(client, k=2) if p["id"] == parks[1])
    assert 590 <= shown["status"]["age_s"] <= 700


def test_skip_full_keeps_k_answers(
    client: TestClient, parks: list[str], parking_key: str, clock: Callable[[timedelta], None]
) -> None:
    put_status(client, parks[0], parking_key, spaces_free=0, spaces_total=120)
    put_status(client, parks[1], parking_key, spaces_free=5, spaces_total=20)
    [full] = nearest_parks(client)
    assert full["id"] == parks[0] and full["status"]["spaces_free"] == 0
    [skipped] = nearest_parks(client, skip_full=True)
    assert skipped["id"] == parks[1]
    two = nearest_parks(client, skip_full=True, k=2)
    assert len(two) == 2 and parks[0] not in [p["id"] for p in two]
    assert [p["rank"] for p in two] == [1, 2]
    with_routes = client.get(
        "/v1/nearest",
        params={"lat": LAT, "lon": LON, "category": ["car_parking", "pharmacy"], "skip_full": True},
    )
    kinds = {
        (f["properties"]["kind"], f["properties"]["category"])
        for f in with_routes.json()["features"]
        if f["properties"]["kind"] != "origin"
    }
    assert kinds == {
        ("facility", "car_parking"),
        ("facility", "pharmacy"),
        ("route", "car_parking"),
        ("route", "pharmacy"),
    }
    clock(timedelta(seconds=901))  # a stale "full" is not believed
    assert nearest_parks(client, skip_full=True)[0]["id"] == parks[0]


def test_kiosk_shows_status_with_its_age(
    client: TestClient, parks: list[str], parking_key: str
) -> None:
    put_status(client, parks[0], parking_key, spaces_free=42, spaces_total=120)
    kiosks = client.app.state.kiosks  # type: ignore[attr-defined]
    base = kiosks["helsinki-station"]
    kiosks["parking-test"] = replace(base, id="parking-test", categories=("car_parking",))
    try:
        data = client.get("/v1/maps/kiosk/parking-test/data").json()
        [row] = data["services"]
        assert row["status_zh"] == "42 个空位 · 刚刚" and row["status_en"] == "42 spaces · just now"
        page = client.get("/v1/maps/kiosk/parking-test").text
        assert "42 个空位" in page
    finally:
        del kiosks["parking-test"]
    assert isinstance(base, Kiosk)
