"""Risk reviews that still wait for an acknowledgement, and when they were last reminded.

The dispatcher asks for them at each run (SPEC §6: reminders every `remind_every_hours` until
acknowledged); `rules.routing.reminder_due` decides, the outbox dedup key keeps it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import RiskReview


def unacknowledged_reviews(session: Session) -> list[RiskReview]:
    """Reviews with status `open` (acknowledged and closed ones get no reminder)."""
    query = select(RiskReview).where(RiskReview.status == "open").order_by(RiskReview.id)
    return list(session.scalars(query))


def mark_reminded(session: Session, review_id: str, at: datetime) -> None:
    session.execute(
        update(RiskReview).where(RiskReview.id == review_id).values(last_reminded_at=at),
        execution_options={"synchronize_session": False},
    )
