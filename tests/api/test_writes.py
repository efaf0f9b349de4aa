"""Facility changes: only with a department's key, only on its own facilities, all recorded."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from livingcircle.api.app import create_app
from livingcircle.api.settings import Settings
from tests.api.conftest import LAT, LON, assert_problem, read_audit

URL = "/v1/regions/helsinki/facilities"


def clinic(source_id: str = "clinic-17", **props: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [LON, LAT + 0.0002]},
        "properties": {
            "source_id": source_id,
            "category": "clinic",
            "name_zh": "社区卫生服务站",
            "opening_hours": "Mo-Fr 08:00-17:00",
            "tags": {"phone": "+358 9 000"},
            **props,
        },
    }


def without_source_id(feature: dict[str, object]) -> dict[str, object]:
    props = dict(feature["properties"])  # type: ignore[call-overload]
    props.pop("source_id")
    return {**feature, "properties": props}


def snapshot(client: TestClient) -> tuple[object, object]:
    """Everything a refused write must leave as it was."""
    return (
        client.get(URL, params={"limit": 500, "offset": 0}).json()["features"]
        + client.get(URL, params={"limit": 500, "offset": 500}).json()["features"],
        read_audit(client),
    )


@pytest.fixture(scope="module")
def health_key(key_for: Callable[[str], str]) -> str:
    return key_for("health-bureau")


@pytest.fixture(scope="module")
def police_key(key_for: Callable[[str], str]) -> str:
    return key_for("police")


@pytest.fixture
def created(client: TestClient, health_key: str) -> Iterator[str]:
    """A clinic the health bureau created; removed afterwards."""
    response = client.post(URL, json=clinic(), headers={"X-API-Key": health_key})
    assert response.status_code == 201, response.text
    yield response.json()["id"]
    client.delete(f"{URL}/{response.json()['id']}", headers={"X-API-Key": health_key})


def test_create_answers_queries_at_once_and_is_audited(client: TestClient, health_key: str) -> None:
    before = client.get("/v1/nearest", params={"lat": LAT, "lon": LON, "category": "clinic"}).json()
    response = client.post(URL, json=clinic("c-1"), headers={"X-API-Key": health_key})
    assert response.status_code == 201, response.text
    feature = response.json()
    assert feature["id"] == "health-bureau:c-1"
    assert response.headers["location"] == f"{URL}/health-bureau:c-1"
    assert feature["properties"]["source"] == "health-bureau"
    assert feature["properties"]["tags"] == {"phone": "+358 9 000"}
    assert client.get(f"{URL}/health-bureau:c-1").json() == feature
    after = client.get("/v1/nearest", params={"lat": LAT, "lon": LON, "category": "clinic"}).json()
    nearest = [
        f["properties"]["id"] for f in after["features"] if f["properties"]["kind"] == "facility"
    ]
    assert (
        nearest
        == ["health-bureau:c-1"]
        != [
            f["properties"]["id"]
            for f in before["features"]
            if f["properties"]["kind"] == "facility"
        ]
    )
    entry = read_audit(client)[0]
    assert entry["action"] == "create" and entry["actor"] == "health-bureau"
    assert entry["facility_id"] == "health-bureau:c-1" and entry["before"] is None
    assert entry["after"]["name_zh"] == "社区卫生服务站" and entry["at"].endswith("+00:00")


def test_update_and_delete_by_the_owner(client: TestClient, health_key: str, created: str) -> None:
    changed = without_source_id(clinic(name_zh="海曙社区卫生服务站"))
    response = client.put(f"{URL}/{created}", json=changed, headers={"X-API-Key": health_key})
    assert response.status_code == 200, response.text
    assert response.json()["properties"]["name_zh"] == "海曙社区卫生服务站"
    entry = read_audit(client)[0]
    assert entry["action"] == "update"
    assert entry["before"]["name_zh"] == "社区卫生服务站"
    assert entry["after"]["name_zh"] == "海曙社区卫生服务站"
    gone = client.delete(f"{URL}/{created}", headers={"X-API-Key": health_key})
    assert gone.status_code == 204
    assert_problem(client.get(f"{URL}/{created}"), 404)
    entry = read_audit(client)[0]
    assert entry["action"] == "delete" and entry["after"] is None


def test_duplicate_create_conflicts(client: TestClient, health_key: str, created: str) -> None:
    again = client.post(URL, json=clinic(), headers={"X-API-Key": health_key})
    assert_problem(again, 409, "already exists")


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}])
def test_writes_without_a_key_are_refused_and_change_nothing(
    client: TestClient, created: str, headers: dict[str, str]
) -> None:
    before = snapshot(client)
    assert_problem(client.post(URL, json=clinic("c-2"), headers=headers), 401, "X-API-Key")
    response = client.put(f"{URL}/{created}", json=without_source_id(clinic()), headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("ApiKey")
    assert_problem(client.delete(f"{URL}/{created}", headers=headers), 401)
    assert snapshot(client) == before


@pytest.mark.parametrize(
    "key",
    ["wrong", "lc_000000000000_" + "A" * 43, "' OR '1'='1", "lc_" + "f" * 12 + "_" + "x" * 43],
)
def test_writes_with_a_wrong_key_are_refused_and_change_nothing(
    client: TestClient, created: str, health_key: str, key: str
) -> None:
    before = snapshot(client)
    headers = {"X-API-Key": key}
    assert_problem(client.post(URL, json=clinic("c-3"), headers=headers), 403, "not valid")
    assert_problem(client.delete(f"{URL}/{created}", headers=headers), 403)
    tampered = health_key[:-1] + ("A" if health_key[-1] != "A" else "B")
    assert_problem(client.delete(f"{URL}/{created}", headers={"X-API-Key": tampered}), 403)
    assert snapshot(client) == before


def test_other_departments_facilities_are_not_yours(
    client: TestClient, created: str, police_key: str
) -> None:
    before = snapshot(client)
    headers = {"X-API-Key": police_key}
    assert_problem(
        client.delete(f"{URL}/{created}", headers=headers), 403, "'health-bureau'", "'police:'"
    )
    assert_problem(client.delete(f"{URL}/osm:node/25502063", headers=headers), 403, "'osm'")
    assert snapshot(client) == before


def test_revoked_key_is_refused(client: TestClient, key_for: Callable[[str], str]) -> None:
    token = key_for("parks")
    client.app.state.store.remove_api_key(token.split("_")[1])  # type: ignore[attr-defined]
    assert_problem(client.post(URL, json=clinic("p-1"), headers={"X-API-Key": token}), 403)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"category": "zoo"}, ["'zoo'", "clinic"]),
        ({"source_id": "bad id!"}, ["source_id"]),
        ({"name_zh": "长" * 201}, ["name_zh", "200"]),
        ({"unexpected": 1}, ["unexpected"]),
    ],
)
def test_bad_bodies_say_what_is_allowed(
    client: TestClient, health_key: str, change: dict[str, object], words: list[str]
) -> None:
    body = clinic(**change)
    assert_problem(client.post(URL, json=body, headers={"X-API-Key": health_key}), 422, *words)


def test_facility_outside_the_region(client: TestClient, health_key: str) -> None:
    body = {**clinic(), "geometry": {"type": "Point", "coordinates": [121.55, 29.87]}}
    assert_problem(
        client.post(URL, json=body, headers={"X-API-Key": health_key}),
        422,
        "outside region 'helsinki'",
    )


def test_body_size_is_capped(client: TestClient, health_key: str) -> None:
    big = clinic("big", name="x" * 20_000)
    headers = {"X-API-Key": health_key}
    assert_problem(client.post(URL, json=big, headers=headers), 413, "16384 bytes")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"type": "Feature", "properties": {"name": "'
        for _ in range(40):
            yield b"x" * 1000
        yield b'"}}'

    streamed = client.post(
        URL, content=chunks(), headers={**headers, "Content-Type": "application/json"}
    )
    assert_problem(streamed, 413, "16384 bytes")


def test_each_store_refuses_unauthorised_writes(client: TestClient) -> None:
    response = client.post(URL, json=clinic(), headers={"X-API-Key": "lc_x"})
    assert_problem(response, 403, "not valid")


def test_a_failed_write_changes_nothing(client: TestClient, health_key: str, created: str) -> None:
    """A refused duplicate, or a change of a facility that is not there, leaves it all."""
    before = snapshot(client)
    loaded = client.get("/v1/regions/helsinki").json()
    headers = {"X-API-Key": health_key}
    assert_problem(client.post(URL, json=clinic(), headers=headers), 409, "already exists")
    assert_problem(
        client.put(
            f"{URL}/health-bureau:nowhere", json=without_source_id(clinic()), headers=headers
        ),
        404,
    )
    assert_problem(client.delete(f"{URL}/health-bureau:nowhere", headers=headers), 404)
    assert snapshot(client) == before
    assert client.get("/v1/regions/helsinki").json() == loaded


def test_an_edit_moves_the_load_time_on(client: TestClient, health_key: str) -> None:
    """Other worker processes watch the load time to rebuild their engines."""

    def loaded() -> datetime:
        return datetime.fromisoformat(
            client.get("/v1/regions/helsinki").json()["properties"]["loaded_at"]
        )

    first = loaded()
    made = client.post(URL, json=clinic("t-1"), headers={"X-API-Key": health_key})
    assert made.status_code == 201, made.text
    second = loaded()
    client.delete(f"{URL}/health-bureau:t-1", headers={"X-API-Key": health_key})
    assert first < second < loaded()


def test_other_workers_see_a_change_within_the_refresh_time(
    store_settings: Settings, health_key: str
) -> None:
    """Two apps over one store stand for two worker processes."""
    fast = dataclasses.replace(
        store_settings, api=store_settings.api.model_copy(update={"refresh_seconds": 0.2})
    )
    params = {"lat": LAT, "lon": LON, "category": "clinic", "k": 5}
    with TestClient(create_app(fast)) as one, TestClient(create_app(fast)) as other:
        made = one.post(
            URL, json=clinic("w-1", category="clinic"), headers={"X-API-Key": health_key}
        )
        assert made.status_code == 201, made.text
        deadline = time.monotonic() + 10
        while True:
            found = other.get("/v1/nearest", params=params).json()["features"]
            if any(f["properties"].get("id") == "health-bureau:w-1" for f in found):
                break
            assert time.monotonic() < deadline, "the other worker never saw the new clinic"
            time.sleep(0.1)
        one.delete(f"{URL}/health-bureau:w-1", headers={"X-API-Key": health_key})
