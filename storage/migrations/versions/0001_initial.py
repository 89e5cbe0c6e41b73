"""Initial schema: registry, synced sources, ownership events, verdicts, outbox, bookkeeping.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.DateTime:
    """storage.types.UTCDateTime: timestamptz on PostgreSQL, UTC without offset on SQLite."""
    return sa.DateTime(timezone=True)


def _json() -> Any:
    """storage.types.json_type: JSONB on PostgreSQL, JSON elsewhere."""
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "registry_snapshots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("organization", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("loaded_at", _ts(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_snapshots")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_registry_snapshots_content_hash")),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("jira_account_id", sa.String(), nullable=True),
        sa.Column("pagerduty_user_id", sa.String(), nullable=True),
        sa.Column("snapshot_content_hash", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_content_hash"],
            ["registry_snapshots.content_hash"],
            name=op.f("fk_people_snapshot_content_hash_registry_snapshots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_index("ix_people_jira_account_id", "people", ["jira_account_id"])
    op.create_index("ix_people_pagerduty_user_id", "people", ["pagerduty_user_id"])

    op.create_table(
        "jira_issues",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("assignee_account_id", sa.String(), nullable=True),
        sa.Column("created", _ts(), nullable=False),
        sa.Column("updated", _ts(), nullable=False),
        sa.Column("raw", _json(), nullable=False),
        sa.Column("synced_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jira_issues")),
        sa.UniqueConstraint("key", name=op.f("uq_jira_issues_key")),
    )
    op.create_index("ix_jira_issues_project_updated", "jira_issues", ["project", "updated"])

    op.create_table(
        "jira_changelog_items",
        sa.Column("history_id", sa.String(), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.String(), nullable=False),
        sa.Column("issue_key", sa.String(), nullable=False),
        sa.Column("author_account_id", sa.String(), nullable=True),
        sa.Column("created", _ts(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("field_id", sa.String(), nullable=True),
        sa.Column("from_value", sa.Text(), nullable=True),
        sa.Column("from_string", sa.Text(), nullable=True),
        sa.Column("to_value", sa.Text(), nullable=True),
        sa.Column("to_string", sa.Text(), nullable=True),
        sa.Column("raw", _json(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["jira_issues.id"],
            name=op.f("fk_jira_changelog_items_issue_id_jira_issues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("history_id", "item_index", name=op.f("pk_jira_changelog_items")),
    )
    op.create_index(
        "ix_jira_changelog_items_issue_id_created", "jira_changelog_items", ["issue_id", "created"]
    )
    op.create_index("ix_jira_changelog_items_issue_key", "jira_changelog_items", ["issue_key"])
    op.create_index(
        "ix_jira_changelog_items_field_id_created", "jira_changelog_items", ["field_id", "created"]
    )

    op.create_table(
        "pd_incidents",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("incident_number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("urgency", sa.String(), nullable=True),
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("escalation_policy_id", sa.String(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("html_url", sa.String(), nullable=True),
        sa.Column("assignees", _json(), nullable=False),
        sa.Column("raw", _json(), nullable=False),
        sa.Column("synced_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pd_incidents")),
    )
    op.create_index(
        "ix_pd_incidents_service_id_created_at", "pd_incidents", ["service_id", "created_at"]
    )

    op.create_table(
        "pd_log_entries",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("agent_type", sa.String(), nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("channel_type", sa.String(), nullable=True),
        sa.Column("assignees", _json(), nullable=False),
        sa.Column("raw", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pd_log_entries")),
    )
    op.create_index(
        "ix_pd_log_entries_incident_id_created_at", "pd_log_entries", ["incident_id", "created_at"]
    )

    op.create_table(
        "ownership_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_ref", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("item", sa.String(), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("actor_ref", sa.String(), nullable=False),
        sa.Column("actor_kind", sa.String(), nullable=False),
        sa.Column("from_refs", _json(), nullable=False),
        sa.Column("to_refs", _json(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.CheckConstraint(
            "actor_kind IN ('user', 'service', 'escalation_policy', 'integration', "
            "'automation', 'unknown')",
            name=op.f("ck_ownership_events_actor_kind"),
        ),
        sa.CheckConstraint(
            "source IN ('jira', 'pagerduty')", name=op.f("ck_ownership_events_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ownership_events")),
        sa.UniqueConstraint("source_ref", name=op.f("uq_ownership_events_source_ref")),
    )
    op.create_index("ix_ownership_events_item_at", "ownership_events", ["item", "at"])
    op.create_index("ix_ownership_events_at", "ownership_events", ["at"])

    op.create_table(
        "findings",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("workflow", sa.String(), nullable=True),
        sa.Column("item", sa.String(), nullable=True),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("from_ids", _json(), nullable=False),
        sa.Column("to_ids", _json(), nullable=False),
        sa.Column("rule", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.Column("first_seen_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'ratified', 'resolved')", name=op.f("ck_findings_status")
        ),
        sa.CheckConstraint(
            "type IN ('unauthorized_change', 'authorized_change', 'unowned_item', "
            "'ownership_churn', 'late_risk_review', 'registry_gap')",
            name=op.f("ck_findings_type"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_findings")),
    )
    op.create_index("ix_findings_workflow_at", "findings", ["workflow", "at"])
    op.create_index("ix_findings_type_status", "findings", ["type", "status"])

    op.create_table(
        "ratifications",
        sa.Column("finding_key", sa.String(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_key"],
            ["findings.key"],
            name=op.f("fk_ratifications_finding_key_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("finding_key", name=op.f("pk_ratifications")),
    )

    op.create_table(
        "risk_reviews",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("week", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("opened_at", _ts(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("breaches", _json(), nullable=False),
        sa.Column("acknowledged_at", _ts(), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("closed_at", _ts(), nullable=True),
        sa.Column("closed_by", sa.String(), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column("last_reminded_at", _ts(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'closed')", name=op.f("ck_risk_reviews_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_reviews")),
        sa.UniqueConstraint("workflow", "week", name=op.f("uq_risk_reviews_workflow_week")),
    )
    op.create_index("ix_risk_reviews_status_due", "risk_reviews", ["status", "due"])

    op.create_table(
        "scorecards",
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("week", sa.String(), nullable=False),
        sa.Column("throughput", sa.Integer(), nullable=False),
        sa.Column("quality_trend", sa.Double(), nullable=True),
        sa.Column("exception_rate", sa.Double(), nullable=True),
        sa.Column("rework_volume", sa.Integer(), nullable=False),
        sa.Column("decision_latency_hours", sa.Double(), nullable=True),
        sa.Column("decision_latency_p90_hours", sa.Double(), nullable=True),
        sa.Column("unauthorized_changes", sa.Integer(), nullable=False),
        sa.Column("breaches", _json(), nullable=False),
        sa.Column("recommendation", sa.String(), nullable=False),
        sa.Column("recommendation_rule", sa.Text(), nullable=True),
        sa.Column("computed_at", _ts(), nullable=False),
        sa.CheckConstraint(
            "recommendation IN ('continue', 'stabilize', 'pause', 'stop')",
            name=op.f("ck_scorecards_recommendation"),
        ),
        sa.PrimaryKeyConstraint("workflow", "week", name=op.f("pk_scorecards")),
    )

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("week", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", _ts(), nullable=False),
        sa.CheckConstraint(
            "decision IN ('continue', 'stabilize', 'pause', 'stop')",
            name=op.f("ck_decisions_decision"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index("ix_decisions_workflow_week", "decisions", ["workflow", "week"])

    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedup_key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("workflow", sa.String(), nullable=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("subject_ref", sa.String(), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", _ts(), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_at", _ts(), nullable=True),
        sa.Column("provider_id", sa.String(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("sent_at", _ts(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('email', 'slack', 'pagerduty', 'jira')",
            name=op.f("ck_alert_outbox_channel"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'dead')", name=op.f("ck_alert_outbox_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_alert_outbox_dedup_key")),
    )
    op.create_index(
        "ix_alert_outbox_status_next_attempt_at", "alert_outbox", ["status", "next_attempt_at"]
    )
    op.create_index("ix_alert_outbox_subject_ref", "alert_outbox", ["subject_ref"])

    op.create_table(
        "digest_sends",
        sa.Column("week", sa.String(), nullable=False),
        sa.Column("sent_at", _ts(), nullable=False),
        sa.Column("recipients", _json(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_digest_sends")),
    )

    op.create_table(
        "sync_cursors",
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("partition", sa.String(), nullable=False),
        sa.Column("cursor", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.PrimaryKeyConstraint("source", "partition", name=op.f("pk_sync_cursors")),
    )

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("raw", _json(), nullable=True),
        sa.Column("at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint(
            "source", "ref", "reason", name=op.f("uq_quarantine_source_ref_reason")
        ),
    )


def downgrade() -> None:
    for table in (
        "quarantine",
        "sync_cursors",
        "digest_sends",
        "alert_outbox",
        "decisions",
        "scorecards",
        "risk_reviews",
        "ratifications",
        "findings",
        "ownership_events",
        "pd_log_entries",
        "pd_incidents",
        "jira_changelog_items",
        "jira_issues",
        "people",
        "registry_snapshots",
    ):
        op.drop_table(table)  # drops the table's indexes with it
