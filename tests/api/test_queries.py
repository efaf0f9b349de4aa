"""Nearest and catchment over HTTP: the engine's answers as GeoJSON, and every limit enforced."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from livingcircle.api.app import create_app
from livingcircle.api.settings import Settings
from livingcircle.geo.engine import Region
from tests.api.conftest import LAT, LON, assert_problem


def test_nearest_matches_the_engine(client: TestClient, sample_region: Region) -> None:
    response = client.get(
        "/v1/nearest", params={"lat": LAT, "lon": LON, "category": ["pharmacy", "clinic"], "k": 2}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    fc = response.json()
    assert fc["type"] == "FeatureCollection" and fc["properties"]["k"] == 2
    got = [
        (f["properties"]["id"], f["properties"]["distance_m"])
        for f in fc["features"]
        if f["properties"]["kind"] == "facility"
    ]
    expected = sample_region.nearest(LON, LAT, ["pharmacy", "clinic"], k=2, routes=False)
    assert got == [
        (h.id, pytest.approx(h.distance_m, abs=1e-3))
        for hits in expected.by_category.values()
        for h in hits
    ]
    routes = [f for f in fc["features"] if f["properties"]["kind"] == "route"]
    assert len(routes) == 4 and all(r["geometry"]["type"] == "LineString" for r in routes)


def test_nearest_profile_max_minutes_and_no_routes(client: TestClient) -> None:
    fc = client.get(
        "/v1/nearest",
        params={
            "lat": LAT,
            "lon": LON,
            "category": "hospital",
            "profile": "elderly",
            "max_minutes": 1,
            "routes": False,
        },
    ).json()
    assert fc["properties"]["speed_m_s"] == 0.8
    assert fc["properties"]["not_found"] == ["hospital"]
    assert not [f for f in fc["features"] if f["properties"]["kind"] == "route"]
    fast = client.get("/v1/nearest", params={"lat": LAT, "lon": LON, "speed": 2.0}).json()
    assert fast["properties"]["speed_m_s"] == 2.0


def test_catchment_rings_facilities_and_tiers(client: TestClient) -> None:
    response = client.get("/v1/catchment", params={"lat": LAT, "lon": LON, "minutes": [5, 10]})
    assert response.status_code == 200, response.text
    fc = response.json()
    rings = [f for f in fc["features"] if f["properties"]["kind"] == "ring"]
    assert [r["properties"]["minutes"] for r in rings] == [10, 5]
    assert rings[0]["properties"]["area_m2"] > rings[1]["properties"]["area_m2"] > 0
    facilities = [f for f in fc["features"] if f["properties"]["kind"] == "facility"]
    assert facilities and all(f["properties"]["ring_minutes"] in (5, 10) for f in facilities)
    tiers = fc["properties"]["tiers"]
    assert [t["minutes"] for t in tiers] == [5, 10, 15]
    for tier in tiers:
        ids = {r["id"] for r in tier["requirements"]}
        assert set(tier["present"]) | set(tier["missing"]) == ids
        assert tier["label_zh"]


def test_catchment_default_rings(client: TestClient) -> None:
    fc = client.get("/v1/catchment", params={"lat": LAT, "lon": LON}).json()
    assert sorted(
        f["properties"]["minutes"] for f in fc["features"] if f["properties"]["kind"] == "ring"
    ) == [5, 10, 15]


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"lat": 91, "lon": LON}, 422, ["lat", "90"]),
        ({"lat": LAT, "lon": -181}, 422, ["lon", "-180"]),
        ({"lat": "north", "lon": LON}, 422, ["lat", "number"]),
        ({"lon": LON}, 422, ["lat", "required"]),
        ({"lat": LAT, "lon": LON, "k": 51}, 422, ["k", "50"]),
        ({"lat": LAT, "lon": LON, "k": 0}, 422, ["k", "1"]),
        ({"lat": LAT, "lon": LON, "max_minutes": 61}, 422, ["max_minutes", "60"]),
        ({"lat": LAT, "lon": LON, "speed": 9}, 422, ["speed", "3"]),
        ({"lat": LAT, "lon": LON, "category": "zoo"}, 422, ["'zoo'", "pharmacy"]),
        ({"lat": LAT, "lon": LON, "profile": "runner"}, 422, ["'runner'", "elderly"]),
        ({"lat": LAT, "lon": LON, "region": "ningbo"}, 404, ["'ningbo'", "helsinki"]),
        ({"lat": LAT, "lon": LON, "region": "Bad Name"}, 422, ["region"]),
        ({"lat": 31.0, "lon": 121.0}, 404, ["outside every loaded region", "helsinki"]),
    ],
)
def test_nearest_refusals_say_what_is_allowed(
    client: TestClient, params: dict[str, object], status: int, words: list[str]
) -> None:
    body = assert_problem(client.get("/v1/nearest", params=params), status, *words)
    if status == 422 and "errors" in body:
        assert body["errors"][0]["location"] == "query"  # type: ignore[index]


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        ([61], ["minutes", "60"]),
        ([0], ["minutes", "1"]),
        ([5, 10, 15, 20, 25, 30, 35], ["minutes", "6"]),
    ],
)
def test_catchment_refusals(client: TestClient, minutes: list[int], words: list[str]) -> None:
    assert_problem(
        client.get("/v1/catchment", params={"lat": LAT, "lon": LON, "minutes": minutes}),
        422,
        *words,
    )


def test_unexpected_errors_hide_the_trace(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    atlas = client.app.state.atlas  # type: ignore[attr-defined]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals at /srv/livingcircle")

    monkeypatch.setattr(atlas, "nearest", broken)
    body = assert_problem(
        client.get("/v1/nearest", params={"lat": LAT, "lon": LON}), 500, "reference"
    )
    assert "secret" not in str(body) and "RuntimeError" not in str(body)


class RecordingStore:
    """A real store that notes the thread of each region read."""

    def __init__(self, store: Any) -> None:
        self.store, self.threads = store, set[int]()

    def load_region(self, name: str) -> Any:
        self.threads.add(threading.get_ident())
        return self.store.load_region(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_region_not_built_is_built_off_the_event_loop(file_settings: Settings) -> None:
    """Without the start-up build, the first query reads and builds its region in the thread
    pool: the event loop keeps answering meanwhile."""
    api = file_settings.api.model_copy(update={"warm_regions": False})
    with TestClient(create_app(replace(file_settings, api=api))) as client:
        atlas = client.app.state.atlas  # type: ignore[attr-defined]
        assert atlas.in_memory() == []
        atlas.store = recording = RecordingStore(atlas.store)
        response = client.get("/v1/nearest", params={"lat": LAT, "lon": LON})
        assert response.status_code == 200, response.text
        assert client.get("/v1/catchment", params={"lat": LAT, "lon": LON}).status_code == 200
        loop = client.portal.call(threading.get_ident)  # type: ignore[union-attr]
        assert atlas.in_memory() == ["helsinki"]
        assert recording.threads and loop not in recording.threads


def test_nearest_at_the_step_free_profile_is_the_engines(
    client: TestClient, sample_region: Region
) -> None:
    params = {"lat": LAT, "lon": LON, "category": "clinic", "profile": "step-free"}
    fc = client.get("/v1/nearest", params=params).json()
    got = [
        f["properties"]["time_s"] for f in fc["features"] if f["properties"]["kind"] == "facility"
    ]
    want = sample_region.nearest(LON, LAT, ["clinic"], profile="step-free", routes=False)
    assert got == [pytest.approx(want.by_category["clinic"][0].time_s, abs=1e-3)]
    plain = sample_region.nearest(LON, LAT, ["clinic"], routes=False).by_category["clinic"][0]
    assert got[0] > plain.time_s and fc["properties"]["speed_m_s"] == 0.8


def test_a_profile_view_is_built_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first query at a profile with street rules builds the region's view at it (seconds
    on a city) in the thread pool, never on the event loop; later queries reuse it."""
    from livingcircle.geo import profile_views  # noqa: PLC0415

    threads: list[int] = []
    real = profile_views.profile_network

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(profile_views, "profile_network", recording)
    engine = client.app.state.atlas.locate(LON, LAT, None)  # type: ignore[attr-defined]
    engine.walking.views.pop("child", None)
    params = {"lat": LAT, "lon": LON, "profile": "child"}
    assert client.get("/v1/catchment", params=params).status_code == 200
    assert client.get("/v1/nearest", params=params).status_code == 200
    loop = client.portal.call(threading.get_ident)  # type: ignore[union-attr]
    assert len(threads) == 1 and loop not in threads


