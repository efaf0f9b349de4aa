"""API keys and the audit log of facility changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``api_keys`` and ``facility_audit``."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("key_id", sa.Text, nullable=False, unique=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("salt", sa.Text, nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "COMMENT ON TABLE api_keys IS 'livingcircle: salted scrypt hashes of API keys "
        "(livingcircle keys add/list/remove); secrets are never stored'"
    )
    # no foreign key to regions: the record of changes outlives a deleted region
    op.create_table(
        "facility_audit",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("facility_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", JSONB),
        sa.Column("after", JSONB),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'delete')", name="facility_audit_action_check"
        ),
    )
    op.create_index("facility_audit_region_id", "facility_audit", ["region", "id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("facility_audit")
    op.drop_table("api_keys")
