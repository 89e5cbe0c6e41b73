"""Writing what the rules decided (findings, scorecards, risk reviews, alerts) and reading it.

The evaluation writes everything in one transaction: a crash leaves the previous evaluation
intact. Findings are upserted by key; their `status` (a ratification) and `first_seen_at`
survive re-evaluation, which is what "ratified findings stay ratified" means in storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rules.facts import Finding as FindingFact
from rules.facts import ReviewState, Verdict, WeekScore, stable_key
from storage.models import (
    AlertOutbox,
    Decision,
    Finding,
    Ratification,
    RiskReview,
    Scorecard,
    utcnow,
)
from storage.upsert import insert_ignore, upsert

VERDICT_TYPES = ("authorized_change", "unauthorized_change")
# Columns a re-evaluation may change; status and first_seen_at are the finding's own history.
_FINDING_UPDATE = ("type", "workflow", "item", "at", "actor", "from_ids", "to_ids", "rule",
                   "reason", "details", "updated_at")


def verdict_row(verdict: Verdict, now: datetime) -> dict[str, Any]:
    return {
        "key": verdict.key,
        "type": "authorized_change" if verdict.authorized else "unauthorized_change",
        "workflow": verdict.workflow,
        "item": verdict.item,
        "at": verdict.at,
        "actor": verdict.actor,
        "from_ids": list(verdict.from_ids),
        "to_ids": list(verdict.to_ids),
        "rule": verdict.rule,
        "reason": verdict.reason,
        "status": "open" if not verdict.authorized else "resolved",
        "details": {"event": verdict.event_ref, "decision": verdict.decision,
                    "stage": verdict.stage, "source": verdict.source, "url": verdict.url,
                    "title": verdict.title},
        "first_seen_at": now,
        "updated_at": now,
    }


def finding_row(finding: FindingFact, now: datetime) -> dict[str, Any]:
    return {
        "key": finding.key,
        "type": finding.type,
        "workflow": finding.workflow,
        "item": finding.item,
        "at": finding.at,
        "actor": finding.actor,
        "from_ids": list(finding.from_ids),
        "to_ids": list(finding.to_ids),
        "rule": finding.rule,
        "reason": finding.reason,
        "status": "open",
        "details": dict(finding.details),
        "first_seen_at": now,
        "updated_at": now,
    }


def existing_keys(session: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 900):
        found.update(session.scalars(select(Finding.key).where(
            Finding.key.in_(keys[start:start + 900]))))
    return found


def save_findings(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Upsert by key; a ratified finding keeps status `ratified`, a new one starts `open`."""
    upsert(session, Finding, rows, update=_FINDING_UPDATE)


def drop_stale_verdicts(session: Session, verdicts: Iterable[Verdict]) -> None:
    """A change re-judged the other way (registry edited) loses its old verdict row."""
    stale = [
        stable_key("authorized_change" if not v.authorized else "unauthorized_change",
                   v.event_ref)
        for v in verdicts
    ]
    for start in range(0, len(stale), 900):
        session.execute(delete(Finding).where(Finding.key.in_(stale[start:start + 900])))


def ratified_keys(session: Session) -> set[str]:
    return set(session.scalars(select(Finding.key).where(Finding.status == "ratified")))


def save_scorecards(session: Session, scores: Sequence[WeekScore], now: datetime) -> None:
    rows = []
    for score in scores:
        row = asdict(score)
        row.pop("has_data")
        row["breaches"] = list(score.breaches)
        row["computed_at"] = now
        rows.append(row)
    upsert(session, Scorecard, rows)


def review_states(session: Session, workflow: str | None = None) -> list[ReviewState]:
    query = select(RiskReview).order_by(RiskReview.workflow, RiskReview.week)
    if workflow is not None:
        query = query.where(RiskReview.workflow == workflow)
    return [
        ReviewState(id=r.id, workflow=r.workflow, week=r.week, owner=r.owner, status=r.status,
                    opened_at=r.opened_at, due=r.due, breaches=tuple(r.breaches),
                    acknowledged_at=r.acknowledged_at)
        for r in session.scalars(query)
    ]


def open_reviews(session: Session, reviews: Sequence[ReviewState]) -> list[str]:
    """Insert new risk reviews (one per workflow and week); return the ids really inserted."""
    rows = [
        {"id": r.id, "workflow": r.workflow, "week": r.week, "owner": r.owner,
         "status": r.status, "opened_at": r.opened_at, "due": r.due,
         "breaches": list(r.breaches)}
        for r in reviews
    ]
    if not rows:
        return []
    ids: list[str] = [str(row["id"]) for row in rows]
    before = set(session.scalars(select(RiskReview.id).where(RiskReview.id.in_(ids))))
    insert_ignore(session, RiskReview, rows, conflict=["workflow", "week"])
    return [review_id for review_id in ids if review_id not in before]


def enqueue(session: Session, alerts: Sequence[Mapping[str, Any]]) -> int:
    """Outbox rows; a dedup key already present (same event, channel, recipient) is skipped."""
    return insert_ignore(session, AlertOutbox, alerts, conflict=["dedup_key"])


# --- governance -----------------------------------------------------------------------------


def get_finding(session: Session, key: str) -> Finding | None:
    return session.get(Finding, key)


def ratify(session: Session, finding: Finding, by: str, note: str) -> None:
    finding.status = "ratified"
    finding.updated_at = utcnow()
    upsert(session, Ratification, [{"finding_key": finding.key, "by": by, "note": note,
                                     "at": utcnow()}])


def get_review(session: Session, review_id: str) -> RiskReview | None:
    return session.get(RiskReview, review_id)


def record_decision(
    session: Session, workflow: str, week: str, decision: str, by: str, note: str | None
) -> None:
    session.add(Decision(workflow=workflow, week=week, decision=decision, by=by, note=note,
                         recorded_at=utcnow()))


def decisions(session: Session, workflow: str | None = None) -> list[Decision]:
    query = select(Decision).order_by(Decision.recorded_at)
    if workflow is not None:
        query = query.where(Decision.workflow == workflow)
    return list(session.scalars(query))


def list_findings(
    session: Session,
    *,
    workflow: str | None = None,
    since: datetime | None = None,
    include_authorized: bool = False,
) -> list[Finding]:
    query = select(Finding).order_by(Finding.at, Finding.key)
    if not include_authorized:
        query = query.where(Finding.type != "authorized_change")
    if workflow is not None:
        query = query.where(Finding.workflow == workflow)
    if since is not None:
        query = query.where(Finding.at >= since)
    return list(session.scalars(query))


def list_scorecards(session: Session, week: str | None = None) -> list[Scorecard]:
    query = select(Scorecard).order_by(Scorecard.workflow, Scorecard.week)
    if week is not None:
        query = query.where(Scorecard.week == week)
    return list(session.scalars(query))


def list_reviews(
    session: Session, workflow: str | None = None, status: str | None = None
) -> list[RiskReview]:
    query = select(RiskReview).order_by(RiskReview.opened_at, RiskReview.id)
    if workflow is not None:
        query = query.where(RiskReview.workflow == workflow)
    if status is not None:
        query = query.where(RiskReview.status == status)
    return list(session.scalars(query))


def due_date(value: date) -> str:
    return value.isoformat()
