"""The embedded store: GeoParquet files in a data directory. No server needed.

Layout::

    DATA_DIR/regions/NAME/CURRENT            name of the live version folder
    DATA_DIR/regions/NAME/v-<time>-<pid>/    nodes, edges, facilities (.parquet), region.json
    DATA_DIR/regions/NAME.lock               held while a load of NAME runs

A load writes a new version folder, then switches ``CURRENT`` with an atomic rename; readers
never see a half-written region, and a failed or killed load leaves the old one live.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from geo.errors import RegionBusy, RegionNotFound, StoreError
from geo.store import Bounds, RegionData, RegionInfo, check_region_name

_FILES = ("nodes.parquet", "edges.parquet", "facilities.parquet", "region.json")
_GEOD = Geod(ellps="WGS84")


class FileStore:
    """Regions as GeoParquet files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._regions = self.root / "regions"

    def __repr__(self) -> str:
        return f"FileStore({str(self.root)!r})"

    # -- regions -------------------------------------------------------------------------

    def regions(self) -> list[RegionInfo]:
        """Every loaded region, by name."""
        if not self._regions.is_dir():
            return []
        infos = []
        for folder in sorted(p for p in self._regions.iterdir() if p.is_dir()):
            live = self._live(folder.name)
            if live is not None:
                infos.append(_read_info(live / "region.json"))
        return infos

    def save_region(self, data: RegionData) -> None:
        """Write a new version of the region, then make it live in one rename."""
        name = check_region_name(data.info.name)
        with self._lock(name):
            folder = self._regions / name
            version = folder / f"v-{time.time_ns()}-{os.getpid()}"
            try:
                version.mkdir(parents=True)
                # rows in key order, as the PostGIS store returns them
                data.nodes.sort_values("node").to_parquet(version / "nodes.parquet", index=False)
                data.edges.sort_values("edge").to_parquet(version / "edges.parquet", index=False)
                data.facilities.sort_values("id", kind="stable").to_parquet(
                    version / "facilities.parquet", index=False)
                _write_json(version / "region.json", _info_json(data.info))
                _fsync_dir(version)
                pointer = folder / f".CURRENT.{os.getpid()}"
                pointer.write_text(version.name, encoding="utf-8")
                os.replace(pointer, folder / "CURRENT")
                _fsync_dir(folder)
            except OSError as exc:
                shutil.rmtree(version, ignore_errors=True)
                raise StoreError(f"cannot write region {name!r} under {self.root}: {exc}") from exc
            self._collect(folder, keep=version.name)

    def load_region(self, name: str) -> RegionData:
        """Read a region's live version."""
        live = self._require(name)
        try:
            info = _read_info(live / "region.json")
            nodes = pd.read_parquet(live / "nodes.parquet")
            edges = gpd.read_parquet(live / "edges.parquet")
            facilities = gpd.read_parquet(live / "facilities.parquet")
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"region {name!r} under {self.root} cannot be read ({exc}); reload it with "
                f"'livingcircle load FILE --region {name}'"
            ) from exc
        return RegionData(info, nodes, edges, facilities)

    def delete_region(self, name: str) -> None:
        """Remove a region and all its versions."""
        self._require(name)
        with self._lock(name):
            shutil.rmtree(self._regions / name)

    # -- facilities ------------------------------------------------------------------------

    def facilities(
        self,
        region: str,
        bbox: Bounds | None = None,
        categories: list[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> gpd.GeoDataFrame:
        """Facilities intersecting ``bbox`` in ``categories``, ordered by id, one page."""
        frame = self._facilities(region, bbox)
        if categories:
            frame = frame[frame["category"].isin(categories)]
        frame = frame.sort_values("id", kind="stable")
        return frame.iloc[offset : offset + limit].reset_index(drop=True)

    def nearest_candidates(
        self, region: str, lon: float, lat: float, categories: list[str] | None, limit: int
    ) -> gpd.GeoDataFrame:
        """The ``limit`` facilities nearest in a straight line, with ``straight_m``."""
        frame = self._facilities(region, None)
        if categories:
            frame = frame[frame["category"].isin(categories)]
        points = frame.geometry.representative_point()
        _, _, dist = _GEOD.inv(np.full(len(frame), lon), np.full(len(frame), lat),
                               points.x.to_numpy(), points.y.to_numpy())
        frame = frame.assign(straight_m=dist)
        return frame.sort_values(["straight_m", "id"]).head(limit).reset_index(drop=True)

    def facilities_in_polygon(
        self, region: str, polygon: BaseGeometry, categories: list[str] | None = None
    ) -> gpd.GeoDataFrame:
        """Facilities whose geometry intersects ``polygon`` (EPSG:4326), ordered by id."""
        frame = self._facilities(region, polygon.bounds)
        if categories:
            frame = frame[frame["category"].isin(categories)]
        frame = frame[frame.geometry.intersects(polygon)]
        return frame.sort_values("id", kind="stable").reset_index(drop=True)

    # -- internals -----------------------------------------------------------------------

    def _facilities(self, region: str, bbox: Bounds | None) -> gpd.GeoDataFrame:
        live = self._require(region)
        frame = gpd.read_parquet(live / "facilities.parquet")
        if bbox is None:
            return frame
        # geometries whose bounding box meets ``bbox`` (edges included), as PostGIS ``&&``;
        # read_parquet(bbox=) needs a covering column these files do not have
        w, s, e, n = bbox
        b = frame.geometry.bounds
        keep = (b["maxx"] >= w) & (b["minx"] <= e) & (b["maxy"] >= s) & (b["miny"] <= n)
        return frame[keep.to_numpy()]

    def _live(self, name: str) -> Path | None:
        pointer = self._regions / name / "CURRENT"
        try:
            version = pointer.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        path = self._regions / name / version
        return path if all((path / f).exists() for f in _FILES) else None

    def _require(self, name: str) -> Path:
        live = self._live(check_region_name(name))
        if live is None:
            raise RegionNotFound(name, [r.name for r in self.regions()])
        return live

    @contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        self._regions.mkdir(parents=True, exist_ok=True)
        with open(self._regions / f"{name}.lock", "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RegionBusy(
                    f"region {name!r} is being loaded by another process; wait for it to "
                    "finish, then try again"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _collect(self, folder: Path, keep: str) -> None:
        """Remove every version folder but the live one (left-overs of failed loads too)."""
        for old in folder.glob("v-*"):
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)


def _info_json(info: RegionInfo) -> dict[str, object]:
    return {"name": info.name, "source": info.source, "loaded_at": info.loaded_at.isoformat(),
            "bounds": list(info.bounds), "n_nodes": info.n_nodes, "n_edges": info.n_edges,
            "n_facilities": info.n_facilities}


def _read_info(path: Path) -> RegionInfo:
    raw = json.loads(path.read_text(encoding="utf-8"))
    w, s, e, n = (float(b) for b in raw["bounds"])
    return RegionInfo(raw["name"], raw["source"], datetime.fromisoformat(raw["loaded_at"]),
                      (w, s, e, n), int(raw["n_nodes"]), int(raw["n_edges"]),
                      int(raw["n_facilities"]))


def _write_json(path: Path, value: object) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=2)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
