"""Key roles (department, planner) and the planner's analysis jobs with their result layers.

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# the same values as livingcircle.geo.keys.ROLES and livingcircle.geo.jobs.STATES
ROLE_CHECK = "role IN ('department', 'planner')"
STATE_CHECK = "state IN ('queued', 'running', 'done', 'failed')"


def upgrade() -> None:
    """Add ``api_keys.role`` (existing keys are department keys); create ``jobs``."""
    op.add_column(
        "api_keys", sa.Column("role", sa.Text, nullable=False, server_default="department")
    )
    op.create_check_constraint("api_keys_role_check", "api_keys", ROLE_CHECK)
    op.create_table(
        "jobs",
        sa.Column("gid", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("region", sa.Text, nullable=False),  # no foreign key: a job outlives a reload
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("inputs", JSONB, nullable=False),
        sa.Column("progress", JSONB, nullable=False),
        sa.Column("summary", JSONB, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(STATE_CHECK, name="jobs_state_check"),
    )
    op.execute(
        "COMMENT ON TABLE jobs IS 'livingcircle: planner analyses run through the API "
        "(POST /v1/regions/{region}/analyses), their inputs, progress and summary'"
    )
    op.create_table(
        "job_layers",
        sa.Column("gid", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("job_id", sa.Text, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("parquet", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("job_id", "name", name="job_layers_key"),
    )
    op.execute(
        "COMMENT ON TABLE job_layers IS 'livingcircle: result layers of the planner "
        "jobs, as GeoParquet'"
    )


def downgrade() -> None:
    """Drop the jobs and the key roles."""
    op.drop_table("job_layers")
    op.drop_table("jobs")
    op.drop_constraint("api_keys_role_check", "api_keys", type_="check")
    op.drop_column("api_keys", "role")
