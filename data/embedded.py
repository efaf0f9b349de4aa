"""The embedded store: GeoParquet files in a data directory. No server needed.

Layout::

    DATA_DIR/regions/NAME/CURRENT            name of the live version folder
    DATA_DIR/regions/NAME/v-<time>-<pid>/    nodes, edges, facilities (.parquet), region.json
    DATA_DIR/regions/NAME.lock               held while a load of NAME runs
    DATA_DIR/regions/NAME/status.json        live statuses of its facilities, by id
    DATA_DIR/kiosks.json                     kiosks added with 'livingcircle kiosk add'
    DATA_DIR/audit/NAME.jsonl                the record of changes (facilities, statuses)
    DATA_DIR/jobs/ID/job.json, NAME.parquet  planner jobs and their result layers

A load writes a new version folder, then switches ``CURRENT`` with an atomic rename; readers
never see a half-written region, and a failed or killed load leaves the old one live.
Statuses and kiosks are small JSON files, each replaced whole in one rename under its own
lock (a status waits for no load).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from livingcircle.geo.audit import (
    GENESIS,
    STORE_LOG,
    ChainReport,
    canonical_bytes,
    entry_from_record,
    entry_record,
    import_entry,
    key_entry,
    load_entry,
    prefix_hash,
    removal_entry,
    seal,
    verify_chain,
)
from livingcircle.geo.errors import (
    FacilityExists,
    FacilityNotFound,
    InvalidParameter,
    JobNotFound,
    RegionBusy,
    RegionNotFound,
    StoreError,
    UnknownKiosk,
)
from livingcircle.geo.jobs import (
    Job,
    check_job_id,
    check_layer_name,
    job_from_json,
    job_to_json,
    missing_layer,
)
from livingcircle.geo.keys import SOURCES_KEY, check_owner, revoked, sources_in_tags
from livingcircle.geo.kiosks import Kiosk, check_kiosk_fields
from livingcircle.geo.standards import Standard
from livingcircle.geo.status import FacilityStatus, check_status, status_from_json
from livingcircle.geo.store import (
    ApiKey,
    AuditEntry,
    Bounds,
    FacilityChange,
    FacilityKeep,
    FacilityRecord,
    LoadStats,
    RegionData,
    RegionInfo,
    check_facilities,
    check_record,
    check_region_name,
    facility_json,
    load_stats,
    with_facilities,
)
from livingcircle.geo.text import check_edges

#: How long an edit waits for a load or another edit of its region before giving up.
EDIT_WAIT_S = 10.0
_FILES = ("nodes.parquet", "edges.parquet", "facilities.parquet", "region.json")


class FileStore:
    """Regions as GeoParquet files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._regions = self.root / "regions"
        # facilities of the live version of each region; a version folder never changes
        self._facility_cache: dict[str, tuple[Path, gpd.GeoDataFrame]] = {}
        self._sweep()

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
                _write_json(version / "region.json", _info_json(data.info))
                _fsync_dir(version)
                old = None if live is None else _read_info(live / "region.json")
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
                info = _read_info(live / "region.json")
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
            frame = change(_read_info(live / "region.json"), facilities)
            if frame is None:
                return None
            check_facilities(region, frame)
            entry = import_entry(region, facilities, frame, source, actor)
            self._publish(
                region,
                live,
                frame,
                entry.at,
                f"cannot update the facilities of region {region!r}",
                lambda: self._record(entry),
            )
        return load_stats(entry, len(frame))

    def delete_region(self, name: str) -> None:
        """Remove a region and all its versions."""
        live = self._require(name)
        with self._lock(name):
            self._append_audit(removal_entry(_read_info(live / "region.json")))
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

    # -- facility look-ups and edits (the API's) -----------------------------------------

    def facility(self, region: str, facility_id: str) -> gpd.GeoDataFrame:
        """The facility ``facility_id`` as a one-row frame."""
        frame = self._facilities(region, None)
        row = frame[(frame["id"] == facility_id).to_numpy()]
        if row.empty:
            raise FacilityNotFound(region, facility_id)
        return row.reset_index(drop=True)

    def find_facilities(
        self,
        region: str,
        bbox: Bounds | None = None,
        categories: list[str] | None = None,
        text: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> gpd.GeoDataFrame:
        """As :meth:`facilities`, also matching ``text`` in any name (case-insensitive)."""
        frame = self._facilities(region, bbox)
        if categories:
            frame = frame[frame["category"].isin(categories)]
        if text:
            needle = text.casefold()
            hit = np.zeros(len(frame), dtype=bool)
            for column in ("name", "name_zh", "name_en"):
                names = frame[column].fillna("").astype(str).str.casefold()
                hit |= names.str.contains(needle, regex=False).to_numpy()
            frame = frame[hit]
        frame = frame.sort_values("id", kind="stable")
        return frame.iloc[offset : offset + limit].reset_index(drop=True)

    def save_facility(
        self, region: str, record: FacilityRecord, actor: str, create: bool
    ) -> AuditEntry:
        """Create or replace one facility, with its audit entry, as a new region version."""

        def change(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, object] | None]:
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
            added = gpd.GeoDataFrame([row], geometry=[record.geometry], crs=frame.crs)
            before = facility_json(frame[hit]) if hit.any() else None
            return pd.concat([frame[~hit], added], ignore_index=True), before

        action = "create" if create else "update"
        return self._edit(region, record.id, action, actor, change)

    def delete_facility(self, region: str, facility_id: str, actor: str) -> AuditEntry:
        """Remove one facility, with its audit entry, as a new region version."""

        def change(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, object] | None]:
            hit = (frame["id"] == facility_id).to_numpy()
            if not hit.any():
                raise FacilityNotFound(region, facility_id)
            return frame[~hit], facility_json(frame[hit])

        return self._edit(region, facility_id, "delete", actor, change)

    def audit(self, region: str, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """Recorded changes of a region (or the store's keys: ``STORE_LOG``), newest first."""
        lines = self._audit_lines(region)
        numbered = list(enumerate(lines, start=1))[::-1][offset : offset + limit]
        entries = []
        for number, line in numbered:
            try:
                entries.append(entry_from_record(json.loads(line), number))
            except (ValueError, KeyError, TypeError):
                continue  # a write cut short; 'livingcircle audit verify' names it
        return entries

    def audit_logs(self) -> list[str]:
        """Every log kept: ``audit/NAME.jsonl`` (``_store.jsonl`` is the keys' log)."""
        folder = self.root / "audit"
        names = sorted(p.stem for p in folder.glob("*.jsonl")) if folder.is_dir() else []
        return [STORE_LOG if n == _STORE_FILE else n for n in names]

    def check_audit(self, log: str) -> ChainReport:
        """Check the chain of ``audit/NAME.jsonl``, line by line as stored."""
        lines = self._audit_lines(log)
        start = _unchained(lines)
        prefix = prefix_hash([(line + "\n").encode() for line in lines[:start]])
        report = verify_chain(
            log,
            ((f"line {i}", _record(line)) for i, line in enumerate(lines, 1) if i > start),
            prefix,
            start + 1,
        )
        report.unchained = start
        return report

    def _audit_path(self, log: str) -> Path:
        name = _STORE_FILE if log == STORE_LOG else check_region_name(log)
        return self.root / "audit" / f"{name}.jsonl"

    def _audit_lines(self, log: str) -> list[str]:
        try:
            text = self._audit_path(log).read_text("utf-8")
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read the audit log of {log!r}: {exc}") from exc
        return [line for line in text.split("\n") if line.strip()]

    def add_api_key(self, key: ApiKey) -> None:
        """Keep a new key's record (its hash; never the secret); its owner must be no source."""
        check_owner(key.owner, self.import_sources())
        with self._keys_file() as keys:
            if any(k.key_id == key.key_id for k in keys):
                raise InvalidParameter(
                    f"there is already an API key {key.key_id!r}; make another with "
                    "'livingcircle keys add'"
                )
            self._append_audit(key_entry("key-add", None, key))
            keys.append(key)

    def api_keys(self) -> list[ApiKey]:
        """Every key, oldest first (revoked ones too)."""
        try:
            raw = json.loads((self.root / "keys.json").read_text("utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read the API keys in {self.root}: {exc}") from exc
        return [_key_from_json(k) for k in raw]

    def remove_api_key(self, key_id: str) -> None:
        """Delete a key's record (``revoke_api_key`` keeps it)."""
        with self._keys_file() as keys:
            kept = [k for k in keys if k.key_id != key_id]
            if len(kept) == len(keys):
                raise _no_key(key_id)
            gone = next(k for k in keys if k.key_id == key_id)
            self._append_audit(key_entry("key-revoke", gone, None))
            keys[:] = kept

    def revoke_api_key(self, key_id: str) -> ApiKey:
        """Mark a key revoked now (kept in the list); returns it."""
        with self._keys_file() as keys:
            at = next((i for i, k in enumerate(keys) if k.key_id == key_id), None)
            if at is None:
                raise _no_key(key_id)
            was = keys[at]
            keys[at] = revoked(keys[at])
            if was.revoked_at is None:
                self._append_audit(key_entry("key-revoke", was, keys[at]))
            return keys[at]

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        """Record a key's last use (ignored for an unknown id)."""
        with self._keys_file() as keys:
            for i, k in enumerate(keys):
                if k.key_id == key_id and (k.last_used_at is None or k.last_used_at < at):
                    keys[i] = replace(k, last_used_at=at)

    def import_sources(self) -> set[str]:
        """The sources named in the regions' facilities' ``lc:sources``."""
        found: set[str] = set()
        for info in self.regions():
            live = self._live(info.name)
            if live is None:
                continue
            tags = pd.read_parquet(live / "facilities.parquet", columns=["tags"])["tags"]
            found |= sources_in_tags(t for t in tags if isinstance(t, str) and SOURCES_KEY in t)
        return found

    # -- live statuses and kiosks -------------------------------------------------------

    def set_status(self, region: str, status: FacilityStatus, actor: str) -> AuditEntry:
        """Keep a facility's status (``regions/NAME/status.json``), its audit entry first."""
        status = replace(check_status(status, datetime.now(UTC)), actor=actor)
        folder = self._require(region).parent
        row = self.facility(region, status.facility_id)  # FacilityNotFound
        status = replace(status, category=str(row["category"].iloc[0]))
        with self._file_lock(folder / "status.lock", EDIT_WAIT_S):
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
                _replace_json(folder / "status.json", dict(sorted(kept.items())))
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

    def save_kiosk(self, kiosk: Kiosk) -> None:
        """Keep a kiosk in ``kiosks.json``, replacing one with the same id."""
        check_kiosk_fields(kiosk)
        self._require(kiosk.region)
        with self._kiosks_file() as kept:
            kept[kiosk.id] = asdict(kiosk) | {"categories": list(kiosk.categories)}

    def kiosks(self) -> list[Kiosk]:
        """Every kept kiosk, by id."""
        raw = self._read_json(self.root / "kiosks.json", "the kiosks", {})
        return [
            Kiosk(**(v | {"categories": tuple(v["categories"])})) for _, v in sorted(raw.items())
        ]

    def remove_kiosk(self, kiosk_id: str) -> None:
        """Forget a kiosk."""
        with self._kiosks_file() as kept:
            if kept.pop(kiosk_id, None) is None:
                raise UnknownKiosk(kiosk_id, kept)

    # -- planner jobs ----------------------------------------------------------------

    def create_job(self, job: Job) -> tuple[Job, bool]:
        """Keep ``job`` in ``jobs/ID/`` unless it is there: one rename of a finished folder."""
        folder = self._job_folder(job.id)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.parent / f".new-{job.id}-{uuid.uuid4().hex}"
        try:
            tmp.mkdir()
            _write_json(tmp / "job.json", job_to_json(job))
            os.rename(tmp, folder)  # fails when the job's folder exists: it was asked before
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if (folder / "job.json").exists():
                return self.job(job.id), False
            raise StoreError(f"cannot keep job {job.id} under {self.root}: {exc}") from exc
        _fsync_dir(folder.parent)
        return job, True

    def save_job(self, job: Job) -> None:
        """Replace ``jobs/ID/job.json`` in one rename."""
        self._replace_file(
            self._job_folder(job.id) / "job.json",
            json.dumps(job_to_json(job), ensure_ascii=False).encode(),
            "job",
        )

    def job(self, job_id: str) -> Job:
        """The job in ``jobs/ID/job.json``."""
        path = self._job_folder(job_id) / "job.json"
        if not path.exists():
            raise JobNotFound(
                f"there is no job {job_id!r}; submit one with POST /v1/regions/{{region}}/analyses"
            )
        return job_from_json(self._read_json(path, f"job {job_id}", {}))

    def save_job_layers(self, job_id: str, layers: Mapping[str, bytes]) -> None:
        """Write each layer to ``jobs/ID/NAME.parquet`` in one rename."""
        folder = self._job_folder(job_id)
        for name, data in layers.items():
            self._replace_file(folder / f"{check_layer_name(name)}.parquet", data, "layer")

    def job_layer(self, job_id: str, name: str) -> bytes:
        """The bytes of ``jobs/ID/NAME.parquet``."""
        folder = self._job_folder(job_id)
        try:
            return (folder / f"{check_layer_name(name)}.parquet").read_bytes()
        except FileNotFoundError:
            self.job(job_id)  # JobNotFound when the job itself is missing
            raise missing_layer(job_id, name, [p.stem for p in folder.glob("*.parquet")]) from None
        except OSError as exc:
            raise StoreError(f"cannot read layer {name!r} of job {job_id}: {exc}") from exc

    def _job_folder(self, job_id: str) -> Path:
        return self.root / "jobs" / check_job_id(job_id)

    def _replace_file(self, path: Path, data: bytes, what: str) -> None:
        """Write ``data`` to ``path`` in one rename; the temporary name is unique per call."""
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write the {what} {path} : {exc}") from exc

    def _read_statuses(self, folder: Path) -> dict[str, dict[str, object]]:
        found: dict[str, dict[str, object]] = self._read_json(
            folder / "status.json", f"the statuses of region {folder.name!r}", {}
        )
        return found

    def _read_json(self, path: Path, what: str, empty: object) -> Any:
        try:
            return json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return empty
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read {what} in {path}: {exc}") from exc

    @contextmanager
    def _kiosks_file(self) -> Iterator[dict[str, dict[str, object]]]:
        """The kiosks, locked; written back atomically when the block ends without error."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._file_lock(self.root / "kiosks.lock", EDIT_WAIT_S):
            kept: dict[str, dict[str, object]] = self._read_json(
                self.root / "kiosks.json", "the kiosks", {}
            )
            yield kept
            try:
                _replace_json(self.root / "kiosks.json", dict(sorted(kept.items())))
            except OSError as exc:
                raise StoreError(f"cannot write the kiosks under {self.root}: {exc}") from exc

    @contextmanager
    def _file_lock(self, path: Path, wait_s: float) -> Iterator[None]:
        with open(path, "a+b") as handle:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise RegionBusy(
                            f"{path} is held by another process; try again in a moment"
                        ) from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

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
        _fsync_dir(folder)

    def _edit(
        self,
        region: str,
        facility_id: str,
        action: str,
        actor: str,
        change: Callable[[gpd.GeoDataFrame], tuple[gpd.GeoDataFrame, dict[str, object] | None]],
    ) -> AuditEntry:
        """Apply ``change`` to the facilities as a new version, its audit entry first."""
        with self._lock(region, EDIT_WAIT_S):
            live = self._require(region)
            frame, before = change(gpd.read_parquet(live / "facilities.parquet"))
            kept = frame[(frame["id"] == facility_id).to_numpy()]
            entry = AuditEntry(
                region,
                facility_id,
                action,
                actor,
                datetime.now(UTC),
                before,
                facility_json(kept) if len(kept) else None,
            )
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
        before_switch: Callable[[], None] | None = None,
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
            info = _info_json(_read_info(live / "region.json")) | {
                "n_facilities": len(frame),
                "loaded_at": at.isoformat(),
            }
            _write_json(version / "region.json", info)
            _fsync_dir(version)
            if before_switch is not None:
                before_switch()
            self._switch(folder, version)
        except OSError as exc:
            shutil.rmtree(version, ignore_errors=True)
            raise StoreError(f"{doing} under {self.root}: {exc}") from exc
        self._collect(folder, keep=version.name)

    def _record(self, entry: AuditEntry) -> None:
        self._append_audit(entry)

    def _append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Seal ``entry`` as the next of its log and append it (O_APPEND, fsync); returns it.

        The log's own lock (``audit/NAME.lock``) is held from reading the last entry to the
        fsync, so two writers (an edit and a status, two processes) never fork the chain.
        """
        path = self._audit_path(entry.region)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._file_lock(path.with_suffix(".lock"), EDIT_WAIT_S):
            last_seq, last_hash, torn = _log_tail(path)
            sealed = seal(entry, last_seq, last_hash)
            line = canonical_bytes(entry_record(sealed)) + b"\n"
            _append_bytes(path, b"\n" + line if torn else line)
        return sealed

    @contextmanager
    def _keys_file(self) -> Iterator[list[ApiKey]]:
        """The key list, locked; written back atomically when the block ends without error."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "keys.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                keys = self.api_keys()
                yield keys
                tmp = self.root / f".keys.{os.getpid()}.json"
                _write_json(
                    tmp,
                    [_key_json(k) for k in keys],
                )
                os.replace(tmp, self.root / "keys.json")
                _fsync_dir(self.root)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _live(self, name: str) -> Path | None:
        """The live version's folder, or None when the region has none.

        A writer may switch versions and remove the old folder between reading ``CURRENT``
        and looking at its files: then ``CURRENT`` has moved on, and it is read again.
        """
        pointer = self._regions / name / "CURRENT"
        seen = None
        while True:
            try:
                version = pointer.read_text(encoding="utf-8").strip()
            except OSError:
                return None
            path = self._regions / name / version
            if all((path / f).exists() for f in _FILES):
                return path
            if version == seen:  # unchanged twice: a broken version, not a switch
                return None
            seen = version

    def _require(self, name: str) -> Path:
        live = self._live(check_region_name(name))
        if live is None:
            raise RegionNotFound(name, [r.name for r in self.regions()])
        return live

    @contextmanager
    def _lock(self, name: str, wait_s: float = 0.0) -> Iterator[None]:
        """The region's lock, across processes, waited for up to ``wait_s``.

        Edits wait, as on PostGIS; a load that finds the region busy fails at once.
        """
        self._regions.mkdir(parents=True, exist_ok=True)
        with open(self._regions / f"{name}.lock", "a+b") as handle:
            deadline = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise RegionBusy(
                            f"region {name!r} is being loaded or changed by another process; "
                            "wait for it to finish, then try again"
                        ) from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

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


def _info_json(info: RegionInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "source": info.source,
        "loaded_at": info.loaded_at.isoformat(),
        "bounds": list(info.bounds),
        "n_nodes": info.n_nodes,
        "n_edges": info.n_edges,
        "n_facilities": info.n_facilities,
    }


def _read_info(path: Path) -> RegionInfo:
    raw = json.loads(path.read_text(encoding="utf-8"))
    w, s, e, n = (float(b) for b in raw["bounds"])
    return RegionInfo(
        raw["name"],
        raw["source"],
        datetime.fromisoformat(raw["loaded_at"]),
        (w, s, e, n),
        int(raw["n_nodes"]),
        int(raw["n_edges"]),
        int(raw["n_facilities"]),
    )


def _no_key(key_id: str) -> InvalidParameter:
    return InvalidParameter(f"there is no API key {key_id!r}; see 'livingcircle keys list'")


def _key_json(key: ApiKey) -> dict[str, object]:
    times = ("created_at", "expires_at", "revoked_at", "last_used_at")
    out: dict[str, object] = asdict(key)
    for name in times:
        value = out[name]
        out[name] = value.isoformat() if isinstance(value, datetime) else None
    return out


def _key_from_json(raw: dict[str, Any]) -> ApiKey:
    def when(name: str) -> datetime | None:
        value = raw.get(name)
        return datetime.fromisoformat(value) if value else None

    return ApiKey(
        raw["key_id"],
        raw["owner"],
        raw["salt"],
        raw["digest"],
        datetime.fromisoformat(raw["created_at"]),
        raw.get("role", "department"),
        expires_at=when("expires_at"),
        revoked_at=when("revoked_at"),
        last_used_at=when("last_used_at"),
    )


_STORE_FILE = "_store"  # audit/_store.jsonl: the store-wide log (API keys)
_TAIL_CHUNK = 65536


def _record(line: str) -> dict[str, Any] | None:
    """A log line as a record, or None when it is not one."""
    try:
        raw = json.loads(line)
    except ValueError:
        return None
    return raw if isinstance(raw, dict) else None


def _unchained(lines: list[str]) -> int:
    """How many lines at the start were written before the chain (records without a hash)."""
    count = 0
    for line in lines:
        raw = _record(line)
        if raw is None or "hash" in raw:
            break
        count += 1
    return count


def _log_tail(path: Path) -> tuple[int, str, bool]:
    """``(seq, hash)`` of a log's last entry, and whether its last write was cut short."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            tail = b""
            while size > 0 and tail.count(b"\n") < 2:
                step = min(_TAIL_CHUNK, size)
                size -= step
                handle.seek(size)
                tail = handle.read(step) + tail
    except FileNotFoundError:
        return 0, GENESIS, False
    torn = bool(tail) and not tail.endswith(b"\n")
    lines = [line for line in tail.split(b"\n")[: None if not torn else -1] if line.strip()]
    last = _record(lines[-1].decode("utf-8", "replace")) if lines else None
    if last is not None and "hash" in last:
        return int(last["seq"]), str(last["hash"]), torn
    # the last line is no chained entry: find the last one, or seal the unchained lines
    every = [line for line in path.read_text("utf-8").split("\n") if line.strip()]
    for line in reversed(every):
        raw = _record(line)
        if raw is not None and "hash" in raw:
            return int(raw["seq"]), str(raw["hash"]), torn
    start = _unchained(every)
    return start, prefix_hash([(line + "\n").encode() for line in every[:start]]), torn


def _append_bytes(path: Path, data: bytes) -> None:
    """Append ``data`` in one write to a file opened O_APPEND, then fsync it."""
    new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    if new:
        _fsync_dir(path.parent)


def _write_json(path: Path, value: object) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=2)
        handle.flush()
        os.fsync(handle.fileno())


def _replace_json(path: Path, value: object) -> None:
    """Write ``value`` to ``path`` in one rename (readers see the old file or the new)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    _write_json(tmp, value)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
