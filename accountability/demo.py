"""`accountability demo`: the pipeline on embedded defaults, nothing to configure.

The sandbox (a local Jira Cloud and PagerDuty seeded with the Acme demo company of
`examples/registry.yaml`) runs in-process on a free loopback port, the database is a fresh
SQLite file in the output folder, and nothing keeps running afterwards.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from accountability import evaluate, sync
from accountability.app_services import (
    EXAMPLE_REGISTRY,
    database,
    record_registry,
    upgrade_database,
    write_escalation_map,
)
from accountability.digest import produce as produce_digest
from accountability.registry_file import load_registry_file
from accountability.settings import Settings
from rules.registry import LoadedRegistry
from sandbox import SandboxConfig, serve_sandbox
from storage import repo

# The sandbox's demo history covers ISO weeks 2026-W40 … 2026-W47; read all of it, and
# evaluate as of the Monday morning after it, so the demo gives the same result any day.
DEMO_SYNC_START = date(2026, 9, 1)
DEMO_AS_OF = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 in Europe/Berlin
DEMO_DIGEST_WEEK = "2026-W47"  # the week just ended on DEMO_AS_OF: W46's breaches, what followed
DEMO_SEED = 7


@dataclass(frozen=True)
class DemoResult:
    database_url: str
    maps: dict[str, Path]
    report: sync.SyncReport
    evaluation: evaluate.EvaluationReport
    counts: dict[str, dict[str, int]]


def run_demo(out_dir: Path, console: Console, today: date | None = None) -> DemoResult:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    database_url = f"sqlite:///{(out_dir / 'accountability.db').resolve()}"
    loaded = load_registry_file(EXAMPLE_REGISTRY)
    _done(console, f"registry {EXAMPLE_REGISTRY.name}: valid, {len(loaded.warnings)} warnings")
    upgrade_database(database_url)
    record_registry(database_url, loaded)
    _done(console, f"database {database_url}")
    report = _sync_from_sandbox(console, loaded, database_url)
    _done(console, report.line())
    with database(database_url) as factory, console.status("Evaluating…"):
        evaluation = evaluate.evaluate(factory, loaded, now=DEMO_AS_OF, full=True)
    _done(console, evaluation.line())
    maps = {
        workflow: write_escalation_map(loaded, workflow, out_dir / "maps" / f"{workflow}.html",
                                       today)
        for workflow in loaded.registry.workflows
    }
    with database(database_url) as factory, factory() as session:
        counts = repo.workflow_item_counts(session, _services(loaded))
        summary = repo.workflow_outcomes(session)
    console.print(_table(loaded, counts, summary))
    with database(database_url) as factory, console.status("Writing the weekly digest…"):
        digest_path = out_dir / f"digest-{DEMO_DIGEST_WEEK}.html"
        digest = produce_digest(factory, loaded, Settings(), week=DEMO_DIGEST_WEEK,
                                out=digest_path, now=DEMO_AS_OF)
    _done(console, f"digest: {digest.subject}")
    console.print(f"Weekly digest (open in a browser): {digest_path}", highlight=False,
                  soft_wrap=True)
    console.print("Escalation maps (open in a browser):")
    for workflow, path in maps.items():
        console.print(f"  {workflow}: {path}", highlight=False, soft_wrap=True)
    console.print(f"Database: {database_url} — try `accountability findings`, "
                  "`accountability scorecard`, `accountability reviews` with "
                  f"ACCOUNTABILITY_DATABASE_URL={database_url}", highlight=False, soft_wrap=True)
    return DemoResult(database_url, maps, report, evaluation, counts)


def _sync_from_sandbox(console: Console, loaded: LoadedRegistry, url: str) -> sync.SyncReport:
    with console.status("Starting the sandbox Jira Cloud and PagerDuty…"):
        sandbox = serve_sandbox(SandboxConfig(seed=DEMO_SEED, mode="demo"))
        sb = sandbox.__enter__()
    try:
        creds = sb.credentials
        settings = Settings(
            database_url=url,
            registry=EXAMPLE_REGISTRY,
            sync_start=DEMO_SYNC_START,
            jira_url=creds["JIRA_URL"],
            jira_email=creds["JIRA_EMAIL"],
            jira_api_token=creds["JIRA_API_TOKEN"],
            jira_pat=None,
            pagerduty_api_token=creds["PAGERDUTY_API_TOKEN"],
            pagerduty_api_url=creds["PAGERDUTY_API_URL"],
            ca_bundle=sb.ca_path,
        )
        with database(url) as factory, _progress(console) as advance:
            return sync.run_sync(settings, loaded.registry, factory, progress=advance)
    finally:
        sandbox.__exit__(None, None, None)


class _progress:
    """A progress line per partition while the sync runs (partitions run in threads)."""

    def __init__(self, console: Console) -> None:
        self._bar = Progress(SpinnerColumn(), TextColumn("syncing {task.description}"),
                             TextColumn("{task.completed} records"), TimeElapsedColumn(),
                             console=console, transient=True)
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> sync.Progress:
        self._bar.__enter__()
        return self.advance

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)

    def advance(self, partition: str, count: int) -> None:
        with self._lock:
            if partition not in self._tasks:
                self._tasks[partition] = self._bar.add_task(partition, total=None)
            self._bar.advance(self._tasks[partition], count)


def _services(loaded: LoadedRegistry) -> dict[str, list[str]]:
    return {
        workflow_id: list(workflow.sources.pagerduty.services if workflow.sources.pagerduty else [])
        for workflow_id, workflow in loaded.registry.workflows.items()
    }


def _done(console: Console, text: str) -> None:
    console.print(f"[green]✓[/] {text}", highlight=False, soft_wrap=True)


def _table(
    loaded: LoadedRegistry,
    counts: dict[str, dict[str, int]],
    outcomes: dict[str, dict[str, object]],
) -> Table:
    registry = loaded.registry
    table = Table(title=f"{registry.organization}: workflows as of {DEMO_AS_OF:%Y-%m-%d}")
    for column in ("workflow", "outcome owner", "items · incidents · changes", "open findings",
                   "weeks in breach (metrics → recommendation)", "risk reviews"):
        table.add_column(column, no_wrap=column == "workflow")
    for workflow_id, workflow in registry.workflows.items():
        row = counts[workflow_id]
        outcome = outcomes.get(workflow_id, {})
        findings = outcome.get("findings") or {}
        weeks = outcome.get("breach_weeks") or []
        assert isinstance(findings, dict) and isinstance(weeks, list)
        table.add_row(
            workflow.name,
            registry.people[workflow.outcome.owner].name,
            f"{row['jira_items']} · {row['incidents']} · {row['ownership_changes']}",
            "\n".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(findings.items()))
            or "none",
            "\n".join(weeks) or f"none (latest {outcome.get('week', '—')}: "
            f"{outcome.get('recommendation', '—')})",
            str(outcome.get("reviews") or "none"),
        )
    return table
