"""Trend charts for the digest: one compact PNG per workflow, six small panels (one a metric).

matplotlib on the Agg backend, through its object API (`Figure`, no `pyplot`): no global
figure registry, so nothing to close and nothing shared between threads. A week without data
is NaN, which matplotlib draws as a gap, never as a zero; the threshold is a dashed line and
breaching weeks are red. Output is deterministic for the same input: `metadata={"Software":
None}` drops the only varying PNG text chunk (the matplotlib version), and no timestamp is
written.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402  (after choosing the backend)
from matplotlib.figure import Figure  # noqa: E402

from rules.digest import MetricLine, format_value  # noqa: E402

WIDTH_PX = 680
"""The width the digest displays a chart at; the PNG has 1.6× the pixels for sharp screens."""
DPI = 160
INK = "#1d2733"
MUTED = "#5b6b7c"
LINE = "#2457c5"
BREACH = "#b42318"
THRESHOLD = "#b54708"
GRID = "#e6eaf0"


def trend_chart(weeks: Sequence[str], metrics: Sequence[MetricLine]) -> bytes:
    """A PNG of the metrics' trends over `weeks` (each `MetricLine.trend` aligned with it)."""
    columns = 3
    rows = max(1, math.ceil(len(metrics) / columns))
    width_in = WIDTH_PX / 100
    figure = Figure(figsize=(width_in, 1.45 * rows), dpi=100, facecolor="white")
    figure.subplots_adjust(left=0.065, right=0.99, top=0.92, bottom=0.09, wspace=0.3,
                           hspace=0.62 if rows > 1 else 0.2)
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index < len(metrics):
            _panel(ax, weeks, metrics[index])
        else:
            ax.set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _panel(ax: Axes, weeks: Sequence[str], metric: MetricLine) -> None:
    xs = list(range(len(weeks)))
    ys = [math.nan if v is None else float(v) for v in metric.trend]
    ax.set_title(metric.label, loc="left", fontsize=8, color=INK, fontweight="bold", pad=3)
    current = format_value(metric.metric, metric.value)
    ax.set_title(current, loc="right", fontsize=8, pad=3, fontweight="bold",
                 color=BREACH if metric.breached else INK)
    for bound in (metric.threshold_min, metric.threshold_max):
        if bound is not None:
            ax.axhline(bound, color=THRESHOLD, linewidth=0.8, linestyle=(0, (3, 2)), zorder=1)
    ax.plot(xs, ys, color=LINE, linewidth=1.3, zorder=2)
    for breached, size, colour in ((False, 9, LINE), (True, 16, BREACH)):
        points = [(x, y) for x, y, flag in zip(xs, ys, metric.trend_breached, strict=True)
                  if flag is breached and not math.isnan(y)]
        if points:
            ax.scatter([x for x, _ in points], [y for _, y in points], s=size, color=colour,
                       zorder=4 if breached else 3, linewidths=0)
    if all(math.isnan(y) for y in ys):
        ax.text(0.5, 0.5, "not measurable", transform=ax.transAxes, ha="center", va="center",
                fontsize=7, color=MUTED)
    _limits(ax, ys, metric)
    ax.set_xlim(-0.4, max(len(xs) - 0.6, 0.4))
    ax.set_xticks(xs, [w.rpartition("-")[2] for w in weeks])
    ax.tick_params(axis="both", labelsize=6.5, colors=MUTED, length=2, pad=1.5)
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#c3ccd6")
        ax.spines[side].set_linewidth(0.6)


def _limits(ax: Axes, ys: Sequence[float], metric: MetricLine) -> None:
    """Show the data and the threshold together, with a little room above and below."""
    seen = [y for y in ys if not math.isnan(y)]
    seen += [b for b in (metric.threshold_min, metric.threshold_max) if b is not None]
    if not seen:
        ax.set_ylim(0, 1)
        return
    low, high = min(seen), max(seen)
    span = high - low or max(abs(high), 1.0)
    ax.set_ylim(low - 0.15 * span, high + 0.15 * span)
