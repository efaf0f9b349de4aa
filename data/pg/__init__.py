"""The PostGIS store, one job a module (see :mod:`livingcircle.data.postgis`, which re-exports it).

Each module imports only those listed before it: ``errors``, ``engine``, ``sql``, ``migrate``,
``rows``, ``copy``, ``writes``, ``base``, ``records``, ``store``.
"""
