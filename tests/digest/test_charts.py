"""Trend charts: real PNGs from matplotlib, deterministic, with gaps for weeks without data."""

from __future__ import annotations

import struct
import zlib

from accountability.messages.charts import WIDTH_PX, trend_chart
from rules.digest import METRIC_HINTS, METRIC_LABELS, MetricLine
from rules.registry import METRICS

WEEKS = ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]


def line(metric: str, trend: tuple[float | int | None, ...], **extra: object) -> MetricLine:
    values: dict[str, object] = {
        "metric": metric, "label": METRIC_LABELS[metric], "hint": METRIC_HINTS[metric],
        "value": trend[-1], "threshold": "max 8", "threshold_min": None, "threshold_max": 8.0,
        "breached": False, "previous": None, "change": None, "change_text": "—",
        "trend": trend, "trend_breached": tuple(False for _ in trend),
    }
    return MetricLine(**(values | extra))  # type: ignore[arg-type]


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    found, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset:offset + 4])
        kind = png[offset + 4:offset + 8]
        found.append((kind, png[offset + 8:offset + 8 + length]))
        offset += 12 + length
    return found


def metrics() -> list[MetricLine]:
    return [line(metric, (3, None, 11, 2), breached=metric == "rework_volume",
                 trend_breached=(False, False, True, False)) for metric in METRICS]


def test_a_png_twice_as_wide_as_shown_with_no_varying_metadata() -> None:
    png = trend_chart(WEEKS, metrics())
    found = chunks(png)
    width, height = struct.unpack(">II", found[0][1][:8])
    assert width == int(WIDTH_PX * 1.6) and 300 < height < width
    kinds = {kind for kind, _ in found}
    assert b"tEXt" not in kinds and b"tIME" not in kinds  # no "Software", no timestamp
    assert trend_chart(WEEKS, metrics()) == png  # same input, same bytes


def test_gaps_and_unmeasurable_metrics_draw_without_error() -> None:
    lines = [line("throughput", (None, None, 5, None)),
             line("quality_trend", (None, None, None, None), threshold_max=None,
                  threshold_min=-0.1)]
    png = trend_chart(WEEKS, lines)
    pixels = b"".join(data for kind, data in chunks(png) if kind == b"IDAT")
    assert len(zlib.decompress(pixels)) > 0


def test_a_single_week_of_data() -> None:
    assert trend_chart(["2026-W47"], [line("throughput", (12,))])[:4] == b"\x89PNG"
