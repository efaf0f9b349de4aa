"""The PostGIS store, one job a module (see :mod:`livingcircle.data.postgis`, which re-exports it).

Each module imports only those listed before it: ``errors``, ``engine``, ``sql``, ``migrate``,
``rows``, ``copy``, ``writes``, ``base``, ``records``, ``store``.

One SQL idiom per job, the statements named in ``sql``:

- a region's rows read back (the network and the facility frames, whole or a page): psycopg
  with ``%(name)s`` placeholders through ``sql._fetch``, skipping SQLAlchemy's row objects;
- a load's bulk rows: psycopg ``COPY`` (``copy.copy_rows``) into a staging table;
- every other statement (writes, locks, records' reads, the schema check): SQLAlchemy
  ``text()`` with ``:name`` binds through ``sql._text``.

SQLAlchemy's expression language (``insert()``, ``select()`` on the models) is not used: the
models in :mod:`livingcircle.data.pg_schema` describe the tables for Alembic and the tests.
"""
