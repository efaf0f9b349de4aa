"""What the file store's rooms share: its folders, the live version of a region, locks, the log.

The audit logs are JSON lines, ``audit/NAME.jsonl`` (``_store.jsonl`` the store-wide one of
API keys), each entry chained to the one before (:mod:`livingcircle.geo.audit`); an append
holds the log's own lock from reading the last entry to the fsync.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from livingcircle.data.files import append_bytes, locked, replace_file
from livingcircle.geo.audit import (
    GENESIS,
    STORE_LOG,
    ChainReport,
    canonical_bytes,
    entry_from_record,
    entry_record,
    prefix_hash,
    seal,
    verify_chain,
)
from livingcircle.geo.errors import RegionNotFound, StoreError
from livingcircle.geo.store import AuditEntry, RegionInfo, check_cache_key, check_region_name

#: How long an edit waits for a load or another edit of its region before giving up.
EDIT_WAIT_S = 10.0
_FILES = ("nodes.parquet", "edges.parquet", "facilities.parquet", "region.json")
_STORE_FILE = "_store"  # audit/_store.jsonl: the store-wide log (API keys)
_TAIL_CHUNK = 65536
_CACHE_PREFIX = "build-"  # a version's build cache: build-KEY.npz (geo.region_cache)


class FileBase:
    """The folders under ``root``, the regions' live versions and locks, and the audit logs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._regions = self.root / "regions"

    def regions(self) -> list[RegionInfo]:
        """Every loaded region, by name."""
        if not self._regions.is_dir():
            return []
        infos = []
        for folder in sorted(p for p in self._regions.iterdir() if p.is_dir()):
            live = self._live(folder.name)
            if live is not None:
                infos.append(read_info(live / "region.json"))
        return infos

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
        busy = (
            f"region {name!r} is being loaded or changed by another process; "
            "wait for it to finish, then try again"
        )
        with locked(self._regions / f"{name}.lock", wait_s, busy):
            yield

    # -- the build cache -----------------------------------------------------------------

    def region_cache(self, name: str, key: str) -> bytes | None:
        """The live version's ``build-KEY.npz``, or None when it has none under ``key``.

        The blob lives in the version folder it was built from: a load or an edit makes a
        new version without it, and removing the region removes it.
        """
        path = self._require(name) / _cache_file(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:  # none kept, or the version was replaced while read
            return None
        except OSError as exc:
            raise StoreError(
                f"cannot read the build cache of region {name!r} in {path}: {exc}"
            ) from exc

    def save_region_cache(self, name: str, key: str, blob: bytes) -> None:
        """Write ``build-KEY.npz`` into the live version in one rename; other keys' go."""
        live = self._require(name)
        path = live / _cache_file(key)
        replace_file(path, blob, f"build cache of region {name!r}")
        for old in live.glob(f"{_CACHE_PREFIX}*.npz"):
            if old != path:
                old.unlink(missing_ok=True)

    # -- the audit logs ------------------------------------------------------------------

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

    def _append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Seal ``entry`` as the next of its log and append it (O_APPEND, fsync); returns it.

        The log's own lock (``audit/NAME.lock``) is held from reading the last entry to the
        fsync, so two writers (an edit and a status, two processes) never fork the chain.
        """
        path = self._audit_path(entry.region)
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path.with_suffix(".lock"), EDIT_WAIT_S):
            last_seq, last_hash, torn = _log_tail(path)
            sealed = seal(entry, last_seq, last_hash)
            line = canonical_bytes(entry_record(sealed)) + b"\n"
            append_bytes(path, b"\n" + line if torn else line)
        return sealed


def _cache_file(key: str) -> str:
    return f"{_CACHE_PREFIX}{check_cache_key(key)}.npz"


def read_info(path: Path) -> RegionInfo:
    """A version's ``region.json``."""
    return RegionInfo.from_json(json.loads(path.read_text(encoding="utf-8")))


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
