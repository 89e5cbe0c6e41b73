"""The 30-day reset tracker (SPEC §12): each week's checklist, computed from plain facts.

A reset names one focus workflow and the Monday it started; weeks 1 to 4 follow from it. The
tracker says, for every item of the four weeks, whether it is done (with the evidence that
makes it so), open, or overdue (not done and past its week's Sunday), and what to do next.
Nothing here reads a clock or a database: `today` and the facts are passed in, so the same
facts give the same checklist on any day the tests run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final, Literal

from rules.baseline import MIN_WEEKS
from rules.metrics import METRIC_NAMES
from rules.registry import Registry, Reset

Status = Literal["done", "open", "overdue"]

WEEKS: Final = 4
BASELINE_WEEKS: Final = MIN_WEEKS
"""SPEC §12: the baseline needs at least 4 finished weeks with data."""
DECISION_WEEKS: Final = 2
"""SPEC §12, week 3: weekly decisions recorded for two weeks since the reset started."""
DECISION_RIGHTS: Final = "decision-rights"
"""The one item a person confirms by command (`reset confirm decision-rights --by P`)."""


@dataclass(frozen=True, slots=True)
class DecisionFact:
    """A governance decision recorded for the workflow (`accountability decide`)."""

    week: str
    decision: str
    by: str
    recorded_on: date
    """The day it was recorded, in the registry's time zone."""


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A leader's confirmation of the workflow's decision rights."""

    by: str
    on: date
    """The day it was recorded, in the registry's time zone."""


@dataclass(frozen=True, slots=True)
class ResetFacts:
    """What the tracker reads, all about the reset's workflow.

    `map_writes`: days (registry time zone) its escalation map was written.
    `baseline_weeks`: finished ISO weeks with a scorecard that measured something.
    `open_gaps`: keys of its registry-gap findings that are still open.
    `confirmations`: decision-rights confirmations recorded for this reset (its workflow and
    start date: a later reset of the same workflow starts unconfirmed).
    """

    today: date
    map_writes: Sequence[date] = ()
    baseline_weeks: Sequence[str] = ()
    decisions: Sequence[DecisionFact] = ()
    open_gaps: Sequence[str] = ()
    confirmations: Sequence[Confirmation] = ()


@dataclass(frozen=True, slots=True)
class ChecklistLine:
    week: int
    item: str
    status: Status
    evidence: str
    """What the data says (done: why it is done; otherwise what is missing)."""
    next_action: str
    """What to do to get it done; empty when done."""
    due: date
    """The Sunday of its week: after it an unfinished item is overdue."""


@dataclass(frozen=True)
class ResetTracker:
    workflow: str
    workflow_name: str
    started: date
    today: date
    lines: tuple[ChecklistLine, ...] = field(default_factory=tuple)

    @property
    def ends(self) -> date:
        """The Sunday of week 4."""
        return week_end(self.started, WEEKS)

    @property
    def current_week(self) -> int | None:
        """The reset week `today` falls in (1-4), or None before it started or after week 4."""
        return reset_week(self.started, self.today)

    @property
    def state(self) -> str:
        """`not started`, `week N of 4` or `ended`, for headings."""
        week = self.current_week
        if week is not None:
            return f"week {week} of {WEEKS}"
        return "not started" if self.today < self.started else "ended"

    def count(self, status: Status) -> int:
        return sum(1 for line in self.lines if line.status == status)

    @property
    def summary(self) -> str:
        """`5 done, 3 open, 1 overdue`."""
        return ", ".join(f"{self.count(s)} {s}" for s in ("done", "open", "overdue"))


def week_start(started: date, week: int) -> date:
    """Monday of reset week `week` (1-based)."""
    return started + timedelta(weeks=week - 1)


def week_end(started: date, week: int) -> date:
    """Sunday of reset week `week`: its items are overdue after this day."""
    return week_start(started, week) + timedelta(days=6)


def reset_week(started: date, day: date) -> int | None:
    """The reset week `day` falls in, 1 to 4, or None outside the reset."""
    if day < started:
        return None
    week = (day - started).days // 7 + 1
    return week if week <= WEEKS else None


def running(reset: Reset | None, first: date, last: date) -> bool:
    """The reset overlaps the days `first` to `last` (a digest week, a single day)."""
    if reset is None:
        return False
    return first <= week_end(reset.started, WEEKS) and last >= reset.started


def local_day(at: datetime, registry: Registry) -> date:
    """The day of an aware instant in the registry's time zone (the reset's dates are)."""
    return at.astimezone(registry.tz).date()


