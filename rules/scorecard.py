"""The weekly scorecard of a workflow (SPEC §5), recomputed from the whole history each time.

Every item is read once and its events are dropped into week buckets by bisecting the weeks'
UTC bounds, so scoring costs one pass over the events whatever the number of weeks; and since
nothing is carried over from an earlier run, a late-synced event corrects the week it fell in.

Choices where the SPEC is silent:

- Items and verdicts naming another workflow (or none) are ignored, and so is an incident
  whose service is known and not one of the services of the workflow's incident sources
  (`Sources.incident_services()`).
- Stages come from ticket (Jira) statuses. A status mapped to no stage is not a stage: the item is
  taken to stay in its last mapped stage (so `Done → <unmapped> → Done` is neither a reopen
  nor a second resolution, and `Done → <unmapped> → In Progress` reopens at `In Progress`).
  Moves between two statuses of one stage, or between two terminal stages, are no transition.
- An item created directly in a terminal status enters that stage at `created`: it counts
  in the throughput of the week it was created. Likewise an item created in the
  `pagerduty: true` stage enters it at `created`.
- `throughput` and the quality rate count tickets (Jira items) only; a reopen is any move from a
  terminal stage to a non-terminal one, up to the end of the data, and each one counts in
  `rework_volume` in the week it happens. The quality rate of a week is the share of its
  throughput items never reopened since; a week without throughput has no rate.
- `quality_trend`: the week's rate minus the mean rate of those of the 4 previous calendar
  weeks that have one. None when the week has no rate, or none of the 4 previous weeks has
  one ("without history"). Computed with fractions, so a trend exactly at the threshold is
  not pushed across it by floating-point error.
- `exception_rate`: an incident counts in the week it was triggered (`triggered_at`, else
  `created`); a ticket counts once per week in which it entered the exception stage.
- `rework_volume`: an ownership change counts (once) when one of the owners it adds (`to`
  minus `from`) owned the item before: its first assignees, or anyone in `from` or `to` of an
  earlier change. An unassignment never counts.
- `decision_latency_hours`: a decision point is pending from entering one of its statuses
  until the status leaves that decision point's statuses (moving between statuses of one
  decision point keeps it pending); created in one, it is pending from `created`. Pooled with
  each incident's trigger → first acknowledgement, in the week of the acknowledgement. The
  median of an even count is the mean of the two middle values; p90 is nearest-rank (the
  ⌈0.9·n⌉-th smallest). A negative duration (clock skew) counts as 0. None without samples.
- `unauthorized_changes`: verdicts with `authorized` False, by the week of `at`, whose key is
  not in `ratified`.
- `has_data`: any event of the workflow in the week — an item created, a status or ownership
  change, an incident triggered, acknowledged or resolved, a verdict. A week without any has
  zero counts, None rates and no breaches.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from fractions import Fraction

from rules.facts import ItemHistory, ReviewState, Verdict, WeekScore
from rules.metrics import values
from rules.registry import Registry, Stage, Workflow
from rules.reviews import breaches, open_reviews, recommend, workflow_of
from rules.sources import INCIDENT, KINDS, TICKET
from rules.weeks import monday, shift_week, week_bounds, weeks_between

QUALITY_HISTORY_WEEKS = 4
"""`quality_trend` compares a week with the mean of this many previous weeks."""

_MICROSECOND = timedelta(microseconds=1)
_MICROSECONDS_PER_HOUR = 3_600_000_000


def score_weeks(
    registry: Registry,
    workflow_id: str,
    items: Sequence[ItemHistory],
    verdicts: Sequence[Verdict],
    ratified: Collection[str],
    weeks: Sequence[str],
    reviews: Sequence[ReviewState] = (),
    earlier: Sequence[WeekScore] | None = None,
) -> list[WeekScore]:
    """One `WeekScore` per week in `weeks` (in that order), with its recommendation.

    `items` are the workflow's Jira issues and PagerDuty incidents, `verdicts` the judgements
    of their ownership changes, `ratified` the keys of verdicts that no longer count, and
    `reviews` the stored risk reviews (for the `stop` recommendation).

    The stop rule reads the breaches of the weeks back to the oldest open review, and the
    quality trend the quality rates of the 4 weeks before each week: recomputed from `items`,
    or, when `earlier` is given, taken from it — the scores stored for the weeks before
    `weeks`, which an incremental evaluation knows are unchanged — so `items` need only
    cover `weeks` (the quality rates only when `stored_quality_known` holds for them).
    """
    workflow = workflow_of(registry, workflow_id)
    if not weeks:
        return []
    first = min(weeks, key=monday)
    last = max(weeks, key=monday)
    # The stop rule looks back to the oldest open review; the quality trend 4 more weeks.
    wf_reviews = [r for r in reviews if r.workflow == workflow_id]
    looked_back = [r.week for r in open_reviews(wf_reviews, workflow_id)] if earlier is None else []
    since = min([first, *(w for w in looked_back if monday(w) < monday(first))], key=monday)
    grid = _Grid(weeks_between(shift_week(since, -QUALITY_HISTORY_WEEKS), last), registry.tz)

    tally = _Tally.empty(len(grid.weeks))
    counter = _Counter(workflow, grid, tally)
    for item in items:
        counter.item(item)
    counter.verdicts(verdicts, ratified)
    if earlier is not None and stored_quality_known(earlier, since, workflow_id):
        stored = {s.week: s for s in earlier if s.workflow == workflow_id}
        for index, week in enumerate(grid.weeks[:QUALITY_HISTORY_WEEKS]):
            score = stored.get(week)  # none stored: a week without data resolved nothing
            tally.throughput[index] = 0 if score is None else score.throughput
            tally.reopened[index] = 0 if score is None else score.reopened or 0

    scored: dict[str, WeekScore] = {}
    history: list[WeekScore] = [
        score for score in earlier or ()
        if score.workflow == workflow_id and monday(score.week) < monday(since)
    ]
    for index in range(QUALITY_HISTORY_WEEKS, len(grid.weeks)):
        score = _score(workflow, grid.weeks[index], tally, index)
        decision, rule = recommend(registry, workflow_id, score, history, wf_reviews)
        score = replace(score, recommendation=decision, recommendation_rule=rule)
        history.append(score)
        scored[score.week] = score
    return [scored[week] for week in weeks]


def stored_quality_known(
    earlier: Sequence[WeekScore], first: str, workflow_id: str | None = None
) -> bool:
    """Whether the stored scores of the 4 weeks before `first` (of one workflow, or all)
    carry their quality inputs: rows written before `reopened` was stored do not."""
    lookback = set(weeks_between(shift_week(first, -QUALITY_HISTORY_WEEKS), shift_week(first, -1)))
    return all(
        score.reopened is not None
        for score in earlier
        if score.week in lookback and workflow_id in (None, score.workflow)
    )


class _Grid:
    """Consecutive weeks and their UTC bounds, to find an instant's week by bisection."""

    def __init__(self, weeks: list[str], tz: tzinfo) -> None:
        self.weeks = weeks
        self.starts = [week_bounds(week, tz)[0] for week in weeks]
        self.start = self.starts[0]
        self.end = week_bounds(weeks[-1], tz)[1]

    def index(self, at: datetime) -> int:
        """The index of the week `at` falls in, or -1 outside the grid."""
        if at < self.start or at >= self.end:
            return -1
        return bisect_right(self.starts, at) - 1


