"""Pipeline tables: held records (the held report) and source runs (counts, watermarks).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from outbox.store import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add held_records and source_runs."""
    op.create_table(
        "held_records",
        sa.Column("source_system", sa.String(12), primary_key=True),
        sa.Column("source_record_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("rules", sa.String(200), nullable=False),
        sa.Column("breaches", sa.Text, nullable=False),
        sa.Column("provenance", sa.String(300), nullable=False),
        sa.Column("first_held_at", UtcDateTime, nullable=False),
        sa.Column("last_held_at", UtcDateTime, nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
    )
    op.create_index("ix_held_records_source", "held_records", ["source"])
    op.create_table(
        "source_runs",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("source_system", sa.String(12), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("watermark", sa.String(64), nullable=True),
        sa.Column("error_code", sa.String(40), nullable=True),
        sa.Column("error_message", sa.String(500), nullable=True),
    )
    op.create_index("ix_source_runs_source", "source_runs", ["source", "started_at"])


def downgrade() -> None:
    """Drop the pipeline tables."""
    op.drop_index("ix_source_runs_source", table_name="source_runs")
    op.drop_table("source_runs")
    op.drop_index("ix_held_records_source", table_name="held_records")
    op.drop_table("held_records")
