"""All loaded regions behind one object: find the region for a point, answer there.

The CLI and the API hold one :class:`Atlas`. Each region's engine is built on first use and
kept, so a long-running process builds every region's graph once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from threading import Lock

from livingcircle.geo import config
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import AmbiguousRegion, PointOutsideRegion, RegionNotFound, StoreError
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.results import CatchmentResult, NearestResult
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import Bounds, RegionInfo, Store

#: Mean Earth radius (m), for the rough distance to a region named in messages.
EARTH_RADIUS_M = 6_371_008.8


class Atlas:
    """Regions of a store, ready to answer.

    Parameters
    ----------
    store
        Where regions are kept.
    standard
        Categories, tiers and walking profiles.
    max_snap_m
        Query points farther than this from a street are refused.
    prepare_nearest
        Build each region's distance fields with its engine (:meth:`Region.prepare_nearest`):
        worth it for a server answering many nearest queries, not for one query.
    """

    def __init__(
        self,
        store: Store,
        standard: Standard,
        max_snap_m: float = config.MAX_SNAP_M,
        prepare_nearest: bool = False,
    ) -> None:
        self.store = store
        self.standard = standard
        self.max_snap_m = max_snap_m
        self.prepare_nearest = prepare_nearest
        self._engines: dict[str, Region] = {}
        self._known: list[RegionInfo] | None = None
        self._lock = Lock()

    def infos(self) -> list[RegionInfo]:
        """Every loaded region's record (read from the store, and remembered)."""
        infos = self.store.regions()
        self._known = infos
        return infos

    def region(self, name: str) -> Region:
        """The engine of region ``name``, built on first use."""
        with self._lock:
            if name not in self._engines:
                data = self.store.load_region(name)
                network = StreetNetwork.from_frames(data.nodes, data.edges)
                engine = Region(name, network, data.facilities, self.standard, self.max_snap_m)
                self._engines[name] = engine.prepare_nearest() if self.prepare_nearest else engine
            return self._engines[name]

    def in_memory(self) -> list[str]:
        """The regions whose engines are built (they answer while the store is down)."""
        with self._lock:
            return sorted(self._engines)

    def forget(self, name: str) -> None:
        """Drop a cached engine (after the region was reloaded or removed)."""
        with self._lock:
            self._engines.pop(name, None)
            self._known = None

    def locate(self, lon: float, lat: float, region: str | None = None) -> Region:
        """The region that answers for a point: ``region`` if named, else the one containing it.

        Raises
        ------
        AmbiguousRegion
            No region was named and the point lies in more than one.
        PointOutsideRegion
            No region was named and none contains the point; the message names the nearest.
        RegionNotFound
            ``region`` is not loaded, or no region is loaded at all.
        """
        if region is not None:
            return self.region(region)
        known = self._known
        try:
            hits = self._containing(lon, lat, known) if known else []
        except RegionNotFound:  # one of the regions remembered is gone
            hits = []
        if not hits:  # the regions remembered may be outdated: ask the store
            try:
                known = self.infos()
            except StoreError:  # the store is down: the engines in memory answer alone
                hits = [n for n in self.in_memory() if self.region(n).contains(lon, lat)]
                if len(hits) != 1:
                    raise
                return self.region(hits[0])
            hits = self._containing(lon, lat, known)
        if len(hits) == 1:
            return self.region(hits[0])
        if hits:
            raise AmbiguousRegion(lat, lon, hits)
        if not known:
            raise RegionNotFound("(any)", [])
        raise PointOutsideRegion(outside_message(lon, lat, known))

    def _containing(self, lon: float, lat: float, infos: list[RegionInfo]) -> list[str]:
        return [
            i.name for i in infos if i.covers(lon, lat) and self.region(i.name).contains(lon, lat)
        ]

    def nearest(
        self,
        lon: float,
        lat: float,
        categories: Iterable[str] | None = None,
        region: str | None = None,
        **options: object,
    ) -> NearestResult:
        """:meth:`Region.nearest` in the region containing the point."""
        self.standard.resolve_categories(categories)
        return self.locate(lon, lat, region).nearest(lon, lat, categories, **options)  # type: ignore[arg-type]

    def catchment(
        self,
        lon: float,
        lat: float,
        minutes: Sequence[float] = config.DEFAULT_MINUTES,
        region: str | None = None,
        **options: object,
    ) -> CatchmentResult:
        """:meth:`Region.catchment` in the region containing the point."""
        return self.locate(lon, lat, region).catchment(lon, lat, minutes, **options)  # type: ignore[arg-type]


def outside_message(lon: float, lat: float, infos: Sequence[RegionInfo]) -> str:
    """What to tell about a point outside every region: the nearest region and its bounds."""
    near = min(infos, key=lambda i: box_distance_m(lon, lat, i.bounds))
    w, s, e, n = near.bounds
    km = box_distance_m(lon, lat, near.bounds) / 1000
    return (
        f"point ({lat:.6f}, {lon:.6f}) is outside every loaded region; the nearest is "
        f"{near.name} (lat {s:.4f} to {n:.4f}, lon {w:.4f} to {e:.4f}), about {km:,.1f} "
        "km away; give a point inside it, or load the area first with "
        "'livingcircle load FILE --region NAME'"
    )


def box_distance_m(lon: float, lat: float, bounds: Bounds) -> float:
    """Approximate metres from a point to a lon/lat box (0 inside it; spherical Earth).

    Parameters
    ----------
    lon, lat
        The point, WGS 84 degrees.
    bounds
        ``(west, south, east, north)`` in degrees.
    """
    w, s, e, n = bounds
    near_lon, near_lat = min(max(lon, w), e), min(max(lat, s), n)
    phi1, phi2 = math.radians(lat), math.radians(near_lat)
    dphi, dlmb = phi2 - phi1, math.radians(near_lon - lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
