"""Live status rules: who may set one, how long it is fresh, and its words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from livingcircle.geo.errors import InvalidParameter, UnknownCategory
from livingcircle.geo.standards import load_standard
from livingcircle.geo.status import FacilityStatus, describe, may_set_status, parse_rules

NOW = datetime(2027, 1, 12, 8, 0, tzinfo=UTC)


def test_own_and_imported_facilities_only() -> None:
    merged = json.dumps({"lc:sources": [{"source": "parking-office", "source_id": "7"}]})
    assert may_set_status("parking-office", "parking-office", "{}")
    assert may_set_status("parking-office", "osm", merged)
    assert not may_set_status("police", "osm", merged)
    assert not may_set_status("police", "parking-office", None)
    assert not may_set_status("police", "osm", "not json")


def test_freshness_per_category_from_the_standards_file() -> None:
    rules = load_standard().status
    park = FacilityStatus("p", "car_parking", NOW - timedelta(seconds=900), spaces_free=1)
    assert rules.fresh(park, NOW)
    assert not rules.fresh(park, NOW + timedelta(seconds=1))
    clinic = FacilityStatus("c", "clinic", NOW - timedelta(minutes=59), queue_minutes=20)
    assert rules.fresh(clinic, NOW)
    bank = FacilityStatus("b", "bank", NOW - timedelta(minutes=31), note="x")
    assert not rules.fresh(bank, NOW)  # the default, 1800 s


def test_bad_rules_say_what_is_allowed() -> None:
    with pytest.raises(UnknownCategory, match="default"):
        parse_rules({"stale_after_s": {"parking": 900}}, ["car_parking"])
    with pytest.raises(InvalidParameter, match="allowed"):
        parse_rules({"stale_after_s": {"car_parking": 0}}, ["car_parking"])


def test_words_in_both_languages() -> None:
    shown = {"spaces_free": 42, "spaces_total": 120, "age_s": 130, "closed": False}
    assert describe(shown, "zh") == "42 个空位 · 2 分钟前"
    assert describe(shown, "en") == "42 spaces · 2 min ago"
    assert describe({"spaces_free": 0, "age_s": 5}, "en") == "full · just now"
    closed = {"closed": True, "note": "维修", "age_s": 7200, "queue_minutes": 5}
    assert describe(closed, "zh") == "暂停开放 · 排队约 5 分钟 · 维修 · 2 小时前"
