"""Stored records back into plain `ItemHistory` facts for the rules.

Everything is read with a handful of set-based queries and grouped in memory (no query per
item): a full evaluation reads a million ownership events in a few passes. `changed_since`
limits the read to items the sync wrote after that moment (incremental evaluation).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, Select, func, or_, select
from sqlalchemy.orm import Session

from rules.facts import ItemHistory, OwnershipChange, StatusChange
from rules.registry import Registry
from storage.models import (
    JiraChangelogItem,
    JiraIssue,
    JiraIssueWorkflow,
    OwnershipEvent,
    PdIncident,
    PdLogEntry,
)

CHUNK = 900  # ids per IN (…) list: under SQLite's variable limit
STREAM = 10_000  # rows fetched at a time


@dataclass(frozen=True)
class Scope:
    """Which items to read: all, or those written by the sync after `changed_since`."""

    changed_since: datetime | None = None
    active_since: datetime | None = None  # only items with activity (updates, entries) after
    jira_browse_base: str | None = None  # e.g. https://acme.atlassian.net → /browse/KEY links
    skip: frozenset[str] = frozenset()  # items (Jira keys, incident ids) already read


def workflow_services(registry: Registry) -> dict[str, str]:
    """PagerDuty service id → the workflow whose sources name it (SPEC §4)."""
    return {
        service: workflow_id
        for workflow_id, workflow in registry.workflows.items()
        if workflow.sources.pagerduty is not None
        for service in workflow.sources.pagerduty.services
    }


def load_histories(
    session: Session, services: Mapping[str, str], scope: Scope = Scope()
) -> Iterator[ItemHistory]:
    """Jira issues (one history per workflow that claims them) and PagerDuty incidents.

    `services` maps a PagerDuty service id to its workflow (SPEC §4: an incident belongs to the
    workflow whose sources name its service).
    """
    yield from _jira_histories(session, scope)
    yield from _pagerduty_histories(session, services, scope)


@dataclass(frozen=True)
class NewRecords:
    """What the sync first wrote after a moment, by item: which of a changed item's events are
    new, so an incremental evaluation knows how far back they can have changed a metric."""

    jira_changes: Mapping[str, frozenset[str]]
    """Jira key → refs (`jira:<history>:<index>`, those of its status and ownership changes) of
    its changelog items first written since, whatever their field."""
    jira_earliest: Mapping[str, datetime]
    """Jira key → the earliest `created` of those changelog items."""
    jira_joined: frozenset[str]
    """Jira keys a workflow's query returned for the first time since (new membership)."""
    incidents_rewritten: frozenset[str]
    """Incidents whose own row was written since (service, policy, creation may differ)."""
    incident_entries: Mapping[str, datetime]
    """Incident → the earliest `created_at` of its log entries written since."""


