"""Getting data in: OSM files (streamed) and Overpass, departments' lists, and the two stores.

The embedded store is :mod:`livingcircle.data.embedded`; the PostGIS store is the subpackage
:mod:`livingcircle.data.pg`, one job a module (errors, engine, sql, migrate, rows, copy,
writes, base, records, store), re-exported by :mod:`livingcircle.data.postgis`.
"""
