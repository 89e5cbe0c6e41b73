"""What `accountability alert --status` prints: counts by status and channel, every dead alert
with its error, and the alerts being retried.

Errors are servers' words and subjects name Jira items: every cell goes through `safe_text`
(`accountability.cli.text`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from accountability.cli.text import safe_text
from storage import outbox
from storage.models import ALERT_CHANNELS, ALERT_STATUSES, AlertOutbox

RETRYING_SHOWN = 20


@dataclass(frozen=True)
class OutboxStatus:
    counts: list[tuple[str, str, int]]
    dead: list[AlertOutbox]
    retrying: list[AlertOutbox]
    retrying_total: int


def outbox_status(session: Session) -> OutboxStatus:
    counts = outbox.outbox_counts(session)
    retrying = outbox.retrying_alerts(session)
    return OutboxStatus(counts, outbox.dead_alerts(session), retrying[:RETRYING_SHOWN],
                        len(retrying))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def alert_json(row: AlertOutbox) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "workflow": row.workflow, "channel": row.channel,
            "recipient": row.recipient, "subject": row.subject_ref, "status": row.status,
            "attempts": row.attempts, "last_error": row.last_error,
            "next_attempt_at": _iso(row.next_attempt_at), "created_at": _iso(row.created_at)}


def status_json(status: OutboxStatus) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    for state, channel, number in status.counts:
        counts.setdefault(state, {})[channel] = number
    return {"counts": counts, "dead": [alert_json(r) for r in status.dead],
            "retrying": [alert_json(r) for r in status.retrying],
            "retrying_total": status.retrying_total}


def status_renderable(status: OutboxStatus) -> Group:
    channels = [c for c in ALERT_CHANNELS if any(ch == c for _, ch, _ in status.counts)]
    channels = channels or list(ALERT_CHANNELS[:1])
    table = Table(title="Alert outbox", title_justify="left")
    table.add_column("status")
    for channel in channels:
        table.add_column(channel, justify="right")
    table.add_column("total", justify="right")
    by = {(s, c): n for s, c, n in status.counts}
    for state in ALERT_STATUSES:
        numbers = [by.get((state, c), 0) for c in channels]
        table.add_row(safe_text(state), *map(str, numbers), str(sum(numbers)))
    parts: list[Any] = [table]
    if status.dead:
        dead = Table(title=f"Dead alerts ({len(status.dead)}): not sent, need attention",
                     title_justify="left")
        for column in ("id", "kind", "workflow", "channel", "to", "subject", "attempts",
                       "error"):
            dead.add_column(column, overflow="fold")
        for row in status.dead:
            dead.add_row(*map(safe_text, (
                row.id, row.kind, row.workflow or "", row.channel, row.recipient,
                row.subject_ref, row.attempts, row.last_error or "")))
        parts.append(dead)
    else:
        parts.append(Text("No dead alerts."))
    if status.retrying:
        retry = Table(title=f"Retrying ({status.retrying_total})", title_justify="left")
        for column in ("id", "channel", "to", "attempts", "next attempt", "error"):
            retry.add_column(column, overflow="fold")
        for row in status.retrying:
            retry.add_row(*map(safe_text, (
                row.id, row.channel, row.recipient, row.attempts,
                _iso(row.next_attempt_at) or "", row.last_error or "")))
        parts.append(retry)
    return Group(*parts)
