"""Evaluation: stored history → verdicts, findings, scorecards, risk reviews and alerts.

Everything one evaluation decides is written in ONE transaction, alerts included (the outbox
rows), so a crash leaves the previous evaluation whole and no alert is enqueued for a finding
that was not stored. Incremental by default: only items the sync wrote since the last
evaluation are re-judged, and only the weeks they touch are re-scored (with the weeks before
them that consecutive-week rules and the quality trend look back on). A registry edit, or
`--full`, re-evaluates everything.
"""

from __future__ import annotations

import gc
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock, system_clock
from rules import findings as finding_rules
from rules.authority import judge_for
from rules.facts import ItemHistory, ReviewState, Verdict, WeekScore
from rules.registry import LoadedRegistry, Registry
from rules.reviews import reviews_to_open
from rules.routing import late_review_alerts, risk_review_alerts, unauthorized_change_alerts
from rules.scorecard import score_weeks, stored_quality_known
from rules.weeks import shift_week, week_bounds, week_of, weeks_between
from storage import evaluations as store
from storage import outbox as alert_outbox
from storage import repo
from storage.engine import session_scope
from storage.histories import NewRecords, Scope, load_histories, new_records, workflow_services

CURSOR = store.EVALUATION_CURSOR
OVERLAP = timedelta(minutes=10)
LOOKBACK_WEEKS = 4  # the quality trend compares with the 4 previous weeks
ROWS_AT_ONCE = 10_000  # finding rows built and written at a time
ALERTS_AT_ONCE = 10_000  # outbox rows held before they are written
T = TypeVar("T")


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

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {
            "findings": dict(self.findings), "new_findings": dict(self.new_findings),
            "reviews_opened": list(self.reviews_opened), "line": self.line()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationReport:
        """The report `as_dict` gave, back (a Prefect flow's result crosses as a dict)."""
        known = {f.name for f in fields(cls)}
        report = cls(**{k: v for k, v in data.items() if k in known})
        report.findings, report.new_findings = (Counter(data.get("findings", {})),
                                                Counter(data.get("new_findings", {})))
        return report

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
    clock: Clock = system_clock,
) -> EvaluationReport:
    """Evaluate what changed (or everything) as of `now` (default: the clock's time).

    `clock` is the bookkeeping clock: when the evaluation started (its cursor, against which
    the sync's write stamps are compared) and when its alerts fall due.
    """
    with _no_cyclic_gc():
        return _evaluate_all(factory, loaded, full=full, now=now,
                             jira_browse_base=jira_browse_base, clock=clock)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for the evaluation.

    A full evaluation holds millions of long-lived objects (histories, changes, rows) and
    creates no cycles worth collecting; each generation-2 pass walks all of them, a
    measured quarter of the loading time. Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _evaluate_all(
    factory: sessionmaker[Session],
    loaded: LoadedRegistry,
    *,
    full: bool,
    now: datetime | None,
    jira_browse_base: str | None,
    clock: Clock,
) -> EvaluationReport:
    began = time.monotonic()
    started = clock()
    now = now or started
    registry = loaded.registry
    services = workflow_services(registry)
    with session_scope(factory) as session:
        last, details = repo.get_cursor_with_details(session, *CURSOR)
        full = (full or last is None or details.get("registry") != loaded.content_hash
                or not details.get(store.REJUDGED))
        report = EvaluationReport(full=full)
        plan = _plan(session, registry, services, full, last, jira_browse_base)
        _evaluate(session, registry, plan, now, started, report)
        # Authorized changes are re-judged when listed (`findings --all`), with this registry.
        store.remember_registry(session, loaded, started)
        store.drop_stored_authorized(session)
        repo.set_cursor(session, *CURSOR, started, now=started, details={
            "registry": loaded.content_hash, store.REJUDGED: True,
            "jira_browse_base": jira_browse_base,
        })
    report.seconds = time.monotonic() - began
    return report


@dataclass
class _Plan:
    """What one evaluation reads and rewrites."""

    histories: list[ItemHistory]  # the items read: all, or those active in the window
    first_week: str | None  # the first week to re-score (None: nothing changed)
    changed: set[str] | None = None  # incremental: the items the sync wrote since the cursor
    earlier: list[WeekScore] | None = None  # incremental: stored scores before `first_week`


