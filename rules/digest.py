"""What the weekly digest says (SPEC §7): stored verdicts in, the digest's content out.

Pure: the registry and plain facts (scores, decisions, risk reviews, findings, dead alerts)
go in, a `Digest` comes out; rendering it (HTML, text, charts, MIME) is
`accountability.digest`'s job. Text taken from Jira, PagerDuty or a leader's note arrives
already made one safe line by the caller; escaping for HTML is the templates' autoescape.

Choices where the SPEC is silent:

- "No data": a week without a stored scorecard for a workflow, or whose scorecard measured
  nothing (`has_data` False), has no values, no change and no recommendation; the digest says
  "no data" instead of showing zeros. The change from last week needs both weeks measured.
- The 8-week trend ends at the digest week and starts at the first of those weeks in which
  the workflow has data (a workflow added mid-history starts where its data starts); a week
  without data inside it is a gap (None), never a zero.
- Last week's decision: the latest decision recorded for the week before the digest week.
  "What followed" compares that week's breaches with the digest week's: cleared, still
  breaching, new.
- "No decision taken": the workflow breached in the week before the digest week and no
  decision is recorded for that week or the digest week — two weeks in which leadership had
  the breach in front of them. A breach first seen in the digest week itself is not called
  out yet: its decision is due after this digest.
- Risk reviews: those not closed for the digest week or earlier, as they stand now (the
  digest of a past week shows today's state). Overdue: still `open` (not acknowledged) after
  the end of its due day in the registry time zone, as for a `late_risk_review` finding.
- Unauthorized changes and churn: open findings (ratified ones no longer count) whose `at`
  falls in the digest week, oldest first; the first `TOP_CHANGES` are listed, with the total.
- Registry gaps: every open `registry_gap` finding (a gap stays until the registry is fixed)
  and the registry's load warnings. Dead alerts: every alert the outbox gave up on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from rules.facts import Finding, ReviewState, WeekScore
from rules.metrics import METRICS, Metric, Value, metric, plain_number
from rules.registry import Registry, Threshold, Workflow
from rules.reset import ResetTracker, reset_week, running
from rules.weeks import monday, shift_week, week_bounds, weeks_between

TREND_WEEKS: Final = 8
TOP_CHANGES: Final = 10
TOP_CHURN: Final = 10
TOP_GAPS: Final = 20
TOP_DEAD: Final = 10

UNAUTHORIZED_CHANGE: Final = "unauthorized_change"
OWNERSHIP_CHURN: Final = "ownership_churn"
REGISTRY_GAP: Final = "registry_gap"

ACTIONS: Final = ("stop", "pause", "stabilize")
"""Recommendations that ask leadership to act, most severe first."""

METRIC_LABELS: Final[Mapping[str, str]] = {m.name: m.label for m in METRICS}
"""Labels by metric name, from `rules.metrics` (for readers that hold a name)."""

METRIC_HINTS: Final[Mapping[str, str]] = {m.name: m.hint for m in METRICS}


# --- input -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A governance decision a leader recorded (`accountability decide`)."""

    workflow: str
    week: str
    decision: str
    by: str
    note: str | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class DeadAlert:
    """An alert the outbox gave up on."""

    id: int
    kind: str
    workflow: str | None
    channel: str
    recipient: str
    attempts: int
    error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DigestInputs:
    """Everything the digest of `week` reads, as of `now`.

    `scores`: the stored scorecards (any weeks; a missing week is a week without data).
    `findings`: open findings of any type (only unauthorized changes, churn and registry gaps
    are read). `registry_warnings`: the registry's load warnings, as sentences.
    """

    week: str
    now: datetime
    scores: Sequence[WeekScore] = ()
    decisions: Sequence[DecisionRecord] = ()
    reviews: Sequence[ReviewState] = ()
    findings: Sequence[Finding] = ()
    dead_alerts: Sequence[DeadAlert] = ()
    registry_warnings: Sequence[str] = ()
    reset: ResetTracker | None = None
    """The 30-day reset's checklist as of `now`, when the registry has a reset (SPEC §12)."""


