"""The `accountability` command (SPEC §8).

Exit codes: 0 success, 1 a run failed, 2 bad usage or configuration. Known failures become a
one-line message on stderr, never a traceback; only commands that exist for real are registered.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from accountability import app_services, sync
from accountability.errors import UsageError
from accountability.registry_file import load_registry_file
from accountability.settings import load_settings
from rules.escalation_map import UnknownWorkflowError
from rules.registry import RegistryError

app = typer.Typer(
    name="accountability",
    help="Who is accountable for an AI-enabled workflow right now.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
registry_app = typer.Typer(help="Work with the owner registry.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the project database.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")
app.add_typer(db_app, name="db")

# Piped output (CI logs, files) gets a readable width instead of rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

RegistryOption = Annotated[
    Path | None,
    typer.Option(
        "--registry", help="Registry file (default: $ACCOUNTABILITY_REGISTRY or ./registry.yaml)."
    ),
]


@registry_app.command("validate")
def registry_validate(
    path: Annotated[Path | None, typer.Argument(help="Registry file to check.")] = None,
) -> None:
    """Validate the registry: all errors at once, with file, line and path; warnings apart."""
    target = path or load_settings().registry
    loaded = load_registry_file(target)
    for warning in loaded.warnings:
        err.print(f"[yellow]warning[/]: {warning}", highlight=False, markup=True, soft_wrap=True)
    registry = loaded.registry
    out.print(
        f"[green]✓[/] {target} is valid: {len(registry.workflows)} workflows, "
        f"{len(registry.people)} people, {len(registry.groups)} groups, "
        f"{len(registry.delegations)} delegations, {len(loaded.warnings)} warnings",
        highlight=False,
    )


@app.command("map")
def escalation_map(
    workflow: Annotated[str, typer.Argument(help="Workflow id from the registry.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="HTML file to write.")] = None,
    registry: RegistryOption = None,
) -> None:
    """Write the one-page escalation map of a workflow as HTML."""
    loaded = load_registry_file(registry or load_settings().registry)
    target = out_file or Path(f"escalation-map-{workflow}.html")
    app_services.write_escalation_map(loaded, workflow, target)
    out.print(f"Escalation map of '{workflow}' written to {target}", highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (safe to run again)."""
    settings = load_settings()
    app_services.upgrade_database(settings.database_url)
    out.print("Database is up to date.")


@app.command("sync")
def sync_command(
    source: Annotated[
        str | None, typer.Option("--source", help="Only this source: jira or pagerduty.")
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-read from the start.")] = False,
    registry: RegistryOption = None,
) -> None:
    """Incremental sync: Jira issues with changelogs, PagerDuty incidents with log entries."""
    settings = load_settings()
    loaded = load_registry_file(registry or settings.registry)
    sync.sync_targets(loaded.registry, source)  # validate --source before any network call
    with app_services.database(settings.database_url) as factory, Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} records"),
        TimeElapsedColumn(), console=err, transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}
        lock = threading.Lock()

        def advance(partition: str, count: int) -> None:
            with lock:
                if partition not in tasks:
                    tasks[partition] = bar.add_task(partition, total=None)
                bar.advance(tasks[partition], count)

        report = sync.run_sync(
            settings, loaded.registry, factory, source=source, full=full, progress=advance
        )
    for summary in report.summaries:
        for note in summary.notes:
            err.print(f"note: {summary.partition}: {note}", highlight=False)
    out.print(report.line(), highlight=False, soft_wrap=True)


@app.command("demo")
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo's outputs.")] = Path(
        "demo-output"
    ),
) -> None:
    """Run the pipeline on the embedded defaults and show what it produced."""
    from accountability.demo import run_demo  # imports the sandbox only when asked for

    run_demo(out_dir, out, today=datetime.now().date())


def main() -> None:
    """Entry point: known errors become a message and exit code 2, not a traceback."""
    from connectors.errors import AuthError, ConnectorError
    from storage.errors import StorageError

    try:
        app()
    except RegistryError as exc:
        for warning in exc.warnings:
            err.print(f"[yellow]warning[/]: {warning}", highlight=False, soft_wrap=True)
        for issue in exc.issues:
            err.print(f"[red]error[/]: {issue}", highlight=False, soft_wrap=True)
        err.print(
            f"registry is invalid: {len(exc.issues)} error(s); nothing was written",
            highlight=False,
        )
        sys.exit(2)
    except (UsageError, StorageError, UnknownWorkflowError, AuthError) as exc:
        err.print(f"[red]error[/]: {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except ConnectorError as exc:
        err.print(f"[red]run failed[/]: {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
