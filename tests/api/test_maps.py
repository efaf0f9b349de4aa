"""Map pages: the resident map of a point, and each configured kiosk's offline map."""

from __future__ import annotations

from fastapi.testclient import TestClient

from livingcircle.maps.offline import remote_references
from tests.api.conftest import LAT, LON, assert_problem


def requests_made(html: str) -> list[str]:
    """Remote references, less Leaflet's attribution link (a link, not a request)."""
    return [r for r in remote_references(html) if "leafletjs.com" not in r]


def test_resident_map_page(client: TestClient) -> None:
    response = client.get("/v1/maps/resident", params={"lat": LAT, "lon": LON})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "leaflet" in response.text.lower() and "You are here" in response.text


def test_offline_resident_map_makes_no_request(client: TestClient) -> None:
    response = client.get("/v1/maps/resident", params={"lat": LAT, "lon": LON, "offline": True})
    assert response.status_code == 200, response.text
    assert requests_made(response.text) == []


def test_kiosk_page_is_offline_and_refreshes_from_the_api(client: TestClient) -> None:
    response = client.get("/v1/maps/kiosk/helsinki-station")
    assert response.status_code == 200, response.text
    assert requests_made(response.text) == []
    assert "/v1/maps/kiosk/helsinki-station/data" in response.text
    data = client.get("/v1/maps/kiosk/helsinki-station/data").json()
    assert data["kiosk"] == "helsinki-station" and data["language"] == "zh"
    minutes = [s["minutes"] for s in data["services"]]
    assert minutes == sorted(minutes) and all(m <= 15 for m in minutes)
    assert {"label_zh", "name", "metres"} <= set(data["services"][0])


def test_unknown_kiosk_and_bad_points(client: TestClient) -> None:
    assert_problem(client.get("/v1/maps/kiosk/nowhere"), 404, "'nowhere'", "helsinki-station")
    assert_problem(client.get("/v1/maps/kiosk/nowhere/data"), 404, "'nowhere'")
    assert_problem(client.get("/v1/maps/resident", params={"lat": 95, "lon": LON}), 422, "lat")
    assert_problem(
        client.get("/v1/maps/resident", params={"lat": 31.0, "lon": 121.0}), 404, "outside"
    )
