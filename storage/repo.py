"""Repository functions: the few queries whose correctness lives in the storage layer.

They take and return plain values or mapped rows, flush but never commit: the caller's
transaction (``session_scope``) decides when a write becomes visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import (
    AlertOutbox,
    Finding,
    JiraIssue,
    JiraIssueWorkflow,
    OwnershipEvent,
    PdIncident,
    Person,
    RegistrySnapshot,
    RiskReview,
    Scorecard,
    SyncCursor,
)
from storage.upsert import insert_ignore, upsert

PERSON_FIELDS = ("id", "name", "email", "jira_account_id", "pagerduty_user_id")
MAX_ERROR_CHARS = 2_000


# --- registry -----------------------------------------------------------------------------


def save_registry_snapshot(
    session: Session,
    *,
    content_hash: str,
    organization: str,
    source: str,
    content: str,
    people: Sequence[Mapping[str, Any]],
    loaded_at: datetime,
) -> int:
    """Store a loaded registry and make ``people`` match it; return the snapshot id.

    The same content (hash) loaded twice keeps its first snapshot row. ``people`` are
    dicts with ``id``, ``name`` and optional ``email``, ``jira_account_id``,
    ``pagerduty_user_id``; people absent from this registry are removed.
    """
    insert_ignore(
        session,
        RegistrySnapshot,
        [
            {
                "content_hash": content_hash,
                "organization": organization,
                "source": source,
                "content": content,
                "loaded_at": loaded_at,
            }
        ],
        conflict=["content_hash"],
    )
    rows = [
        {field: person.get(field) for field in PERSON_FIELDS}
        | {"snapshot_content_hash": content_hash}
        for person in people
    ]
    upsert(session, Person, rows, skip_unchanged=True)
    session.execute(delete(Person).where(Person.id.not_in([row["id"] for row in rows])))
    return session.execute(
        select(RegistrySnapshot.id).where(RegistrySnapshot.content_hash == content_hash)
    ).scalar_one()


# --- sync cursors ---------------------------------------------------------------------------


def get_cursor(session: Session, source: str, partition: str) -> datetime | None:
    """Where the last committed sync of this source partition ended (None: never synced)."""
    return session.scalar(
        select(SyncCursor.cursor).where(
            SyncCursor.source == source, SyncCursor.partition == partition
        )
    )


def get_cursor_with_details(
    session: Session, source: str, partition: str
) -> tuple[datetime | None, dict[str, Any]]:
    """The cursor and what was recorded with it (e.g. the query it belongs to)."""
    row = session.execute(
        select(SyncCursor.cursor, SyncCursor.details).where(
            SyncCursor.source == source, SyncCursor.partition == partition
        )
    ).first()
    if row is None:
        return None, {}
    return row[0], dict(row[1] or {})


def set_cursor(
    session: Session,
    source: str,
    partition: str,
    cursor: datetime,
    *,
    details: Mapping[str, Any] | None = None,
    now: datetime,
) -> None:
    """Move the cursor. Call it in the transaction that stored the data it covers; `now`
    is the writer's clock, recorded as when it moved."""
    upsert(
        session,
        SyncCursor,
        [
            {
                "source": source,
                "partition": partition,
                "cursor": cursor,
                "updated_at": now,
                "details": dict(details or {}),
            }
        ],
    )


# --- alert outbox ---------------------------------------------------------------------------


def claim_pending_alerts(
    session: Session,
    worker_id: str,
    now: datetime,
    limit: int = 100,
    *,
    stale_after: timedelta | None = None,
) -> list[AlertOutbox]:
    """Claim up to ``limit`` due alerts for ``worker_id`` (status pending → sending).

    No two workers ever claim the same row. PostgreSQL: ``SELECT … FOR UPDATE SKIP
    LOCKED`` hands concurrent workers disjoint rows without waiting. SQLite has one
    writer at a time: candidates are read, then claimed by an ``UPDATE … WHERE
    status = 'pending'``; a row another worker claimed in between is not updated and
    the read is retried.

    Commit right after claiming, before sending: the claim must be visible to other
    workers, and on SQLite an open write transaction blocks them.

    Args:
        stale_after: also reclaim rows left ``sending`` for longer than this (a worker
            died mid-send). Off by default: a reclaimed alert may go out twice, which
            the "at most once" promise forbids unless the channel deduplicates.
    """
    due = and_(AlertOutbox.status == "pending", AlertOutbox.next_attempt_at <= now)
    if stale_after is not None:
        stale = and_(AlertOutbox.status == "sending", AlertOutbox.claimed_at < now - stale_after)
        due = or_(due, stale)
    candidates = (
        select(AlertOutbox.id)
        .where(due)
        .order_by(AlertOutbox.next_attempt_at, AlertOutbox.id)
        .limit(limit)
    )
    claim = {"status": "sending", "claimed_by": worker_id, "claimed_at": now}
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        if ids:
            session.execute(
                update(AlertOutbox).where(AlertOutbox.id.in_(ids)).values(claim),
                execution_options={"synchronize_session": False},
            )
        claimed = ids
    else:
        claimed = []
        while len(claimed) < limit:
            ids = list(session.scalars(candidates.limit(limit - len(claimed))))
            if not ids:
                break
            won = session.scalars(
                update(AlertOutbox)
                .where(AlertOutbox.id.in_(ids), due)
                .values(claim)
                .returning(AlertOutbox.id),
                execution_options={"synchronize_session": False},
            )
            claimed.extend(won)
    if not claimed:
        return []
    return list(
        session.scalars(
            select(AlertOutbox)
            .where(AlertOutbox.id.in_(claimed))
            .order_by(AlertOutbox.next_attempt_at, AlertOutbox.id)
            .execution_options(populate_existing=True)
        )
    )


