"""Live status of a facility, set by the department that keeps it: spaces, closures, queues.

A car-park office reports free spaces, a clinic its queue, any department a temporary
closure with a note. A status is kept with the time it was reported (UTC) and shown only
while it is fresh: how long depends on the facility's category (``[status.stale_after_s]`` in
the standards file). Both stores check a status with :func:`check_status` before writing it.

Who may set it: a department's key may set the status of a facility that is its own, that
is, whose record it created (``source`` is the key's owner) or that its imported list
describes (its record is in the facility's ``lc:sources``): a car-park office whose list was
merged into OpenStreetMap's car parks still reports on them. Nobody else's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from livingcircle.geo.errors import InvalidParameter, InvalidText, UnknownCategory
from livingcircle.geo.text import text_problem

if TYPE_CHECKING:  # results holds the standard's requirements, and the standard these rules
    from livingcircle.geo.results import NearestResult

#: The fields a status may carry.
FIELDS = ("spaces_free", "spaces_total", "closed_until", "note", "queue_minutes")
MAX_SPACES = 100_000
MAX_QUEUE_MINUTES = 24 * 60
#: A closure may be announced up to this far ahead (and ended up to this far back).
MAX_CLOSED_DAYS = 366
#: A report may come from a clock this far ahead of the server's.
CLOCK_SKEW_S = 60.0
DEFAULT_STALE_AFTER_S = 1800.0
_SOURCES_KEY = "lc:sources"


@dataclass(frozen=True)
class FacilityStatus:
    """One facility's live status, as its department reported it at ``updated_at`` (UTC).

    ``category`` is the facility's category when the status was set (its freshness depends
    on it); ``actor`` is the department that set it.
    """

    facility_id: str
    category: str
    updated_at: datetime
    actor: str = ""
    spaces_free: int | None = None
    spaces_total: int | None = None
    closed_until: datetime | None = None
    note: str = ""
    queue_minutes: int | None = None

    def values(self) -> dict[str, Any]:
        """The reported fields that are set, as JSON values (times in ISO 8601)."""
        out: dict[str, Any] = {}
        for name in FIELDS:
            value = getattr(self, name)
            if value is None or value == "":
                continue
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    def to_json(self) -> dict[str, Any]:
        """Everything kept, as JSON (what the audit log records)."""
        return {
            "facility_id": self.facility_id,
            "category": self.category,
            "updated_at": self.updated_at.isoformat(),
            "actor": self.actor,
            **self.values(),
        }

    @property
    def full(self) -> bool:
        """Reported without a free space."""
        return self.spaces_free == 0


def status_from_json(raw: Mapping[str, Any]) -> FacilityStatus:
    """A status back from :meth:`FacilityStatus.to_json`."""
    closed = raw.get("closed_until")
    return FacilityStatus(
        facility_id=str(raw["facility_id"]),
        category=str(raw["category"]),
        updated_at=datetime.fromisoformat(str(raw["updated_at"])),
        actor=str(raw.get("actor", "")),
        spaces_free=_int_or_none(raw.get("spaces_free")),
        spaces_total=_int_or_none(raw.get("spaces_total")),
        closed_until=datetime.fromisoformat(str(closed)) if closed else None,
        note=str(raw.get("note") or ""),
        queue_minutes=_int_or_none(raw.get("queue_minutes")),
    )


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(str(value))


# -- checks -----------------------------------------------------------------------------------


def check_status(status: FacilityStatus, now: datetime) -> FacilityStatus:
    """``status`` if every field is in range, else an error saying what is allowed.

    Raises
    ------
    InvalidParameter
        No field is set; a number is out of range or not a whole number; free spaces exceed
        the total; a time has no time zone or is too far off; the note is too long or holds
        control characters.
    """
    if not status.values():
        raise InvalidParameter(
            f"a status needs at least one field; allowed: {', '.join(FIELDS)} (e.g. "
            '{"spaces_free": 42, "spaces_total": 120})'
        )
    for name, most, least in (
        ("spaces_free", MAX_SPACES, 0),
        ("spaces_total", MAX_SPACES, 1),
        ("queue_minutes", MAX_QUEUE_MINUTES, 0),
    ):
        _check_count(name, getattr(status, name), least, most)
    if (
        status.spaces_free is not None
        and status.spaces_total is not None
        and status.spaces_free > status.spaces_total
    ):
        raise InvalidParameter(
            f"spaces_free={status.spaces_free} exceeds spaces_total={status.spaces_total}; "
            "allowed: 0 to spaces_total"
        )
    _check_time(
        "updated_at",
        status.updated_at,
        now - timedelta(days=MAX_CLOSED_DAYS),
        now + timedelta(seconds=CLOCK_SKEW_S),
    )
    if status.closed_until is not None:
        span = timedelta(days=MAX_CLOSED_DAYS)
        _check_time("closed_until", status.closed_until, now - span, now + span)
    check_note(status.note)
    return replace(status, updated_at=status.updated_at.astimezone(now.tzinfo))


def _check_count(name: str, value: object, least: int, most: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise InvalidParameter(
            f"{name}={value!r} is not allowed; use a whole number from {least} to {most}"
        )


def _check_time(name: str, value: datetime, earliest: datetime, latest: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidParameter(
            f"{name} {value.isoformat()!r} has no time zone; give one, "
            "e.g. '2026-05-01T18:00:00+08:00' or '...Z'"
        )
    if not earliest <= value <= latest:
        raise InvalidParameter(
            f"{name} {value.isoformat()!r} is out of range; allowed: {earliest.isoformat()} "
            f"to {latest.isoformat()}"
        )


def check_note(note: str, field: str = "note") -> str:
    """``note`` if :mod:`livingcircle.geo.text` allows it as a note (the one text rule).

    At most 200 characters on one line: no NUL, lone surrogate, control character, tab or
    line break. ``field`` names it in the message.

    Raises
    ------
    InvalidText
        E.g. ``note has a control character (U+0007) at position 5; remove it (allowed:
        letters, digits, spaces and punctuation on one line)``.
    """
    found = text_problem(note, "note")
    if found is None:
        return note
    problem, position = found
    if position is not None:  # a length problem already says what is allowed
        problem += " (allowed: letters, digits, spaces and punctuation on one line)"
    raise InvalidText(field, problem, position)


def may_set_status(owner: str, source: str, tags: str | Mapping[str, Any] | None) -> bool:
    """Whether ``owner``'s key may set the status of a facility with ``source`` and ``tags``.

    Its own record (``source == owner``), or one its imported list describes.
    """
    if source == owner:
        return True
    try:
        parsed = json.loads(tags) if isinstance(tags, str) and tags else (tags or {})
    except ValueError:
        return False
    entries = parsed.get(_SOURCES_KEY, []) if isinstance(parsed, Mapping) else []
    return any(isinstance(e, Mapping) and e.get("source") == owner for e in entries)


# -- freshness --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRules:
    """How long a status stays fresh, per category, in seconds."""

    stale_after_s: Mapping[str, float] = field(default_factory=dict)
    default_s: float = DEFAULT_STALE_AFTER_S

    def stale_after(self, category: str) -> float:
        """Seconds after which a status of a ``category`` facility is no longer shown."""
        return self.stale_after_s.get(category, self.default_s)

    def age_s(self, status: FacilityStatus, now: datetime) -> float:
        """Seconds since the status was reported (0 for a clock slightly ahead)."""
        return max((now - status.updated_at).total_seconds(), 0.0)

    def fresh(self, status: FacilityStatus, now: datetime) -> bool:
        """Whether the status is still shown."""
        return self.age_s(status, now) <= self.stale_after(status.category)

    def shown(self, status: FacilityStatus, now: datetime) -> dict[str, Any]:
        """What an answer carries: the fields, when, how old, and whether closed now."""
        closed = status.closed_until is not None and status.closed_until > now
        return {
            **status.values(),
            "updated_at": status.updated_at.isoformat(),
            "age_s": round(self.age_s(status, now)),
            "closed": closed,
        }


def parse_rules(raw: Mapping[str, Any], categories: Iterable[str]) -> StatusRules:
    """The ``[status]`` table of a standards file (``stale_after_s``, with a ``default``)."""
    table = dict(raw.get("stale_after_s", {}))
    known = set(categories)
    default = float(table.pop("default", DEFAULT_STALE_AFTER_S))
    for category, seconds in table.items():
        if category not in known:
            raise UnknownCategory(category, known | {"default"})
        if not 0 < float(seconds) <= 7 * 86400:
            raise InvalidParameter(
                f"[status.stale_after_s] {category} = {seconds} is out of "
                "range; allowed: 1 to 604800 seconds"
            )
    return StatusRules({k: float(v) for k, v in table.items()}, default)


# -- answers ----------------------------------------------------------------------------------


def attach_status(
    collection: dict[str, Any],
    statuses: Mapping[str, FacilityStatus],
    rules: StatusRules,
    now: datetime,
) -> dict[str, Any]:
    """Add each facility's fresh status to its properties (``status``), in place."""
    if not statuses:
        return collection
    for feature in collection.get("features", []):
        props = feature.get("properties", {})
        if props.get("kind", "facility") != "facility":
            continue
        found = statuses.get(str(props.get("id")))
        if found is not None and rules.fresh(found, now):
            props["status"] = rules.shown(found, now)
    return collection


