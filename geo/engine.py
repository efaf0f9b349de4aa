"""A loaded region: its network, its facilities snapped onto it, and the two questions.

``Region.nearest`` answers "where is the nearest clinic, pharmacy, ... on foot?" and
``Region.catchment`` "what can I reach in 5, 10 and 15 minutes, and what does the standard
say is missing?". Both take WGS 84 coordinates and return WGS 84 results.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cached_property

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.spatial import ConvexHull, QhullError, cKDTree
from shapely.geometry.base import BaseGeometry

from livingcircle.geo import config, positions
from livingcircle.geo.catchment import ring_polygons
from livingcircle.geo.coords import check_lonlat
from livingcircle.geo.errors import InvalidParameter, PointOutsideRegion, PointTooFarFromNetwork
from livingcircle.geo.facility_index import FacilityIndex, Found, Placed, index_facilities
from livingcircle.geo.hours import RegionHours, timezone_at
from livingcircle.geo.network import FloatArray, StreetNetwork
from livingcircle.geo.positions import Snap
from livingcircle.geo.profile_views import Walking, no_way_error, only_in_view, walked_at
from livingcircle.geo.profiles import Profile
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.results import (
    CatchmentResult,
    Hits,
    NearestResult,
    Origin,
    RequirementStatus,
    Ring,
    TierSummary,
)
from livingcircle.geo.routing import Search, search, snap_points
from livingcircle.geo.standards import Standard

# FacilityIndex lives in facility_index; importers of the engine find it here too
__all__ = ["FacilityIndex", "Region"]


class Region:
    """A region ready to answer queries.

    Parameters
    ----------
    name
        Region name.
    network
        The walking network, projected.
    facilities
        Facilities in EPSG:4326 with ``id``, ``name``, ``name_zh``, ``category``,
        ``opening_hours`` and a Point or Polygon geometry.
    standard
        Categories, tiers and profiles.
    max_snap_m
        Query points farther than this from any street are refused.
    timezone
        The region's IANA time zone, for opening hours; default: the standards file's
        ``[timezones]`` entry for ``name``, else the zone at the region's centre.
    profile
        Set on a region as one walking profile walks it (:meth:`walked_at`).
    placed
        The facilities already placed on the network (a region cache,
        :mod:`livingcircle.geo.region_cache`); default: snapped here.
    """

    def __init__(
        self,
        name: str,
        network: StreetNetwork,
        facilities: gpd.GeoDataFrame,
        standard: Standard,
        max_snap_m: float = config.MAX_SNAP_M,
        timezone: str | None = None,
        profile: Profile | None = None,
        placed: Placed | None = None,
    ) -> None:
        self.name = name
        #: its walking profile (None: by length) and its views at others (geo/profile_views)
        self.walking = Walking(profile, facilities)
        self.net = network.warm()
        self.standard = standard
        self.max_snap_m = max_snap_m
        self._to_xy = Transformer.from_crs("EPSG:4326", network.crs, always_xy=True)
        self._to_lonlat = Transformer.from_crs(network.crs, "EPSG:4326", always_xy=True)
        index, self.unsnapped_facilities = index_facilities(
            self.net, facilities, standard.category_ids, placed
        )
        self.facilities: FacilityIndex = index
        #: The area this region answers for (lon/lat): its streets' hull plus the snap limit.
        self.boundary = self._boundary()
        centre = self.boundary.centroid
        #: The region's time zone (IANA name), found once when the engine is built.
        self.timezone = timezone or standard.timezones.get(name) or timezone_at(centre.x, centre.y)
        #: Opening hours of the facilities, evaluated in :attr:`timezone`.
        self.hours = RegionHours(
            self.facilities.text["opening_hours"],
            self.timezone,
            (centre.x, centre.y),
            standard.closing_soon_minutes,
        )
        self._category_counts = np.bincount(
            self.facilities.category, minlength=len(standard.categories)
        )
        self._fields: NDArray[np.float32] | None = None
        #: per tier, per requirement: the category codes that meet it
        self._requirement_codes = [
            [[standard.category_index(c) for c in r.categories] for r in t.requirements]
            for t in standard.tiers
        ]

    # -- set-up ---------------------------------------------------------------------------

    def prepare_nearest(self) -> Region:
        """Compute each category's distance field, so nearest queries search only as far as needed.

        A field holds every street node's walking distance to the nearest facility of one
        category (one reversed Dijkstra per category; float32, 4 bytes a node a category).
        With the fields a nearest query knows how far its answers lie before it searches, and
        runs one search of exactly that radius; without them it starts a detour beyond the
        facilities nearest as the crow flies and widens until it is sure. The answer is the same
        either way (the search decides it); the API prepares its regions at start-up, a
        one-off query from the command line does not pay for it. The facilities' opening
        hours are parsed here too, rather than on the first request.
        """
        self.hours.parse_all()
        fac = self.facilities
        fields = np.full(
            (len(self.standard.categories), self.net.n_nodes), np.inf, dtype=np.float32
        )
        graph = ReachGraph(self.net)  # one reversed graph for every category
        for code in np.flatnonzero(self._category_counts):
            mine = fac.snap[np.flatnonzero(fac.category == code)]
            fields[code] = graph.nearest(mine, config.NEAREST_MAX_RADIUS_M)
        self._fields = fields
        return self

    @property
    def prepared(self) -> bool:
        """Whether :meth:`prepare_nearest` has run."""
        return self._fields is not None

    def walked_at(self, profile: str, speed_m_s: float | None = None) -> Region:
        """The region as ``profile`` walks it (``geo/profile_views.py``); self if speed only."""
        return walked_at(self, profile, speed_m_s)

    def _boundary(self) -> BaseGeometry:
        xy = self.net.node_xy
        try:  # scipy's hull is far faster than building a million shapely points
            hull: BaseGeometry = shapely.Polygon(xy[ConvexHull(xy).vertices])
        except QhullError:  # fewer than three nodes, or all in a line
            hull = shapely.convex_hull(shapely.multipoints(xy))
        boundary = self._lonlat_geom(shapely.buffer(hull, self.max_snap_m))
        shapely.prepare(boundary)  # every query asks whether its point lies inside
        return boundary

    def project(self, lon: FloatArray | float, lat: FloatArray | float) -> FloatArray:
        """WGS 84 coordinates to the network's metric CRS, as an (n, 2) array."""
        x, y = self._to_xy.transform(np.atleast_1d(lon), np.atleast_1d(lat))
        return np.column_stack([x, y]).astype(np.float64)

    def unproject(self, xy: FloatArray) -> FloatArray:
        """Metric (n, 2) coordinates back to lon/lat, as an (n, 2) array."""
        lon, lat = self._to_lonlat.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat]).astype(np.float64)

    def unproject_geom(self, geom: BaseGeometry) -> BaseGeometry:
        """A geometry in the network's metric CRS, in lon/lat."""
        return self._lonlat_geom(geom)

    def contains(self, lon: float, lat: float) -> bool:
        """Whether a point lies within :attr:`boundary`."""
        return bool(shapely.contains_xy(self.boundary, lon, lat))

    def contains_many(self, lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
        """Whether each point lies within :attr:`boundary`."""
        return np.asarray(shapely.contains_xy(self.boundary, lon, lat), dtype=np.bool_)

    def snap_xy(self, xy: FloatArray) -> Snap:
        """Metric (n, 2) points on their nearest street, as queries place them."""
        return snap_points(self.net, xy, self.max_snap_m)

    def streets_near(self, lon: float, lat: float, radius_m: float) -> BaseGeometry:
        """Street lines (lon/lat) within ``radius_m`` of a point, for drawing a base map."""
        x, y = self._to_xy.transform(lon, lat)
        hits = self.net.edge_tree.query(
            shapely.box(x - radius_m, y - radius_m, x + radius_m, y + radius_m)
        )
        lines = shapely.multilinestrings(self.net.edge_geom[np.sort(hits)])
        return shapely.set_precision(self._lonlat_geom(lines), 1e-6)  # ~0.1 m, smaller pages

    def distance_to_nearest(self, category: str, limit_m: float = np.inf) -> FloatArray:
        """Every street node's walking distance to the nearest facility of ``category``."""
        code = self.standard.category_index(category)
        mine = self.facilities.snap[np.flatnonzero(self.facilities.category == code)]
        return ReachGraph(self.net).nearest(mine, limit_m)

    def radius_for(self, category: str) -> float:
        """The tightest GB 50180 service radius that names ``category`` (1000 m if none)."""
        self.standard.category(category)
        radii = [
            r.radius_m
            for t in self.standard.tiers
            for r in t.requirements
            if category in r.categories
        ]
        return min(radii, default=1000.0)

    # -- queries --------------------------------------------------------------------------

    def nearest(
        self,
        lon: float,
        lat: float,
        categories: Iterable[str] | None = None,
        k: int = 1,
        profile: str = "standard",
        speed_m_s: float | None = None,
        max_minutes: float | None = None,
        routes: bool = True,
        open_at: datetime | None = None,
        open_now: bool = False,
        include_unknown: bool = False,
        only: NDArray[np.bool_] | None = None,
    ) -> NearestResult:
        """The ``k`` nearest facilities of each category by walking time.

        Parameters
        ----------
        lon, lat
            The query point, WGS 84.
        categories
            Category ids; all categories when empty.
        k
            Facilities per category, 1 to ``config.MAX_K``.
        profile, speed_m_s
            Walking speed: a named profile, or a speed that overrides it.
        max_minutes
            Ignore facilities farther than this; defaults to ``config.NEAREST_MAX_RADIUS_M``.
        routes
            Attach each facility's walking route.
        open_at
            The moment of the facilities' ``open_status`` (naive: the region's local time);
            default now.
        open_now
            Only facilities open at ``open_at``: ``k`` means ``k`` open ones.
        include_unknown
            With ``open_now``, keep facilities whose hours are unknown too.
        only
            Facility rows (:attr:`facilities` order) that may be answered; default all.
        """
        if (view := self.walked_at(profile, speed_m_s)) is not self:
            return view.nearest(
                lon, lat, categories, k, profile, speed_m_s, max_minutes, routes, open_at,
                open_now, include_unknown, only_in_view(self, view, only),
            )  # fmt: skip
        cats = self.standard.resolve_categories(categories)
        if not 1 <= k <= config.MAX_K:
            raise InvalidParameter(f"k={k} is out of range; allowed: 1 to {config.MAX_K}")
        speed = self.standard.speed(profile, speed_m_s)
        limit = config.NEAREST_MAX_RADIUS_M
        if max_minutes is not None:
            limit = config.check_minutes([max_minutes])[0] * 60 * speed
        start = self._snap(lon, lat)
        certain_extra = float(start.access_m[0])
        wanted = np.array([self.standard.category_index(c) for c in cats], dtype=np.int64)
        when = self.hours.local(open_at)
        allowed = self._allowed(wanted, when, open_now, include_unknown, only)
        need = np.minimum(
            k,
            self._category_counts
            if allowed is None
            else np.bincount(
                self.facilities.category[allowed], minlength=len(self._category_counts)
            ),
        )
        radius = min(self._first_radius(start, wanted[need[wanted] > 0], need), limit)
        while True:
            found = self._facilities_within(search(self.net, start, radius), wanted, allowed)
            picked = found.k_best(need, wanted)
            certain = radius + certain_extra
            if radius >= limit or all(
                len(p) == need[c] and (not p or found.total[p[-1]] <= certain)
                for c, p in picked.items()
            ):
                break
            radius = min(radius * config.NEAREST_GROWTH, limit)
        chosen = [[i for i in picked[int(ci)] if found.total[i] <= limit] for ci in wanted]
        every = np.array([i for mine in chosen for i in mine], dtype=np.intp)
        hits = iter(
            self._hits(found, every, speed, routes=found.search if routes else None, when=when)
        )
        by_cat = {c: [next(hits) for _ in mine] for c, mine in zip(cats, chosen, strict=True)}
        origin, notes = self._origin(lon, lat, start), self.walking.notes
        return NearestResult(self.name, origin, speed, k, by_cat, radius, profile, notes)

    def catchment(
        self,
        lon: float,
        lat: float,
        minutes: Sequence[float] = config.DEFAULT_MINUTES,
        profile: str = "standard",
        speed_m_s: float | None = None,
        open_at: datetime | None = None,
    ) -> CatchmentResult:
        """Rings reachable within each of ``minutes``, their facilities and the tier checklist.

        ``open_at`` is the moment of the facilities' ``open_status`` (naive: the region's
        local time); default now.
        """
        if (view := self.walked_at(profile, speed_m_s)) is not self:
            return view.catchment(lon, lat, minutes, profile, speed_m_s, open_at)
        rings_min = config.check_minutes(minutes)
        speed = self.standard.speed(profile, speed_m_s)
        start = self._snap(lon, lat)
        access = float(start.access_m[0])
        reqs = [r for t in self.standard.tiers for r in t.requirements]
        reach = max(max(rings_min) * 60 * speed, max((r.radius_m for r in reqs), default=0))
        srch = search(self.net, start, max(reach - access, 0.0))
        found = self._facilities_within(srch, np.arange(len(self.standard.categories)))
        rings = self._rings(srch, rings_min, [m * 60 * speed - access for m in rings_min])
        outer = max(rings_min) * 60 * speed
        order = found.order()
        hits = self._hits(
            found,
            order[found.total[order] <= outer],
            speed,
            rings_min,
            when=self.hours.local(open_at),
        )
        tiers = self._tiers(found, order)
        origin, notes = self._origin(lon, lat, start), self.walking.notes
        return CatchmentResult(self.name, origin, speed, rings, hits, tiers, profile, notes)

    # -- helpers --------------------------------------------------------------------------

    def _snap(self, lon: float, lat: float) -> Snap:
        check_lonlat(lon, lat)
        if not self.contains(lon, lat):
            west, south, east, north = self.boundary.bounds
            raise PointOutsideRegion(
                f"point ({lat:.6f}, {lon:.6f}) is outside region {self.name!r}, which covers "
                f"lat {south:.4f} to {north:.4f}, lon {west:.4f} to {east:.4f}"
            )
        xy = np.array([self._to_xy.transform(lon, lat)])
        snap = snap_points(self.net, xy, self.max_snap_m)
        if snap.edge[0] < 0:
            if (refusal := no_way_error(self, xy, lon, lat)) is not None:
                raise refusal
            raise PointTooFarFromNetwork(
                f"point ({lat:.6f}, {lon:.6f}) is more than {self.max_snap_m:.0f} m from any "
                f"walkable street in region {self.name!r}; pick a point on or near a street"
            )
        return snap

    def _first_radius(
        self, start: Snap, codes: NDArray[np.int64], need: NDArray[np.int64]
    ) -> float:
        """Where a nearest search starts: past each category's ``need`` nearest, if known.

        No walk is shorter than the straight line (less the projection's scale,
        ``config.DISC_SLACK``), so each category's ``need``-th nearest facility as the crow
        flies bounds the search from below; it starts a detour factor beyond that
        (``config.NEAREST_DETOUR``), however large the city. With the distance fields and
        one facility a category, walking to either end of the start's edge and on gives an
        upper bound instead (a facility on the same edge may be nearer still, which the
        search finds); float32 fields are rounded up by a centimetre and a part in a million.
        """
        if len(codes) == 0:
            return 0.0
        if self._fields is None or need[codes].max() > 1:
            crow = max(
                float(np.max(self._category_trees[c].query(start.xy[0], k=int(need[c]))[0]))
                for c in codes.tolist()
            )
            return max(
                crow / config.DISC_SLACK * config.NEAREST_DETOUR, config.NEAREST_MIN_RADIUS_M
            )
        net, edge = self.net, start.edge[:1]
        fields = self._fields  # gather only the asked columns: a row is a whole network
        du, dv = fields[codes, int(net.edge_u[edge[0]])], fields[codes, int(net.edge_v[edge[0]])]
        cats = np.zeros(len(codes), dtype=np.int64)  # every category leaves the same edge
        best = positions.to_nodes(net, edge[cats], start.offset_m[cats], du, dv)
        return float(best.max()) * (1 + 1e-6) + 0.01

    @cached_property
    def _category_trees(self) -> list[cKDTree]:
        """A KD-tree per category over its facilities' street positions."""
        fac = self.facilities
        return [
            cKDTree(fac.snap.xy[fac.category == c]) for c in range(len(self.standard.categories))
        ]

    def _allowed(
        self,
        wanted: NDArray[np.int64],
        when: datetime,
        open_now: bool,
        include_unknown: bool,
        only: NDArray[np.bool_] | None,
    ) -> NDArray[np.bool_] | None:
        """Facility rows a nearest query may answer with (None: every row).

        With ``open_now`` the wanted categories' facilities are checked at ``when``, once
        each distinct opening-hours string, in one pass before the search.
        """
        n = len(self.facilities.category)
        if only is not None and np.shape(only) != (n,):
            raise InvalidParameter(
                f"only has shape {np.shape(only)}; allowed: one boolean "
                f"per facility row, shape ({n},)"
            )
        if not open_now:
            return only
        allowed = np.ones(n, dtype=np.bool_) if only is None else np.array(only, dtype=np.bool_)
        rows = np.flatnonzero(allowed & np.isin(self.facilities.category, wanted))
        allowed[rows] = self.hours.open_mask(rows, when, include_unknown)
        return allowed

    def _facilities_within(
        self, srch: Search, wanted: NDArray[np.int64], allowed: NDArray[np.bool_] | None = None
    ) -> Found:
        """Facilities of the wanted categories (and ``allowed`` rows) the search knows exactly."""
        fac = self.facilities
        disc = config.disc_radius(srch.radius_m)
        rows = np.asarray(fac.tree.query_ball_point(srch.start.xy[0], disc), dtype=np.int64)
        rows = np.sort(rows[np.isin(fac.category[rows], wanted)])
        if allowed is not None:
            rows = rows[allowed[rows]]
        net_d = srch.to_positions(fac.snap.edge[rows], fac.snap.offset_m[rows])
        exact = net_d <= srch.radius_m
        rows, net_d = rows[exact], net_d[exact]
        total = srch.start.access_m[0] + net_d + fac.snap.access_m[rows]
        return Found(rows, fac.category[rows], net_d, total, srch)

    def _hits(
        self,
        found: Found,
        pos: NDArray[np.intp],
        speed: float,
        rings: list[int] | None = None,
        routes: Search | None = None,
        when: datetime | None = None,
    ) -> Hits:
        """Facility hits for positions in ``found``, as columns.

        With ``rings`` each hit gets the smallest ring (minutes) holding it; with ``routes``
        (the search that found them) each gets its walking route. Each hit is open, closed
        or unknown at ``when`` (default now), evaluated for these hits only.
        """
        fac, cats = self.facilities, self.standard.categories
        rows, total = found.rows[pos], found.total[pos]
        ring_of: list[int | None] = [None] * len(pos)
        if rings:
            budgets = np.asarray(rings) * 60 * speed
            ring_of = np.asarray(rings)[np.searchsorted(budgets, total)].tolist()
        paths: list[BaseGeometry | None] = [None] * len(pos)
        if routes is not None:
            paths = [*self._routes(routes, rows, found.net[pos])]
        r = rows.tolist()
        c = [cats[i] for i in fac.category[rows].tolist()]
        lon, lat = fac.anchor_lonlat[rows].T.tolist()
        states = self.hours.states(r, when)
        return Hits(
            [fac.text["id"][i] for i in r],
            [fac.text["name"][i] for i in r],
            [fac.text["name_zh"][i] for i in r],
            [x.id for x in c],
            [x.label_en for x in c],
            [x.label_zh for x in c],
            lon,
            lat,
            total.tolist(),
            (total / speed).tolist(),
            [fac.text["opening_hours"][i] for i in r],
            paths,
            ring_of,
            [s.status for s in states],
            [s.closing_soon for s in states],
            [s.opens_at for s in states],
            [s.closes_at for s in states],
            self._access_legs(rows),
        )

    def _access_legs(self, rows: NDArray[np.int64]) -> list[tuple[float, float] | None]:
        """Where the street is, for facilities standing far enough off it to draw the leg.

        A facility reached within a ring may stand up to ``config.MAX_FACILITY_SNAP_M`` off
        the streets the ring is drawn from; its leg to the street shows how it is reached.
        """
        fac = self.facilities
        far = fac.snap.access_m[rows] > config.ACCESS_LEG_SHOWN_M
        street = fac.street_lonlat[rows].tolist()
        return [tuple(xy) if f else None for xy, f in zip(street, far.tolist(), strict=True)]

    def _routes(
        self, srch: Search, rows: NDArray[np.int64], net_m: FloatArray
    ) -> list[BaseGeometry]:
        """Walking routes from the query's snapped point to facilities ``rows`` (lon/lat).

        ``net_m`` are the facilities' network distances (``Found.net``). Each route is the
        search's edge walks to the facility (:meth:`Search.route_legs`) and its anchor. All
        walks are turned into coordinates, and projected, in one call each; consecutive
        repeated points (where one edge meets the next) are dropped, but a route keeps its
        last point (a facility at the start is a two-point route).
        """
        if len(rows) == 0:
            return []
        fac = self.facilities
        edge_a, from_a, to_a, route_a = srch.route_legs(
            fac.snap.edge[rows], fac.snap.offset_m[rows], net_m
        )
        coords, walk = self.net.walk_coords(edge_a, from_a, to_a)
        # each route's coordinates, then its facility's anchor
        owner = np.concatenate([route_a[walk], np.arange(len(rows))])
        order = np.argsort(owner, kind="stable")
        coords = np.vstack([coords, fac.anchor_xy[rows]])[order]
        owner = owner[order]
        keep = np.ones(len(coords), dtype=bool)
        keep[1:] = (owner[1:] != owner[:-1]) | (coords[1:] != coords[:-1]).any(axis=1)
        keep[np.concatenate([owner[1:] != owner[:-1], [True]])] = True  # every route's last
        return list(shapely.linestrings(self.unproject(coords[keep]), indices=owner[keep]))

    def _rings(self, srch: Search, minutes: list[int], budgets: list[float]) -> list[Ring]:
        pieces = srch.reached_pieces_many([max(b, 0.0) for b in budgets])
        polygons = ring_polygons(self.net, pieces)
        lonlat = self._lonlat_geoms(np.array(polygons, dtype=object))
        return [
            Ring(m, ll, float(poly.area), float((p[2] - p[1]).sum()))
            for m, poly, ll, p in zip(minutes, polygons, lonlat, pieces, strict=True)
        ]

    def _tiers(self, found: Found, order: NDArray[np.intp]) -> list[TierSummary]:
        """Each tier's requirements checked against the nearest facility of each category.

        ``order`` is ``found.order()``, which the caller already has.
        """
        n_cats = len(self.standard.categories)
        best = np.full(n_cats, np.inf)
        best_pos = np.full(n_cats, -1)
        cats, first = np.unique(found.cats[order], return_index=True)  # nearest per category
        best[cats], best_pos[cats] = found.total[order[first]], order[first]
        tiers = []
        for tier, codes in zip(self.standard.tiers, self._requirement_codes, strict=True):
            statuses = []
            for req, idx in zip(tier.requirements, codes, strict=True):
                c = idx[int(np.argmin(best[idx]))]
                ok = bool(best[c] <= req.radius_m)
                fid = self.facilities.text["id"][found.rows[best_pos[c]]] if ok else None
                statuses.append(
                    RequirementStatus(
                        req.id,
                        req.label_en,
                        req.label_zh,
                        req.categories,
                        req.radius_m,
                        ok,
                        fid,
                        float(best[c]) if ok else None,
                    )
                )
            tiers.append(
                TierSummary(tier.minutes, tier.distance_m, tier.label_en, tier.label_zh, statuses)
            )
        return tiers

    def _origin(self, lon: float, lat: float, start: Snap) -> Origin:
        slon, slat = self._to_lonlat.transform(*start.xy[0])
        return Origin(lon, lat, float(slon), float(slat), float(start.access_m[0]))

    def _lonlat_geom(self, geom: BaseGeometry) -> BaseGeometry:
        out: BaseGeometry = self._lonlat_geoms(np.array([geom], dtype=object))[0]
        return out

    def _lonlat_geoms(self, geoms: NDArray[np.object_]) -> NDArray[np.object_]:
        """Geometries in the network's metric CRS, in lon/lat (one projection call for all)."""
        return np.asarray(
            shapely.transform(
                geoms, lambda xy: np.column_stack(self._to_lonlat.transform(xy[:, 0], xy[:, 1]))
            )
        )
