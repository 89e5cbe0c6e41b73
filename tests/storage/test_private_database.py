"""The SQLite database is private: created 0600 with its WAL and shared-memory files, whatever
the umask (issue 15 item 13). It holds every person, finding and decision; under the usual
umask 022 SQLite itself would create it readable by every local user."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import make_engine
from storage.migrate import upgrade


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most systems give a login shell: group and others may read new files."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_database_and_its_wal_files_are_0600(tmp_path: Path) -> None:
    database = tmp_path / "accountability.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x TEXT)"))
            connection.execute(text("INSERT INTO t VALUES ('maria')"))
        with engine.connect() as connection:  # open: the WAL and -shm files exist now
            assert connection.scalar(text("SELECT x FROM t")) == "maria"
            files = sorted(tmp_path.iterdir())
            assert [p.name for p in files] == ["accountability.db", "accountability.db-shm",
                                               "accountability.db-wal"]
            assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        engine.dispose()


def test_db_upgrade_creates_the_database_0600(tmp_path: Path) -> None:
    database = tmp_path / "prod.db"
    upgrade(f"sqlite:///{database}")
    assert mode(database) == 0o600


def test_an_existing_database_keeps_the_mode_its_operator_gave_it(tmp_path: Path) -> None:
    """A group may have been given access on purpose (docs/operations.md, file permissions)."""
    database = tmp_path / "shared.db"
    upgrade(f"sqlite:///{database}")
    database.chmod(0o660)
    upgrade(f"sqlite:///{database}")
    assert mode(database) == 0o660


def test_in_memory_and_missing_folders_behave_as_before(tmp_path: Path) -> None:
    engine = make_engine("sqlite://")
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT 1")) == 1
    finally:
        engine.dispose()
    missing = make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}")
    try:
        with pytest.raises(Exception, match="unable to open database file"):
            missing.connect()
    finally:
        missing.dispose()
    assert not (tmp_path / "no").exists()
