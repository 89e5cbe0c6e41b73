"""Workflow membership of Jira issues (the workflow whose project + jql query returned it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jira_issue_workflows",
        sa.Column("issue_id", sa.String(), nullable=False),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["jira_issues.id"],
            name=op.f("fk_jira_issue_workflows_issue_id_jira_issues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("issue_id", "workflow", name=op.f("pk_jira_issue_workflows")),
    )
    op.create_index(
        "ix_jira_issue_workflows_workflow", "jira_issue_workflows", ["workflow"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_jira_issue_workflows_workflow", table_name="jira_issue_workflows")
    op.drop_table("jira_issue_workflows")