# --- output ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricLine:
    """One metric of one workflow in the digest week."""

    metric: str
    label: str
    hint: str
    value: Value
    threshold: str  # e.g. "min 15", "max 0.2", "—"
    threshold_min: float | None
    threshold_max: float | None
    breached: bool
    previous: Value
    change: float | int | None
    change_text: str  # "+3", "-0.66", "no change", "no data last week", "—"
    trend: tuple[Value, ...]  # aligned with `WorkflowDigest.trend_weeks`
    trend_breached: tuple[bool, ...]
    p90: float | None = None  # the metric's spread (`Metric.spread`): decision latency only

    @property
    def text(self) -> str:
        return format_value(self.metric, self.value)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Last week's recorded decision beside what followed."""

    week: str  # the week decided on
    decision: str
    by: str
    by_name: str
    note: str | None
    recorded_at: datetime
    recommended: str | None  # what the digest recommended for that week
    breaches_before: tuple[str, ...]
    cleared: tuple[str, ...]
    still: tuple[str, ...]
    new: tuple[str, ...]
    measured: bool  # the digest week has data
    outcome: str  # a sentence


@dataclass(frozen=True, slots=True)
class WorkflowDigest:
    id: str
    name: str
    outcome_owner: str
    outcome_owner_name: str
    objective: str | None
    has_data: bool
    last_data_week: str | None
    metrics: tuple[MetricLine, ...]  # the six metrics; empty when no week of the trend has data
    breaches: tuple[str, ...]
    recommendation: str | None  # None without data
    recommendation_rule: str
    trend_weeks: tuple[str, ...]  # empty when no week of the window has data
    follow_up: FollowUp | None
    last_week_note: str | None  # no decision recorded for last week (and none was overdue)
    no_decision: str | None  # why "no decision taken" is called out (None: it is not)
    reviews_open: int

    @property
    def glance(self) -> str:
        """`6 breaches, 1 risk review open, no decision taken` (beside its recommendation)."""
        parts = [_plural(len(self.breaches), "breach", "breaches")] if self.has_data else []
        if self.reviews_open:
            parts.append(f"{_plural(self.reviews_open, 'risk review')} open")
        if self.no_decision:
            parts.append("no decision taken")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class ReviewLine:
    id: str
    workflow: str
    workflow_name: str
    week: str
    owner: str
    owner_name: str
    status: str
    due: date
    overdue: bool
    days_overdue: int
    breaches: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChangeLine:
    """An unauthorized ownership change of the week."""

    key: str
    workflow: str | None
    workflow_name: str
    item: str
    title: str | None
    url: str | None
    at: datetime
    local: str  # "Tue 10 Nov 11:20" in the registry time zone
    actor: str
    from_names: tuple[str, ...]
    to_names: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class ChurnLine:
    key: str
    workflow: str | None
    workflow_name: str
    item: str
    title: str | None
    url: str | None
    local: str
    changes: int
    owners: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GapLine:
    workflow: str | None
    reason: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class DeadAlertLine:
    id: int
    kind: str
    workflow: str | None
    channel: str
    recipient: str
    attempts: int
    error: str


@dataclass(frozen=True)
class Digest:
    organization: str
    week: str
    previous_week: str
    first_day: date
    last_day: date
    timezone: str
    generated_at: datetime
    subject: str
    workflows: tuple[WorkflowDigest, ...]
    reviews: tuple[ReviewLine, ...]
    changes: tuple[ChangeLine, ...]
    changes_total: int
    churn: tuple[ChurnLine, ...]
    churn_total: int
    gaps: tuple[GapLine, ...]
    gaps_total: int
    dead_alerts: tuple[DeadAlertLine, ...]
    dead_total: int
    counts: dict[str, int] = field(default_factory=dict)
    reset: ResetTracker | None = None
    """The reset's checklist, only while the reset runs in the digest week (SPEC §12)."""
    reset_week: int | None = None
    """Which reset week (1-4) the digest week is."""

    @property
    def summary(self) -> str:
        """The subject without its "Accountability digest W:" prefix."""
        return self.subject.partition(": ")[2]

    @property
    def no_decision(self) -> tuple[WorkflowDigest, ...]:
        return tuple(w for w in self.workflows if w.no_decision)

    @property
    def overdue(self) -> int:
        return sum(1 for r in self.reviews if r.overdue)


