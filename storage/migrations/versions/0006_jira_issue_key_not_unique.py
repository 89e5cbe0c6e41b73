"""An issue's key is indexed, no longer a unique constraint: two syncs may write one issue.

`jira_issues` is upserted on its id (`INSERT … ON CONFLICT (id) DO UPDATE`). PostgreSQL
checks only the conflict target's index against concurrent inserts: when two workers (two
scheduled runs on one database) insert the same new issue at the same moment, the second
one's insert into the *key's* unique index fails with `duplicate key value violates unique
constraint "uq_jira_issues_key"` instead of updating. Jira never gives two issues one key
at once (a moved issue changes its key, keys are not reused), so the index only has to
find an issue by key, not police Jira.

On SQLite the table is rebuilt (batch mode); `storage.migrate.upgrade` runs migrations with
foreign keys off, as SQLite's own procedure for such changes asks, so rebuilding the parent
table does not cascade into its changelog rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jira_issues") as batch:
        batch.drop_constraint("uq_jira_issues_key", type_="unique")
        batch.create_index("ix_jira_issues_key", ["key"])


def downgrade() -> None:
    with op.batch_alter_table("jira_issues") as batch:
        batch.drop_index("ix_jira_issues_key")
        batch.create_unique_constraint("uq_jira_issues_key", ["key"])
