"""A region as one walking profile walks it: its own network, facilities and answers.

:meth:`Region.walked_at` gives, once per profile with edge rules, a region over the
profile's network (:func:`livingcircle.geo.profiles.profile_network`): the same nodes, the
edges it may walk with their costs as equivalent metres, and the facilities snapped onto
those edges (less any the profile marks unreachable). Queries at that profile are answered
by it unchanged. A point whose every nearby street is excluded is refused with the nearest
street the profile can walk, never answered with a wrong time.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from livingcircle.geo.errors import NoWayForProfile
from livingcircle.geo.network import FloatArray, IntArray
from livingcircle.geo.profiles import Profile, profile_network

if TYPE_CHECKING:
    from livingcircle.geo.engine import Region


#: One view is built at a time: threads asking at once wait for it instead of building it
#: twice (a region's view is rare work; a module lock keeps regions picklable).
_BUILDING = threading.Lock()


@dataclass
class Walking:
    """How a region is walked: at ``profile`` (None: by length at any speed), and its views.

    A view (a region at one profile) knows the region it was made from (``base``), which
    edge of it each of its edges is (``base_edges``) and what its answers note.
    """

    profile: Profile | None
    facilities: gpd.GeoDataFrame  # as given, for the views to place again
    views: dict[str, Region] = field(default_factory=dict)
    base: Region | None = None
    base_edges: IntArray | None = None
    notes: tuple[str, ...] = ()


def walked_at(region: Region, profile: str) -> Region:
    """``region`` as ``profile`` walks it; ``region`` itself for a speed-only profile.

    Built on first use and kept; the distance fields are prepared when ``region`` has them.
    Unknown profiles are left to the caller's speed check (:class:`UnknownProfile`).
    """
    rules = region.standard.profiles.get(profile)
    if region.walking.profile is not None or rules is None or not rules.has_edge_rules:
        return region
    view = region.walking.views.get(profile)
    if view is not None:
        return view
    with _BUILDING:
        return region.walking.views.get(profile) or _build_view(region, profile, rules)


def view_built(region: Region, profile: str | None) -> bool:
    """Whether answering at ``profile`` needs no view built first (a query's cost only)."""
    if profile is None or region.walking.profile is not None:
        return True
    rules = region.standard.profiles.get(profile)
    return rules is None or not rules.has_edge_rules or profile in region.walking.views


def _build_view(region: Region, profile: str, rules: Profile) -> Region:
    """Build, keep and give the view of ``region`` at ``profile`` (its lock held)."""
    net, kept = profile_network(region.net, rules)
    given = region.walking.facilities
    facilities = reachable_facilities(rules, given)
    view = type(region)(
        region.name,
        net,
        facilities,
        region.standard,
        region.max_snap_m,
        region.timezone,
        profile=rules,
    )
    view.walking.base, view.walking.base_edges = region, kept
    view.walking.notes = profile_notes(rules, region, len(given) - len(facilities))
    if region.prepared:
        view.prepare_nearest()
    region.walking.views[profile] = view
    return view


def profile_notes(profile: Profile, region: Region, left_out: int) -> tuple[str, ...]:
    """What answers at ``profile`` say it left out or assumed."""
    notes = []
    if left_out:
        notes.append(
            f"{left_out} facilities tagged wheelchair=no are not reachable at the {profile.id} "
            "profile"
        )
    given = region.walking.facilities
    if profile.wheelchair_no == "flag" and "tags" in given:
        flagged = int(wheelchair_no(given).sum())
        if flagged:
            notes.append(f"{flagged} facilities are tagged wheelchair=no: check before going")
    if profile.slope.rule != "none" and region.net.node_ele is None:
        notes.append("no elevation model was loaded: slopes come from incline tags only")
    return tuple(notes)


def reachable_facilities(profile: Profile, facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The facilities ``profile`` may reach: all, less ``wheelchair=no`` ones if it says so."""
    if profile.wheelchair_no != "unreachable" or "tags" not in facilities:
        return facilities
    return facilities[~wheelchair_no(facilities)]


def wheelchair_no(facilities: gpd.GeoDataFrame) -> NDArray[np.bool_]:
    """Whether each facility's tags (JSON text) say ``wheelchair=no``."""

    def says_no(text: object) -> bool:
        if not isinstance(text, str) or "wheelchair" not in text:
            return False
        try:
            tags = json.loads(text)
        except ValueError:
            return False
        return isinstance(tags, dict) and tags.get("wheelchair") == "no"

    return np.array([says_no(t) for t in facilities["tags"]], dtype=np.bool_)


def only_in_view(
    region: Region, view: Region, only: NDArray[np.bool_] | None
) -> NDArray[np.bool_] | None:
    """``only`` (facility rows of ``region``) as rows of ``view``, matched by facility id."""
    if only is None or view is region:
        return only
    wanted = np.asarray(region.facilities.text["id"], dtype=object)[np.asarray(only, dtype=bool)]
    return np.isin(np.asarray(view.facilities.text["id"], dtype=object), wanted)


def no_way_error(view: Region, xy: FloatArray, lon: float, lat: float) -> NoWayForProfile | None:
    """The refusal of a point near streets ``view``'s profile cannot walk (None: no street)."""
    base, profile = view.walking.base, view.walking.profile
    if base is None or profile is None:
        return None
    point = shapely.points(xy[0])
    near = base.net.edge_tree.query(point, predicate="dwithin", distance=view.max_snap_m)
    if len(near) == 0:
        return None
    hit = int(view.net.edge_tree.query_nearest(point, all_matches=False)[0])
    on = shapely.get_coordinates(shapely.shortest_line(view.net.edge_geom[hit], point))[0]
    far = float(shapely.distance(view.net.edge_geom[hit], point))
    slon, slat = view.unproject(on[None, :])[0]
    tags = view.net.edge_tags
    name = str(tags["name"][hit]) if "name" in tags else ""
    kind = str(tags["highway"][hit]) if "highway" in tags else ""
    street = f"{name} ({kind})" if name else (kind or "a street")
    return NoWayForProfile(
        f"no {profile.id} way from here: every street within {view.max_snap_m:.0f} m of "
        f"({lat:.6f}, {lon:.6f}) is one the {profile.id} profile excludes "
        f"({profile.label_en}); the nearest street it can walk is {street}, {far:.0f} m "
        f"away at ({slat:.6f}, {slon:.6f})",
        profile=profile.id,
        street=street,
        street_lonlat=(float(slon), float(slat)),
        distance_m=far,
    )
