"""What the digest says, decided by `rules.digest` from plain facts (no database, no network)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from rules.digest import (
    TOP_CHANGES,
    DeadAlert,
    DecisionRecord,
    DigestInputs,
    build_digest,
    format_change,
    format_value,
)
from rules.facts import Finding, ReviewState, WeekScore
from rules.registry import METRICS, Registry
from tests.digest.conftest import EXAMPLE

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 Berlin, after W47


@pytest.fixture(scope="module")
def registry() -> Registry:
    from accountability.config.registry_file import load_registry_file

    return load_registry_file(EXAMPLE).registry


def score(workflow: str, week: str, *, breaches: tuple[str, ...] = (),
          recommendation: str = "continue", **values: float | int | None) -> WeekScore:
    base = WeekScore(workflow=workflow, week=week, throughput=30, quality_trend=0.0,
                     exception_rate=0.1, rework_volume=1, decision_latency_hours=5.0,
                     decision_latency_p90_hours=9.0, unauthorized_changes=0, breaches=breaches,
                     recommendation=recommendation,
                     recommendation_rule=f"{recommendation}: the rule")
    return replace(base, **values)  # type: ignore[arg-type]


def weeks_of(workflow: str, *weeks: str) -> list[WeekScore]:
    return [score(workflow, week) for week in weeks]


def inputs(week: str = "2026-W47", **fields: object) -> DigestInputs:
    return DigestInputs(week=week, now=NOW, **fields)  # type: ignore[arg-type]


def workflow_of(digest: object, workflow: str) -> object:
    return next(w for w in digest.workflows if w.id == workflow)  # type: ignore[attr-defined]


def test_every_workflow_and_metric_with_value_threshold_and_change(registry: Registry) -> None:
    scores = [score("support", "2026-W46", throughput=34),
              score("support", "2026-W47", throughput=13, breaches=("throughput",),
                    recommendation="stabilize")]
    digest = build_digest(registry, inputs(scores=scores))
    assert [w.id for w in digest.workflows] == list(registry.workflows)
    support = workflow_of(digest, "support")
    assert [m.metric for m in support.metrics] == list(METRICS)
    throughput = support.metrics[0]
    assert (throughput.value, throughput.threshold, throughput.change, throughput.change_text,
            throughput.breached) == (13, "min 15", -21, "-21", True)
    latency = support.metrics[4]
    assert latency.p90 == 9.0 and latency.change_text == "no change"
    assert support.recommendation == "stabilize"
    assert digest.subject == ("Accountability digest 2026-W47: 1 workflow to stabilize, "
                              "no data for 2 workflows")


def test_a_week_without_data_says_so_instead_of_zeros(registry: Registry) -> None:
    digest = build_digest(registry, inputs(week="2026-W48", scores=weeks_of(
        "support", "2026-W46", "2026-W47")))
    support = workflow_of(digest, "support")
    assert not support.has_data and support.recommendation is None
    assert support.last_data_week == "2026-W47"
    # the metrics carry only the trend (for the chart): no value, no change, no breach
    assert all(m.value is None and m.change is None and not m.breached for m in support.metrics)
    assert support.metrics[0].trend[-1] is None  # the digest week is a gap, not a zero
    renewals = workflow_of(digest, "renewals")
    assert renewals.metrics == () and renewals.trend_weeks == ()
    assert digest.subject == "Accountability digest 2026-W48: no data for 3 workflows"


def test_a_stored_row_that_measured_nothing_is_no_data(registry: Registry) -> None:
    empty = replace(score("support", "2026-W47"), throughput=0, exception_rate=None,
                    quality_trend=None, decision_latency_hours=None, has_data=False)
    digest = build_digest(registry, inputs(scores=[empty]))
    assert not workflow_of(digest, "support").has_data


def test_a_workflow_added_mid_history_trends_from_its_first_week_with_gaps_as_none(
    registry: Registry,
) -> None:
    scores = weeks_of("support", "2026-W44", "2026-W46", "2026-W47")  # W45 missing
    support = workflow_of(build_digest(registry, inputs(scores=scores)), "support")
    assert support.trend_weeks == ("2026-W44", "2026-W45", "2026-W46", "2026-W47")
    assert support.metrics[0].trend == (30, None, 30, 30)
    full = workflow_of(build_digest(registry, inputs(scores=weeks_of(
        "support", *[f"2026-W{n}" for n in range(30, 48)]))), "support")
    assert len(full.trend_weeks) == 8 and full.trend_weeks[0] == "2026-W40"


def test_change_needs_last_week_measured(registry: Registry) -> None:
    support = workflow_of(build_digest(registry, inputs(scores=weeks_of("support", "2026-W47"))),
                          "support")
    assert {m.change_text for m in support.metrics} == {"no data in 2026-W46"}


def test_last_weeks_decision_beside_what_followed(registry: Registry) -> None:
    scores = [score("support", "2026-W46", breaches=("throughput", "exception_rate"),
                    recommendation="pause"),
              score("support", "2026-W47", breaches=("exception_rate", "rework_volume"),
                    recommendation="stabilize")]
    decided = DecisionRecord("support", "2026-W46", "stabilize", "dana", "Hire two agents",
                             datetime(2026, 11, 17, 9, tzinfo=UTC))
    support = workflow_of(build_digest(registry, inputs(scores=scores, decisions=[decided])),
                          "support")
    follow = support.follow_up
    assert follow is not None and (follow.decision, follow.by_name, follow.recommended) == (
        "stabilize", "Dana Ruiz", "pause")
    assert (follow.cleared, follow.still, follow.new) == (
        ("throughput",), ("exception_rate",), ("rework_volume",))
    assert follow.outcome == ("1 of 2 breaches of 2026-W46 cleared in 2026-W47 (throughput); "
                              "still breaching: exception_rate; new: rework_volume.")
    assert support.no_decision is None


def test_all_breaches_cleared(registry: Registry) -> None:
    scores = [score("support", "2026-W46", breaches=("throughput", "rework_volume")),
              score("support", "2026-W47")]
    decided = [DecisionRecord("support", "2026-W46", "pause", "maria", None, NOW),
               DecisionRecord("support", "2026-W46", "stabilize", "dana", None,
                              datetime(2026, 11, 18, tzinfo=UTC))]
    follow = workflow_of(build_digest(registry, inputs(scores=scores, decisions=decided)),
                         "support").follow_up
    assert follow is not None and follow.decision == "pause"  # the latest recorded
    assert follow.outcome == ("All 2 breaches of 2026-W46 cleared in 2026-W47 "
                              "(throughput, rework_volume).")


def test_no_decision_taken_after_two_weeks_with_breaches(registry: Registry) -> None:
    scores = [score("support", "2026-W46", breaches=("throughput",), recommendation="stabilize"),
              score("support", "2026-W47")]
    digest = build_digest(registry, inputs(scores=scores))
    support = workflow_of(digest, "support")
    assert support.no_decision is not None and "2026-W46 or 2026-W47" in support.no_decision
    assert support.last_week_note is None  # the call-out says it
    assert "1 with no decision taken" in digest.subject
    # a decision for either week answers it
    for week in ("2026-W46", "2026-W47"):
        decided = [DecisionRecord("support", week, "continue", "dana", None, NOW)]
        assert workflow_of(build_digest(registry, inputs(scores=scores, decisions=decided)),
                           "support").no_decision is None
    # a breach first seen this week is not called out yet: its decision is due after the digest
    fresh = [score("support", "2026-W46"),
             score("support", "2026-W47", breaches=("throughput",), recommendation="stabilize")]
    assert workflow_of(build_digest(registry, inputs(scores=fresh)), "support").no_decision is None


def test_open_and_overdue_risk_reviews(registry: Registry) -> None:
    def review(rid: str, week: str, status: str, due: date) -> ReviewState:
        return ReviewState(id=rid, workflow="support", week=week, owner="lee", status=status,
                           opened_at=NOW, due=due, breaches=("throughput",))

    reviews = [review("late", "2026-W45", "open", date(2026, 11, 20)),
               review("due-today", "2026-W46", "open", date(2026, 11, 23)),
               review("acked", "2026-W44", "acknowledged", date(2026, 11, 1)),
               review("closed", "2026-W43", "closed", date(2026, 11, 1)),
               review("later", "2026-W48", "open", date(2026, 12, 1))]
    digest = build_digest(registry, inputs(reviews=reviews))
    assert [(r.id, r.overdue, r.days_overdue) for r in digest.reviews] == [
        ("late", True, 3), ("acked", False, 0), ("due-today", False, 0)]
    assert digest.reviews[0].owner_name == "Lee Okafor"
    assert "3 risk reviews open" in digest.subject


def test_top_unauthorized_changes_of_the_week_and_churn(registry: Registry) -> None:
    def change(n: int, at: datetime, kind: str = "unauthorized_change") -> Finding:
        return Finding(key=f"{kind}:{n}", type=kind, workflow="support", item=f"SUP-{n}", at=at,
                       reason=f"reason {n}", actor="sam", from_ids=("sam",), to_ids=("nina",),
                       details={"url": f"https://acme.atlassian.net/browse/SUP-{n}",
                                "title": f"title {n}", "owners": ["sam", "nina", "sam"],
                                "changes": 3})

    in_week = [change(n, datetime(2026, 11, 17, n, tzinfo=UTC)) for n in range(12, 0, -1)]
    outside = [change(99, datetime(2026, 11, 15, 22, 59, tzinfo=UTC)),  # Sunday 23:59 Berlin
               change(98, datetime(2026, 11, 22, 23, 0, tzinfo=UTC))]  # Monday 00:00 Berlin
    churn = [change(50, datetime(2026, 11, 18, tzinfo=UTC), "ownership_churn")]
    digest = build_digest(registry, inputs(findings=in_week + outside + churn))
    assert digest.changes_total == 12 and len(digest.changes) == TOP_CHANGES
    assert [c.item for c in digest.changes] == [f"SUP-{n}" for n in range(1, 11)]  # oldest first
    first = digest.changes[0]
    assert (first.url, first.actor, first.from_names, first.to_names) == (
        "https://acme.atlassian.net/browse/SUP-1", "Sam Rivera", ("Sam Rivera",),
        ("Nina Petrova",))
    assert digest.churn_total == 1 and digest.churn[0].owners == ("sam", "nina", "sam")


def test_registry_gaps_and_dead_alerts(registry: Registry) -> None:
    gap = Finding(key="registry_gap:1", type="registry_gap", workflow="support", item=None,
                  at=NOW, reason="jira:abc is not in the registry")
    dead = DeadAlert(id=7, kind="risk_review", workflow="support", channel="slack",
                     recipient="webhook", attempts=8, error="slack: 404 no_service",
                     created_at=NOW)
    digest = build_digest(registry, inputs(findings=[gap], dead_alerts=[dead],
                                           registry_warnings=["registry warning: x"]))
    assert [g.reason for g in digest.gaps] == ["jira:abc is not in the registry",
                                               "registry warning: x"]
    assert digest.dead_total == 1 and digest.dead_alerts[0].error == "slack: 404 no_service"


@pytest.mark.parametrize(("metric", "value", "text"), [
    ("throughput", 13, "13"), ("exception_rate", 0.7692307, "0.77"),
    ("quality_trend", -0.3384, "-0.34"), ("decision_latency_hours", None, "—"),
])
def test_format_value(metric: str, value: float | None, text: str) -> None:
    assert format_value(metric, value) == text


def test_format_change() -> None:
    assert format_change("throughput", -21) == "-21"
    assert format_change("exception_rate", 0.001) == "no change"
    assert format_change("exception_rate", 0.68) == "+0.68"


def test_a_malformed_week_or_naive_time_is_refused(registry: Registry) -> None:
    with pytest.raises(ValueError, match="ISO week"):
        build_digest(registry, inputs(week="2026-48"))
    with pytest.raises(ValueError, match="aware"):
        build_digest(registry, DigestInputs(week="2026-W47", now=datetime(2026, 11, 23),
                                            scores=()))