def full_facilities(
    statuses: Iterable[FacilityStatus], rules: StatusRules, now: datetime
) -> dict[str, set[str]]:
    """Ids of facilities reported full (and fresh), by category."""
    out: dict[str, set[str]] = {}
    for status in statuses:
        if status.full and rules.fresh(status, now):
            out.setdefault(status.category, set()).add(status.facility_id)
    return out


def skip_full(
    result: NearestResult, wider: NearestResult, full: Mapping[str, set[str]], k: int
) -> NearestResult:
    """``result`` with the full facilities of each category replaced by the next nearest.

    ``wider`` is the same query for the categories that have full facilities, asking for
    enough more (``k`` plus their number) that ``k`` remain once the full ones are dropped.
    """
    by_category = {
        c: (
            [h for h in wider.by_category.get(c, []) if h.id not in full[c]][:k]
            if full.get(c)
            else hits
        )
        for c, hits in result.by_category.items()
    }
    return replace(
        result, by_category=by_category, searched_m=max(result.searched_m, wider.searched_m)
    )


def describe(shown: Mapping[str, Any], language: str = "zh") -> str:
    """A shown status in plain words with its age: "42 spaces · 2 min ago" / "42 个空位 · 2 分钟前".

    ``shown`` is what :meth:`StatusRules.shown` returns; ``language`` is ``zh`` or ``en``.
    """
    zh = language == "zh"
    parts = []
    if shown.get("closed"):
        parts.append("暂停开放" if zh else "closed")
    free = shown.get("spaces_free")
    if free == 0:
        parts.append("车位已满" if zh else "full")
    elif free is not None:
        parts.append(f"{free} 个空位" if zh else f"{free} space{'s' if free != 1 else ''}")
    if shown.get("queue_minutes") is not None:
        minutes = shown["queue_minutes"]
        parts.append(f"排队约 {minutes} 分钟" if zh else f"queue about {minutes} min")
    if shown.get("note"):
        parts.append(str(shown["note"]))
    parts.append(_age(int(shown.get("age_s", 0)), zh))
    return " · ".join(parts)


def _age(seconds: int, zh: bool) -> str:
    if seconds < 60:
        return "刚刚" if zh else "just now"
    if seconds < 3600:
        return f"{seconds // 60} 分钟前" if zh else f"{seconds // 60} min ago"
    hours = seconds // 3600
    return f"{hours} 小时前" if zh else f"{hours} h ago"
