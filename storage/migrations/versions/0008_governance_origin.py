"""Who recorded each governance action: the OS user, host and Prefect flow run beside `--by`.

`ack`, `close`, `ratify` and `decide` take the acting person as `--by`, which the CLI cannot
verify: anyone who can write to the database can name anyone. The process that recorded the
action is known, so it is stored beside the name (`accountability.origin`; the trust model is
in docs/operations.md). Nullable columns without defaults: rows recorded before this revision
keep None ("not recorded"), and SQLite adds each column in place (no table rebuild).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Table → the columns it gains, all nullable strings.
COLUMNS: dict[str, tuple[str, ...]] = {
    "decisions": ("os_user", "host", "flow_run_id"),
    "ratifications": ("os_user", "host", "flow_run_id"),
    "risk_reviews": ("acknowledged_os_user", "acknowledged_host", "acknowledged_flow_run_id",
                     "closed_os_user", "closed_host", "closed_flow_run_id"),
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        for column in columns:
            op.add_column(table, sa.Column(column, sa.String(), nullable=True))


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
