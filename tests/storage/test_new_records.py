"""Which records the sync wrote since a moment: the changelog keeps its first write time, so
an incremental evaluation tells a new change from one synced again (docs/rules.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.histories import new_records
from storage.ingest import jira_issue_row, pd_log_entry_row, save_jira_batch, save_pd_log_entries
from storage.models import JiraChangelogItem, JiraIssue, JiraIssueWorkflow, PdLogEntry

LONG_AGO = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FIRST_SYNC = datetime(2026, 1, 6, 11, 0, tzinfo=UTC)
SINCE = FIRST_SYNC + timedelta(minutes=1)  # an evaluation between the two syncs
SECOND_SYNC = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)


def _issue(updated: str) -> dict[str, Any]:
    return jira_issue_row({"id": "10001", "key": "SUP-1", "fields": {
        "project": {"key": "SUP"}, "status": {"name": "Open"},
        "created": "2026-01-05T09:00:00.000+0000", "updated": updated}})


def _history(history_id: str, created: str, field: str, old: str, new: str) -> dict[str, Any]:
    return {"id": history_id, "created": created, "author": {"accountId": "a1"},
            "items": [{"field": field, "fieldId": field, "from": old, "fromString": old,
                       "to": new, "toString": new}]}


def _entry(entry_id: str, created_at: str) -> dict[str, Any]:
    return pd_log_entry_row({
        "id": entry_id, "type": "assign_log_entry", "created_at": created_at,
        "incident": {"id": "PINC1"}, "agent": {"type": "user_reference", "id": "PU1"},
        "assignees": [{"id": "PU2"}]})


def _age(session: Session) -> None:
    """What the sync wrote so far was written long ago."""
    session.execute(update(JiraIssue).values(synced_at=LONG_AGO))
    session.execute(update(JiraChangelogItem).values(first_synced_at=LONG_AGO))
    session.execute(update(JiraIssueWorkflow).values(seen_at=LONG_AGO))
    session.execute(update(PdLogEntry).values(synced_at=LONG_AGO))


def test_a_changelog_item_synced_again_keeps_its_first_write(session: Session) -> None:
    old = _history("1", "2026-01-06T10:00:00.000+0000", "status", "Open", "Done")
    save_jira_batch(session, [(_issue("2026-01-06T10:00:00.000+0000"), [old])], "support",
                    FIRST_SYNC)
    save_pd_log_entries(session, [_entry("L1", "2026-01-06T10:00:00Z")], FIRST_SYNC)
    _age(session)
    since = SINCE

    new = _history("2", "2026-02-02T08:00:00.000+0000", "assignee", "a1", "a2")
    save_jira_batch(session, [(_issue("2026-02-02T08:00:00.000+0000"), [old, new])], "support",
                    SECOND_SYNC)
    save_pd_log_entries(session, [_entry("L2", "2026-02-03T08:00:00Z")], SECOND_SYNC)

    stamps = dict(session.execute(select(JiraChangelogItem.history_id,
                                         JiraChangelogItem.first_synced_at)).tuples().all())
    assert stamps == {"1": LONG_AGO, "2": SECOND_SYNC}
    found = new_records(session, since)
    assert found.jira_changes == {"SUP-1": frozenset({"jira:2:0"})}
    assert found.jira_earliest == {"SUP-1": datetime(2026, 2, 2, 8, 0, tzinfo=UTC)}
    assert found.jira_joined == frozenset()  # a member of `support` long before
    # Entries are stamped by their last write: here only L2 was written again.
    assert found.incident_entries == {"PINC1": datetime(2026, 2, 3, 8, 0, tzinfo=UTC)}
    assert found.incidents_rewritten == frozenset()


def test_an_issue_new_to_a_workflow_is_told(session: Session) -> None:
    old = _history("1", "2026-01-06T10:00:00.000+0000", "status", "Open", "Done")
    save_jira_batch(session, [(_issue("2026-01-06T10:00:00.000+0000"), [old])], "support",
                    FIRST_SYNC)
    _age(session)
    since = SINCE
    save_jira_batch(session, [(_issue("2026-01-06T10:00:00.000+0000"), [old])], "renewals",
                    SECOND_SYNC)
    found = new_records(session, since)
    assert found.jira_joined == frozenset({"SUP-1"})
    assert found.jira_changes == {}  # nothing new in its changelog: the conservative rule
