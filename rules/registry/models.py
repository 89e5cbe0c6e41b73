"""Typed models of the owner registry (SPEC §3).

The models check the shape of each value (types, unknown keys, secrets written as `env:NAME`,
sane thresholds). Rules that relate one part of the registry to another (unknown people,
group cycles, delegations, overlapping sources) live in `validate.py`, because they need the
whole document and must report every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from email.errors import HeaderParseError
from email.headerregistry import Address
from functools import cached_property
from typing import Annotated, Any, Final, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, FiniteFloat, model_validator

from rules.metrics import METRIC_NAMES
from rules.sources import (
    INCIDENT,
    SOURCE_NAMES,
    SOURCES,
    TICKET,
    ItemKind,
    kind_of,
)

METRICS: Final[tuple[str, ...]] = METRIC_NAMES
"""The threshold keys a workflow's scorecard may use: the names of `rules.metrics.METRICS`."""

INCIDENT_STAGE_KEY: Final = "pagerduty"
"""The `Stage` key marking the stage incidents are in (`pagerduty: true`, SPEC §3 format)."""

STAGE_OWNER: Final = "stage-owner"
"""Role token: the owner of the stage the item is in, resolved at event time (SPEC §4)."""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""What an id of a workflow, person, group or automation looks like. Ids become file names
(`maps/<workflow>.html`) and parts of keys, so they are names, never paths: no `/`, `.` or
spaces, at most 64 characters."""
ID_RULE: Final = (
    "letters, digits, '-' and '_', starting with a letter or digit, at most 64 characters"
)

PRODUCT_SECRETS: Final[frozenset[str]] = frozenset(
    {"JIRA_API_TOKEN", "JIRA_PAT", "JIRA_EMAIL", "PAGERDUTY_API_TOKEN", "SMTP_PASSWORD",
     "SMTP_USERNAME"}
)
"""The product's own credentials: a channel secret naming one would send it to Slack or
PagerDuty. `ACCOUNTABILITY_*` (`PRODUCT_PREFIX`) is refused too."""
PRODUCT_PREFIX: Final = "ACCOUNTABILITY_"

SLACK_SECRET_PREFIXES: Final[tuple[str, ...]] = ("SLACK_",)
"""`alerts.slack_webhook` may name only variables starting with these."""
PAGERDUTY_SECRET_PREFIXES: Final[tuple[str, ...]] = ("PD_", "PAGERDUTY_ROUTING_")
"""`alerts.pagerduty_routing_key` may name only variables starting with these."""


def is_valid_id(value: str) -> bool:
    """`value` may be a registry id (see `ID_PATTERN`)."""
    return ID_PATTERN.fullmatch(value) is not None


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


def _channel_secret(prefixes: tuple[str, ...], example: str) -> Callable[[str], str]:
    """A validator of a channel secret's `env:NAME`: only variables made for that channel.

    Whatever the registry names is read and sent to the channel's vendor, so a name outside
    the channel's prefixes (worst of all the product's own Jira token) would leak it."""
    allowed = " or ".join(f"env:{prefix}*" for prefix in prefixes)

    def check(value: str) -> str:
        name = _env_reference(value)[4:]
        if name in PRODUCT_SECRETS or name.startswith(PRODUCT_PREFIX):
            raise ValueError(
                f"env:{name} is one of the product's own settings and would be sent to this "
                f"channel: put the channel's secret in its own variable ({allowed}, "
                f"e.g. env:{example})"
            )
        if not name.startswith(prefixes):
            raise ValueError(
                f"env:{name} is not a variable for this channel: its name must start with "
                f"{' or '.join(prefixes)} ({allowed}, e.g. env:{example})"
            )
        return value

    return check


def parse_address(value: str) -> str | None:
    """`value` if the e-mail package reads it as exactly one address, unchanged; else None.

    The mailer builds its headers with `email.headerregistry.Address`: an address it reads
    differently (`dana@acme.example>`, two addresses, a display name) would pass a loose check
    here and then fail the whole message at send time."""
    try:
        parsed = Address(addr_spec=value)
    except (ValueError, IndexError, TypeError, HeaderParseError):
        return None
    if parsed.addr_spec != value or not parsed.username or not parsed.domain:
        return None
    return value


def _email(value: str) -> str:
    if parse_address(value) is None:
        raise ValueError(
            f"'{value}' is not an email address the mailer can use: write a single address "
            "such as name@example.com, without a display name or <>"
        )
    return value


def _jql_clause(value: str) -> str:
    problem = jql_clause_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


def jql_clause_problem(jql: str) -> str | None:
    """Why `jql` cannot be ANDed into the sync's query, or None.

    The sync wraps the clause in parentheses (`connectors.jira.build_jql`). A clause that
    closes a parenthesis it did not open, leaves a quote or parenthesis open, or adds its own
    ORDER BY would change the query around it: `labels = ai) OR (project is not EMPTY` reads
    every project the account can see. Quotes are followed as JQL writes them (`"` or `'`,
    a backslash escapes the next character)."""
    depth = 0
    quote: str | None = None
    outside: list[str] = []
    index = 0
    while index < len(jql):
        char = jql[index]
        if quote is not None:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
            outside.append(" ")
        elif char in "\"'":
            quote = char
            outside.append(" ")
        else:
            outside.append(char)
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth < 0:
                    return (
                        f"jql closes a parenthesis it did not open (character {index + 1}): "
                        "the clause is ANDed with the project in parentheses and must not "
                        "leave them; balance its parentheses"
                    )
        index += 1
    if quote is not None:
        return f"jql leaves a {quote} quote open: close every quoted value"
    if depth > 0:
        return f"jql leaves {depth} parenthesis(es) open: close every '('"
    if _ORDER_BY.search("".join(outside)):
        return "jql must not contain ORDER BY: the clause is ANDed in and the sync sets the order"
    return None


def _iana_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone '{name}': use an IANA name such as Europe/Berlin or UTC"
        ) from None
    return name


def _jira_identity(value: str) -> str:
    """A Jira user as changelogs name it: a Cloud `accountId`, or on Data Center the user key
    (the username for accounts created before Jira 8, `JIRAUSER10100` style since), see
    docs/sync.md. Neither holds whitespace or control characters, and the `jira:` prefix is
    the registry's own: a value carrying it, or a display name, would never match."""
    if value.lower().startswith("jira:"):
        raise ValueError(f"'{value}': write the account id or username without 'jira:'")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(
            f"'{value}' is not a Jira account id or username (no spaces): a display name? "
            "Cloud: the accountId; Data Center: the username or user key"
        )
    return value


