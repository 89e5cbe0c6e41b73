"""A workflow's baseline and the thresholds it suggests (SPEC §12, `accountability baseline`).

The first month of a reset asks "what is normal for this workflow?" before anyone sets
thresholds: a threshold picked from thin air either breaches every week (and the reviews it
opens are ignored) or never does. The baseline answers from the workflow's own finished weeks:
per metric the median, quartiles and range, and a proposed threshold with the rule that
produced it and how many of those weeks it would have breached. The product proposes; a person
edits the registry (`--patch` writes a diff of the `scorecard` block, never the file itself).

Everything about a metric — which bound guards it, how finely it is counted — is read from its
row in `rules.metrics`, so a seventh metric gets a proposal without a line here. The one metric
named is `unauthorized_changes`: its threshold is a policy (none is acceptable), not a
statistic of how often it happened.

Pure: scores and registry text in, summaries and diff text out.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from rules.facts import WeekScore
from rules.metrics import METRICS, Direction, Metric, Unit, plain_number
from rules.registry.models import Threshold
from rules.registry.parse import parse_yaml

MIN_WEEKS: Final = 4
"""Finished weeks with data a baseline needs (SPEC §12); fewer say little about "normal"."""

DEFAULT_WEEKS: Final = 8
"""How many finished weeks back the baseline looks by default."""

POLICY_METRIC: Final = "unauthorized_changes"
POLICY_MAX: Final = 0
"""Unauthorized changes are never "normal", however often they happened in the baseline."""

MAX_PERCENTILE: Final = 0.90
MIN_PERCENTILE: Final = 0.10

STEPS: Final[Mapping[Unit, Fraction]] = {
    Unit.COUNT: Fraction(1),       # whole items
    Unit.HOURS: Fraction(1, 2),    # half hours
    Unit.RATIO: Fraction(1, 100),  # two decimals
}
"""The grain a proposed threshold is rounded to, by the metric's unit (SPEC §12)."""


class NotEnoughWeeksError(ValueError):
    """Fewer finished weeks with data than a baseline needs; the message says how many."""

    def __init__(self, workflow: str, have: int, needed: int, weeks: int) -> None:
        super().__init__(
            f"workflow '{workflow}' has {have} finished week(s) with data in the last {weeks}; "
            f"a baseline needs at least {needed}")
        self.have, self.needed = have, needed


def percentile(values: Sequence[float], p: float) -> float:
    """The `p` quantile (0 ≤ p ≤ 1) by linear interpolation between closest ranks: rank
    h = p·(n−1) counted from 0, between the values ranked ⌊h⌋ and ⌈h⌉ (numpy's default,
    Excel's PERCENTILE.INC). Interpolating means eight weeks give a p90 between the two
    highest instead of simply the highest."""
    if not values:
        raise ValueError("a percentile of no values")
    if not 0 <= p <= 1:
        raise ValueError(f"percentile {p} is outside 0..1")
    ordered = sorted(values)
    rank = p * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


def round_outward(value: float, unit: Unit, direction: Direction) -> float:
    """`value` on the unit's grain, away from the weeks it summarises: a `max` up, a `min`
    down, so rounding never makes a proposed threshold stricter than its percentile.

    Exact arithmetic on the value as written to 9 decimals: 0.2 is 0.2000000000000000111 as a
    float, and rounding that up to hundredths would give 0.21."""
    step = STEPS[unit]
    exact = Fraction(f"{value:.9f}") / step
    whole = math.ceil(exact) if direction is Direction.MAX else math.floor(exact)
    result = whole * step
    return float(result) if step.denominator != 1 else int(result)


@dataclass(frozen=True, slots=True)
class Summary:
    """The spread of one metric over the baseline weeks that measured it."""

    weeks: int
    median: float
    q1: float
    q3: float
    min: float
    max: float