def build_tracker(registry: Registry, facts: ResetFacts) -> ResetTracker:
    """The checklist of the registry's reset, as of `facts.today`; ValueError without one."""
    reset = registry.reset
    if reset is None:
        raise ValueError("the registry has no reset block")
    workflow = registry.workflows[reset.workflow]
    builder = _Lines(reset.started, facts.today)
    started = reset.started
    people = registry.people

    def name(person: str) -> str:
        return people[person].name if person in people else person

    # -- week 1
    builder.add(1, "focus workflow named", True,
                f"reset.workflow is '{workflow.id}' ({workflow.name}), since "
                f"{started.isoformat()}", "")
    owners = {"outcome owner": workflow.outcome.owner, "workflow owner": workflow.workflow_owner}
    missing = [role for role, who in owners.items() if who not in people]
    builder.add(1, "outcome and workflow owners in the registry", not missing,
                "; ".join(f"{role}: {name(who)}" for role, who in owners.items())
                if not missing else f"not a person in the registry: {', '.join(missing)}",
                f"set workflows.{workflow.id}.outcome.owner and workflow_owner to people")
    written = sorted(day for day in facts.map_writes if day >= started)
    builder.add(1, "escalation map published", bool(written),
                f"written on {written[-1].isoformat()} ({len(written)} time(s) since the start)"
                if written else f"no map written since {started.isoformat()}",
                f"accountability map {workflow.id} --out FILE (or let the registry-check "
                "flow publish it)")

    # -- week 2
    baseline = sorted(set(facts.baseline_weeks))
    builder.add(2, f"at least {BASELINE_WEEKS} baseline weeks", len(baseline) >= BASELINE_WEEKS,
                f"{len(baseline)} finished week(s) with data"
                + (f": {', '.join(baseline[-8:])}" if baseline else ""),
                "sync and evaluate more history (accountability sync --full; accountability "
                "evaluate --full), or wait for more weeks")
    thresholds = workflow.scorecard.thresholds
    absent = [m for m in METRIC_NAMES if m not in thresholds]
    builder.add(2, "thresholds for all six metrics", not absent,
                f"thresholds set for {len(METRIC_NAMES) - len(absent)} of {len(METRIC_NAMES)}"
                + (f"; missing: {', '.join(absent)}" if absent else ""),
                f"add the missing metrics to workflows.{workflow.id}.scorecard.thresholds "
                f"(accountability baseline {workflow.id} proposes values)")
    confirmed = sorted(facts.confirmations, key=lambda c: c.on)
    leaders = sorted(registry.expand(registry.leadership) & people.keys())
    builder.add(2, "decision rights confirmed by leadership", bool(confirmed),
                f"confirmed by {name(confirmed[-1].by)} on {confirmed[-1].on.isoformat()}"
                if confirmed else "not confirmed for this reset",
                "accountability reset confirm decision-rights --by PERSON "
                f"(leadership: {', '.join(leaders) or 'nobody'})")

    # -- week 3
    recorded = sorted({d.week for d in facts.decisions if d.recorded_on >= started})
    builder.add(3, f"weekly decisions recorded for {DECISION_WEEKS} weeks",
                len(recorded) >= DECISION_WEEKS,
                f"decisions recorded since the start for {len(recorded)} week(s)"
                + (f": {', '.join(recorded)}" if recorded else ""),
                f"accountability decide {workflow.id} continue|stabilize|pause|stop "
                "--by PERSON (each Monday, for the week just ended)")
    gaps = sorted(facts.open_gaps)
    builder.add(3, "registry gaps from escalations closed", not gaps,
                "no open registry-gap finding" if not gaps else
                f"{len(gaps)} open registry-gap finding(s): {', '.join(gaps[:5])}"
                + (" …" if len(gaps) > 5 else ""),
                "fix the registry (people, stages, statuses) and run accountability evaluate; "
                f"accountability findings --workflow {workflow.id}")

    # -- week 4
    first, last = week_start(started, 4), week_end(started, 4)
    in_week4 = sorted((d for d in facts.decisions if first <= d.recorded_on <= last),
                      key=lambda d: d.recorded_on)
    builder.add(4, "week-4 decision recorded", bool(in_week4),
                f"{in_week4[-1].decision} for {in_week4[-1].week}, recorded by "
                f"{name(in_week4[-1].by)} on {in_week4[-1].recorded_on.isoformat()}"
                if in_week4 else
                f"no decision recorded between {first.isoformat()} and {last.isoformat()}",
                f"accountability decide {workflow.id} DECISION --by PERSON during week 4")
    following = registry.next
    builder.add(4, "next focus workflow named", following is not None,
                f"next is '{following}' ({registry.workflows[following].name})"
                if following is not None and following in registry.workflows
                else "no next workflow in the registry",
                "add `next: WORKFLOW` to the registry")

    return ResetTracker(workflow=workflow.id, workflow_name=workflow.name, started=started,
                        today=facts.today, lines=tuple(builder.lines))


class _Lines:
    """Collects checklist lines, giving each its status from `done`, its week and today."""

    def __init__(self, started: date, today: date) -> None:
        self.started = started
        self.today = today
        self.lines: list[ChecklistLine] = []

    def add(self, week: int, item: str, done: bool, evidence: str, action: str) -> None:
        due = week_end(self.started, week)
        status: Status = "done" if done else ("overdue" if self.today > due else "open")
        self.lines.append(ChecklistLine(week=week, item=item, status=status, evidence=evidence,
                                        next_action="" if done else action, due=due))
