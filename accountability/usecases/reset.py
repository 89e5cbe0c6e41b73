"""The 30-day reset (SPEC §12): the tracker from stored data, and leadership's confirmation of
the focus workflow's decision rights.

The checklist itself is `rules.reset` (pure); here its facts are read from the database and
the confirmation is recorded with who (`--by`, checked against leadership), when (the injected
clock) and from where (the injected origin), like `decide` and `ratify`.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time

from sqlalchemy.orm import Session

from accountability.clock import Clock, system_clock
from accountability.config.errors import UsageError
from accountability.origin import OriginSource, process_origin
from rules import governance
from rules.registry import Registry, Reset
from rules.reset import (
    DECISION_RIGHTS,
    Confirmation,
    DecisionFact,
    ResetFacts,
    ResetTracker,
    build_tracker,
    local_day,
)
from rules.weeks import week_name
from storage import resets as store

CONFIRMABLE = (DECISION_RIGHTS,)
"""Items a leader confirms by command; every other item is computed from data."""


def the_reset(registry: Registry, workflow: str | None = None) -> Reset:
    """The registry's reset; `UsageError` when there is none or `workflow` is another."""
    reset = registry.reset
    if reset is None:
        raise UsageError("the registry has no reset: add `reset: {workflow: ID, started: "
                         "YYYY-MM-DD}` (a Monday) to start the 30-day reset")
    if workflow is not None and workflow != reset.workflow:
        raise UsageError(f"the reset in the registry is for workflow '{reset.workflow}', "
                         f"not '{workflow}'")
    return reset


def _start_instant(registry: Registry, day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=registry.tz)


def gather_facts(session: Session, registry: Registry, today: date) -> ResetFacts:
    """The tracker's facts about the registry's reset, as stored on `today`."""
    reset = the_reset(registry)
    since = _start_instant(registry, reset.started)
    current = week_name(today)
    return ResetFacts(
        today=today,
        map_writes=[local_day(at, registry)
                    for at in store.map_writes(session, reset.workflow, since)],
        # Finished weeks only: the week `today` is in has not ended, its scorecard is partial.
        baseline_weeks=[w for w in store.measured_weeks(session, reset.workflow) if w < current],
        decisions=[DecisionFact(week=d.week, decision=d.decision, by=d.by,
                                recorded_on=local_day(d.recorded_at, registry))
                   for d in store.decisions(session, reset.workflow, since)],
        open_gaps=store.open_registry_gaps(session, reset.workflow),
        confirmations=[Confirmation(by=c.by, on=local_day(c.at, registry))
                       for c in store.confirmations(session, reset.workflow, reset.started,
                                                    DECISION_RIGHTS)],
    )


def tracker(
    session: Session, registry: Registry, workflow: str | None = None, *,
    clock: Clock = system_clock,
) -> ResetTracker:
    """The reset's checklist as of today in the registry's time zone."""
    the_reset(registry, workflow)
    today = local_day(clock(), registry)
    return build_tracker(registry, gather_facts(session, registry, today))


def confirm(
    session: Session, registry: Registry, item: str, by: str, *,
    clock: Clock = system_clock, origin: OriginSource = process_origin,
) -> Reset:
    """Record that leader `by` confirmed `item` (decision rights) for the running reset."""
    if item not in CONFIRMABLE:
        raise UsageError(f"only {', '.join(CONFIRMABLE)} is confirmed by hand; the other reset "
                         "items are computed from data")
    reset = the_reset(registry)
    refusal = governance.may_confirm_reset(registry, by)
    if refusal:
        raise UsageError(refusal)
    store.record_confirmation(session, reset.workflow, reset.started, item, by, clock(),
                              asdict(origin()))
    return reset


def tracker_json(tracker: ResetTracker) -> dict[str, object]:
    """`reset --json`: the reset and its lines."""
    return {
        "workflow": tracker.workflow,
        "started": tracker.started.isoformat(),
        "ends": tracker.ends.isoformat(),
        "today": tracker.today.isoformat(),
        "week": tracker.current_week,
        "lines": [{"week": line.week, "item": line.item, "status": line.status,
                   "evidence": line.evidence, "next_action": line.next_action,
                   "due": line.due.isoformat()} for line in tracker.lines],
    }