def mark_sent(
    session: Session, alert_id: int, *, now: datetime, provider_id: str | None = None
) -> None:
    """Record a delivered alert (``provider_id``: the channel's message or event id)."""
    session.execute(
        update(AlertOutbox)
        .where(AlertOutbox.id == alert_id)
        .values(status="sent", sent_at=now, provider_id=provider_id, last_error=None),
        execution_options={"synchronize_session": False},
    )


def mark_failed(
    session: Session,
    alert_id: int,
    *,
    next_attempt_at: datetime,
    error: str,
    max_attempts: int,
) -> str:
    """Record a failed attempt; return the new status.

    The alert goes back to ``pending`` until ``next_attempt_at``, or to ``dead`` once
    it has failed ``max_attempts`` times. The error is kept (truncated) for operators;
    callers must pass a message already free of secrets.
    """
    attempts = AlertOutbox.attempts + 1
    status = session.scalar(
        update(AlertOutbox)
        .where(AlertOutbox.id == alert_id)
        .values(
            status=case((attempts >= max_attempts, "dead"), else_="pending"),
            attempts=attempts,
            last_error=error[:MAX_ERROR_CHARS],
            next_attempt_at=next_attempt_at,
            claimed_by=None,
            claimed_at=None,
        )
        .returning(AlertOutbox.status),
        execution_options={"synchronize_session": False},
    )
    if status is None:
        raise LookupError(f"no alert with id {alert_id}")
    return status


def outbox_counts(session: Session) -> list[tuple[str, str, int]]:
    """(status, channel, number of alerts), for `accountability alert --status`."""
    rows = session.execute(
        select(AlertOutbox.status, AlertOutbox.channel, func.count())
        .group_by(AlertOutbox.status, AlertOutbox.channel)
        .order_by(AlertOutbox.status, AlertOutbox.channel)
    )
    return [(str(status), str(channel), int(number)) for status, channel, number in rows]


def dead_alerts(session: Session, limit: int | None = None) -> list[AlertOutbox]:
    """Alerts that gave up, newest first: shown with their error, never dropped silently."""
    query = (
        select(AlertOutbox)
        .where(AlertOutbox.status == "dead")
        .order_by(AlertOutbox.next_attempt_at.desc(), AlertOutbox.id.desc())
    )
    return list(session.scalars(query.limit(limit) if limit is not None else query))


def retrying_alerts(session: Session, limit: int | None = None) -> list[AlertOutbox]:
    """Pending alerts that failed at least once, next retry first."""
    query = (
        select(AlertOutbox)
        .where(AlertOutbox.status == "pending", AlertOutbox.attempts > 0)
        .order_by(AlertOutbox.next_attempt_at, AlertOutbox.id)
    )
    return list(session.scalars(query.limit(limit) if limit is not None else query))


# --- read models ----------------------------------------------------------------------------


def workflow_item_counts(
    session: Session, services_by_workflow: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, int]]:
    """Per workflow: Jira items, PagerDuty incidents and ownership changes stored for them."""
    counts: dict[str, dict[str, int]] = {}
    for workflow, services in services_by_workflow.items():
        keys = select(JiraIssue.key).join(
            JiraIssueWorkflow, JiraIssueWorkflow.issue_id == JiraIssue.id
        ).where(JiraIssueWorkflow.workflow == workflow)
        incidents = select(PdIncident.id).where(PdIncident.service_id.in_(list(services)))
        counts[workflow] = {
            "jira_items": session.scalar(select(func.count()).select_from(keys.subquery())) or 0,
            "incidents": session.scalar(select(func.count()).select_from(incidents.subquery()))
            or 0,
            "ownership_changes": session.scalar(
                select(func.count()).where(
                    or_(OwnershipEvent.item.in_(keys), OwnershipEvent.item.in_(incidents))
                )
            )
            or 0,
        }
    return counts


def workflow_outcomes(session: Session) -> dict[str, dict[str, object]]:
    """Per workflow: open findings by type, its latest scorecard and its risk reviews."""
    outcomes: dict[str, dict[str, object]] = {}
    counted = session.execute(
        select(Finding.workflow, Finding.type, func.count())
        .where(Finding.type != "authorized_change", Finding.status == "open")
        .group_by(Finding.workflow, Finding.type)
    )
    for workflow, kind, number in counted:
        entry = outcomes.setdefault(str(workflow), {})
        entry.setdefault("findings", {})[kind] = number  # type: ignore[index]
    for card in session.scalars(select(Scorecard).order_by(Scorecard.week)):
        entry = outcomes.setdefault(card.workflow, {})
        entry.update(week=card.week, recommendation=card.recommendation)
        if card.breaches:
            worst = entry.setdefault("breach_weeks", [])
            worst.append(f"{card.week}: {len(card.breaches)} → {card.recommendation}")  # type: ignore[attr-defined]
    for review in session.scalars(select(RiskReview).order_by(RiskReview.week)):
        entry = outcomes.setdefault(review.workflow, {})
        entry["reviews"] = ", ".join(filter(None, [str(entry.get("reviews") or ""),
                                                   f"{review.week} ({review.status})"]))
    return outcomes
