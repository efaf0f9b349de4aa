"""Street edges keep the way tags walking profiles read; street nodes keep their elevation.

- ``walk_edges`` gets one text column per tag of
  :data:`livingcircle.geo.profiles.RULE_TAGS` besides ``highway`` (``footway``, ``surface``,
  ``smoothness``, ``incline``, ``crossing``, ``kerb``, ``wheelchair``, ``ramp``,
  ``ramp_wheelchair`` for ``ramp:wheelchair``): plain columns, so a load stays one COPY of
  text and a read one SELECT, with no JSON to build or parse per edge. ``""`` is a way
  without the tag; NULL (every row written before this revision) a region saved without it.
- ``walk_nodes`` gets ``ele`` (metres, double precision; NaN where the DEM had no height,
  NULL where the region was loaded without a DEM).

Regions stored before this revision keep working as they were (their profiles see
``highway`` only) and get the tags when they are loaded again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: The tag columns as this revision adds them, in order: a frozen copy (a later change to the
#: walking tags is a migration of its own, never an edit here).
TAG_COLUMNS = tuple(
    "footway surface smoothness incline crossing kerb wheelchair ramp ramp_wheelchair".split()
)


def upgrade() -> None:
    """Add the tag columns of ``walk_edges`` and ``walk_nodes.ele`` (no rewrite: nullable)."""
    for column in TAG_COLUMNS:
        op.add_column("walk_edges", sa.Column(column, sa.Text, nullable=True))
    op.add_column("walk_nodes", sa.Column("ele", sa.Double, nullable=True))


def downgrade() -> None:
    """Drop them again."""
    op.drop_column("walk_nodes", "ele")
    for column in reversed(TAG_COLUMNS):
        op.drop_column("walk_edges", column)
