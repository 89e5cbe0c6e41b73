"""The `accountability` command (SPEC §8).

Exit codes: 0 success, 1 a run failed, 2 bad usage or configuration. Known failures become a
one-line message on stderr, never a traceback; only commands that exist for real are registered.
Every value that did not come from this module (Jira and PagerDuty text, server messages, the
registry, arguments) is printed through `safe_text`: literal, never markup or a terminal escape.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from accountability import pipeline
from accountability.cli import reset_command, serve_command, tables
from accountability.cli.baseline_command import add_baseline_command
from accountability.cli.draft_command import register_draft
from accountability.cli.options import RegistryOption
from accountability.cli.text import safe_text
from accountability.clock import system_clock
from accountability.config.errors import UsageError
from accountability.config.registry_file import load_registry_file
from accountability.config.settings import load_settings
from accountability.memory import freeze_imports
from accountability.sources.jira import check_jql_with_jira
from accountability.usecases import databases, governance, records
from connectors.http import warm_ssl_context
from rules.registry import Registry, RegistryError, UnknownWorkflowError
from rules.weeks import parse_week
from storage import evaluations as store
from storage.engine import session_scope

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
register_draft(registry_app)
app.add_typer(db_app, name="db")
app.command("reset")(reset_command.reset)
app.command("serve")(serve_command.serve)
add_baseline_command(app)

# Piped output (CI logs, files) gets a readable width instead of rich's 80-column default.
# No `:emoji:` codes: a Jira summary saying ":warning:" prints as written.
out = Console(width=None if sys.stdout.isatty() else 120, emoji=False)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120, emoji=False)



@registry_app.command("validate")
def registry_validate(
    path: Annotated[Path | None, typer.Argument(help="Registry file to check.")] = None,
) -> None:
    """Validate the registry: all errors at once, with file, line and path; warnings apart."""
    target = path or load_settings().registry
    loaded = load_registry_file(target)
    jql = check_jql_with_jira(load_settings(), loaded)  # only with Jira credentials
    if jql.errors:
        raise RegistryError(jql.errors, loaded.warnings)
    for warning in loaded.warnings:
        err.print(f"[yellow]warning[/]: {safe_text(warning)}", highlight=False, soft_wrap=True)
    if jql.skipped:
        err.print(f"[yellow]note[/]: {safe_text(jql.skipped)}", highlight=False, soft_wrap=True)
    registry = loaded.registry
    out.print(
        f"[green]✓[/] {safe_text(target)} is valid: {len(registry.workflows)} workflows, "
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
    from accountability.usecases import maps  # renders through Jinja2: loaded when asked

    settings = load_settings()
    loaded = load_registry_file(registry or settings.registry)
    target = out_file or Path(f"escalation-map-{workflow}.html")
    maps.write_escalation_map(loaded, workflow, target)
    note = maps.record_map_write(settings.database_url, loaded, workflow, "map")  # §12 reset
    if note:
        err.print(f"note: {safe_text(note)}", highlight=False, soft_wrap=True)
    out.print(f"Escalation map of '{safe_text(workflow)}' written to {safe_text(target)}",
              highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (safe to run again)."""
    settings = load_settings()
    databases.upgrade_database(settings.database_url)
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
    warm_ssl_context(settings.ca_bundle)  # made while the registry and database are read
    loaded = load_registry_file(registry or settings.registry)
    pipeline.plan_sync(loaded.registry, source)  # validate --source before any network call
    with databases.open_database(settings.database_url) as factory, Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} records"),
        TimeElapsedColumn(), console=err, transient=True,
        # Not on a terminal (cron, CI, a pipe) the bar shows nothing; its refresh thread would
        # still redraw it ten times a second.
        disable=not err.is_terminal,
    ) as bar:
        tasks: dict[str, TaskID] = {}
        lock = threading.Lock()

        def advance(partition: str, count: int) -> None:
            with lock:
                if partition not in tasks:
                    tasks[partition] = bar.add_task(partition, total=None)
                bar.advance(tasks[partition], count)

        execute = pipeline.in_threads(settings, factory, progress=advance)
        report = pipeline.run_sync(settings, loaded.registry, execute, source=source, full=full)
    for summary in report.summaries:
        for note in summary.notes:
            err.print(f"note: {safe_text(summary.partition)}: {safe_text(note)}",
                      highlight=False)
    out.print(safe_text(report.line()), highlight=False, soft_wrap=True)