# --- formatting (shared by every rendering, so the HTML, text and artifact agree) ------------


def format_value(metric_name: str, value: Value) -> str:
    """`Metric.format` by name, for templates and charts, which hold a `MetricLine.metric`."""
    return metric(metric_name).format(value)


def format_change(metric_name: str, change: Value) -> str:
    """`Metric.format_change` by name."""
    return metric(metric_name).format_change(change)


def threshold_text(threshold: Threshold | None) -> str:
    if threshold is None:
        return "—"
    if threshold.min is not None and threshold.max is not None:
        return f"{plain_number(threshold.min)} to {plain_number(threshold.max)}"
    if threshold.min is not None:
        return f"min {plain_number(threshold.min)}"
    return f"max {plain_number(threshold.max)}" if threshold.max is not None else "—"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _names(items: Iterable[str]) -> str:
    return ", ".join(items)


# --- building --------------------------------------------------------------------------------


def build_digest(registry: Registry, inputs: DigestInputs) -> Digest:
    """The digest of `inputs.week`: per workflow, then reviews, changes, churn, gaps, alerts."""
    week = inputs.week
    monday(week)  # ValueError for a malformed week, before anything is built
    if inputs.now.tzinfo is None or inputs.now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    tz = registry.tz
    start, end = week_bounds(week, tz)
    reviews = _reviews(registry, inputs.reviews, week, inputs.now)
    workflows = tuple(
        _workflow(registry, workflow, inputs, reviews) for workflow in registry.workflows.values()
    )
    changes = _week_findings(inputs.findings, UNAUTHORIZED_CHANGE, start, end)
    churn = _week_findings(inputs.findings, OWNERSHIP_CHURN, start, end)
    gaps = [
        GapLine(f.workflow, f.reason, f.key)
        for f in sorted(
            (f for f in inputs.findings if f.type == REGISTRY_GAP),
            key=lambda f: (f.workflow or "", f.reason),
        )
    ] + [GapLine(None, warning) for warning in inputs.registry_warnings]
    dead = sorted(inputs.dead_alerts, key=lambda a: (a.created_at, a.id), reverse=True)
    counts = {action: sum(1 for w in workflows if w.recommendation == action)
              for action in (*ACTIONS, "continue")}
    counts["no_data"] = sum(1 for w in workflows if not w.has_data)
    counts["no_decision"] = sum(1 for w in workflows if w.no_decision)
    counts["reviews_open"] = len(reviews)
    first_day, last_day = monday(week), monday(week) + timedelta(days=6)
    shown = (inputs.reset if inputs.reset is not None
             and running(registry.reset, first_day, last_day) else None)
    return Digest(
        organization=registry.organization,
        week=week,
        previous_week=shift_week(week, -1),
        first_day=monday(week),
        last_day=monday(week) + timedelta(days=6),
        timezone=registry.timezone,
        generated_at=inputs.now,
        subject=subject_line(week, workflows, len(reviews)),
        workflows=workflows,
        reviews=tuple(reviews),
        changes=tuple(_change_line(registry, f) for f in changes[:TOP_CHANGES]),
        changes_total=len(changes),
        churn=tuple(_churn_line(registry, f) for f in churn[:TOP_CHURN]),
        churn_total=len(churn),
        gaps=tuple(gaps[:TOP_GAPS]),
        gaps_total=len(gaps),
        dead_alerts=tuple(_dead_line(a) for a in dead[:TOP_DEAD]),
        dead_total=len(dead),
        counts=counts,
        reset=shown,
        reset_week=reset_week(shown.started, first_day) if shown is not None else None,
    )


