"""PagerDuty histories as the sync reads them from the sandbox: an incident created before the
sync's start gets its whole log from `/incidents/{id}/log_entries`, and same-second entries
keep the order PagerDuty listed them in (their ids sort the other way in the sandbox)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accountability.sources import pagerduty as pd_sync
from rules.registry import Registry
from sandbox import Sandbox, SandboxConfig, serve_sandbox
from storage.models import OwnershipEvent, PdLogEntry
from tests.sync.conftest import clients


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        yield sb


def test_an_incident_from_before_the_window_starts_from_its_own_log(
    sandbox: Sandbox, factory: sessionmaker[Session], registry: Registry
) -> None:
    """pd-approver-reassign: created 09:00Z, reassigned sam → kim by priya at 09:40Z. A sync
    starting at 09:30Z sees only the reassignment in `/log_entries`; without the incident's own
    log it would read "from nobody"."""
    case = sandbox.world.planted["pd-approver-reassign"]
    sam = registry.people["sam"].pagerduty
    with clients(sandbox) as (_, pd):
        pd_sync.sync_pagerduty(factory, pd, pd_sync.pagerduty_services(registry),
                               start=datetime(2026, 10, 15, 9, 30, tzinfo=UTC),
                               now=datetime(2026, 10, 16, tzinfo=UTC))
    with factory() as session:
        event = session.scalar(select(OwnershipEvent).where(
            OwnershipEvent.source_ref == f"pagerduty:{case.log_entry_id}"))
        types = set(session.scalars(select(PdLogEntry.type).where(
            PdLogEntry.incident_id == case.item)))
    assert event is not None and event.from_refs == [f"pagerduty:{sam}"]
    assert {"trigger_log_entry", "assign_log_entry", "acknowledge_log_entry"} <= types


def test_same_second_entries_keep_the_listing_order(
    sandbox: Sandbox, factory: sessionmaker[Session], registry: Registry
) -> None:
    """pd-triage-bot: the integration assigns kim and the bot escalates to priya in one
    second; the escalation's id sorts first, its `from` must still be kim."""
    case = sandbox.world.planted["pd-triage-bot"]
    kim = registry.people["kim"].pagerduty
    with clients(sandbox) as (_, pd):
        pd_sync.sync_pagerduty(factory, pd, pd_sync.pagerduty_services(registry),
                               start=datetime(2026, 10, 19, tzinfo=UTC),
                               now=datetime(2026, 10, 20, tzinfo=UTC))
    with factory() as session:
        events = session.scalars(select(OwnershipEvent).where(
            OwnershipEvent.item == case.item).order_by(OwnershipEvent.seq)).all()
        ranks = dict(session.execute(select(PdLogEntry.id, PdLogEntry.tie_rank).where(
            PdLogEntry.incident_id == case.item)).tuples().all())
    assert [e.event_type for e in events] == ["assign_log_entry", "escalate_log_entry"]
    assert events[1].source_ref == f"pagerduty:{case.log_entry_id}"
    assert events[1].from_refs == [f"pagerduty:{kim}"]
    assert ranks[case.log_entry_id] == 2  # trigger 0, assign 1, escalation 2 in that second
