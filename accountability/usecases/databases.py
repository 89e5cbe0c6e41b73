"""The project database as every entry point opens it: migrated, checked, disposed after.

Each function takes its URL explicitly, so none of them reads the environment behind the
caller's back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock, system_clock
from rules.registry import LoadedRegistry
from storage import engine as storage_engine
from storage import migrate, repo


@contextmanager
def open_database(url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on a migrated database; refuses an unmigrated or newer schema."""
    engine = storage_engine.make_engine(url)
    try:
        migrate.check_schema(engine)
        yield storage_engine.session_factory(engine)
    finally:
        engine.dispose()


def upgrade_database(url: str) -> None:
    migrate.upgrade(url)


def record_registry(url: str, loaded: LoadedRegistry, clock: Clock = system_clock) -> None:
    """Store the registry snapshot and its people so findings can be traced to a version."""
    engine = storage_engine.make_engine(url)
    try:
        migrate.check_schema(engine)
        people = [
            {
                "id": person_id,
                "name": person.name,
                "email": person.email,
                "jira_account_id": person.jira,
                "pagerduty_user_id": person.pagerduty,
            }
            for person_id, person in loaded.registry.people.items()
        ]
        with storage_engine.session_scope(storage_engine.session_factory(engine)) as session:
            repo.save_registry_snapshot(
                session,
                content_hash=loaded.content_hash,
                organization=loaded.registry.organization,
                source=loaded.source,
                content=loaded.text,
                people=people,
                loaded_at=clock(),
            )
    finally:
        engine.dispose()
