"""Typed models of the owner registry (SPEC §3).

The models check the shape of each value (types, unknown keys, secrets written as `env:NAME`,
sane thresholds). Rules that relate one part of the registry to another (unknown people,
group cycles, delegations, overlapping sources) live in `validate.py`, because they need the
whole document and must report every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from functools import cached_property
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, FiniteFloat, model_validator

from rules.metrics import METRIC_NAMES

METRICS: Final[tuple[str, ...]] = METRIC_NAMES
"""The threshold keys a workflow's scorecard may use: the names of `rules.metrics.METRICS`."""

STAGE_OWNER: Final = "stage-owner"
"""Role token: the owner of the stage the item is in, resolved at event time (SPEC §4)."""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_metric(name: str) -> str:
    if name not in METRICS:
        raise ValueError(f"unknown metric '{name}' (metrics: {', '.join(METRICS)})")
    return name


def _env_reference(value: str) -> str:
    # Never echo the value: when it is not env:NAME it is probably the secret itself.
    if not value.startswith("env:"):
        raise ValueError(
            "secrets never go in the registry: write env:NAME and put the value in the "
            "environment variable NAME"
        )
    if not _ENV_NAME.fullmatch(value[4:]):
        raise ValueError("env: must be followed by an environment variable name, e.g. env:NAME")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"'{value}' is not an email address")
    return value


def _iana_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone '{name}': use an IANA name such as Europe/Berlin or UTC"
        ) from None
    return name


Text = Annotated[str, Field(min_length=1)]
MetricName = Annotated[str, AfterValidator(_known_metric)]
EnvSecret = Annotated[str, AfterValidator(_env_reference)]
Email = Annotated[str, AfterValidator(_email)]


class Person(_Model):
    id: Text
    name: Text
    email: Email | None = None
    jira: Text | None = None
    pagerduty: Text | None = None


class Automation(_Model):
    """A non-human actor (Jira Automation, a bot) and the decisions it may take."""

    id: Text
    jira: Text | None = None
    pagerduty: Text | None = None
    may: list[str]


class Outcome(_Model):
    owner: Text
    objective: str | None = None


class JiraSource(_Model):
    projects: list[Text] = Field(min_length=1)
    jql: str | None = None
    """ANDed with the project clause."""


class PagerDutySource(_Model):
    services: list[Text] = Field(min_length=1)
    escalation_policies: list[Text] = []


class Sources(_Model):
    jira: JiraSource | None = None
    pagerduty: PagerDutySource | None = None


class Stage(_Model):
    id: Text
    owner: str | None = None
    jira_statuses: list[Text] = []
    assignees: list[str] = []
    pagerduty: bool = False
    """The stage an incident is in (SPEC §4)."""
    terminal: bool = False


class Decision(_Model):
    recommends: list[str] = []
    approves: list[str] = []
    executes: list[str] = []
    informed: list[str] = []


class DecisionPoint(_Model):
    decision: Text
    jira_statuses: list[Text] = Field(min_length=1)


