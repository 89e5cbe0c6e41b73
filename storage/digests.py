"""What the weekly digest reads (scorecards, decisions, findings; dead alerts are
`storage.outbox.dead_alerts`, as `alert --status` reads them) and the record of its sends
(`digest_sends`, one row per week)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Decision, DigestSend, Finding, Scorecard
from storage.upsert import upsert

DIGEST_FINDING_TYPES = ("unauthorized_change", "ownership_churn")


def scorecards(session: Session, weeks: Sequence[str]) -> list[Scorecard]:
    query = (select(Scorecard).where(Scorecard.week.in_(list(weeks)))
             .order_by(Scorecard.workflow, Scorecard.week))
    return list(session.scalars(query))


def decisions(session: Session, weeks: Sequence[str]) -> list[Decision]:
    query = (select(Decision).where(Decision.week.in_(list(weeks)))
             .order_by(Decision.recorded_at, Decision.id))
    return list(session.scalars(query))


def week_findings(session: Session, start: datetime, end: datetime) -> list[Finding]:
    """Open (not ratified) unauthorized changes and churn whose `at` lies in `[start, end)`."""
    query = (
        select(Finding)
        .where(Finding.type.in_(DIGEST_FINDING_TYPES), Finding.status == "open",
               Finding.at >= start, Finding.at < end)
        .order_by(Finding.at, Finding.key)
    )
    return list(session.scalars(query))


def open_registry_gaps(session: Session) -> list[Finding]:
    query = (select(Finding).where(Finding.type == "registry_gap", Finding.status == "open")
             .order_by(Finding.workflow, Finding.key))
    return list(session.scalars(query))


def get_send(session: Session, week: str) -> DigestSend | None:
    return session.get(DigestSend, week)


def record_send(
    session: Session, week: str, recipients: Sequence[str], message_id: str,
    sent_at: datetime,
) -> None:
    """One row per week: a forced second send replaces the record of the first."""
    upsert(session, DigestSend, [{"week": week, "sent_at": sent_at,
                                  "recipients": list(recipients), "message_id": message_id}])
