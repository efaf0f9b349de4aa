"""Opening hours over HTTP at a fixed clock: open_at, the open-now filter and bad moments."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import LAT, LON, assert_problem

NOON = "2025-01-15T12:00"  # a Wednesday, Helsinki time
NIGHT = "2025-01-15T03:00"
EVENING = "2025-01-15T19:30"
LATE = "2025-01-15T22:30"  # near the origin some convenience stores closed at 22:00


def facilities(fc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f["properties"] for f in fc["features"] if f["properties"]["kind"] == "facility"]


def get(client: TestClient, path: str, **params: object) -> dict[str, Any]:
    response = client.get(path, params={"lat": LAT, "lon": LON, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_open_at_changes_the_statuses_of_a_catchment(client: TestClient) -> None:
    noon = facilities(get(client, "/v1/catchment", open_at=NOON))
    night = facilities(get(client, "/v1/catchment", open_at=NIGHT))
    count_noon, count_night = (Counter(p["open_status"] for p in c) for c in (noon, night))
    assert count_noon["open"] > count_night["open"] > 0  # a few are open all night
    assert count_noon["closed"] < count_night["closed"]
    for props in noon:
        assert props["open_status"] in ("open", "closed", "unknown")
        assert isinstance(props["closing_soon"], bool)
        if "closes_at" in props:  # the region's local time, with its offset
            closes = datetime.fromisoformat(props["closes_at"])
            assert props["open_status"] == "open"
            assert closes.utcoffset() is not None and closes.utcoffset().total_seconds() == 7200
            assert closes > datetime.fromisoformat(NOON + "+02:00")
        if "opens_at" in props:
            assert props["open_status"] == "closed"
        if "opening_hours" not in props:
            assert props["open_status"] == "unknown"


def test_without_offset_open_at_is_the_regions_local_time(client: TestClient) -> None:
    statuses = [
        [
            (p["id"], p["open_status"], p.get("closes_at"))
            for p in facilities(get(client, "/v1/nearest", k=3, open_at=moment, routes=False))
        ]
        for moment in ("2025-07-15T17:30", "2025-07-15T17:30+03:00", "2025-07-15T14:30Z")
    ]
    assert statuses[0] == statuses[1] == statuses[2]


def test_closing_soon_is_marked(client: TestClient) -> None:
    props = facilities(
        get(
            client,
            "/v1/nearest",
            category="pharmacy",
            k=5,
            open_at="2025-01-15T20:45",
            routes=False,
        )
    )
    soon = [p for p in props if p["closing_soon"]]  # one closes at 21:00
    assert soon and all(p["open_status"] == "open" for p in soon)
    assert all(
        datetime.fromisoformat(p["closes_at"]) <= datetime.fromisoformat("2025-01-15T21:15+02:00")
        for p in soon
    )
    assert any(p["open_status"] == "open" and not p["closing_soon"] for p in props)


@pytest.mark.parametrize("category", ["convenience", "restaurant"])
def test_open_now_returns_only_open_ones_and_still_k(client: TestClient, category: str) -> None:
    every = facilities(get(client, "/v1/nearest", category=category, k=3, open_at=LATE))
    open_ = facilities(
        get(client, "/v1/nearest", category=category, k=3, open_at=LATE, open_now="true")
    )
    assert len(open_) == 3 and {p["open_status"] for p in open_} == {"open"}
    assert [p["rank"] for p in open_] == [1, 2, 3]
    assert any(p["open_status"] != "open" for p in every)  # the filter had work to do
    assert open_[-1]["distance_m"] >= every[-1]["distance_m"]
    assert [p for p in every if p["open_status"] == "open"] == open_[
        : len([p for p in every if p["open_status"] == "open"])
    ]


def test_open_now_keeps_unknown_hours_only_when_asked(client: TestClient) -> None:
    params = {
        "category": ["pharmacy", "restaurant"],
        "k": 5,
        "open_at": EVENING,
        "open_now": "true",
        "routes": False,
    }
    strict = facilities(get(client, "/v1/nearest", **params))
    loose = facilities(get(client, "/v1/nearest", **params, include_unknown="true"))
    assert {p["open_status"] for p in strict} == {"open"}
    assert "unknown" in {p["open_status"] for p in loose} <= {"open", "unknown"}


def test_statuses_default_to_now(client: TestClient) -> None:
    props = facilities(get(client, "/v1/nearest", k=1, routes=False))
    assert props and all(p["open_status"] in ("open", "closed", "unknown") for p in props)


@pytest.mark.parametrize(
    "bad",
    ["tomorrow", "2025-01-15", "15.01.2025 17:45", "2025-01-15T25:00", "<script>alert(1)</script>"],
)
@pytest.mark.parametrize("path", ["/v1/nearest", "/v1/catchment"])
def test_bad_open_at_names_the_allowed_format(client: TestClient, path: str, bad: str) -> None:
    response = client.get(path, params={"lat": LAT, "lon": LON, "open_at": bad})
    assert_problem(response, 422, "open_at", "ISO 8601", "YYYY-MM-DDTHH:MM")


def test_oversized_open_at_is_refused(client: TestClient) -> None:
    response = client.get(
        "/v1/nearest", params={"lat": LAT, "lon": LON, "open_at": "2025-01-15T12:00" + "0" * 100}
    )
    assert_problem(response, 422, "open_at", "at most 40 characters")
