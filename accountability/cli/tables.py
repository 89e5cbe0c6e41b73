"""What `findings`, `scorecard` and `reviews` print: SPEC §8 JSON objects, or a table.

Every table cell goes through `safe_text`: findings carry Jira and PagerDuty text (keys,
reasons naming statuses and people) that must print literally (see `accountability.cli.text`).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from rich.table import Table

from accountability.cli.text import safe_text
from rules.facts import WeekScore
from rules.metrics import METRICS, Metric
from storage.evaluations import week_score
from storage.models import Finding, RiskReview, Scorecard


def finding_json(row: Finding) -> dict[str, Any]:
    details = row.details or {}
    return {
        "key": row.key,
        "type": row.type,
        "workflow": row.workflow,
        "item": row.item,
        "at": row.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "actor": row.actor,
        "from": list(row.from_ids),
        "to": list(row.to_ids),
        "rule": row.rule,
        "reason": row.reason,
        "status": "ratified" if row.status == "ratified" else "open",
        "authorized": row.type == "authorized_change",
        "decision": details.get("decision"),
        "stage": details.get("stage"),
        "url": details.get("url"),
    }


def scorecard_json(row: Scorecard) -> dict[str, Any]:
    """The metrics, then their spreads (decision latency's p90), in `rules.metrics` order."""
    score = week_score(row)
    return {
        "workflow": row.workflow,
        "week": row.week,
        **{metric.name: metric.read(score) for metric in METRICS},
        **{metric.spread.name: metric.spread.read(score) for metric in METRICS if metric.spread},
        "breaches": list(row.breaches),
        "recommendation": row.recommendation,
        "recommendation_rule": row.recommendation_rule,
    }


def review_json(row: RiskReview) -> dict[str, Any]:
    return {
        "id": row.id,
        "workflow": row.workflow,
        "week": row.week,
        "owner": row.owner,
        "status": row.status,
        "opened_at": row.opened_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "due": row.due.isoformat(),
        "breaches": list(row.breaches),
        "acknowledged_by": row.acknowledged_by,
        "closed_by": row.closed_by,
    }


def last_weeks_with_data(rows: list[Scorecard], weeks: int = 8) -> list[Scorecard]:
    """Per workflow, its last `weeks` stored weeks, oldest first."""
    by_workflow: dict[str, list[Scorecard]] = {}
    for row in sorted(rows, key=lambda r: (r.workflow, r.week)):
        by_workflow.setdefault(row.workflow, []).append(row)
    return [row for group in by_workflow.values() for row in group[-weeks:]]


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
