"""Live facility statuses, kiosks kept in the store, and status changes in the audit log.

Revision ID: 0003
Revises: 0002
Create Date: 2027-01-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# the same bounds as livingcircle.geo.status and livingcircle.geo.kiosks check
STATUS_CHECKS = {
    "facility_status_spaces_free_check": "spaces_free BETWEEN 0 AND 100000",
    "facility_status_spaces_total_check": "spaces_total BETWEEN 1 AND 100000",
    "facility_status_spaces_check": "spaces_free <= spaces_total",
    "facility_status_queue_check": "queue_minutes BETWEEN 0 AND 1440",
    "facility_status_note_check": "char_length(note) <= 200 AND note !~ '[[:cntrl:]]'",
    "facility_status_any_check": "spaces_free IS NOT NULL OR spaces_total IS NOT NULL OR "
    "closed_until IS NOT NULL OR note <> '' OR "
    "queue_minutes IS NOT NULL",
}
KIOSK_CHECKS = {
    "kiosks_id_check": "id ~ '^[A-Za-z0-9_-]{1,64}$'",
    "kiosks_language_check": "language IN ('zh', 'en')",
    "kiosks_position_check": "lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180",
    "kiosks_refresh_check": "refresh_s BETWEEN 10 AND 86400",
    "kiosks_categories_check": "cardinality(categories) BETWEEN 1 AND 30",
}
ACTIONS = ("create", "update", "delete")


def upgrade() -> None:
    """Create ``facility_status`` and ``kiosks``; allow the audit action ``status``."""
    op.create_table(
        "facility_status",
        sa.Column("gid", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "region",
            sa.Text,
            sa.ForeignKey("regions.name", onupdate="CASCADE", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("facility_id", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("spaces_free", sa.Integer),
        sa.Column("spaces_total", sa.Integer),
        sa.Column("closed_until", sa.DateTime(timezone=True)),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("queue_minutes", sa.Integer),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.UniqueConstraint("region", "facility_id", name="facility_status_key"),
        *(sa.CheckConstraint(sql, name=name) for name, sql in STATUS_CHECKS.items()),
    )
    op.execute(
        "COMMENT ON TABLE facility_status IS 'livingcircle: the last live status "
        "(free spaces, closure, queue) each department reported for its facilities'"
    )
    op.create_table(
        "kiosks",
        sa.Column("gid", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("region", sa.Text, nullable=False),  # no foreign key, as in the file store
        sa.Column("lat", sa.Double, nullable=False),
        sa.Column("lon", sa.Double, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("categories", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("refresh_s", sa.Integer, nullable=False),
        *(sa.CheckConstraint(sql, name=name) for name, sql in KIOSK_CHECKS.items()),
    )
    op.execute(
        "COMMENT ON TABLE kiosks IS 'livingcircle: street and community kiosks "
        "(livingcircle kiosk add/list/remove)'"
    )
    _audit_actions((*ACTIONS, "status"))


def downgrade() -> None:
    """Drop both tables; the audit log forgets status changes."""
    op.execute("DELETE FROM facility_audit WHERE action = 'status'")
    _audit_actions(ACTIONS)
    op.drop_table("kiosks")
    op.drop_table("facility_status")


def _audit_actions(actions: tuple[str, ...]) -> None:
    op.drop_constraint("facility_audit_action_check", "facility_audit", type_="check")
    listed = ", ".join(f"'{a}'" for a in actions)
    op.create_check_constraint(
        "facility_audit_action_check", "facility_audit", f"action IN ({listed})"
    )
