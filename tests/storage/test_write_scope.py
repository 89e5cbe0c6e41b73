"""`write_scope`: a sync's partitions write side by side; on SQLite this process lets one
writing transaction in at a time (no busy-handler sleeps), on PostgreSQL it holds nobody back."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from storage.engine import make_engine, session_factory, write_scope

ROUNDS = 60


def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
    # After make_engine's own pragmas: a writer that finds the file locked fails at once.
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def test_sqlite_writers_of_one_process_never_meet_the_file_locked(tmp_path: Path) -> None:
    """Two threads start a write together, round after round, with SQLite's busy timeout at
    zero: a write that found the other's transaction still open would fail with "database is
    locked" (with `session_scope` it does, within a few rounds). Through `write_scope` the
    second waits for the first to commit, then goes in."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    event.listen(engine, "connect", _no_busy_wait)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (w INTEGER, n INTEGER, PRIMARY KEY (w, n))"))
    factory = session_factory(engine)
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def worker(me: int) -> None:
        for n in range(ROUNDS):
            barrier.wait(timeout=30)
            try:
                with write_scope(factory) as session:
                    session.execute(text("INSERT INTO t VALUES (:w, :n)"), {"w": me, "n": n})
                    time.sleep(0.002)  # the write lock held, the other thread let run
                    session.execute(text("INSERT INTO t VALUES (:w, :n)"), {"w": me, "n": -n - 1})
            except Exception as exc:  # collected: the assertion names them
                errors.append(f"worker {me} round {n}: {exc}".splitlines()[0])

    threads = [threading.Thread(target=worker, args=(me,)) for me in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 4 * ROUNDS
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_writers_are_not_held_back(engine: Engine) -> None:
    """Two write scopes open at once: the first waits inside its transaction for the second
    to have started its own (a lock would keep the second out until the first gave up)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes its writers: the test above covers it")
    factory = session_factory(engine)
    second_inside = threading.Event()
    saw_second: list[bool] = []

    def first() -> None:
        with write_scope(factory) as session:
            session.execute(text("SELECT 1"))
            saw_second.append(second_inside.wait(10))

    thread = threading.Thread(target=first)
    thread.start()
    with write_scope(factory) as session:
        session.execute(text("SELECT 1"))
        second_inside.set()
    thread.join()
    assert saw_second == [True]