@app.command("evaluate")
def evaluate_command(
    full: Annotated[bool, typer.Option("--full", help="Re-evaluate all history.")] = False,
    registry: RegistryOption = None,
) -> None:
    """Judge ownership changes, score the weeks, open risk reviews, queue alerts."""
    from accountability.usecases import evaluate  # only this command and `run` need it

    settings = load_settings()
    loaded = load_registry_file(registry or settings.registry)
    with databases.open_database(settings.database_url) as factory, err.status("Evaluating…"):
        report = evaluate.evaluate(factory, loaded, full=full, jira_browse_base=settings.jira_url)
    out.print(safe_text(report.line()), highlight=False, soft_wrap=True)


@app.command("alert")
def alert_command(
    status: Annotated[
        bool, typer.Option("--status", help="Show the outbox: counts, dead and retrying alerts.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine output only.")] = False,
    registry: RegistryOption = None,
) -> None:
    """Dispatch pending alerts (email, Slack, PagerDuty, Jira); exit 1 if any send failed."""
    from accountability.cli import outbox_status
    from accountability.usecases.dispatch import Channels, DispatchPolicy, dispatch

    settings = load_settings()
    if status:
        with databases.open_database(settings.database_url) as factory, factory() as session:
            state = outbox_status.outbox_status(session)
            if as_json:
                print(json.dumps(outbox_status.status_json(state), indent=2))
            else:
                out.print(outbox_status.status_renderable(state))
        return
    loaded = load_registry_file(registry or settings.registry)
    channels = Channels.from_settings(settings)
    policy = DispatchPolicy(max_attempts=settings.alert_max_attempts)
    with databases.open_database(settings.database_url) as factory, err.status("Sending alerts…"):
        report = dispatch(factory, loaded.registry, channels, policy=policy)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        out.print(safe_text(report.line()), highlight=False, soft_wrap=True)
        for error in report.errors:
            err.print(f"[red]error[/]: {safe_text(error)}", highlight=False, soft_wrap=True)
    if report.failed or report.dead:
        raise typer.Exit(1)


