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
from typing import Annotated, Any, ClassVar

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


#: A primary key the database numbers (an integer identity column); :data:`_BigKey`, bigint.
_Key = Annotated[int, mapped_column(Identity(), primary_key=True)]
_BigKey = Annotated[int, mapped_column(BigInteger, Identity(), primary_key=True)]


def _geometry(kind: str) -> Any:
    # indexes are declared explicitly (below and in the migration), not by GeoAlchemy2
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=False), nullable=False)


def _region_fk() -> Any:
    return ForeignKey("regions.name", onupdate="CASCADE", ondelete="CASCADE")


class Base(DeclarativeBase):
    """Declarative base of the livingcircle tables.

    A column's SQL type follows from its Python one (``str``: text, ``int``: integer,
    ``float``: double precision, ``bool``: boolean, ``bytes``: bytea, ``datetime``:
    timestamptz, ``list[str]``: text[], ``dict[str, Any]``: JSONB) and ``| None`` makes it
    nullable; a column names its type only where it is another (bigint, a geometry, text in
    the C collation).
    """

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        str: Text,
        int: Integer,
        float: Double,
        bool: Boolean,
        bytes: LargeBinary,
        datetime: DateTime(timezone=True),
        list[str]: ARRAY(Text),
        dict[str, Any]: JSONB,
    }


class RegionRow(Base):
    """A loaded region: where it came from, when, and its bounding box."""

    __tablename__ = "regions"
    __table_args__ = (Index("regions_boundary_gist", "boundary", postgresql_using="gist"),)

    gid: Mapped[_Key]
    name: Mapped[str] = mapped_column(unique=True)
    source: Mapped[str]
    loaded_at: Mapped[datetime]
    west: Mapped[float]
    south: Mapped[float]
    east: Mapped[float]
    north: Mapped[float]
    n_nodes: Mapped[int]
    n_edges: Mapped[int]
    n_facilities: Mapped[int]
    boundary: Mapped[Any] = _geometry("POLYGON")


class _ExactBounds:
    """The last columns of ``facilities``: the exact bounding box of a facility's geometry.

    (The GiST index on ``geom`` keeps a float4 box, rounded outwards.)
    """

    min_lon: Mapped[float]
    min_lat: Mapped[float]
    max_lon: Mapped[float]
    max_lat: Mapped[float]


class FacilityRow(_ExactBounds, Base):
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

    fid: Mapped[_BigKey]
    region: Mapped[str] = mapped_column(_region_fk())
    id: Mapped[str] = mapped_column(Text(collation="C"))
    source: Mapped[str]
    source_id: Mapped[str]
    name: Mapped[str | None]
    name_zh: Mapped[str | None]
    name_en: Mapped[str | None]
    category: Mapped[str]
    opening_hours: Mapped[str | None]
    tags: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    geom: Mapped[Any] = _geometry("GEOMETRY")
    anchor: Mapped[Any] = _geometry("POINT")


class NodeRow(Base):
    """A street-network node; ``node`` numbers a region's nodes 0..N-1."""

    __tablename__ = "walk_nodes"
    __table_args__ = (
        UniqueConstraint("region", "node", name="walk_nodes_node_key"),
        Index("walk_nodes_geom_gist", "geom", postgresql_using="gist"),
    )

    gid: Mapped[_BigKey]
    region: Mapped[str] = mapped_column(_region_fk())
    node: Mapped[int]
    osmid: Mapped[int] = mapped_column(BigInteger)
    ele: Mapped[float | None]
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

    gid: Mapped[_BigKey]
    region: Mapped[str] = mapped_column(_region_fk())
    edge: Mapped[int]
    source: Mapped[int]
    target: Mapped[int]
    length_m: Mapped[float]
    cost: Mapped[float]
    reverse_cost: Mapped[float]
    oneway: Mapped[bool]
    way_id: Mapped[int] = mapped_column(BigInteger)
    highway: Mapped[str | None]
    name: Mapped[str | None]
    footway: Mapped[str | None]
    surface: Mapped[str | None]
    smoothness: Mapped[str | None]
    incline: Mapped[str | None]
    crossing: Mapped[str | None]
    kerb: Mapped[str | None]
    wheelchair: Mapped[str | None]
    ramp: Mapped[str | None]
    ramp_wheelchair: Mapped[str | None]
    geom: Mapped[Any] = _geometry("LINESTRING")


