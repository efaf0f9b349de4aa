"""The audit log's hash chain: how an entry is sealed, and how a whole log is checked.

Each store keeps one log per region (the changes of its facilities, statuses, loads,
imports and its removal) and one store-wide log, :data:`STORE_LOG`, of the API keys made and
revoked. Every entry carries ``seq`` (1, 2, 3, ... within its log), ``prev`` (the hash of
the entry before it; :data:`GENESIS` for the first) and ``hash``::

    hash = SHA-256( canonical JSON of {seq, region, facility_id, action, actor, at,
                                       before, after, prev} )

Canonical JSON has sorted keys, no spaces, UTF-8, and floats that hold a whole number
written as integers (PostgreSQL's JSONB gives ``1e20`` back as ``100000000000000000000``
and ``-0.0`` as ``0``; both stores hash what they will read back). ``at`` is ISO 8601 UTC
to the microsecond (:func:`format_at`).

Editing an entry breaks its hash, removing one breaks ``seq`` and the next ``prev``,
reordering breaks ``seq``; :func:`verify_chain` names the entry and what is wrong. The
chain cannot show a cut at the very end by itself: keep the head hash that ``livingcircle
audit verify`` prints, and pass it back with ``--head`` to check that nothing after it was
cut.

Entries written before the chain existed (embedded store: lines without ``hash``) may only
come first; the first chained entry's ``prev`` is then the SHA-256 of those lines' bytes, so
they are sealed too. The PostGIS migration chains its old rows instead (0006).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from livingcircle.geo.store import FACILITY_COLUMNS, ApiKey, AuditEntry, RegionData, RegionInfo

#: ``prev`` of a log's first entry.
GENESIS = "0" * 64
#: The name of the store-wide log (API keys); no region has it (names start with [a-z0-9]).
STORE_LOG = ""
#: What an entry records, by action.
ACTIONS = {
    "create": "a facility created through the API",
    "update": "a facility changed through the API",
    "delete": "a facility deleted through the API",
    "status": "a facility's live status set",
    "load": "a region loaded or reloaded (livingcircle load, fetch): facilities added, "
    "changed and removed",
    "import": "facilities replaced by an import (livingcircle import): added, changed, removed",
    "region-remove": "a region removed (livingcircle regions remove)",
    "key-add": "an API key made (livingcircle keys add)",
    "key-revoke": "an API key revoked or removed",
}
_FIELDS = ("seq", "region", "facility_id", "action", "actor", "at", "before", "after", "prev")


def format_at(at: datetime) -> str:
    """``at`` as the log writes it: ISO 8601 in UTC, to the microsecond."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def local_actor() -> str:
    """Who runs this process, as an actor: ``local:USER`` (CLI loads, imports, keys)."""
    try:
        return f"local:{getpass.getuser()}"
    except (OSError, KeyError):
        return "local:unknown"