def subject_line(week: str, workflows: Sequence[WorkflowDigest], reviews_open: int) -> str:
    """`Accountability digest 2026-W48: 1 workflow to pause, 2 risk reviews open`."""
    parts = []
    for action in ACTIONS:
        n = sum(1 for w in workflows if w.recommendation == action)
        if n:
            parts.append(f"{_plural(n, 'workflow')} to {action}")
    measured = [w for w in workflows if w.has_data]
    if not parts and measured:
        every = "all " if len(measured) == len(workflows) and len(measured) > 1 else ""
        verb = "continues" if len(measured) == 1 else "continue"
        parts.append(f"{every}{_plural(len(measured), 'workflow')} {verb}")
    no_data = len(workflows) - len(measured)
    if no_data:
        parts.append(f"no data for {_plural(no_data, 'workflow')}")
    if not workflows:
        parts.append("no workflows in the registry")
    undecided = sum(1 for w in workflows if w.no_decision)
    if undecided:
        parts.append(f"{undecided} with no decision taken")
    if reviews_open:
        parts.append(f"{_plural(reviews_open, 'risk review')} open")
    return f"Accountability digest {week}: {', '.join(parts)}"


def _workflow(
    registry: Registry,
    workflow: Workflow,
    inputs: DigestInputs,
    reviews: Sequence[ReviewLine],
) -> WorkflowDigest:
    week = inputs.week
    previous_week = shift_week(week, -1)
    scores = {s.week: s for s in inputs.scores if s.workflow == workflow.id and s.has_data}
    current, previous = scores.get(week), scores.get(previous_week)
    window = weeks_between(shift_week(week, -(TREND_WEEKS - 1)), week)
    first = next((i for i, w in enumerate(window) if w in scores), None)
    trend_weeks = tuple(window[first:]) if first is not None else ()
    thresholds = workflow.scorecard.thresholds
    metrics = tuple(
        _metric_line(row, thresholds.get(row.name), current, previous, previous_week,
                     [scores.get(w) for w in trend_weeks])
        for row in METRICS
    ) if trend_weeks else ()
    earlier = [w for w in scores if monday(w) <= monday(week)]
    last_data = max(earlier, key=monday) if earlier else None
    decision = _last_decision(inputs.decisions, workflow.id, previous_week)
    follow_up = (_follow_up(registry, decision, previous, current)
                 if decision is not None else None)
    no_decision = _no_decision(workflow, inputs.decisions, previous, week, previous_week)
    return WorkflowDigest(
        id=workflow.id,
        name=workflow.name,
        outcome_owner=workflow.outcome.owner,
        outcome_owner_name=person_name(registry, workflow.outcome.owner),
        objective=workflow.outcome.objective,
        has_data=current is not None,
        last_data_week=last_data,
        metrics=metrics,
        breaches=tuple(current.breaches) if current is not None else (),
        recommendation=current.recommendation if current is not None else None,
        recommendation_rule=(current.recommendation_rule if current is not None
                             else f"no recommendation: no data for {week}"),
        trend_weeks=trend_weeks,
        follow_up=follow_up,
        last_week_note=(None if decision is not None or no_decision is not None
                        else _no_decision_note(previous, previous_week)),
        no_decision=no_decision,
        reviews_open=sum(1 for r in reviews if r.workflow == workflow.id),
    )


