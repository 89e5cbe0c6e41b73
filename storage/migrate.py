"""Alembic, configured in code so migrations run from an installed package (no alembic.ini).

``upgrade`` is what ``accountability db upgrade`` runs; ``check_schema`` is the guard
every other command runs first, so a stale or foreign database fails with a message
that says what to do instead of an SQL error halfway through a run.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from storage.engine import make_engine
from storage.errors import SchemaNotMigrated, SchemaOutdated, SchemaTooNew, StorageError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaNotMigrated",
    "SchemaOutdated",
    "SchemaTooNew",
    "StorageError",
    "alembic_config",
    "check_schema",
    "current_revisions",
    "head_revision",
    "upgrade",
]
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
UPGRADE_HINT = "run `accountability db upgrade`"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations.

    The connection travels in ``Config.attributes`` rather than as a URL option: a URL
    in the config would go through configparser interpolation (``%`` in passwords).
    """
    from alembic.config import Config  # alembic costs ~0.15 s to import: only when needed

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads, expected one: {heads}")
    return heads[0]


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (default: the newest), in one transaction.

    On SQLite, foreign keys are off while migrations run, as SQLite's procedure for schema
    changes asks: a batch migration rebuilds a table by dropping it, and with foreign keys on
    that drop would cascade into its children (an issue's changelog rows). The references are
    checked before the transaction commits.
    """
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:  # only outside a transaction does the pragma take effect
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            with connection.begin():
                command.upgrade(alembic_config(connection), revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise StorageError(f"migration left broken references: {broken[:5]}")
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    finally:
        engine.dispose()


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions the database is stamped with (empty when it was never migrated)."""
    from alembic.runtime.migration import MigrationContext

    return tuple(MigrationContext.configure(connection).get_current_heads())


def check_schema(engine: Engine) -> None:
    """Raise a :class:`~storage.errors.StorageError` unless the database is at the head revision.

    Raises:
        SchemaNotMigrated: the database has no schema.
        SchemaOutdated: it is at an older revision this version knows.
        SchemaTooNew: it is at a revision this version does not know (a newer release).
    """
    where = engine.url.render_as_string(hide_password=True)
    with engine.connect() as connection:
        if _stamped_with_newest_file(connection):
            return  # every command's check, without importing Alembic and its migrations
        current = current_revisions(connection)
    if not current:
        raise SchemaNotMigrated(f"database at {where} has no schema; {UPGRADE_HINT}")
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = [rev for rev in current if rev not in known]
    if unknown:
        raise SchemaTooNew(
            f"database at {where} was migrated by a newer version of accountability-stack "
            f"(revision {', '.join(unknown)} unknown); upgrade the tool"
        )
    head = head_revision()
    if current != (head,):
        raise SchemaOutdated(
            f"database at {where} is at revision {', '.join(current)}, this version needs "
            f"{head}; {UPGRADE_HINT}"
        )


@cache
def _newest_revision_file() -> str:
    """The revision id of the newest migration file: its name's prefix (`0012_web_indexes.py`
    is revision "0012"; tests/storage/test_migrations.py holds the files to this rule)."""
    return max(p.name.split("_")[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))


def _stamped_with_newest_file(connection: Connection) -> bool:
    """Whether the database is stamped with exactly the newest revision: the common case,
    answered with one query. Anything else goes through Alembic for the precise message."""
    if not inspect(connection).has_table("alembic_version"):
        return False
    stamped = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return list(stamped) == [_newest_revision_file()]
