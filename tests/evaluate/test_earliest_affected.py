"""How far back an incremental evaluation re-scores for one changed item (docs/rules.md,
"Incremental evaluation"): from its new events, reaching back to the first resolution only
when a new status change can move a week's quality rate."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from accountability.config.registry_file import load_registry_file
from accountability.usecases.evaluate import _earliest_affected
from rules.facts import ItemHistory, OwnershipChange, StatusChange
from rules.registry import Registry
from storage.histories import NewRecords

ROOT = Path(__file__).resolve().parents[2]
CREATED = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
RESOLVED = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry_file(ROOT / "examples" / "registry.yaml").registry


def _issue(*statuses: StatusChange, initial: str = "Open",
           owners: Iterable[OwnershipChange] = ()) -> ItemHistory:
    return ItemHistory(source="jira", item="SUP-1", workflow="support", created=CREATED,
                       initial_status=initial, status_changes=statuses,
                       ownership_changes=tuple(owners))


def _assigned(ref: str, at: datetime) -> OwnershipChange:
    return OwnershipChange(ref, "jira", at, "jira:a1", "user", ("jira:a1",), ("jira:a2",),
                           "assignee")


def _new(*refs: str, earliest: datetime = LATER, joined: bool = False,
         entries: dict[str, datetime] | None = None, rewritten: Iterable[str] = ()) -> NewRecords:
    return NewRecords(
        jira_changes={"SUP-1": frozenset(refs)} if refs else {},
        jira_earliest={"SUP-1": earliest} if refs else {},
        jira_joined=frozenset({"SUP-1"} if joined else ()),
        incidents_rewritten=frozenset(rewritten),
        incident_entries=entries or {},
    )


OPENED = StatusChange(datetime(2026, 9, 2, 9, 0, tzinfo=UTC), "Open", "In Progress", "jira:1:0")
DONE = StatusChange(RESOLVED, "In Progress", "Done", "jira:2:0")
REOPENED = StatusChange(LATER, "Done", "In Progress", "jira:3:0")


def test_a_new_assignee_change_reaches_back_to_itself_only(registry: Registry) -> None:
    item = _issue(OPENED, DONE, owners=[_assigned("jira:3:0", LATER)])
    assert _earliest_affected(registry, item, _new("jira:3:0")) == LATER


def test_a_new_reopen_reaches_back_to_the_first_resolution(registry: Registry) -> None:
    item = _issue(OPENED, DONE, REOPENED)
    assert _earliest_affected(registry, item, _new("jira:3:0")) == RESOLVED


def test_a_reopen_of_an_issue_created_resolved_reaches_back_to_its_creation(
    registry: Registry,
) -> None:
    item = _issue(StatusChange(LATER, "Done", "In Progress", "jira:3:0"), initial="Done")
    assert _earliest_affected(registry, item, _new("jira:3:0")) == CREATED


def test_a_history_beginning_with_a_new_status_change_reaches_back_to_creation(
    registry: Registry,
) -> None:
    late = StatusChange(datetime(2026, 9, 1, 10, 0, tzinfo=UTC), "Open", "Triage", "jira:0:0")
    item = _issue(late, OPENED)
    assert _earliest_affected(registry, item, _new("jira:0:0", earliest=late.at)) == CREATED


def test_without_a_new_event_the_conservative_rule_holds(registry: Registry) -> None:
    item = _issue(OPENED, DONE, owners=[_assigned("jira:3:0", LATER)])
    assert _earliest_affected(registry, item, _new()) == RESOLVED  # rewritten, nothing new
    assert _earliest_affected(registry, item, _new("jira:3:0", joined=True)) == CREATED


def test_an_incident_reaches_back_to_its_earliest_new_log_entry(registry: Registry) -> None:
    incident = ItemHistory(source="pagerduty", item="PINC1", workflow="support",
                           created=CREATED, service="PSUP001")
    assert _earliest_affected(registry, incident, _new(entries={"PINC1": LATER})) == LATER
    assert _earliest_affected(
        registry, incident, _new(entries={"PINC1": LATER}, rewritten=["PINC1"])) == CREATED
    assert _earliest_affected(registry, incident, _new()) == CREATED
