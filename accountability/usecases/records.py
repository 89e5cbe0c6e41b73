"""The SPEC §8 JSON objects of stored findings, scorecards and reviews.

One shape for every reader: `accountability findings|scorecard|reviews --json`, the
`accountability-run` flow's result and the web app all print the same object for a row.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from rules.metrics import METRICS
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
