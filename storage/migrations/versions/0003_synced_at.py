"""When each record was last written by the sync, so evaluation can find what changed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pd_log_entries") as batch:
        batch.add_column(
            sa.Column(
                "synced_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text("CURRENT_TIMESTAMP"),
            )
        )
    with op.batch_alter_table("pd_log_entries") as batch:
        batch.alter_column("synced_at", server_default=None)
    op.create_index("ix_pd_log_entries_synced_at", "pd_log_entries", ["synced_at"])
    op.create_index("ix_jira_issues_synced_at", "jira_issues", ["synced_at"])
    op.create_index("ix_pd_incidents_synced_at", "pd_incidents", ["synced_at"])


def downgrade() -> None:
    op.drop_index("ix_pd_incidents_synced_at", table_name="pd_incidents")
    op.drop_index("ix_jira_issues_synced_at", table_name="jira_issues")
    op.drop_index("ix_pd_log_entries_synced_at", table_name="pd_log_entries")
    with op.batch_alter_table("pd_log_entries") as batch:
        batch.drop_column("synced_at")
