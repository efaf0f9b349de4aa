"""Opening hours: whether a facility is open at a moment, in its region's time zone.

OSM ``opening_hours`` strings ("Mo-Fr 08:00-18:00; Sa 10:00-14:00", "24/7") are read with
opening-hours-py (the Rust ``opening-hours`` crate). Each distinct string of a region is
parsed once and kept; a string that cannot be parsed, or is empty, is "unknown", never an
error. Moments are taken in the region's time zone (:func:`timezone_at` finds it offline from
the region's centre): a moment without an offset is the region's wall-clock time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import opening_hours
from numpy.typing import NDArray
from timezonefinder import TimezoneFinder

from livingcircle.geo import config
from livingcircle.geo.errors import InvalidParameter

OpenStatus = Literal["open", "closed", "unknown"]

#: ``opens_at`` / ``closes_at`` are looked for this far ahead; farther changes are not given.
LOOKAHEAD_DAYS = 8
#: At most this many state changes are walked through while looking ahead.
MAX_INTERVALS = 64
#: Time zone of a region whose centre lies in no zone (open sea).
FALLBACK_TIMEZONE = "UTC"
#: What ``open_at`` may look like, for error messages.
OPEN_AT_FORMAT = (
    "ISO 8601 date and time, YYYY-MM-DDTHH:MM[:SS] with an optional offset "
    "(Z or +HH:MM), e.g. 2025-01-15T17:45 (the region's local time) or "
    "2025-01-15T17:45+02:00"
)

_STATUS: dict[opening_hours.State, OpenStatus] = {
    opening_hours.State.OPEN: "open",
    opening_hours.State.CLOSED: "closed",
    opening_hours.State.UNKNOWN: "unknown",
}


@dataclass(frozen=True, slots=True)
class OpenState:
    """Whether a facility is open at a moment, and when that changes (local times).

    ``opens_at`` is given when closed, ``closes_at`` when open, each only if the change comes
    within :data:`LOOKAHEAD_DAYS`; ``closing_soon`` is whether it closes within the region's
    closing-soon minutes.
    """

    status: OpenStatus
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    closing_soon: bool = False


UNKNOWN = OpenState("unknown")


@cache
def _finder() -> TimezoneFinder:
    return TimezoneFinder()


def timezone_at(lon: float, lat: float) -> str:
    """The IANA time zone at a point (offline, from timezonefinder's bundled boundaries).

    Parameters
    ----------
    lon, lat
        WGS 84 degrees.

    Returns
    -------
    str
        A zone name such as ``"Asia/Shanghai"``; :data:`FALLBACK_TIMEZONE` where none is found.
    """
    return _finder().timezone_at(lng=lon, lat=lat) or FALLBACK_TIMEZONE


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``; raises :class:`InvalidParameter` naming what is allowed."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameter(
            f"unknown time zone {name!r}; allowed: an IANA time zone name such as "
            "Asia/Shanghai or Europe/Helsinki"
        ) from None


def parse_open_at(text: str) -> datetime:
    """A moment from an ISO 8601 string; without an offset it stays naive (local time).

    Raises
    ------
    InvalidParameter
        ``text`` is not a date with a time of day, as :data:`OPEN_AT_FORMAT` describes.
    """
    value = text.strip()
    try:
        when = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        when = None
    if when is None or len(value) <= len("YYYY-MM-DD"):  # a date alone is not a moment
        raise InvalidParameter(
            f"open_at={text!r} is not a date and time; allowed: {OPEN_AT_FORMAT}"
        )
    return when


def _parse(
    text: str, tz: ZoneInfo, coords: tuple[float, float] | None
) -> opening_hours.OpeningHours | None:
    if not text.strip() or text.lstrip().startswith('"'):
        # nothing, or a comment alone ('"by appointment"'): the parser would call it open
        # all the time, opening_hours.js and the OSM wiki call it unknown
        return None
    try:  # coordinates give public holidays (the country) and sunrise and sunset
        return opening_hours.OpeningHours(
            text, timezone=tz, coords=coords, max_interval_days=LOOKAHEAD_DAYS
        )
    except Exception:  # ParserError, or anything the parser refuses: unknown
        return None


class RegionHours:
    """The opening hours of a region's facilities, parsed once per distinct string.

    Parameters
    ----------
    texts
        Each facility's ``opening_hours`` string, in facility-row order ("" when untagged).
    timezone
        The region's IANA time zone.
    centre
        ``(lon, lat)`` of the region, for public holidays and sun times; None for neither.
    closing_soon_minutes
        A facility closing within this many minutes is closing soon.
    """

    def __init__(
        self,
        texts: Sequence[str],
        timezone: str,
        centre: tuple[float, float] | None = None,
        closing_soon_minutes: int = config.CLOSING_SOON_MINUTES,
    ) -> None:
        self.texts = texts
        self.timezone = timezone
        self.zone = zone(timezone)
        self.closing_soon = timedelta(minutes=closing_soon_minutes)
        self._coords = None if centre is None else (centre[1], centre[0])
        self._parsed: dict[str, opening_hours.OpeningHours | None] = {}
        #: states at one moment, by string: a server answers many queries each minute
        self._moment: tuple[datetime | None, dict[str, OpenState]] = (None, {})

    def local(self, when: datetime | None = None) -> datetime:
        """``when`` in the region's zone, a naive moment read as local time.

        None is now, to the minute: "open now" does not change within a minute's queries,
        and they share one evaluation (:meth:`states`).
        """
        if when is None:
            return datetime.now(self.zone).replace(second=0, microsecond=0)
        if when.tzinfo is None:  # via UTC, so a wall-clock time skipped by DST is made real
            when = when.replace(tzinfo=self.zone).astimezone(UTC)
        return when.astimezone(self.zone)

    def parse_all(self) -> RegionHours:
        """Parse every distinct string now (a server does it at start-up, not on a request)."""
        for text in set(self.texts):
            self.parsed(text)
        return self

    def parsed(self, text: str) -> opening_hours.OpeningHours | None:
        """The parsed form of ``text`` (None when it cannot be parsed), kept once parsed."""
        if text not in self._parsed:
            self._parsed[text] = _parse(text, self.zone, self._coords)
        return self._parsed[text]

    def state(self, text: str, when: datetime | None = None) -> OpenState:
        """Open, closed or unknown at ``when`` (see :meth:`local`), and the next change."""
        oh = self.parsed(text)
        if oh is None:
            return UNKNOWN
        at = self.local(when)
        try:
            return self._state(oh, at)
        except Exception:  # an expression the evaluator trips on: unknown
            return UNKNOWN

    def _state(self, oh: opening_hours.OpeningHours, at: datetime) -> OpenState:
        status = _STATUS[oh.state(at)[0]]
        if status == "unknown":
            return UNKNOWN
        change = _next_time(oh, at, opens=status == "closed")
        if status == "closed":
            return OpenState("closed", opens_at=change)
        soon = change is not None and change - at <= self.closing_soon
        return OpenState("open", closes_at=change, closing_soon=soon)

    def states(self, rows: Iterable[int], when: datetime | None = None) -> list[OpenState]:
        """:meth:`state` of facility ``rows``, each distinct string evaluated once."""
        at = self.local(when)
        picked = [self.texts[r] for r in rows]
        moment, known = self._moment
        if moment != at:
            known = {}
            self._moment = (at, known)
        for text in set(picked).difference(known):
            known[text] = self.state(text, at)
        return [known[text] for text in picked]

    def open_mask(
        self, rows: NDArray[np.int64], when: datetime | None = None, include_unknown: bool = False
    ) -> NDArray[np.bool_]:
        """Whether each of facility ``rows`` is open at ``when`` (or unknown, if included).

        Only the state is evaluated (not the next change), once per distinct string.
        """
        at = self.local(when)
        picked = [self.texts[r] for r in rows.tolist()]
        keep = {text: self._is_open(text, at, include_unknown) for text in set(picked)}
        return np.fromiter((keep[t] for t in picked), dtype=np.bool_, count=len(picked))

    def _is_open(self, text: str, at: datetime, include_unknown: bool) -> bool:
        oh = self.parsed(text)
        try:
            status = "unknown" if oh is None else _STATUS[oh.state(at)[0]]
        except Exception:  # as in :meth:`state`
            status = "unknown"
        return status == "open" or (include_unknown and status == "unknown")


def _next_time(oh: opening_hours.OpeningHours, at: datetime, opens: bool) -> datetime | None:
    """When, after ``at``, a facility next opens (``opens``) or stops being open.

    Looks :data:`LOOKAHEAD_DAYS` ahead. A change of comment alone is not a change; from open
    to "unknown" is a closing (it is no longer known to be open).
    """
    spans = oh.intervals(at, at + timedelta(days=LOOKAHEAD_DAYS))
    for start, _end, state, _comment in itertools.islice(spans, MAX_INTERVALS):
        if (state == opening_hours.State.OPEN) == opens:
            return start
    return None
