"""The alert outbox (`alert_outbox`): every read and write of it, and nowhere else.

Rows go in with `enqueue` (in the transaction that decided them: evaluation, close, the
dispatcher's reminders), are claimed by dispatchers (`claim_pending_alerts`), then marked
`sent` or failed (`mark_sent`, `mark_failed`); the rest are reads for reports (`alert
--status`, the run's summary, the digest's dead alerts, the demo's table).

Beside it, `alert_breakers`: one circuit breaker per destination (`open_breakers`,
`trip_breaker`, `close_breaker`). While a destination's breaker is open, `claim_pending_alerts`
leaves its rows alone (`held`), so they come due together and are grouped as in a clean run.

Like the other repository functions they flush but never commit: the caller's transaction
(``session_scope``) decides when a write becomes visible.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, not_, or_, select, true, update
from sqlalchemy.orm import Session

from storage.models import AlertBreaker, AlertOutbox
from storage.upsert import insert_ignore

MAX_ERROR_CHARS = 2_000


# --- writes ---------------------------------------------------------------------------------


def enqueue(session: Session, alerts: Sequence[Mapping[str, Any]], *, due: datetime) -> int:
    """Outbox rows, created and first due at `due` (the enqueuer's clock: a dispatcher on the
    same clock finds them due at once); a dedup key already present (same event, channel,
    recipient) is skipped. Returns how many went in."""
    rows = [{"next_attempt_at": due, **alert, "created_at": due} for alert in alerts]
    return insert_ignore(session, AlertOutbox, rows, conflict=["dedup_key"])


def claim_pending_alerts(
    session: Session,
    worker_id: str,
    now: datetime,
    limit: int = 100,
    *,
    stale_after: timedelta | None = None,
    held: Mapping[str, Collection[str] | None] | None = None,
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
        held: rows not to claim, due or not: channel → its workflows (None: every row of the
            channel). The dispatcher holds the rows of a destination whose breaker is open, so
            they wait for the breaker and go out together.
    """
    due: ColumnElement[bool] = and_(AlertOutbox.status == "pending",
                                    AlertOutbox.next_attempt_at <= now)
    if stale_after is not None:
        stale = and_(AlertOutbox.status == "sending", AlertOutbox.claimed_at < now - stale_after)
        due = or_(due, stale)
    if held:
        due = and_(due, not_(_held(held)))
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


def _held(held: Mapping[str, Collection[str] | None]) -> ColumnElement[bool]:
    """The rows `held` names: per channel, all of them or those of the listed workflows."""
    return or_(*(
        and_(AlertOutbox.channel == channel,
             true() if workflows is None else AlertOutbox.workflow.in_(sorted(workflows)))
        for channel, workflows in held.items()
    ))


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


# --- circuit breakers, one per destination ---------------------------------------------------


def open_breakers(session: Session, now: datetime) -> set[str]:
    """The destinations whose breaker is open at `now`: their rows must not be claimed yet."""
    return set(session.scalars(
        select(AlertBreaker.destination).where(AlertBreaker.open_until > now)))


def trip_breaker(
    session: Session,
    destination: str,
    *,
    now: datetime,
    wait: Callable[[int], timedelta],
    error: str,
) -> datetime:
    """Record that `destination` is down; return the moment it may be tried again.

    Every row that failed with it, in this dispatch or another one at the same time, gets that
    one moment: a breaker already open (another message of this dispatch, or another worker,
    tripped it first) keeps its time. Otherwise the breaker opens for `wait(failures)` —
    failures counts consecutive failed attempts, so the wait grows as one row's would. The row
    is locked (`FOR UPDATE` on PostgreSQL) so two workers tripping it at once count once.
    """
    insert_ignore(session, AlertBreaker, [{"destination": destination, "failures": 0,
                                           "open_until": now, "updated_at": now}])
    breaker = session.scalars(
        select(AlertBreaker).where(AlertBreaker.destination == destination)
        .with_for_update().execution_options(populate_existing=True)
    ).one()
    if breaker.open_until > now:
        return breaker.open_until
    breaker.open_until = now + wait(breaker.failures)
    breaker.failures += 1
    breaker.last_error = error[:MAX_ERROR_CHARS]
    breaker.updated_at = now
    session.flush()
    return breaker.open_until


def close_breaker(session: Session, destination: str) -> None:
    """`destination` accepted a message: it is up, the next failure starts the backoff over."""
    session.execute(delete(AlertBreaker).where(AlertBreaker.destination == destination),
                    execution_options={"synchronize_session": False})


# --- reads ----------------------------------------------------------------------------------


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


def pending_count(session: Session) -> int:
    """How many alerts wait in `pending` (due or not), for the dispatcher's report."""
    return session.scalar(select(func.count()).where(AlertOutbox.status == "pending")) or 0


def counts_by_status(session: Session) -> dict[str, int]:
    """{status: number of alerts}, statuses in alphabetical order, for the run's summary."""
    rows = session.execute(
        select(AlertOutbox.status, func.count()).group_by(AlertOutbox.status)
    )
    return dict(sorted((str(status), int(number)) for status, number in rows))


def counts_by_workflow_and_status(session: Session) -> list[tuple[str, str, int]]:
    """(workflow, status, number of alerts), for the demo's table."""
    rows = session.execute(
        select(AlertOutbox.workflow, AlertOutbox.status, func.count())
        .group_by(AlertOutbox.workflow, AlertOutbox.status)
        .order_by(AlertOutbox.workflow, AlertOutbox.status)
    )
    return [(str(workflow), str(status), int(number)) for workflow, status, number in rows]