@dataclass(frozen=True, slots=True)
class MetricBaseline:
    """One metric: its spread, the proposed threshold, the rule behind it, what it implies."""

    metric: Metric
    values: tuple[tuple[str, float], ...]
    """(week, value) of the baseline weeks that measured the metric, oldest first."""
    summary: Summary | None
    """None when too few weeks measured it (a null, e.g. no decision waited)."""
    proposed: float | None
    """The proposed bound on the metric's side (`metric.direction`), or None: keep as is."""
    rule: str
    """The sentence that produced the proposal (or says why there is none)."""
    breached_weeks: tuple[str, ...]
    """Baseline weeks whose value would breach the proposal (exactly at it does not)."""

    @property
    def direction(self) -> Direction:
        return self.metric.direction

    @property
    def breaches(self) -> int:
        return len(self.breached_weeks)


@dataclass(frozen=True, slots=True)
class Baseline:
    workflow: str
    weeks: tuple[str, ...]
    """The finished weeks looked at (`--weeks` of them), oldest first."""
    weeks_with_data: tuple[str, ...]
    metrics: tuple[MetricBaseline, ...]


def _breached(value: float, bound: float, direction: Direction) -> bool:
    return value > bound if direction is Direction.MAX else value < bound


def metric_baseline(metric: Metric, scores: Sequence[WeekScore]) -> MetricBaseline:
    """The baseline of one metric over `scores` (weeks with data, oldest first)."""
    measured = tuple((s.week, v) for s in scores if (v := metric.read(s)) is not None)
    numbers = [v for _, v in measured]
    summary = None
    if len(numbers) >= 1:
        summary = Summary(len(numbers), percentile(numbers, 0.5), percentile(numbers, 0.25),
                          percentile(numbers, 0.75), min(numbers), max(numbers))
    bound = metric.direction.value
    if metric.name == POLICY_METRIC:
        proposed: float | None = POLICY_MAX
        rule = (f"{bound}: {POLICY_MAX} — a policy, not a statistic: no ownership change "
                "without authority is acceptable")
    elif len(numbers) < MIN_WEEKS:
        proposed = None
        rule = (f"no proposal: {len(numbers)} baseline week(s) measured it, at least "
                f"{MIN_WEEKS} needed; the current threshold stays")
    else:
        p = MAX_PERCENTILE if metric.direction is Direction.MAX else MIN_PERCENTILE
        raw = percentile(numbers, p)
        proposed = round_outward(raw, metric.unit, metric.direction)
        grain = {Unit.COUNT: "whole items", Unit.HOURS: "0.5 h",
                 Unit.RATIO: "0.01"}[metric.unit]
        way = "up" if metric.direction is Direction.MAX else "down"
        rule = (f"{bound}: the {round(p * 100)}th percentile of {len(numbers)} baseline weeks "
                f"({plain_number(raw)}), rounded {way} to {grain}")
    breached = () if proposed is None else tuple(
        week for week, v in measured if _breached(v, proposed, metric.direction))
    return MetricBaseline(metric, measured, summary, proposed, rule, breached)


def compute_baseline(workflow: str, weeks: Sequence[str], scores: Sequence[WeekScore],
                     metrics: Sequence[Metric] = METRICS,
                     min_weeks: int = MIN_WEEKS) -> Baseline:
    """The baseline of `workflow` over `weeks` (finished, oldest first) from its stored
    `scores`; weeks outside `weeks` and weeks without data are ignored. Raises
    NotEnoughWeeksError with fewer than `min_weeks` weeks with data."""
    wanted = set(weeks)
    used = sorted((s for s in scores if s.workflow == workflow and s.week in wanted
                   and s.has_data), key=lambda s: s.week)
    if len(used) < min_weeks:
        raise NotEnoughWeeksError(workflow, len(used), min_weeks, len(weeks))
    return Baseline(workflow, tuple(weeks), tuple(s.week for s in used),
                    tuple(metric_baseline(m, used) for m in metrics))


# --- the registry patch ------------------------------------------------------------------


