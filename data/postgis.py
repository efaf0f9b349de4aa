"""The PostGIS store: regions in a shared PostgreSQL/PostGIS database.

One indexed, queryable record of a district's facilities and walking network, readable by QGIS
and SQL as well as by this tool (tables in :mod:`livingcircle.data.pg_schema`, created by the
Alembic migrations in ``data/migrations``: ``livingcircle db upgrade``). It answers exactly as
the embedded :class:`livingcircle.data.embedded.FileStore` does; ``tests/contract`` checks that.

- One SQLAlchemy engine per URL per process (psycopg 3), one transaction per unit of work.
- Every database error leaves the store as a :class:`livingcircle.geo.errors.StoreError` (or
  :class:`~livingcircle.geo.errors.DatabaseUnavailable`,
  :class:`~livingcircle.geo.errors.SchemaOutOfDate`) whose message names the URL without its
  password and says what to run.
- A load is one transaction: facilities are COPYed into a staging table, upserted by
  ``(region, source, source_id)`` (so their row keys stay stable), and the ones that vanished
  from the source deleted; the network is replaced whole. A failure anywhere, a killed process
  or a lost connection leaves the previous version untouched. Loads of one region are
  serialised by an advisory lock: a second one raises :class:`~livingcircle.geo.errors.RegionBusy`.
- Facility look-ups by id and name are parameterised queries; a name search is ``ILIKE`` with
  the wildcards of the text escaped.
- A department's change of a facility is one transaction with its ``facility_audit`` row and
  a new ``regions.loaded_at`` (so other API processes rebuild the region); edits of a region
  wait for each other and for a load under the same advisory lock. API keys are kept in
  ``api_keys`` as salted hashes only.

The code lives in :mod:`livingcircle.data.pg`, one job a module, each importing only those
below it: ``errors`` (database errors as ours), ``engine`` (URLs, the pool, timeouts),
``sql`` (the statements), ``migrate`` (Alembic), ``rows`` (decoding), ``copy`` (COPY
encoding), ``writes`` (what a load or an edit sends), ``base`` (units of work, locks),
``records`` (keys, audit log, statuses, kiosks, jobs) and ``store`` (:class:`PostgisStore`).
This module re-exports what the rest of livingcircle uses.
"""

from __future__ import annotations

from livingcircle.data.pg.engine import dispose_engines, engine_for, parse_url, safe_url
from livingcircle.data.pg.errors import located, not_answering, translate_errors
from livingcircle.data.pg.migrate import MIGRATIONS, upgrade
from livingcircle.data.pg.sql import AUDIT_LOCK, LOAD_LOCK
from livingcircle.data.pg.store import PostgisStore
from livingcircle.geo.store import LoadStats

__all__ = [
    "AUDIT_LOCK",
    "LOAD_LOCK",
    "MIGRATIONS",
    "LoadStats",
    "PostgisStore",
    "dispose_engines",
    "engine_for",
    "located",
    "not_answering",
    "parse_url",
    "safe_url",
    "translate_errors",
    "upgrade",
]
