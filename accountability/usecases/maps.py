"""The escalation map of a workflow as a page on disk (`accountability map`, the demo)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from accountability.clock import Clock, system_clock
from accountability.messages.pages import render_escalation_map
from accountability.private_files import inside, write_private
from rules.escalation_map import build_escalation_map
from rules.registry import LoadedRegistry
from storage import engine as storage_engine
from storage import migrate
from storage import resets as reset_store
from storage.errors import StorageError


def today_in(loaded: LoadedRegistry, clock: Clock = system_clock) -> date:
    """Dates in the registry are days of its time zone, not of the machine's."""
    return clock().astimezone(loaded.registry.tz).date()


def map_file(folder: Path, workflow: str) -> Path:
    """Where the map of `workflow` goes in a folder of maps: `<folder>/<workflow>.html`,
    refused (`UsageError`) if the id would lead out of `folder`."""
    return inside(folder, f"{workflow}.html")


def write_escalation_map(
    loaded: LoadedRegistry, workflow: str, target: Path, today: date | None = None
) -> Path:
    """Render the map of `workflow` and write it to `target` atomically.

    `target` is checked to be a plain file in its own folder (`inside`); callers that put a
    map in a folder of maps build it with `map_file`."""
    view = build_escalation_map(loaded.registry, workflow, today or today_in(loaded))
    html = render_escalation_map(view, loaded.content_hash)
    # Atomic (never a half-written page) and 0600: the map names people and their contacts.
    return write_private(target, html)


def record_map_write(
    database_url: str, loaded: LoadedRegistry, workflow: str, writer: str,
    clock: Clock = system_clock,
) -> str | None:
    """Record that the map of `workflow` was written (the 30-day reset's week-1 item reads it);
    None when recorded, else a note saying why not.

    A map needs no database, so a missing or unmigrated one is a note, never a failure, and a
    SQLite file that does not exist is not created just to hold this row."""
    try:
        url = make_url(database_url)
        database = storage_engine.sqlite_file(url) if url.get_backend_name() == "sqlite" else None
    except (SQLAlchemyError, ValueError) as exc:
        return f"map write not recorded: {exc}"
    if database is not None and not database.exists():
        return f"map write not recorded: no database at {database} (accountability db upgrade)"
    engine = storage_engine.make_engine(database_url)
    try:
        migrate.check_schema(engine)
        with storage_engine.session_scope(storage_engine.session_factory(engine)) as session:
            reset_store.record_map_write(session, workflow, loaded.content_hash, clock(), writer)
    except (StorageError, SQLAlchemyError) as exc:
        return f"map write not recorded: {exc}"
    finally:
        engine.dispose()
    return None
