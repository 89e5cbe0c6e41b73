"""Thresholds, risk reviews and the recommended decision (SPEC §5).

Choices where the SPEC is silent:

- A value exactly at `min` or `max` is not a breach; a None value (not measurable that week)
  never breaches; a metric without a threshold never breaches; a week without data has no
  breaches at all (its zeros are not measurements).
- "When any metric breaches for `consecutive_weeks` weeks in a row" is read as: some metric,
  the same one, breaches in each of `consecutive_weeks` consecutive ISO weeks (a gap in the
  scores given breaks the run). The review lists the metrics whose run reached the length,
  not every metric that breached that week. With `consecutive_weeks: 1` both are the same.
- A review opens only for a week that has ended at `opened_at`: a week in progress always
  looks short of its throughput minimum. It opens for every qualifying week in the scores
  given (the caller chooses which weeks to consider), once per workflow and week whatever
  the status of the existing review for that week.
- `due` is the day `opened_at` falls on in the registry time zone plus `risk_review_due_days`.
- `stop`: a review that is not closed (open or acknowledged), for week R, and the workflow
  has breached (any metric) in every week from R up to the scored week, at least 3 weeks
  counting both. Weeks missing from the history break the run. Reviews carry no closing
  date, so a past week re-scored after its review closed no longer shows `stop`.
- `pause` needs the breach to be above `max`: `value ≥ 2 × max`, or `value ≥ 2` where `max`
  is 0 (or below). A metric with only `min` never pauses.
- Order of precedence: stop, pause, stabilize, continue.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta

from rules import metrics
from rules.facts import ReviewState, WeekScore
from rules.metrics import METRIC_NAMES, Value, plain_number
from rules.registry import Registry, Threshold, UnknownWorkflowError, Workflow
from rules.weeks import monday, week_bounds, weeks_between

STOP_AFTER_WEEKS = 3
"""A risk review open with breaches for this many consecutive weeks recommends `stop`."""

PAUSE_FACTOR = 2
"""`pause` when unauthorized changes or the exception rate reach this multiple of their max."""

PAUSE_METRICS = ("unauthorized_changes", "exception_rate")
"""The metrics whose 2× breach pauses, in the order the `pause` sentence lists them. A policy
(SPEC §5 "default policy, configurable"), not part of what a metric is, so it stays here; each
must be a metric where too high is bad (`Direction.MAX`), since the rule reads `max`."""

CLOSED = "closed"


def workflow_of(registry: Registry, workflow_id: str) -> Workflow:
    workflow = registry.workflows.get(workflow_id)
    if workflow is None:
        known = ", ".join(sorted(registry.workflows)) or "none"
        raise UnknownWorkflowError(f"unknown workflow '{workflow_id}' (known: {known})")
    return workflow


def review_id(workflow_id: str, week: str) -> str:
    return f"{workflow_id}-{week}"


def is_breach(threshold: Threshold, value: Value) -> bool:
    """Strictly below `min` or strictly above `max`; None never breaches."""
    if value is None:
        return False
    if threshold.min is not None and value < threshold.min:
        return True
    return threshold.max is not None and value > threshold.max


def breaches(workflow: Workflow, values: Mapping[str, Value]) -> tuple[str, ...]:
    """Names of the metrics breaching the workflow's thresholds, in table order."""
    thresholds = workflow.scorecard.thresholds
    return tuple(
        metric
        for metric in METRIC_NAMES
        if metric in thresholds and is_breach(thresholds[metric], values.get(metric))
    )


def reviews_to_open(
    registry: Registry,
    workflow_id: str,
    scores: Sequence[WeekScore],
    existing: Sequence[ReviewState],
    opened_at: datetime,
) -> list[ReviewState]:
    """New risk reviews for the weeks where a metric has breached `consecutive_weeks` weeks in
    a row; never one for a workflow and week that already has one."""
    workflow = workflow_of(registry, workflow_id)
    if opened_at.tzinfo is None or opened_at.utcoffset() is None:
        raise ValueError("opened_at must be an aware datetime")
    tz = registry.tz
    needed = workflow.scorecard.consecutive_weeks
    taken = {r.id for r in existing} | {review_id(r.workflow, r.week) for r in existing}
    due = opened_at.astimezone(tz).date() + timedelta(days=workflow.risk_review_due_days)
    opened: list[ReviewState] = []
    runs: dict[str, int] = {}
    previous: date | None = None
    for score in _chronological(workflow_id, scores):
        start = monday(score.week)
        if previous is not None and start - previous != timedelta(weeks=1):
            runs = {}
        previous = start
        runs = {metric: runs.get(metric, 0) + 1 for metric in score.breaches}
        triggered = tuple(metric for metric in METRIC_NAMES if runs.get(metric, 0) >= needed)
        rid = review_id(workflow_id, score.week)
        if not triggered or rid in taken or week_bounds(score.week, tz)[1] > opened_at:
            continue
        taken.add(rid)
        opened.append(
            ReviewState(
                id=rid,
                workflow=workflow_id,
                week=score.week,
                owner=workflow.risk_owner,
                status="open",
                opened_at=opened_at,
                due=due,
                breaches=triggered,
            )
        )
    return opened


