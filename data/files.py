"""Files written whole or not at all, and locks across processes: the file store's tools.

Every write either appends in one ``write`` (and fsyncs) or writes a temporary file and
renames it over the old one, so a reader sees the old file or the new, never half of one.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from livingcircle.geo.errors import RegionBusy, StoreError


@contextmanager
def locked(path: Path, wait_s: float, busy: str = "") -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created), waiting up to ``wait_s``.

    Raises
    ------
    RegionBusy
        Another process held it for ``wait_s`` (the message is ``busy``, by default that
        the file is held and to try again).
    """
    busy = busy or f"{path} is held by another process; try again in a moment"
    with open(path, "a+b") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RegionBusy(busy) from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_json(path: Path, value: object) -> None:
    """Write ``value`` as JSON (non-ASCII kept) and fsync it."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=2)
        handle.flush()
        os.fsync(handle.fileno())


def replace_json(path: Path, value: object) -> None:
    """Write ``value`` to ``path`` in one rename (readers see the old file or the new)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    write_json(tmp, value)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_json(path: Path, what: str, empty: object) -> Any:
    """The JSON in ``path`` (``empty`` when there is no such file); errors name ``what``."""
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return empty
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read {what} in {path}: {exc}") from exc


def replace_file(path: Path, data: bytes, what: str) -> None:
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


def append_bytes(path: Path, data: bytes) -> None:
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
        fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
