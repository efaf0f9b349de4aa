"""A region's build cache: its CSR arrays and placed facilities, kept between starts.

``region_caches`` holds one blob per region (an ``.npz``, see
:mod:`livingcircle.geo.region_cache`) under the fingerprint of the data it was built from.
A load or a facility edit of the region deletes its row; removing the region removes it
with the region (foreign key, ``ON DELETE CASCADE``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``region_caches``."""
    op.create_table(
        "region_caches",
        sa.Column("gid", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "region",
            sa.Text,
            sa.ForeignKey("regions.name", onupdate="CASCADE", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("blob", sa.LargeBinary, nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
    )
    # the blobs are numbers already packed: no point in TOAST compressing them
    op.execute("ALTER TABLE region_caches ALTER COLUMN blob SET STORAGE EXTERNAL")
    op.execute(
        "COMMENT ON TABLE region_caches IS 'livingcircle: each region''s build cache (CSR "
        "arrays, facilities placed on the streets), rebuilt when its data changes'"
    )


def downgrade() -> None:
    """Drop ``region_caches`` (a start then builds each region from its data)."""
    op.drop_table("region_caches")
