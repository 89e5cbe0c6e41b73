"""What the CLI commands do, as plain functions the CLI, the flows and the tests share.

Each function takes its inputs explicitly (paths, URLs, dates) so that none of them reads the
environment behind the caller's back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock, system_clock
from accountability.render import render_escalation_map
from rules.escalation_map import build_escalation_map
from rules.registry import LoadedRegistry
from storage import engine as storage_engine
from storage import migrate, repo

EXAMPLE_REGISTRY = Path(__file__).resolve().parent.parent / "examples" / "registry.yaml"


def today_in(loaded: LoadedRegistry, clock: Clock = system_clock) -> date:
    """Dates in the registry are days of its time zone, not of the machine's."""
    return clock().astimezone(loaded.registry.tz).date()


def write_escalation_map(
    loaded: LoadedRegistry, workflow: str, target: Path, today: date | None = None
) -> Path:
    view = build_escalation_map(loaded.registry, workflow, today or today_in(loaded))
    html = render_escalation_map(view, loaded.content_hash)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)  # never leave a half-written page behind
    return target


@contextmanager
def database(url: str) -> Iterator[sessionmaker[Session]]:
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
