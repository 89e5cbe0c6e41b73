"""Two workers writing the same rows at the same moment (two `accountability run`s on one
PostgreSQL database, SPEC §10) never fail each other: every idempotent write is race-free.

PostgreSQL's `INSERT … ON CONFLICT (target)` checks only the target's index for a concurrent
insert; a row that also clashes on another unique index (an issue's `key` beside its `id`, a
risk review's `id` beside its workflow and week) fails with a unique violation when the other
worker inserts it between the check and the insert. These tests start both writers on a
barrier, row after row, so that window is hit within a few hundred rows when it exists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from rules.facts import ReviewState
from storage.engine import session_factory, session_scope
from storage.evaluations import open_reviews
from storage.ingest import jira_issue_row, save_jira_batch
from storage.models import JiraIssue, RiskReview

pytestmark = pytest.mark.postgres

ROUNDS = 300
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers: the race is PostgreSQL's")
    yield session_factory(engine)


def _race(factory: sessionmaker[Session], write: Callable[[Session, int], Any]) -> list[str]:
    """Both workers write round n's row at once, ROUNDS times; returns their errors."""
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def worker() -> None:
        for n in range(ROUNDS):
            barrier.wait(timeout=30)
            try:
                with session_scope(factory) as session:
                    write(session, n)
            except Exception as exc:  # collected: the assertion names them
                errors.append(f"round {n}: {type(exc).__name__}: {str(exc).splitlines()[0]}")

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _issue(n: int) -> dict[str, Any]:
    return jira_issue_row({"id": str(10_000 + n), "key": f"SUP-{n}", "fields": {
        "project": {"key": "SUP"}, "status": {"name": "Open"}, "summary": "Export fails",
        "created": "2026-11-02T09:00:00.000+0000", "updated": "2026-11-02T09:00:00.000+0000"}})


def test_two_syncs_writing_the_same_new_issues_at_once_both_succeed(
    factory: sessionmaker[Session],
) -> None:
    errors = _race(factory, lambda session, n: save_jira_batch(
        session, [(_issue(n), [])], "support", AT))
    assert errors == []
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(JiraIssue)) == ROUNDS


def test_two_evaluations_opening_the_same_risk_review_at_once_both_succeed(
    factory: sessionmaker[Session],
) -> None:
    def open_one(session: Session, n: int) -> list[str]:
        week = f"{2000 + n // 52}-W{n % 52 + 1:02d}"
        return open_reviews(session, [ReviewState(
            id=f"support-{week}", workflow="support", week=week, owner="lee", status="open",
            opened_at=AT, due=date(2026, 11, 9), breaches=("throughput",))])

    errors = _race(factory, open_one)
    assert errors == []
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(RiskReview)) == ROUNDS
