"""SQLAlchemy models for everything the worker stores.

Groups, in the order data flows: the registry snapshot, synced source data (Jira,
PagerDuty), normalized ownership events, verdicts (findings, risk reviews,
scorecards, decisions), delivery (alert outbox, digests) and sync bookkeeping.

Every timestamp is a :class:`~storage.types.UTCDateTime` (aware UTC in Python on
both dialects) and none has a default: the time a row is written at comes from the
clock of whoever writes it (the sync's, the evaluation's, the dispatcher's), never from
the wall clock behind its back, so a run on an injected clock stores what that clock says.
Value sets that the code branches on are guarded by CHECK
constraints; constraint names follow one naming convention so that Alembic
migrations name them identically on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rules.channels import CHANNEL_NAMES
from storage.types import UTCDateTime, json_type

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

FINDING_TYPES = (
    "unauthorized_change",
    "authorized_change",
    "unowned_item",
    "ownership_churn",
    "late_risk_review",
    "registry_gap",
)
FINDING_STATUSES = ("open", "ratified", "resolved")
RISK_REVIEW_STATUSES = ("open", "acknowledged", "closed")
DECISIONS = ("continue", "stabilize", "pause", "stop")
ALERT_CHANNELS = CHANNEL_NAMES  # a new channel changes this CHECK: it needs a migration
ALERT_STATUSES = ("pending", "sending", "sent", "dead")
EVENT_SOURCES = ("jira", "pagerduty")
RESET_CONFIRMABLE = ("decision-rights",)
ACTOR_KINDS = ("user", "service", "escalation_policy", "integration", "automation", "unknown")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({listed})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --- registry -----------------------------------------------------------------------------


class RegistrySnapshot(Base):
    """One distinct registry document as loaded (same content hash, one row)."""

    __tablename__ = "registry_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_hash: Mapped[str] = mapped_column(String, unique=True)
    organization: Mapped[str] = mapped_column(String)
    source: Mapped[str] = mapped_column(String)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content: Mapped[str] = mapped_column(Text)


class Person(Base):
    """A person of the current registry, with the identities that map source actors to them."""

    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_jira_account_id", "jira_account_id"),
        Index("ix_people_pagerduty_user_id", "pagerduty_user_id"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    email: Mapped[str | None] = mapped_column(String)
    jira_account_id: Mapped[str | None] = mapped_column(String)
    pagerduty_user_id: Mapped[str | None] = mapped_column(String)
    snapshot_content_hash: Mapped[str] = mapped_column(
        String, ForeignKey("registry_snapshots.content_hash")
    )


# --- Jira -----------------------------------------------------------------------------------


class JiraIssue(Base):
    __tablename__ = "jira_issues"
    __table_args__ = (
        Index("ix_jira_issues_project_updated", "project", "updated"),
        Index("ix_jira_issues_synced_at", "synced_at"),
        # Not unique: see migration 0006 (concurrent syncs of one new issue).
        Index("ix_jira_issues_key", "key"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)  # Jira's numeric id, as a string
    key: Mapped[str] = mapped_column(String)
    project: Mapped[str] = mapped_column(String)
    summary: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String)
    assignee_account_id: Mapped[str | None] = mapped_column(String)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    updated: Mapped[datetime] = mapped_column(UTCDateTime)
    raw: Mapped[dict[str, Any]] = mapped_column(json_type())
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JiraChangelogItem(Base):
    """One item of a changelog history (a history changes one or more fields)."""

    __tablename__ = "jira_changelog_items"
    __table_args__ = (
        Index("ix_jira_changelog_items_issue_id_created", "issue_id", "created"),
        Index("ix_jira_changelog_items_issue_key", "issue_key"),
        Index("ix_jira_changelog_items_field_id_created", "field_id", "created"),
    )

    history_id: Mapped[str] = mapped_column(String, primary_key=True)
    item_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[str] = mapped_column(String, ForeignKey("jira_issues.id", ondelete="CASCADE"))
    issue_key: Mapped[str] = mapped_column(String)
    author_account_id: Mapped[str | None] = mapped_column(String)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    field: Mapped[str] = mapped_column(String)
    field_id: Mapped[str | None] = mapped_column(String)  # absent on some old or plugin fields
    from_value: Mapped[str | None] = mapped_column(Text)
    from_string: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    to_string: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column(json_type())
    # Set on insert, never by the sync's upsert (its rows do not carry it): an incremental
    # evaluation tells new changes from old by it. NULL (none after migration 0005) is new.
    first_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JiraIssueWorkflow(Base):
    """Which workflow's source query (project + jql) returned an issue: its membership.

    JQL cannot be evaluated locally, so membership is recorded when the workflow's own query
    returns the issue (SPEC §4: the item belongs to the workflow whose sources match it).
    """

    __tablename__ = "jira_issue_workflows"
    __table_args__ = (Index("ix_jira_issue_workflows_workflow", "workflow"),)

    issue_id: Mapped[str] = mapped_column(
        String, ForeignKey("jira_issues.id", ondelete="CASCADE"), primary_key=True
    )
    workflow: Mapped[str] = mapped_column(String, primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

# --- PagerDuty ------------------------------------------------------------------------------


class PdIncident(Base):
    __tablename__ = "pd_incidents"
    __table_args__ = (
        Index("ix_pd_incidents_service_id_created_at", "service_id", "created_at"),
        Index("ix_pd_incidents_synced_at", "synced_at"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    incident_number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String)
    urgency: Mapped[str | None] = mapped_column(String)
    service_id: Mapped[str] = mapped_column(String)
    escalation_policy_id: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    html_url: Mapped[str | None] = mapped_column(String)
    assignees: Mapped[list[str]] = mapped_column(json_type(), default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(json_type())
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PdLogEntry(Base):
    """A log entry of an incident. No foreign key: entries may be synced before their incident."""

    __tablename__ = "pd_log_entries"
    __table_args__ = (
        Index("ix_pd_log_entries_incident_id_created_at", "incident_id", "created_at"),
        Index("ix_pd_log_entries_synced_at", "synced_at"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    incident_id: Mapped[str] = mapped_column(String)
    type: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    agent_type: Mapped[str | None] = mapped_column(String)
    agent_id: Mapped[str | None] = mapped_column(String)
    channel_type: Mapped[str | None] = mapped_column(String)
    assignees: Mapped[list[str]] = mapped_column(json_type(), default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(json_type())
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tie_rank: Mapped[int | None] = mapped_column(Integer)
    """Rank among the incident's entries of the same second, in the order PagerDuty applied
    them (read from the API's listing order; ids are random). None: stored before it was kept."""


# --- normalized events and verdicts -----------------------------------------------------------


class OwnershipEvent(Base):
    """An ownership change of a tracked item, normalized across sources (SPEC §4).

    ``source_ref`` is the identity of the source record (``jira:<history>:<item>``,
    ``pagerduty:<log_entry_id>``), so normalizing again never duplicates an event.
    """

    __tablename__ = "ownership_events"
    __table_args__ = (
        Index("ix_ownership_events_item_at", "item", "at"),
        Index("ix_ownership_events_at", "at"),
        CheckConstraint(_one_of("source", EVENT_SOURCES), name="source"),
        CheckConstraint(_one_of("actor_kind", ACTOR_KINDS), name="actor_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_ref: Mapped[str] = mapped_column(String, unique=True)
    source: Mapped[str] = mapped_column(String)
    item: Mapped[str] = mapped_column(String)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_ref: Mapped[str] = mapped_column(String)
    actor_kind: Mapped[str] = mapped_column(String)
    from_refs: Mapped[list[str]] = mapped_column(json_type(), default=list)
    to_refs: Mapped[list[str]] = mapped_column(json_type(), default=list)
    event_type: Mapped[str] = mapped_column(String)
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Place among the item's events (`rules.ownership.OwnershipEvent.seq`): orders events of
    the same second."""


class Finding(Base):
    """A verdict about an item or the registry; ``key`` is stable for the same input."""

    __tablename__ = "findings"
    __table_args__ = (
        Index("ix_findings_workflow_at", "workflow", "at"),
        Index("ix_findings_type_status", "type", "status"),
        # The web pages (migration 0012): findings newest first, open counts per workflow.
        Index("ix_findings_at_key_cover", "at", "key", "type", "status", "workflow"),
        Index("ix_findings_workflow_type_status", "workflow", "type", "status"),
        CheckConstraint(_one_of("type", FINDING_TYPES), name="type"),
        CheckConstraint(_one_of("status", FINDING_STATUSES), name="status"),
    )

    key: Mapped[str] = mapped_column(String, primary_key=True)
    type: Mapped[str] = mapped_column(String)
    workflow: Mapped[str | None] = mapped_column(String)  # None: a registry-wide gap
    item: Mapped[str | None] = mapped_column(String)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String)
    from_ids: Mapped[list[str]] = mapped_column(json_type(), default=list)
    to_ids: Mapped[list[str]] = mapped_column(json_type(), default=list)
    rule: Mapped[str | None] = mapped_column(String)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String, default="open")
    details: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Ratification(Base):
    """An outcome owner's acceptance of a finding (one per finding).

    `by` is the registry person named with `--by`; `os_user`, `host` and `flow_run_id` are
    the process that recorded it (`accountability.origin`), None on rows older than 0007.
    """

    __tablename__ = "ratifications"

    finding_key: Mapped[str] = mapped_column(
        String, ForeignKey("findings.key", ondelete="CASCADE"), primary_key=True
    )
    by: Mapped[str] = mapped_column(String)
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    os_user: Mapped[str | None] = mapped_column(String)
    host: Mapped[str | None] = mapped_column(String)
    flow_run_id: Mapped[str | None] = mapped_column(String)


class RiskReview(Base):
    __tablename__ = "risk_reviews"
    __table_args__ = (
        UniqueConstraint("workflow", "week"),
        Index("ix_risk_reviews_status_due", "status", "due"),
        Index("ix_risk_reviews_opened_at", "opened_at"),  # the web's reviews page (0012)
        CheckConstraint(_one_of("status", RISK_REVIEW_STATUSES), name="status"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)  # e.g. support-2026-W48
    workflow: Mapped[str] = mapped_column(String)
    week: Mapped[str] = mapped_column(String)
    owner: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String, default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due: Mapped[date] = mapped_column(Date)
    breaches: Mapped[list[str]] = mapped_column(json_type(), default=list)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String)
    # The process that recorded the acknowledgement / the closing, beside the `--by` person.
    acknowledged_os_user: Mapped[str | None] = mapped_column(String)
    acknowledged_host: Mapped[str | None] = mapped_column(String)
    acknowledged_flow_run_id: Mapped[str | None] = mapped_column(String)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String)
    closed_os_user: Mapped[str | None] = mapped_column(String)
    closed_host: Mapped[str | None] = mapped_column(String)
    closed_flow_run_id: Mapped[str | None] = mapped_column(String)
    close_note: Mapped[str | None] = mapped_column(Text)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Scorecard(Base):
    """One workflow's metrics for one ISO week (SPEC §5); recomputed, so upserted."""

    __tablename__ = "scorecards"
    __table_args__ = (CheckConstraint(_one_of("recommendation", DECISIONS), name="recommendation"),)

    workflow: Mapped[str] = mapped_column(String, primary_key=True)
    week: Mapped[str] = mapped_column(String, primary_key=True)
    throughput: Mapped[int] = mapped_column(Integer)
    quality_trend: Mapped[float | None] = mapped_column(Double)
    exception_rate: Mapped[float | None] = mapped_column(Double)
    rework_volume: Mapped[int] = mapped_column(Integer)
    decision_latency_hours: Mapped[float | None] = mapped_column(Double)
    decision_latency_p90_hours: Mapped[float | None] = mapped_column(Double)
    unauthorized_changes: Mapped[int] = mapped_column(Integer)
    # Of `throughput`, how many were reopened since: the quality rate, kept for the trend.
    reopened: Mapped[int | None] = mapped_column(Integer)
    breaches: Mapped[list[str]] = mapped_column(json_type(), default=list)
    recommendation: Mapped[str] = mapped_column(String)
    recommendation_rule: Mapped[str | None] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Decision(Base):
    """A governance decision recorded by a leader (append-only). `by` is the `--by` person;
    `os_user`, `host` and `flow_run_id` the process that recorded it (None before 0007)."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_workflow_week", "workflow", "week"),
        CheckConstraint(_one_of("decision", DECISIONS), name="decision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String)
    week: Mapped[str] = mapped_column(String)
    decision: Mapped[str] = mapped_column(String)
    by: Mapped[str] = mapped_column(String)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    os_user: Mapped[str | None] = mapped_column(String)
    host: Mapped[str | None] = mapped_column(String)
    flow_run_id: Mapped[str | None] = mapped_column(String)


class ResetConfirmation(Base):
    """A leader's confirmation of a 30-day reset item (SPEC §12), append-only.

    Only `decision-rights` is confirmed by hand; the other items are computed from data. The
    reset it belongs to is its `workflow` and `started` Monday, so a later reset of the same
    workflow starts unconfirmed. `by` is the `--by` leader; `os_user`, `host` and
    `flow_run_id` the process that recorded it (`accountability.origin`)."""

    __tablename__ = "reset_confirmations"
    __table_args__ = (
        Index("ix_reset_confirmations_workflow_started", "workflow", "started"),
        CheckConstraint(_one_of("item", RESET_CONFIRMABLE), name="item"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String)
    started: Mapped[date] = mapped_column(Date)
    item: Mapped[str] = mapped_column(String)
    by: Mapped[str] = mapped_column(String)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    os_user: Mapped[str | None] = mapped_column(String)
    host: Mapped[str | None] = mapped_column(String)
    flow_run_id: Mapped[str | None] = mapped_column(String)


class MapWrite(Base):
    """An escalation map written to disk (`accountability map`, the registry-check flow).

    The reset's week-1 item "map published" is read from these rows rather than from file
    times: a map may be written anywhere (a wiki folder, a share), and a stored row says which
    registry version it showed."""

    __tablename__ = "map_writes"
    __table_args__ = (Index("ix_map_writes_workflow_written_at", "workflow", "written_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String)
    registry_hash: Mapped[str] = mapped_column(String)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    writer: Mapped[str] = mapped_column(String)
    """What wrote it: `map` (the command) or `registry-check` (the flow)."""


# --- delivery -------------------------------------------------------------------------------


class AlertOutbox(Base):
    """One notification to send, written in the transaction that decided it (SPEC §6).

    ``dedup_key`` is the (event, channel, recipient) identity: inserting it again is
    a no-op, which is what makes "at most one notification" hold across re-runs.
    Lifecycle: pending → sending (claimed by one worker) → sent, or back to pending
    with a later ``next_attempt_at``, or dead after too many attempts.
    """

    __tablename__ = "alert_outbox"
    __table_args__ = (
        Index("ix_alert_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_alert_outbox_subject_ref", "subject_ref"),
        CheckConstraint(_one_of("channel", ALERT_CHANNELS), name="channel"),
        CheckConstraint(_one_of("status", ALERT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String, unique=True)
    kind: Mapped[str] = mapped_column(String)
    workflow: Mapped[str | None] = mapped_column(String)
    channel: Mapped[str] = mapped_column(String)
    recipient: Mapped[str] = mapped_column(String)
    subject_ref: Mapped[str] = mapped_column(String)
    payload: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)
    status: Mapped[str] = mapped_column(String, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_id: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertBreaker(Base):
    """A destination that is down: one circuit breaker per place alerts are sent to.

    ``destination`` is the channel and where it sends (``email:smtp.acme.example:25``,
    ``slack:env:SLACK_WEBHOOK_SUPPORT``, ``pagerduty:https://events.pagerduty.com``). While
    ``open_until`` is in the future the dispatcher claims none of the destination's rows, so
    after an outage they are all due at one moment and grouped as a clean run groups them,
    instead of trickling out one jittered row at a time. ``failures`` counts consecutive
    failed attempts (the backoff's exponent); a successful send deletes the row.
    """

    __tablename__ = "alert_breakers"

    destination: Mapped[str] = mapped_column(String, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    open_until: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DigestSend(Base):
    """A weekly digest that went out (one per week)."""

    __tablename__ = "digest_sends"

    week: Mapped[str] = mapped_column(String, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipients: Mapped[list[str]] = mapped_column(json_type(), default=list)
    message_id: Mapped[str | None] = mapped_column(String)


# --- sync bookkeeping -----------------------------------------------------------------------


class SyncCursor(Base):
    """How far a source partition (e.g. jira / SUP) has been synced."""

    __tablename__ = "sync_cursors"

    source: Mapped[str] = mapped_column(String, primary_key=True)
    partition: Mapped[str] = mapped_column(String, primary_key=True)
    cursor: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)


class Quarantine(Base):
    """A source record that could not be stored or understood, kept for inspection."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("source", "ref", "reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String)
    ref: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(String)
    # The JSON document, or a string when it did not parse.
    raw: Mapped[Any] = mapped_column(json_type(), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


WEB_AUDIT_OUTCOMES = ("done", "already_done", "refused")
WEB_AUDIT_AUTH = ("link", "header", "session", "none")
# A sign-in link may sign its person in again within its lifetime; an action link acts once.
_ACTED_BY_LINK = "outcome = 'done' AND action <> 'signin' AND link_nonce IS NOT NULL"


class WebAudit(Base):
    """One action taken or refused through the web app (SPEC §13), append-only.

    `person` is whom the action was for: the person a link was signed for, the SSO header's
    person, or the session's; None when a forged link named nobody one could believe. `auth`
    says how the request was authenticated, `link_nonce` which link (its nonce only: the whole
    token would be a credential). The unique index on the nonce of a link that acted is what
    makes a link act once, even under two simultaneous clicks."""

    __tablename__ = "web_audit"
    __table_args__ = (
        Index("ix_web_audit_at", "at"),
        Index("uq_web_audit_link_done", "link_nonce", unique=True,
              sqlite_where=text(_ACTED_BY_LINK), postgresql_where=text(_ACTED_BY_LINK)),
        CheckConstraint(_one_of("outcome", WEB_AUDIT_OUTCOMES), name="outcome"),
        CheckConstraint(_one_of("auth", WEB_AUDIT_AUTH), name="auth"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    person: Mapped[str | None] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)
    target: Mapped[str | None] = mapped_column(String)
    decision: Mapped[str | None] = mapped_column(String)
    week: Mapped[str | None] = mapped_column(String)
    outcome: Mapped[str] = mapped_column(String)
    reason: Mapped[str | None] = mapped_column(Text)
    auth: Mapped[str] = mapped_column(String)
    link_nonce: Mapped[str | None] = mapped_column(String)
    remote_addr: Mapped[str | None] = mapped_column(String)
