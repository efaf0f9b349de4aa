"""Strict requests on both stores: numbers are numbers, JSON is JSON, methods are told.

Each test here failed before ``api/strict.py``: ``1_0`` was read as 10, ``"60.1"`` as a
coordinate, a key given twice kept its last value, and OPTIONS answered 405 naming GET only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from livingcircle.geo.keys import new_key
from tests.api.conftest import LAT, LON, assert_problem

URL = "/v1/regions/helsinki/facilities"
POINT = {"lat": str(LAT), "lon": str(LON)}


def clinic(source_id: str, coordinates: object = (LON, LAT + 0.0002)) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coordinates},
        "properties": {"source_id": source_id, "category": "clinic"},
    }


@pytest.fixture(scope="module")
def key(key_for: Callable[[str], str]) -> str:
    return key_for("strict-dept")


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/v1/nearest", {**POINT, "lat": "6_0.171"}, "lat"),
        ("/v1/nearest", {**POINT, "lon": "24.9_414"}, "lon"),
        ("/v1/nearest", {**POINT, "lat": " 60.171"}, "lat"),
        ("/v1/nearest", {**POINT, "lat": "60.171 "}, "lat"),
        ("/v1/nearest", {**POINT, "k": "1_0"}, "k"),
        ("/v1/nearest", {**POINT, "k": "+2"}, "k"),
        ("/v1/nearest", {**POINT, "k": "٣"}, "k"),  # an Arabic-Indic 3: int() reads it
        ("/v1/nearest", {**POINT, "speed": "1_0"}, "speed"),
        ("/v1/nearest", {**POINT, "max_minutes": "1_5"}, "max_minutes"),
        ("/v1/nearest", {**POINT, "routes": "yes"}, "routes"),
        ("/v1/nearest", {**POINT, "open_now": "1"}, "open_now"),
        ("/v1/catchment", {**POINT, "minutes": ["5", "1_0"]}, "minutes"),
        ("/v1/search", {"q": "kauppa", "limit": "1_0"}, "limit"),
        ("/v1/search", {"q": "kauppa", **POINT, "lat": "6_0.17"}, "lat"),
        (URL, {"limit": "1_0"}, "limit"),
        (URL, {"offset": "0_0"}, "offset"),
        ("/v1/regions/helsinki/status", {"include_stale": "on"}, "include_stale"),
    ],
)
def test_query_numbers_and_booleans_are_plain_text(
    client: TestClient, path: str, params: dict[str, object], name: str
) -> None:
    body = assert_problem(client.get(path, params=params), 422, name)
    assert any(e["name"] == name for e in body["errors"])  # type: ignore[attr-defined]


def test_plain_numbers_still_pass(client: TestClient) -> None:
    ok = {**POINT, "k": "2", "speed": "1e0", "max_minutes": "15", "routes": "false"}
    assert client.get("/v1/nearest", params=ok).status_code == 200
    assert client.get("/v1/catchment", params={**POINT, "minutes": ["5", "10"]}).status_code == 200
    far = client.get("/v1/nearest", params={"lat": "-0.0", "lon": "1.5E-3"})
    assert_problem(far, 404, "outside every loaded region")  # read as numbers, not refused


def test_a_single_value_given_twice_is_refused(client: TestClient) -> None:
    twice = client.get(
        "/v1/nearest", params=[("lat", str(LAT)), ("lon", str(LON)), ("k", "1"), ("k", "3")]
    )
    assert_problem(twice, 422, "k", "more than once")
    cats = [("category", "pharmacy"), ("category", "clinic")]
    assert client.get("/v1/nearest", params=[*POINT.items(), *cats]).status_code == 200


@pytest.mark.parametrize(
    "coordinates",
    [[str(LON), str(LAT)], [LON, str(LAT)], [True, LAT], [LON, False]],
    ids=["strings", "one-string", "true", "false"],
)
def test_body_coordinates_are_json_numbers(
    client: TestClient, key: str, coordinates: list[object]
) -> None:
    response = client.post(URL, json=clinic("strict-1", coordinates), headers={"X-API-Key": key})
    assert_problem(response, 422, "geometry.coordinates")
    assert client.get(f"{URL}/strict-dept:strict-1").status_code == 404


def test_status_counts_are_json_integers(client: TestClient, key: str) -> None:
    made = client.post(URL, json=clinic("strict-2"), headers={"X-API-Key": key})
    assert made.status_code == 201, made.text
    status = f"{URL}/strict-dept:strict-2/status"
    for wrong in ({"queue_minutes": "5"}, {"queue_minutes": 5.0}, {"queue_minutes": True}):
        assert_problem(client.put(status, json=wrong, headers={"X-API-Key": key}), 422)


@pytest.mark.parametrize(
    ("raw", "key_name"),
    [
        ('{"type": "Feature", "type": "Feature", "geometry": %s, "properties": %s}', "type"),
        ('{"type": "Feature", "geometry": %s, "properties": %s, "properties": {}}', "properties"),
    ],
)
def test_a_json_key_given_twice_is_refused(
    client: TestClient, key: str, raw: str, key_name: str
) -> None:
    geometry = f'{{"type": "Point", "coordinates": [{LON}, {LAT}]}}'
    props = '{"source_id": "strict-3", "category": "clinic", "category": "pharmacy"}'
    body = raw % (geometry, props)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    problem = assert_problem(client.post(URL, content=body, headers=headers), 422, "given more")
    assert re.search(r"'(type|properties|category)'", str(problem["detail"]))
    assert client.get(f"{URL}/strict-dept:strict-3").status_code == 404
    nested = f'{{"type": "Feature", "geometry": {geometry}, "properties": {props}}}'
    assert_problem(client.post(URL, content=nested, headers=headers), 422, "'category'")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(client: TestClient, key: str, constant: str) -> None:
    body = (
        f'{{"type": "Feature", "geometry": {{"type": "Point", "coordinates": [{constant}, {LAT}]}},'
        ' "properties": {"source_id": "strict-4", "category": "clinic"}}'
    )
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    assert_problem(client.post(URL, content=body, headers=headers), 422, constant)


def test_a_body_that_is_not_utf8_is_422_like_any_other_bad_json(
    client: TestClient, key: str
) -> None:
    made = client.post(URL, json=clinic("strict-5"), headers={"X-API-Key": key})
    assert made.status_code == 201, made.text
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    status = f"{URL}/strict-dept:strict-5/status"
    assert_problem(client.put(status, content=b'{"note": "\xff"}', headers=headers), 422, "UTF-8")
    assert_problem(client.post(URL, content=b"\xfe\xff\xd8", headers=headers), 422, "UTF-8")


def test_a_streamed_body_over_the_limit_is_still_413(client: TestClient, key: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"type": "Feature", "properties": {"name": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'"}}'

    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    assert_problem(client.post(URL, content=chunks(), headers=headers), 413, "too large")


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/nearest", "GET, OPTIONS"),
        (URL, "GET, POST, OPTIONS"),
        (f"{URL}/osm:node/1", "GET, PUT, DELETE, OPTIONS"),
        ("/v1/regions/helsinki/analyses", "POST, OPTIONS"),
    ],
)
def test_options_lists_every_method_of_the_path(client: TestClient, path: str, allow: str) -> None:
    response = client.options(path)
    assert response.status_code == 204 and response.content == b""
    assert response.headers["allow"] == allow


def test_a_wrong_method_lists_every_method_of_the_path(client: TestClient) -> None:
    response = assert_problem(client.patch(URL), 405)
    assert response["status"] == 405
    assert client.patch(URL).headers["allow"] == "GET, POST, OPTIONS"
    assert_problem(client.options("/v2/nowhere"), 404)


def test_the_schema_documents_options(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    options = paths["/v1/regions/{region}/facilities"]["options"]
    assert set(options["responses"]) == {"204", "404"}
    assert "Allow" in options["responses"]["204"]["headers"]


@pytest.mark.parametrize(
    ("bbox", "accepted"),
    [
        ("24.93,60.16,24.96,60.18", True),
        ("24.930000,60.160,24.96,60.18", True),
        ("2.493e1,6.016e1,2.496e1,6.018e1", False),  # float() reads these; the schema did too
        ("24.9_3,60.16,24.96,60.18", False),
        ("+24.93,60.16,24.96,60.18", False),
        ("24.93, 60.16,24.96,60.18", False),
        ("24.93,60.16,24.96,91", False),
        ("181,60.16,24.96,60.18", False),
    ],
)
def test_the_bbox_pattern_is_what_the_server_reads(
    client: TestClient, bbox: str, accepted: bool
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    params = {p["name"]: p for p in paths["/v1/regions/{region}/facilities"]["get"]["parameters"]}
    pattern = params["bbox"]["schema"]["anyOf"][0]["pattern"]
    assert bool(re.search(pattern, bbox)) is accepted
    response = client.get(URL, params={"bbox": bbox, "limit": 1})
    assert response.status_code == (200 if accepted else 422), response.text
    if not accepted:  # in words, not the pattern
        assert "(?:" not in assert_problem(response, 422, "bbox", "allowed")["detail"]


@pytest.fixture(scope="module")
def planner(client: TestClient) -> str:
    token, record = new_key("strict-planning", role="planner")
    client.app.state.store.add_api_key(record)  # type: ignore[attr-defined]
    return token


def home(coordinates: list[object]) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coordinates},
        "properties": {"population": 10},
    }


@pytest.mark.parametrize(
    ("path", "body", "name"),
    [
        ("analyses", {"k": "5"}, "k"),
        ("analyses", {"k": 5.0}, "k"),
        ("analyses", {"sites": True}, "sites"),
        ("scenarios", {"scenario": {"name": "x"}, "k": "3"}, "k"),
        (
            "analyses",
            {"homes": {"type": "FeatureCollection", "features": [home([str(LON), LAT])]}},
            "coordinates",
        ),
    ],
)
def test_job_numbers_are_json_numbers(
    client: TestClient, planner: str, path: str, body: dict[str, object], name: str
) -> None:
    response = client.post(
        f"/v1/regions/helsinki/{path}", json=body, headers={"X-API-Key": planner}
    )
    assert_problem(response, 422, name)


def test_body_profiles_and_categories_are_enums_the_server_keeps_to(
    client: TestClient, planner: str
) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    analysis = schemas["AnalysisIn"]["properties"]
    assert analysis["profile"]["enum"] == ["standard", "elderly", "brisk", "child", "step-free"]
    assert "pharmacy" in analysis["categories"]["items"]["enum"]
    assert schemas["ScenarioJobIn"]["properties"]["profile"]["enum"] == analysis["profile"]["enum"]
    headers = {"X-API-Key": planner}
    for body in ({"profile": "jogging"}, {"categories": ["teahouse"]}):
        response = client.post("/v1/regions/helsinki/analyses", json=body, headers=headers)
        assert_problem(response, 422)
