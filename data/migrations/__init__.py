"""Alembic migrations of the PostGIS store (run by ``livingcircle db upgrade``)."""
