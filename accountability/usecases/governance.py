"""Acknowledge, close, ratify, decide: a person acts on a risk review, a finding or a workflow.

Permission rules live in `rules.governance`; here they meet the database. A refusal is a
`UsageError` (exit 2) that names who may act.

Each action records who did it twice over: the registry person given as `--by` (whom the
permission rules check, and whom the record speaks for) and the process that recorded it, its
OS user, host and Prefect flow run (`accountability.origin`), since `--by` is a claim the CLI
cannot verify. Both the time (`clock`) and the origin (`origin`) are injected.
"""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.orm import Session

from accountability.clock import Clock, system_clock
from accountability.config.errors import UsageError
from accountability.origin import Origin, OriginSource, process_origin
from rules import governance
from rules.facts import ReviewState
from rules.registry import Registry
from rules.routing import review_closed_alerts
from rules.weeks import parse_week, shift_week, week_of
from storage import evaluations as store
from storage import outbox
from storage.models import RiskReview


class AlreadyDone(UsageError):
    """The action was taken before (a closed review, a ratified finding): the CLI exits 2 as for
    any refusal; the web app, where a second click is normal, shows "already done" instead.
    Raised only after the rights check, so it never tells someone without the right anything
    they could not see."""


def _review(session: Session, registry: Registry, review_id: str) -> RiskReview:
    review = store.get_review(session, review_id)
    if review is None:
        raise UsageError(f"no risk review '{review_id}' (see `accountability reviews`)")
    if review.workflow not in registry.workflows:
        raise UsageError(f"risk review '{review_id}' belongs to workflow '{review.workflow}', "
                         "which is no longer in the registry")
    return review


def acknowledge(
    session: Session, registry: Registry, review_id: str, by: str, *,
    clock: Clock = system_clock, origin: OriginSource = process_origin,
) -> RiskReview:
    """Acknowledge an open review (stops its reminders); an acknowledged one stays as it was,
    first acknowledgement and its origin included."""
    review = _review(session, registry, review_id)
    refusal = governance.may_handle_review(registry, by, review.workflow, "acknowledge")
    if refusal:
        raise UsageError(refusal)
    if review.status == "closed":
        raise AlreadyDone(f"risk review '{review_id}' is already closed")
    if review.status == "open":
        review.status = "acknowledged"
        review.acknowledged_at = clock()
        review.acknowledged_by = by
        _set_acknowledged_origin(review, origin())
    return review


def _set_acknowledged_origin(review: RiskReview, where: Origin) -> None:
    review.acknowledged_os_user = where.os_user
    review.acknowledged_host = where.host
    review.acknowledged_flow_run_id = where.flow_run_id


def close(
    session: Session, registry: Registry, review_id: str, by: str, note: str, *,
    clock: Clock = system_clock, origin: OriginSource = process_origin,
) -> RiskReview:
    """Close a review and queue the resolved message to the people it opened to."""
    review = _review(session, registry, review_id)
    refusal = governance.may_handle_review(registry, by, review.workflow, "close")
    if refusal:
        raise UsageError(refusal)
    if review.status == "closed":
        raise AlreadyDone(f"risk review '{review_id}' is already closed")
    if not note.strip():
        raise UsageError("--note must say why the risk review is closed")
    now, where = clock(), origin()
    if review.acknowledged_at is None:
        review.acknowledged_at, review.acknowledged_by = now, by
        _set_acknowledged_origin(review, where)
    review.status, review.closed_at, review.closed_by, review.close_note = "closed", now, by, note
    review.closed_os_user, review.closed_host = where.os_user, where.host
    review.closed_flow_run_id = where.flow_run_id
    state = ReviewState(id=review.id, workflow=review.workflow, week=review.week,
                        owner=review.owner, status="closed", opened_at=review.opened_at,
                        due=review.due, breaches=tuple(review.breaches))
    outbox.enqueue(session, [a.row() for a in review_closed_alerts(registry, state, by, note)],
                  due=now)
    return review


def ratify(
    session: Session, registry: Registry, key: str, by: str, note: str, *,
    clock: Clock = system_clock, origin: OriginSource = process_origin,
) -> None:
    """Ratify a finding: the rights first (a refusal names who may), then its state."""
    finding = store.get_finding(session, key)
    if finding is None:
        # Authorized changes are not stored (`findings --all` re-judges them): say so too.
        raise UsageError(f"no finding with key '{key}' (see `accountability findings`; an "
                         "authorized change, listed by `findings --all`, needs no ratifying)")
    if finding.workflow is None or finding.workflow not in registry.workflows:
        allowed = registry.expand(registry.leadership)
        if by not in allowed:
            raise UsageError(f"only leadership may ratify a registry-wide finding: "
                             f"{', '.join(sorted(allowed))}")
    else:
        decision = (finding.details or {}).get("decision")
        refusal = governance.may_ratify(registry, by, finding.workflow,
                                        str(decision) if decision else None)
        if refusal:
            raise UsageError(refusal)
    if finding.status == "ratified":
        raise AlreadyDone(f"finding '{key}' is already ratified")
    if not note.strip():
        raise UsageError("--note must say why the finding is accepted")
    store.ratify(session, finding, by, note, clock(), asdict(origin()))


def decide(
    session: Session, registry: Registry, workflow: str, decision: str, by: str,
    note: str | None, week: str | None, *, clock: Clock = system_clock,
    origin: OriginSource = process_origin,
) -> str:
    """Record a governance decision for a week (default: the week just ended)."""
    if workflow not in registry.workflows:
        raise UsageError(f"unknown workflow '{workflow}' "
                         f"(known: {', '.join(sorted(registry.workflows))})")
    if decision not in governance.DECISIONS:
        raise UsageError(f"decision must be one of {', '.join(governance.DECISIONS)}")
    refusal = governance.may_decide(registry, by, workflow)
    if refusal:
        raise UsageError(refusal)
    now = clock()
    if week is None:
        week = shift_week(week_of(now, registry.tz), -1)
    else:
        try:
            parse_week(week)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    store.record_decision(session, workflow, week, decision, by, note, now, asdict(origin()))
    return week