Text = Annotated[str, Field(min_length=1)]
JiraIdentity = Annotated[str, Field(min_length=1), AfterValidator(_jira_identity)]
MetricName = Annotated[str, AfterValidator(_known_metric)]
EnvSecret = Annotated[str, AfterValidator(_env_reference)]
SlackSecret = Annotated[
    str, AfterValidator(_channel_secret(SLACK_SECRET_PREFIXES, "SLACK_WEBHOOK_SUPPORT"))
]
PagerDutySecret = Annotated[
    str, AfterValidator(_channel_secret(PAGERDUTY_SECRET_PREFIXES, "PD_ROUTING_KEY_SUPPORT"))
]
JqlClause = Annotated[str, AfterValidator(_jql_clause)]
Email = Annotated[str, AfterValidator(_email)]


# --- sources: the only place naming them, besides the `rules.sources` table -----------------
#
# Each row of `rules.sources.SOURCES` has a field here, named after it, on `Person` and
# `Automation` (the account id in that source) and on `Sources` (the workflow's configuration
# block for it); `_check_source_fields` below holds them in step. Rules read them through
# `accounts()` and the `Sources` methods, never by name.


class _Identified(_Model):
    """An actor with an account in some sources (one field per source)."""

    def accounts(self) -> dict[str, str]:
        """Source name → this actor's account id there, for the sources it has one in (in the
        order of `rules.sources.SOURCES`)."""
        fields = dict(self)
        return {name: fields[name] for name in SOURCE_NAMES if fields[name] is not None}


class Person(_Identified):
    id: Text
    name: Text
    email: Email | None = None
    jira: JiraIdentity | None = None
    pagerduty: Text | None = None


class Automation(_Identified):
    """A non-human actor (Jira Automation, a bot) and the decisions it may take."""

    id: Text
    jira: JiraIdentity | None = None
    pagerduty: Text | None = None
    may: list[str]


class Outcome(_Model):
    owner: Text
    objective: str | None = None


class TicketSource(_Model):
    """The configuration block of a ticket source (`rules.sources.TICKET`)."""

    def describe(self, label: str) -> list[str]:
        """Lines saying what the workflow reads from this source (the escalation map)."""
        raise NotImplementedError


class IncidentSource(_Model):
    """The configuration block of an incident source (`rules.sources.INCIDENT`): an incident
    belongs to the workflow naming its service; routing by a declared escalation policy is
    authorized (SPEC §4)."""

    services: list[Text] = Field(min_length=1)
    escalation_policies: list[Text] = []

    def describe(self, label: str) -> list[str]:
        """Lines saying what the workflow reads from this source (the escalation map)."""
        lines = [f"{label} services " + ", ".join(self.services)]
        if self.escalation_policies:
            lines.append("escalation policies " + ", ".join(self.escalation_policies))
        return lines


class JiraSource(TicketSource):
    projects: list[Text] = Field(min_length=1)
    jql: JqlClause | None = None
    """ANDed with the project clause, in parentheses: must stay inside them
    (`jql_clause_problem`)."""

    def describe(self, label: str) -> list[str]:
        text = f"{label} " + ", ".join(self.projects)
        return [text + (f" where {self.jql}" if self.jql else "")]


class PagerDutySource(IncidentSource):
    pass


