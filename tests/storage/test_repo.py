"""Repositories: registry snapshots, sync cursors and the alert outbox lifecycle."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import ORMExecuteState, Session

from storage.engine import session_factory, session_scope
from storage.models import AlertOutbox, Person, RegistrySnapshot
from storage.outbox import claim_pending_alerts, mark_failed, mark_sent
from storage.repo import get_cursor, save_registry_snapshot, set_cursor
from storage.upsert import insert_ignore

NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)

MARIA = {
    "id": "maria",
    "name": "Maria Chen",
    "email": "maria@acme.example",
    "jira_account_id": "5b10a2844c20165700ede21g",
    "pagerduty_user_id": "PMARIA1",
}
DEV = {"id": "dev", "name": "Dev Patel", "email": None, "jira_account_id": "5b10dev"}


# --- registry -----------------------------------------------------------------------------


def test_registry_snapshot_is_stored_once_and_people_follow_the_latest(session: Session) -> None:
    first = save_registry_snapshot(
        session,
        content_hash="h1",
        organization="Acme",
        source="registry.yaml",
        content="version: 1",
        people=[MARIA, DEV],
        loaded_at=NOW,
    )
    again = save_registry_snapshot(
        session,
        content_hash="h1",
        organization="Acme",
        source="registry.yaml",
        content="version: 1",
        people=[MARIA, DEV],
        loaded_at=NOW + timedelta(hours=1),
    )
    assert first == again
    renamed = MARIA | {"name": "Maria Chen-Ruiz"}
    second = save_registry_snapshot(
        session,
        content_hash="h2",
        organization="Acme",
        source="registry.yaml",
        content="version: 1 # v2",
        people=[renamed],
        loaded_at=NOW + timedelta(hours=2),
    )
    session.commit()
    assert second != first
    assert session.scalar(select(func.count()).select_from(RegistrySnapshot)) == 2
    people = session.scalars(select(Person)).all()
    assert [(p.id, p.name, p.snapshot_content_hash) for p in people] == [
        ("maria", "Maria Chen-Ruiz", "h2")
    ]
    assert people[0].pagerduty_user_id == "PMARIA1"
    assert session.get_one(RegistrySnapshot, first).loaded_at == NOW


# --- cursors --------------------------------------------------------------------------------


def test_cursors_per_source_and_partition(session: Session) -> None:
    assert get_cursor(session, "jira", "SUP") is None
    set_cursor(session, "jira", "SUP", NOW, details={"issues": 12}, now=NOW)
    set_cursor(session, "jira", "ONB", NOW - timedelta(days=1), now=NOW)
    session.commit()
    later = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    set_cursor(session, "jira", "SUP", later, now=later)
    session.commit()
    assert get_cursor(session, "jira", "SUP") == later
    assert get_cursor(session, "jira", "SUP").tzinfo is UTC  # type: ignore[union-attr]
    assert get_cursor(session, "jira", "ONB") == NOW - timedelta(days=1)
    assert get_cursor(session, "pagerduty", "SUP") is None


# --- outbox ---------------------------------------------------------------------------------


def _enqueue(session: Session, count: int, *, due: datetime = NOW) -> list[int]:
    rows: list[dict[str, Any]] = [
        {
            "dedup_key": f"finding-{n}|email|maria",
            "kind": "unauthorized_change",
            "workflow": "support",
            "channel": "email",
            "recipient": "maria@acme.example",
            "subject_ref": f"finding-{n}",
            "payload": {"n": n},
            "next_attempt_at": due,
            "created_at": due,
        }
        for n in range(count)
    ]
    insert_ignore(session, AlertOutbox, rows, ["dedup_key"])
    session.commit()
    return list(session.scalars(select(AlertOutbox.id).order_by(AlertOutbox.id)))


def test_claim_takes_due_pending_alerts_in_order(session: Session) -> None:
    ids = _enqueue(session, 5)
    _enqueue_later = {
        "dedup_key": "later|email|maria",
        "kind": "k",
        "channel": "email",
        "recipient": "maria",
        "subject_ref": "later",
        "payload": {},
        "next_attempt_at": NOW + timedelta(minutes=5),
        "created_at": NOW,
    }
    insert_ignore(session, AlertOutbox, [_enqueue_later], ["dedup_key"])
    session.commit()

    claimed = claim_pending_alerts(session, "w1", NOW, limit=3)
    session.commit()
    assert [a.id for a in claimed] == ids[:3]
    assert {(a.status, a.claimed_by, a.claimed_at) for a in claimed} == {("sending", "w1", NOW)}
    assert [a.id for a in claim_pending_alerts(session, "w2", NOW, limit=10)] == ids[3:]
    session.commit()
    assert claim_pending_alerts(session, "w3", NOW) == []


def test_concurrent_claims_never_share_a_row(engine: Engine) -> None:
    factory = session_factory(engine)
    with factory() as session:
        ids = _enqueue(session, 60)
    start = threading.Barrier(4)

    def worker(name: str) -> list[int]:
        mine: list[int] = []
        start.wait(timeout=30)
        while True:
            with session_scope(factory) as session:
                batch = [a.id for a in claim_pending_alerts(session, name, NOW, limit=3)]
            if not batch:
                return mine
            mine.extend(batch)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [f.result(timeout=120) for f in [pool.submit(worker, f"w{i}") for i in range(4)]]
    claimed = [alert_id for result in results for alert_id in result]
    assert sorted(claimed) == ids  # every alert claimed, none twice
    with factory() as session:
        owners = dict(
            session.execute(select(AlertOutbox.id, AlertOutbox.claimed_by)).tuples().all()
        )
    for name, result in zip([f"w{i}" for i in range(4)], results, strict=True):
        assert all(owners[alert_id] == name for alert_id in result)


@pytest.mark.postgres
@pytest.mark.parametrize("engine", [pytest.param("postgresql")], indirect=True)
def test_postgres_claims_skip_rows_locked_by_an_open_claim(engine: Engine) -> None:
    factory = session_factory(engine)
    with factory() as session:
        ids = _enqueue(session, 6)
    with factory() as first, factory() as second:
        second.execute(text("SET LOCAL lock_timeout = '5s'"))  # a regression fails, not hangs
        mine = [a.id for a in claim_pending_alerts(first, "w1", NOW, limit=4)]
        theirs = [a.id for a in claim_pending_alerts(second, "w2", NOW, limit=4)]
        first.commit()
        second.commit()
    assert mine == ids[:4]
    assert theirs == ids[4:]


def test_a_claim_racing_between_read_and_update_loses_nothing(engine: Engine) -> None:
    """Another worker claims right after this one read its candidates."""
    factory = session_factory(engine)
    with factory() as session:
        ids = _enqueue(session, 6)
    theirs: list[int] = []

    def interleave(state: ORMExecuteState) -> None:
        if state.is_update and not theirs:
            with session_scope(factory) as other:
                theirs.extend(a.id for a in claim_pending_alerts(other, "w2", NOW, limit=3))

    with factory() as session:
        event.listen(session, "do_orm_execute", interleave)
        mine = [a.id for a in claim_pending_alerts(session, "w1", NOW, limit=3)]
        session.commit()
    if engine.dialect.name == "postgresql":  # our rows were locked: the other worker skipped them
        assert (mine, theirs) == (ids[:3], ids[3:])
    else:  # the other worker took our candidates first: we lost them and read again
        assert (mine, theirs) == (ids[3:], ids[:3])


def test_failed_alert_is_retried_then_dead(session: Session) -> None:
    (alert_id,) = _enqueue(session, 1)
    when = NOW
    for attempt in (1, 2):
        (alert,) = claim_pending_alerts(session, "w1", when)
        retry_at = when + timedelta(minutes=2**attempt)
        status = mark_failed(
            session, alert.id, next_attempt_at=retry_at, error="SMTP 451 try later", max_attempts=3
        )
        session.commit()
        assert status == "pending"
        assert claim_pending_alerts(session, "w1", retry_at - timedelta(seconds=1)) == []
        when = retry_at
    claim_pending_alerts(session, "w1", when)
    assert (
        mark_failed(
            session,
            alert_id,
            next_attempt_at=when + timedelta(hours=1),
            error="x" * 5_000,
            max_attempts=3,
        )
        == "dead"
    )
    session.commit()
    session.expire_all()
    alert = session.get_one(AlertOutbox, alert_id)
    assert (alert.status, alert.attempts, alert.claimed_by) == ("dead", 3, None)
    assert alert.last_error is not None and len(alert.last_error) == 2_000
    assert claim_pending_alerts(session, "w1", NOW + timedelta(days=30)) == []


def test_mark_failed_on_a_missing_alert(session: Session) -> None:
    with pytest.raises(LookupError):
        mark_failed(session, 404, next_attempt_at=NOW, error="e", max_attempts=3)


def test_sent_alert_is_never_claimed_again(session: Session) -> None:
    (alert_id,) = _enqueue(session, 1)
    claim_pending_alerts(session, "w1", NOW)
    mark_sent(session, alert_id, now=NOW, provider_id="<msg-1@acme>")
    session.commit()
    session.expire_all()
    alert = session.get_one(AlertOutbox, alert_id)
    assert (alert.status, alert.sent_at, alert.provider_id) == ("sent", NOW, "<msg-1@acme>")
    assert (
        claim_pending_alerts(
            session, "w2", NOW + timedelta(days=1), stale_after=timedelta(minutes=10)
        )
        == []
    )


def test_stale_claims_are_reclaimed_only_when_asked(session: Session) -> None:
    (alert_id,) = _enqueue(session, 1)
    claim_pending_alerts(session, "crashed", NOW)
    session.commit()
    later = NOW + timedelta(hours=1)
    assert claim_pending_alerts(session, "w2", later) == []
    (alert,) = claim_pending_alerts(session, "w2", later, stale_after=timedelta(minutes=10))
    assert (alert.id, alert.claimed_by, alert.claimed_at) == (alert_id, "w2", later)