def _plan(
    session: Session,
    registry: Registry,
    services: dict[str, str],
    full: bool,
    last: datetime | None,
    browse: str | None,
) -> _Plan:
    """The items to evaluate and the first week to re-score.

    Incremental: the items synced since the cursor decide the earliest affected week (or the
    week the last evaluation ran in, which it could not score yet, if earlier). The weeks
    before it keep their stored scores, and the rules read those — the stop rule's breaches
    back to the oldest open review, the runs of breaching weeks that open a review, the
    quality rates the trend compares with — so only items active from that week on are read
    (from 4 weeks earlier when the stored scores predate the stored quality rates).
    """
    if full or last is None:
        histories = list(load_histories(session, services, Scope(jira_browse_base=browse)))
        return _Plan(histories, _first_week(registry, histories))
    changed = list(load_histories(session, services,
                                  Scope(changed_since=last - OVERLAP, jira_browse_base=browse)))
    if not changed:
        return _Plan([], None, set())
    new = new_records(session, last - OVERLAP)
    # An item in no workflow of the registry is in no scorecard.
    affected = [_earliest_affected(registry, item, new) for item in changed
                if item.workflow in registry.workflows]
    first = week_of(min([*affected, last - OVERLAP]), registry.tz)
    earlier = store.stored_scores(session, first)
    since = first if stored_quality_known(earlier, first) else shift_week(first, -LOOKBACK_WEEKS)
    keys = {item.item for item in changed}
    scope = Scope(active_since=week_bounds(since, registry.tz)[0], jira_browse_base=browse,
                  skip=frozenset(keys))  # the changed items are read already
    histories = [*changed, *load_histories(session, services, scope)]
    return _Plan(histories, first, keys, earlier)


def _earliest_affected(registry: Registry, item: ItemHistory, new: NewRecords) -> datetime:
    """The earliest moment a sync of this item can have changed a metric of its workflow.

    Each of the item's new events changes what happens from its own moment on — the stage
    replayed after it, the owners seen before later changes, the first acknowledgement — and
    nothing before it, except through the quality rate: whether an item is reopened counts in
    the week it was first resolved. So:

    - a Jira issue with new changelog items: the earliest of them; with a new status change,
      also its first terminal entry (a reopen, or an entry before the first, moves a week's
      quality rate); and its creation when its history starts with a new status change (the
      initial status, hence a resolution at creation, was read differently before). Without
      any status change the initial status is the issue's current one, unchanged: Jira
      records every status change in the changelog;
    - an incident whose log entries alone are new: the earliest of them (its events, first
      acknowledgement and resolution are replayed from its entries in time order);
    - anything else — an issue new in a workflow, an issue or incident rewritten without a
      new event that can be told: its creation for an incident or a new member; for an issue,
      its newest activity or first terminal entry, whichever is earlier (the rule from before
      new events could be told, conservative).
    """
    if item.source != "jira":
        if item.item in new.incidents_rewritten or item.item not in new.incident_entries:
            return item.created
        return new.incident_entries[item.item]
    if item.item in new.jira_joined:
        return item.created
    refs = new.jira_changes.get(item.item)
    resolved = _first_terminal_entry(registry, item)
    if not refs:
        newest = max([item.created, *(c.at for c in item.status_changes[-1:]),
                      *(c.at for c in item.ownership_changes[-1:])])
        return min(newest, resolved) if resolved is not None else newest
    earliest = new.jira_earliest[item.item]
    if item.status_changes and item.status_changes[0].ref in refs:
        return min(earliest, item.created)
    if resolved is not None and any(c.ref in refs for c in item.status_changes):
        return min(earliest, resolved)
    return earliest


def _first_terminal_entry(registry: Registry, item: ItemHistory) -> datetime | None:
    """When the issue first entered a terminal status (its creation, when created in one):
    never later than the first resolution the scorecard counts."""
    terminal = registry.workflows[str(item.workflow)].terminal_statuses()
    if item.initial_status in terminal:
        return item.created
    return next((c.at for c in item.status_changes if c.to_status in terminal), None)


def _first_week(registry: Registry, histories: Sequence[ItemHistory]) -> str | None:
    starts = [h.created for h in histories if h.workflow is not None]
    return week_of(min(starts), registry.tz) if starts else None


