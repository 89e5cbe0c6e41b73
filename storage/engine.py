"""Engines and sessions for SQLite (one machine) and PostgreSQL (several workers)."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from storage import jsoncodec

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_FILE_MODE = 0o600


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings the worker relies on.

    JSON columns are written by `storage.jsoncodec` (orjson). SQLite gets foreign keys (off
    by default there), WAL (readers do not block the writer) and a busy timeout (concurrent
    writers wait instead of failing at once).
    A PostgreSQL URL without a driver (``postgresql://``) uses psycopg 3, the driver
    the project installs. A new SQLite file is created 0600 (see `private_sqlite_file`).
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("json_serializer", jsoncodec.dumps)
    engine = create_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        database = sqlite_file(parsed)
        if database is not None:
            event.listen(engine, "do_connect",
                         lambda *_: private_sqlite_file(database))  # returns None: connect
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL opens, or None for an in-memory or URI-style database (whose
    path SQLite itself resolves; those are created by SQLite with its default mode)."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    if url.query.get("uri") or url.query.get("mode") == "memory":
        return None
    return Path(database)


def private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it, if it does not exist yet.

    SQLite would create it 0644 (under the usual umask): readable by every local user, with
    every person, finding and decision in it. SQLite gives its `-wal`, `-shm` and `-journal`
    files the mode of the database file, so they are private too. An existing file keeps its
    mode: an operator may have given a group access on purpose (docs/operations.md).
    """
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE)
    except (FileExistsError, FileNotFoundError):
        return  # exists already, or no such folder: SQLite says so in its own words
    os.close(handle)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")  # ignored (stays "memory") for :memory:
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, far fewer fsyncs
    finally:
        cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (results are read after the transaction)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block succeeds, roll back when it raises.

    Example:
        >>> with session_scope(session_factory(engine)) as session:
        ...     upsert(session, JiraIssue, rows)
    """
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()


@contextmanager
def write_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """`session_scope` for a transaction that writes: on SQLite, one such transaction of this
    process at a time, the next one let in the moment the previous one ends.

    SQLite lets one writer in at a time anyway. A second connection that finds the file
    locked waits in SQLite's busy handler, which sleeps in steps (1, 2, 5, 10, 15, 20, 25 ms
    …) and so starts up to ~20 ms after the lock is free: seen with sync partitions writing
    side by side. Another process still meets the busy timeout, as before. PostgreSQL
    writers go side by side: no lock there.
    """
    bind = factory.kw.get("bind")
    lock = _writer_lock(bind) if isinstance(bind, Engine) else None
    if lock is None:
        with session_scope(factory) as session:
            yield session
        return
    with lock, session_scope(factory) as session:
        yield session


def _writer_lock(engine: Engine) -> threading.Lock | None:
    if engine.dialect.name != "sqlite":
        return None
    with _WRITERS_GUARD:
        lock = _WRITERS.get(engine)
        if lock is None:
            lock = _WRITERS[engine] = threading.Lock()
        return lock