class CategoryRow(Base):
    """A facility category of the standard last loaded (``position`` is the file order)."""

    __tablename__ = "categories"

    id: Mapped[str] = mapped_column(primary_key=True)
    position: Mapped[int]
    label_en: Mapped[str]
    label_zh: Mapped[str]
    color: Mapped[str]
    icon: Mapped[str]


class RequirementRow(Base):
    """What a living-circle tier requires within ``radius_m`` (one of ``categories``)."""

    __tablename__ = "tier_requirements"
    __table_args__ = (
        UniqueConstraint("tier_minutes", "requirement", name="tier_requirements_key"),
    )

    gid: Mapped[_Key]
    standard: Mapped[str]
    tier_minutes: Mapped[int]
    tier_distance_m: Mapped[float]
    tier_label_en: Mapped[str]
    tier_label_zh: Mapped[str]
    requirement: Mapped[str]
    label_en: Mapped[str]
    label_zh: Mapped[str]
    categories: Mapped[list[str]]
    radius_m: Mapped[float]


class ApiKeyRow(Base):
    """A department's API key: its public id, its owner and a salted hash of its secret.

    The secret itself is never stored (scrypt, see :mod:`livingcircle.geo.keys`).
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'department', 'planner')", name="api_keys_role_check"),
    )

    id: Mapped[_Key]
    key_id: Mapped[str] = mapped_column(unique=True)
    owner: Mapped[str]
    salt: Mapped[str]  # hex
    digest: Mapped[str]  # hex
    created_at: Mapped[datetime]
    role: Mapped[str] = mapped_column(server_default="department")
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class JobRow(Base):
    """A planner's analysis job: its inputs, state, progress, summary or error."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed')", name="jobs_state_check"
        ),
    )

    gid: Mapped[_BigKey]
    id: Mapped[str] = mapped_column(unique=True)
    kind: Mapped[str]
    region: Mapped[str]
    state: Mapped[str]
    owner: Mapped[str]
    inputs: Mapped[dict[str, Any]]
    progress: Mapped[dict[str, Any]]
    summary: Mapped[dict[str, Any] | None]
    error: Mapped[str | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class JobLayerRow(Base):
    """One result layer of a job, as GeoParquet bytes."""

    __tablename__ = "job_layers"
    __table_args__ = (UniqueConstraint("job_id", "name", name="job_layers_key"),)

    gid: Mapped[_BigKey]
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    name: Mapped[str]
    parquet: Mapped[bytes]


class RegionCacheRow(Base):
    """A region's build cache (:mod:`livingcircle.geo.region_cache`), an ``.npz`` blob.

    ``key`` is the fingerprint of the data it was built from; a load or a facility edit of
    the region deletes the row, and removing the region removes it.
    """

    __tablename__ = "region_caches"

    gid: Mapped[_BigKey]
    region: Mapped[str] = mapped_column(_region_fk(), unique=True)
    key: Mapped[str]
    blob: Mapped[bytes]
    built_at: Mapped[datetime]


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

    id: Mapped[_BigKey]
    region: Mapped[str]  # no foreign key: the record outlives a region
    facility_id: Mapped[str]
    action: Mapped[str]
    actor: Mapped[str]
    at: Mapped[datetime]
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str]
    hash: Mapped[str]


class StatusRow(Base):
    """A facility's last live status (free spaces, closure, queue), as its department set it.

    The checks are those of :func:`livingcircle.geo.status.check_status`; ``facility_id``
    has no foreign key (a reload may drop the facility; its status is then never shown).
    """

    __tablename__ = "facility_status"
    __table_args__ = (UniqueConstraint("region", "facility_id", name="facility_status_key"),)

    gid: Mapped[_BigKey]
    region: Mapped[str] = mapped_column(_region_fk())
    facility_id: Mapped[str]
    category: Mapped[str]
    spaces_free: Mapped[int | None]
    spaces_total: Mapped[int | None]
    closed_until: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(server_default="")
    queue_minutes: Mapped[int | None]
    updated_at: Mapped[datetime]
    actor: Mapped[str]


class KioskRow(Base):
    """A kiosk added with ``livingcircle kiosk add`` (the TOML file's kiosks are not here)."""

    __tablename__ = "kiosks"

    gid: Mapped[_Key]
    id: Mapped[str] = mapped_column(unique=True)
    name_zh: Mapped[str]
    name_en: Mapped[str]
    region: Mapped[str]
    lat: Mapped[float]
    lon: Mapped[float]
    language: Mapped[str]
    categories: Mapped[list[str]]
    refresh_s: Mapped[int]
