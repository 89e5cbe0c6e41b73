"""Upserts are idempotent on both dialects: same batch twice, overlapping batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.models import AlertOutbox, Finding, JiraIssue, OwnershipEvent
from storage.upsert import insert_ignore, upsert

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _issue(n: int, *, status: str = "Open", summary: str | None = None) -> dict[str, Any]:
    return {
        "id": str(10_000 + n),
        "key": f"SUP-{n}",
        "project": "SUP",
        "summary": summary or f"Ticket {n}",
        "status": status,
        "assignee_account_id": None,
        "created": T0,
        "updated": T0 + timedelta(minutes=n),
        "raw": {"id": str(10_000 + n), "fields": {"labels": ["ai-assisted"], "n": n}},
        "synced_at": T0,
    }


def _snapshot(session: Session) -> list[tuple[Any, ...]]:
    session.expire_all()
    rows = session.execute(select(JiraIssue).order_by(JiraIssue.id)).scalars()
    return [
        (i.id, i.key, i.summary, i.status, i.created, i.updated, i.raw, i.synced_at) for i in rows
    ]


def test_same_batch_twice_leaves_the_same_rows(session: Session) -> None:
    batch = [_issue(n) for n in range(1, 6)]
    upsert(session, JiraIssue, batch)
    session.commit()
    first = _snapshot(session)
    upsert(session, JiraIssue, batch)
    session.commit()
    assert _snapshot(session) == first
    assert len(first) == 5
    assert first[0][6] == batch[0]["raw"]
    assert first[0][5] == T0 + timedelta(minutes=1)


def test_overlapping_batch_updates_and_inserts(session: Session) -> None:
    upsert(session, JiraIssue, [_issue(n) for n in range(1, 6)])
    session.commit()
    upsert(session, JiraIssue, [_issue(n, status="Done") for n in range(4, 9)])
    session.commit()
    statuses = dict(session.execute(select(JiraIssue.key, JiraIssue.status)).tuples().all())
    assert statuses == {f"SUP-{n}": "Open" if n < 4 else "Done" for n in range(1, 9)}


def test_conflict_on_a_unique_key_and_explicit_update_columns(session: Session) -> None:
    row = {"source": "jira", "item": "SUP-1", "at": T0, "actor_ref": "a1", "actor_kind": "user",
           "event_type": "assignee", "to_refs": ["a2"]}
    upsert(session, OwnershipEvent, [row | {"source_ref": "jira:1:0"}], conflict=["source_ref"])
    changed = row | {"source_ref": "jira:1:0", "actor_ref": "a9", "to_refs": ["a3"]}
    upsert(session, OwnershipEvent, [changed], conflict=["source_ref"], update=["to_refs"])
    session.commit()
    event = session.scalars(select(OwnershipEvent)).one()
    assert (event.to_refs, event.actor_ref) == (["a3"], "a1")


def test_columns_a_row_does_not_carry_keep_their_value(session: Session) -> None:
    first_seen = T0 - timedelta(days=3)
    row = {"key": "f1", "type": "unowned_item", "workflow": "support", "at": T0, "reason": "a",
           "first_seen_at": first_seen, "updated_at": first_seen}
    upsert(session, Finding, [row | {"rule": "approver", "details": {"stage": "intake"}}])
    upsert(session, Finding, [row | {"reason": "b", "updated_at": T0}])
    session.commit()
    finding = session.get_one(Finding, "f1")
    assert (finding.reason, finding.first_seen_at, finding.updated_at) == ("b", first_seen, T0)
    assert (finding.rule, finding.details) == ("approver", {"stage": "intake"})
    assert finding.status == "open"  # the Python-side default applied on insert


def test_skip_unchanged_leaves_identical_rows_alone(session: Session) -> None:
    upsert(session, JiraIssue, [_issue(1), _issue(2)])
    session.commit()
    again = [_issue(1), _issue(2, status="Done")]
    upsert(session, JiraIssue, again, update=["status", "raw"], skip_unchanged=True)
    session.commit()
    statuses = session.execute(select(JiraIssue.status).order_by(JiraIssue.id)).scalars().all()
    assert statuses == ["Open", "Done"]


def test_repeated_key_in_one_batch_keeps_the_last(session: Session) -> None:
    upsert(session, JiraIssue, [_issue(1), _issue(1, status="Done")])
    session.commit()
    assert session.scalars(select(JiraIssue.status)).all() == ["Done"]


def test_large_batches_are_chunked(session: Session) -> None:
    batch = [_issue(n) for n in range(1, 2_501)]  # 25,000 values: over SQLite's old 999
    upsert(session, JiraIssue, batch)
    upsert(session, JiraIssue, batch)
    session.commit()
    assert session.scalar(select(func.count()).select_from(JiraIssue)) == 2_500


def test_rows_with_different_columns_in_one_batch(session: Session) -> None:
    short = {k: v for k, v in _issue(2).items() if k != "summary"}
    upsert(session, JiraIssue, [_issue(1), short])
    session.commit()
    summaries = session.execute(select(JiraIssue.summary).order_by(JiraIssue.id)).scalars().all()
    assert summaries == ["Ticket 1", None]


def test_unknown_columns_are_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown columns"):
        upsert(session, JiraIssue, [_issue(1) | {"colour": "red"}])


def _alert(dedup_key: str, recipient: str = "maria@acme.example") -> dict[str, Any]:
    return {
        "dedup_key": dedup_key,
        "kind": "unauthorized_change",
        "workflow": "support",
        "channel": "email",
        "recipient": recipient,
        "subject_ref": dedup_key.split("|")[0],
        "payload": {"item": "SUP-1"},
        "next_attempt_at": T0,
        "created_at": T0,
    }


def test_insert_ignore_keeps_the_first_version(session: Session) -> None:
    assert insert_ignore(session, AlertOutbox, [_alert("f1|email|maria")], ["dedup_key"]) == 1
    session.commit()
    session.execute(update(AlertOutbox).values(status="sent"))
    session.commit()
    batch = [_alert("f1|email|maria"), _alert("f2|email|maria"), _alert("f2|email|maria")]
    assert insert_ignore(session, AlertOutbox, batch, ["dedup_key"]) == 1
    session.commit()
    rows = session.execute(
        select(AlertOutbox.dedup_key, AlertOutbox.status, AlertOutbox.attempts).order_by(
            AlertOutbox.id
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("f1|email|maria", "sent", 0),
        ("f2|email|maria", "pending", 0),
    ]


def test_insert_ignore_keeps_a_repeated_keys_first_row_and_the_rows_order(
    session: Session,
) -> None:
    first = _alert("f2|email|maria") | {"payload": {"item": "SUP-2", "version": "first"}}
    later = _alert("f2|email|maria") | {"payload": {"item": "SUP-2", "version": "later"}}
    batch = [first, _alert("f1|email|maria"), later]
    assert insert_ignore(session, AlertOutbox, batch, ["dedup_key"]) == 2
    session.commit()
    rows = session.execute(
        select(AlertOutbox.dedup_key, AlertOutbox.payload).order_by(AlertOutbox.id)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("f2|email|maria", {"item": "SUP-2", "version": "first"}),
        ("f1|email|maria", {"item": "SUP-1"}),
    ]


def test_a_row_without_its_conflict_column_is_named(session: Session) -> None:
    with pytest.raises(ValueError, match=r"row lacks conflict columns \['dedup_key'\]"):
        insert_ignore(session, AlertOutbox,
                      [_alert("f1|email|maria"), {"kind": "unauthorized_change"}],
                      ["dedup_key"])


def test_insert_ignore_on_the_primary_key_by_default(session: Session) -> None:
    event = {
        "source_ref": "jira:1001:0",
        "source": "jira",
        "item": "SUP-1",
        "at": T0,
        "actor_ref": "jira:abc",
        "actor_kind": "user",
        "from_refs": [],
        "to_refs": ["jira:def"],
        "event_type": "assignee",
    }
    assert insert_ignore(session, OwnershipEvent, [event], conflict=["source_ref"]) == 1
    assert insert_ignore(session, OwnershipEvent, [event], conflict=["source_ref"]) == 0
    session.commit()
    assert session.scalar(select(func.count()).select_from(OwnershipEvent)) == 1
    (stored,) = session.scalars(select(OwnershipEvent)).all()
    assert (stored.at, stored.to_refs) == (T0, ["jira:def"])


def test_written_values_and_defaults_read_back_as_given(session: Session) -> None:
    """The SQLite path renders rows itself (bind processors, Python-side defaults): what
    comes back must be what SQLAlchemy's own path stores — aware UTC times (a Berlin time
    included), JSON documents and NULLs, the outbox's defaults — and the count is exact."""
    berlin = T0.astimezone(ZoneInfo("Europe/Berlin"))
    rows = [{"dedup_key": f"d{n}", "kind": "unauthorized_change", "workflow": None,
             "channel": "email", "recipient": "maria", "subject_ref": f"s{n}",
             "payload": {"n": n, "to": ["dev"], "none": None}, "created_at": berlin,
             "next_attempt_at": T0 + timedelta(minutes=n)} for n in range(3)]
    assert insert_ignore(session, AlertOutbox, rows, conflict=["dedup_key"]) == 3
    assert insert_ignore(session, AlertOutbox, rows[:2], conflict=["dedup_key"]) == 0
    upsert(session, JiraIssue, [_issue(1) | {"created": berlin, "summary": None}])
    session.expire_all()
    stored = session.scalars(select(AlertOutbox).order_by(AlertOutbox.dedup_key)).all()
    assert [(a.payload, a.workflow, a.status, a.attempts) for a in stored] == [
        ({"n": n, "to": ["dev"], "none": None}, None, "pending", 0) for n in range(3)]
    assert [(a.created_at, a.next_attempt_at) for a in stored] == [
        (T0, T0 + timedelta(minutes=n)) for n in range(3)]
    assert all(a.created_at.tzinfo == UTC for a in stored)
    issue = session.get(JiraIssue, "10001")
    assert issue is not None and issue.created == T0 and issue.summary is None
