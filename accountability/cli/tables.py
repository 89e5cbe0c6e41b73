"""What `findings`, `scorecard` and `reviews` print as a table (their JSON: `usecases.records`).

Every table cell goes through `safe_text`: findings carry Jira and PagerDuty text (keys,
reasons naming statuses and people) that must print literally (see `accountability.cli.text`).
"""

from __future__ import annotations

from datetime import UTC

from rich.table import Table

from accountability.cli.text import safe_text
from rules.facts import WeekScore
from rules.metrics import METRICS, Metric
from storage.evaluations import week_score
from storage.models import Finding, RiskReview, Scorecard


def findings_table(rows: list[Finding]) -> Table:
    table = Table(title=f"{len(rows)} findings", show_lines=False)
    for column in ("key", "type", "workflow", "item", "at (UTC)", "status", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*map(safe_text, (
            row.key, row.type, row.workflow or "—", row.item or "—",
            row.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"), row.status, row.reason)))
    return table


def _cell(metric: Metric, score: WeekScore) -> str:
    """The metric as the digest writes it, its spread in brackets: `12.50 (40.00)`."""
    text = metric.format(metric.read(score))
    if metric.spread is None:
        return text
    return f"{text} ({metric.format(metric.spread.read(score))})"


def scorecard_table(rows: list[Scorecard]) -> Table:
    table = Table(title="Weekly scorecards")
    for column in ("workflow", "week", *(m.column for m in METRICS), "breaches",
                   "recommendation"):
        table.add_column(column)
    for row in rows:
        score = week_score(row)
        table.add_row(*map(safe_text, (
            row.workflow, row.week, *(_cell(m, score) for m in METRICS),
            ", ".join(row.breaches) or "—", row.recommendation)))
    return table


def reviews_table(rows: list[RiskReview]) -> Table:
    table = Table(title=f"{len(rows)} risk reviews")
    for column in ("id", "workflow", "week", "owner", "status", "due", "breaches"):
        table.add_column(column)
    for row in rows:
        table.add_row(*map(safe_text, (
            row.id, row.workflow, row.week, row.owner, row.status, row.due.isoformat(),
            ", ".join(row.breaches))))
    return table
