"""The 30-day reset tracker (SPEC §12): leaders' confirmations and escalation-map writes.

`reset_confirmations` holds `reset confirm decision-rights --by P` (who, when, and the process
that recorded it, like the other governance actions); `map_writes` one row per escalation map
written, which the tracker's week-1 item "map published" reads. Both are new and start empty:
no existing row changes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.DateTime:
    """storage.types.UTCDateTime: timestamptz on PostgreSQL, UTC without offset on SQLite."""
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reset_confirmations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("started", sa.Date(), nullable=False),
        sa.Column("item", sa.String(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("os_user", sa.String(), nullable=True),
        sa.Column("host", sa.String(), nullable=True),
        sa.Column("flow_run_id", sa.String(), nullable=True),
        sa.CheckConstraint("item IN ('decision-rights')",
                           name=op.f("ck_reset_confirmations_item")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reset_confirmations")),
    )
    op.create_index("ix_reset_confirmations_workflow_started", "reset_confirmations",
                    ["workflow", "started"])
    op.create_table(
        "map_writes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("registry_hash", sa.String(), nullable=False),
        sa.Column("written_at", _ts(), nullable=False),
        sa.Column("writer", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_writes")),
    )
    op.create_index("ix_map_writes_workflow_written_at", "map_writes",
                    ["workflow", "written_at"])


def downgrade() -> None:
    op.drop_index("ix_map_writes_workflow_written_at", table_name="map_writes")
    op.drop_table("map_writes")
    op.drop_index("ix_reset_confirmations_workflow_started", table_name="reset_confirmations")
    op.drop_table("reset_confirmations")
