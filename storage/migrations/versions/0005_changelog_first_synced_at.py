"""When the sync first wrote each Jira changelog item, so evaluation can tell new ones.

An incremental evaluation re-scores the weeks back to the earliest moment a sync can have
changed a metric. Knowing which changelog items are new (an assignee change dated this week,
say) lets it start there instead of at the changed issue's first resolution, which a reopen
could lower. The sync's upsert never rewrites the column, so it keeps the first write.

Existing rows take their issue's `synced_at`: never earlier than their real first write, so
an item synced since the last evaluation still counts as new (and an old one as old once the
issue has not been re-synced since).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column without a default: SQLite adds it in place (no table rebuild).
    op.add_column(
        "jira_changelog_items", sa.Column("first_synced_at", sa.DateTime(timezone=True))
    )
    op.execute(
        "UPDATE jira_changelog_items SET first_synced_at = "
        "(SELECT synced_at FROM jira_issues WHERE jira_issues.id = jira_changelog_items.issue_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("jira_changelog_items") as batch:
        batch.drop_column("first_synced_at")