def canonical(value: Any) -> Any:
    """``value`` as it reads back from JSON or JSONB: whole floats as ints, no ``-0.0``.

    Raises
    ------
    ValueError
        ``value`` holds NaN or an infinity (JSON has neither).
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be kept in the audit log (JSON has no NaN)")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def canonical_bytes(value: Any) -> bytes:
    """Canonical JSON of ``value`` (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def entry_record(entry: AuditEntry) -> dict[str, Any]:
    """The entry as the log keeps it (one JSON object): what is hashed, and ``hash``."""
    return {
        "seq": entry.seq,
        "region": entry.region,
        "facility_id": entry.facility_id,
        "action": entry.action,
        "actor": entry.actor,
        "at": format_at(entry.at),
        "before": canonical(entry.before),
        "after": canonical(entry.after),
        "prev": entry.prev,
        "hash": entry.hash,
    }


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a record's fields but ``hash``."""
    return hashlib.sha256(canonical_bytes({k: record.get(k) for k in _FIELDS})).hexdigest()


def seal(entry: AuditEntry, last_seq: int, last_hash: str) -> AuditEntry:
    """``entry`` as the next one of its log, after the entry ``last_seq`` with ``last_hash``.

    Its before/after are made canonical, so the returned entry equals what is read back.
    """
    sealed = replace(
        entry,
        seq=last_seq + 1,
        prev=last_hash,
        at=datetime.fromisoformat(format_at(entry.at)),
        before=canonical(entry.before),
        after=canonical(entry.after),
        hash="",
    )
    return replace(sealed, hash=record_hash(entry_record(sealed)))


def entry_from_record(raw: Mapping[str, Any], position: int = 0) -> AuditEntry:
    """An entry from its record (a record without ``seq`` takes ``position``).

    A facility's columns come in column order again (``id``, ``source``, ..., ``geometry``),
    tags sorted, as the PostGIS store gives them back.
    """
    return AuditEntry(
        str(raw["region"]),
        str(raw["facility_id"]),
        str(raw["action"]),
        str(raw["actor"]),
        datetime.fromisoformat(str(raw["at"])).astimezone(UTC),
        in_column_order(raw.get("before")),
        in_column_order(raw.get("after")),
        int(raw.get("seq") or position),
        str(raw.get("prev") or ""),
        str(raw.get("hash") or ""),
    )


def in_column_order(raw: Any) -> Any:
    """A facility's JSON with its keys in column order, then the others sorted; tags sorted."""
    if not isinstance(raw, Mapping):
        return raw
    order = ("id", *COMPARED, "geometry")
    out = {k: raw[k] for k in order if k in raw} | {
        k: raw[k] for k in sorted(raw) if k not in order
    }
    if isinstance(out.get("tags"), Mapping):
        out["tags"] = dict(sorted(out["tags"].items()))
    return out


def prefix_hash(lines: Sequence[bytes]) -> str:
    """The ``prev`` of the first chained entry after unchained ``lines`` (each with its EOL)."""
    return hashlib.sha256(b"".join(lines)).hexdigest() if lines else GENESIS


# -- the entries of loads, imports, region removals and keys ----------------------------------

#: Facility columns compared to tell a changed facility (with its geometry): all but the id.
COMPARED = tuple(c for c in FACILITY_COLUMNS if c != "id")


def load_entry(
    data: RegionData, stored: Any, old: RegionInfo | None, actor: str = ""
) -> AuditEntry:
    """The ``load`` entry of storing ``data`` over ``stored`` facilities (None: first load)."""
    changes = facility_changes(stored, data.facilities, COMPARED)
    before = None if old is None else _info_summary(old)
    after = changes_summary(changes, **_info_summary(data.info))
    return AuditEntry(
        data.info.name, "", "load", actor or local_actor(), datetime.now(UTC), before, after
    )


def import_entry(
    region: str, before: Any, after: Any, source: str = "", actor: str = ""
) -> AuditEntry:
    """The ``import`` entry of replacing facilities ``before`` with ``after`` (from ``source``)."""
    changes = facility_changes(before, after, COMPARED)
    summary = changes_summary(changes, source=source, n_facilities=len(after))
    return AuditEntry(
        region,
        "",
        "import",
        actor or local_actor(),
        datetime.now(UTC),
        {"n_facilities": len(before)},
        summary,
    )


def removal_entry(info: RegionInfo, actor: str = "") -> AuditEntry:
    """The ``region-remove`` entry of removing the region ``info`` describes."""
    return AuditEntry(
        info.name,
        "",
        "region-remove",
        actor or local_actor(),
        datetime.now(UTC),
        _info_summary(info),
        None,
    )


def key_entry(
    action: str, before: ApiKey | None, after: ApiKey | None, actor: str = ""
) -> AuditEntry:
    """A ``key-add`` or ``key-revoke`` entry of the store-wide log (never the key's hash).

    ``after`` is None when a key's record is deleted (``keys remove``).
    """
    key = after or before
    assert key is not None, "a key entry needs the key before or after"
    return AuditEntry(
        STORE_LOG,
        key.key_id,
        action,
        actor or local_actor(),
        datetime.now(UTC),
        None if before is None else _key_summary(before),
        None if after is None else _key_summary(after),
    )


#: What the log shows of a key (never its hash), and of a region's record.
_KEY_FIELDS = ("key_id", "owner", "role", "created_at", "expires_at", "revoked_at")
_INFO_FIELDS = ("source", "n_nodes", "n_edges", "n_facilities")


def _key_summary(key: ApiKey) -> dict[str, object]:
    return _summary(key, _KEY_FIELDS)


def _info_summary(info: RegionInfo) -> dict[str, object]:
    return _summary(info, _INFO_FIELDS)


def _summary(record: object, names: Iterable[str]) -> dict[str, object]:
    """The named fields of ``record`` (None where it has none), times as the log writes them."""
    shown: dict[str, object] = {}
    for name in names:
        value = getattr(record, name, None)
        shown[name] = format_at(value) if isinstance(value, datetime) else value
    return shown


# -- changes of a region's facilities, for load and import entries ----------------------------


def facility_changes(before: Any, after: Any, columns: Iterable[str]) -> dict[str, list[str]]:
    """Ids of the facilities added, changed and removed from frame ``before`` to ``after``.

    ``before`` may be None (a first load). Rows are compared by id on ``columns`` (text,
    tags as parsed JSON) and geometry (WKB); ids are sorted.
    """
    old = {} if before is None else _rows(before, list(columns))
    new = _rows(after, list(columns))
    return {
        "added": sorted(new.keys() - old.keys()),
        "changed": sorted(k for k in new.keys() & old.keys() if not _same(old[k], new[k])),
        "removed": sorted(old.keys() - new.keys()),
    }


def changes_summary(changes: Mapping[str, list[str]], **extra: object) -> dict[str, object]:
    """A load or import entry's ``after``: counts, the ids, and ``extra`` (source, ...)."""
    counts = {k: len(v) for k, v in changes.items()}
    return dict(extra) | {"counts": counts} | {k: list(v) for k, v in changes.items()}


def _rows(frame: Any, columns: list[str]) -> dict[str, tuple[object, ...]]:
    present = [c for c in columns if c in frame.columns and c != "id"]
    values = [frame[c].tolist() for c in present]
    geoms = frame.geometry.to_wkb().tolist() if len(frame) else []
    tags_at = present.index("tags") if "tags" in present else -1
    out: dict[str, tuple[object, ...]] = {}
    for i, fid in enumerate(frame["id"].tolist()):
        row = [_text(v[i]) for v in values]
        if tags_at >= 0:
            row[tags_at] = _tags(row[tags_at])
        out[str(fid)] = (*row, geoms[i])
    return out


def _same(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    return a == b


def _text(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value if isinstance(value, str) else str(value)


def _tags(text: object) -> object:
    try:
        return canonical_bytes(json.loads(str(text) or "{}"))
    except ValueError:
        return text


# -- checking a log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """What is wrong at one place of a log: ``where`` names the entry (seq or line)."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class ChainReport:
    """The result of checking one log."""

    log: str
    entries: int = 0
    unchained: int = 0
    head: str = GENESIS
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    hashes: set[str] = field(default_factory=set)

    @property
    def intact(self) -> bool:
        """Whether no entry was edited, removed or moved."""
        return not self.problems

    @property
    def name(self) -> str:
        """The log's name for people: the region, or ``(store: API keys)``."""
        return self.log or "(store: API keys)"


def verify_chain(
    log: str,
    records: Iterable[tuple[str, Mapping[str, Any] | None]],
    prefix: str = GENESIS,
    first_seq: int = 1,
) -> ChainReport:
    """Check a log's records in stored order; name every edited, removed or moved entry.

    Parameters
    ----------
    log
        The log's name (a region, or :data:`STORE_LOG`).
    records
        ``(where, record)`` in stored order: where it is kept (``line 7``, ``row id 42``) and
        the record, or None when it cannot be read at all.
    prefix
        ``prev`` expected of the first entry (:func:`prefix_hash` of unchained lines).
    first_seq
        ``seq`` expected of the first entry (1 + the number of unchained lines).
    """
    report = ChainReport(log)
    kept = list(records)
    places = {_seq(r): w for w, r in kept if r is not None and _seq(r) is not None}
    expected_seq, expected_prev = first_seq, prefix
    unreadable: list[str] = []
    for where, record in kept:
        if record is None:
            unreadable.append(where)
            continue
        report.entries += 1
        seq = _seq(record)
        label = f"entry {seq} ({where})"
        found = _order(seq, expected_seq, places)
        linked = not found and record.get("prev") == expected_prev
        report.problems.extend(_unreadable(unreadable, linked))
        report.warnings.extend(_cut_short(unreadable) if linked else [])
        unreadable = []
        if record_hash(record) != record.get("hash"):
            found.append("its content does not match its hash: the entry was edited")
        elif not found and expected_prev and record.get("prev") != expected_prev:
            found.append(
                "its link to the entry before it is broken: that entry was edited, "
                "replaced or removed"
            )
        if record.get("region") != log:
            found.append(f"belongs to log {record.get('region')!r}, not {log!r}: it was moved")
        report.problems.extend(Problem(label, w) for w in found)
        expected_seq = (seq if seq is not None else expected_seq) + 1
        expected_prev = str(record.get("hash") or "")
        report.hashes.add(expected_prev)
        report.head = expected_prev
    report.warnings.extend(_cut_short(unreadable))  # a last write cut short, or the tail cut
    return report


def _unreadable(wheres: list[str], linked: bool) -> list[Problem]:
    if linked:
        return []
    return [Problem(w, "is not a readable entry: it was edited or cut") for w in wheres]


def _cut_short(wheres: list[str]) -> list[Problem]:
    return [
        Problem(
            w, "is a write cut short (a crash while appending); the change it began was not made"
        )
        for w in wheres
    ]


def _seq(record: Mapping[str, Any]) -> int | None:
    seq = record.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _order(seq: int | None, expected: int, places: Mapping[int | None, str]) -> list[str]:
    """What is wrong with the place of entry ``seq`` where entry ``expected`` was due."""
    if seq == expected:
        return []
    if seq is None:
        return [f"has no sequence number (entry {expected} was due): the entry was edited"]
    if seq < expected:
        return [f"comes after entry {expected - 1}: entries were reordered or repeated"]
    missing = [s for s in range(expected, seq) if s not in places]
    moved = [f"{s} (at {places[s]})" for s in range(expected, seq) if s in places]
    found = []
    if missing:
        span = f"{missing[0]}" if len(missing) == 1 else f"{missing[0]} to {missing[-1]}"
        found.append(f"entry {span} before it is missing: removed")
    if moved:
        found.append(f"entry {', '.join(moved[:3])} should come before it: reordered")
    return found


@runtime_checkable
class AuditTrail(Protocol):
    """A store whose audit logs can be listed and checked whole (``livingcircle audit``)."""

    def audit_logs(self) -> list[str]:
        """The names of the logs kept: regions (removed ones too), and :data:`STORE_LOG`."""
        ...

    def check_audit(self, log: str) -> ChainReport:
        """Check one log's chain from its first entry to its last, as stored."""
        ...

    def audit(self, region: str, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """A log's entries (a region's, or :data:`STORE_LOG`), newest first."""
        ...


def entries_in_order(entries: Iterable[AuditEntry]) -> list[dict[str, Any]]:
    """Records of ``entries`` (for tests and tools that check a list of entries)."""
    return [entry_record(e) for e in entries]
