"""Same-second PagerDuty log entries keep the order PagerDuty applied them.

PagerDuty stamps log entries in whole seconds and gives them random ids, so an incident's
assignment and the escalation made in the same second cannot be ordered by time or id. The
sync now keeps each entry's rank among its incident's entries of that second, read from the
order of the API's listing (`pd_log_entries.tie_rank`), and every ownership event its place
in its item's replayed history (`ownership_events.seq`), which the rules sort by after time.

Existing rows: `tie_rank` stays NULL (the entry's id breaks the tie, as before, until it is
synced again) and `seq` is 0 (ties fall back to the event reference, as before).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Both are added in place on SQLite: a nullable column, and a NOT NULL one with a default.
    op.add_column("pd_log_entries", sa.Column("tie_rank", sa.Integer(), nullable=True))
    op.add_column(
        "ownership_events",
        sa.Column("seq", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("ownership_events") as batch:
        batch.drop_column("seq")
    with op.batch_alter_table("pd_log_entries") as batch:
        batch.drop_column("tie_rank")
