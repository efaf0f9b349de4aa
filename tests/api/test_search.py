"""GET /v1/search over the real app and each store, with the Helsinki sample.

The sample has few Chinese names, so a department adds two facilities with Chinese names
through the API first (which also shows that an edit re-indexes the region).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from livingcircle.api.routes import search as search_routes
from tests.api.conftest import LAT, LON, assert_problem

URL = "/v1/search"
CLINIC = "社区卫生服务站"
KINDERGARTEN = "海曙幼儿园"


def get(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == "FeatureCollection"
    return body


def first(body: dict[str, Any]) -> dict[str, Any]:
    assert body["features"], body["properties"]
    props: dict[str, Any] = body["features"][0]["properties"]
    return props


def add(
    client: TestClient,
    token: str,
    source_id: str,
    category: str,
    name_zh: str,
    lon: float,
    lat: float,
) -> str:
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"source_id": source_id, "category": category, "name_zh": name_zh},
    }
    response = client.post(
        "/v1/regions/helsinki/facilities", json=body, headers={"X-API-Key": token}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def chinese_ids(client: TestClient, key_for: Callable[[str], str]) -> dict[str, str]:
    """Two facilities with Chinese names, added after the region was first searched."""
    assert get(client, q=CLINIC)["features"] == []  # builds the index before the edit
    token = key_for("health-bureau")
    return {
        "clinic": add(client, token, "search-clinic", "clinic", CLINIC, 24.9420, 60.1705),
        "kindergarten": add(
            client, token, "search-kg", "kindergarten", KINDERGARTEN, 24.9460, 60.1690
        ),
    }


def test_english_name(client: TestClient) -> None:
    props = first(get(client, q="kauppatori"))
    assert (props["kind"], props["name"], props["category"]) == (
        "facility",
        "Kauppatori",
        "bus_stop",
    )
    assert props["category_zh"] and props["category_en"] and props["score"] == 100
    assert props["region"] == "helsinki" and "distance_m" not in props


def test_typo(client: TestClient) -> None:
    props = first(get(client, q="Kaupatori", region="helsinki"))
    assert props["name"] == "Kauppatori" and props["score"] < 90


def test_street_name(client: TestClient) -> None:
    body = get(client, q="Mannerheimintie", lat=LAT, lon=LON)
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "Point"
    props = feature["properties"]
    assert (props["kind"], props["name"], props["category"]) == ("street", "Mannerheimintie", "")
    assert 0 < props["distance_m"] < 2000
    assert [f["properties"]["name"] for f in body["features"]].count("Mannerheimintie") == 1


@pytest.mark.parametrize("q", ["Helsinki Central Station", "赫尔辛基中央车站"])
def test_kiosk_name(client: TestClient, q: str) -> None:
    props = first(get(client, q=q))
    assert (props["kind"], props["id"]) == ("kiosk", "helsinki-station")
    assert props["name"] == "Helsinki Central Station" and props["name_zh"] == "赫尔辛基中央车站"


@pytest.mark.parametrize("q", [CLINIC, "社区卫生", "shequ weisheng", "shequweisheng", "sqws"])
def test_chinese_by_characters_and_pinyin(
    client: TestClient, chinese_ids: dict[str, str], q: str
) -> None:
    props = first(get(client, q=q, lat=LAT, lon=LON))
    assert props["id"] == chinese_ids["clinic"], q
    assert props["name_zh"] == CLINIC and props["category"] == "clinic"


@pytest.mark.parametrize("q", ["幼儿园", "youeryuan", "you er yuan", "hsyey"])
def test_kindergarten(client: TestClient, chinese_ids: dict[str, str], q: str) -> None:
    props = first(get(client, q=q))
    assert props["id"] == chinese_ids["kindergarten"], q


def test_equal_matches_nearest_first(client: TestClient) -> None:
    stops = get(client, q="Kauppatori", limit=50)["features"]
    assert len(stops) >= 2
    far = stops[-1]["geometry"]["coordinates"]
    near_far = get(client, q="Kauppatori", lon=far[0], lat=far[1], limit=50)["features"]
    assert near_far[0]["id"] == stops[-1]["id"]
    assert near_far[0]["properties"]["distance_m"] == 0
    distances = [f["properties"]["distance_m"] for f in near_far]
    assert distances == sorted(distances)


def test_limit(client: TestClient) -> None:
    body = get(client, q="a", limit=3)
    assert len(body["features"]) == 3 and body["properties"]["returned"] == 3


def test_nothing_found_suggests(client: TestClient) -> None:
    body = get(client, q="xyzzy", lat=LAT, lon=LON)
    assert body["features"] == []
    props = body["properties"]
    assert 1 <= len(props["suggestions"]) <= 5
    assert props["message"].startswith("nothing called 'xyzzy' in helsinki; closest: ")
    assert props["regions"] == ["helsinki"]


def test_point_outside_every_region_searches_them_all(client: TestClient) -> None:
    body = get(client, q="Kauppatori", lat=29.87, lon=121.55)
    assert body["properties"]["regions"] == ["helsinki"]
    assert first(body)["distance_m"] > 7_000_000  # from Ningbo, in a straight line


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"q": "a\x00b"}, ["U+0000", "allowed: 1 to 100 characters", "control"]),
        ({"q": "line\nbreak"}, ["U+000A", "allowed"]),
        ({"q": "   "}, ["allowed: 1 to 100 characters"]),
        ({"q": ""}, ["q", "at least 1"]),
        ({"q": "x" * 101}, ["q", "at most 100"]),
        ({"q": "a", "limit": 51}, ["limit", "at most 50"]),
        ({"q": "a", "lat": LAT}, ["both lat and lon"]),
        ({"q": "a", "lat": 91, "lon": 0}, ["lat", "at most 90"]),
        ({"q": "a", "region": "Not A Region"}, ["region"]),
    ],
)
def test_bad_requests(client: TestClient, params: dict[str, Any], words: list[str]) -> None:
    assert_problem(client.get(URL, params=params), 422, *words)


def test_missing_q(client: TestClient) -> None:
    assert_problem(client.get(URL), 422, "q")


def test_unknown_region(client: TestClient) -> None:
    assert_problem(
        client.get(URL, params={"q": "a", "region": "atlantis"}), 404, "atlantis", "helsinki"
    )


def test_script_is_returned_as_data(client: TestClient) -> None:
    body = get(client, q="<script>alert(1)</script>")
    assert body["features"] == [] and "<script>" in body["properties"]["message"]


def test_neither_query_nor_point_is_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        get(client, q="Zyxwvutsrq", lat=60.17123, lon=24.94156)
        client.get(URL, params={"q": "Qwertyuiop\x00"})
    # the test's own HTTP client logs its requests; the server's loggers must not
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(r.getMessage() for r in server)
    for secret in ("Zyxwvutsrq", "Qwertyuiop", "60.17123", "24.94156"):
        assert secret not in text


def test_openapi_documents_search(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][URL]["get"]
    assert operation["summary"].startswith("Facilities, streets and kiosks by name")
    params = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert params["q"]["maxLength"] == 100 and params["limit"]["maximum"] == 50


def test_index_follows_the_region_load_time(
    client: TestClient, chinese_ids: dict[str, str]
) -> None:
    get(client, q="a")
    loaded = client.app.state.atlas.infos()[0].loaded_at  # type: ignore[attr-defined]
    assert client.app.state.search_indexes.built_at("helsinki") == loaded  # type: ignore[attr-defined]


def test_large_indexes_searched_off_the_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop = get(client, q="Kaupatori", lat=LAT, lon=LON)
    monkeypatch.setattr(search_routes, "ON_LOOP_ENTRIES", 0)
    assert get(client, q="Kaupatori", lat=LAT, lon=LON) == on_loop
