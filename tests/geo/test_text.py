"""The one rule of stored text (geo.text): what is refused, where, and how a load cleans it."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

from livingcircle.geo.errors import InvalidParameter, InvalidText
from livingcircle.geo.store import FacilityRecord
from livingcircle.geo.text import (
    MAX_CHARS,
    check_facilities,
    check_record,
    check_tags,
    check_text,
    clean_facilities,
    clean_text,
)


@pytest.mark.parametrize(
    ("value", "kind", "words"),
    [
        ("Apte\x00kki", "name", ["name", "NUL character (U+0000)", "position 5", "remove it"]),
        ("a\ud800", "name", ["lone surrogate (U+D800", "position 2"]),
        ("a\udfffb", "tag_value", ["lone surrogate (U+DFFF", "position 2"]),
        ("x\x01", "tag_value", ["control character (U+0001)", "position 2"]),
        ("x\x7f", "id", ["control character (U+007F)"]),
        ("x\x85", "name", ["U+0085"]),
        ("two\nlines", "name", ["tab or line break (U+000A)", "position 4", "one line"]),
        ("tab\there", "tag_key", ["U+0009"]),
        ("para\u2029", "note", ["U+2029"]),
        ("x" * 201, "name", ["201 characters long", "at most 200"]),
        ("x" * 256, "tag_value", ["at most 255"]),
        ("a" * 64, "owner", ["at most 63"]),
    ],
)
def test_refused_text_is_named_with_its_position(value: str, kind: str, words: list[str]) -> None:
    with pytest.raises(InvalidText) as caught:
        check_text(value, kind, "name")
    message = str(caught.value)
    assert all(w in message for w in words), message
    assert isinstance(caught.value, InvalidParameter)  # the API's 422
    assert "\x00" not in message and "\ud800" not in message


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("社区卫生服务站 · Terveysasema", "name"),
        ("زهرا\u200cی", "name"),  # the zero-width non-joiner Persian needs (Cf)
        ("👩\u200d⚕️", "name"),  # an emoji sequence joined by U+200D
        ("line one\r\nline two\tend", "tag_value"),
        ("x" * 200, "name"),
        ("x" * 255, "tag_key"),
        ("", "id"),
    ],
)
def test_allowed_text_passes(value: str, kind: str) -> None:
    assert check_text(value, kind, "f") == value


def test_tags_name_the_key_and_nested_provenance() -> None:
    with pytest.raises(InvalidText, match=r"tags key 'ph\\x00one' has a NUL"):
        check_tags({"ph\x00one": "1"})
    with pytest.raises(InvalidText, match=r"tags value of 'phone' has a control character"):
        check_tags({"phone": "09\x1b"})
    with pytest.raises(InvalidText, match=r"'lc:sources'\[0\].name has a lone surrogate"):
        check_tags({"lc:sources": [{"name": "a\ud83d"}]})
    long_outline = "POLYGON ((" + ", ".join(["24.9 60.1"] * 100) + "))"
    assert check_tags({"lc:sources": [{"wkt": long_outline, "address": "a\nb"}]})


def test_a_record_is_checked_whole() -> None:
    record = FacilityRecord(
        "health:c-1", "health", "c-1", "clinic", shapely.Point(24.9, 60.1), name="ok"
    )
    assert check_record(record) is record
    bad = FacilityRecord(
        "health:c-1", "health", "c-1", "clinic", shapely.Point(24.9, 60.1), tags='{"k": "\\u0000"}'
    )
    with pytest.raises(InvalidText, match=r"facility 'health:c-1': tags value of 'k' has a NUL"):
        check_record(bad)
    with pytest.raises(InvalidText, match="not JSON"):
        check_record(FacilityRecord("a:b", "a", "b", "clinic", shapely.Point(0, 0), tags="{"))


def frame(**columns: list[str]) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    base = {
        "id": [f"osm:node/{i}" for i in range(n)],
        "source": ["osm"] * n,
        "source_id": [f"node/{i}" for i in range(n)],
        "name": ["Apteekki"] * n,
        "category": ["pharmacy"] * n,
        "tags": ["{}"] * n,
    } | columns
    return gpd.GeoDataFrame(base, geometry=[shapely.Point(24.9, 60.1)] * n, crs=4326)


def test_a_frame_names_the_first_bad_facility() -> None:
    check_facilities(frame(name=["a", "b", "c"]), "region 'x'")
    with pytest.raises(InvalidText, match=r"region 'x': facility 'osm:node/1': name has a NUL"):
        check_facilities(frame(name=["a", "b\x00", "c\x01"]), "region 'x'")
    tags = [json.dumps({"k": "v"}), json.dumps({"k": "v" * 300})]
    with pytest.raises(InvalidText, match=r"facility 'osm:node/1': tags value of 'k' is 300"):
        check_facilities(frame(tags=tags), "region 'x'")
    quoted = [json.dumps({"k": 'say "hi"' * 40})]  # 320 characters, escaped quotes split runs
    with pytest.raises(InvalidText, match=r"tags value of 'k' is 320 characters"):
        check_facilities(frame(tags=quoted), "region 'x'")
    escaped = [json.dumps({"a\\u0000b": "literal backslash, not a NUL"})]
    check_facilities(frame(tags=escaped), "region 'x'")


def test_a_load_cleans_what_it_cannot_refuse() -> None:
    tags = [json.dumps({"name": "Apte\x01ekki", "k" * 300: "x", "ok": "a\r\nb"})]
    raw = frame(name=["Apte\x01ekki\tOy"], tags=tags, opening_hours=["Mo\x00-Fr"])
    cleaned, report = clean_facilities(raw)
    check_facilities(cleaned, "cleaned")
    row = cleaned.iloc[0]
    assert (row["name"], row["opening_hours"]) == ("Apteekki Oy", "Mo-Fr")
    assert json.loads(row["tags"]) == {"name": "Apteekki", "ok": "a\r\nb"}
    fields = sorted(c.field for c in report)
    assert fields == ["name", "opening_hours", "tags", "tags"]
    assert report[0].id == "osm:node/0"
    assert clean_text("x" * 300, "name") == "x" * MAX_CHARS["name"]  # type: ignore[operator]
    assert raw.iloc[0]["name"] == "Apte\x01ekki\tOy"  # the input is left as it was
