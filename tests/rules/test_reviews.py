"""Risk reviews and the recommended decision (SPEC §5), on hand-made week scores."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest

from rules.facts import ReviewState, WeekScore
from rules.registry import Threshold
from rules.reviews import breaches, is_breach, recommend, reviews_to_open
from rules.scorecard import score_weeks
from rules.weeks import week_bounds
from tests.rules.scorecard_fixtures import BERLIN, registry, resolved, t

THRESHOLDS = (
    "{throughput: {min: 2}, rework_volume: {max: 0}, unauthorized_changes: {max: 0}, "
    "exception_rate: {max: 0.2}}"
)
OPENED = t("2026-11-17 08:00")  # Tuesday of W47


def week_score(
    week: str, *breached: str, has_data: bool = True, **values: float | int | None
) -> WeekScore:
    metrics: dict[str, float | int | None] = {
        "throughput": 5,
        "quality_trend": None,
        "exception_rate": 0.0,
        "rework_volume": 0,
        "decision_latency_hours": None,
        "decision_latency_p90_hours": None,
        "unauthorized_changes": 0,
    }
    metrics.update(values)
    return WeekScore(
        workflow="support",
        week=week,
        throughput=int(metrics["throughput"] or 0),
        quality_trend=metrics["quality_trend"],
        exception_rate=metrics["exception_rate"],
        rework_volume=int(metrics["rework_volume"] or 0),
        decision_latency_hours=metrics["decision_latency_hours"],
        decision_latency_p90_hours=metrics["decision_latency_p90_hours"],
        unauthorized_changes=int(metrics["unauthorized_changes"] or 0),
        breaches=breached,
        recommendation="",
        recommendation_rule="",
        has_data=has_data,
    )


def review(week: str, status: str = "open") -> ReviewState:
    return ReviewState(
        id=f"support-{week}",
        workflow="support",
        week=week,
        owner="bo",
        status=status,
        opened_at=t("2026-11-02 08:00"),
        due=date(2026, 11, 5),
        breaches=("throughput",),
    )


# -- opening risk reviews ---------------------------------------------------------------------


def test_two_consecutive_weeks_needed_opens_a_review_for_the_second_week_only() -> None:
    reg = registry(THRESHOLDS, consecutive_weeks=2)
    one = [week_score("2026-W45", "throughput")]
    assert reviews_to_open(reg, "support", one, [], OPENED) == []

    two = [*one, week_score("2026-W46", "throughput")]
    assert reviews_to_open(reg, "support", two, [], OPENED) == [
        ReviewState(
            id="support-2026-W46",
            workflow="support",
            week="2026-W46",
            owner="bo",  # the risk owner
            status="open",
            opened_at=OPENED,
            due=date(2026, 11, 20),  # Tuesday 17 November + 3 days
            breaches=("throughput",),
        )
    ]


def test_the_same_metric_must_breach_in_each_week_of_the_run() -> None:
    reg = registry(THRESHOLDS, consecutive_weeks=2)
    changing = [week_score("2026-W45", "throughput"), week_score("2026-W46", "rework_volume")]
    assert reviews_to_open(reg, "support", changing, [], OPENED) == []

    lasting = [
        week_score("2026-W45", "throughput", "rework_volume"),
        week_score("2026-W46", "rework_volume", "unauthorized_changes"),
    ]
    (opened,) = reviews_to_open(reg, "support", lasting, [], OPENED)
    assert opened.breaches == ("rework_volume",)


@pytest.mark.parametrize(
    "scores",
    [
        [week_score("2026-W44", "throughput"), week_score("2026-W46", "throughput")],
        [
            week_score("2026-W44", "throughput"),
            week_score("2026-W45"),
            week_score("2026-W46", "throughput"),
        ],
        [
            week_score("2026-W44", "throughput"),
            week_score("2026-W45", has_data=False),
            week_score("2026-W46", "throughput"),
        ],
    ],
    ids=["missing week", "week without breach", "week without data"],
)
def test_a_week_that_does_not_breach_breaks_the_run(scores: list[WeekScore]) -> None:
    assert (
        reviews_to_open(registry(THRESHOLDS, consecutive_weeks=2), "support", scores, [], OPENED)
        == []
    )


def test_re_evaluating_never_duplicates_a_review_whatever_its_status() -> None:
    reg = registry(THRESHOLDS, consecutive_weeks=1)
    scores = [week_score("2026-W45", "throughput"), week_score("2026-W46", "throughput")]
    first = reviews_to_open(reg, "support", scores, [], OPENED)
    assert [r.id for r in first] == ["support-2026-W45", "support-2026-W46"]
    assert reviews_to_open(reg, "support", scores, first, t("2026-11-18 08:00")) == []

    closed = [replace(r, status="closed") for r in first]
    assert reviews_to_open(reg, "support", scores, closed, t("2026-11-18 08:00")) == []
    assert reviews_to_open(reg, "support", scores * 2, [], OPENED) == first


def test_no_review_for_a_week_still_in_progress() -> None:
    reg = registry(THRESHOLDS)
    scores = [week_score("2026-W47", "throughput")]
    assert reviews_to_open(reg, "support", scores, [], t("2026-11-22 23:59")) == []
    week_end = week_bounds("2026-W47", BERLIN)[1]  # Monday 00:00 in Berlin
    (opened,) = reviews_to_open(reg, "support", scores, [], week_end)
    assert opened.week == "2026-W47"


def test_due_date_counts_days_in_the_registry_time_zone() -> None:
    scores = [week_score("2026-W45", "throughput")]
    late_evening_utc = datetime.fromisoformat("2026-11-16T23:30:00+00:00")  # Tue 00:30 Berlin
    (default,) = reviews_to_open(registry(THRESHOLDS), "support", scores, [], late_evening_utc)
    assert default.due == date(2026, 11, 20)
    (five,) = reviews_to_open(
        registry(THRESHOLDS, due_days=5), "support", scores, [], late_evening_utc
    )
    assert five.due == date(2026, 11, 22)


def test_scores_are_read_in_week_order_and_other_workflows_ignored() -> None:
    reg = registry(THRESHOLDS, consecutive_weeks=2)
    scores = [
        week_score("2026-W46", "throughput"),
        replace(week_score("2026-W44", "throughput"), workflow="renewals"),
        week_score("2026-W45", "throughput"),
    ]
    assert [r.week for r in reviews_to_open(reg, "support", scores, [], OPENED)] == ["2026-W46"]


def test_opened_at_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        reviews_to_open(registry(THRESHOLDS), "support", [], [], datetime(2026, 11, 17))


def test_scorecard_to_review_end_to_end() -> None:
    """Throughput 1 against a minimum of 2 in W45 and W46, with consecutive_weeks 2."""
    reg = registry("{throughput: {min: 2}}", consecutive_weeks=2)
    items = [resolved("SUP-1", "2026-11-03"), resolved("SUP-2", "2026-11-10")]
    scores = score_weeks(reg, "support", items, [], set(), ["2026-W45", "2026-W46"])
    assert [s.breaches for s in scores] == [("throughput",), ("throughput",)]
    (opened,) = reviews_to_open(reg, "support", scores, [], OPENED)
    assert (opened.id, opened.breaches) == ("support-2026-W46", ("throughput",))


# -- thresholds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "value", "expected"),
    [
        (Threshold(min=15), 15, False),
        (Threshold(min=15), 14, True),
        (Threshold(max=0.2), 0.2, False),
        (Threshold(max=0.2), 0.2000001, True),
        (Threshold(min=-0.1, max=0.1), -0.1, False),
        (Threshold(min=-0.1, max=0.1), 0.1, False),
        (Threshold(min=0), None, False),
        (Threshold(max=0), None, False),
    ],
    ids=[
        "at min",
        "below min",
        "at max",
        "above max",
        "at both ends (min)",
        "at both ends (max)",
        "None vs min",
        "None vs max",
    ],
)
def test_breach_is_strictly_outside_the_limits(
    threshold: Threshold, value: float | None, expected: bool
) -> None:
    assert is_breach(threshold, value) is expected


def test_metrics_without_threshold_never_breach() -> None:
    workflow = registry("{throughput: {min: 2}}").workflows["support"]
    values = {"throughput": 1, "rework_volume": 99, "unauthorized_changes": 99}
    assert breaches(workflow, values) == ("throughput",)


# -- recommended decision ---------------------------------------------------------------------


def _recommend(score: WeekScore, thresholds: str = THRESHOLDS) -> tuple[str, str]:
    return recommend(registry(thresholds), "support", score, [], [])


@pytest.mark.parametrize(
    ("thresholds", "metric", "value", "decision", "rule"),
    [
        (
            "{unauthorized_changes: {max: 0}}",
            "unauthorized_changes",
            1,
            "stabilize",
            "stabilize: unauthorized_changes is 1, above its maximum of 0",
        ),
        (
            "{unauthorized_changes: {max: 0}}",
            "unauthorized_changes",
            2,
            "pause",
            "pause: unauthorized_changes is 2, at least twice its limit of 0 (≥ 2)",
        ),
        (
            "{unauthorized_changes: {max: 0}}",
            "unauthorized_changes",
            6,
            "pause",
            "pause: unauthorized_changes is 6, at least twice its limit of 0 (≥ 2)",
        ),
        (
            "{unauthorized_changes: {max: 3}}",
            "unauthorized_changes",
            5,
            "stabilize",
            "stabilize: unauthorized_changes is 5, above its maximum of 3",
        ),
        (
            "{unauthorized_changes: {max: 3}}",
            "unauthorized_changes",
            6,
            "pause",
            "pause: unauthorized_changes is 6, at least twice its limit of 3 (≥ 6)",
        ),
        (
            "{exception_rate: {max: 0.2}}",
            "exception_rate",
            0.4,
            "pause",
            "pause: exception_rate is 0.4, at least twice its limit of 0.2 (≥ 0.4)",
        ),
        (
            "{exception_rate: {max: 0.2}}",
            "exception_rate",
            0.39,
            "stabilize",
            "stabilize: exception_rate is 0.39, above its maximum of 0.2",
        ),
        (
            "{exception_rate: {max: 0}}",
            "exception_rate",
            1.5,
            "stabilize",
            "stabilize: exception_rate is 1.5, above its maximum of 0",
        ),
        (
            "{exception_rate: {max: 0}}",
            "exception_rate",
            2.0,
            "pause",
            "pause: exception_rate is 2, at least twice its limit of 0 (≥ 2)",
        ),
        (
            "{rework_volume: {max: 1}}",
            "rework_volume",
            40,
            "stabilize",
            "stabilize: rework_volume is 40, above its maximum of 1",
        ),
    ],
    ids=[
        "max 0, value 1: stabilize",
        "max 0, value 2: pause",
        "max 0, value 6: pause",
        "max 3, value 5 (just under 2x): stabilize",
        "max 3, value 6 (exactly 2x): pause",
        "rate max 0.2, value 0.4 (exactly 2x): pause",
        "rate max 0.2, value 0.39: stabilize",
        "rate max 0, value 1.5: stabilize",
        "rate max 0, value 2: pause",
        "other metrics never pause",
    ],
)
def test_pause_needs_twice_the_limit(
    thresholds: str, metric: str, value: float, decision: str, rule: str
) -> None:
    changed: dict[str, Any] = {metric: value}
    score = replace(week_score("2026-W45", metric), **changed)
    assert _recommend(score, thresholds) == (decision, rule)


def test_stabilize_names_every_breach_and_continue_needs_none() -> None:
    score = week_score("2026-W45", "throughput", "rework_volume", throughput=1, rework_volume=3)
    assert _recommend(score) == (
        "stabilize",
        "stabilize: throughput is 1, below its minimum of 2; rework_volume is 3, "
        "above its maximum of 0",
    )
    assert _recommend(week_score("2026-W45")) == (
        "continue",
        "continue: no metric breaches its threshold",
    )
    assert _recommend(week_score("2026-W45", has_data=False))[0] == "continue"


STOP_RUN = [
    week_score("2026-W45", "throughput", throughput=1),
    week_score("2026-W46", "throughput", throughput=1),
    week_score("2026-W47", "throughput", throughput=1),
]


@pytest.mark.parametrize("status", ["open", "acknowledged"])
def test_stop_when_a_review_stays_open_with_breaches_for_three_weeks(status: str) -> None:
    reg = registry(THRESHOLDS)
    reviews = [review("2026-W45", status)]
    w45, w46, w47 = STOP_RUN
    assert recommend(reg, "support", w46, [w45], reviews)[0] == "stabilize"  # two weeks
    assert recommend(reg, "support", w47, [w45, w46], reviews) == (
        "stop",
        "stop: risk review support-2026-W45 has stayed open with breaches for 3 consecutive "
        "weeks (2026-W45 to 2026-W47)",
    )


def test_stop_wins_over_pause() -> None:
    w45, w46, _ = STOP_RUN
    w47 = week_score("2026-W47", "unauthorized_changes", unauthorized_changes=6)
    decision, _ = recommend(registry(THRESHOLDS), "support", w47, [w45, w46], [review("2026-W45")])
    assert decision == "stop"


@pytest.mark.parametrize(
    ("history", "reviews"),
    [
        (STOP_RUN[:2], [review("2026-W45", "closed")]),
        ([STOP_RUN[0], week_score("2026-W46")], [review("2026-W45")]),
        ([STOP_RUN[0]], [review("2026-W45")]),
        (STOP_RUN[:2], [review("2026-W46")]),
        (STOP_RUN[:2], [replace(review("2026-W45"), workflow="renewals")]),
    ],
    ids=[
        "review closed",
        "a week without breach",
        "a week missing from history",
        "review open only two weeks",
        "review of another workflow",
    ],
)
def test_no_stop(history: list[WeekScore], reviews: list[ReviewState]) -> None:
    decision, _ = recommend(registry(THRESHOLDS), "support", STOP_RUN[2], history, reviews)
    assert decision == "stabilize"


def test_score_weeks_recommends_stop_even_when_asked_for_one_week() -> None:
    """The stop rule needs the weeks since the review; score_weeks scores them itself."""
    reg = registry("{throughput: {min: 2}}")
    items = [
        resolved("SUP-1", "2026-11-03"),
        resolved("SUP-2", "2026-11-10"),
        resolved("SUP-3", "2026-11-17"),
    ]
    (alone,) = score_weeks(reg, "support", items, [], set(), ["2026-W47"], [review("2026-W45")])
    assert alone.recommendation == "stop"
    assert alone.recommendation_rule.startswith("stop: risk review support-2026-W45")
    (without,) = score_weeks(reg, "support", items, [], set(), ["2026-W47"])
    assert without.recommendation == "stabilize"
