"""Repository functions: the few queries whose correctness lives in the storage layer.

They take and return plain values or mapped rows, flush but never commit: the caller's
transaction (``session_scope``) decides when a write becomes visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from storage.models import (
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
    """The cursor and what was recorded with it (e.g. the query it belongs to). Read through
    the table, not the mapped class: a plain Core statement skips the ORM's compile and result
    machinery, which cost each partition of a sync a millisecond before its first request."""
    cursors = SyncCursor.__table__.c
    row = session.execute(
        select(cursors.cursor, cursors.details).where(
            cursors.source == source, cursors.partition == partition
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
