"""Regions, facilities, the walking network and the standard's categories.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _geom(kind: str) -> Geometry:
    return Geometry(kind, srid=4326, spatial_index=False)


def _region() -> sa.Column[str]:
    return sa.Column(
        "region",
        sa.Text,
        sa.ForeignKey("regions.name", onupdate="CASCADE", ondelete="CASCADE"),
        nullable=False,
    )


def _gist(table: str, column: str) -> None:
    op.create_index(f"{table}_{column}_gist", table, [column], postgresql_using="gist")


def upgrade() -> None:
    """Create the tables, their keys and their spatial indexes."""
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    _regions()
    _facilities()
    _network()
    _standard()


def _regions() -> None:
    op.create_table(
        "regions",
        sa.Column("gid", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(c, sa.Double, nullable=False) for c in ("west", "south", "east", "north")),
        *(sa.Column(c, sa.Integer, nullable=False) for c in ("n_nodes", "n_edges", "n_facilities")),
        sa.Column("boundary", _geom("POLYGON"), nullable=False),
    )
    op.create_index("regions_boundary_gist", "regions", ["boundary"], postgresql_using="gist")


def _facilities() -> None:
    op.create_table(
        "facilities",
        sa.Column("fid", sa.BigInteger, sa.Identity(), primary_key=True),
        _region(),
        sa.Column("id", sa.Text(collation="C"), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_id", sa.Text, nullable=False),
        *(sa.Column(c, sa.Text) for c in ("name", "name_zh", "name_en")),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("opening_hours", sa.Text),
        sa.Column("tags", JSONB, nullable=False, server_default="{}"),
        sa.Column("geom", _geom("GEOMETRY"), nullable=False),
        sa.Column("anchor", _geom("POINT"), nullable=False),
        *(
            sa.Column(c, sa.Double, nullable=False)
            for c in ("min_lon", "min_lat", "max_lon", "max_lat")
        ),
        sa.UniqueConstraint("region", "source", "source_id", name="facilities_source_key"),
        sa.UniqueConstraint(
            "region", "id", name="facilities_id_key", deferrable=True, initially="DEFERRED"
        ),
    )
    _gist("facilities", "geom")
    _gist("facilities", "anchor")
    # distances in metres from the nearest-first (KNN) queries use this one
    op.execute(
        "CREATE INDEX facilities_anchor_geog_gist ON facilities USING gist ((anchor::geography))"
    )
    op.create_index("facilities_region_category", "facilities", ["region", "category"])


def _network() -> None:
    op.create_table(
        "walk_nodes",
        sa.Column("gid", sa.BigInteger, sa.Identity(), primary_key=True),
        _region(),
        sa.Column("node", sa.Integer, nullable=False),
        sa.Column("osmid", sa.BigInteger, nullable=False),
        sa.Column("geom", _geom("POINT"), nullable=False),
        sa.UniqueConstraint("region", "node", name="walk_nodes_node_key"),
    )
    _gist("walk_nodes", "geom")
    op.create_table(
        "walk_edges",
        sa.Column("gid", sa.BigInteger, sa.Identity(), primary_key=True),
        _region(),
        sa.Column("edge", sa.Integer, nullable=False),
        sa.Column("source", sa.Integer, nullable=False),
        sa.Column("target", sa.Integer, nullable=False),
        *(sa.Column(c, sa.Double, nullable=False) for c in ("length_m", "cost", "reverse_cost")),
        sa.Column("oneway", sa.Boolean, nullable=False),
        sa.Column("way_id", sa.BigInteger, nullable=False),
        sa.Column("highway", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("geom", _geom("LINESTRING"), nullable=False),
        sa.UniqueConstraint("region", "edge", name="walk_edges_edge_key"),
    )
    _gist("walk_edges", "geom")
    op.create_index("walk_edges_region_source", "walk_edges", ["region", "source"])
    op.create_index("walk_edges_region_target", "walk_edges", ["region", "target"])
    for table in ("walk_nodes", "walk_edges", "facilities"):
        op.execute(
            f"COMMENT ON TABLE {table} IS "
            "'livingcircle: reload with livingcircle load FILE --region NAME'"
        )


def _standard() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        *(sa.Column(c, sa.Text, nullable=False) for c in ("label_en", "label_zh", "color", "icon")),
    )
    op.create_table(
        "tier_requirements",
        sa.Column("gid", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("standard", sa.Text, nullable=False),
        sa.Column("tier_minutes", sa.Integer, nullable=False),
        sa.Column("tier_distance_m", sa.Double, nullable=False),
        sa.Column("tier_label_en", sa.Text, nullable=False),
        sa.Column("tier_label_zh", sa.Text, nullable=False),
        sa.Column("requirement", sa.Text, nullable=False),
        sa.Column("label_en", sa.Text, nullable=False),
        sa.Column("label_zh", sa.Text, nullable=False),
        sa.Column("categories", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("radius_m", sa.Double, nullable=False),
        sa.UniqueConstraint("tier_minutes", "requirement", name="tier_requirements_key"),
    )


def downgrade() -> None:
    """Drop every livingcircle table (the postgis extension stays)."""
    for table in (
        "tier_requirements",
        "categories",
        "walk_edges",
        "walk_nodes",
        "facilities",
        "regions",
    ):
        op.drop_table(table)
