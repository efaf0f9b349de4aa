"""Live statuses and kiosks: the same answers, checks and audit on both stores."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from livingcircle.geo.errors import (
    FacilityNotFound,
    InvalidParameter,
    RegionNotFound,
    UnknownKiosk,
)
from livingcircle.geo.kiosks import Kiosk
from livingcircle.geo.status import FacilityStatus
from livingcircle.geo.store import FacilityQuery, RegionData, Store
from tests.attacks import ATTACKS

REGION = "helsinki"
NOW = datetime.now(UTC)


@pytest.fixture
def loaded(store: Store, sample_data: RegionData) -> Any:
    """Each store with the Helsinki sample."""
    store.save_region(sample_data)
    assert isinstance(store, Store)
    return store


def car_park(loaded: Any) -> str:
    page = loaded.facilities(REGION, FacilityQuery(categories=["car_parking"], limit=1))
    return str(page["id"].iloc[0])


def spaces(facility_id: str, free: int = 42, **fields: Any) -> FacilityStatus:
    return FacilityStatus(
        facility_id, "", datetime.now(UTC), spaces_free=free, spaces_total=120, **fields
    )


def test_status_round_trip_and_audit(loaded: Any) -> None:
    fid = car_park(loaded)
    first = loaded.set_status(REGION, spaces(fid, 42), "parking-office")
    assert first.action == "status" and first.before is None
    assert first.after["spaces_free"] == 42 and first.after["category"] == "car_parking"
    until = (NOW + timedelta(hours=2)).replace(microsecond=0)
    second = loaded.set_status(
        REGION, spaces(fid, 0, closed_until=until, note="维修 · repairs"), "parking-office"
    )
    assert second.before == first.after
    [kept] = loaded.statuses(REGION)
    assert (kept.facility_id, kept.category, kept.spaces_free, kept.actor) == (
        fid,
        "car_parking",
        0,
        "parking-office",
    )
    assert kept.closed_until == until and kept.note == "维修 · repairs"
    assert kept.updated_at.tzinfo is not None  # the time it was set, not the module's import
    assert abs(kept.updated_at - datetime.now(UTC)) < timedelta(minutes=5)
    actions = [(e.action, e.facility_id, e.actor) for e in loaded.audit(REGION)[:2]]
    assert actions == [("status", fid, "parking-office")] * 2


def test_status_set_in_the_past_is_kept_with_its_time(loaded: Any) -> None:
    fid = car_park(loaded)
    then = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    loaded.set_status(REGION, replace(spaces(fid), updated_at=then), "parking-office")
    assert loaded.statuses(REGION)[0].updated_at == then


@pytest.mark.parametrize(
    "bad",
    [
        {"spaces_free": -1},
        {"spaces_free": 100_001},
        {"spaces_total": 0},
        {"spaces_free": 10, "spaces_total": 5},
        {"queue_minutes": 1441},
        {"note": "x" * 201},
        {"note": "a\nb"},
        {"note": "\x00"},
        {"spaces_free": True},
        {"spaces_free": 1.5},
        {"closed_until": datetime(2026, 1, 1)},  # no time zone
        {"closed_until": NOW + timedelta(days=400)},
        {"updated_at": NOW + timedelta(hours=1)},
        {"spaces_free": None, "spaces_total": None},  # nothing set
    ],
)
def test_bad_status_is_refused_and_leaves_nothing(loaded: Any, bad: dict[str, Any]) -> None:
    fid = car_park(loaded)
    before = loaded.audit(REGION)
    with pytest.raises(InvalidParameter) as caught:
        loaded.set_status(REGION, replace(spaces(fid), **bad), "parking-office")
    assert "allowed" in str(caught.value) or "give one" in str(caught.value)
    assert loaded.statuses(REGION) == [] and loaded.audit(REGION) == before


def test_status_of_missing_facility_or_region(loaded: Any) -> None:
    for missing in ("osm:node/1", *ATTACKS):
        with pytest.raises(FacilityNotFound):
            loaded.set_status(REGION, spaces(missing), "parking-office")
    with pytest.raises(RegionNotFound, match=REGION):
        loaded.set_status("nowhere", spaces(car_park(loaded)), "parking-office")
    with pytest.raises(RegionNotFound, match=REGION):
        loaded.statuses("nowhere")
    assert loaded.statuses(REGION) == []


def test_statuses_go_with_their_region(loaded: Any, sample_data: RegionData) -> None:
    loaded.set_status(REGION, spaces(car_park(loaded)), "parking-office")
    loaded.save_region(sample_data)  # a reload keeps them
    assert len(loaded.statuses(REGION)) == 1
    loaded.delete_region(REGION)
    loaded.save_region(sample_data)
    assert loaded.statuses(REGION) == []


def kiosk(kiosk_id: str = "haishu-1", **fields: Any) -> Kiosk:
    values: dict[str, Any] = {
        "id": kiosk_id,
        "name_zh": "社区服务中心",
        "name_en": "Community centre",
        "region": REGION,
        "lat": 60.1712,
        "lon": 24.9414,
        "language": "zh",
        "categories": ("pharmacy", "car_parking"),
        "refresh_s": 120,
    } | fields
    return Kiosk(**values)


def test_kiosk_round_trip(loaded: Any) -> None:
    assert loaded.kiosks() == []
    loaded.save_kiosk(kiosk("b"))
    loaded.save_kiosk(kiosk("a", language="en"))
    loaded.save_kiosk(kiosk("b", name_en="Renamed"))
    assert loaded.kiosks() == [kiosk("a", language="en"), kiosk("b", name_en="Renamed")]
    loaded.remove_kiosk("a")
    assert [k.id for k in loaded.kiosks()] == ["b"]
    with pytest.raises(UnknownKiosk, match=r"'a'.*b"):
        loaded.remove_kiosk("a")


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "bad id"},
        {"id": "x" * 65},
        {"language": "fr"},
        {"refresh_s": 1},
        {"lat": 91.0},
        {"lon": float("nan")},
        {"categories": ()},
        {"name_zh": " "},
        {"name_en": "a\x00b"},
        *({"id": a} for a in ATTACKS if a != "_"),
    ],
)
def test_bad_kiosk_is_refused(loaded: Any, bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameter, match="allowed"):
        loaded.save_kiosk(kiosk(**bad))
    assert loaded.kiosks() == []


def test_kiosk_needs_its_region(loaded: Any) -> None:
    with pytest.raises(RegionNotFound, match=REGION):
        loaded.save_kiosk(kiosk(region="nowhere"))
