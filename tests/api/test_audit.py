"""Reading the audit log over the API needs a planner's or an admin's key, on both stores."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from livingcircle.geo.keys import new_key
from tests.api.conftest import LAT, LON, assert_problem, read_audit

AUDIT = "/v1/regions/helsinki/audit"


@pytest.fixture(scope="module")
def token_for(client: TestClient) -> Callable[[str, str], str]:
    """Makes a key with a role in the store of ``client``; returns the token."""

    def make(owner: str, role: str) -> str:
        token, record = new_key(owner, role)
        client.app.state.store.add_api_key(record)  # type: ignore[attr-defined]
        return token

    return make


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}])
def test_the_log_is_not_readable_without_a_key(client: TestClient, headers: dict[str, str]) -> None:
    assert_problem(client.get(AUDIT, headers=headers), 401, "X-API-Key")


def test_a_department_key_may_not_read_the_log(
    client: TestClient, token_for: Callable[[str, str], str]
) -> None:
    token = token_for("audit-health", "department")
    assert_problem(client.get(AUDIT, headers={"X-API-Key": token}), 403, "planner")


def test_a_wrong_key_is_refused(client: TestClient) -> None:
    token, _ = new_key("never-stored", "planner")  # a well-formed key the store never kept
    assert_problem(client.get(AUDIT, headers={"X-API-Key": token}), 403)


@pytest.mark.parametrize("role", ["planner", "admin"])
def test_planners_and_admins_read_the_chained_log(
    client: TestClient, token_for: Callable[[str, str], str], role: str
) -> None:
    token = token_for(f"audit-{role}", role)
    editor = token_for(f"audit-{role}-dept", "department")
    made = client.post(
        "/v1/regions/helsinki/facilities",
        json={
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [LON, LAT]},
            "properties": {"source_id": f"a-{role}", "category": "clinic", "name": "Asema"},
        },
        headers={"X-API-Key": editor},
    )
    assert made.status_code == 201, made.text
    response = client.get(AUDIT, params={"limit": 2}, headers={"X-API-Key": token})
    assert response.status_code == 200, response.text
    newest, before = response.json()
    assert (newest["action"], newest["actor"]) == ("create", f"audit-{role}-dept")
    assert newest["seq"] == before["seq"] + 1 and newest["prev"] == before["hash"]
    assert len(newest["hash"]) == 64
    entries = read_audit(client, limit=500)
    assert entries[-1]["action"] == "load" and entries[-1]["seq"] == 1


def test_the_store_log_of_keys_needs_a_planner_key_too(
    client: TestClient, token_for: Callable[[str, str], str]
) -> None:
    assert_problem(client.get("/v1/audit"), 401, "X-API-Key")
    department = token_for("audit-keys-dept", "department")
    assert_problem(client.get("/v1/audit", headers={"X-API-Key": department}), 403, "planner")
    token = token_for("audit-keys-planner", "planner")
    response = client.get("/v1/audit", params={"limit": 1}, headers={"X-API-Key": token})
    assert response.status_code == 200, response.text
    [newest] = response.json()
    assert (newest["action"], newest["after"]["owner"]) == ("key-add", "audit-keys-planner")
    assert "digest" not in newest["after"] and "salt" not in newest["after"]
