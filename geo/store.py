"""What a store keeps for a region, and the protocol every store implements.

Two stores satisfy :class:`Store`: the embedded file store (``data.embedded``, the default,
no server needed) and the PostGIS store. ``tests/contract`` runs one suite against both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from livingcircle.geo import text
from livingcircle.geo.errors import InvalidParameter, InvalidText, StoreError

if TYPE_CHECKING:  # they import this module
    from livingcircle.geo.audit import ChainReport
    from livingcircle.geo.kiosks import Kiosk
    from livingcircle.geo.standards import Standard
    from livingcircle.geo.status import FacilityStatus

#: the columns of a region's facilities besides their geometry, in this order
FACILITY_COLUMNS = [
    "id",
    "source",
    "source_id",
    "name",
    "name_zh",
    "name_en",
    "category",
    "opening_hours",
    "tags",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

Bounds = tuple[float, float, float, float]


def bounds_of(nodes: pd.DataFrame) -> Bounds:
    """The box ``(west, south, east, north)`` around the ``lon`` and ``lat`` of ``nodes``."""
    lon, lat = nodes["lon"], nodes["lat"]
    return (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))


def check_region_name(name: str) -> str:
    """Validate a region name: lowercase letters, digits, ``-`` and ``_``, at most 63."""
    message = (
        f"region name {name!r} is not allowed; use 1 to 63 lowercase letters, digits, "
        "'-' or '_', starting with a letter or digit (e.g. 'haishu' or 'helsinki-centre')"
    )
    return text.check_match(_NAME, name, InvalidParameter(message))


_CACHE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_cache_key(key: str) -> str:
    """Validate a region build cache's key: 1 to 64 ASCII letters, digits, ``-`` or ``_``."""
    message = (
        f"region cache key {key!r} is not allowed; use 1 to 64 ASCII letters, digits, '-' "
        "or '_' (a fingerprint's hex digest)"
    )
    return text.check_match(_CACHE_KEY, key, InvalidParameter(message))


