"""All loaded regions behind one object: find the region for a point, answer there.

The CLI and the API hold one :class:`Atlas`. Each region's engine is built on first use and
kept, so a long-running process builds every region's graph once; after a change in the store
it is rebuilt on a thread while the old one answers (:meth:`Atlas.refresh`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from threading import Lock
from typing import TypedDict, Unpack

from livingcircle.geo import config
from livingcircle.geo.coords import great_circle_m
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import (
    AmbiguousRegion,
    LivingCircleError,
    PointOutsideRegion,
    RegionNotFound,
    StoreError,
)
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.region_cache import placed_from_store
from livingcircle.geo.results import CatchmentResult, NearestResult
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import Bounds, RegionInfo, Store

log = logging.getLogger(__name__)

#: Threads that rebuild engines after a change (builds of one region never overlap).
REBUILD_THREADS = 2


class NearestOptions(TypedDict, total=False):
    """The keywords of :meth:`Region.nearest` that :meth:`Atlas.nearest` hands on."""

    k: int
    profile: str
    speed_m_s: float | None
    max_minutes: float | None
    routes: bool
    open_at: datetime | None
    open_now: bool
    include_unknown: bool


class Atlas:
    """Regions of a store, ready to answer.

    Each region's engine is built on first use and kept. A change in the store reaches the
    engines one way, :meth:`refresh`: the region is rebuilt on a thread of the atlas's own
    while the old engine goes on answering, and the new one takes its place when it is ready.
    Builds hold a lock of their region only, so one region's build never holds up another's
    queries.

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
        self._versions: dict[str, datetime] = {}  # the load time each engine was built from
        self._known: list[RegionInfo] | None = None
        self._listed: set[str] | None = None  # the regions the last look at the store found
        self._guard = Lock()  # held only to read or change the dictionaries, never to build
        self._locks: dict[str, Lock] = {}  # one per region, held while it builds
        self._queued: dict[str, Future[None]] = {}  # rebuilds not yet started
        self._pool = ThreadPoolExecutor(REBUILD_THREADS, thread_name_prefix="lc-rebuild")

    def infos(self) -> list[RegionInfo]:
        """Every loaded region's record (read from the store, and remembered)."""
        infos = self.store.regions()
        self._known = infos
        if self._listed is None:
            self._listed = {i.name for i in infos}
        return infos

    def region(self, name: str) -> Region:
        """The engine of region ``name``, built on first use (in the caller's thread)."""
        engine = self._engines.get(name)
        if engine is not None:
            return engine
        with self._lock_of(name):
            engine = self._engines.get(name)
            if engine is None:
                engine = self._install(name, self._build(name))
            return engine

    def in_memory(self) -> list[str]:
        """The regions whose engines are built (they answer while the store is down)."""
        with self._guard:
            return sorted(self._engines)

    def refresh(self, name: str) -> Future[None]:
        """Rebuild region ``name`` from the store, off the caller's thread.

        The one way a change reaches the engines: after a write, a reload or a removal, and
        when :meth:`refresh_changed` finds a newer load time. The old engine answers until the
        new one is ready; a removed region's engine is dropped. A change made while a rebuild
        runs gets a rebuild of its own after it.

        Returns
        -------
        Future
            Done when the engine reflects the store as it was when this was called (or the
            rebuild failed: the old engine stays, the failure is logged, and the next
            :meth:`refresh_changed` tries again). Wait on it to read one's own write.
        """
        with self._guard:
            self._known = None
            queued = self._queued.get(name)
            if queued is not None:  # a rebuild not yet started reads the newest data anyway
                return queued
            future = self._pool.submit(self._rebuild, name)
            self._queued[name] = future
            return future

    def refresh_changed(self, infos: Sequence[RegionInfo]) -> list[str]:
        """Refresh every built region whose load time in ``infos`` is not its engine's.

        Engines of regions no longer in ``infos`` are dropped, and regions new since the
        previous look at the store are built, all in the background. Returns the names
        refreshed.
        """
        now = {i.name: i.loaded_at for i in infos}
        with self._guard:
            built = dict(self._versions)
            new = set(now) - (self._listed or set(now)) - set(built)
            self._listed = set(now)
        changed = {n for n in built.keys() | now.keys() if n in built and built[n] != now.get(n)}
        names = sorted(changed | new)
        for name in names:
            self.refresh(name)
        return names

    def close(self) -> None:
        """Stop the rebuild threads (rebuilds not yet started are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _lock_of(self, name: str) -> Lock:
        with self._guard:
            return self._locks.setdefault(name, Lock())

    def _build(self, name: str) -> tuple[Region, datetime]:
        data = self.store.load_region(name)
        network = StreetNetwork.from_frames(data.nodes, data.edges)
        placed = placed_from_store(self.store, data, network, self.standard.category_ids)
        engine = Region(
            name, network, data.facilities, self.standard, self.max_snap_m, placed=placed
        )
        return (engine.prepare_nearest() if self.prepare_nearest else engine), data.info.loaded_at

    def _install(self, name: str, built: tuple[Region, datetime]) -> Region:
        engine, version = built
        with self._guard:
            self._engines[name], self._versions[name] = engine, version
        return engine

    def _rebuild(self, name: str) -> None:
        with self._lock_of(name):  # one build of a region at a time
            with self._guard:  # from here on a further change needs a rebuild of its own
                self._queued.pop(name, None)
            try:
                built = self._build(name)
            except RegionNotFound:
                with self._guard:
                    self._engines.pop(name, None)
                    self._versions.pop(name, None)
                return
            except LivingCircleError as exc:  # the store is down: the old engine answers
                log.warning("cannot rebuild region %s: %s", name, exc)
                return
            self._install(name, built)

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

    def located(self, lon: float, lat: float, region: str | None = None) -> Region | None:
        """The engine :meth:`locate` gives, when that needs neither a build nor a store read.

        None when the engine is not built yet or the regions are not remembered (after a
        change): call :meth:`locate` then where a wait harms nobody, as the API does in its
        thread pool, so that no build runs on its event loop.
        """
        if region is not None:
            return self._engines.get(region)
        hits = []
        for info in self._known or []:
            if info.covers(lon, lat):
                engine = self._engines.get(info.name)
                if engine is None:
                    return None
                if engine.contains(lon, lat):
                    hits.append(engine)
        return hits[0] if len(hits) == 1 else None

    def nearest(
        self,
        lon: float,
        lat: float,
        categories: Iterable[str] | None = None,
        region: str | None = None,
        **options: Unpack[NearestOptions],
    ) -> NearestResult:
        """:meth:`Region.nearest` in the region containing the point (or ``region``).

        ``options`` are :meth:`Region.nearest`'s keywords (:class:`NearestOptions`).
        """
        self.standard.resolve_categories(categories)
        return self.locate(lon, lat, region).nearest(lon, lat, categories, **options)

    def catchment(
        self,
        lon: float,
        lat: float,
        minutes: Sequence[float] = config.DEFAULT_MINUTES,
        region: str | None = None,
        *,
        profile: str = "standard",
        speed_m_s: float | None = None,
        open_at: datetime | None = None,
    ) -> CatchmentResult:
        """:meth:`Region.catchment` in the region containing the point (or ``region``)."""
        return self.locate(lon, lat, region).catchment(
            lon, lat, minutes, profile=profile, speed_m_s=speed_m_s, open_at=open_at
        )


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
    return great_circle_m(lon, lat, near_lon, near_lat)
