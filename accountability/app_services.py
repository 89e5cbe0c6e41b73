"""What the CLI commands do, as plain functions the CLI, the flows and the tests share.

Each function takes its inputs explicitly (paths, URLs, dates) so that none of them reads the
environment behind the caller's back.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from accountability.registry_file import load_registry_file
from accountability.render import render_escalation_map
from rules.escalation_map import build_escalation_map
from rules.registry import LoadedRegistry
from storage import engine as storage_engine
from storage import migrate, repo

EXAMPLE_REGISTRY = Path(__file__).resolve().parent.parent / "examples" / "registry.yaml"


def today_in(loaded: LoadedRegistry) -> date:
    """Dates in the registry are days of its time zone, not of the machine's."""
    return datetime.now(loaded.registry.tz).date()


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


def record_registry(url: str, loaded: LoadedRegistry) -> None:
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
            )
    finally:
        engine.dispose()


@dataclass(frozen=True)
class DemoResult:
    database_url: str
    maps: dict[str, Path]
    warnings: int


def run_demo(out_dir: Path, console: Console, today: date | None = None) -> DemoResult:
    """The demo on embedded defaults: the example registry, a fresh SQLite file, its maps."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    database_url = f"sqlite:///{(out_dir / 'accountability.db').resolve()}"
    with console.status("Validating the example registry…"):
        loaded = load_registry_file(EXAMPLE_REGISTRY)
    console.print(f"[green]✓[/] registry {EXAMPLE_REGISTRY.name}: valid, "
                  f"{len(loaded.warnings)} warnings", highlight=False, soft_wrap=True)
    with console.status("Creating the database…"):
        upgrade_database(database_url)
        record_registry(database_url, loaded)
    console.print(f"[green]✓[/] database {database_url}", highlight=False, soft_wrap=True)
    maps = {}
    with console.status("Writing escalation maps…"):
        for workflow in loaded.registry.workflows:
            maps[workflow] = write_escalation_map(
                loaded, workflow, out_dir / "maps" / f"{workflow}.html", today
            )
    console.print(_demo_table(loaded))
    console.print("Escalation maps (open in a browser):")
    for workflow, path in maps.items():
        console.print(f"  {workflow}: {path}", highlight=False, soft_wrap=True)
    return DemoResult(database_url, maps, len(loaded.warnings))


def _demo_table(loaded: LoadedRegistry) -> Table:
    registry = loaded.registry
    table = Table(title=f"{registry.organization}: workflows and their owners")
    for column in ("workflow", "outcome owner", "workflow owner", "risk owner", "stages",
                   "decisions"):
        table.add_column(column, no_wrap=column == "workflow")
    for workflow in registry.workflows.values():
        table.add_row(
            workflow.name,
            registry.people[workflow.outcome.owner].name,
            registry.people[workflow.workflow_owner].name,
            registry.people[workflow.risk_owner].name,
            str(len(workflow.stages)),
            str(len(workflow.decisions)),
        )
    return table
