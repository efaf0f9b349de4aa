"""The PostGIS schema as GeoAlchemy2 models: what a planner sees in QGIS or psql.

Every table has a single-column integer primary key; every geometry column an SRID (4326) and
a GiST index. ``facilities.anchor`` (a point on the facility, the one distances are measured
from) also has a GiST index on ``anchor::geography`` for nearest-first (KNN) queries in metres.

The walking network is ready for pgRouting, one region at a time::

    SELECT * FROM pgr_drivingDistance(
        'SELECT edge AS id, source, target, cost, reverse_cost
           FROM walk_edges WHERE region = ''helsinki''', 42, 900);

``cost`` and ``reverse_cost`` are seconds at the planning pace (1 m/s); ``reverse_cost`` is -1
on a one-way path. An edge's way tags that walking profiles read are text columns of their
own (:data:`EDGE_TAG_COLUMNS`; ``ramp:wheelchair`` is ``ramp_wheelchair``), and a node's
elevation is ``walk_nodes.ele`` (NaN: not known; NULL in a tag or ``ele`` column: the region
was saved without it). The migrations in ``data/migrations`` create this schema; these models
are what the store queries with, and a test checks that both agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: The Alembic revision this code reads and writes; the store refuses any other.
SCHEMA_REVISION = "0008"
SRID = 4326


def _geometry(kind: str) -> Any:
    # indexes are declared explicitly (below and in the migration), not by GeoAlchemy2
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=False), nullable=False)


def _region_fk() -> Any:
    return ForeignKey("regions.name", onupdate="CASCADE", ondelete="CASCADE")


class Base(DeclarativeBase):
    """Declarative base of the livingcircle tables."""


class RegionRow(Base):
    """A loaded region: where it came from, when, and its bounding box."""

    __tablename__ = "regions"
    __table_args__ = (Index("regions_boundary_gist", "boundary", postgresql_using="gist"),)

    gid: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    west: Mapped[float] = mapped_column(Double)
    south: Mapped[float] = mapped_column(Double)
    east: Mapped[float] = mapped_column(Double)
    north: Mapped[float] = mapped_column(Double)
    n_nodes: Mapped[int] = mapped_column(Integer)
    n_edges: Mapped[int] = mapped_column(Integer)
    n_facilities: Mapped[int] = mapped_column(Integer)
    boundary: Mapped[Any] = _geometry("POLYGON")


class FacilityRow(Base):
    """A facility; ``(region, source, source_id)`` is its key across reloads."""

    __tablename__ = "facilities"
    __table_args__ = (
        UniqueConstraint("region", "source", "source_id", name="facilities_source_key"),
        UniqueConstraint(
            "region", "id", name="facilities_id_key", deferrable=True, initially="DEFERRED"
        ),
        Index("facilities_geom_gist", "geom", postgresql_using="gist"),
        Index("facilities_anchor_gist", "anchor", postgresql_using="gist"),
        Index("facilities_region_category", "region", "category"),
    )

    fid: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    region: Mapped[str] = mapped_column(Text, _region_fk())
    id: Mapped[str] = mapped_column(Text(collation="C"))
    source: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    name_zh: Mapped[str | None] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    opening_hours: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[Any] = mapped_column(JSONB, server_default="{}", nullable=False)
    geom: Mapped[Any] = _geometry("GEOMETRY")
    anchor: Mapped[Any] = _geometry("POINT")
    # the exact bounding box (the index keeps a float4 one, rounded outwards)
    min_lon: Mapped[float] = mapped_column(Double)
    min_lat: Mapped[float] = mapped_column(Double)
    max_lon: Mapped[float] = mapped_column(Double)
    max_lat: Mapped[float] = mapped_column(Double)


class NodeRow(Base):
    """A street-network node; ``node`` numbers a region's nodes 0..N-1."""

    __tablename__ = "walk_nodes"
    __table_args__ = (
        UniqueConstraint("region", "node", name="walk_nodes_node_key"),
        Index("walk_nodes_geom_gist", "geom", postgresql_using="gist"),
    )

    gid: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    region: Mapped[str] = mapped_column(Text, _region_fk())
    node: Mapped[int] = mapped_column(Integer)
    osmid: Mapped[int] = mapped_column(BigInteger)
    ele: Mapped[float | None] = mapped_column(Double)
    geom: Mapped[Any] = _geometry("POINT")


