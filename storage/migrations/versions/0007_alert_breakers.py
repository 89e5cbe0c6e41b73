"""`alert_breakers`: one circuit breaker per alert destination (issue 15 item 1).

Each outbox row used to back off on its own jittered timer, so after an outage the rows of
one email came due at different moments and went out as many fragments. A destination that is
down (the SMTP server, a Slack webhook, the PagerDuty events URL) now has one row here with the
moment it may be tried again; the dispatcher holds back all of its rows until then, and claims
them together.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.DateTime:
    """storage.types.UTCDateTime: timestamptz on PostgreSQL, UTC without offset on SQLite."""
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_breakers",
        sa.Column("destination", sa.String(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("open_until", _ts(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("destination", name=op.f("pk_alert_breakers")),
    )


def downgrade() -> None:
    op.drop_table("alert_breakers")