class _Outbox:
    """Alerts written to the outbox as they are decided, `ALERTS_AT_ONCE` at a time: a first
    evaluation of old history queues an alert per unauthorized change and recipient (a
    quarter of a million at scale), which need not all be held in memory. Same transaction,
    same rows, same first-wins dedup as one write at the end. Each row is due at once: at the
    evaluation's `now` when that is in the past (an evaluation as of an earlier moment, such
    as the demo's, and a dispatch on the same clock agree), else at the clock's `started`."""

    def __init__(self, session: Session, now: datetime, started: datetime) -> None:
        self.session = session
        self.now = min(now, started)
        self.pending: list[dict[str, object]] = []
        self.inserted = 0

    def add(self, rows: Iterable[dict[str, object]]) -> None:
        self.pending.extend(rows)
        if len(self.pending) >= ALERTS_AT_ONCE:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.inserted += alert_outbox.enqueue(self.session, self.pending, due=self.now)
            self.pending = []


def _evaluate(
    session: Session, registry: Registry, plan: _Plan, now: datetime, started: datetime,
    report: EvaluationReport,
) -> None:
    """Judge, find, score and alert; on an incremental plan, the rules that depend on one
    item's history alone (verdicts, churn, gaps) run on the changed items only, and the
    unchanged items' unauthorized changes are read back as stored."""
    histories, first_week = plan.histories, plan.first_week
    judged = [h for h in histories if h.workflow is not None]
    report.items = len(judged)
    report.not_judged = len(histories) - len(judged)
    report.events_not_judged = sum(len(h.ownership_changes) for h in histories
                                   if h.workflow is None)
    fresh = _rejudged(histories, plan.changed)
    changed = [h for h in histories if fresh is None or h.item in fresh]
    changed_judged = [h for h in changed if h.workflow is not None]
    judge = judge_for(registry)
    # Only unauthorized changes are stored and counted; authorized ones are decided, not kept.
    verdicts = judge.unauthorized_items(changed_judged)
    report.verdicts = sum(judge.judged_changes(h) for h in changed_judged)
    report.unauthorized = len(verdicts)
    outbox = _Outbox(session, now, started)
    _save_verdicts(session, registry, changed_judged, verdicts, now, report, outbox)
    reviews = store.review_states(session)
    _save_findings(session, registry, judged, changed, verdicts, reviews, now, report, outbox)
    if first_week is not None:
        if fresh is not None:  # the re-scored weeks count the unchanged items' ones too
            since = week_bounds(first_week, registry.tz)[0]
            verdicts = [*verdicts, *store.stored_verdicts(session, since, exclude=fresh)]
        _score(session, registry, judged, verdicts, reviews, first_week, plan.earlier, now,
               report, outbox)
    outbox.flush()
    report.alerts = outbox.inserted


def _rejudged(histories: list[ItemHistory], changed: set[str] | None) -> set[str] | None:
    """The items whose verdicts are judged again (None: all): the changed ones, and those
    claimed by two workflows (their verdicts share one stored key, so the stored row cannot
    stand for both)."""
    if changed is None:
        return None
    seen: set[str] = set()
    again: set[str] = set()
    for history in histories:
        (again if history.item in seen else seen).add(history.item)
    return changed | again


def _save_verdicts(
    session: Session, registry: Registry, judged: list[ItemHistory], verdicts: list[Verdict],
    now: datetime, report: EvaluationReport, outbox: _Outbox,
) -> None:
    """Store the unauthorized changes of the judged items, drop those re-judged authorized,
    and alert on the ones never seen before."""
    items = {h.item for h in judged if h.workflow in registry.workflows}
    stored = store.stored_unauthorized(session, None if report.full else sorted(items))
    keys = {v.key for v in verdicts}
    store.delete_findings(session, [key for key, item in stored.items()
                                    if item in items and key not in keys])
    for chunk in _chunks(verdicts):
        store.save_findings(session, [store.verdict_row(v, now) for v in chunk])
    report.findings["unauthorized_change"] += len(verdicts)
    fresh = [v for v in verdicts if v.key not in stored]
    report.new_findings["unauthorized_change"] += len(fresh)
    for verdict in fresh:
        outbox.add(a.row() for a in unauthorized_change_alerts(registry, verdict))


