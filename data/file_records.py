"""What the file store keeps besides regions: API keys, kiosks and planner jobs.

``keys.json`` and ``kiosks.json`` are replaced whole in one rename under their own locks;
a job is a folder ``jobs/ID/`` with ``job.json`` and its result layers (``NAME.parquet``).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from livingcircle.data.file_base import EDIT_WAIT_S, FileBase
from livingcircle.data.files import (
    fsync_dir,
    locked,
    read_json,
    replace_file,
    replace_json,
    write_json,
)
from livingcircle.geo.audit import key_entry
from livingcircle.geo.errors import InvalidParameter, JobNotFound, StoreError, UnknownKiosk
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
from livingcircle.geo.store import ApiKey

_KEY_TIMES = ("created_at", "expires_at", "revoked_at", "last_used_at")


class FileRecords(FileBase):
    """API keys, kiosks and jobs of the file store."""

    # -- API keys ------------------------------------------------------------------------

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

    @contextmanager
    def _keys_file(self) -> Iterator[list[ApiKey]]:
        """The key list, locked; written back atomically when the block ends without error."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "keys.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # a key waits as long as it takes
            try:
                keys = self.api_keys()
                yield keys
                replace_json(self.root / "keys.json", [_key_json(k) for k in keys])
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- kiosks --------------------------------------------------------------------------

    def save_kiosk(self, kiosk: Kiosk) -> None:
        """Keep a kiosk in ``kiosks.json``, replacing one with the same id."""
        check_kiosk_fields(kiosk)
        self._require(kiosk.region)
        with self._kiosks_file() as kept:
            kept[kiosk.id] = asdict(kiosk) | {"categories": list(kiosk.categories)}

    def kiosks(self) -> list[Kiosk]:
        """Every kept kiosk, by id."""
        raw = read_json(self.root / "kiosks.json", "the kiosks", {})
        return [
            Kiosk(**(v | {"categories": tuple(v["categories"])})) for _, v in sorted(raw.items())
        ]

    def remove_kiosk(self, kiosk_id: str) -> None:
        """Forget a kiosk."""
        with self._kiosks_file() as kept:
            if kept.pop(kiosk_id, None) is None:
                raise UnknownKiosk(kiosk_id, kept)

    @contextmanager
    def _kiosks_file(self) -> Iterator[dict[str, dict[str, object]]]:
        """The kiosks, locked; written back atomically when the block ends without error."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "kiosks.json"
        with locked(self.root / "kiosks.lock", EDIT_WAIT_S):
            kept: dict[str, dict[str, object]] = read_json(path, "the kiosks", {})
            yield kept
            try:
                replace_json(path, dict(sorted(kept.items())))
            except OSError as exc:
                raise StoreError(f"cannot write the kiosks under {self.root}: {exc}") from exc

    # -- planner jobs --------------------------------------------------------------------

    def create_job(self, job: Job) -> tuple[Job, bool]:
        """Keep ``job`` in ``jobs/ID/`` unless it is there: one rename of a finished folder."""
        folder = self._job_folder(job.id)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.parent / f".new-{job.id}-{uuid.uuid4().hex}"
        try:
            tmp.mkdir()
            write_json(tmp / "job.json", job_to_json(job))
            os.rename(tmp, folder)  # fails when the job's folder exists: it was asked before
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if (folder / "job.json").exists():
                return self.job(job.id), False
            raise StoreError(f"cannot keep job {job.id} under {self.root}: {exc}") from exc
        fsync_dir(folder.parent)
        return job, True

    def save_job(self, job: Job) -> None:
        """Replace ``jobs/ID/job.json`` in one rename."""
        replace_file(
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
        return job_from_json(read_json(path, f"job {job_id}", {}))

    def save_job_layers(self, job_id: str, layers: Mapping[str, bytes]) -> None:
        """Write each layer to ``jobs/ID/NAME.parquet`` in one rename."""
        folder = self._job_folder(job_id)
        for name, data in layers.items():
            replace_file(folder / f"{check_layer_name(name)}.parquet", data, "layer")

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


def _no_key(key_id: str) -> InvalidParameter:
    return InvalidParameter(f"there is no API key {key_id!r}; see 'livingcircle keys list'")


def _key_json(key: ApiKey) -> dict[str, object]:
    out: dict[str, object] = asdict(key)
    for name in _KEY_TIMES:
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