class Threshold(_Model):
    min: FiniteFloat | None = None
    max: FiniteFloat | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Threshold:
        if self.min is None and self.max is None:
            raise ValueError("a threshold needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        return self


class Scorecard(_Model):
    thresholds: dict[MetricName, Threshold] = {}
    consecutive_weeks: int = Field(default=1, ge=1)


class JiraRiskReview(_Model):
    project: Text
    issue_type: Text = "Task"


class Alerts(_Model):
    """Extra alert channels; email is always on. Secrets only as `env:NAME`.

    Each field is the `setting` of a row of `rules.channels`, which routing and the dispatcher
    read it through; a field here without a row there switches nothing on."""

    slack_webhook: EnvSecret | None = None
    pagerduty_routing_key: EnvSecret | None = None
    jira_risk_review: JiraRiskReview | None = None


class Workflow(_Model):
    id: Text
    """The workflow's key in `workflows`, filled in when loading."""
    name: Text
    outcome: Outcome
    workflow_owner: Text
    risk_owner: Text
    sources: Sources
    stages: list[Stage]
    decisions: dict[str, Decision]
    decision_points: list[DecisionPoint] = []
    scorecard: Scorecard = Scorecard()
    alerts: Alerts = Alerts()
    unowned_after_hours: float = Field(default=24, gt=0)
    churn_changes: int = Field(default=3, ge=1)
    risk_review_due_days: int = Field(default=3, ge=0)
    remind_every_hours: float = Field(default=24, gt=0)

    def stage(self, stage_id: str) -> Stage:
        """The stage with this id; KeyError when there is none."""
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(f"workflow '{self.id}' has no stage '{stage_id}'")

    def stage_for_status(self, status: str) -> Stage | None:
        """The stage a Jira status belongs to (exact, case-sensitive match), or None."""
        for stage in self.stages:
            if status in stage.jira_statuses:
                return stage
        return None

    def pagerduty_stage(self) -> Stage | None:
        """The stage an incident is in: the one marked `pagerduty: true`."""
        return next((stage for stage in self.stages if stage.pagerduty), None)

    def terminal_statuses(self) -> set[str]:
        return {status for stage in self.stages if stage.terminal for status in stage.jira_statuses}


class Delegation(_Model):
    grantor: Text
    grantee: Text
    workflow: Text
    decision: Text
    starts: date
    ends: date
    """Inclusive: the delegation covers the whole day `ends` in the registry time zone."""
    reason: str | None = None


class Registry(_Model):
    version: Literal[1]
    organization: Text
    timezone: Annotated[str, AfterValidator(_iana_zone)]
    leadership: list[str]
    people: dict[str, Person]
    groups: dict[str, list[str]] = {}
    automation: list[Automation] = []
    workflows: dict[str, Workflow]
    delegations: list[Delegation] = []

    @model_validator(mode="before")
    @classmethod
    def _fill_ids(cls, data: Any) -> Any:
        """People and workflows are keyed by id in YAML; copy the key into the model."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for section in ("people", "workflows"):
            entries = data.get(section)
            if isinstance(entries, dict):
                data[section] = {
                    key: {"id": key, **value} if isinstance(value, dict) else value
                    for key, value in entries.items()
                }
        return data

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def expand(self, names: Iterable[str]) -> set[str]:
        """People ids behind `names`: groups expanded recursively (cycle-safe).

        Tokens that are not groups (people, automation ids, `stage-owner`) pass through.
        """
        result: set[str] = set()
        seen: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in self.groups:
                if name not in seen:
                    seen.add(name)
                    pending.extend(self.groups[name])
            else:
                result.add(name)
        return result

    @cached_property
    def _people_by_jira(self) -> dict[str, Person]:
        return {p.jira: p for p in self.people.values() if p.jira is not None}

    @cached_property
    def _people_by_pagerduty(self) -> dict[str, Person]:
        return {p.pagerduty: p for p in self.people.values() if p.pagerduty is not None}

    @cached_property
    def _automation_by_jira(self) -> dict[str, Automation]:
        return {a.jira: a for a in self.automation if a.jira is not None}

    @cached_property
    def _automation_by_pagerduty(self) -> dict[str, Automation]:
        return {a.pagerduty: a for a in self.automation if a.pagerduty is not None}

    def person_by_jira(self, account_id: str) -> Person | None:
        return self._people_by_jira.get(account_id)

    def person_by_pagerduty(self, user_id: str) -> Person | None:
        return self._people_by_pagerduty.get(user_id)

    def automation_by_jira(self, account_id: str) -> Automation | None:
        return self._automation_by_jira.get(account_id)

    def automation_by_pagerduty(self, actor_id: str) -> Automation | None:
        return self._automation_by_pagerduty.get(actor_id)

    def delegations_in_force(self, on: date, workflow: str | None = None) -> list[Delegation]:
        """Delegations covering the day `on` (both ends inclusive), optionally for one workflow."""
        return [
            d
            for d in self.delegations
            if d.starts <= on <= d.ends and (workflow is None or d.workflow == workflow)
        ]
