"""What the PostGIS store keeps besides regions: keys, audit log, statuses, kiosks, jobs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row

from livingcircle.data.pg.base import Database
from livingcircle.data.pg.errors import on_state
from livingcircle.data.pg.rows import _api_key, _audit_entry, _no_key, _status
from livingcircle.data.pg.sql import (
    _AUDIT_COLUMNS,
    _INSERT_KEY_SQL,
    _JOB_BINDS,
    _JOB_COLUMNS,
    _KEY_COLUMNS,
    _KIOSK_COLUMNS,
    _STATUS_COLUMNS,
    _STATUS_SQL,
    _UPSERT_KIOSK_SQL,
    _UPSERT_STATUS_SQL,
    _text,
)
from livingcircle.data.pg.writes import _append_audit, _job_values
from livingcircle.geo.audit import STORE_LOG, ChainReport, entry_record, key_entry, verify_chain
from livingcircle.geo.errors import (
    FacilityNotFound,
    InvalidParameter,
    JobNotFound,
    UnknownKiosk,
)
from livingcircle.geo.jobs import Job, check_job_id, check_layer_name, missing_layer
from livingcircle.geo.keys import SOURCES_KEY, check_owner
from livingcircle.geo.kiosks import Kiosk, check_kiosk_fields
from livingcircle.geo.status import FacilityStatus, check_status
from livingcircle.geo.store import ApiKey, AuditEntry, check_region_name


class Records(Database):
    """API keys, the audit log, statuses, kiosks and jobs of the PostGIS store."""

    def audit(self, region: str, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """Recorded changes of a region (or the store's keys: ``STORE_LOG``), newest first."""
        if region != STORE_LOG:
            check_region_name(region)

        def work() -> list[AuditEntry]:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    _text(
                        f"SELECT {_AUDIT_COLUMNS} FROM facility_audit WHERE region = :r "
                        "ORDER BY seq DESC LIMIT :limit OFFSET :offset"
                    ),
                    {"r": region, "limit": max(int(limit), 0), "offset": max(int(offset), 0)},
                ).all()
            return [_audit_entry(r) for r in rows]

        return self._unit(f"reading the audit log of {region!r}", work)

    def audit_logs(self) -> list[str]:
        """Every log kept: the regions with entries (removed ones too) and ``STORE_LOG``."""

        def work() -> list[str]:
            with self._reader.connect() as conn:
                return list(
                    conn.execute(
                        _text('SELECT DISTINCT region COLLATE "C" FROM facility_audit ORDER BY 1')
                    ).scalars()
                )

        return self._unit("listing the audit logs", work)

    def check_audit(self, log: str) -> ChainReport:
        """Check a log's chain row by row, in the order the rows were written (``id``)."""

        def work() -> list[tuple[str, dict[str, Any]]]:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    _text(
                        f"SELECT id, {_AUDIT_COLUMNS} FROM facility_audit WHERE region = :r "
                        "ORDER BY id"
                    ),
                    {"r": log},
                ).all()
            return [
                (f"row id {r[0]}", entry_record(_audit_entry(r[1:], ordered=False))) for r in rows
            ]

        return verify_chain(log, self._unit(f"checking the audit log of {log!r}", work))

    def add_api_key(self, key: ApiKey) -> None:
        """Keep a new key's record (its hash; never the secret); its owner must be no source."""
        check_owner(key.owner, self.import_sources())
        created = key.created_at if key.created_at.tzinfo else key.created_at.replace(tzinfo=UTC)

        def work() -> None:
            taken = InvalidParameter(
                f"there is already an API key {key.key_id!r}; make "
                "another with 'livingcircle keys add'"
            )
            with on_state("23505", lambda: taken), self.engine.begin() as conn:
                conn.execute(_text(_INSERT_KEY_SQL), asdict(key) | {"created_at": created})
                _append_audit(conn, key_entry("key-add", None, key))

        self._unit("adding an API key", work)

    def api_keys(self) -> list[ApiKey]:
        """Every key, oldest first (revoked ones too)."""

        def work() -> list[ApiKey]:
            with self._reader.connect() as conn:
                rows = conn.execute(_text(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY id")).all()
            return [_api_key(r) for r in rows]

        return self._unit("reading the API keys", work)

    def remove_api_key(self, key_id: str) -> None:
        """Delete a key's record (``revoke_api_key`` keeps it)."""

        def work() -> None:
            with self.engine.begin() as conn:
                gone = _key_row(
                    conn, f"DELETE FROM api_keys {_KEY_WHERE} RETURNING {_KEY_COLUMNS}", key_id
                )
                if gone is None:
                    raise _no_key(key_id)
                _append_audit(conn, key_entry("key-revoke", _api_key(gone), None))

        self._unit("removing an API key", work)

    def revoke_api_key(self, key_id: str) -> ApiKey:
        """Mark a key revoked now (the record stays); returns it."""

        def work() -> ApiKey:
            with self.engine.begin() as conn:
                was = _key_row(
                    conn, f"SELECT {_KEY_COLUMNS} FROM api_keys {_KEY_WHERE} FOR UPDATE", key_id
                )
                revoke = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
                row = _key_row(conn, f"{revoke} {_KEY_WHERE} RETURNING {_KEY_COLUMNS}", key_id)
                if row is None or was is None:
                    raise _no_key(key_id)
                before, after = _api_key(was), _api_key(row)
                if before.revoked_at is None:
                    _append_audit(conn, key_entry("key-revoke", before, after))
            return after

        return self._unit("revoking an API key", work)

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        """Record a key's last use (ignored for an unknown id)."""
        self._write(
            "recording a key's use",
            "UPDATE api_keys SET last_used_at = :at WHERE key_id = :k "
            "AND (last_used_at IS NULL OR last_used_at < :at)",
            {"k": str(key_id), "at": at},
        )

    def import_sources(self) -> set[str]:
        """The sources named in the facilities' ``lc:sources``."""

        def work() -> set[str]:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    _text(
                        "SELECT DISTINCT e ->> 'source' FROM facilities, jsonb_array_elements("
                        "CASE WHEN jsonb_typeof(tags -> :k) = 'array' THEN tags -> :k "
                        "ELSE '[]'::jsonb END) AS e WHERE tags ? :k"
                    ),
                    {"k": SOURCES_KEY},
                ).all()
            return {str(r[0]) for r in rows if r[0] is not None}

        return self._unit("reading the imported sources", work)

    def set_status(self, region: str, status: FacilityStatus, actor: str) -> AuditEntry:
        """Keep a facility's status and its audit entry in one transaction (no load waits)."""
        check_region_name(region)
        status = replace(check_status(status, datetime.now(UTC)), actor=actor)

        def work() -> AuditEntry:
            with self.engine.begin() as conn:
                self._require_region(conn, region, "FOR KEY SHARE")
                category = (
                    None
                    if "\x00" in status.facility_id
                    else conn.execute(
                        _text("SELECT category FROM facilities WHERE region = :r AND id = :id"),
                        {"r": region, "id": status.facility_id},
                    ).scalar()
                )
                if category is None:
                    raise FacilityNotFound(region, status.facility_id)
                kept = replace(status, category=category)
                old = conn.execute(
                    _text(_STATUS_SQL + " AND facility_id = :id FOR UPDATE"),
                    {"r": region, "id": status.facility_id},
                ).first()
                values = {"region": region, **{f: getattr(kept, f) for f in _STATUS_COLUMNS}}
                conn.execute(_text(_UPSERT_STATUS_SQL), values)
                at = conn.execute(_text("SELECT clock_timestamp()")).scalar_one().astimezone(UTC)
                entry = AuditEntry(
                    region,
                    status.facility_id,
                    "status",
                    actor,
                    at,
                    None if old is None else _status(old).to_json(),
                    kept.to_json(),
                )
                entry = _append_audit(conn, entry)
            return entry

        return self._unit(f"keeping the status of {status.facility_id!r} in {region!r}", work)

    def statuses(self, region: str) -> list[FacilityStatus]:
        """Every facility's last status in the region, by facility id."""
        check_region_name(region)

        def work() -> list[FacilityStatus]:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    _text(_STATUS_SQL + ' ORDER BY facility_id COLLATE "C"'), {"r": region}
                ).all()
                if not rows:
                    self._require_region(conn, region)
            return [_status(r) for r in rows]

        return self._unit(f"reading the statuses of {region!r}", work)

    def save_kiosk(self, kiosk: Kiosk) -> None:
        """Keep a kiosk, replacing one with the same id."""
        check_kiosk_fields(kiosk)

        def work() -> None:
            with self.engine.begin() as conn:
                self._require_region(conn, kiosk.region)
                conn.execute(
                    _text(_UPSERT_KIOSK_SQL), asdict(kiosk) | {"categories": list(kiosk.categories)}
                )

        self._unit(f"keeping kiosk {kiosk.id!r}", work)

    def kiosks(self) -> list[Kiosk]:
        """Every kept kiosk, by id."""

        def work() -> list[Kiosk]:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    _text(f'SELECT {", ".join(_KIOSK_COLUMNS)} FROM kiosks ORDER BY id COLLATE "C"')
                ).all()
            return [Kiosk(**{**r._asdict(), "categories": tuple(r.categories)}) for r in rows]

        return self._unit("reading the kiosks", work)

    def remove_kiosk(self, kiosk_id: str) -> None:
        """Forget a kiosk; raises ``UnknownKiosk``."""

        def work() -> None:
            with self.engine.begin() as conn:
                gone = conn.execute(_text("DELETE FROM kiosks WHERE id = :k"), {"k": str(kiosk_id)})
                if gone.rowcount == 0:
                    kept = conn.execute(_text("SELECT id FROM kiosks")).scalars().all()
                    raise UnknownKiosk(kiosk_id, kept)

        self._unit(f"removing kiosk {kiosk_id!r}", work)

    def create_job(self, job: Job) -> tuple[Job, bool]:
        """Insert the job unless its id is kept (``ON CONFLICT DO NOTHING``)."""
        check_job_id(job.id)

        def work() -> bool:
            with self.engine.begin() as conn:
                made = conn.execute(
                    _text(
                        f"INSERT INTO jobs ({', '.join(_JOB_COLUMNS)}) VALUES ({_JOB_BINDS}) "
                        "ON CONFLICT (id) DO NOTHING RETURNING id"
                    ),
                    _job_values(job),
                ).first()
            return made is not None

        if self._unit(f"keeping job {job.id}", work):
            return job, True
        return self.job(job.id), False

    def save_job(self, job: Job) -> None:
        """Update the job's row."""
        self._write(
            f"keeping job {job.id}",
            "UPDATE jobs SET state = :state, progress = CAST(:progress AS jsonb), "
            "summary = CAST(:summary AS jsonb), error = :error, "
            "updated_at = :updated_at WHERE id = :id",
            _job_values(job),
        )

    def job(self, job_id: str) -> Job:
        """The job's row."""
        check_job_id(job_id)

        def work() -> Any:
            with self._reader.connect() as conn:
                return conn.execute(
                    _text(f"SELECT {', '.join(_JOB_COLUMNS)} FROM jobs WHERE id = :id"),
                    {"id": job_id},
                ).first()

        row = self._unit(f"reading job {job_id}", work)
        if row is None:
            raise JobNotFound(
                f"there is no job {job_id!r}; submit one with POST /v1/regions/{{region}}/analyses"
            )
        values = dict(zip(_JOB_COLUMNS, row, strict=True))
        return Job(
            **(
                values
                | {"created_at": row[-2].astimezone(UTC), "updated_at": row[-1].astimezone(UTC)}
            )
        )

    def save_job_layers(self, job_id: str, layers: Mapping[str, bytes]) -> None:
        """Upsert each layer's bytes into ``job_layers``, all in one transaction."""
        check_job_id(job_id)
        rows = [{"j": job_id, "n": check_layer_name(n), "p": d} for n, d in layers.items()]
        if not rows:
            return  # (an executemany needs one row at least)
        self._write(
            f"keeping the layers of job {job_id}",
            "INSERT INTO job_layers (job_id, name, parquet) VALUES (:j, :n, :p) "
            "ON CONFLICT (job_id, name) DO UPDATE SET parquet = EXCLUDED.parquet",
            rows,
        )

    def job_layer(self, job_id: str, name: str) -> bytes:
        """One layer's bytes from ``job_layers``."""
        check_job_id(job_id)
        check_layer_name(name)

        def work() -> Any:
            with self._reader.connect() as conn:
                return conn.execute(
                    _text("SELECT name, parquet FROM job_layers WHERE job_id = :j"), {"j": job_id}
                ).all()

        rows = {r[0]: r[1] for r in self._unit(f"reading job {job_id}", work)}
        if name in rows:
            return bytes(rows[name])
        self.job(job_id)
        raise missing_layer(job_id, name, rows)


_KEY_WHERE = "WHERE key_id = :k"


def _key_row(conn: Connection, sql: str, key_id: str) -> Row[Any] | None:
    """The first row of ``sql`` (a key's columns), ``:k`` bound to ``key_id``."""
    return conn.execute(_text(sql), {"k": str(key_id)}).first()
