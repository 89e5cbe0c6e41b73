"""Raw Jira and PagerDuty records into rows: the column mapping and the batched writes.

Raw JSON is kept beside the normalized columns so rules can be re-run without a re-sync.
A record that lacks what its columns need raises `MalformedRecordError`; the sync quarantines
it and goes on. Every write is an idempotent upsert, so an overlap window or a resumed batch
never duplicates a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.ownership import (
    MalformedRecordError,
    OwnershipEvent,
    jira_events,
    pagerduty_events,
    parse_timestamp,
)
from storage.models import (
    JiraChangelogItem,
    JiraIssue,
    JiraIssueWorkflow,
    PdIncident,
    PdLogEntry,
    Quarantine,
)
from storage.models import (
    OwnershipEvent as OwnershipEventRow,
)
from storage.upsert import insert_ignore, upsert

Raw = Mapping[str, Any]
_CHANGELOG_KEY = ["history_id", "item_index"]
# What a re-read of a history item may rewrite: everything but its key and its first write.
_CHANGELOG_CONTENT = ["issue_id", "issue_key", "author_account_id", "created", "field",
                      "field_id", "from_value", "from_string", "to_value", "to_string", "raw"]


def _require(record: object, *keys: str) -> None:
    if not isinstance(record, Mapping):
        raise MalformedRecordError(f"not an object but {type(record).__name__}")
    for key in keys:
        if record.get(key) in (None, ""):
            break
    else:
        return
    missing = [key for key in keys if record.get(key) in (None, "")]
    if missing:
        raise MalformedRecordError(f"missing {', '.join(missing)}")


def _object(value: object, name: str) -> Mapping[str, Any]:
    """An optional nested object: null is empty, anything but an object is malformed.

    Vendors send `null` for "none" (`"assignee": null`); a string or a list where an object
    belongs is a record we do not understand, said with the field's name.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedRecordError(f"{name} is not an object but {type(value).__name__}")
    return value


def _objects(value: object, name: str) -> list[Mapping[str, Any]]:
    """An optional list of objects (null entries skipped); anything else is malformed."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedRecordError(f"{name} is not a list but {type(value).__name__}")
    return [_object(entry, f"{name}[{index}]") for index, entry in enumerate(value)
            if entry is not None]


def _identifier(record: Raw, key: str, *, digits: bool = False) -> str:
    """A required id or key: text (or a whole number), never an object or a boolean."""
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedRecordError(f"{key} is not a string but {type(value).__name__}")
    text = str(value)
    if digits and not text.isdigit():
        raise MalformedRecordError(f"{key} {text[:40]!r} is not a number")
    return text


def _number(value: object, name: str) -> int:
    """An optional whole number (missing is 0): `"abc"` or `1.5` is malformed, not a crash."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise MalformedRecordError(f"{name} is not a number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise MalformedRecordError(f"{name} is not a whole number: {str(value)[:40]!r}")


def _name(value: object, name: str) -> str | None:
    """An optional text field: text or null; a number is kept as text; else malformed."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise MalformedRecordError(f"{name} is not text but {type(value).__name__}")


# --- Jira -----------------------------------------------------------------------------------


def jira_issue_row(issue: Raw) -> dict[str, Any]:
    """An issue's row; `MalformedRecordError` names what does not fit (a null `assignee` is
    unassigned, an `assignee` that is not an object is malformed)."""
    _require(issue, "id", "key", "fields")
    issue_id = _identifier(issue, "id", digits=True)
    key = _identifier(issue, "key")
    fields = issue["fields"]
    if not isinstance(fields, Mapping):
        raise MalformedRecordError("fields is not an object")
    project = _name(_object(fields.get("project"), "fields.project").get("key"),
                    "fields.project.key") or key.split("-")[0]
    return {
        "id": issue_id,
        "key": key,
        "project": project,
        "summary": _name(fields.get("summary"), "fields.summary"),
        "status": _name(_object(fields.get("status"), "fields.status").get("name"),
                        "fields.status.name"),
        "assignee_account_id": _name(
            _object(fields.get("assignee"), "fields.assignee").get("accountId"),
            "fields.assignee.accountId",
        ),
        "created": parse_timestamp(fields.get("created")),
        "updated": parse_timestamp(fields.get("updated")),
        "raw": dict(issue),
    }


def changelog_rows(issue_id: str, issue_key: str, histories: Iterable[Raw]) -> list[dict[str, Any]]:
    """One row per history item, keyed by (history id, item index).

    Checks every shape `rules.ownership.jira_events` relies on, so that a history that
    passes here cannot fail later inside the batch's transaction. An item's `raw` is the
    item itself, not a copy: nothing changes it after it is read, and the copies were a
    tenth of a batch's rows in time and memory.
    """
    rows = []
    for history in histories:
        _require(history, "id", "created")
        created = parse_timestamp(history["created"])
        author = _name(_object(history.get("author"), "author").get("accountId"),
                       "author.accountId")
        items = history.get("items")
        if items is not None and not isinstance(items, list):
            raise MalformedRecordError(f"items is not a list but {type(items).__name__}")
        history_id = str(history["id"])
        for index, item in enumerate(items or []):
            if type(item) is not dict:
                if not isinstance(item, Mapping):
                    raise MalformedRecordError(f"items[{index}] is not an object")
                item = dict(item)
            get = item.get
            from_value, from_string = get("from"), get("fromString")
            to_value, to_string = get("to"), get("toString")
            rows.append(
                {
                    "history_id": history_id,
                    "item_index": index,
                    "issue_id": issue_id,
                    "issue_key": issue_key,
                    "author_account_id": author,
                    "created": created,
                    "field": str(get("field") or get("fieldId") or ""),
                    "field_id": get("fieldId"),
                    "from_value": None if from_value is None else str(from_value),
                    "from_string": None if from_string is None else str(from_string),
                    "to_value": None if to_value is None else str(to_value),
                    "to_string": None if to_string is None else str(to_string),
                    "raw": item,
                }
            )
    return rows


def event_row(event: OwnershipEvent) -> dict[str, Any]:
    """The event as a row. Its values are immutable (strings, an aware datetime, tuples of
    strings), so a shallow read does what `dataclasses.asdict` did without its deep copies,
    which were a fifth of the Jira write path's CPU."""
    row = dict(vars(event))  # a frozen dataclass without slots: its fields are its __dict__
    row["from_refs"] = list(event.from_refs)
    row["to_refs"] = list(event.to_refs)
    return row


