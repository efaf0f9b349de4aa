"""What a scenario says: facilities to open or close, walking links to build, streets to close.

Plain data (:class:`Scenario` and its changes) with the defaults a scenario file may leave
out; :mod:`livingcircle.geo.scenario_check` checks them against a region and
:func:`livingcircle.geo.scenario.run_scenario` computes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from livingcircle.geo.errors import InvalidParameter

#: A link end is snapped onto the nearest street within this many metres by default.
LINK_SNAP_M = 50.0
#: A street to close is found within this many metres of the point given.
CLOSE_SNAP_M = 50.0
Lonlat = tuple[float, float]


class ScenarioError(InvalidParameter):
    """A scenario that cannot be run; ``problems`` lists every reason, one sentence each."""

    def __init__(self, problems: Sequence[str], source: str = "the scenario") -> None:
        head = f"{source} has {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
        super().__init__(head + "; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class NewFacility:
    """A facility to open: its category, where (WGS 84), a name and an optional capacity."""

    category: str
    lon: float
    lat: float
    name: str = ""
    capacity: float | None = None
    id: str = ""


@dataclass(frozen=True)
class NewLink:
    """A walking link (crossing, footbridge) between two points (lon, lat).

    Each end joins the nearest street within ``max_snap_m``; the link is walkable both ways
    unless ``oneway`` (then only from ``start`` to ``end``).
    """

    start: Lonlat
    end: Lonlat
    oneway: bool = False
    name: str = ""
    max_snap_m: float = LINK_SNAP_M


@dataclass(frozen=True)
class ClosedStreet:
    """Streets to close: an OSM way, the street nearest a point, or a walk between two.

    Give exactly one of ``way_id`` (every edge of that way), ``at`` (the edge nearest the
    point, lon/lat) or ``between`` (the edges of the shortest walk between two points).
    """

    way_id: int | None = None
    at: Lonlat | None = None
    between: tuple[Lonlat, Lonlat] | None = None
    name: str = ""
    max_snap_m: float = CLOSE_SNAP_M


@dataclass(frozen=True)
class Scenario:
    """A named list of changes; ``close_facilities`` are facility ids of the region."""

    name: str = "scenario"
    add_facilities: tuple[NewFacility, ...] = ()
    close_facilities: tuple[str, ...] = ()
    add_links: tuple[NewLink, ...] = ()
    close_streets: tuple[ClosedStreet, ...] = ()

    @property
    def changes_network(self) -> bool:
        """Whether it changes the street network (links or closed streets)."""
        return bool(self.add_links or self.close_streets)

    def __len__(self) -> int:
        return (
            len(self.add_facilities)
            + len(self.close_facilities)
            + len(self.add_links)
            + len(self.close_streets)
        )
