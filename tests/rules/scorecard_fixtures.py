"""The registry and history builders the scorecard suites share (a plain module, not a test
module: imported, never collected). Times are wall-clock times in Europe/Berlin, the registry's
time zone; the thresholds, consecutive weeks and review due days are parameters of `registry`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from rules.facts import ItemHistory, OwnershipChange, StatusChange, Verdict, WeekScore
from rules.registry import Registry, parse_registry
from rules.scorecard import score_weeks

BERLIN = ZoneInfo("Europe/Berlin")

REGISTRY = """
version: 1
organization: Test Co
timezone: Europe/Berlin
leadership: [ana]
people:
  ana: {name: Ana Lind, email: ana@test.example, jira: acc-ana, pagerduty: PANA001}
  bo:  {name: Bo Stein, email: bo@test.example, jira: acc-bo, pagerduty: PBO0001}
  cy:  {name: Cy Park, email: cy@test.example, jira: acc-cy, pagerduty: PCY0001}
workflows:
  support:
    name: Support
    outcome: {owner: ana}
    workflow_owner: ana
    risk_owner: bo
    risk_review_due_days: DUE_DAYS
    sources:
      jira: {projects: [SUP]}
      pagerduty: {services: [PSUP001]}
    stages:
      - {id: intake, owner: bo, jira_statuses: [Open]}
      - {id: work, owner: cy, jira_statuses: [In Progress, Awaiting approval, Awaiting legal]}
      - {id: exception, owner: ana, jira_statuses: [Escalated], pagerduty: true}
      - {id: done, jira_statuses: [Done, Closed], terminal: true}
      - {id: archived, jira_statuses: [Archived], terminal: true}
    decisions:
      reassignment: {approves: [ana]}
      incident-escalation: {approves: [ana]}
      policy-exception: {approves: [ana]}
    decision_points:
      - {decision: policy-exception, jira_statuses: [Awaiting approval, Awaiting legal]}
    scorecard:
      thresholds: THRESHOLDS
      consecutive_weeks: CONSECUTIVE
"""

# Statuses "Backlog" and "Triage" are deliberately mapped to no stage.

ANA, BO, CY = "jira:acc-ana", "jira:acc-bo", "jira:acc-cy"
P_ANA, P_BO, P_CY = "pagerduty:PANA001", "pagerduty:PBO0001", "pagerduty:PCY0001"


@cache
def registry(thresholds: str = "{}", consecutive_weeks: int = 1, due_days: int = 3) -> Registry:
    text = (
        REGISTRY.replace("THRESHOLDS", thresholds)
        .replace("CONSECUTIVE", str(consecutive_weeks))
        .replace("DUE_DAYS", str(due_days))
    )
    return parse_registry(text, "test-registry.yaml").registry


def t(local: str) -> datetime:
    """`'2026-11-02 10:00'` on the Berlin wall clock, as an aware UTC datetime."""
    return datetime.fromisoformat(local).replace(tzinfo=BERLIN).astimezone(UTC)


def issue(
    key: str,
    created: str,
    *moves: tuple[str, str],
    initial: str = "Open",
    owners: tuple[str, ...] = (),
    changes: Iterable[OwnershipChange] = (),
    workflow: str | None = "support",
) -> ItemHistory:
    """A Jira issue created in `initial`, then moved `(when, to_status)` after `(when, …)`."""
    status_changes = []
    current = initial
    for index, (when, to_status) in enumerate(moves):
        status_changes.append(StatusChange(t(when), current, to_status, f"jira:{key}:{index}"))
        current = to_status
    return ItemHistory(
        source="jira",
        item=key,
        workflow=workflow,
        created=t(created),
        initial_status=initial,
        initial_owners=owners,
        status_changes=tuple(status_changes),
        ownership_changes=tuple(changes),
    )


def incident(
    incident_id: str,
    triggered: str,
    acknowledged: str | None = None,
    *,
    service: str = "PSUP001",
    changes: Iterable[OwnershipChange] = (),
) -> ItemHistory:
    return ItemHistory(
        source="pagerduty",
        item=incident_id,
        workflow="support",
        created=t(triggered),
        service=service,
        triggered_at=t(triggered),
        acknowledged_at=t(acknowledged) if acknowledged else None,
        ownership_changes=tuple(changes),
    )


def handover(
    when: str, before: tuple[str, ...], after: tuple[str, ...], source: str = "jira"
) -> OwnershipChange:
    return OwnershipChange(
        ref=f"{source}:{when}:{','.join(after)}",
        source=source,
        at=t(when),
        actor="jira:acc-ana" if source == "jira" else "pagerduty:PANA001",
        actor_kind="user",
        from_refs=before,
        to_refs=after,
        event_type="assignee" if source == "jira" else "assign_log_entry",
    )


def verdict(key: str, when: str, *, authorized: bool = False, workflow: str = "support") -> Verdict:
    return Verdict(
        key=key,
        event_ref=f"jira:{key}",
        workflow=workflow,
        item="SUP-1",
        source="jira",
        at=t(when),
        actor="bo",
        from_ids=("ana",),
        to_ids=("cy",),
        decision="reassignment",
        stage="work",
        authorized=authorized,
        rule="approver" if authorized else None,
        reason="test",
    )


def resolved(key: str, day: str, hour: str = "10:00") -> ItemHistory:
    """An issue opened at 09:00 and moved to Done at `hour` on `day`."""
    return issue(key, f"{day} 09:00", (f"{day} {hour}", "Done"))


def resolved_then_reopened(key: str, day: str, reopened: str) -> ItemHistory:
    return issue(key, f"{day} 09:00", (f"{day} 10:00", "Done"), (reopened, "In Progress"))


def score_map(
    registry_: Registry,
    items: Sequence[ItemHistory],
    weeks: Sequence[str],
    verdicts: Sequence[Verdict] = (),
    ratified: frozenset[str] = frozenset(),
) -> dict[str, WeekScore]:
    scores = score_weeks(registry_, "support", items, verdicts, set(ratified), weeks)
    return {score.week: score for score in scores}
