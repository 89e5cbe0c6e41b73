"""The six scorecard metrics (SPEC §5) as one table, read by everything that names a metric.

A metric used to be spelled out in a dozen places — the registry's list of threshold keys, the
breach order, the digest's labels and hints (and which metrics are counts), the escalation
map's labels, the CLI's columns, a name → value mapping written twice. Now it is one `Metric`
row in `METRICS`; the registry, `rules.reviews`, `rules.digest`, `rules.escalation_map`,
`accountability.views` and storage's scorecard reader walk the table instead.

What stays per metric, because it cannot be data: its computation (`rules.scorecard`), the
`WeekScore` field that carries it, and the `scorecards` column that stores it (with its
migration). All three are spelled exactly as `Metric.name`, which is also the SPEC name, the
registry threshold key and the JSON key: storage copies score ↔ row by field name, so a
metric needs no code there (`tests/rules/test_metrics.py` checks the three agree).

The order of `METRICS` is the SPEC's, and every list follows it: breaches, review triggers,
digest lines, chart panels, CLI columns, JSON keys.

Pure: no I/O, nothing from `storage`, `connectors`, `flows` or `accountability`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from rules.facts import WeekScore

Value = float | int | None
"""A metric's value in one week; None when it cannot be measured (no items to rate)."""

NOT_MEASURED: Final = "—"


class Unit(StrEnum):
    """What a value counts, which decides how every view writes it."""

    COUNT = "count"
    """Events in the week: written as an integer, a change as `+3`."""
    RATIO = "ratio"
    """A share or a per-item rate: two decimals."""
    HOURS = "hours"
    """A duration in hours: two decimals."""

    @property
    def whole(self) -> bool:
        return self is Unit.COUNT


class Direction(StrEnum):
    """Which way is bad: the bound that guards the metric in a typical registry."""

    MIN = "min"
    """Too low is bad (throughput, quality): guarded by a `min`."""
    MAX = "max"
    """Too high is bad (exceptions, rework, latency, unauthorized changes): a `max`."""


@dataclass(frozen=True, slots=True)
class Spread:
    """A statistic shown beside a metric and never judged: decision latency's p90."""

    name: str
    """Its `WeekScore` field, `scorecards` column and JSON key."""
    read: Callable[[WeekScore], float | None]


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric: its name and how every view shows it.

    `read` is a typed getter rather than `getattr(score, name)`, so renaming a `WeekScore`
    field is a type error here, not a KeyError in a digest at 7 a.m.
    """

    name: str
    """SPEC name, registry threshold key, `WeekScore` field, `scorecards` column, JSON key."""
    label: str
    """The digest's and the charts' label, units in brackets: `Decision latency (h)`."""
    long_label: str
    """The escalation map's label, which has room to say what is compared with what."""
    column: str
    """The header of its column in `accountability scorecard`'s table."""
    unit: Unit
    direction: Direction
    hint: str
    """One line saying what is counted, under the label in the digest."""
    read: Callable[[WeekScore], Value]
    spread: Spread | None = None

    def format(self, value: Value) -> str:
        """Counts as integers, ratios and hours with two decimals; None as "—"."""
        if value is None:
            return NOT_MEASURED
        if self.unit.whole:
            return str(int(value))
        return f"{float(value):.2f}"

    def format_change(self, change: Value) -> str:
        """A week-on-week change: `+3`, `-0.66`, `no change` (after rounding), or "—"."""
        if change is None:
            return NOT_MEASURED
        if self.unit.whole:
            whole = int(change)
            return "no change" if whole == 0 else f"{whole:+d}"
        return "no change" if round(float(change), 2) == 0 else f"{float(change):+.2f}"


METRICS: Final[tuple[Metric, ...]] = (
    Metric(
        name="throughput",
        label="Throughput",
        long_label="Throughput (items done / week)",
        column="thru",
        unit=Unit.COUNT,
        direction=Direction.MIN,
        hint="items resolved in the week",
        read=lambda score: score.throughput,
    ),
    Metric(
        name="quality_trend",
        label="Quality trend",
        long_label="Quality trend (vs. 4-week mean)",
        column="quality Δ",
        unit=Unit.RATIO,
        direction=Direction.MIN,
        hint="share not reopened, minus the mean of the 4 weeks before",
        read=lambda score: score.quality_trend,
    ),
    Metric(
        name="exception_rate",
        label="Exception rate",
        long_label="Exception rate",
        column="exceptions",
        unit=Unit.RATIO,
        direction=Direction.MAX,
        hint="incidents and escalations per resolved item",
        read=lambda score: score.exception_rate,
    ),
    Metric(
        name="rework_volume",
        label="Rework volume",
        long_label="Rework volume",
        column="rework",
        unit=Unit.COUNT,
        direction=Direction.MAX,
        hint="reopens and work handed back to an earlier owner",
        read=lambda score: score.rework_volume,
    ),
    Metric(
        name="decision_latency_hours",
        label="Decision latency (h)",
        long_label="Decision latency (median hours)",
        column="latency h (p90)",
        unit=Unit.HOURS,
        direction=Direction.MAX,
        hint="median hours to a decision or an acknowledgement",
        read=lambda score: score.decision_latency_hours,
        spread=Spread("decision_latency_p90_hours",
                      lambda score: score.decision_latency_p90_hours),
    ),
    Metric(
        name="unauthorized_changes",
        label="Unauthorized changes",
        long_label="Unauthorized ownership changes",
        column="unauth.",
        unit=Unit.COUNT,
        direction=Direction.MAX,
        hint="ownership changes made without authority",
        read=lambda score: score.unauthorized_changes,
    ),
)

METRIC_NAMES: Final[tuple[str, ...]] = tuple(metric.name for metric in METRICS)

_BY_NAME: Final[Mapping[str, Metric]] = {metric.name: metric for metric in METRICS}


def metric(name: str) -> Metric:
    """The row of `name`; KeyError listing the known names (a name outside the table is a
    bug: the registry refuses unknown threshold keys when it loads)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown metric '{name}' (metrics: {', '.join(METRIC_NAMES)})") from None


def values(score: WeekScore) -> dict[str, Value]:
    """The metrics of a score by name, in table order."""
    return {metric.name: metric.read(score) for metric in METRICS}


def plain_number(value: float) -> str:
    """15.0 → '15', 0.2 → '0.2', -0.1 → '-0.1', 1/3 → '0.333' (never an exponent): a
    threshold or a value as a sentence quotes it, as the registry writes it."""
    rounded = round(float(value), 3)
    return str(int(rounded)) if rounded.is_integer() else f"{rounded:.3f}".rstrip("0")