@app.command("findings")
def findings_command(
    workflow: Annotated[str | None, typer.Option("--workflow", help="Only this workflow.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only findings at or after this date (ISO).")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list authorized changes, with their rule.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine output only.")] = False,
) -> None:
    """List findings (unauthorized changes, unowned items, churn, late reviews, gaps)."""
    settings = load_settings()
    start = _parse_since(since)
    with databases.open_database(settings.database_url) as factory, factory() as session:
        rows = store.list_findings(session, workflow=workflow, since=start,
                                   include_authorized=show_all)
        if as_json:
            print(json.dumps([records.finding_json(r) for r in rows], indent=2))
        else:
            out.print(tables.findings_table(rows))


@app.command("scorecard")
def scorecard_command(
    week: Annotated[str | None, typer.Option("--week", help="ISO week, e.g. 2026-W48.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine output only.")] = False,
) -> None:
    """Weekly scorecards: one week, or the last 8 weeks with data per workflow."""
    if week is not None:
        _check_week(week)
    settings = load_settings()
    with databases.open_database(settings.database_url) as factory, factory() as session:
        rows = store.list_scorecards(session, week)
        if week is None:
            rows = records.last_weeks_with_data(rows)
        if as_json:
            print(json.dumps([records.scorecard_json(r) for r in rows], indent=2))
        else:
            out.print(tables.scorecard_table(rows))


@app.command("reviews")
def reviews_command(
    workflow: Annotated[str | None, typer.Option("--workflow", help="Only this workflow.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open, acknowledged or closed.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine output only.")] = False,
) -> None:
    """List risk reviews."""
    if status is not None and status not in ("open", "acknowledged", "closed"):
        raise UsageError("--status must be open, acknowledged or closed")
    settings = load_settings()
    with databases.open_database(settings.database_url) as factory, factory() as session:
        rows = store.list_reviews(session, workflow, status)
        if as_json:
            print(json.dumps([records.review_json(r) for r in rows], indent=2))
        else:
            out.print(tables.reviews_table(rows))


@app.command("digest")
def digest_command(
    week: Annotated[
        str | None, typer.Option("--week", help="ISO week (default: the week just ended).")
    ] = None,
    send: Annotated[bool, typer.Option("--send", help="E-mail it to leadership (SMTP).")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --send: send a week already sent again.")
    ] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the HTML (images inline) to this file.")
    ] = None,
    registry: RegistryOption = None,
) -> None:
    """The weekly digest: written to --out, sent with --send, else printed as text."""
    from accountability.usecases import digest
    from connectors.channel_errors import ChannelConfigError, ChannelError

    if week is not None:
        digest.checked_week(week)
    settings = load_settings()
    loaded = load_registry_file(registry or settings.registry)
    try:
        with databases.open_database(settings.database_url) as factory, err.status(
            "Building the digest…"
        ):
            report = digest.produce(factory, loaded, settings, week=week, out=out_file,
                                    send=send, force=force)
    except ChannelConfigError as exc:
        raise UsageError(str(exc)) from None
    except ChannelError as exc:
        err.print(f"[red]run failed[/]: {safe_text(exc)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    for note in report.notes:
        err.print(f"note: {safe_text(note)}", highlight=False, soft_wrap=True)
    if out_file is None and not send:
        sys.stdout.write(report.text)
        return
    out.print(safe_text(report.subject), highlight=False, soft_wrap=True)
    for line in report.delivery():
        if not line.startswith("note: "):
            out.print(safe_text(line), highlight=False, soft_wrap=True)


ByOption = Annotated[str, typer.Option("--by", help="Who acts (a person id of the registry).")]


@app.command("ack")
def ack_command(
    review: Annotated[str, typer.Argument(help="Risk review id, e.g. support-2026-W46.")],
    by: ByOption,
    registry: RegistryOption = None,
) -> None:
    """Acknowledge a risk review (its risk owner or the outcome owner); stops reminders."""
    with _governed(registry) as (session, reg):
        row = governance.acknowledge(session, reg, review, by)
        out.print(f"{safe_text(row.id)} is {row.status}", highlight=False)


@app.command("close")
def close_command(
    review: Annotated[str, typer.Argument(help="Risk review id.")],
    by: ByOption,
    note: Annotated[str, typer.Option("--note", help="Why it is closed.")],
    registry: RegistryOption = None,
) -> None:
    """Close a risk review (its risk owner or the outcome owner); sends a resolved message."""
    with _governed(registry) as (session, reg):
        row = governance.close(session, reg, review, by, note)
        out.print(f"{safe_text(row.id)} is closed", highlight=False)


@app.command("ratify")
def ratify_command(
    key: Annotated[str, typer.Argument(help="Finding key (see `accountability findings`).")],
    by: ByOption,
    note: Annotated[str, typer.Option("--note", help="Why it is accepted.")],
    registry: RegistryOption = None,
) -> None:
    """Ratify a finding: resolved as ratified, it no longer counts (outcome owner/approver)."""
    with _governed(registry) as (session, reg):
        governance.ratify(session, reg, key, by, note)
        out.print(f"{safe_text(key)} is ratified", highlight=False)


@app.command("decide")
def decide_command(
    workflow: Annotated[str, typer.Argument(help="Workflow id.")],
    decision: Annotated[str, typer.Argument(help="continue, stabilize, pause or stop.")],
    by: ByOption,
    note: Annotated[str | None, typer.Option("--note", help="Context for the record.")] = None,
    week: Annotated[
        str | None, typer.Option("--week", help="Week decided on (default: the week just ended).")
    ] = None,
    registry: RegistryOption = None,
) -> None:
    """Record a governance decision (the outcome owner or leadership)."""
    with _governed(registry) as (session, reg):
        decided = governance.decide(session, reg, workflow, decision, by, note, week)
        out.print(f"recorded: {safe_text(workflow)} {decision} for {safe_text(decided)} by "
                  f"{safe_text(by)}", highlight=False)


@contextmanager
def _governed(registry: Path | None) -> Iterator[tuple[Session, Registry]]:
    """A registry and a transaction: committed when the action succeeds, nothing otherwise."""
    settings = load_settings()
    loaded = load_registry_file(registry or settings.registry)
    with databases.open_database(settings.database_url) as factory, session_scope(factory) as s:
        yield s, loaded.registry


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--since {value!r} is not an ISO date such as 2026-11-01") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check_week(week: str) -> None:
    try:
        parse_week(week)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@app.command("run")
def run_command(
    full: Annotated[bool, typer.Option("--full", help="Full sync and evaluation.")] = False,
    registry: RegistryOption = None,
) -> None:
    """The scheduled job by hand: sync, evaluate, then dispatch alerts.

    A source that fails does not stop the rest: what synced is evaluated and alerts go out,
    then the command names the failed source and exits 1.
    """
    began = time.monotonic()
    settings = load_settings()
    warm_ssl_context(settings.ca_bundle)  # made while the registry and database are read
    if registry is not None:
        settings = settings.model_copy(update={"registry": registry})
    loaded = pipeline.preflight(settings)
    with databases.open_database(settings.database_url) as factory:
        stages = pipeline.LocalStages(settings, loaded, factory, full=full)
        summary = pipeline.run(stages, settings.database_url, watch=_ConsoleWatch())
    summary.seconds = time.monotonic() - began
    out.print(safe_text(summary.line()), highlight=False, soft_wrap=True)
    alerts = summary.alerts
    for error in alerts.errors if alerts else []:
        err.print(f"[red]error[/]: {safe_text(error)}", highlight=False, soft_wrap=True)
    if summary.failed:
        err.print(f"[red]error[/]: {safe_text(summary.failure_line())}; the rest completed",
                  highlight=False, soft_wrap=True)
    if summary.failed or (alerts and (alerts.failed or alerts.dead)):
        raise typer.Exit(1)


class _ConsoleWatch:
    """A spinner on stderr while a stage runs, its one-line report on stdout after."""

    LABELS = {"sync": "Syncing…", "evaluate": "Evaluating…", "alert": "Sending alerts…"}

    def stage(self, name: str) -> AbstractContextManager[object]:
        return err.status(self.LABELS[name])

    def done(self, name: str, line: str) -> None:
        out.print(safe_text(line), highlight=False, soft_wrap=True)


@app.command("demo")
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo's outputs.")] = Path(
        "demo-output"
    ),
    reset: Annotated[bool, typer.Option(
        "--reset", help="The 30-day reset of a fresh team instead: draft a registry, fill it, "
                        "baseline, reset in week 2 (docs/reset.md).")] = False,
    serve: Annotated[bool, typer.Option(
        "--serve", help="At the end, serve the web app on a free loopback port with signed "
                        "links in the e-mails, until Enter or Ctrl-C (stops at once when "
                        "stdin is not a terminal).")] = False,
) -> None:
    """Run the pipeline on the embedded defaults and show what it produced."""
    if reset:
        from accountability.cli.demo_reset import run_demo_reset

        run_demo_reset(out_dir, out)
        return
    from accountability.cli.demo import run_demo  # imports the sandbox only when asked for

    run_demo(out_dir, out, today=system_clock().date(), serve=serve)


def main() -> None:
    """Entry point: known errors become a message and exit code 2, not a traceback."""
    from connectors.errors import AuthError, ConnectorError
    from storage.errors import StorageError

    freeze_imports()  # accountability/memory.py: no cycle collection walks the imports again
    try:
        app()
    except RegistryError as exc:
        for warning in exc.warnings:
            err.print(f"[yellow]warning[/]: {safe_text(warning)}", highlight=False,
                      soft_wrap=True)
        for issue in exc.issues:
            err.print(f"[red]error[/]: {safe_text(issue)}", highlight=False, soft_wrap=True)
        err.print(
            f"registry is invalid: {len(exc.issues)} error(s); nothing was written",
            highlight=False,
        )
        sys.exit(2)
    except (UsageError, StorageError, UnknownWorkflowError, AuthError) as exc:
        err.print(f"[red]error[/]: {safe_text(exc)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except ConnectorError as exc:
        err.print(f"[red]run failed[/]: {safe_text(exc)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
