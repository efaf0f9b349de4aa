"""Getting data in: OSM files (streamed) and Overpass, departments' lists, and the two stores.

The embedded store is :mod:`livingcircle.data.embedded` (regions, facilities, edits,
statuses) on :mod:`~livingcircle.data.file_records` (keys, kiosks, jobs) and
:mod:`~livingcircle.data.file_base` (folders, live versions, locks, the audit logs), writing
through :mod:`~livingcircle.data.files`. The PostGIS store is the subpackage
:mod:`livingcircle.data.pg`, one job a module (errors, engine, sql, migrate, rows, copy,
writes, base, records, store), re-exported by :mod:`livingcircle.data.postgis`.

Regions in: ``osm_file`` reads an OSM file (``osm_stream`` streams a large PBF's walking
network in bounded memory), ``fetch`` asks Overpass through osmnx, and ``load`` puts either
into a store; ``sample`` is the built-in Helsinki sample (``sample_names`` its name and point,
light for the CLI) and ``synthetic`` the grid cities of benchmarks and tests. A planner's own
files: ``demand`` (residents from OSM buildings and land use), ``user_files`` (homes, parcels,
community boundaries), ``scenario_file`` (what-if changes in, difference layers out) and
``gap_outputs`` (the analysis written as GeoPackage, GeoParquet, CSV or PostGIS tables).
``pg_schema`` (the tables as GeoAlchemy2 models) and ``pg_timeouts`` (the server's timeouts
and ours) are what the PostGIS store, the migrations and the gap outputs share.

A department's list is read by :mod:`~livingcircle.data.department_lists` (the mapping file
and the CSV, Excel, GeoJSON or GeoPackage), checked row by row by
:mod:`~livingcircle.data.department_rows` and merged into a region by
:mod:`~livingcircle.data.departments` (the matching rules are :mod:`livingcircle.geo.provenance`'s).
"""