SourceConfig = TicketSource | IncidentSource


class Sources(_Model):
    """A workflow's `sources:` block: one optional field per source, named after it."""

    jira: JiraSource | None = None
    pagerduty: PagerDutySource | None = None

    def configured(self) -> dict[str, SourceConfig]:
        """Source name → its configuration, for the sources the workflow reads (in the order
        of `rules.sources.SOURCES`)."""
        fields = dict(self)
        return {name: fields[name] for name in SOURCE_NAMES if fields[name] is not None}

    def kinds(self) -> set[ItemKind]:
        """The kinds of item the workflow reads."""
        return {kind_of(name) for name in self.configured()}

    def of_kind(self, kind: ItemKind) -> list[str]:
        """Names of the configured sources of `kind`."""
        return [name for name in self.configured() if kind_of(name) == kind]

    def incident_sources(self) -> list[IncidentSource]:
        return [c for c in self.configured().values() if isinstance(c, IncidentSource)]

    def incident_services(self) -> frozenset[str]:
        """The services of its incident sources: an incident on one belongs to the workflow."""
        return frozenset(s for c in self.incident_sources() for s in c.services)

    def escalation_policies(self) -> frozenset[str]:
        """The escalation policies its incident sources declare (routing by them is
        authorized)."""
        return frozenset(p for c in self.incident_sources() for p in c.escalation_policies)


def _check_source_fields() -> None:
    """Each source has its identity field and configuration block, of a class of its kind."""
    expected = {TICKET: TicketSource, INCIDENT: IncidentSource}
    for source in SOURCES:
        for model in (Person, Automation, Sources):
            if source.name not in model.model_fields:
                raise TypeError(f"{model.__name__} lacks a field for source '{source.name}'")
        annotation = Sources.model_fields[source.name].annotation
        config = next((c for c in get_args(annotation) if isinstance(c, type)), None)
        if config is None or not issubclass(config, expected[source.kind]):
            raise TypeError(
                f"Sources.{source.name} must be a {expected[source.kind].__name__} "
                f"(source '{source.name}' is a {source.kind} source)"
            )


_check_source_fields()


class Stage(_Model):
    id: Text
    owner: str | None = None
    jira_statuses: list[Text] = []
    assignees: list[str] = []
    pagerduty: bool = False
    """The stage an incident is in (SPEC §4); the key is `INCIDENT_STAGE_KEY` for every
    incident source. Read it as `is_incident_stage`."""
    terminal: bool = False

    @property
    def is_incident_stage(self) -> bool:
        """Incidents are in this stage (marked `pagerduty: true`)."""
        return self.pagerduty


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

    slack_webhook: SlackSecret | None = None
    """`env:SLACK_*`: never a variable of another channel or of the product itself."""
    pagerduty_routing_key: PagerDutySecret | None = None
    """`env:PD_*` or `env:PAGERDUTY_ROUTING_*`."""
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

    def incident_stage(self) -> Stage | None:
        """The stage an incident is in: the one marked `pagerduty: true`."""
        return next((stage for stage in self.stages if stage.is_incident_stage), None)

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


def _monday(day: date) -> date:
    if day.weekday() != 0:
        raise ValueError(
            f"{day.isoformat()} is a {day.strftime('%A')}: a reset starts on a Monday "
            "(weeks 1 to 4 follow from it)"
        )
    return day


class Reset(_Model):
    """The 30-day reset under way (SPEC §12): its focus workflow and the Monday it started.

    `started` is a day of the registry's time zone; week N of the reset runs from
    `started + 7(N-1)` to the Sunday six days later. That the workflow exists is checked in
    `validate.py`, with the other cross-references."""

    workflow: Text
    started: Annotated[date, AfterValidator(_monday)]


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
    reset: Reset | None = None
    """The 30-day reset under way, if any (SPEC §12)."""
    next: Text | None = None
    """Week 4 of the reset: the workflow to focus on next (a workflow id)."""

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
    def _people_by_account(self) -> dict[tuple[str, str], Person]:
        return {
            (source, account): p
            for p in self.people.values()
            for source, account in p.accounts().items()
        }

    @cached_property
    def _automation_by_account(self) -> dict[tuple[str, str], Automation]:
        return {
            (source, account): a
            for a in self.automation
            for source, account in a.accounts().items()
        }

    def person_by(self, source: str, account_id: str) -> Person | None:
        """The person whose account in `source` is `account_id`, or None."""
        return self._people_by_account.get((source, account_id))

    def automation_by(self, source: str, account_id: str) -> Automation | None:
        """The automation whose account in `source` is `account_id`, or None."""
        return self._automation_by_account.get((source, account_id))

    def delegations_in_force(self, on: date, workflow: str | None = None) -> list[Delegation]:
        """Delegations covering the day `on` (both ends inclusive), optionally for one workflow."""
        return [
            d
            for d in self.delegations
            if d.starts <= on <= d.ends and (workflow is None or d.workflow == workflow)
        ]
