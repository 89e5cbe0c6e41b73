"""Who did it: `ack`, `close`, `ratify` and `decide` record, beside the `--by` person, the OS
user, host and Prefect flow run of the process that recorded the action (issue 15 item 14).

`--by` is a claim the CLI cannot check; the origin is what the process knows about itself. The
clock and the origin are injected, so each test pins both and reads them back from storage.
"""

from __future__ import annotations

import os
import pwd
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accountability.config.errors import UsageError
from accountability.origin import Origin, process_origin
from accountability.usecases import governance
from rules.registry import Registry
from storage import evaluations
from storage.engine import session_scope
from storage.models import Decision, Finding, Ratification, RiskReview
from tests.alerts.conftest import NOW, Clock, review, store_review, verdict

LAPTOP = Origin(os_user="omar", host="laptop-7")
WORKER = Origin(os_user="svc-accountability", host="worker-2", flow_run_id="3f1c-run")


def _review_row(factory: sessionmaker[Session], review_id: str) -> RiskReview:
    with factory() as session:
        row = session.get(RiskReview, review_id)
        assert row is not None
        return row


def test_ack_records_the_person_the_time_and_the_process(
    factory: sessionmaker[Session], email_only: Registry,
) -> None:
    store_review(factory, review())
    with session_scope(factory) as session:
        governance.acknowledge(session, email_only, "support-2026-W46", "lee", clock=Clock(),
                               origin=lambda: LAPTOP)
    row = _review_row(factory, "support-2026-W46")
    assert (row.acknowledged_by, row.acknowledged_at) == ("lee", NOW)
    assert (row.acknowledged_os_user, row.acknowledged_host, row.acknowledged_flow_run_id) == (
        "omar", "laptop-7", None)
    assert row.closed_os_user is None  # acknowledged, not closed


def test_close_records_its_own_process_and_keeps_the_acknowledgement(
    factory: sessionmaker[Session], email_only: Registry,
) -> None:
    store_review(factory, review())
    clock = Clock()
    with session_scope(factory) as session:
        governance.acknowledge(session, email_only, "support-2026-W46", "lee", clock=clock,
                               origin=lambda: LAPTOP)
    clock.advance(hours=3)
    with session_scope(factory) as session:
        governance.close(session, email_only, "support-2026-W46", "maria", "Staffing fixed",
                         clock=clock, origin=lambda: WORKER)
    row = _review_row(factory, "support-2026-W46")
    assert (row.acknowledged_by, row.acknowledged_os_user, row.acknowledged_host) == (
        "lee", "omar", "laptop-7")
    assert (row.closed_by, row.closed_at) == ("maria", NOW + timedelta(hours=3))
    assert (row.closed_os_user, row.closed_host, row.closed_flow_run_id) == (
        "svc-accountability", "worker-2", "3f1c-run")


def test_closing_an_unacknowledged_review_records_the_process_for_both(
    factory: sessionmaker[Session], email_only: Registry,
) -> None:
    store_review(factory, review())
    with session_scope(factory) as session:
        governance.close(session, email_only, "support-2026-W46", "lee", "Done",
                         clock=Clock(), origin=lambda: LAPTOP)
    row = _review_row(factory, "support-2026-W46")
    assert (row.acknowledged_by, row.acknowledged_os_user, row.acknowledged_host) == (
        "lee", "omar", "laptop-7")
    assert (row.closed_by, row.closed_os_user, row.closed_host) == ("lee", "omar", "laptop-7")


def test_ratify_records_the_person_and_the_process(
    factory: sessionmaker[Session], email_only: Registry,
) -> None:
    change = verdict()
    with session_scope(factory) as session:
        evaluations.save_findings(session, [evaluations.verdict_row(change, NOW)])
    with session_scope(factory) as session:
        governance.ratify(session, email_only, change.key, "priya", "agreed by phone",
                          clock=Clock(NOW + timedelta(days=1)), origin=lambda: WORKER)
    with factory() as session:
        (row,) = session.scalars(select(Ratification))
        assert session.get(Finding, change.key).status == "ratified"  # type: ignore[union-attr]
    assert (row.finding_key, row.by, row.at) == (change.key, "priya", NOW + timedelta(days=1))
    assert (row.os_user, row.host, row.flow_run_id) == (
        "svc-accountability", "worker-2", "3f1c-run")


def test_decide_records_the_person_and_the_process(
    factory: sessionmaker[Session], email_only: Registry,
) -> None:
    with session_scope(factory) as session:
        week = governance.decide(session, email_only, "support", "stabilize", "dana",
                                 "Hire two agents", None, clock=Clock(), origin=lambda: LAPTOP)
    with factory() as session:
        (row,) = session.scalars(select(Decision))
    assert (row.workflow, row.week, row.decision, row.by, row.recorded_at) == (
        "support", week, "stabilize", "dana", NOW)
    assert (row.os_user, row.host, row.flow_run_id) == ("omar", "laptop-7", None)


def test_a_refused_action_records_nothing(
    factory: sessionmaker[Session], email_only: Registry,
) -> None:
    """`--by sam` is refused by the permission rules before any origin is written."""
    with pytest.raises(UsageError), session_scope(factory) as session:
        governance.decide(session, email_only, "support", "pause", "sam", None, None,
                          clock=Clock(), origin=lambda: LAPTOP)
    with factory() as session:
        assert list(session.scalars(select(Decision))) == []


def test_the_default_origin_is_this_process_outside_any_flow() -> None:
    """The OS user comes from the process's uid (not `$USER`, which anyone can set)."""
    origin = process_origin()
    assert origin.os_user == pwd.getpwuid(os.geteuid()).pw_name
    assert origin.host == socket.gethostname()
    assert origin.flow_run_id is None


def test_the_os_user_ignores_a_forged_user_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "dana-forged")
    monkeypatch.setenv("LOGNAME", "dana-forged")
    assert process_origin().os_user != "dana-forged"