def new_records(session: Session, since: datetime) -> NewRecords:
    """The records written after `since` (see `NewRecords`).

    Changelog items count by their first write (`first_synced_at`, never rewritten; NULL taken
    as new), looked up among the issues synced since; log entries by their last write, which
    only makes more of them new. Four small indexed queries.
    """
    issues = select(JiraIssue.id).where(JiraIssue.synced_at > since)
    query = select(
        JiraChangelogItem.issue_key, JiraChangelogItem.history_id, JiraChangelogItem.item_index,
        JiraChangelogItem.created,
    ).where(
        JiraChangelogItem.issue_id.in_(issues),
        or_(JiraChangelogItem.first_synced_at > since, JiraChangelogItem.first_synced_at.is_(None)),
    )
    refs: dict[str, set[str]] = defaultdict(set)
    earliest: dict[str, datetime] = {}
    for key, history_id, index, created in _rows(session, query, None, None):
        refs[key].add(f"jira:{history_id}:{index}")
        at = _utc(created)
        if key not in earliest or at < earliest[key]:
            earliest[key] = at
    joined = select(JiraIssue.key).join(
        JiraIssueWorkflow, JiraIssueWorkflow.issue_id == JiraIssue.id
    ).where(JiraIssue.synced_at > since, JiraIssueWorkflow.seen_at > since)
    rewritten = select(PdIncident.id).where(PdIncident.synced_at > since)
    # Through the `synced_at` index; grouped here (grouped in SQL, SQLite walks the
    # incident index instead, every entry).
    incident_entries: dict[str, datetime] = {}
    entries = select(PdLogEntry.incident_id, PdLogEntry.created_at).where(
        PdLogEntry.synced_at > since)
    for incident, created_at in _rows(session, entries, None, None):
        at = _utc(created_at)
        if incident not in incident_entries or at < incident_entries[incident]:
            incident_entries[incident] = at
    return NewRecords(
        jira_changes={key: frozenset(found) for key, found in refs.items()},
        jira_earliest=earliest,
        jira_joined=frozenset(row[0] for row in _rows(session, joined, None, None)),
        incidents_rewritten=frozenset(row[0] for row in _rows(session, rewritten, None, None)),
        incident_entries=incident_entries,
    )


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
    issues = [row for row in _rows(session, query, None, None) if row[1] not in scope.skip]
    base = scope.jira_browse_base.rstrip("/") if scope.jira_browse_base else None
    ids = [row[0] for row in issues]
    keys = [row[1] for row in issues]
    full = scope.changed_since is None and scope.active_since is None
    members = _grouped(session, select(JiraIssueWorkflow.issue_id, JiraIssueWorkflow.workflow),
                       JiraIssueWorkflow.issue_id, None if full else ids)
    statuses = _status_changes(session, None if full else ids)
    events = _events(session, "jira", None if full else keys)
    refs = _Refs()
    for issue_id, key, status, assignee, created, summary in issues:
        changes = statuses.pop(issue_id, ())
        owned = events.pop(key, ())
        initial_status = changes[0].from_status if changes else status
        current = refs.single(f"jira:{assignee}") if assignee else ()
        initial_owners = owned[0].from_refs if owned else current
        url = f"{base}/browse/{key}" if base else None
        for workflow in members.get(issue_id, [None]):
            yield ItemHistory(
                source="jira",
                item=key,
                workflow=workflow,
                created=_utc(created),
                initial_status=initial_status,
                initial_owners=initial_owners,
                current_owners=current,
                status_changes=changes,
                ownership_changes=owned,
                url=url,
                title=summary,
            )


