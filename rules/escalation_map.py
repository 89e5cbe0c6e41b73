"""The escalation map of a workflow as plain data: who owns what, who decides what, today.

Names are resolved here (groups expanded, people given their display names) so that the HTML
template only lays things out. `today` is passed in, never read from the clock: the map is a
pure function of the registry and a date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from rules.metrics import metric
from rules.registry import Registry, UnknownWorkflowError, Workflow
from rules.reset import reset_week
from rules.sources import spec

STAGE_OWNER = "stage-owner"


@dataclass(frozen=True)
class Party:
    """A person, group, automation or role token as a reader sees it."""

    id: str
    label: str
    kind: str  # person | group | automation | role
    detail: str = ""  # e-mail of a person, members of a group, meaning of a role


@dataclass(frozen=True)
class StageView:
    position: int
    id: str
    owner: Party | None
    statuses: tuple[str, ...]
    eligible: tuple[Party, ...]
    terminal: bool
    incident_stage: bool


@dataclass(frozen=True)
class DecisionView:
    id: str
    recommends: tuple[Party, ...]
    approves: tuple[Party, ...]
    executes: tuple[Party, ...]
    informed: tuple[Party, ...]
    pending_statuses: tuple[str, ...]
    automations: tuple[Party, ...]


@dataclass(frozen=True)
class DelegationView:
    decision: str
    grantor: Party
    grantee: Party
    starts: date
    ends: date
    reason: str
    in_force: bool


@dataclass(frozen=True)
class ThresholdView:
    metric: str
    label: str
    bound: str


@dataclass(frozen=True)
class EscalationMap:
    organization: str
    workflow_id: str
    name: str
    objective: str
    as_of: date
    timezone: str
    outcome_owner: Party
    workflow_owner: Party
    risk_owner: Party
    leadership: tuple[Party, ...]
    stages: tuple[StageView, ...]
    decisions: tuple[DecisionView, ...]
    delegations: tuple[DelegationView, ...]
    thresholds: tuple[ThresholdView, ...]
    consecutive_weeks: int
    sources: tuple[str, ...]
    reset_week: int | None = None
    """The 30-day reset week (1-4) when this workflow's reset is running on `as_of`."""
    reset_started: date | None = None


def build_escalation_map(registry: Registry, workflow_id: str, today: date) -> EscalationMap:
    """Everything the one-page map shows for `workflow_id` on `today` (registry time zone)."""
    workflow = registry.workflows.get(workflow_id)
    if workflow is None:
        known = ", ".join(sorted(registry.workflows)) or "none"
        raise UnknownWorkflowError(f"unknown workflow '{workflow_id}' (known: {known})")
    party = _PartyResolver(registry)
    reset = registry.reset if registry.reset and registry.reset.workflow == workflow_id else None
    return EscalationMap(
        organization=registry.organization,
        workflow_id=workflow_id,
        name=workflow.name,
        objective=workflow.outcome.objective or "",
        as_of=today,
        timezone=registry.timezone,
        outcome_owner=party(workflow.outcome.owner),
        workflow_owner=party(workflow.workflow_owner),
        risk_owner=party(workflow.risk_owner),
        leadership=tuple(party(name) for name in registry.leadership),
        stages=_stages(workflow, party),
        decisions=_decisions(registry, workflow, party),
        delegations=_delegations(registry, workflow_id, today, party),
        thresholds=_thresholds(workflow),
        consecutive_weeks=workflow.scorecard.consecutive_weeks,
        sources=_sources(workflow),
        reset_week=reset_week(reset.started, today) if reset else None,
        reset_started=reset.started if reset else None,
    )


class _PartyResolver:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._automations = {a.id for a in registry.automation}

    def __call__(self, name: str) -> Party:
        registry = self._registry
        if name == STAGE_OWNER:
            return Party(name, "Stage owner", "role", "the owner of the stage the item is in")
        if name in registry.people:
            person = registry.people[name]
            return Party(name, person.name, "person", person.email or "no e-mail")
        if name in registry.groups:
            members = sorted(registry.expand([name]))
            labels = ", ".join(self(m).label for m in members)
            return Party(name, name, "group", labels)
        if name in self._automations:
            return Party(name, name, "automation", "declared automation")
        return Party(name, name, "unknown", "not in the registry")

    def many(self, names: Iterable[str]) -> tuple[Party, ...]:
        return tuple(self(name) for name in names)


def _stages(workflow: Workflow, party: _PartyResolver) -> tuple[StageView, ...]:
    return tuple(
        StageView(
            position=index + 1,
            id=stage.id,
            owner=party(stage.owner) if stage.owner else None,
            statuses=tuple(stage.jira_statuses),
            eligible=party.many(stage.assignees),
            terminal=stage.terminal,
            incident_stage=stage.is_incident_stage,
        )
        for index, stage in enumerate(workflow.stages)
    )


def _decisions(
    registry: Registry, workflow: Workflow, party: _PartyResolver
) -> tuple[DecisionView, ...]:
    views = []
    for decision_id, decision in workflow.decisions.items():
        pending = tuple(
            status
            for point in workflow.decision_points
            if point.decision == decision_id
            for status in point.jira_statuses
        )
        automations = tuple(
            party(a.id) for a in registry.automation if decision_id in a.may
        )
        views.append(
            DecisionView(
                id=decision_id,
                recommends=party.many(decision.recommends),
                approves=party.many(decision.approves),
                executes=party.many(decision.executes),
                informed=party.many(decision.informed),
                pending_statuses=pending,
                automations=automations,
            )
        )
    return tuple(views)


def _delegations(
    registry: Registry, workflow_id: str, today: date, party: _PartyResolver
) -> tuple[DelegationView, ...]:
    """Delegations in force today, then upcoming ones; expired ones are history, not shown."""
    views = [
        DelegationView(
            decision=d.decision,
            grantor=party(d.grantor),
            grantee=party(d.grantee),
            starts=d.starts,
            ends=d.ends,
            reason=d.reason or "",
            in_force=d.starts <= today <= d.ends,
        )
        for d in registry.delegations
        if d.workflow == workflow_id and d.ends >= today
    ]
    return tuple(sorted(views, key=lambda v: (not v.in_force, v.starts)))


def _thresholds(workflow: Workflow) -> tuple[ThresholdView, ...]:
    views = []
    for name, threshold in workflow.scorecard.thresholds.items():
        bounds = []
        if threshold.min is not None:
            bounds.append(f"at least {_number(threshold.min)}")
        if threshold.max is not None:
            bounds.append(f"at most {_number(threshold.max)}")
        views.append(ThresholdView(name, metric(name).long_label, ", ".join(bounds)))
    return tuple(views)


def _sources(workflow: Workflow) -> tuple[str, ...]:
    """What the workflow reads, source by source, as each source's configuration says it."""
    return tuple(
        line
        for name, config in workflow.sources.configured().items()
        for line in config.describe(spec(name).label)
    )


def _number(value: float) -> str:
    return f"{value:g}"