def _chunks(facts: Sequence[T]) -> Iterator[Sequence[T]]:
    """`facts` in slices of `ROWS_AT_ONCE`: their rows are built and written one slice at a
    time, not all at once."""
    for start in range(0, len(facts), ROWS_AT_ONCE):
        yield facts[start : start + ROWS_AT_ONCE]


def _save_findings(
    session: Session,
    registry: Registry,
    judged: list[ItemHistory],
    changed: list[ItemHistory],
    verdicts: list[Verdict],
    reviews: list[ReviewState],
    now: datetime,
    report: EvaluationReport,
    outbox: _Outbox,
) -> None:
    """Unowned items, churn, late reviews and registry gaps; alerts for late reviews seen
    the first time.

    Incremental: churn and gaps of the changed items (an unchanged history gives what is
    stored), unowned periods of the changed items and of those without an owner now (time
    passing lengthens an open period, or makes it one to report).
    """
    changed_keys = {h.item for h in changed}
    unowned = [h for h in judged if h.item in changed_keys or not _owners_now(h)]
    found = [
        *finding_rules.unowned_items(registry, unowned, now, include_ended=True),
        *finding_rules.ownership_churn(registry, [h for h in changed if h.workflow]),
        *finding_rules.late_risk_reviews(reviews, now, tz=registry.tz),
        *finding_rules.registry_gaps(registry, changed, verdicts, now=now),
    ]
    known = store.existing_keys(session, [f.key for f in found])
    if not report.full:
        # Gaps count what the items read show: an incremental run reads a few weeks, so it
        # adds new gaps but leaves the counts of known ones as the last full run made them.
        found = [f for f in found if f.type != "registry_gap" or f.key not in known]
    for chunk in _chunks(found):
        store.save_findings(session, [store.finding_row(f, now) for f in chunk])
    by_id = {r.id: r for r in reviews}
    for finding in found:
        report.findings[finding.type] += 1
        if finding.key in known:
            continue
        report.new_findings[finding.type] += 1
        review = by_id.get(str(finding.details.get("review", "")))
        if finding.type == "late_risk_review" and review is not None:
            outbox.add(a.row() for a in late_review_alerts(registry, finding, review))


def _owners_now(item: ItemHistory) -> tuple[str, ...]:
    """Who owns the item after its last change (its current owners as synced, too)."""
    last = item.ownership_changes[-1].to_refs if item.ownership_changes else item.initial_owners
    return last if last and item.current_owners else ()


def _score(
    session: Session,
    registry: Registry,
    judged: list[ItemHistory],
    verdicts: list[Verdict],
    reviews: list[ReviewState],
    first_week: str,
    earlier: list[WeekScore] | None,
    now: datetime,
    report: EvaluationReport,
    outbox: _Outbox,
) -> None:
    ratified = store.ratified_keys(session)
    items_by: dict[str, list[ItemHistory]] = defaultdict(list)
    for item in judged:
        items_by[str(item.workflow)].append(item)
    verdicts_by: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        verdicts_by[verdict.workflow].append(verdict)
    # Only finished weeks are scored: a week in progress always looks short of its minimums.
    weeks = weeks_between(first_week, shift_week(week_of(now, registry.tz), -1))
    for workflow_id in registry.workflows:
        scores: list[WeekScore] = score_weeks(
            registry, workflow_id, items_by[workflow_id], verdicts_by[workflow_id], ratified,
            weeks, reviews, earlier,
        )
        # Runs of breaching weeks may begin before the first re-scored week: stored ones.
        runs = [s for s in earlier or () if s.workflow == workflow_id]
        opened = reviews_to_open(registry, workflow_id, [*runs, *scores], reviews, now)
        if opened:
            # The stop rule reads the open reviews: recommend with the ones this run opens as
            # well, or the next evaluation of the same history would recommend otherwise.
            with_opened = list({r.id: r for r in [*reviews, *opened]}.values())
            scores = score_weeks(
                registry, workflow_id, items_by[workflow_id], verdicts_by[workflow_id],
                ratified, weeks, with_opened, earlier,
            )
        store.save_scorecards(session, scores, now)
        report.scorecards += len(scores)
        for review_id in store.open_reviews(session, opened):
            review = next(r for r in opened if r.id == review_id)
            report.reviews_opened.append(review_id)
            outbox.add(a.row() for a in risk_review_alerts(registry, review))
