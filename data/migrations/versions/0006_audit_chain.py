"""The audit log becomes append-only and hash-chained; loads, imports and keys are recorded.

- ``facility_audit`` gets ``seq`` (1, 2, 3, ... within a region's log; the store-wide log of
  API keys has region ``''``), ``prev_hash`` and ``hash`` (SHA-256, see
  :mod:`livingcircle.geo.audit`). Rows written before this revision are chained here, in
  the order of their ``id``, so ``livingcircle audit verify`` checks them too.
- Triggers refuse UPDATE, DELETE and TRUNCATE of ``facility_audit``, for every role that
  does not first alter the table (only its owner may; run the API under another role, with
  INSERT and SELECT on it, to take even that away).
- New actions: ``load``, ``import``, ``region-remove``, ``key-add``, ``key-revoke``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from livingcircle.geo.audit import ACTIONS, GENESIS, format_at, record_hash

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_ACTIONS = ("create", "update", "delete", "status")
REFUSE = """
CREATE FUNCTION facility_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % of facility_audit is refused', TG_OP
        USING ERRCODE = '42501',
              HINT = 'entries are only ever added; livingcircle audit verify checks them';
END $$"""


def upgrade() -> None:
    """Add and fill the chain columns, allow the new actions, refuse changes of old rows."""
    for name, kind in (("seq", sa.BigInteger), ("prev_hash", sa.Text), ("hash", sa.Text)):
        op.add_column("facility_audit", sa.Column(name, kind, nullable=True))
    _chain_old_rows()
    for name in ("seq", "prev_hash", "hash"):
        op.alter_column("facility_audit", name, nullable=False)
    op.create_unique_constraint("facility_audit_log_seq", "facility_audit", ["region", "seq"])
    _actions(tuple(ACTIONS))
    op.execute(REFUSE)
    op.execute(
        "CREATE TRIGGER facility_audit_no_change BEFORE UPDATE OR DELETE ON facility_audit "
        "FOR EACH ROW EXECUTE FUNCTION facility_audit_append_only()"
    )
    op.execute(
        "CREATE TRIGGER facility_audit_no_truncate BEFORE TRUNCATE ON facility_audit "
        "FOR EACH STATEMENT EXECUTE FUNCTION facility_audit_append_only()"
    )
    op.execute(
        "COMMENT ON TABLE facility_audit IS 'livingcircle: the audit log, append-only and "
        "hash-chained per region (livingcircle audit verify)'"
    )


def downgrade() -> None:
    """Drop the triggers and the chain; entries of the new actions are dropped too."""
    op.execute("DROP TRIGGER facility_audit_no_truncate ON facility_audit")
    op.execute("DROP TRIGGER facility_audit_no_change ON facility_audit")
    op.execute("DROP FUNCTION facility_audit_append_only()")
    listed = ", ".join(f"'{a}'" for a in OLD_ACTIONS)
    op.execute(f"DELETE FROM facility_audit WHERE action NOT IN ({listed})")
    _actions(OLD_ACTIONS)
    op.drop_constraint("facility_audit_log_seq", "facility_audit", type_="unique")
    for name in ("hash", "prev_hash", "seq"):
        op.drop_column("facility_audit", name)


def _chain_old_rows() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, region, facility_id, action, actor, at, before, after "
            "FROM facility_audit ORDER BY region, id"
        )
    ).all()
    last: dict[str, tuple[int, str]] = {}
    for row in rows:
        seq, prev = last.get(row.region, (0, GENESIS))
        record: dict[str, Any] = {
            "seq": seq + 1,
            "region": row.region,
            "facility_id": row.facility_id,
            "action": row.action,
            "actor": row.actor,
            "at": format_at(row.at),
            "before": row.before,
            "after": row.after,
            "prev": prev,
        }
        digest = record_hash(record)
        conn.execute(
            sa.text("UPDATE facility_audit SET seq = :s, prev_hash = :p, hash = :h WHERE id = :i"),
            {"s": seq + 1, "p": prev, "h": digest, "i": row.id},
        )
        last[row.region] = (seq + 1, digest)


def _actions(actions: tuple[str, ...]) -> None:
    op.drop_constraint("facility_audit_action_check", "facility_audit", type_="check")
    listed = ", ".join(f"'{a}'" for a in actions)
    op.create_check_constraint(
        "facility_audit_action_check", "facility_audit", f"action IN ({listed})"
    )
