"""Getting data in: OSM files (streamed) and Overpass, departments' lists, and the two stores.

The embedded store is :mod:`livingcircle.data.embedded` (regions, facilities, edits,
statuses) on :mod:`~livingcircle.data.file_records` (keys, kiosks, jobs) and
:mod:`~livingcircle.data.file_base` (folders, live versions, locks, the audit logs), writing
through :mod:`~livingcircle.data.files`. The PostGIS store is the subpackage
:mod:`livingcircle.data.pg`, one job a module (errors, engine, sql, migrate, rows, copy,
writes, base, records, store), re-exported by :mod:`livingcircle.data.postgis`.
"""
