"""Replaying an item's status history: its status and stage at any moment.

SPEC §4: a status change and an assignee change in the same Jira history, or in the same
second, apply status first — the stage of an ownership change is the one the item enters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from rules.facts import UNMAPPED_STAGE, ItemHistory
from rules.registry import Workflow
from rules.sources import INCIDENT_SOURCES

_SECOND = timedelta(seconds=1)


def _floor_second(at: datetime) -> datetime:
    return at.replace(microsecond=0)


def status_at(item: ItemHistory, at: datetime) -> str | None:
    """The (ticket) status in force at `at`, changes in the same second included."""
    limit = _floor_second(at) + _SECOND
    status = item.initial_status
    for change in item.status_changes:
        if change.at >= limit:
            break
        status = change.to_status
    return status


def stage_of_status(workflow: Workflow, status: str | None) -> str:
    if status is None:
        return UNMAPPED_STAGE
    stage = workflow.stage_for_status(status)
    return stage.id if stage is not None else UNMAPPED_STAGE


def stage_at(workflow: Workflow, item: ItemHistory, at: datetime) -> str:
    """The stage at `at`: from the replayed status (a ticket) or, for an incident, the
    incident stage (`pagerduty: true`)."""
    if item.source in INCIDENT_SOURCES:
        stage = workflow.incident_stage()
        return stage.id if stage is not None else UNMAPPED_STAGE
    return stage_of_status(workflow, status_at(item, at))


def stage_transitions(
    workflow: Workflow, item: ItemHistory
) -> Iterator[tuple[datetime, str | None, str]]:
    """(when, stage left or None at creation, stage entered) for a ticket, oldest first.

    Status changes that stay within one stage are not transitions.
    """
    current = stage_of_status(workflow, item.initial_status)
    yield item.created, None, current
    for change in item.status_changes:
        entered = stage_of_status(workflow, change.to_status)
        if entered != current:
            yield change.at, current, entered
            current = entered
