"""The registry and history builders the authority and findings suites share (a plain module,
not a test module: imported, never collected).

The registry (Europe/Berlin) is small but has every shape SPEC §4 cares about:

- `support` (Jira SUP + PagerDuty PSUP001 on policy PESC001):
  stages intake (owner bo, Open) → work (owner cy, assignees oncall + eli, In Progress) →
  review (owner the group leads = dee, Review) → exception (owner dee, assignees eli,
  Escalated, pagerduty: true) → done (terminal, Done). Status 'Awaiting approval' is a
  decision point that belongs to no stage.
  reassignment: recommends fay, approves ana + stage-owner, executes oncall (bo, cy).
  incident-escalation: approves dee, executes oncall.
  policy-exception: approves ana, executes gus.
- `renewals` (Jira REN + PagerDuty PREN001, no escalation policy declared, no
  incident-escalation decision): outreach (owner fay) → escalated (owner fay, pagerduty) →
  closed (terminal). reassignment: approves fay, executes gus.
- `ops` (Jira OPS): declares no reassignment decision at all.

Delegations: ana → eli (support reassignment, 2026-11-02 … 11-13); ana → fay (support
reassignment, 2026-10-20 … 10-25, the DST change is on 10-25); ana → gus (support
policy-exception, 11-02 … 11-13); fay → gus (renewals reassignment, 11-01 … 11-30);
dee → group oncall (support incident-escalation, 12-01 … 12-02).

Automation: jira-bot (Jira, may reassignment), pd-bot (PagerDuty user PBOT001, may
incident-escalation), label-bot (Jira, may policy-exception only).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from rules.facts import ItemHistory, OwnershipChange, StatusChange
from rules.registry import Registry, parse_registry

BERLIN = ZoneInfo("Europe/Berlin")

REGISTRY = """
version: 1
organization: Test Co
timezone: Europe/Berlin
leadership: [ana]
people:
  ana: {name: Ana Lind,  email: ana@test.example, jira: acc-ana, pagerduty: PANA001}
  bo:  {name: Bo Stein,  email: bo@test.example,  jira: acc-bo,  pagerduty: PBO0001}
  cy:  {name: Cy Park,   email: cy@test.example,  jira: acc-cy,  pagerduty: PCY0001}
  dee: {name: Dee Moss,  email: dee@test.example, jira: acc-dee, pagerduty: PDEE001}
  eli: {name: Eli Ford,  email: eli@test.example, jira: acc-eli, pagerduty: PELI001}
  fay: {name: Fay Lu,    email: fay@test.example, jira: acc-fay, pagerduty: PFAY001}
  gus: {name: Gus Bell,  email: gus@test.example, jira: acc-gus}
  hal: {name: Hal Roe,   jira: acc-hal}
groups:
  oncall: [bo, cy]
  leads: [dee]
automation:
  - {id: jira-bot, jira: acc-bot, may: [reassignment]}
  - {id: pd-bot, pagerduty: PBOT001, may: [incident-escalation]}
  - {id: label-bot, jira: acc-label, may: [policy-exception]}
workflows:
  support:
    name: Support
    outcome: {owner: ana}
    workflow_owner: ana
    risk_owner: dee
    sources:
      jira: {projects: [SUP]}
      pagerduty: {services: [PSUP001], escalation_policies: [PESC001]}
    stages:
      - {id: intake,    owner: bo,   jira_statuses: [Open]}
      - {id: work,      owner: cy,   jira_statuses: [In Progress], assignees: [oncall, eli]}
      - {id: review,    owner: leads, jira_statuses: [Review]}
      - {id: exception, owner: dee,  jira_statuses: [Escalated], assignees: [eli], pagerduty: true}
      - {id: done,      jira_statuses: [Done], terminal: true}
    decisions:
      reassignment:
        {recommends: [fay], approves: [ana, stage-owner], executes: [oncall], informed: [gus]}
      incident-escalation: {approves: [dee], executes: [oncall], informed: [ana]}
      policy-exception:    {approves: [ana], executes: [gus]}
    decision_points:
      - {decision: policy-exception, jira_statuses: [Awaiting approval]}
  renewals:
    name: Renewals
    outcome: {owner: fay}
    workflow_owner: fay
    risk_owner: hal
    unowned_after_hours: 4
    churn_changes: 2
    sources:
      jira: {projects: [REN]}
      pagerduty: {services: [PREN001]}
    stages:
      - {id: outreach,  owner: fay, jira_statuses: [Outreach]}
      - {id: escalated, owner: fay, jira_statuses: [Escalated], pagerduty: true}
      - {id: closed,    jira_statuses: [Closed], terminal: true}
    decisions:
      reassignment: {approves: [fay], executes: [gus]}
  ops:
    name: Ops
    outcome: {owner: ana}
    workflow_owner: ana
    risk_owner: dee
    sources:
      jira: {projects: [OPS]}
    stages:
      - {id: triage, owner: bo, jira_statuses: [Open], assignees: [oncall]}
      - {id: closed, jira_statuses: [Done], terminal: true}
    decisions:
      policy-exception: {approves: [ana], executes: [bo]}