def jira_event_rows(
    issues: Sequence[tuple[Mapping[str, Any], Sequence[Raw]]],
) -> list[dict[str, Any]]:
    """The ownership events of a batch's issues (`rules.ownership.jira_events`), as rows."""
    return [event_row(e) for row, histories in issues
            for e in jira_events(row["key"], histories)]


def save_jira_batch(
    session: Session,
    issues: Sequence[tuple[Mapping[str, Any], Sequence[Raw]]],
    workflow: str | None,
    now: datetime,
    changelogs: Sequence[list[dict[str, Any]]] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> int:
    """Write issues with their full changelogs and ownership events; return new events.

    One statement per table for the whole batch: the sync's cost is dominated by round trips.
    `now` (the sync's clock, read when the batch is written) stamps the rows: `synced_at`
    always, a changelog item's `first_synced_at` only when it is new — an incremental
    evaluation tells new changes from old by it. `changelogs`: each issue's `changelog_rows`
    when the caller built them already (the sync does, to quarantine a bad history before the
    transaction), so they are not built twice; they are stamped in place. `events`: the
    batch's `jira_event_rows`, when the caller built them before the transaction (the sync
    does, outside its write lock).
    """
    if not issues:
        return 0
    if changelogs is None:
        changelogs = [changelog_rows(row["id"], row["key"], histories) for row, histories in issues]
    items = [item for rows in changelogs for item in rows]
    if events is None:
        events = jira_event_rows(issues)
    upsert(session, JiraIssue, [{**row, "synced_at": now} for row, _ in issues])
    if items:
        for item in items:
            item["first_synced_at"] = now
        upsert(session, JiraChangelogItem, items, conflict=_CHANGELOG_KEY,
               update=_CHANGELOG_CONTENT)
    new_events = insert_ignore(session, OwnershipEventRow, events, conflict=["source_ref"])
    if workflow is not None:
        membership = [{"issue_id": row["id"], "workflow": workflow, "seen_at": now}
                      for row, _ in issues]
        insert_ignore(session, JiraIssueWorkflow, membership)
    return new_events


# --- PagerDuty ------------------------------------------------------------------------------


def pd_incident_row(incident: Raw) -> dict[str, Any]:
    """An incident's row; `MalformedRecordError` names what does not fit (an assignment whose
    `assignee` is null has no assignee; a non-numeric `incident_number` is malformed)."""
    _require(incident, "id", "created_at", "service")
    service = _object(incident["service"], "service")
    if not service.get("id"):
        raise MalformedRecordError("missing service.id")
    policy = _object(incident.get("escalation_policy"), "escalation_policy")
    assignees = []
    for index, assignment in enumerate(_objects(incident.get("assignments"), "assignments")):
        assignee = _object(assignment.get("assignee"), f"assignments[{index}].assignee")
        if assignee.get("id"):
            assignees.append(_identifier(assignee, "id"))
    return {
        "id": _identifier(incident, "id"),
        "incident_number": _number(incident.get("incident_number"), "incident_number"),
        "title": _name(incident.get("title"), "title"),
        "status": str(_name(incident.get("status"), "status") or "unknown"),
        "urgency": _name(incident.get("urgency"), "urgency"),
        "service_id": _identifier(service, "id"),
        "escalation_policy_id": _name(policy.get("id"), "escalation_policy.id"),
        "created_at": parse_timestamp(incident["created_at"]),
        "html_url": _name(incident.get("html_url"), "html_url"),
        "assignees": assignees,
        "raw": dict(incident),
    }


def pd_log_entry_row(entry: Raw) -> dict[str, Any]:
    """A log entry's row. Checks every shape `rules.ownership.pagerduty_events` relies on
    (it re-reads stored entries inside the write's transaction, where a crash is fatal)."""
    _require(entry, "id", "type", "created_at", "incident")
    incident = _object(entry["incident"], "incident")
    if not incident.get("id"):
        raise MalformedRecordError("missing incident.id")
    agent = _object(entry.get("agent"), "agent")
    assignees = [_identifier(a, "id")
                 for a in _objects(entry.get("assignees"), "assignees") if a.get("id")]
    return {
        "id": _identifier(entry, "id"),
        "incident_id": _identifier(incident, "id"),
        "type": _identifier(entry, "type"),
        "created_at": parse_timestamp(entry["created_at"]),
        "agent_type": _name(agent.get("type"), "agent.type"),
        "agent_id": _name(agent.get("id"), "agent.id"),
        "channel_type": _name(_object(entry.get("channel"), "channel").get("type"),
                              "channel.type"),
        "assignees": assignees,
        "raw": dict(entry),
    }


def save_pd_incidents(session: Session, rows: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Write incidents stamped `synced_at = now` (the sync's clock when the batch is written)."""
    upsert(session, PdIncident, [{**row, "synced_at": now} for row in rows])


def save_pd_log_entries(
    session: Session, rows: Sequence[Mapping[str, Any]], now: datetime
) -> int:
    """Write log entries, then re-derive the ownership events of the incidents they touch.

    Log entries do not say whom an incident was taken from, and a window may hold only part
    of an incident's history, so events are rebuilt from every stored entry of the incident
    (oldest first, same-second entries by their `tie_rank`: the order PagerDuty applied
    them); `from` stays right whatever order windows arrive in. A row may carry `tie_rank`
    (the sync reads it off the API's listing); without one the stored rank is kept.
    """
    if not rows:
        return 0
    # Rows with and without `tie_rank` are different key sets: `upsert` writes each apart,
    # and a row without one leaves the stored rank alone.
    upsert(session, PdLogEntry, [{**row, "synced_at": now} for row in rows])
    incidents = sorted({row["incident_id"] for row in rows})
    before = _existing_event_refs(session, incidents)
    events: list[dict[str, Any]] = []
    stored: dict[str, list[Raw]] = {incident_id: [] for incident_id in incidents}
    ranks: dict[str, int] = {}
    for chunk in _chunked(incidents, 500):
        query = select(PdLogEntry.incident_id, PdLogEntry.raw, PdLogEntry.id,
                       PdLogEntry.tie_rank).where(PdLogEntry.incident_id.in_(chunk))
        for incident_id, raw, entry_id, rank in session.execute(query):
            stored[incident_id].append(raw)
            if rank is not None:
                ranks[entry_id] = rank
    for incident_id, entries in stored.items():
        events.extend(event_row(e) for e in pagerduty_events(incident_id, entries, ranks=ranks))
    if events:
        upsert(session, OwnershipEventRow, events, conflict=["source_ref"])
    return len({e["source_ref"] for e in events} - before)


def incidents_missing_their_start(
    session: Session, created: Mapping[str, datetime | None], before: datetime
) -> list[str]:
    """Incidents whose log the sync has only read part of: no trigger entry stored, and
    created before `before` (the window being read) or at an unknown time.

    `/log_entries` is read by window from the sync's start, so an incident created before it
    (first seen in the lookback through a later entry) would otherwise start "from nobody":
    its first assignment never arrives. Its own log (`/incidents/{id}/log_entries`) has it.
    `created` maps each incident of a batch to its creation time when known.
    """
    candidates = [incident for incident, at in created.items() if at is None or at < before]
    started: set[str] = set()
    for chunk in _chunked(sorted(candidates), 500):
        started.update(session.scalars(
            select(PdLogEntry.incident_id).where(
                PdLogEntry.incident_id.in_(chunk), PdLogEntry.type == "trigger_log_entry"
            )
        ))
    return sorted(set(candidates) - started)


def _existing_event_refs(session: Session, incidents: Sequence[str]) -> set[str]:
    refs: set[str] = set()
    for chunk in _chunked(incidents, 500):
        refs.update(
            session.scalars(
                select(OwnershipEventRow.source_ref).where(
                    OwnershipEventRow.source == "pagerduty", OwnershipEventRow.item.in_(chunk)
                )
            )
        )
    return refs


def _chunked(values: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- quarantine -----------------------------------------------------------------------------


def quarantine(
    session: Session, source: str, ref: str, reason: str, raw: object, now: datetime
) -> None:
    """Keep a record that could not be stored, with why; counted in the sync summary."""
    insert_ignore(
        session,
        Quarantine,
        [{"source": source, "ref": ref or "?", "reason": reason[:500], "raw": raw, "at": now}],
        conflict=["source", "ref", "reason"],
    )
