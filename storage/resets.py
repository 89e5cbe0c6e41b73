"""What the 30-day reset tracker reads and writes (SPEC §12): confirmations, map writes, and
the workflow's scorecard weeks, decisions and registry gaps as the tracker counts them.

The baseline-weeks count is read here from `scorecards` directly (weeks whose scorecard
measured something, as `storage.evaluations.week_score` decides it): the tracker needs only
the count, not the baseline's statistics.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Decision, Finding, MapWrite, ResetConfirmation, Scorecard


def record_confirmation(
    session: Session, workflow: str, started: date, item: str, by: str, at: datetime,
    origin: dict[str, Any],
) -> ResetConfirmation:
    """Append a confirmation; `origin` holds `os_user`, `host` and `flow_run_id`."""
    row = ResetConfirmation(workflow=workflow, started=started, item=item, by=by, at=at,
                            os_user=origin.get("os_user"), host=origin.get("host"),
                            flow_run_id=origin.get("flow_run_id"))
    session.add(row)
    session.flush()
    return row


def confirmations(
    session: Session, workflow: str, started: date, item: str
) -> list[ResetConfirmation]:
    query = (select(ResetConfirmation)
             .where(ResetConfirmation.workflow == workflow, ResetConfirmation.started == started,
                    ResetConfirmation.item == item)
             .order_by(ResetConfirmation.at, ResetConfirmation.id))
    return list(session.scalars(query))


def record_map_write(
    session: Session, workflow: str, registry_hash: str, at: datetime, writer: str
) -> None:
    session.add(MapWrite(workflow=workflow, registry_hash=registry_hash, written_at=at,
                         writer=writer))


def map_writes(session: Session, workflow: str, since: datetime) -> list[datetime]:
    """When the workflow's map was written, at or after `since`, oldest first."""
    query = (select(MapWrite.written_at)
             .where(MapWrite.workflow == workflow, MapWrite.written_at >= since)
             .order_by(MapWrite.written_at))
    return list(session.scalars(query))


def measured_weeks(session: Session, workflow: str) -> list[str]:
    """ISO weeks with a scorecard of `workflow` that measured something (a null exception
    rate marks a week without data), oldest first."""
    query = (select(Scorecard.week)
             .where(Scorecard.workflow == workflow, Scorecard.exception_rate.is_not(None))
             .order_by(Scorecard.week))
    return list(session.scalars(query))


def decisions(session: Session, workflow: str, since: datetime) -> list[Decision]:
    """Decisions about `workflow` recorded at or after `since`, oldest first."""
    query = (select(Decision)
             .where(Decision.workflow == workflow, Decision.recorded_at >= since)
             .order_by(Decision.recorded_at, Decision.id))
    return list(session.scalars(query))


def open_registry_gaps(session: Session, workflow: str) -> list[str]:
    """Keys of the workflow's open registry-gap findings."""
    query = (select(Finding.key)
             .where(Finding.type == "registry_gap", Finding.status == "open",
                    Finding.workflow == workflow)
             .order_by(Finding.key))
    return list(session.scalars(query))
