"""Properties of the scorecard on generated histories: late events, week selection, item order,
and agreement with a slow week-by-week count built on `rules.timeline.stage_transitions`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.facts import ItemHistory, OwnershipChange, StatusChange, Verdict, WeekScore
from rules.scorecard import score_weeks
from rules.timeline import stage_transitions
from rules.weeks import week_bounds
from tests.rules.scorecard_fixtures import ANA, BERLIN, BO, CY, registry, t, verdict

WEEKS = ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
START = t("2026-10-26 00:00")  # Monday of W44, local midnight
MINUTES = 28 * 24 * 60
STATUSES = ["Open", "In Progress", "Awaiting approval", "Escalated", "Done", "Closed", "Archived"]
OWNERS = [ANA, BO, CY]
REGISTRY = registry(
    "{throughput: {min: 1}, rework_volume: {max: 1}, exception_rate: {max: 0.5}, "
    "unauthorized_changes: {max: 0}, quality_trend: {min: 0}, decision_latency_hours: {max: 30}}"
)


@st.composite
def jira_items(draw: st.DrawFn, key: str) -> ItemHistory:
    stamps = sorted(draw(st.lists(st.integers(0, MINUTES - 1), min_size=1, max_size=8)))
    created = START + timedelta(minutes=stamps[0])
    status = draw(st.sampled_from(STATUSES))
    initial = status
    status_changes = []
    for index, minute in enumerate(stamps[1:]):
        to_status = draw(st.sampled_from(STATUSES))
        at = START + timedelta(minutes=minute)
        status_changes.append(StatusChange(at, status, to_status, f"jira:{key}:{index}"))
        status = to_status
    owner: str | None = draw(st.sampled_from(OWNERS))
    handovers = []
    for index, minute in enumerate(sorted(draw(st.lists(st.integers(0, MINUTES - 1), max_size=5)))):
        new = draw(st.sampled_from([*OWNERS, None]))
        handovers.append(
            OwnershipChange(
                ref=f"jira:{key}:o{index}",
                source="jira",
                at=START + timedelta(minutes=minute),
                actor=ANA,
                actor_kind="user",
                from_refs=(owner,) if owner else (),
                to_refs=(new,) if new else (),
                event_type="assignee",
            )
        )
        owner = new
    return ItemHistory(
        source="jira",
        item=key,
        workflow="support",
        created=created,
        initial_status=initial,
        initial_owners=(OWNERS[0],),
        status_changes=tuple(status_changes),
        ownership_changes=tuple(handovers),
    )


@st.composite
def histories(draw: st.DrawFn) -> list[ItemHistory]:
    count = draw(st.integers(0, 12))
    return [draw(jira_items(f"SUP-{n}")) for n in range(count)]


def _incident(incident_id: str, triggered: datetime, wait: timedelta) -> ItemHistory:
    return ItemHistory(
        source="pagerduty",
        item=incident_id,
        workflow="support",
        created=triggered,
        service="PSUP001",
        triggered_at=triggered,
        acknowledged_at=triggered + wait,
    )


def _scores(items: Sequence[ItemHistory], verdicts: Sequence[Verdict] = ()) -> dict[str, WeekScore]:
    return {s.week: s for s in score_weeks(REGISTRY, "support", items, verdicts, set(), WEEKS)}


@settings(max_examples=60, deadline=None)
@given(
    items=histories(),
    week=st.integers(0, 3),
    day=st.integers(0, 5),
    minute=st.integers(0, 24 * 60 - 1),
    wait=st.integers(0, 24 * 60 - 1),
)
def test_a_late_incident_and_verdict_change_only_their_week(
    items: list[ItemHistory], week: int, day: int, minute: int, wait: int
) -> None:
    before = _scores(items)
    start = week_bounds(WEEKS[week], BERLIN)[0]
    triggered = start + timedelta(days=day, minutes=minute)
    late = _incident("PLATE", triggered, timedelta(minutes=wait))  # acknowledged the same week
    late_verdict = replace(verdict("v-late", "2026-10-26 00:00"), at=triggered)
    after = _scores([*items, late], verdicts=[late_verdict])
    changed = [w for w in WEEKS if after[w] != before[w]]
    assert changed == [WEEKS[week]]
    assert after[WEEKS[week]].unauthorized_changes == before[WEEKS[week]].unauthorized_changes + 1


@settings(max_examples=40, deadline=None)
@given(items=histories())
def test_scoring_one_week_alone_gives_the_same_row(items: list[ItemHistory]) -> None:
    together = _scores(items)
    for week in WEEKS:
        (alone,) = score_weeks(REGISTRY, "support", items, [], set(), [week])
        assert alone == together[week]


@settings(max_examples=40, deadline=None)
@given(items=histories(), order=st.randoms(use_true_random=False))
def test_item_order_does_not_matter(items: list[ItemHistory], order: object) -> None:
    shuffled = list(items)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    assert _scores(shuffled) == _scores(items)


def _slow_counts(items: Sequence[ItemHistory], week: str) -> tuple[int, int, int, bool]:
    """Throughput, rework, items entering the exception stage and data, for one week, the slow
    way: replay every item with `stage_transitions` (all generated statuses are mapped)."""
    workflow = REGISTRY.workflows["support"]
    terminal = {s.id for s in workflow.stages if s.terminal}
    start, end = week_bounds(week, BERLIN)
    throughput = rework = exceptions = 0
    data = False
    for item in items:
        transitions = list(stage_transitions(workflow, item))
        first = next((at for at, _, entered in transitions if entered in terminal), None)
        throughput += first is not None and start <= first < end
        rework += sum(
            1
            for at, left, entered in transitions
            if left in terminal and entered not in terminal and start <= at < end
        )
        exceptions += any(
            entered == "exception" and start <= at < end for at, _, entered in transitions
        )
        owned = set(item.initial_owners)
        for change in item.ownership_changes:
            added = set(change.to_refs) - set(change.from_refs)
            rework += bool(added & owned) and start <= change.at < end
            owned |= set(change.from_refs) | set(change.to_refs)
        stamps = [item.created, *(c.at for c in item.status_changes)]
        stamps += [c.at for c in item.ownership_changes]
        data = data or any(start <= at < end for at in stamps)
    return throughput, rework, exceptions, data


@settings(max_examples=60, deadline=None)
@given(items=histories())
def test_agrees_with_a_slow_week_by_week_count(items: list[ItemHistory]) -> None:
    scores = _scores(items)
    for week in WEEKS:
        throughput, rework, exceptions, data = _slow_counts(items, week)
        score = scores[week]
        assert (score.throughput, score.rework_volume, score.has_data) == (
            throughput,
            rework,
            data,
        )
        if data:
            assert score.exception_rate == exceptions / max(throughput, 1)
