"""Facilities by bounding box, category and name, paged; one by id."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import assert_problem

URL = "/v1/regions/helsinki/facilities"
CENTRE = "24.935,60.164,24.954,60.180"


def test_bbox_and_category(client: TestClient) -> None:
    response = client.get(URL, params={"bbox": CENTRE, "category": "pharmacy", "limit": 500})
    assert response.status_code == 200, response.text
    fc = response.json()
    assert fc["features"] and {f["properties"]["category"] for f in fc["features"]} == {"pharmacy"}
    ids = [f["id"] for f in fc["features"]]
    assert ids == sorted(ids)
    for f in fc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert 24.935 <= lon <= 24.954 and 60.164 <= lat <= 60.180
        assert f["properties"]["category_zh"] == "药店"
        assert isinstance(f["properties"]["tags"], dict)


def test_pages_follow_each_other(client: TestClient) -> None:
    first = client.get(URL, params={"limit": 7}).json()
    assert first["properties"]["returned"] == 7 and first["properties"]["next_offset"] == 7
    second = client.get(URL, params={"limit": 7, "offset": 7}).json()
    both = client.get(URL, params={"limit": 14}).json()
    assert [f["id"] for f in first["features"] + second["features"]] == [
        f["id"] for f in both["features"]
    ]
    last = client.get(URL, params={"limit": 500, "offset": 700}).json()
    assert last["properties"]["next_offset"] is None


def test_name_search(client: TestClient) -> None:
    response = client.get(URL, params={"q": "APTEEKKI", "limit": 50})
    assert response.status_code == 200, response.text
    names = [f["properties"]["name"] for f in response.json()["features"]]
    assert names and all("apteekki" in n.lower() for n in names)
    paged = client.get(URL, params={"q": "apteekki", "limit": 2, "offset": 1}).json()
    assert [f["properties"]["name"] for f in paged["features"]] == names[1:3]
    assert client.get(URL, params={"q": "no such name at all"}).json()["features"] == []


def test_one_facility_by_id(client: TestClient) -> None:
    response = client.get(f"{URL}/osm:node/25502063")
    assert response.status_code == 200, response.text
    feature = response.json()
    assert feature["id"] == "osm:node/25502063" and feature["properties"]["name"] == "Hakaniemi"
    assert feature["geometry"]["type"] == "Point"
    assert_problem(client.get(f"{URL}/osm:node/1"), 404, "'osm:node/1'")


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"bbox": "24.0,60.0,25.0,61.0"}, 422, ["km²", "at most 25"]),
        ({"bbox": "24.96,60.16,24.93,60.18"}, 422, ["west < east"]),
        ({"bbox": "1,2,3"}, 422, ["bbox"]),
        ({"bbox": "24.93,60.16,24.96,95"}, 422, ["-90 to 90"]),
        ({"limit": 501}, 422, ["limit", "500"]),
        ({"limit": 0}, 422, ["limit"]),
        ({"offset": -1}, 422, ["offset"]),
        ({"category": "zoo"}, 422, ["'zoo'", "pharmacy"]),
        ({"q": "x" * 101}, 422, ["q", "100"]),
    ],
)
def test_refusals(
    client: TestClient, params: dict[str, object], status: int, words: list[str]
) -> None:
    assert_problem(client.get(URL, params=params), status, *words)


def test_unknown_region(client: TestClient) -> None:
    assert_problem(client.get("/v1/regions/ningbo/facilities"), 404, "'ningbo'", "helsinki")
