"""Engine defaults in one place. The CLI and the API may override each as a parameter."""

from __future__ import annotations

from collections.abc import Sequence

from livingcircle.geo.errors import InvalidParameter

#: GB 50180-2018 plans with 60 m/min.
DEFAULT_SPEED_M_S = 1.0
#: Catchment rings, minutes on foot.
DEFAULT_MINUTES = (5, 10, 15)
#: Longest ring or search a query may ask for, minutes.
MAX_MINUTES = 60
#: Most facilities per category a nearest query may ask for.
MAX_K = 50
#: Days a new API key lasts unless told otherwise (``livingcircle keys add --expires``).
DEFAULT_EXPIRY_DAYS = 365
#: A query point farther than this from any walkable street is refused, metres.
MAX_SNAP_M = 250.0
#: A facility farther than this from any walkable street is left out of routing, metres.
MAX_FACILITY_SNAP_M = 500.0
#: Facilities standing farther than this off the street carry where their access leg meets
#: it (``access_from``), so maps can draw the leg: a ring is drawn from reached streets.
ACCESS_LEG_SHOWN_M = 25.0
#: Half-width of the band drawn around reached streets in a catchment polygon, metres.
FRONTAGE_M = 50.0
#: Holes smaller than this inside a catchment (city blocks) are filled; larger ones (lakes,
#: rail yards) stay open, square metres.
MAX_HOLE_M2 = 40_000.0
#: Nearest search starts at this network radius (unless the region has its distance fields,
#: see Region.prepare_nearest) and widens until it is sure of k per category, metres.
#: Kept for callers that search without a region's facilities (batch, incremental).
NEAREST_START_RADIUS_M = 1_000.0
#: A nearest search starts this far beyond the straight-line distance to each category's
#: k-th nearest facility (a typical walking detour), and at least
#: :data:`NEAREST_MIN_RADIUS_M`; until it is sure, it widens by :data:`NEAREST_GROWTH`.
NEAREST_DETOUR = 1.3
#: Smallest first radius of a nearest search, metres.
NEAREST_MIN_RADIUS_M = 100.0
#: Each widening of a nearest search multiplies its radius by this.
NEAREST_GROWTH = 1.5
#: Nearest search stops at this radius; farther facilities count as not reachable, metres.
NEAREST_MAX_RADIUS_M = 20_000.0
#: Street-network components smaller than this are dropped at build time (slivers of a
#: clipped extract, footways inside a courtyard with no way out), nodes.
MIN_COMPONENT_NODES = 10
#: A facility closing within this many minutes is "closing soon" (the standards file's
#: ``[display] closing_soon_minutes`` overrides it).
CLOSING_SOON_MINUTES = 30
#: Every node within network distance ``r`` of a point lies within straight-line distance
#: ``r`` of it, but straight lines in the projected CRS may be longer than the geodesic
#: street lengths by the UTM scale factor (under 0.1 %): a search cut to a disc or box
#: widens it by this factor, and by :data:`DISC_PAD_M`, so no reachable node is cut.
DISC_SLACK = 1.001
#: Metres added to a widened disc or box (see :data:`DISC_SLACK`).
DISC_PAD_M = 1.0
#: SciPy's sparse graphs drop zero-weight arcs: a zero-length street step (or a place standing
#: on a node) is given this many metres instead, so it stays an arc.
MIN_ARC_M = 1e-9
#: The way tags walking-profile rules read (:mod:`livingcircle.geo.profiles`); OSM readers
#: keep these on each edge and both stores check and clean them as text (:mod:`.text`).
RULE_TAGS = (
    "highway",
    "footway",
    "surface",
    "smoothness",
    "incline",
    "crossing",
    "kerb",
    "wheelchair",
    "ramp",
    "ramp:wheelchair",
)


def disc_radius(radius_m: float) -> float:
    """The straight-line radius that holds every node within network distance ``radius_m``."""
    return radius_m * DISC_SLACK + DISC_PAD_M


def check_minutes(minutes: Sequence[float]) -> list[int]:
    """The distinct whole minutes of a query, sorted; 1 to 6 of them, each up to MAX_MINUTES."""
    values = sorted({int(m) for m in minutes})
    if (
        not values
        or any(m != int(m) for m in minutes)
        or values[0] < 1
        or values[-1] > MAX_MINUTES
        or len(values) > 6
    ):
        raise InvalidParameter(
            f"minutes {list(minutes)} are out of range; allowed: 1 to 6 whole minutes, "
            f"each from 1 to {MAX_MINUTES}"
        )
    return values
