"""The metric table (`rules.metrics`) agrees with what it names: the `WeekScore` fields, the
`scorecards` columns and the registry's threshold keys, which all go by the metric's name."""

from __future__ import annotations

from dataclasses import fields

import pytest

from rules import metrics
from rules.facts import WeekScore
from rules.metrics import METRIC_NAMES, METRICS, Direction, Metric, Unit
from rules.registry import METRICS as THRESHOLD_KEYS
from rules.reviews import PAUSE_METRICS
from storage.models import Scorecard

SCORE = WeekScore(workflow="support", week="2026-W46", throughput=11, quality_trend=-0.25,
                  exception_rate=0.5, rework_volume=3, decision_latency_hours=12.5,
                  decision_latency_p90_hours=40.0, unauthorized_changes=2, breaches=(),
                  recommendation="continue", recommendation_rule="")


@pytest.mark.parametrize("metric", METRICS, ids=METRIC_NAMES)
def test_the_name_is_the_field_and_the_column(metric: Metric) -> None:
    assert metric.name in {f.name for f in fields(WeekScore)}
    assert metric.name in Scorecard.__table__.c
    assert metric.read(SCORE) == getattr(SCORE, metric.name)
    if metric.spread is not None:
        assert metric.spread.name in Scorecard.__table__.c
        assert metric.spread.read(SCORE) == getattr(SCORE, metric.spread.name)


def test_the_registry_accepts_exactly_the_metrics_of_the_table() -> None:
    assert THRESHOLD_KEYS == METRIC_NAMES
    assert len(set(METRIC_NAMES)) == len(METRICS)


def test_pause_metrics_are_metrics_where_too_high_is_bad() -> None:
    """The pause rule compares with `max`: a MIN metric could never pause."""
    assert all(metrics.metric(name).direction is Direction.MAX for name in PAUSE_METRICS)


def test_values_in_table_order() -> None:
    assert list(metrics.values(SCORE)) == list(METRIC_NAMES)
    assert metrics.values(SCORE)["rework_volume"] == 3


def test_formatting_follows_the_unit() -> None:
    count = metrics.metric("throughput")
    ratio = metrics.metric("exception_rate")
    assert count.unit is Unit.COUNT and ratio.unit is Unit.RATIO
    assert (count.format(11), ratio.format(0.5), ratio.format(None)) == ("11", "0.50", "—")
    assert (count.format_change(-21), count.format_change(0)) == ("-21", "no change")
    assert (ratio.format_change(0.001), ratio.format_change(0.68)) == ("no change", "+0.68")


def test_an_unknown_name_says_which_are_known() -> None:
    with pytest.raises(KeyError, match="throughput, quality_trend"):
        metrics.metric("velocity")
