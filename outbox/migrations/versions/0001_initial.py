"""Initial outbox store: entries, batches, outcomes, delta state, work list, audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from outbox.store import UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    """Create every table of the first release."""
    op.create_table(
        "outbox_entries",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(32), nullable=False),
        sa.Column("source_system", sa.String(12), nullable=False),
        sa.Column("source_record_id", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error_code", sa.String(40), nullable=True),
        sa.Column("last_error_message", sa.String(500), nullable=True),
        sa.Column("outcome_status", sa.String(16), nullable=True),
        sa.Column("payload", sa.LargeBinary, nullable=True),
        sa.Column("key_id", sa.String(16), nullable=True),
        sa.Column("payload_size", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=True),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index(
        "ix_outbox_entries_state_source_id", "outbox_entries", ["state", "source_system", "id"]
    )
    op.create_index(
        "ix_outbox_entries_record",
        "outbox_entries",
        ["source_system", "source_record_id"],
    )
    op.create_index("ix_outbox_entries_batch", "outbox_entries", ["batch_id"])
    op.create_index(
        "uq_outbox_entries_one_pending",
        "outbox_entries",
        ["source_system", "source_record_id"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )

    op.create_table(
        "outbox_batches",
        sa.Column("batch_id", sa.String(36), primary_key=True),
        sa.Column("source_system", sa.String(12), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("record_count", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=True),
        sa.Column("key_id", sa.String(16), nullable=True),
        sa.Column("payload_size", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("poll_count", sa.Integer, nullable=False),
        sa.Column("poll_failures", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("lease_owner", sa.String(80), nullable=True),
        sa.Column("lease_expires_at", UtcDateTime, nullable=True),
        sa.Column("submitted_at", UtcDateTime, nullable=True),
        sa.Column("received_at", UtcDateTime, nullable=True),
        sa.Column("completed_at", UtcDateTime, nullable=True),
        sa.Column("last_error_code", sa.String(40), nullable=True),
        sa.Column("last_error_message", sa.String(500), nullable=True),
    )
    op.create_index("ix_outbox_batches_due", "outbox_batches", ["state", "next_attempt_at"])

    op.create_table(
        "outbox_outcomes",
        sa.Column("message_id", sa.String(32), primary_key=True),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("source_system", sa.String(12), nullable=False),
        sa.Column("source_record_id", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("contactpoint_id", sa.String(12), nullable=True),
        sa.Column("candidate_count", sa.Integer, nullable=True),
        sa.Column("original_status", sa.String(16), nullable=True),
        sa.Column("breaches", sa.Text, nullable=True),
        sa.Column("received_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_outbox_outcomes_batch", "outbox_outcomes", ["batch_id"])

    op.create_table(
        "delta_state",
        sa.Column("source_system", sa.String(12), primary_key=True),
        sa.Column("source_record_id", sa.String(64), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("last_version", sa.BigInteger, nullable=False),
        sa.Column("contactpoint_id", sa.String(12), nullable=True),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )

    op.create_table(
        "worklist",
        sa.Column("message_id", sa.String(32), primary_key=True),
        sa.Column("source_system", sa.String(12), nullable=False),
        sa.Column("source_record_id", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("candidate_count", sa.Integer, nullable=True),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_worklist_record", "worklist", ["source_system", "source_record_id"])

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # The chain starts empty: sequence 0, the all-zero hash (outbox.audit.GENESIS).
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    """Drop every table of the first release."""
    for table in (
        "audit_head",
        "audit_log",
        "worklist",
        "delta_state",
        "outbox_outcomes",
        "outbox_batches",
        "outbox_entries",
    ):
        op.drop_table(table)
