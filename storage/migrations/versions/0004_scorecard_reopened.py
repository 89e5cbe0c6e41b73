"""Scorecards keep how many of a week's resolved items were reopened since.

With it, an incremental evaluation computes the quality trend from the stored quality rates
of the 4 previous weeks instead of re-reading those weeks' items. Rows written before stay
NULL: the evaluation then re-reads those weeks, as it did before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scorecards") as batch:
        batch.add_column(sa.Column("reopened", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scorecards") as batch:
        batch.drop_column("reopened")
