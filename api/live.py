"""Live statuses for the answers: each region's, read from the store at most every few seconds.

A nearest or catchment answer carries a facility's fresh status in its properties; reading
the store on every query would cost a round trip each, so a worker keeps each region's
statuses for ``ttl_s`` seconds (a status set through this worker shows at once, one set
through another worker within ``ttl_s``). The clock is a parameter, so tests can move it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from livingcircle.geo import config
from livingcircle.geo.results import NearestResult
from livingcircle.geo.status import (
    FacilityStatus,
    StatusRules,
    attach_status,
    full_facilities,
    skip_full,
)
from livingcircle.geo.store import Store

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


class LiveStatuses:
    """Each region's statuses, kept for ``ttl_s`` seconds."""

    def __init__(
        self, store: Store, rules: StatusRules, clock: Clock = utc_now, ttl_s: float = 2.0
    ) -> None:
        self.board = store
        self.rules, self.clock, self.ttl_s = rules, clock, ttl_s
        self._kept: dict[str, tuple[float, dict[str, FacilityStatus]]] = {}
        self._lock = threading.Lock()

    def of(self, region: str) -> dict[str, FacilityStatus]:
        """The region's statuses by facility id (stale ones too)."""
        with self._lock:
            kept = self._kept.get(region)
        if kept is not None and time.monotonic() - kept[0] < self.ttl_s:
            return kept[1]
        fresh = {s.facility_id: s for s in self.board.statuses(region)}
        with self._lock:
            self._kept[region] = (time.monotonic(), fresh)
        return fresh

    def forget(self, region: str) -> None:
        """Read the region's statuses again on the next question."""
        with self._lock:
            self._kept.pop(region, None)

    def attach(self, collection: dict[str, Any], region: str) -> dict[str, Any]:
        """``collection`` with each facility's fresh status in its properties."""
        return attach_status(collection, self.of(region), self.rules, self.clock())

    def shown(self, region: str) -> dict[str, dict[str, Any]]:
        """The region's fresh statuses as answers show them, by facility id."""
        now = self.clock()
        return {
            i: self.rules.shown(s, now)
            for i, s in self.of(region).items()
            if self.rules.fresh(s, now)
        }

    def full(self, region: str, categories: Iterable[str]) -> dict[str, set[str]]:
        """Facilities reported full (fresh reports only), by category, of ``categories``."""
        wanted = set(categories)
        found = full_facilities(self.of(region).values(), self.rules, self.clock())
        return {c: ids for c, ids in found.items() if c in wanted}

    def skip_full(
        self, result: NearestResult, ask: Callable[[list[str], int], NearestResult]
    ) -> NearestResult:
        """``result`` without the facilities reported full, each replaced by the next nearest.

        ``ask(categories, k)`` repeats the query for the categories that have full
        facilities, with ``k`` raised by their number (to ``config.MAX_K`` at most, so a
        category with more full facilities than that may come back with fewer than ``k``).
        """
        full = self.full(result.region, result.by_category)
        if not full:
            return result
        more = min(result.k + max(len(ids) for ids in full.values()), config.MAX_K)
        return skip_full(result, ask(sorted(full), more), full, result.k)


async def get_live(request: Request) -> LiveStatuses:
    """The live statuses the lifespan set up."""
    live: LiveStatuses = request.app.state.live
    return live


LiveDep = Annotated[LiveStatuses, Depends(get_live)]
