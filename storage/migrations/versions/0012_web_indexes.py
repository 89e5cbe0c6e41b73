"""Indexes for the web app's read pages (SPEC §13): each page reads one page of rows through
an index, on the million-event database too.

* `ix_findings_at_key_cover` — the findings page, newest first, unfiltered or by week,
  workflow, type or status: read backwards, the page's keys come in order and the filters
  are tested in the index (no sort of every finding, and the rows a deep page skips are
  index entries, not table rows);
* `ix_findings_workflow_type_status` — the overview's count of open unauthorized changes per
  workflow, counted inside the index;
* `ix_risk_reviews_opened_at` — the risk reviews page, newest first.

Only indexes: no row changes, and dropping them (downgrade) loses nothing.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_findings_at_key_cover", "findings",
                    ["at", "key", "type", "status", "workflow"])
    op.create_index("ix_findings_workflow_type_status", "findings",
                    ["workflow", "type", "status"])
    op.create_index("ix_risk_reviews_opened_at", "risk_reviews", ["opened_at"])


def downgrade() -> None:
    op.drop_index("ix_risk_reviews_opened_at", table_name="risk_reviews")
    op.drop_index("ix_findings_workflow_type_status", table_name="findings")
    op.drop_index("ix_findings_at_key_cover", table_name="findings")