@dataclass(frozen=True)
class RegionInfo:
    """A loaded region's record."""

    name: str
    source: str
    loaded_at: datetime
    bounds: Bounds
    n_nodes: int
    n_edges: int
    n_facilities: int

    @classmethod
    def of(
        cls,
        name: str,
        source: str,
        loaded_at: datetime,
        nodes: pd.DataFrame,
        edges: pd.DataFrame,
        facilities: pd.DataFrame,
    ) -> RegionInfo:
        """The record of a region made of these frames: their bounds and their counts."""
        counts = len(nodes), len(edges), len(facilities)
        return cls(name, source, loaded_at, bounds_of(nodes), *counts)

    def covers(self, lon: float, lat: float, margin_deg: float = 0.01) -> bool:
        """Whether a point lies in the bounding box (widened by ``margin_deg``)."""
        w, s, e, n = self.bounds
        return w - margin_deg <= lon <= e + margin_deg and s - margin_deg <= lat <= n + margin_deg

    def to_json(self) -> dict[str, object]:
        """The record as JSON (the load time in ISO 8601, the bounds a list)."""
        return asdict(self) | {"loaded_at": self.loaded_at.isoformat(), "bounds": list(self.bounds)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RegionInfo:
        """The record :meth:`to_json` wrote."""
        w, s, e, n = (float(b) for b in raw["bounds"])
        return cls(
            raw["name"],
            raw["source"],
            datetime.fromisoformat(raw["loaded_at"]),
            (w, s, e, n),
            int(raw["n_nodes"]),
            int(raw["n_edges"]),
            int(raw["n_facilities"]),
        )


@dataclass
class RegionData:
    """Everything stored for a region, in EPSG:4326.

    ``nodes``: ``node``, ``osmid``, ``lon``, ``lat``. ``edges``: ``edge``, ``u``, ``v``,
    ``length_m``, ``oneway``, ``way_id``, ``highway``, ``name``, LineString geometry.
    ``facilities``: ``id``, ``source``, ``source_id``, ``name``, ``name_zh``, ``name_en``,
    ``category``, ``opening_hours``, ``tags`` (JSON text) and a Point or Polygon geometry.
    """

    info: RegionInfo
    nodes: pd.DataFrame
    edges: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame


def with_facilities(data: RegionData, facilities: gpd.GeoDataFrame) -> RegionData:
    """``data`` with other facilities (and their count in its record)."""
    return RegionData(
        replace(data.info, n_facilities=len(facilities)), data.nodes, data.edges, facilities
    )


@dataclass(frozen=True)
class FacilityQuery:
    """Which facilities a look-up wants, and which page of them (ordered by id).

    ``bbox``: those whose bounding box meets it (an outline may miss it), as PostGIS ``&&``;
    ``categories``: of these only; ``text``: with it in any name, case-insensitive and
    literal (no wildcards); ``limit`` and ``offset``: the page.
    """

    bbox: Bounds | None = None
    categories: list[str] | None = None
    text: str | None = None
    limit: int = 100
    offset: int = 0


#: every facility (the first page of 100)
EVERY = FacilityQuery()


#: ``change(info, facilities)`` of :meth:`Store.update_facilities`: the new facilities, or None.
FacilityChange = Callable[[RegionInfo, gpd.GeoDataFrame], gpd.GeoDataFrame | None]

#: ``keep(stored)`` of :meth:`Store.save_region`: the facilities to store, given the stored ones.
FacilityKeep = Callable[[gpd.GeoDataFrame | None], gpd.GeoDataFrame]


@dataclass(frozen=True)
class LoadStats:
    """What a load or an import changed: facilities added, changed, unchanged and removed."""

    inserted: int
    updated: int
    unchanged: int
    deleted: int


@runtime_checkable
class Store(Protocol):
    """Where regions live, and everything kept with them. Every write is whole or not at all.

    Both stores implement all of it: regions and their facilities, facility look-ups and
    the departments' edits, API keys, the audit log, live statuses and kiosks. Every change
    of a facility is one atomic step with its audit entry.
    """

    def regions(self) -> list[RegionInfo]:
        """Every loaded region, by name."""
        ...

    def save_region(self, data: RegionData, keep: FacilityKeep | None = None) -> LoadStats:
        """Store a region, replacing any earlier version atomically; returns what changed.

        With ``keep``, the facilities stored are ``keep(stored)``, where ``stored`` are the
        region's facilities now (None for a new region), read under the region's lock: what
        a reload carries over from the old version cannot be changed meanwhile.
        """
        ...

    def load_region(self, name: str) -> RegionData:
        """Read a region back; raises ``RegionNotFound``."""
        ...

    def update_facilities(
        self, region: str, change: FacilityChange, *, source: str = "", actor: str = ""
    ) -> LoadStats | None:
        """Replace a region's facilities with ``change(info, facilities)``, network untouched.

        The audit log records it (action ``import``: ``source``, by ``actor``, default the
        process's user) with the ids of the facilities added, changed and removed.

        The read, ``change`` and the write happen under the region's lock, so an edit made
        meanwhile (through the API, say) is neither lost nor overwritten: it waits. When
        ``change`` returns None nothing is written and None is returned, else what changed.
        ``change``
        must be a pure function of its arguments (a store may call it again after a lost
        connection).
        """
        ...

    def delete_region(self, name: str) -> None:
        """Remove a region; raises ``RegionNotFound``."""
        ...

    def check_not_busy(self, name: str) -> None:
        """Raise ``RegionBusy`` now if a load of ``name`` runs (before a long read)."""
        ...

    def region_cache(self, name: str, key: str) -> bytes | None:
        """The build cache kept for region ``name`` under ``key``, or None.

        ``key`` (see :func:`check_cache_key`) names what the blob was built from
        (:func:`livingcircle.geo.region_cache.fingerprint`); a blob kept under another key,
        or none, gives None. Raises ``RegionNotFound``.
        """
        ...

    def save_region_cache(self, name: str, key: str, blob: bytes) -> None:
        """Keep ``blob`` as region ``name``'s build cache under ``key``, replacing any other.

        Saving a region, changing its facilities or deleting it drops the blob with the data
        it was built from. Raises ``RegionNotFound``.
        """
        ...

    def save_standard(self, standard: Standard) -> bool:
        """Keep the standard's categories and tier requirements; returns whether it did.

        PostGIS keeps them in tables (for QGIS and SQL); the file store reads the standard
        from its file each time and keeps nothing (False).
        """
        ...

    def facilities(self, region: str, query: FacilityQuery = EVERY) -> gpd.GeoDataFrame:
        """The facilities ``query`` asks for (a :class:`FacilityQuery`), by id, one page."""
        ...

    def facility(self, region: str, facility_id: str) -> gpd.GeoDataFrame:
        """The facility ``facility_id`` as a one-row frame; raises ``FacilityNotFound``."""
        ...

    def add_api_key(self, key: ApiKey) -> None:
        """Keep a new key (its hash; the secret itself is never stored)."""
        ...

    def api_keys(self) -> list[ApiKey]:
        """Every key, oldest first."""
        ...

    def remove_api_key(self, key_id: str) -> None:
        """Delete a key's record; raises ``InvalidParameter`` if there is no such key.

        Prefer :meth:`revoke_api_key`, which keeps the record (who had which key, and when).
        """
        ...

    def revoke_api_key(self, key_id: str) -> ApiKey:
        """Mark a key revoked (now) and return it; ``InvalidParameter`` if there is no such key.

        Revoking a revoked key keeps its first revocation time.
        """
        ...

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        """Record that the key was used at ``at`` (an unknown id is ignored)."""
        ...

    def import_sources(self) -> set[str]:
        """The sources of the department lists imported into any region (``lc:sources``)."""
        ...

    def save_facility(
        self, region: str, record: FacilityRecord, actor: str, create: bool
    ) -> AuditEntry:
        """Create (``create``) or replace a facility.

        Raises ``FacilityExists`` or ``FacilityNotFound`` when the id is taken or missing.
        """
        ...

    def delete_facility(self, region: str, facility_id: str, actor: str) -> AuditEntry:
        """Remove a facility; raises ``FacilityNotFound``."""
        ...

    def audit(self, region: str, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """Recorded changes of a region, newest first."""
        ...

    def set_status(self, region: str, status: FacilityStatus, actor: str) -> AuditEntry:
        """Keep ``status`` (checked with ``check_status``), replacing the facility's last one.

        The facility must exist (else ``FacilityNotFound``); the status takes its category.
        """
        ...

    def statuses(self, region: str) -> list[FacilityStatus]:
        """Every facility's last status in the region, by facility id."""
        ...

    def save_kiosk(self, kiosk: Kiosk) -> None:
        """Keep a kiosk (checked with ``check_kiosk``), replacing one with the same id."""
        ...

    def kiosks(self) -> list[Kiosk]:
        """Every kept kiosk, by id."""
        ...

    def remove_kiosk(self, kiosk_id: str) -> None:
        """Forget a kiosk; raises ``UnknownKiosk``."""
        ...

    def audit_logs(self) -> list[str]:
        """The names of every audit log: each region's, and the store-wide one of keys."""
        ...

    def check_audit(self, log: str) -> ChainReport:
        """Walk one log's chain (see :func:`livingcircle.geo.audit.verify_chain`)."""
        ...


# -- facility edits by the departments that own the data -------------------------------------


@dataclass(frozen=True)
class FacilityRecord:
    """One facility as a department writes it (EPSG:4326).

    ``id`` is ``source:source_id``; ``source`` names the department that owns the record.
    """

    id: str
    source: str
    source_id: str
    category: str
    geometry: BaseGeometry
    name: str = ""
    name_zh: str = ""
    name_en: str = ""
    opening_hours: str = ""
    tags: str = "{}"  # JSON text, as the loaders write it


@dataclass(frozen=True)
class AuditEntry:
    """One recorded change: who did what to which facility, when, and the rows around it.

    ``before`` and ``after`` are the facility's columns (``tags`` parsed) and its ``geometry``
    as GeoJSON, or None for a creation or a deletion. A load or an import (``facility_id``
    empty) has the ids of the facilities added, changed and removed in ``after``; a key
    entry (region empty: the store-wide log) has the key's id as ``facility_id``. ``seq``,
    ``prev`` and ``hash`` chain the entries of a log (see :mod:`livingcircle.geo.audit`).
    """

    region: str
    facility_id: str
    action: str  # one of livingcircle.geo.audit.ACTIONS
    actor: str
    at: datetime
    before: dict[str, object] | None
    after: dict[str, object] | None
    seq: int = 0
    prev: str = ""
    hash: str = ""


@dataclass(frozen=True)
class FacilityEdit:
    """One facility change asked of a store: which facility of which region, what, by whom.

    Both stores' ``save_facility`` and ``delete_facility`` describe their change with it and
    record it with :meth:`entry`.
    """

    region: str
    facility_id: str
    action: str  # create, update or delete
    actor: str

    def entry(
        self, at: datetime, before: gpd.GeoDataFrame | None, after: gpd.GeoDataFrame | None
    ) -> AuditEntry:
        """Its audit entry; ``before`` and ``after`` are one-row frames, None or empty if absent."""
        return AuditEntry(
            self.region,
            self.facility_id,
            self.action,
            self.actor,
            at,
            None if before is None or before.empty else facility_json(before),
            None if after is None or after.empty else facility_json(after),
        )


@dataclass(frozen=True)
class ApiKey:
    """A stored API key: its public id, its owner, its role and a salted hash of its secret.

    ``role`` is ``admin`` (edits any source), ``department`` (edits its own records) or
    ``planner`` (runs analyses, reads the audit log); see :data:`livingcircle.geo.keys.ROLES`.
    ``expires_at`` None never expires (keys made before expiry existed); a revoked key is
    kept with ``revoked_at`` and refused from then on; ``last_used_at`` is recorded at most
    once a minute per key. All times are UTC.
    """

    key_id: str
    owner: str
    salt: str  # hex
    digest: str  # hex
    created_at: datetime
    role: str = "department"
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


# -- what a store accepts and returns ---------------------------------------------------------


def check_facilities(region: str, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` if a store may keep it as the facilities of ``region`` (a load, an import).

    Every column of :data:`FACILITY_COLUMNS`, a geometry on every row, one row per
    ``source``/``source_id`` and per ``id``, tags that are a JSON object, and text that
    :func:`livingcircle.geo.text.check_facilities` allows. Both stores call it before they
    write, so they accept and refuse the same frames.

    Raises
    ------
    StoreError
        A column is missing, a facility has no geometry, or a key repeats.
    InvalidText
        A text field or the tags are not allowed (naming the facility and the field).
    """
    what = f"facilities of region {region!r}"
    missing = [c for c in FACILITY_COLUMNS if c not in frame.columns]
    if missing:
        raise StoreError(
            f"{what} lack columns {missing}; expected {FACILITY_COLUMNS} and a geometry"
        )
    no_place = frame.geometry.isna().to_numpy() | frame.geometry.is_empty.to_numpy()
    if no_place.any():
        ids = ", ".join(map(str, frame.loc[no_place, "id"].head(3)))
        raise StoreError(
            f"{what} have no geometry ({ids}); every facility needs a point or an outline "
            "in EPSG:4326"
        )
    for key in (["source", "source_id"], ["id"]):
        _check_unique(what, frame, key)
    text.check_facilities(frame, f"region {region!r}")
    for fid, tags in zip(frame["id"].tolist(), frame["tags"].tolist(), strict=True):
        if isinstance(tags, str):  # a JSON object (the PostGIS column is jsonb)
            try:
                text.parse_tags(tags)
            except InvalidText as exc:
                raise exc.of(f"{what}: facility {fid!r}") from None
    return frame


def canonical_tags(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with its tags as the loaders write them: JSON, keys sorted, non-ASCII kept.

    PostGIS keeps tags as ``jsonb`` and reads them back so; the file store writes them so,
    and both give back the same text for the same load. ``frame`` itself when they are so.
    """
    tags = frame["tags"].tolist()
    fixed = [
        json.dumps(json.loads(t or "{}"), ensure_ascii=False, sort_keys=True)
        if isinstance(t, str)
        else t
        for t in tags
    ]
    return frame if fixed == tags else frame.assign(tags=fixed)


def _check_unique(what: str, frame: gpd.GeoDataFrame, key: list[str]) -> None:
    repeated = frame.loc[frame.duplicated(key, keep=False), key]
    if len(repeated):
        examples = ", ".join(
            "/".join(map(str, r))
            for r in repeated.drop_duplicates().head(3).itertuples(index=False)
        )
        raise StoreError(
            f"{what} repeat {'/'.join(key)} ({examples}); every facility needs its own, as a "
            "reload matches facilities by it"
        )


def check_record(record: FacilityRecord) -> FacilityRecord:
    """``record`` if a store may keep it (a department's create or replace).

    Its text and tags as :func:`livingcircle.geo.text.check_record` allows, and a geometry.

    Raises
    ------
    InvalidParameter
        The record has no geometry, or (``InvalidText``) a field is not allowed.
    """
    text.check_record(record)
    if record.geometry is None or record.geometry.is_empty:
        raise InvalidParameter(
            f"facility {record.id!r} has no geometry; every facility needs "
            "a point or an outline in EPSG:4326"
        )
    return record


def facility_json(frame: gpd.GeoDataFrame) -> dict[str, object]:
    """A one-row facility frame as the audit log keeps it.

    Its columns (missing values None, numbers kept, the rest as text, ``tags`` parsed) and
    its geometry as GeoJSON. Both stores write audit entries with it.
    """
    row = frame.iloc[0]
    out: dict[str, object] = {c: _plain(row[c]) for c in frame.columns if c != "geometry"}
    if isinstance(out.get("tags"), str):
        out["tags"] = json.loads(str(out["tags"]) or "{}")
    out["geometry"] = json.loads(shapely.to_geojson(row.geometry))
    return out


def _plain(value: object) -> object:
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    return value if isinstance(value, int | float | bool) else str(value)


def load_stats(entry: AuditEntry, n_facilities: int) -> LoadStats:
    """What a load or an import changed, from its audit entry's counts (``n_facilities`` now)."""
    counts = (entry.after or {}).get("counts")
    if not isinstance(counts, dict):
        return LoadStats(0, 0, n_facilities, 0)
    added, changed = int(counts.get("added", 0)), int(counts.get("changed", 0))
    return LoadStats(added, changed, n_facilities - added - changed, int(counts.get("removed", 0)))
