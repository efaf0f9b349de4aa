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
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from livingcircle.geo.demand import Demand, place_demand
from livingcircle.geo.errors import NoWayForProfile
from livingcircle.geo.network import FloatArray, IntArray, StreetNetwork
from livingcircle.geo.profiles import Profile, profile_network

if TYPE_CHECKING:
    from livingcircle.geo.engine import Region


#: One view is built at a time: threads asking at once wait for it instead of building it
#: twice (a region's view is rare work; a module lock keeps regions picklable).
_BUILDING = threading.Lock()
#: Views kept per region at speeds other than their profile's (see :func:`view_key`); the
#: oldest goes first.
MAX_SPEED_VIEWS = 4


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


def walked_at(region: Region, profile: str, speed_m_s: float | None = None) -> Region:
    """``region`` as ``profile`` walks it; ``region`` itself for a speed-only profile.

    Built on first use and kept; the distance fields are prepared when ``region`` has them.
    ``speed_m_s`` (a speed that overrides the profile's) matters only to a profile that adds
    seconds: its view is then costed at that speed, so an added time stays that time.
    Unknown profiles are left to the caller's speed check (:class:`UnknownProfile`).
    """
    rules = region.standard.profiles.get(profile)
    if region.walking.profile is not None or rules is None or not rules.has_edge_rules:
        return region
    key, rules = view_key(region, rules, speed_m_s)
    view = region.walking.views.get(key)
    if view is not None:
        return view
    with _BUILDING:
        return region.walking.views.get(key) or _build_view(region, key, rules)


def view_key(region: Region, rules: Profile, speed_m_s: float | None) -> tuple[str, Profile]:
    """The name a view of ``rules`` at ``speed_m_s`` is kept by, and the rules it walks.

    A view's costs are equivalent metres at its profile's speed: a time is metres / speed.
    Factors scale with the speed and stay right at any other; added seconds would not (15 s
    stored as 12 m at 0.8 m/s are 30 s at 0.4), so a profile with ``add_s`` is walked at
    another speed by a view of its own, ``"elderly@0.4"``.
    """
    if speed_m_s is None or not rules.add_s:
        return rules.id, rules
    speed = region.standard.speed(rules.id, speed_m_s)  # checked: a bad speed builds nothing
    if speed == rules.speed_m_s:
        return rules.id, rules
    return f"{rules.id}@{speed!r}", replace(rules, speed_m_s=speed)


def walked_demand(
    region: Region, demand: Demand, profile: str, speed_m_s: float | None = None
) -> tuple[Region, Demand]:
    """The region as ``profile`` walks it and ``demand`` placed on its streets.

    Homes placed by a street the profile excludes move to the nearest one it may walk;
    homes with none within the snapping limit join ``demand``'s dropped ones. A speed-only
    profile gives ``region`` and ``demand`` unchanged.
    """
    view = walked_at(region, profile, speed_m_s)
    if view is region:
        return region, demand
    frame = demand.frame.assign(population=demand.population)
    placed = place_demand(view.net, frame, view.max_snap_m)
    return view, replace(
        placed,
        dropped=placed.dropped + demand.dropped,
        dropped_population=placed.dropped_population + demand.dropped_population,
    )


def view_built(region: Region, profile: str | None, speed_m_s: float | None = None) -> bool:
    """Whether answering at ``profile`` needs no view built first (a query's cost only)."""
    if profile is None or region.walking.profile is not None:
        return True
    rules = region.standard.profiles.get(profile)
    if rules is None or not rules.has_edge_rules:
        return True
    try:
        key, _ = view_key(region, rules, speed_m_s)
    except ValueError:  # a bad speed: the query refuses it without building anything
        return True
    return key in region.walking.views


def _build_view(region: Region, key: str, rules: Profile) -> Region:
    """Build, keep and give the view of ``region`` walked by ``rules`` (its lock held)."""
    net, kept = profile_network(region.net, rules)
    if len(kept) == 0:
        raise nothing_walkable(region, rules)
    share_indexes(region.net, net, kept)
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
    views = region.walking.views
    at_speeds = [k for k in views if "@" in k]
    if "@" in key and len(at_speeds) >= MAX_SPEED_VIEWS:
        del views[at_speeds[0]]
    views[key] = view
    return view


def share_indexes(base: StreetNetwork, walked: StreetNetwork, kept: IntArray) -> None:
    """Give ``walked`` (``base`` less its edges not ``kept``) the indexes it shares with it.

    Every node stays, so the node KD-tree is the base's; when no edge is left out, so are
    the edge R-tree, incidence and geometry lengths (the costs differ, the shapes do not).
    Otherwise the geometry lengths and vertices are the base's rows, not measured again.
    What depends on the costs (CSR, positions along edges) is built for ``walked``.
    """
    have, cache = base.__dict__, walked.__dict__
    for name in ("node_tree", "_to_lonlat"):
        if name in have:
            cache[name] = have[name]
    if len(kept) == base.n_edges:
        for name in ("edge_tree", "incidence", "geom_length", "_edge_coords", "segment_index"):
            if name in have:
                cache[name] = have[name]
        return
    cache["geom_length"] = base.geom_length[kept]
    xy, owner = base._edge_coords
    renumber = np.full(base.n_edges, -1, dtype=np.intp)
    renumber[kept] = np.arange(len(kept))
    mine = renumber[owner] >= 0
    cache["_edge_coords"] = (xy[mine], renumber[owner[mine]])


def nothing_walkable(region: Region, rules: Profile) -> NoWayForProfile:
    """The refusal of a profile that excludes every street of ``region``."""
    return NoWayForProfile(
        f"no {rules.id} way from here: the {rules.id} profile ({rules.label_en}) excludes "
        f"every one of the {region.net.n_edges} streets of region {region.name!r}, so there "
        "is no street it can walk; ask at another profile (standard walks every street)",
        profile=rules.id,
        street="",
        street_lonlat=(float("nan"), float("nan")),
        distance_m=float("inf"),
    )


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
    read = profile.tags_read - {"highway"}
    if read and not read & set(region.net.edge_tags):  # stored before the tags were kept
        notes.append(
            f"this region's streets carry no {', '.join(sorted(read))} tags (it was loaded "
            f"before they were kept): the {profile.id} profile applies only its other rules; "
            "load the region again for the full profile"
        )
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
