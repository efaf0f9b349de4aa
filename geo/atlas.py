"""All loaded regions behind one object: find the region for a point, answer there.

The CLI and the API hold one :class:`Atlas`. Each region's engine is built on first use and
kept, so a long-running process builds every region's graph once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from threading import Lock

from livingcircle.geo import config
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import PointOutsideRegion, RegionNotFound
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.results import CatchmentResult, NearestResult
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionInfo, Store


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

    def __init__(self, store: Store, standard: Standard,
                 max_snap_m: float = config.MAX_SNAP_M, prepare_nearest: bool = False) -> None:
        self.store = store
        self.standard = standard
        self.max_snap_m = max_snap_m
        self.prepare_nearest = prepare_nearest
        self._engines: dict[str, Region] = {}
        self._lock = Lock()

    def infos(self) -> list[RegionInfo]:
        """Every loaded region's record."""
        return self.store.regions()

    def region(self, name: str) -> Region:
        """The engine of region ``name``, built on first use."""
        with self._lock:
            if name not in self._engines:
                data = self.store.load_region(name)
                network = StreetNetwork.from_frames(data.nodes, data.edges)
                engine = Region(name, network, data.facilities, self.standard, self.max_snap_m)
                self._engines[name] = engine.prepare_nearest() if self.prepare_nearest \
                    else engine
            return self._engines[name]

    def forget(self, name: str) -> None:
        """Drop a cached engine (after the region was reloaded)."""
        with self._lock:
            self._engines.pop(name, None)

    def locate(self, lon: float, lat: float, region: str | None = None) -> Region:
        """The region that answers for a point: ``region`` if named, else the one containing it."""
        if region is not None:
            return self.region(region)
        for _, engine in sorted(self._engines.items()):  # built ones answer without the store
            if engine.contains(lon, lat):
                return engine
        infos = self.infos()
        if not infos:
            raise RegionNotFound("(any)", [])
        for info in infos:
            if info.covers(lon, lat) and self.region(info.name).contains(lon, lat):
                return self.region(info.name)
        covered = "; ".join(
            f"{i.name}: lat {i.bounds[1]:.4f} to {i.bounds[3]:.4f}, "
            f"lon {i.bounds[0]:.4f} to {i.bounds[2]:.4f}" for i in infos)
        raise PointOutsideRegion(
            f"point ({lat:.6f}, {lon:.6f}) is outside every loaded region ({covered}); "
            "load the area first with 'livingcircle load FILE --region NAME'"
        )

    def nearest(self, lon: float, lat: float, categories: Iterable[str] | None = None,
                region: str | None = None, **options: object) -> NearestResult:
        """:meth:`Region.nearest` in the region containing the point."""
        self.standard.resolve_categories(categories)
        return self.locate(lon, lat, region).nearest(lon, lat, categories, **options)  # type: ignore[arg-type]

    def catchment(self, lon: float, lat: float, minutes: Sequence[float] = config.DEFAULT_MINUTES,
                  region: str | None = None, **options: object) -> CatchmentResult:
        """:meth:`Region.catchment` in the region containing the point."""
        return self.locate(lon, lat, region).catchment(lon, lat, minutes, **options)  # type: ignore[arg-type]