#: The way tags of an edge (besides ``highway``) and their columns in ``walk_edges``.
EDGE_TAG_COLUMNS = {
    "footway": "footway",
    "surface": "surface",
    "smoothness": "smoothness",
    "incline": "incline",
    "crossing": "crossing",
    "kerb": "kerb",
    "wheelchair": "wheelchair",
    "ramp": "ramp",
    "ramp:wheelchair": "ramp_wheelchair",
}


class EdgeRow(Base):
    """A street edge from ``source`` to ``target`` (pgRouting's names for ``u`` and ``v``)."""

    __tablename__ = "walk_edges"
    __table_args__ = (
        UniqueConstraint("region", "edge", name="walk_edges_edge_key"),
        Index("walk_edges_geom_gist", "geom", postgresql_using="gist"),
        Index("walk_edges_region_source", "region", "source"),
        Index("walk_edges_region_target", "region", "target"),
    )

    gid: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    region: Mapped[str] = mapped_column(Text, _region_fk())
    edge: Mapped[int] = mapped_column(Integer)
    source: Mapped[int] = mapped_column(Integer)
    target: Mapped[int] = mapped_column(Integer)
    length_m: Mapped[float] = mapped_column(Double)
    cost: Mapped[float] = mapped_column(Double)
    reverse_cost: Mapped[float] = mapped_column(Double)
    oneway: Mapped[bool] = mapped_column(Boolean)
    way_id: Mapped[int] = mapped_column(BigInteger)
    highway: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    footway: Mapped[str | None] = mapped_column(Text)
    surface: Mapped[str | None] = mapped_column(Text)
    smoothness: Mapped[str | None] = mapped_column(Text)
    incline: Mapped[str | None] = mapped_column(Text)
    crossing: Mapped[str | None] = mapped_column(Text)
    kerb: Mapped[str | None] = mapped_column(Text)
    wheelchair: Mapped[str | None] = mapped_column(Text)
    ramp: Mapped[str | None] = mapped_column(Text)
    ramp_wheelchair: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = _geometry("LINESTRING")


class CategoryRow(Base):
    """A facility category of the standard last loaded (``position`` is the file order)."""

    __tablename__ = "categories"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    label_en: Mapped[str] = mapped_column(Text)
    label_zh: Mapped[str] = mapped_column(Text)
    color: Mapped[str] = mapped_column(Text)
    icon: Mapped[str] = mapped_column(Text)


class RequirementRow(Base):
    """What a living-circle tier requires within ``radius_m`` (one of ``categories``)."""

    __tablename__ = "tier_requirements"
    __table_args__ = (
        UniqueConstraint("tier_minutes", "requirement", name="tier_requirements_key"),
    )

    gid: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    standard: Mapped[str] = mapped_column(Text)
    tier_minutes: Mapped[int] = mapped_column(Integer)
    tier_distance_m: Mapped[float] = mapped_column(Double)
    tier_label_en: Mapped[str] = mapped_column(Text)
    tier_label_zh: Mapped[str] = mapped_column(Text)
    requirement: Mapped[str] = mapped_column(Text)
    label_en: Mapped[str] = mapped_column(Text)
    label_zh: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(ARRAY(Text))
    radius_m: Mapped[float] = mapped_column(Double)