delegations:
  - {grantor: ana, grantee: eli, workflow: support, decision: reassignment,
     starts: 2026-11-02, ends: 2026-11-13, reason: "Ana on leave"}
  - {grantor: ana, grantee: fay, workflow: support, decision: reassignment,
     starts: 2026-10-20, ends: 2026-10-25}
  - {grantor: ana, grantee: gus, workflow: support, decision: policy-exception,
     starts: 2026-11-02, ends: 2026-11-13}
  - {grantor: fay, grantee: gus, workflow: renewals, decision: reassignment,
     starts: 2026-11-01, ends: 2026-11-30}
  - {grantor: dee, grantee: oncall, workflow: support, decision: incident-escalation,
     starts: 2026-12-01, ends: 2026-12-02}
"""

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
"""A Tuesday: no delegation to anyone but eli and gus is in force."""

PAGERDUTY_IDS = {
    "ana": "PANA001",
    "bo": "PBO0001",
    "cy": "PCY0001",
    "dee": "PDEE001",
    "eli": "PELI001",
    "fay": "PFAY001",
}


@cache
def registry() -> Registry:
    return parse_registry(REGISTRY, "scenarios.yaml").registry


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Europe/Berlin wall-clock time, as the aware UTC datetime the facts carry."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def j(person: str) -> str:
    """The Jira reference of a registry person or automation (`acc-<id>` in this registry)."""
    return f"jira:acc-{person}"


def p(person: str) -> str:
    return f"pagerduty:{PAGERDUTY_IDS[person]}"


def refs(*people: str, source: str = "jira") -> tuple[str, ...]:
    return tuple(j(x) if source == "jira" else p(x) for x in people)


def change(
    actor: str,
    to: tuple[str, ...],
    frm: tuple[str, ...] = (),
    *,
    at: datetime = T0,
    ref: str = "jira:100:0",
    source: str = "jira",
    kind: str = "user",
    event: str = "assignee",
) -> OwnershipChange:
    return OwnershipChange(ref, source, at, actor, kind, frm, to, event)


def status(to: str, at: datetime, frm: str | None = None, ref: str = "") -> StatusChange:
    return StatusChange(at, frm, to, ref)


def issue(
    *changes: OwnershipChange,
    status_now: str = "In Progress",
    statuses: tuple[StatusChange, ...] = (),
    workflow: str | None = "support",
    key: str = "SUP-1",
    created: datetime = datetime(2026, 10, 1, 8, 0, tzinfo=UTC),
    owners: tuple[str, ...] = (),
) -> ItemHistory:
    """A Jira issue created in `status_now` (or the `from` of its first status change)."""
    initial = statuses[0].from_status if statuses else status_now
    return ItemHistory(
        source="jira",
        item=key,
        workflow=workflow,
        created=created,
        initial_status=initial,
        initial_owners=owners,
        status_changes=statuses,
        ownership_changes=changes,
        url=f"https://jira.test/browse/{key}",
        title="A ticket",
    )


def incident(
    *changes: OwnershipChange,
    policy: str | None = "PESC001",
    workflow: str | None = "support",
    key: str = "PINC001",
    service: str = "PSUP001",
) -> ItemHistory:
    return ItemHistory(
        source="pagerduty",
        item=key,
        workflow=workflow,
        created=datetime(2026, 10, 1, 8, 0, tzinfo=UTC),
        ownership_changes=changes,
        service=service,
        escalation_policy=policy,
    )


def pd_change(
    actor: str,
    to: tuple[str, ...],
    frm: tuple[str, ...] = (),
    *,
    kind: str = "user",
    event: str = "assign_log_entry",
    at: datetime = T0,
    ref: str = "pagerduty:LOG1",
) -> OwnershipChange:
    return change(actor, to, frm, at=at, ref=ref, source="pagerduty", kind=kind, event=event)


# One fixed unauthorized change, judged in this process and in a fresh one
# (tests/rules/test_authority_properties.py): its key must not depend on the process.
FIXED = ItemHistory(
    source="jira",
    item="SUP-9",
    workflow="support",
    created=datetime(2026, 10, 1, tzinfo=UTC),
    initial_status="In Progress",
    ownership_changes=(
        OwnershipChange(
            "jira:31337:2",
            "jira",
            datetime(2026, 11, 10, 9, tzinfo=UTC),
            "jira:acc-bo",
            "user",
            ("jira:acc-cy",),
            ("jira:acc-gus",),
            "assignee",
        ),
    ),
)