def _metric_line(
    row: Metric,
    threshold: Threshold | None,
    current: WeekScore | None,
    previous: WeekScore | None,
    previous_week: str,
    trend: Sequence[WeekScore | None],
) -> MetricLine:
    """`current` None: the week has no data; the line only carries the trend (for the chart)."""
    metric = row.name
    value = row.read(current) if current is not None else None
    before = row.read(previous) if previous is not None else None
    change: float | int | None = None
    if value is not None and before is not None:
        change = value - before
    if current is None:
        change_text = "no data"
    elif previous is None:
        change_text = f"no data in {previous_week}"
    elif value is None or before is None:
        change_text = "—"
    else:
        change_text = row.format_change(change)
    return MetricLine(
        metric=metric,
        label=row.label,
        hint=row.hint,
        value=value,
        threshold=threshold_text(threshold),
        threshold_min=threshold.min if threshold is not None else None,
        threshold_max=threshold.max if threshold is not None else None,
        breached=current is not None and metric in current.breaches,
        previous=before,
        change=change,
        change_text=change_text,
        trend=tuple(row.read(s) if s is not None else None for s in trend),
        trend_breached=tuple(s is not None and metric in s.breaches for s in trend),
        p90=row.spread.read(current) if current is not None and row.spread else None,
    )


# --- governance ------------------------------------------------------------------------------


def _last_decision(
    decisions: Sequence[DecisionRecord], workflow: str, week: str
) -> DecisionRecord | None:
    matching = [d for d in decisions if d.workflow == workflow and d.week == week]
    return max(matching, key=lambda d: d.recorded_at) if matching else None


def _follow_up(
    registry: Registry,
    decision: DecisionRecord,
    before: WeekScore | None,
    after: WeekScore | None,
) -> FollowUp:
    breached = tuple(before.breaches) if before is not None else ()
    following = shift_week(decision.week, 1)
    if after is None:
        cleared: tuple[str, ...] = ()
        still: tuple[str, ...] = ()
        new: tuple[str, ...] = ()
        outcome = f"No data for {following}, so nothing to compare yet."
    else:
        now_breaching = set(after.breaches)
        cleared = tuple(m for m in breached if m not in now_breaching)
        still = tuple(m for m in breached if m in now_breaching)
        new = tuple(m for m in after.breaches if m not in breached)
        outcome = _outcome(decision.week, following, breached, cleared, still, new)
    return FollowUp(
        week=decision.week,
        decision=decision.decision,
        by=decision.by,
        by_name=person_name(registry, decision.by),
        note=decision.note,
        recorded_at=decision.recorded_at,
        recommended=before.recommendation if before is not None else None,
        breaches_before=breached,
        cleared=cleared,
        still=still,
        new=new,
        measured=after is not None,
        outcome=outcome,
    )


def _outcome(
    week: str,
    following: str,
    breached: Sequence[str],
    cleared: Sequence[str],
    still: Sequence[str],
    new: Sequence[str],
) -> str:
    if not breached:
        sentence = f"{week} had no breaches"
        return (f"{sentence}; {following} breaches {_names(new)}." if new
                else f"{sentence}, and neither has {following}.")
    if not still:
        sentence = (f"All {len(breached)} breaches of {week} cleared in {following}"
                    if len(breached) > 1 else f"The breach of {week} ({breached[0]}) cleared "
                                              f"in {following}")
        sentence += f" ({_names(cleared)})" if len(breached) > 1 else ""
    else:
        sentence = (f"{len(cleared)} of {_plural(len(breached), 'breach', 'breaches')} of "
                    f"{week} cleared in {following}"
                    + (f" ({_names(cleared)})" if cleared else "")
                    + f"; still breaching: {_names(still)}")
    if new:
        sentence += f"; new: {_names(new)}"
    return sentence + "."


def _no_decision_note(previous: WeekScore | None, previous_week: str) -> str | None:
    if previous is None:
        return None
    if not previous.breaches:
        return f"No decision recorded for {previous_week} (none needed: no breaches)."
    return (f"No decision recorded for {previous_week}, which breached "
            f"{_names(previous.breaches)}.")