@dataclass
class _Tally:
    """Per-week counters, indexed like the grid's weeks."""

    data: list[bool]
    throughput: list[int]
    reopened: list[int]
    """Of the week's throughput items, how many were reopened since."""
    incidents: list[int]
    exception_items: list[int]
    rework: list[int]
    latencies: list[list[int]]
    """Decision latencies in microseconds."""
    unauthorized: list[int]

    @classmethod
    def empty(cls, n: int) -> _Tally:
        return cls(
            data=[False] * n,
            throughput=[0] * n,
            reopened=[0] * n,
            incidents=[0] * n,
            exception_items=[0] * n,
            rework=[0] * n,
            latencies=[[] for _ in range(n)],
            unauthorized=[0] * n,
        )


class _Counter:
    """Drops each item's events into the tally, one pass per item."""

    def __init__(self, workflow: Workflow, grid: _Grid, tally: _Tally) -> None:
        self.workflow_id = workflow.id
        self.grid = grid
        self.tally = tally
        self.services = workflow.sources.incident_services()
        self.stage_of: dict[str, Stage] = {}
        for stage in workflow.stages:  # the first stage wins, as in Workflow.stage_for_status
            for status in stage.jira_statuses:
                self.stage_of.setdefault(status, stage)
        self.point_of: dict[str, str] = {}
        for point in workflow.decision_points:
            for status in point.jira_statuses:
                self.point_of.setdefault(status, point.decision)

    def item(self, item: ItemHistory) -> None:
        if item.workflow != self.workflow_id:
            return
        kind = KINDS.get(item.source)
        if kind == TICKET:
            self._ticket(item)
        elif kind == INCIDENT:
            if item.service is not None and item.service not in self.services:
                return
            self._incident(item)
        else:
            return
        self._ownership(item)

    def _ticket(self, item: ItemHistory) -> None:
        index, tally = self.grid.index, self.tally
        data, rework = tally.data, tally.rework
        created = index(item.created)
        if created >= 0:
            data[created] = True
        initial = item.initial_status
        stage = self.stage_of.get(initial) if initial is not None else None
        resolved = stage is not None and stage.terminal
        resolved_week = created if resolved else -1
        reopened = False
        exception_weeks: set[int] = set()
        if stage is not None and stage.is_incident_stage and created >= 0:
            exception_weeks.add(created)
        point = self.point_of.get(initial) if initial is not None else None
        pending_since = item.created
        for change in item.status_changes:
            week = index(change.at)
            if week >= 0:
                data[week] = True
            entered = self.stage_of.get(change.to_status)
            if entered is not None and entered is not stage:
                if stage is not None and stage.terminal and not entered.terminal:
                    reopened = True
                    if week >= 0:
                        rework[week] += 1
                if entered.terminal and not resolved:
                    resolved, resolved_week = True, week
                if entered.is_incident_stage and week >= 0:
                    exception_weeks.add(week)
                stage = entered
            now_pending = self.point_of.get(change.to_status)
            if now_pending != point:
                if point is not None and week >= 0:
                    waited = (change.at - pending_since) // _MICROSECOND
                    tally.latencies[week].append(max(waited, 0))
                point, pending_since = now_pending, change.at
        if resolved_week >= 0:
            tally.throughput[resolved_week] += 1
            if reopened:
                tally.reopened[resolved_week] += 1
        for week in exception_weeks:
            tally.exception_items[week] += 1

    def _incident(self, item: ItemHistory) -> None:
        index, tally = self.grid.index, self.tally
        triggered_at = item.triggered_at or item.created
        for at in (item.created, item.resolved_at):
            week = index(at) if at is not None else -1
            if week >= 0:
                tally.data[week] = True
        triggered = index(triggered_at)
        if triggered >= 0:
            tally.data[triggered] = True
            tally.incidents[triggered] += 1
        acknowledged_at = item.acknowledged_at
        if acknowledged_at is not None:
            acknowledged = index(acknowledged_at)
            if acknowledged >= 0:
                tally.data[acknowledged] = True
                waited = (acknowledged_at - triggered_at) // _MICROSECOND
                tally.latencies[acknowledged].append(max(waited, 0))

    def _ownership(self, item: ItemHistory) -> None:
        # The hottest loop (every ownership event): the grid lookup is inlined.
        starts, start, end = self.grid.starts, self.grid.start, self.grid.end
        data, rework = self.tally.data, self.tally.rework
        owned = set(item.initial_owners)
        for change in item.ownership_changes:
            at = change.at
            if start <= at < end:
                week = bisect_right(starts, at) - 1
                data[week] = True
                for owner in change.to_refs:
                    if owner in owned and owner not in change.from_refs:
                        rework[week] += 1
                        break
            owned.update(change.from_refs, change.to_refs)

    def verdicts(self, verdicts: Sequence[Verdict], ratified: Collection[str]) -> None:
        starts, start, end = self.grid.starts, self.grid.start, self.grid.end
        data, unauthorized = self.tally.data, self.tally.unauthorized
        workflow_id = self.workflow_id
        for verdict in verdicts:
            at = verdict.at
            if verdict.workflow != workflow_id or not start <= at < end:
                continue
            week = bisect_right(starts, at) - 1
            data[week] = True
            if not verdict.authorized and verdict.key not in ratified:
                unauthorized[week] += 1


