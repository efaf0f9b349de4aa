"""Getting data in: OSM files (streamed) and Overpass, departments' lists, and the two stores.

The embedded store is :mod:`livingcircle.data.embedded` (regions, facilities, edits,
statuses) on :mod:`~livingcircle.data.file_records` (keys, kiosks, jobs) and
:mod:`~livingcircle.data.file_base` (folders, live versions, locks, the audit logs), writing
through :mod:`~livingcircle.data.files`. The PostGIS store is the subpackage
:mod:`livingcircle.data.pg`, one job a module (errors, engine, sql, migrate, rows, copy,
writes, base, records, store), re-exported by :mod:`livingcircle.data.postgis`.

A department's list is read by :mod:`~livingcircle.data.department_lists` (the mapping file
and the CSV, Excel, GeoJSON or GeoPackage), checked row by row by
:mod:`~livingcircle.data.department_rows` and merged into a region by
:mod:`~livingcircle.data.departments` (the matching rules are :mod:`livingcircle.geo.provenance`'s).
"""
