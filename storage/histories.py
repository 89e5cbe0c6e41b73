"""Stored records back into plain `ItemHistory` facts for the rules.

Everything is read with a handful of set-based queries and grouped in memory (no query per
item): a full evaluation reads a million ownership events in a few passes. `changed_since`
limits the read to items the sync wrote after that moment (incremental evaluation).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from rules.facts import ItemHistory, OwnershipChange, StatusChange
from storage.models import (
    JiraChangelogItem,
    JiraIssue,
    JiraIssueWorkflow,
    OwnershipEvent,
    PdIncident,
    PdLogEntry,
)

CHUNK = 900  # ids per IN (…) list: under SQLite's variable limit


@dataclass(frozen=True)
class Scope:
    """Which items to read: all, or those written by the sync after `changed_since`."""

    changed_since: datetime | None = None
    active_since: datetime | None = None  # only items with activity (updates, entries) after
    jira_browse_base: str | None = None  # e.g. https://acme.atlassian.net → /browse/KEY links


def load_histories(
    session: Session, services: Mapping[str, str], scope: Scope = Scope()
) -> Iterator[ItemHistory]:
    """Jira issues (one history per workflow that claims them) and PagerDuty incidents.

    `services` maps a PagerDuty service id to its workflow (SPEC §4: an incident belongs to the
    workflow whose sources name its service).
    """
    yield from _jira_histories(session, scope)
    yield from _pagerduty_histories(session, services, scope)


# --- Jira -----------------------------------------------------------------------------------


def _jira_histories(session: Session, scope: Scope) -> Iterator[ItemHistory]:
    query = select(
        JiraIssue.id, JiraIssue.key, JiraIssue.status, JiraIssue.assignee_account_id,
        JiraIssue.created, JiraIssue.summary,
    )
    if scope.changed_since is not None:
        query = query.where(JiraIssue.synced_at > scope.changed_since)
    if scope.active_since is not None:
        query = query.where(JiraIssue.updated >= scope.active_since)
    issues = session.execute(query).all()
    base = scope.jira_browse_base.rstrip("/") if scope.jira_browse_base else None
    ids = [row.id for row in issues]
    keys = [row.key for row in issues]
    full = scope.changed_since is None and scope.active_since is None
    members = _grouped(session, select(JiraIssueWorkflow.issue_id, JiraIssueWorkflow.workflow),
                       JiraIssueWorkflow.issue_id, None if full else ids)
    statuses = _status_changes(session, None if full else ids)
    events = _events(session, "jira", None if full else keys)
    for row in issues:
        changes = statuses.get(row.id, ())
        owned = events.get(row.key, ())
        initial_status = changes[0].from_status if changes else row.status
        current = (f"jira:{row.assignee_account_id}",) if row.assignee_account_id else ()
        initial_owners = owned[0].from_refs if owned else current
        url = f"{base}/browse/{row.key}" if base else None
        for workflow in members.get(row.id, [None]):
            yield ItemHistory(
                source="jira",
                item=row.key,
                workflow=workflow,
                created=row.created,
                initial_status=initial_status,
                initial_owners=initial_owners,
                current_owners=current,
                status_changes=changes,
                ownership_changes=owned,
                url=url,
                title=row.summary,
            )


def _status_changes(
    session: Session, issue_ids: Sequence[str] | None
) -> dict[str, tuple[StatusChange, ...]]:
    query = select(
        JiraChangelogItem.issue_id, JiraChangelogItem.created, JiraChangelogItem.from_string,
        JiraChangelogItem.to_string, JiraChangelogItem.history_id, JiraChangelogItem.item_index,
    ).where(or_(JiraChangelogItem.field_id == "status", JiraChangelogItem.field == "status"))
    grouped: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in _rows(session, query, JiraChangelogItem.issue_id, issue_ids):
        grouped[row[0]].append(tuple(row))
    result = {}
    for issue_id, rows in grouped.items():
        rows.sort(key=lambda r: (r[1], _numeric(r[4]), r[5]))
        result[issue_id] = tuple(
            StatusChange(at=r[1], from_status=r[2], to_status=r[3] or "", ref=f"jira:{r[4]}:{r[5]}")
            for r in rows
        )
    return result


# --- PagerDuty ------------------------------------------------------------------------------


def _pagerduty_histories(
    session: Session, services: Mapping[str, str], scope: Scope
) -> Iterator[ItemHistory]:
    query = select(
        PdIncident.id, PdIncident.service_id, PdIncident.escalation_policy_id,
        PdIncident.created_at, PdIncident.html_url, PdIncident.title, PdIncident.assignees,
    )
    if scope.changed_since is not None:
        touched = select(PdLogEntry.incident_id).where(PdLogEntry.synced_at > scope.changed_since)
        query = query.where(
            or_(PdIncident.synced_at > scope.changed_since, PdIncident.id.in_(touched))
        )
    if scope.active_since is not None:
        recent = select(PdLogEntry.incident_id).where(PdLogEntry.created_at >= scope.active_since)
        query = query.where(
            or_(PdIncident.created_at >= scope.active_since, PdIncident.id.in_(recent))
        )
    incidents = session.execute(query).all()
    full = scope.changed_since is None and scope.active_since is None
    ids = None if full else [row.id for row in incidents]
    events = _events(session, "pagerduty", ids)
    firsts = _first_entries(session, ids)
    for row in incidents:
        yield ItemHistory(
            source="pagerduty",
            item=row.id,
            workflow=services.get(row.service_id),
            created=row.created_at,
            current_owners=tuple(f"pagerduty:{a}" for a in row.assignees or ()),
            ownership_changes=events.get(row.id, ()),
            url=row.html_url,
            title=row.title,
            service=row.service_id,
            escalation_policy=row.escalation_policy_id,
            triggered_at=row.created_at,
            acknowledged_at=firsts.get(("acknowledge_log_entry", row.id)),
            resolved_at=firsts.get(("resolve_log_entry", row.id)),
        )


def _first_entries(
    session: Session, incident_ids: Sequence[str] | None
) -> dict[tuple[str, str], datetime]:
    query = (
        select(PdLogEntry.type, PdLogEntry.incident_id, func.min(PdLogEntry.created_at))
        .where(PdLogEntry.type.in_(["acknowledge_log_entry", "resolve_log_entry"]))
        .group_by(PdLogEntry.type, PdLogEntry.incident_id)
    )
    return {(r[0], r[1]): r[2] for r in _rows(session, query, PdLogEntry.incident_id, incident_ids)}


# --- shared ---------------------------------------------------------------------------------


def _events(
    session: Session, source: str, items: Sequence[str] | None
) -> dict[str, tuple[OwnershipChange, ...]]:
    query = select(
        OwnershipEvent.item, OwnershipEvent.source_ref, OwnershipEvent.at,
        OwnershipEvent.actor_ref, OwnershipEvent.actor_kind, OwnershipEvent.from_refs,
        OwnershipEvent.to_refs, OwnershipEvent.event_type,
    ).where(OwnershipEvent.source == source)
    grouped: dict[str, list[OwnershipChange]] = defaultdict(list)
    for r in _rows(session, query, OwnershipEvent.item, items):
        grouped[r[0]].append(
            OwnershipChange(ref=r[1], source=source, at=r[2], actor=r[3], actor_kind=r[4],
                            from_refs=tuple(r[5] or ()), to_refs=tuple(r[6] or ()),
                            event_type=r[7])
        )
    return {item: tuple(sorted(changes, key=lambda c: (c.at, c.ref)))
            for item, changes in grouped.items()}


def _grouped(
    session: Session, query: Select[Any], column: Any, ids: Sequence[str] | None
) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for key, value in _rows(session, query, column, ids):
        grouped[key].append(value)
    return grouped


def _rows(
    session: Session, query: Select[Any], column: Any, ids: Sequence[str] | None
) -> Iterable[Any]:
    """All rows of `query`, or those whose `column` is in `ids`, read in chunks."""
    if ids is None:
        yield from session.execute(query)
        return
    for start in range(0, len(ids), CHUNK):
        yield from session.execute(query.where(column.in_(ids[start : start + CHUNK])))


def _numeric(history_id: str) -> tuple[int, str]:
    return (int(history_id), "") if history_id.isdigit() else (0, history_id)
