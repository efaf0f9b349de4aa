"""SQL injection in every text parameter is harmless on both stores: a 4xx or a normal answer,
never a 5xx, and the data stays as it was."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import LAT, LON
from tests.attacks import ATTACKS

FACILITIES = "/v1/regions/helsinki/facilities"


def requests_with(text: str) -> list[tuple[str, dict[str, object]]]:
    """Every text parameter of every route, set to ``text``."""
    point = {"lat": LAT, "lon": LON}
    part = quote(text, safe="")
    return [
        ("/v1/nearest", {**point, "category": text}),
        ("/v1/nearest", {**point, "profile": text}),
        ("/v1/nearest", {**point, "region": text}),
        ("/v1/catchment", {**point, "profile": text}),
        ("/v1/catchment", {**point, "region": text}),
        (FACILITIES, {"q": text}),
        (FACILITIES, {"category": text}),
        (FACILITIES, {"bbox": text}),
        (f"/v1/regions/{part}/facilities", {}),
        (f"/v1/regions/{part}", {}),
        (f"{FACILITIES}/{part}", {}),
        ("/v1/regions/helsinki/audit", {"limit": text}),
        (f"/v1/maps/kiosk/{part}", {}),
        (f"/v1/maps/kiosk/{part}/data", {}),
        ("/v1/maps/resident", {**point, "region": text}),
        ("/v1/search", {**point, "q": text}),
        ("/v1/search", {"q": "kauppatori", "region": text}),
    ]


def state(client: TestClient) -> object:
    regions = client.get("/v1/regions").json()
    facilities = [
        client.get(FACILITIES, params={"limit": 500, "offset": o}).json()["features"]
        for o in (0, 500)
    ]
    return regions, facilities


@pytest.mark.parametrize("attack", ATTACKS)
def test_injection_is_harmless(client: TestClient, attack: str) -> None:
    before = state(client)
    for path, params in requests_with(attack):
        response = client.get(path, params=params)
        assert response.status_code < 500, (path, params, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
    headers = {"X-API-Key": attack.replace("\x00", "")}
    write = client.delete(f"{FACILITIES}/osm:node/25502063", headers=headers)
    assert write.status_code in (401, 403)
    assert state(client) == before


def test_name_search_takes_wildcards_literally(client: TestClient) -> None:
    for wildcard in ("%", "_", "%%", ".*", "\\", "\\%", "[a-z]"):
        found = client.get(FACILITIES, params={"q": wildcard}).json()["features"]
        assert all(
            wildcard
            in f["properties"]["name"] + f["properties"]["name_zh"] + f["properties"]["name_en"]
            for f in found
        )