class ApiKeyRow(Base):
    """A department's API key: its public id, its owner and a salted hash of its secret.

    The secret itself is never stored (scrypt, see :mod:`livingcircle.geo.keys`).
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'department', 'planner')", name="api_keys_role_check"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    key_id: Mapped[str] = mapped_column(Text, unique=True)
    owner: Mapped[str] = mapped_column(Text)
    salt: Mapped[str] = mapped_column(Text)  # hex
    digest: Mapped[str] = mapped_column(Text)  # hex
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    role: Mapped[str] = mapped_column(Text, server_default="department")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class JobRow(Base):
    """A planner's analysis job: its inputs, state, progress, summary or error."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed')", name="jobs_state_check"
        ),
    )

    gid: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    id: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(Text)
    inputs: Mapped[Any] = mapped_column(JSONB, nullable=False)
    progress: Mapped[Any] = mapped_column(JSONB, nullable=False)
    summary: Mapped[Any] = mapped_column(JSONB, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JobLayerRow(Base):
    """One result layer of a job, as GeoParquet bytes."""

    __tablename__ = "job_layers"
    __table_args__ = (UniqueConstraint("job_id", "name", name="job_layers_key"),)

    gid: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[str] = mapped_column(Text, ForeignKey("jobs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    parquet: Mapped[bytes] = mapped_column(LargeBinary)


class RegionCacheRow(Base):
    """A region's build cache (:mod:`livingcircle.geo.region_cache`), an ``.npz`` blob.

    ``key`` is the fingerprint of the data it was built from; a load or a facility edit of
    the region deletes the row, and removing the region removes it.
    """

    __tablename__ = "region_caches"

    gid: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    region: Mapped[str] = mapped_column(Text, _region_fk(), unique=True)
    key: Mapped[str] = mapped_column(Text)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """A recorded change: who did what, when, and what was there before and after.

    ``before`` and ``after`` hold the facility's columns and its geometry as GeoJSON (NULL for
    a creation or a deletion), or a load's or an import's counts and ids. ``seq`` numbers a
    region's log (region ``''``: the store's API keys), ``prev_hash`` and ``hash`` chain it
    (:mod:`livingcircle.geo.audit`); triggers refuse UPDATE, DELETE and TRUNCATE.
    """

    __tablename__ = "facility_audit"
    __table_args__ = (
        CheckConstraint(
            "action IN ('create', 'update', 'delete', 'status', 'load', 'import', "
            "'region-remove', 'key-add', 'key-revoke')",
            name="facility_audit_action_check",
        ),
        Index("facility_audit_region_id", "region", "id"),
        UniqueConstraint("region", "seq", name="facility_audit_log_seq"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    region: Mapped[str] = mapped_column(Text)  # no foreign key: the record outlives a region
    facility_id: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    before: Mapped[Any] = mapped_column(JSONB, nullable=True)
    after: Mapped[Any] = mapped_column(JSONB, nullable=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(Text)


class StatusRow(Base):
    """A facility's last live status (free spaces, closure, queue), as its department set it.

    The checks are those of :func:`livingcircle.geo.status.check_status`; ``facility_id``
    has no foreign key (a reload may drop the facility; its status is then never shown).
    """

    __tablename__ = "facility_status"
    __table_args__ = (UniqueConstraint("region", "facility_id", name="facility_status_key"),)

    gid: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    region: Mapped[str] = mapped_column(Text, _region_fk())
    facility_id: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    spaces_free: Mapped[int | None] = mapped_column(Integer)
    spaces_total: Mapped[int | None] = mapped_column(Integer)
    closed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, server_default="")
    queue_minutes: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(Text)


class KioskRow(Base):
    """A kiosk added with ``livingcircle kiosk add`` (the TOML file's kiosks are not here)."""

    __tablename__ = "kiosks"

    gid: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    id: Mapped[str] = mapped_column(Text, unique=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(Text)
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)
    language: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(ARRAY(Text))
    refresh_s: Mapped[int] = mapped_column(Integer)