def test_answers_name_their_profile_and_its_notes(client: TestClient) -> None:
    params = {"lat": LAT, "lon": LON, "category": "clinic", "profile": "step-free"}
    near = client.get("/v1/nearest", params=params).json()["properties"]
    assert near["profile"] == "step-free"
    assert "no elevation model was loaded: slopes come from incline tags only" in near["notes"]
    ring = client.get("/v1/catchment", params={**params, "minutes": 5}).json()["properties"]
    assert ring["profile"] == "step-free" and ring["notes"] == near["notes"]
    plain = client.get("/v1/nearest", params={"lat": LAT, "lon": LON}).json()["properties"]
    assert plain["profile"] == "standard" and plain["notes"] == []


def test_a_speed_override_at_a_profile_keeps_its_added_seconds(
    client: TestClient, sample_region: Region
) -> None:
    params = {"lat": LAT, "lon": LON, "category": "clinic", "profile": "elderly", "speed": 0.5}
    fc = client.get("/v1/nearest", params=params).json()
    got = [f["properties"] for f in fc["features"] if f["properties"]["kind"] == "facility"]
    want = sample_region.nearest(
        LON, LAT, ["clinic"], profile="elderly", speed_m_s=0.5, routes=False
    ).by_category["clinic"][0]
    assert got[0]["time_s"] == pytest.approx(want.time_s, abs=1e-3)
    assert fc["properties"]["speed_m_s"] == 0.5 and fc["properties"]["profile"] == "elderly"