def _chronological(workflow_id: str, scores: Sequence[WeekScore]) -> list[WeekScore]:
    return sorted((s for s in scores if s.workflow == workflow_id), key=lambda s: monday(s.week))


def recommend(
    registry: Registry,
    workflow_id: str,
    score: WeekScore,
    history: Sequence[WeekScore],
    reviews: Sequence[ReviewState],
) -> tuple[str, str]:
    """(decision, the rule sentence that produced it) under the default policy of SPEC §5.

    `history` holds the workflow's earlier weeks (any order; `score` overrides its own week);
    the `stop` rule reads their breaches.
    """
    workflow = workflow_of(registry, workflow_id)
    stop = _stop_rule(workflow_id, score, history, reviews)
    if stop is not None:
        return "stop", stop
    if not score.has_data:
        return "continue", f"continue: no data for {score.week}, so nothing to judge"
    values = metrics.values(score)
    thresholds = workflow.scorecard.thresholds
    pauses = [
        reason
        for metric in PAUSE_METRICS
        if metric in score.breaches and metric in thresholds
        for reason in [_pause_reason(metric, thresholds[metric], values[metric])]
        if reason is not None
    ]
    if pauses:
        return "pause", "pause: " + "; ".join(pauses)
    if score.breaches:
        parts = [_breach_reason(m, thresholds.get(m), values.get(m)) for m in score.breaches]
        return "stabilize", "stabilize: " + "; ".join(parts)
    return "continue", "continue: no metric breaches its threshold"


def _stop_rule(
    workflow_id: str,
    score: WeekScore,
    history: Sequence[WeekScore],
    reviews: Sequence[ReviewState],
) -> str | None:
    current = monday(score.week)
    candidates = sorted(
        (
            r
            for r in reviews
            if r.workflow == workflow_id and r.status != CLOSED and monday(r.week) <= current
        ),
        key=lambda r: monday(r.week),
    )
    if not candidates:
        return None
    breaching = {s.week for s in history if s.workflow == workflow_id and s.breaches}
    breaching.discard(score.week)
    if score.breaches:
        breaching.add(score.week)
    for review in candidates:  # the oldest first: the longest run
        run = weeks_between(review.week, score.week)
        if len(run) >= STOP_AFTER_WEEKS and all(week in breaching for week in run):
            return (
                f"stop: risk review {review.id} has stayed open with breaches for "
                f"{len(run)} consecutive weeks ({review.week} to {score.week})"
            )
    return None


def _pause_reason(metric: str, threshold: Threshold, value: Value) -> str | None:
    if value is None or threshold.max is None:
        return None
    bar = PAUSE_FACTOR * threshold.max if threshold.max > 0 else PAUSE_FACTOR
    if value < bar:
        return None
    return (
        f"{metric} is {plain_number(value)}, at least twice its limit of "
        f"{plain_number(threshold.max)} (≥ {plain_number(bar)})"
    )


def _breach_reason(metric: str, threshold: Threshold | None, value: Value) -> str:
    if threshold is not None and value is not None:
        if threshold.min is not None and value < threshold.min:
            return (f"{metric} is {plain_number(value)}, below its minimum of "
                    f"{plain_number(threshold.min)}")
        if threshold.max is not None and value > threshold.max:
            return (f"{metric} is {plain_number(value)}, above its maximum of "
                    f"{plain_number(threshold.max)}")
    return f"{metric} breaches its threshold"


def open_reviews(reviews: Collection[ReviewState], workflow_id: str) -> list[ReviewState]:
    """The workflow's reviews that are not closed (open or acknowledged)."""
    return [r for r in reviews if r.workflow == workflow_id and r.status != CLOSED]
