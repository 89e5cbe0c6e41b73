"""Evaluation: stored history → verdicts, findings, scorecards, risk reviews and alerts.

Everything one evaluation decides is written in ONE transaction, alerts included (the outbox
rows), so a crash leaves the previous evaluation whole and no alert is enqueued for a finding
that was not stored. Incremental by default: only items the sync wrote since the last
evaluation are re-judged, and only the weeks they touch are re-scored (with the weeks before
them that consecutive-week rules and the quality trend look back on). A registry edit, or
`--full`, re-evaluates everything.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from rules import findings as finding_rules
from rules.authority import judge_for
from rules.facts import ItemHistory, ReviewState, Verdict, WeekScore
from rules.registry import LoadedRegistry, Registry
from rules.reviews import reviews_to_open
from rules.routing import late_review_alerts, risk_review_alerts, unauthorized_change_alerts
from rules.scorecard import score_weeks
from rules.weeks import shift_week, week_bounds, week_of, weeks_between
from storage import evaluations as store
from storage import repo
from storage.engine import session_scope
from storage.histories import Scope, load_histories

CURSOR = ("evaluate", "all")
OVERLAP = timedelta(minutes=10)
LOOKBACK_WEEKS = 4  # the quality trend compares with the 4 previous weeks


@dataclass
class EvaluationReport:
    full: bool
    items: int = 0
    not_judged: int = 0  # items in no workflow: stored, not judged
    events_not_judged: int = 0
    verdicts: int = 0
    unauthorized: int = 0
    findings: Counter[str] = field(default_factory=Counter)
    new_findings: Counter[str] = field(default_factory=Counter)
    scorecards: int = 0
    reviews_opened: list[str] = field(default_factory=list)
    alerts: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.new_findings.items())) or "none"
        return (
            f"evaluated {self.items} items ({'full' if self.full else 'incremental'}): "
            f"{self.verdicts} ownership changes judged, {self.unauthorized} unauthorized; "
            f"new findings: {kinds}; {self.scorecards} scorecards; "
            f"{len(self.reviews_opened)} risk reviews opened; {self.alerts} alerts queued; "
            f"{self.not_judged} items in no workflow ({self.events_not_judged} changes not "
            f"judged); {self.seconds:.1f} s"
        )


def evaluate(
    factory: sessionmaker[Session],
    loaded: LoadedRegistry,
    *,
    full: bool = False,
    now: datetime | None = None,
    jira_browse_base: str | None = None,
) -> EvaluationReport:
    """Evaluate what changed (or everything) as of `now` (default: the current time)."""
    began = time.monotonic()
    started = datetime.now(UTC)
    now = now or started
    registry = loaded.registry
    services = _services(registry)
    with session_scope(factory) as session:
        last, details = repo.get_cursor_with_details(session, *CURSOR)
        full = full or last is None or details.get("registry") != loaded.content_hash
        report = EvaluationReport(full=full)
        histories, weeks_from = _histories(session, registry, services, full, last, now,
                                           jira_browse_base)
        _evaluate(session, registry, histories, weeks_from, now, report)
        repo.set_cursor(session, *CURSOR, started, details={"registry": loaded.content_hash})
    report.seconds = time.monotonic() - began
    return report


def _services(registry: Registry) -> dict[str, str]:
    return {
        service: workflow_id
        for workflow_id, workflow in registry.workflows.items()
        if workflow.sources.pagerduty is not None
        for service in workflow.sources.pagerduty.services
    }


def _histories(
    session: Session,
    registry: Registry,
    services: dict[str, str],
    full: bool,
    last: datetime | None,
    now: datetime,
    browse: str | None,
) -> tuple[list[ItemHistory], str | None]:
    """The items to evaluate and the first week to re-score (None: nothing changed)."""
    if full or last is None:
        histories = list(load_histories(session, services, Scope(jira_browse_base=browse)))
        first = _first_week(registry, histories)
        return histories, first
    changed = list(load_histories(session, services,
                                  Scope(changed_since=last - OVERLAP, jira_browse_base=browse)))
    if not changed:
        return [], None
    affected = min(_earliest_affected(registry, item) for item in changed)
    first = shift_week(week_of(affected, registry.tz), -_max_consecutive(registry))
    oldest_open = [r.week for r in store.review_states(session) if r.status != "closed"]
    window = min([first, *oldest_open])
    active_since = week_bounds(shift_week(window, -LOOKBACK_WEEKS), registry.tz)[0]
    scope = Scope(active_since=active_since, jira_browse_base=browse)
    return list(load_histories(session, services, scope)), first


def _earliest_affected(registry: Registry, item: ItemHistory) -> datetime:
    """The earliest moment a sync of this item can have changed a metric.

    A Jira issue changes at its newest activity, or — a reopen lowers the quality rate of the
    week it was first resolved — at its first terminal entry. An incident's log entries may
    arrive late, but incidents are short-lived: from its creation.
    """
    if item.source != "jira" or item.workflow is None:
        return item.created
    newest = max([item.created, *(c.at for c in item.status_changes[-1:]),
                  *(c.at for c in item.ownership_changes[-1:])])
    terminal = registry.workflows[item.workflow].terminal_statuses()
    done = next((c.at for c in item.status_changes if c.to_status in terminal), None)
    return min(newest, done) if done is not None else newest


def _max_consecutive(registry: Registry) -> int:
    return max((w.scorecard.consecutive_weeks for w in registry.workflows.values()), default=1)


def _first_week(registry: Registry, histories: Sequence[ItemHistory]) -> str | None:
    starts = [h.created for h in histories if h.workflow is not None]
    return week_of(min(starts), registry.tz) if starts else None


def _evaluate(
    session: Session,
    registry: Registry,
    histories: list[ItemHistory],
    first_week: str | None,
    now: datetime,
    report: EvaluationReport,
) -> None:
    judged = [h for h in histories if h.workflow is not None]
    report.items = len(judged)
    report.not_judged = len(histories) - len(judged)
    report.events_not_judged = sum(len(h.ownership_changes) for h in histories
                                   if h.workflow is None)
    verdicts = judge_for(registry).judge_items(judged)
    report.verdicts = len(verdicts)
    report.unauthorized = sum(1 for v in verdicts if not v.authorized)
    alerts = _save_verdicts(session, registry, verdicts, now, report)
    reviews = store.review_states(session)
    alerts += _save_findings(session, registry, judged, histories, verdicts, reviews, now, report)
    if first_week is not None:
        alerts += _score(session, registry, judged, verdicts, reviews, first_week, now, report)
    report.alerts = store.enqueue(session, alerts)


def _save_verdicts(
    session: Session, registry: Registry, verdicts: list[Verdict], now: datetime,
    report: EvaluationReport,
) -> list[dict[str, object]]:
    unauthorized = [v.key for v in verdicts if not v.authorized]
    known = store.existing_keys(session, unauthorized)
    store.drop_stale_verdicts(session, verdicts)
    store.save_findings(session, [store.verdict_row(v, now) for v in verdicts])
    report.findings["unauthorized_change"] += len(unauthorized)
    fresh = [v for v in verdicts if not v.authorized and v.key not in known]
    report.new_findings["unauthorized_change"] += len(fresh)
    return [a.row() for v in fresh for a in unauthorized_change_alerts(registry, v)]


def _save_findings(
    session: Session,
    registry: Registry,
    judged: list[ItemHistory],
    histories: list[ItemHistory],
    verdicts: list[Verdict],
    reviews: list[ReviewState],
    now: datetime,
    report: EvaluationReport,
) -> list[dict[str, object]]:
    found = [
        *finding_rules.unowned_items(registry, judged, now, include_ended=True),
        *finding_rules.ownership_churn(registry, judged),
        *finding_rules.late_risk_reviews(reviews, now, tz=registry.tz),
        *finding_rules.registry_gaps(registry, histories, verdicts, now=now),
    ]
    known = store.existing_keys(session, [f.key for f in found])
    store.save_findings(session, [store.finding_row(f, now) for f in found])
    by_id = {r.id: r for r in reviews}
    alerts: list[dict[str, object]] = []
    for finding in found:
        report.findings[finding.type] += 1
        if finding.key in known:
            continue
        report.new_findings[finding.type] += 1
        review = by_id.get(str(finding.details.get("review", "")))
        if finding.type == "late_risk_review" and review is not None:
            alerts += [a.row() for a in late_review_alerts(registry, finding, review)]
    return alerts


def _score(
    session: Session,
    registry: Registry,
    judged: list[ItemHistory],
    verdicts: list[Verdict],
    reviews: list[ReviewState],
    first_week: str,
    now: datetime,
    report: EvaluationReport,
) -> list[dict[str, object]]:
    ratified = store.ratified_keys(session)
    items_by: dict[str, list[ItemHistory]] = defaultdict(list)
    for item in judged:
        items_by[str(item.workflow)].append(item)
    verdicts_by: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        verdicts_by[verdict.workflow].append(verdict)
    # Only finished weeks are scored: a week in progress always looks short of its minimums.
    weeks = weeks_between(first_week, shift_week(week_of(now, registry.tz), -1))
    alerts: list[dict[str, object]] = []
    for workflow_id in registry.workflows:
        scores: list[WeekScore] = score_weeks(
            registry, workflow_id, items_by[workflow_id], verdicts_by[workflow_id], ratified,
            weeks, reviews,
        )
        store.save_scorecards(session, scores, now)
        report.scorecards += len(scores)
        opened = reviews_to_open(registry, workflow_id, scores, reviews, now)
        for review_id in store.open_reviews(session, opened):
            review = next(r for r in opened if r.id == review_id)
            report.reviews_opened.append(review_id)
            alerts += [a.row() for a in risk_review_alerts(registry, review)]
    return alerts
