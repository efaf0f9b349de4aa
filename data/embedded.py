"""The embedded store: GeoParquet files in a data directory. No server needed.

Layout::

    DATA_DIR/regions/NAME/CURRENT            name of the live version folder
    DATA_DIR/regions/NAME/v-<time>-<pid>/    nodes, edges, facilities (.parquet), region.json
                                             and build-KEY.npz, the build cache (if kept)
    DATA_DIR/regions/NAME.lock               held while a load of NAME runs
    DATA_DIR/regions/NAME/status.json        live statuses of its facilities, by id
    DATA_DIR/kiosks.json                     kiosks added with 'livingcircle kiosk add'
    DATA_DIR/audit/NAME.jsonl                the record of changes (facilities, statuses)
    DATA_DIR/jobs/ID/job.json, NAME.parquet  planner jobs and their result layers

A load writes a new version folder, then switches ``CURRENT`` with an atomic rename; readers
never see a half-written region, and a failed or killed load leaves the old one live.
Statuses and kiosks are small JSON files, each replaced whole in one rename under its own
lock (a status waits for no load).

The store is three rooms: :mod:`livingcircle.data.file_base` (folders, live versions, locks,
the audit logs), :mod:`livingcircle.data.file_records` (keys, kiosks, jobs) and this module
(regions, facilities, edits, statuses); :mod:`livingcircle.data.files` writes the files.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from livingcircle.data.file_base import EDIT_WAIT_S, read_info
from livingcircle.data.file_records import FileRecords
from livingcircle.data.files import fsync_dir, locked, read_json, replace_json, write_json
from livingcircle.geo.audit import import_entry, load_entry, removal_entry
from livingcircle.geo.errors import FacilityExists, FacilityNotFound, RegionBusy, StoreError
from livingcircle.geo.standards import Standard
from livingcircle.geo.status import FacilityStatus, check_status, status_from_json
from livingcircle.geo.store import (
    EVERY,
    AuditEntry,
    FacilityEdit,
    RegionData,
    canonical_tags,
    check_facilities,
    check_record,
    check_region_name,
    load_stats,
    with_facilities,
)
from livingcircle.geo.text import check_edges

if TYPE_CHECKING:  # in annotations only
    from livingcircle.geo.store import (
        Bounds,
        FacilityChange,
        FacilityKeep,
        FacilityQuery,
        FacilityRecord,
        LoadStats,
    )


class FileStore(FileRecords):
    """Regions as GeoParquet files under ``root``."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        # facilities of the live version of each region; a version folder never changes
        self._facility_cache: dict[str, tuple[Path, gpd.GeoDataFrame]] = {}
        self._sweep()

    def __repr__(self) -> str:
        return f"FileStore({str(self.root)!r})"

    # -- regions -------------------------------------------------------------------------

    def save_region(self, data: RegionData, keep: FacilityKeep | None = None) -> LoadStats:
        """Write a new version of the region, then make it live in one rename; what changed.

        ``keep`` (see :meth:`livingcircle.geo.store.Store.save_region`) reads the live facilities
        under
        the lock.
        """
        name = check_region_name(data.info.name)
        with self._lock(name):
            live = self._live(name)
            stored = None if live is None else gpd.read_parquet(live / "facilities.parquet")
            if keep is not None:
                data = with_facilities(data, keep(stored))
            check_facilities(name, data.facilities)
            check_edges(data.edges, f"region {name!r}")
            data = with_facilities(data, canonical_tags(data.facilities))
            folder = self._regions / name
            version = folder / f"v-{time.time_ns()}-{os.getpid()}"
            try:
                version.mkdir(parents=True)
                # rows in key order, as the PostGIS store returns them
                data.nodes.sort_values("node").to_parquet(version / "nodes.parquet", index=False)
                data.edges.sort_values("edge").to_parquet(version / "edges.parquet", index=False)
                data.facilities.sort_values("id", kind="stable").to_parquet(
                    version / "facilities.parquet", index=False
                )
                write_json(version / "region.json", data.info.to_json())
                fsync_dir(version)
                old = None if live is None else read_info(live / "region.json")
                entry = self._append_audit(load_entry(data, stored, old))
                self._switch(folder, version)
            except OSError as exc:
                shutil.rmtree(version, ignore_errors=True)
                raise StoreError(f"cannot write region {name!r} under {self.root}: {exc}") from exc
            self._collect(folder, keep=version.name)
        return load_stats(entry, len(data.facilities))

    def load_region(self, name: str) -> RegionData:
        """Read a region's live version (again, if an edit replaced it while it was read)."""
        while True:
            live = self._require(name)
            try:
                info = read_info(live / "region.json")
                nodes = pd.read_parquet(live / "nodes.parquet")
                edges = gpd.read_parquet(live / "edges.parquet")
                facilities = gpd.read_parquet(live / "facilities.parquet")
            except (OSError, ValueError) as exc:
                if self._moved_on(name, live):  # removed under us: a newer one is live
                    continue
                raise StoreError(
                    f"region {name!r} under {self.root} cannot be read ({exc}); reload it with "
                    f"'livingcircle load FILE --region {name}'"
                ) from exc
            return RegionData(info, nodes, edges, facilities)

    def _moved_on(self, name: str, version: Path) -> bool:
        """Another version than ``version`` is live now (a load or edit replaced it)."""
        live = self._live(name)
        return live is not None and live != version

    def update_facilities(
        self, region: str, change: FacilityChange, *, source: str = "", actor: str = ""
    ) -> LoadStats | None:
        """Replace the facilities with ``change(info, facilities)`` under the region's lock.

        The new version shares the live one's network files (hard links); None from
        ``change`` writes nothing (and returns None), else it returns what changed. The audit
        log records an ``import`` of ``source`` by ``actor`` (default: this process's user)
        with the facilities added, changed, removed.
        """
        with self._lock(region, EDIT_WAIT_S):
            live = self._require(region)
            facilities = gpd.read_parquet(live / "facilities.parquet")
            frame = change(read_info(live / "region.json"), facilities)
            if frame is None:
                return None
            frame = canonical_tags(check_facilities(region, frame))
            entry = import_entry(region, facilities, frame, source, actor)
            self._publish(
                region,
                live,
                frame,
                entry.at,
                f"cannot update the facilities of region {region!r}",
                lambda: self._append_audit(entry),
            )
        return load_stats(entry, len(frame))

    def delete_region(self, name: str) -> None:
        """Remove a region and all its versions."""
        live = self._require(name)
        with self._lock(name):
            self._append_audit(removal_entry(read_info(live / "region.json")))
            shutil.rmtree(self._regions / name)

    # -- facilities ------------------------------------------------------------------------

    # -- facility look-ups and edits (the API's) -----------------------------------------

    def facility(self, region: str, facility_id: str) -> gpd.GeoDataFrame:
        """The facility ``facility_id`` as a one-row frame."""
        frame = self._facilities(region, None)
        row = frame[(frame["id"] == facility_id).to_numpy()]
        if row.empty:
            raise FacilityNotFound(region, facility_id)
        return row.reset_index(drop=True)

    def facilities(self, region: str, query: FacilityQuery = EVERY) -> gpd.GeoDataFrame:
        """The facilities ``query`` asks for, ordered by id, one page."""
        frame = self._facilities(region, query.bbox)
        if query.categories:
            frame = frame[frame["category"].isin(query.categories)]
        if query.text:
            needle = query.text.casefold()
            hit = np.zeros(len(frame), dtype=bool)
            for column in ("name", "name_zh", "name_en"):
                names = frame[column].fillna("").astype(str).str.casefold()
                hit |= names.str.contains(needle, regex=False).to_numpy()
            frame = frame[hit]
        frame = frame.sort_values("id", kind="stable")
        return frame.iloc[query.offset : query.offset + query.limit].reset_index(drop=True)

    def save_facility(
        self, region: str, record: FacilityRecord, actor: str, create: bool
    ) -> AuditEntry:
        """Create or replace one facility, with its audit entry, as a new region version."""

        def change(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
            hit = (frame["id"] == record.id).to_numpy()
            if create and hit.any():
                raise FacilityExists(
                    f"facility {record.id!r} already exists in region "
                    f"{region!r}; change it with PUT, or pick another source_id"
                )
            if not create and not hit.any():
                raise FacilityNotFound(region, record.id)
            check_record(record)  # what geo.store accepts, as the PostGIS store
            row = {c: getattr(record, c, "") for c in frame.columns if c != "geometry"}
            added = canonical_tags(
                gpd.GeoDataFrame([row], geometry=[record.geometry], crs=frame.crs)
            )
            return pd.concat([frame[~hit], added], ignore_index=True), frame[hit]

        action = "create" if create else "update"
        return self._edit(FacilityEdit(region, record.id, action, actor), change)

    def delete_facility(self, region: str, facility_id: str, actor: str) -> AuditEntry:
        """Remove one facility, with its audit entry, as a new region version."""

        def change(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
            hit = (frame["id"] == facility_id).to_numpy()
            if not hit.any():
                raise FacilityNotFound(region, facility_id)
            return frame[~hit], frame[hit]

        return self._edit(FacilityEdit(region, facility_id, "delete", actor), change)

    # -- live statuses and kiosks -------------------------------------------------------

    def set_status(self, region: str, status: FacilityStatus, actor: str) -> AuditEntry:
        """Keep a facility's status (``regions/NAME/status.json``), its audit entry first."""
        status = replace(check_status(status, datetime.now(UTC)), actor=actor)
        folder = self._require(region).parent
        row = self.facility(region, status.facility_id)  # FacilityNotFound
        status = replace(status, category=str(row["category"].iloc[0]))
        with locked(folder / "status.lock", EDIT_WAIT_S):
            kept = self._read_statuses(folder)
            before = kept.get(status.facility_id)
            kept[status.facility_id] = status.to_json()
            entry = AuditEntry(
                region,
                status.facility_id,
                "status",
                actor,
                datetime.now(UTC),
                before,
                kept[status.facility_id],
            )
            try:
                entry = self._append_audit(entry)
                replace_json(folder / "status.json", dict(sorted(kept.items())))
            except OSError as exc:
                raise StoreError(
                    f"cannot keep the status of {status.facility_id!r} in region "
                    f"{region!r} under {self.root}: {exc}"
                ) from exc
        return entry

    def statuses(self, region: str) -> list[FacilityStatus]:
        """Every facility's last status in the region, by facility id."""
        folder = self._require(region).parent
        return [status_from_json(v) for _, v in sorted(self._read_statuses(folder).items())]

    def _read_statuses(self, folder: Path) -> dict[str, dict[str, object]]:
        found: dict[str, dict[str, object]] = read_json(
            folder / "status.json", f"the statuses of region {folder.name!r}", {}
        )
        return found

    # -- internals -----------------------------------------------------------------------

    def _facilities(self, region: str, bbox: Bounds | None) -> gpd.GeoDataFrame:
        live = self._require(region)
        cached = self._facility_cache.get(region)
        while cached is None or cached[0] != live:
            try:
                cached = (live, gpd.read_parquet(live / "facilities.parquet"))
            except OSError:
                if not self._moved_on(region, live):
                    raise
                live = self._require(region)  # replaced while read: read the new one
                continue
            self._facility_cache[region] = cached
        frame = cached[1]
        if bbox is None:
            return frame
        # geometries whose bounding box meets ``bbox`` (edges included), as PostGIS ``&&``;
        # read_parquet(bbox=) needs a covering column these files do not have
        w, s, e, n = bbox
        b = frame.geometry.bounds
        keep = (b["maxx"] >= w) & (b["minx"] <= e) & (b["maxy"] >= s) & (b["miny"] <= n)
        return frame[keep.to_numpy()]

    def _switch(self, folder: Path, version: Path) -> None:
        """Make ``version`` the live one, in one rename."""
        pointer = folder / f".CURRENT.{os.getpid()}"
        pointer.write_text(version.name, encoding="utf-8")
        os.replace(pointer, folder / "CURRENT")
        fsync_dir(folder)

    def _edit(
        self,
        edit: FacilityEdit,
        change: Callable[[gpd.GeoDataFrame], tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]],
    ) -> AuditEntry:
        """Apply ``change`` (to the facilities and the old row) as a new version, audit first."""
        region, facility_id = edit.region, edit.facility_id
        with self._lock(region, EDIT_WAIT_S):
            live = self._require(region)
            frame, before = change(gpd.read_parquet(live / "facilities.parquet"))
            after = frame[(frame["id"] == facility_id).to_numpy()]
            entry = edit.entry(datetime.now(UTC), before, after)
            sealed: list[AuditEntry] = []
            # the entry goes first: a change is never live unrecorded
            self._publish(
                region,
                live,
                frame,
                entry.at,
                f"cannot change facility {facility_id!r} of region {region!r}",
                lambda: sealed.append(self._append_audit(entry)),
            )
        return sealed[0]

    def _publish(
        self,
        region: str,
        live: Path,
        frame: gpd.GeoDataFrame,
        at: datetime,
        doing: str,
        before_switch: Callable[[], object] | None = None,
    ) -> None:
        """Make ``frame`` the region's facilities in a new version (the region's lock held).

        The network files are hard-linked from the live version, not written again; the new
        load time tells long-running readers (API workers) the region changed.
        """
        folder = self._regions / region
        version = folder / f"v-{time.time_ns()}-{os.getpid()}"
        try:
            version.mkdir()
            for name in ("nodes.parquet", "edges.parquet"):
                os.link(live / name, version / name)
            frame.sort_values("id", kind="stable").to_parquet(
                version / "facilities.parquet", index=False
            )
            info = read_info(live / "region.json").to_json() | {
                "n_facilities": len(frame),
                "loaded_at": at.isoformat(),
            }
            write_json(version / "region.json", info)
            fsync_dir(version)
            if before_switch is not None:
                before_switch()
            self._switch(folder, version)
        except OSError as exc:
            shutil.rmtree(version, ignore_errors=True)
            raise StoreError(f"{doing} under {self.root}: {exc}") from exc
        self._collect(folder, keep=version.name)

    def save_standard(self, standard: Standard) -> bool:
        """Nothing to keep: the file store reads the standard from its file each time."""
        del standard
        return False

    def check_not_busy(self, name: str) -> None:
        """Raise ``RegionBusy`` now if a load or edit of ``name`` runs (before a long read)."""
        with self._lock(check_region_name(name)):
            pass

    def _sweep(self) -> None:
        """Remove version folders that killed loads left behind (not live, not being written).

        A region whose lock another process holds is left alone: its load may be writing.
        """
        if not self._regions.is_dir():
            return
        for folder in [p for p in self._regions.iterdir() if p.is_dir()]:
            if not any(folder.glob("v-*")):
                continue
            try:
                with self._lock(folder.name):  # CURRENT read under the lock: it cannot move
                    live = self._live(folder.name)
                    self._collect(folder, keep="" if live is None else live.name)
            except (RegionBusy, OSError):
                continue

    def _collect(self, folder: Path, keep: str) -> None:
        """Remove every version folder but the live one (left-overs of failed loads too)."""
        for old in folder.glob("v-*"):
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)
