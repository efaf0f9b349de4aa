"""Health, readiness, regions, categories, the standard, the schema and plain HTTP errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import CORS_ORIGIN, assert_problem


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and ready["regions"] == ["helsinki"]


def test_regions_with_extents(client: TestClient) -> None:
    response = client.get("/v1/regions")
    assert response.headers["content-type"] == "application/geo+json"
    (region,) = response.json()["features"]
    w, s, e, n = region["bbox"]
    assert 24.9 < w < e < 25.0 and 60.1 < s < n < 60.2
    assert region["geometry"]["type"] == "Polygon"
    assert region["properties"]["n_facilities"] > 500
    assert client.get("/v1/regions/helsinki").json()["id"] == "helsinki"
    assert_problem(client.get("/v1/regions/ningbo"), 404, "'ningbo' is not loaded", "helsinki")


def test_categories_in_both_languages(client: TestClient) -> None:
    categories = {c["id"]: c for c in client.get("/v1/categories").json()}
    assert categories["pharmacy"]["label_zh"] == "药店"
    assert categories["pharmacy"]["label_en"] == "Pharmacy"
    assert 5 in categories["pharmacy"]["required_by"]


def test_standard_tiers_and_profiles(client: TestClient) -> None:
    standard = client.get("/v1/standards").json()
    assert standard["name"] == "GB 50180-2018"
    assert [t["minutes"] for t in standard["tiers"]] == [5, 10, 15]
    assert {p["id"]: p["speed_m_s"] for p in standard["profiles"]}["elderly"] == 0.8
    assert all(t["label_zh"] for t in standard["tiers"])


def test_openapi_documents_limits_examples_and_problems(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    nearest = schema["paths"]["/v1/nearest"]["get"]
    params = {p["name"]: p for p in nearest["parameters"]}
    assert params["lat"]["schema"]["maximum"] == 90
    assert params["k"]["schema"]["maximum"] == 50
    assert "pharmacy" in params["category"]["schema"]["anyOf"][0]["items"]["enum"]
    assert nearest["summary"].startswith("Nearest facilities")
    ok = nearest["responses"]["200"]["content"]["application/geo+json"]
    assert ok["schema"]["$ref"].endswith("/NearestCollection")
    assert set(nearest["responses"]["422"]["content"]) == {"application/problem+json"}
    assert schema["components"]["schemas"]["NearestCollection"]["examples"]
    page = {
        p["name"]: p
        for p in schema["paths"]["/v1/regions/{region}/facilities"]["get"]["parameters"]
    }
    assert page["limit"]["schema"]["maximum"] == 500
    assert "ApiKey" in schema["components"]["securitySchemes"]


def test_unknown_path_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v2/nearest"), 404, "/docs")
    assert_problem(client.patch("/v1/nearest"), 405)


def test_cors_for_the_configured_origin_only(client: TestClient) -> None:
    allowed = client.get("/health", headers={"Origin": CORS_ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == CORS_ORIGIN
    other = client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers
    preflight = client.options(
        "/v1/regions/helsinki/facilities",
        headers={
            "Origin": CORS_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-API-Key",
        },
    )
    assert preflight.status_code == 200
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
