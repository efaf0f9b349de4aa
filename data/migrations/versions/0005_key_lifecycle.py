"""Key lifecycle: expiry, revocation and last use on ``api_keys``; the ``admin`` role.

Keys made before this revision never expire (``expires_at`` stays NULL); new keys get one
(``livingcircle keys add --expires``, 365 days by default). A revoked key keeps its row.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# the same values as livingcircle.geo.keys.ROLES
ROLE_CHECK = "role IN ('admin', 'department', 'planner')"
OLD_ROLE_CHECK = "role IN ('department', 'planner')"
COLUMNS = ("expires_at", "revoked_at", "last_used_at")


def upgrade() -> None:
    """Add the three times and allow the ``admin`` role."""
    for name in COLUMNS:
        op.add_column("api_keys", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint("api_keys_role_check", "api_keys", type_="check")
    op.create_check_constraint("api_keys_role_check", "api_keys", ROLE_CHECK)


def downgrade() -> None:
    """Drop the times and the admin keys (the older schema cannot hold them)."""
    op.execute("DELETE FROM api_keys WHERE role = 'admin'")
    op.drop_constraint("api_keys_role_check", "api_keys", type_="check")
    op.create_check_constraint("api_keys_role_check", "api_keys", OLD_ROLE_CHECK)
    for name in reversed(COLUMNS):
        op.drop_column("api_keys", name)