def proposed_thresholds(baseline: Baseline,
                        current: Mapping[str, Threshold]) -> dict[str, dict[str, float]]:
    """The `thresholds` mapping after the proposal, in metric-table order: each proposed bound
    replaces the bound on the metric's side; the other side is kept when the registry has one
    that still fits (min ≤ max); a metric without a proposal keeps its current threshold."""
    result: dict[str, dict[str, float]] = {}
    for item in baseline.metrics:
        name = item.metric.name
        old = current.get(name)
        bounds: dict[str, float] = {}
        if old is not None:
            bounds = {k: v for k in ("min", "max") if (v := getattr(old, k)) is not None}
        if item.proposed is not None:
            side = item.direction.value
            other = "min" if side == "max" else "max"
            bounds[side] = item.proposed
            if other in bounds and not bounds.get("min", -math.inf) <= bounds.get("max",
                                                                                  math.inf):
                del bounds[other]
        if bounds:
            result[name] = {k: bounds[k] for k in ("min", "max") if k in bounds}
    return result


def _scorecard_lines(indent: str, step: str, thresholds: Mapping[str, Mapping[str, float]],
                     consecutive_weeks: int, newline: str) -> list[str]:
    width = max((len(name) for name in thresholds), default=0) + 1
    lines = [f"{indent}scorecard:{newline}", f"{indent}{step}thresholds:{newline}"]
    if not thresholds:
        lines[-1] = f"{indent}{step}thresholds: {{}}{newline}"
    for name, bounds in thresholds.items():
        body = ", ".join(f"{k}: {plain_number(v)}" for k, v in bounds.items())
        lines.append(f"{indent}{step}{step}{(name + ':').ljust(width)} {{{body}}}{newline}")
    lines.append(f"{indent}{step}consecutive_weeks: {consecutive_weeks}{newline}")
    return lines


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _block_end(lines: Sequence[str], start: int) -> int:
    """Index after the block whose key is on line `start` (0-based): the lines indented
    deeper than the key, without the blank and comment lines that trail them (those belong
    to what follows)."""
    key_indent = _indent_of(lines[start])
    end = start + 1
    last_content = start + 1
    while end < len(lines):
        if _is_content(lines[end]):
            if _indent_of(lines[end]) <= key_indent:
                break
            last_content = end + 1
        end += 1
    return last_content


class PatchError(ValueError):
    """The registry's text has a shape the patch cannot edit safely (flow-style workflow)."""


def patched_registry(text: str, workflow: str,
                     thresholds: Mapping[str, Mapping[str, float]],
                     consecutive_weeks: int) -> str:
    """The registry `text` with the `scorecard` block of `workflow` replaced (or added at the
    end of the workflow) — every other byte as it was. Comments inside the old block are not
    carried over: the block is rewritten whole, which is also what makes a flow-style
    `scorecard: {…}` editable."""
    doc = parse_yaml(text)
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline  # so an appended block starts on its own line
    wf_line = doc.lines.get(("workflows", workflow))
    if wf_line is None:
        raise PatchError(f"workflow '{workflow}' is not in the registry text")
    children = [line for loc, line in doc.lines.items()
                if len(loc) == 3 and loc[:2] == ("workflows", workflow)]
    if not children or min(children) == wf_line:
        raise PatchError(f"workflow '{workflow}' is written on one line (flow style): "
                         "edit its scorecard by hand")
    wf_index = wf_line - 1
    child_indent = _indent_of(lines[min(children) - 1])
    step = " " * max(child_indent - _indent_of(lines[wf_index]), 1)
    sc_line = doc.lines.get(("workflows", workflow, "scorecard"))
    if sc_line is not None:
        start = sc_line - 1
        end = _block_end(lines, start)
        indent = " " * _indent_of(lines[start])
    else:
        start = end = _block_end(lines, wf_index)
        indent = " " * child_indent
    block = _scorecard_lines(indent, step, thresholds, consecutive_weeks, newline)
    result = "".join([*lines[:start], *block, *lines[end:]])
    if not text.endswith(("\n", "\r")) and end == len(lines):
        return result  # the last line was the block's: it now ends with a newline, harmless
    if not text.endswith(("\n", "\r")):
        return result[: -len(newline)]
    return result


def unified_patch(old: str, new: str, path: str) -> str:
    """A unified diff from `old` to `new`, both named `path` (relative to where it is
    applied: `patch -p0 < FILE` or `git apply -p0 FILE` there). A last line without newline
    gets the marker `patch` and `git apply` expect."""
    diff = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                fromfile=path, tofile=path, n=3)
    out: list[str] = []
    for line in diff:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)
