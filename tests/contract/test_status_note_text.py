"""Status notes follow the one text rule (geo.text, kind "note") on both stores.

Notes had a rule of their own (geo.status.check_note) that refused format characters such as
the zero-width joiner that names may hold, and said less about what to do.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from livingcircle.geo.errors import InvalidText
from livingcircle.geo.status import FacilityStatus
from livingcircle.geo.store import FacilityQuery, RegionData, Store

REGION = "helsinki"


@pytest.fixture
def loaded(store: Store, sample_data: RegionData) -> Any:
    store.save_region(sample_data)
    return store


def _note(loaded: Any, note: str) -> Any:
    page = loaded.facilities(REGION, FacilityQuery(categories=["car_parking"], limit=1))
    status = FacilityStatus(str(page["id"].iloc[0]), "", datetime.now(UTC), note=note)
    return loaded.set_status(REGION, status, "parking-office")


@pytest.mark.parametrize(
    ("note", "said"),
    [
        ("open\x00late", "note has a NUL character (U+0000) at position 5; remove it"),
        ("bell\x07", "note has a control character (U+0007) at position 5; remove it"),
        ("two\nlines", "note has a tab or line break (U+000A) at position 4; write it on one"),
        ("x" * 201, "note is 201 characters long; allowed: at most 200"),
    ],
)
def test_a_note_that_breaks_the_text_rule_is_refused_saying_why(
    loaded: Any, note: str, said: str
) -> None:
    with pytest.raises(InvalidText, match=re.escape(said)):
        _note(loaded, note)


def test_a_note_may_hold_what_a_name_may(loaded: Any) -> None:
    joined = "👩\u200d⚕️ nurse on duty"  # U+200D, a format character names need too
    assert _note(loaded, joined).after["note"] == joined