def _no_decision(
    workflow: Workflow,
    decisions: Sequence[DecisionRecord],
    previous: WeekScore | None,
    week: str,
    previous_week: str,
) -> str | None:
    if previous is None or not previous.breaches:
        return None
    if any(d.workflow == workflow.id and d.week in (previous_week, week) for d in decisions):
        return None
    return (
        f"{workflow.name} breached {_names(previous.breaches)} in "
        f"{previous_week} (recommended: {previous.recommendation}), and no decision has been "
        f"recorded for {previous_week} or {week}."
    )


# --- reviews, changes, churn, alerts ---------------------------------------------------------


def _reviews(
    registry: Registry, reviews: Sequence[ReviewState], week: str, now: datetime
) -> list[ReviewLine]:
    tz = registry.tz
    current = monday(week)
    lines = []
    for review in reviews:
        if review.status == "closed" or monday(review.week) > current:
            continue
        deadline = datetime.combine(review.due + timedelta(days=1), time(), tz).astimezone(UTC)
        overdue = review.status == "open" and now >= deadline
        workflow = registry.workflows.get(review.workflow)
        lines.append(ReviewLine(
            id=review.id,
            workflow=review.workflow,
            workflow_name=workflow.name if workflow is not None else review.workflow,
            week=review.week,
            owner=review.owner,
            owner_name=person_name(registry, review.owner),
            status=review.status,
            due=review.due,
            overdue=overdue,
            days_overdue=max((now.astimezone(tz).date() - review.due).days, 0) if overdue else 0,
            breaches=tuple(review.breaches),
        ))
    return sorted(lines, key=lambda r: (not r.overdue, r.due, r.id))


def _week_findings(
    findings: Sequence[Finding], kind: str, start: datetime, end: datetime
) -> list[Finding]:
    return sorted((f for f in findings if f.type == kind and start <= f.at < end),
                  key=lambda f: (f.at, f.key))


def _text(details: Mapping[str, object], name: str) -> str | None:
    value = details.get(name)
    return value if isinstance(value, str) and value else None


def _local(registry: Registry, at: datetime) -> str:
    return at.astimezone(registry.tz).strftime("%a %d %b %H:%M")


def _workflow_name(registry: Registry, workflow: str | None) -> str:
    if workflow is None:
        return "—"
    found = registry.workflows.get(workflow)
    return found.name if found is not None else workflow


def _change_line(registry: Registry, finding: Finding) -> ChangeLine:
    details = finding.details
    return ChangeLine(
        key=finding.key,
        workflow=finding.workflow,
        workflow_name=_workflow_name(registry, finding.workflow),
        item=finding.item or "?",
        title=_text(details, "title"),
        url=_text(details, "url"),
        at=finding.at,
        local=_local(registry, finding.at),
        actor=person_name(registry, finding.actor) if finding.actor else "?",
        from_names=tuple(person_name(registry, p) for p in finding.from_ids),
        to_names=tuple(person_name(registry, p) for p in finding.to_ids),
        reason=finding.reason,
    )


def _churn_line(registry: Registry, finding: Finding) -> ChurnLine:
    details = finding.details
    owners = details.get("owners")
    changes = details.get("changes")
    return ChurnLine(
        key=finding.key,
        workflow=finding.workflow,
        workflow_name=_workflow_name(registry, finding.workflow),
        item=finding.item or "?",
        title=_text(details, "title"),
        url=_text(details, "url"),
        local=_local(registry, finding.at),
        changes=changes if isinstance(changes, int) else 0,
        owners=tuple(str(o) for o in owners) if isinstance(owners, list) else (),
    )


def _dead_line(alert: DeadAlert) -> DeadAlertLine:
    return DeadAlertLine(id=alert.id, kind=alert.kind, workflow=alert.workflow,
                         channel=alert.channel, recipient=alert.recipient,
                         attempts=alert.attempts, error=alert.error or "no error recorded")


def person_name(registry: Registry, ref: str) -> str:
    """A registry person's name; anything else (automation, vendor reference) as it is."""
    person = registry.people.get(ref)
    return person.name if person is not None else ref
