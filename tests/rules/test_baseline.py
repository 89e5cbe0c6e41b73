"""The baseline's statistics and proposals on planted distributions (SPEC §12).

Every expected number is worked out by hand in the comment beside it, from the planted values
and the SPEC's rule (percentile by linear interpolation between closest ranks, rank
h = p·(n−1) from 0; rounded outward to the unit's grain), not read from the code.
"""

from __future__ import annotations

import pytest

from rules.baseline import (
    MetricBaseline,
    NotEnoughWeeksError,
    compute_baseline,
    percentile,
    round_outward,
)
from rules.facts import WeekScore
from rules.metrics import Direction, Unit

WEEKS = [f"2026-W{n:02d}" for n in range(40, 48)]  # 8 finished weeks, oldest first


def score(week: str, **values: object) -> WeekScore:
    base: dict[str, object] = dict(
        workflow="support", week=week, throughput=30, quality_trend=0.0, exception_rate=0.1,
        rework_volume=1, decision_latency_hours=5.0, decision_latency_p90_hours=9.0,
        unauthorized_changes=0, breaches=(), recommendation="continue",
        recommendation_rule="", has_data=True)
    base.update(values)
    return WeekScore(**base)  # type: ignore[arg-type]


# Planted, one list per metric, week by week (shuffled so order cannot matter).
PLANTED: dict[str, list[float]] = {
    "throughput": [50, 10, 80, 30, 20, 70, 40, 60],
    "quality_trend": [0.01, -0.30, 0.05, 0.0, 0.03, -0.05, 0.04, 0.02],
    "exception_rate": [0.14, 0.40, 0.10, 0.22, 0.12, 0.18, 0.16, 0.20],
    "rework_volume": [3, 0, 12, 1, 2, 1, 3, 2],
    "decision_latency_hours": [30.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
    "unauthorized_changes": [0, 0, 2, 0, 0, 5, 0, 0],
}


def planted_scores() -> list[WeekScore]:
    return [score(week, **{name: values[i] for name, values in PLANTED.items()})
            for i, week in enumerate(WEEKS)]


def by_name() -> dict[str, MetricBaseline]:
    result = compute_baseline("support", WEEKS, planted_scores())
    return {m.metric.name: m for m in result.metrics}


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [10, 20, 30, 40, 50, 60, 70, 80]
    assert percentile(values, 0.10) == pytest.approx(17.0)  # h=0.7: 10 + 0.7·10
    assert percentile(values, 0.25) == pytest.approx(27.5)  # h=1.75: 20 + 0.75·10
    assert percentile(values, 0.50) == pytest.approx(45.0)  # h=3.5
    assert percentile(values, 0.90) == pytest.approx(73.0)  # h=6.3: 70 + 0.3·10
    assert percentile(values, 1.0) == 80 and percentile(values, 0.0) == 10
    assert percentile([7], 0.9) == 7


def test_summary_median_quartiles_range() -> None:
    throughput = by_name()["throughput"]
    s = throughput.summary
    assert s is not None
    assert (s.weeks, s.median, s.q1, s.q3, s.min, s.max) == (8, 45, 27.5, 62.5, 10, 80)
    latency = by_name()["decision_latency_hours"].summary
    assert latency is not None
    # sorted 1..7, 30: median h=3.5 → 4.5; q1 h=1.75 → 2.75; q3 h=5.25 → 6.25
    assert [latency.median, latency.q1, latency.q3, latency.min, latency.max] == pytest.approx(
        [4.5, 2.75, 6.25, 1.0, 30.0])


@pytest.mark.parametrize(("name", "proposed", "breaches"), [
    ("throughput", 17, ["2026-W41"]),            # p10 = 17 exactly: floor 17; 10 < 17
    ("quality_trend", -0.13, ["2026-W41"]),      # p10 = -0.30 + 0.7·0.25 = -0.125 → down -0.13
    ("exception_rate", 0.28, ["2026-W41"]),      # p90 = 0.22 + 0.3·0.18 = 0.274 → up 0.28
    ("rework_volume", 6, ["2026-W42"]),          # p90 = 3 + 0.3·9 = 5.7 → up 6; 12 > 6
    ("decision_latency_hours", 14.0, ["2026-W40"]),  # p90 = 7 + 0.3·23 = 13.9 → up 14.0
    ("unauthorized_changes", 0, ["2026-W42", "2026-W45"]),  # policy: max 0 whatever the data
])
def test_proposals_and_breaches(name: str, proposed: float, breaches: list[str]) -> None:
    m = by_name()[name]
    assert m.proposed == pytest.approx(proposed)
    assert list(m.breached_weeks) == breaches
    assert m.breaches == len(breaches)


def test_rules_say_where_the_number_came_from() -> None:
    m = by_name()
    assert m["exception_rate"].rule == (
        "max: the 90th percentile of 8 baseline weeks (0.274), rounded up to 0.01")
    assert m["throughput"].rule.startswith(
        "min: the 10th percentile of 8 baseline weeks (17)")
    assert "policy, not a statistic" in m["unauthorized_changes"].rule


@pytest.mark.parametrize(("value", "unit", "direction", "expected"), [
    (0.2, Unit.RATIO, Direction.MAX, 0.2),     # already on the grain: not 0.21 (float noise)
    (0.24000000000000002, Unit.RATIO, Direction.MAX, 0.24),
    (0.241, Unit.RATIO, Direction.MAX, 0.25),
    (-0.101, Unit.RATIO, Direction.MIN, -0.11),
    (13.2, Unit.HOURS, Direction.MAX, 13.5),
    (13.5, Unit.HOURS, Direction.MAX, 13.5),
    (13.6, Unit.HOURS, Direction.MIN, 13.5),
    (21.4, Unit.COUNT, Direction.MIN, 21),
    (6.8, Unit.COUNT, Direction.MAX, 7),
])
def test_rounding_is_outward(value: float, unit: Unit, direction: Direction,
                             expected: float) -> None:
    assert round_outward(value, unit, direction) == pytest.approx(expected)


def test_exactly_at_the_proposal_is_not_a_breach() -> None:
    scores = [score(w, exception_rate=0.2) for w in WEEKS]
    m = {x.metric.name: x for x in compute_baseline("support", WEEKS, scores).metrics}
    assert m["exception_rate"].proposed == pytest.approx(0.2)
    assert m["exception_rate"].breaches == 0


def test_a_metric_measured_in_too_few_weeks_gets_no_proposal() -> None:
    scores = [score(w, quality_trend=None if i < 5 else 0.1 * i) for i, w in enumerate(WEEKS)]
    m = {x.metric.name: x for x in compute_baseline("support", WEEKS, scores).metrics}
    assert m["quality_trend"].proposed is None and m["quality_trend"].breaches == 0
    assert len(m["quality_trend"].values) == 3
    assert "3 baseline week(s) measured it, at least 4 needed" in m["quality_trend"].rule


def test_needs_four_weeks_with_data_and_says_how_many_it_has() -> None:
    scores = [score(w) for w in WEEKS[:3]] + [score(WEEKS[5], has_data=False),
                                              score("2026-W30"),  # outside the window
                                              score(WEEKS[6], workflow="renewals")]
    with pytest.raises(NotEnoughWeeksError) as caught:
        compute_baseline("support", WEEKS, scores)
    assert caught.value.have == 3 and caught.value.needed == 4
    assert "has 3 finished week(s) with data in the last 8" in str(caught.value)
    assert "needs at least 4" in str(caught.value)
    four = compute_baseline("support", WEEKS, [score(w) for w in WEEKS[:4]])
    assert four.weeks_with_data == tuple(WEEKS[:4])