def _status_changes(
    session: Session, issue_ids: Sequence[str] | None
) -> dict[str, tuple[StatusChange, ...]]:
    query = select(
        JiraChangelogItem.issue_id, JiraChangelogItem.created, JiraChangelogItem.from_string,
        JiraChangelogItem.to_string, JiraChangelogItem.history_id, JiraChangelogItem.item_index,
    ).where(or_(JiraChangelogItem.field_id == "status", JiraChangelogItem.field == "status"))
    grouped: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for issue_id, created, *rest in _rows(session, query, JiraChangelogItem.issue_id, issue_ids):
        grouped[issue_id].append((_utc(created), *rest))
    result = {}
    shared = _shared()
    for issue_id, rows in grouped.items():
        if len(rows) > 1:
            rows.sort(key=lambda r: (r[0], _numeric(r[3]), r[4]))
        result[issue_id] = tuple(
            StatusChange(r[0], shared(r[1]), shared(r[2] or ""), f"jira:{r[3]}:{r[4]}")
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
    incidents = [row for row in _rows(session, query, None, None) if row[0] not in scope.skip]
    full = scope.changed_since is None and scope.active_since is None
    ids = None if full else [row[0] for row in incidents]
    events = _events(session, "pagerduty", ids)
    firsts = _first_entries(session, ids)
    refs = _Refs()
    for incident_id, service, policy, created_at, html_url, title, assignees in incidents:
        created = _utc(created_at)
        yield ItemHistory(
            source="pagerduty",
            item=incident_id,
            workflow=services.get(service),
            created=created,
            current_owners=tuple(f"pagerduty:{a}" for a in refs(assignees)),
            ownership_changes=events.pop(incident_id, ()),
            url=html_url,
            title=title,
            service=service,
            escalation_policy=policy,
            triggered_at=created,
            acknowledged_at=firsts.get(("acknowledge_log_entry", incident_id)),
            resolved_at=firsts.get(("resolve_log_entry", incident_id)),
        )


def _first_entries(
    session: Session, incident_ids: Sequence[str] | None
) -> dict[tuple[str, str], datetime]:
    query = (
        select(PdLogEntry.type, PdLogEntry.incident_id, func.min(PdLogEntry.created_at))
        .where(PdLogEntry.type.in_(["acknowledge_log_entry", "resolve_log_entry"]))
        .group_by(PdLogEntry.type, PdLogEntry.incident_id)
    )
    return {(kind, incident): _utc(at) for kind, incident, at
            in _rows(session, query, PdLogEntry.incident_id, incident_ids)}


# --- shared ---------------------------------------------------------------------------------


def _events(
    session: Session, source: str, items: Sequence[str] | None
) -> dict[str, tuple[OwnershipChange, ...]]:
    # The owner lists are read as stored (JSON text on SQLite) and decoded once per distinct
    # text: a million events name the same few owners.
    query = select(
        OwnershipEvent.item, OwnershipEvent.source_ref, OwnershipEvent.at,
        OwnershipEvent.actor_ref, OwnershipEvent.actor_kind, OwnershipEvent.from_refs,
        OwnershipEvent.to_refs, OwnershipEvent.event_type, OwnershipEvent.seq,
    ).where(OwnershipEvent.source == source)
    grouped: dict[str, list[OwnershipChange]] = defaultdict(list)
    refs, shared, utc = _Refs(), _shared(), _utc
    for item, ref, at, actor, kind, old, new, event_type, seq in _rows(
        session, query, OwnershipEvent.item, items
    ):
        # Positional, in field order (a million of them: keywords cost noticeably more).
        grouped[item].append(OwnershipChange(ref, source, utc(at), shared(actor), shared(kind),
                                             refs(old), refs(new), shared(event_type), seq))
    return {item: tuple(sorted(changes, key=_event_order) if len(changes) > 1 else changes)
            for item, changes in grouped.items()}


def _event_order(change: OwnershipChange) -> tuple[datetime, int, str]:
    """Time, then the place the sync gave the event in its item's history (same-second
    PagerDuty entries, whose random ids say nothing), then the reference."""
    return (change.at, change.seq, change.ref)


def _utc(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime, read without SQLAlchemy's processors:
    SQLite gives `UTCDateTime`'s naive UTC text, PostgreSQL an aware datetime."""
    if value.__class__ is str:
        return _from_iso(value + "+00:00")  # 5x faster than parsing, then replace(tzinfo=…)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
    return value.astimezone(UTC)  # type: ignore[no-any-return]


_from_iso = datetime.fromisoformat


def _shared() -> Callable[[Any], Any]:
    """`value`, or the equal value seen first: names and ids that repeat across a million rows
    are kept once instead of once per row."""
    seen: dict[Any, Any] = {}
    return lambda value: seen.setdefault(value, value)


class _Refs:
    """A stored owner list as a tuple; equal lists share one tuple."""

    def __init__(self) -> None:
        self._decoded: dict[Any, tuple[str, ...]] = {}

    def single(self, ref: str) -> tuple[str, ...]:
        """`(ref,)`, shared with every equal one."""
        found = self._decoded.get(ref)
        if found is None:
            found = self._decoded[ref] = (ref,)
        return found

    def __call__(self, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):  # JSON text (SQLite)
            decoded = self._decoded.get(value)
            if decoded is None:
                decoded = self._decoded[value] = tuple(json.loads(value) or ())
            return decoded
        refs = tuple(value)  # already decoded by the driver (PostgreSQL JSONB)
        return self._decoded.setdefault(refs, refs)


def _grouped(
    session: Session, query: Select[Any], column: Any, ids: Sequence[str] | None
) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for key, value in _rows(session, query, column, ids):
        grouped[key].append(value)
    return grouped


def _rows(
    session: Session, query: Select[Any], column: Any, ids: Sequence[str] | None
) -> Iterator[tuple[Any, ...]]:
    """All rows of `query`, or those whose `column` is in `ids`, as the driver's own tuples.

    Fetched straight from the DBAPI cursor, `STREAM` rows at a time: a full evaluation reads
    millions of rows, and SQLAlchemy's row objects and result processors cost more than the
    query itself. Values are therefore raw: timestamps go through `_utc`, JSON columns
    through `_Refs`. (No `stream_results`: its buffered strategy pre-reads rows from the very
    cursor read here; sqlite3 steps its cursor lazily anyway, psycopg holds the result in
    libpq's compact form until fetched.)
    """
    connection = session.connection()
    if ids is None:
        yield from _fetched(connection.execute(query))
        return
    for start in range(0, len(ids), CHUNK):
        yield from _fetched(connection.execute(query.where(column.in_(ids[start : start + CHUNK]))))


def _fetched(result: CursorResult[Any]) -> Iterator[tuple[Any, ...]]:
    cursor = result.cursor
    try:
        while batch := cursor.fetchmany(STREAM):
            yield from batch
    finally:
        result.close()


def _numeric(history_id: str) -> tuple[int, str]:
    return (int(history_id), "") if history_id.isdigit() else (0, history_id)