def _score(workflow: Workflow, week: str, tally: _Tally, index: int) -> WeekScore:
    """The week's metrics and breaches; the recommendation is filled in afterwards."""
    if not tally.data[index]:
        return WeekScore(
            workflow=workflow.id,
            week=week,
            throughput=0,
            quality_trend=None,
            exception_rate=None,
            rework_volume=0,
            decision_latency_hours=None,
            decision_latency_p90_hours=None,
            unauthorized_changes=0,
            breaches=(),
            recommendation="",
            recommendation_rule="",
            has_data=False,
            reopened=0,
        )
    throughput = tally.throughput[index]
    exceptions = tally.incidents[index] + tally.exception_items[index]
    latencies = sorted(tally.latencies[index])
    score = WeekScore(
        workflow=workflow.id,
        week=week,
        throughput=throughput,
        quality_trend=_quality_trend(tally, index),
        exception_rate=exceptions / max(throughput, 1),
        rework_volume=tally.rework[index],
        decision_latency_hours=_median_hours(latencies),
        decision_latency_p90_hours=_p90_hours(latencies),
        unauthorized_changes=tally.unauthorized[index],
        breaches=(),
        recommendation="",
        recommendation_rule="",
        reopened=tally.reopened[index],
    )
    return replace(score, breaches=breaches(workflow, values(score)))


def _quality_rate(tally: _Tally, index: int) -> Fraction | None:
    resolved = tally.throughput[index]
    if resolved == 0:
        return None
    return Fraction(resolved - tally.reopened[index], resolved)


def _quality_trend(tally: _Tally, index: int) -> float | None:
    rate = _quality_rate(tally, index)
    if rate is None:
        return None
    earlier = [
        previous
        for back in range(1, QUALITY_HISTORY_WEEKS + 1)
        if (previous := _quality_rate(tally, index - back)) is not None
    ]
    if not earlier:
        return None
    return float(rate - sum(earlier, Fraction(0)) / len(earlier))


def _median_hours(ordered: list[int]) -> float | None:
    n = len(ordered)
    if n == 0:
        return None
    middle = n // 2
    if n % 2:
        return ordered[middle] / _MICROSECONDS_PER_HOUR
    return (ordered[middle - 1] + ordered[middle]) / (2 * _MICROSECONDS_PER_HOUR)


def _p90_hours(ordered: list[int]) -> float | None:
    """Nearest rank: the ⌈0.9·n⌉-th smallest value (integer arithmetic, no float rounding)."""
    n = len(ordered)
    if n == 0:
        return None
    rank = (9 * n + 9) // 10
    return ordered[rank - 1] / _MICROSECONDS_PER_HOUR
