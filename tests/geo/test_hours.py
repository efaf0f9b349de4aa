"""Opening hours at a fixed clock: parsing, closing soon, time zones, and the open-now filter."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from livingcircle.data.osm_file import Extract
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.hours import RegionHours, parse_open_at, timezone_at
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.standards import DEFAULT_STANDARDS_FILE, Standard, load_standard
from tests.geo.test_reference_dijkstra import query_points

WEEK = "Mo-Fr 08:00-18:00; Sa 10:00-14:00"
HELSINKI = "Europe/Helsinki"
# 2025-01-15 is a Wednesday, 2025-01-18 a Saturday; Finland is UTC+2 in winter, +3 in summer
WED = datetime(2025, 1, 15)


def hours(*texts: str, minutes: int = 30) -> RegionHours:
    return RegionHours(list(texts), HELSINKI, (24.94, 60.17), minutes)


def at(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2025, month, day, hour, minute)


def test_a_week_with_saturday_hours() -> None:
    book = hours(WEEK)
    wednesday = book.state(WEEK, at(15, 10))
    assert wednesday.status == "open" and not wednesday.closing_soon
    assert wednesday.closes_at == book.local(at(15, 18)) and wednesday.opens_at is None
    assert book.state(WEEK, at(18, 11)).closes_at == book.local(at(18, 14))
    evening = book.state(WEEK, at(15, 19))
    assert (evening.status, evening.opens_at) == ("closed", book.local(at(16, 8)))
    saturday_after = book.state(WEEK, at(18, 15))  # closed until Monday
    assert (saturday_after.status, saturday_after.opens_at) == ("closed", book.local(at(20, 8)))
    assert book.state(WEEK, at(19, 12)).status == "closed"  # Sunday


def test_always_open_never_closes_soon() -> None:
    state = hours("24/7").state("24/7", at(15, 23, 59))
    assert (state.status, state.closes_at, state.closing_soon) == ("open", None, False)


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "",
        "   ",
        "Mo-Fr 25:00-26:00",
        "open daily",
        "Mo-Fr 08:00-18:00 unknown",
        '"by appointment"',
    ],
)
def test_what_cannot_be_read_is_unknown_never_an_error(text: str) -> None:
    book = hours(text)
    state = book.state(text, at(15, 10))
    assert (state.status, state.opens_at, state.closes_at) == ("unknown", None, None)
    assert book.open_mask(np.array([0]), at(15, 10)).tolist() == [False]
    assert book.open_mask(np.array([0]), at(15, 10), include_unknown=True).tolist() == [True]


def test_closing_soon_within_the_minutes_of_the_standards_file() -> None:
    assert hours(WEEK).state(WEEK, at(15, 17, 45)).closing_soon
    assert not hours(WEEK).state(WEEK, at(15, 17, 15)).closing_soon
    assert hours(WEEK, minutes=60).state(WEEK, at(15, 17, 15)).closing_soon
    assert load_standard().closing_soon_minutes == 30  # [display] of the bundled file


def test_a_moment_without_offset_is_local_time_and_offsets_are_converted() -> None:
    book = hours("Mo-Fr 08:00-18:00")
    text = "Mo-Fr 08:00-18:00"
    # 16:30 UTC is 18:30 in Helsinki in winter (closed) but 19:30 in summer (closed);
    # 15:30 UTC is 17:30 in winter (open) and 18:30 in summer (closed)
    assert book.state(text, datetime(2025, 1, 15, 15, 30, tzinfo=UTC)).status == "open"
    assert book.state(text, datetime(2025, 7, 15, 15, 30, tzinfo=UTC)).status == "closed"
    assert book.state(text, datetime(2025, 1, 15, 16, 30, tzinfo=UTC)).status == "closed"
    summer = book.state(text, datetime(2025, 7, 15, 14, 30, tzinfo=UTC))  # 17:30 local
    assert summer.status == "open" and summer.closing_soon
    assert (
        summer.closes_at is not None and summer.closes_at.isoformat() == "2025-07-15T18:00:00+03:00"
    )
    winter = book.state(text, at(15, 17, 30))  # naive: Helsinki's clock
    assert (
        winter.closes_at is not None and winter.closes_at.isoformat() == "2025-01-15T18:00:00+02:00"
    )
    # 03:30 on 30 March 2025 never happened in Helsinki (clocks went 03:00 -> 04:00)
    assert book.local(datetime(2025, 3, 30, 3, 30)).utcoffset() is not None
    assert book.state("24/7", datetime(2025, 3, 30, 3, 30)).status == "open"


def test_public_holidays_come_from_the_region_centre() -> None:
    text = "Mo-Su 09:00-17:00; PH off"
    book = hours(text)  # 6 December is Finland's independence day
    assert book.state(text, at(6, 12, month=12)).status == "closed"
    assert book.state(text, at(5, 12, month=12)).status == "open"


def test_states_of_rows_share_one_evaluation_per_string() -> None:
    book = hours(WEEK, "24/7", WEEK, "")
    states = book.states([0, 1, 2, 3], at(15, 19))
    assert [s.status for s in states] == ["closed", "open", "closed", "unknown"]
    assert book.open_mask(np.arange(4), at(15, 19)).tolist() == [False, True, False, False]


def test_time_zone_of_a_point_offline() -> None:
    assert timezone_at(24.9414, 60.1710) == HELSINKI
    assert timezone_at(121.55, 29.87) == "Asia/Shanghai"  # Ningbo


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("2025-01-15T17:45", None),
        ("2025-01-15T17:45:30", None),
        ("2025-01-15 17:45", None),
        ("2025-01-15T17:45+02:00", 7200),
        ("2025-01-15T15:45Z", 0),
    ],
)
def test_open_at_is_iso_8601(text: str, offset: int | None) -> None:
    when = parse_open_at(text)
    got = when.utcoffset()
    assert (None if got is None else got.total_seconds()) == offset


@pytest.mark.parametrize(
    "text",
    [
        "tomorrow",
        "2025-01-15",
        "15.01.2025 17:45",
        "2025-13-01T10:00",
        "",
        "2025-01-15T17:45+25:00",
    ],
)
def test_bad_open_at_names_the_format(text: str) -> None:
    with pytest.raises(InvalidParameter, match=r"ISO 8601.*YYYY-MM-DDTHH:MM"):
        parse_open_at(text)


def test_standards_file_names_time_zones_and_minutes(tmp_path: Path) -> None:
    base = DEFAULT_STANDARDS_FILE.read_text(encoding="utf-8")
    good = tmp_path / "good.toml"
    good.write_text(
        base.replace("closing_soon_minutes = 30", "closing_soon_minutes = 45")
        + '\n[timezones]\nhaishu = "Asia/Shanghai"\n',
        encoding="utf-8",
    )
    standard = load_standard(good)
    assert (standard.closing_soon_minutes, dict(standard.timezones)) == (
        45,
        {"haishu": "Asia/Shanghai"},
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(base + '\n[timezones]\nhaishu = "Asia/Ningbo"\n', encoding="utf-8")
    with pytest.raises(InvalidParameter, match=r"Asia/Ningbo.*IANA"):
        load_standard(bad)


# -- the engine -------------------------------------------------------------------------------

EVENING = datetime(2025, 1, 15, 19, 30)  # a Wednesday evening: many shops closed


def test_region_time_zone_from_centre_or_standards_file(sample_region: Region) -> None:
    assert sample_region.timezone == HELSINKI
    assert sample_region.hours.zone.key == HELSINKI


def _region_of(sample_extract: Extract, standard: Standard, keep: gpd.GeoDataFrame) -> Region:
    net = StreetNetwork.from_frames(sample_extract.nodes, sample_extract.edges)
    return Region("helsinki", net, keep, standard)


@pytest.mark.parametrize("include_unknown", [False, True], ids=["open", "open-or-unknown"])
def test_open_now_equals_nearest_among_the_open_ones_only(
    sample_region: Region, sample_extract: Extract, standard: Standard, include_unknown: bool
) -> None:
    """k open facilities: the same as asking a region that only has the open ones."""
    fac = sample_region.facilities
    mask = sample_region.hours.open_mask(np.arange(len(fac.category)), EVENING, include_unknown)
    keep_ids = {fac.text["id"][i] for i in np.flatnonzero(mask)}
    frame = sample_extract.facilities
    only_open = _region_of(sample_extract, standard, frame[frame["id"].isin(keep_ids)])
    compared = 0
    for lon, lat in query_points(sample_region, 12, seed=3):
        got = sample_region.nearest(
            lon,
            lat,
            k=3,
            open_at=EVENING,
            open_now=True,
            include_unknown=include_unknown,
            routes=False,
        )
        want = only_open.nearest(lon, lat, k=3, open_at=EVENING, routes=False)
        for cat, hits in want.by_category.items():
            assert [(h.id, h.distance_m) for h in got.by_category[cat]] == [
                (h.id, h.distance_m) for h in hits
            ], cat
            compared += len(hits)
            allowed = {"open", "unknown"} if include_unknown else {"open"}
            assert {h.open_status for h in got.by_category[cat]} <= allowed
    assert compared > 40


def test_open_now_with_prepared_fields_still_finds_k(
    sample_extract: Extract, standard: Standard
) -> None:
    # the distance fields know the nearest of any status; open ones farther are still found
    region = _region_of(sample_extract, standard, sample_extract.facilities).prepare_nearest()
    fac = region.facilities
    is_open = region.hours.open_mask(np.arange(len(fac.category)), EVENING)
    cats = ["pharmacy", "supermarket", "convenience"]
    plain = region.nearest(24.9414, 60.1710, cats, k=3, open_at=EVENING, routes=False)
    open_ = region.nearest(
        24.9414, 60.1710, cats, k=3, open_at=EVENING, open_now=True, routes=False
    )
    for cat in cats:
        n_open = int((is_open & (fac.category == standard.category_index(cat))).sum())
        assert len(open_.by_category[cat]) == min(3, n_open) > 1, cat
        assert all(h.open_status == "open" for h in open_.by_category[cat])
        assert open_.by_category[cat][-1].distance_m >= plain.by_category[cat][-1].distance_m


def test_catchment_statuses_follow_open_at(sample_region: Region) -> None:
    noon = sample_region.catchment(24.9414, 60.1710, open_at=datetime(2025, 1, 15, 12))
    night = sample_region.catchment(24.9414, 60.1710, open_at=datetime(2025, 1, 15, 3))
    assert noon.facilities.open_status.count("open") > night.facilities.open_status.count("open")
    props = noon.facilities.features()
    known = [p["properties"] for p in props if p["properties"]["open_status"] == "open"]
    assert known and all(
        "closes_at" in p or p["opening_hours"] == "24/7" for p in known if "opening_hours" in p
    )
    assert all(
        p["properties"]["open_status"] == "unknown"
        for p in props
        if "opening_hours" not in p["properties"]
    )


def test_only_mask_of_the_wrong_shape_is_refused(sample_region: Region) -> None:
    with pytest.raises(InvalidParameter, match="one boolean per facility"):
        sample_region.nearest(24.9414, 60.1710, only=np.ones(3, dtype=bool))
