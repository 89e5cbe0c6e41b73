"""`accountability registry draft` (SPEC §12): the first registry, proposed from the data.

Registered on the `registry` sub-app by `register_draft(registry_app)` (one line in
`commands.py`), so the command lives in its own module. It needs no registry and no database:
only the sources' credentials, read from the settings exactly as `accountability sync` reads
them (a missing one exits 2 naming the variable).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from accountability.cli.text import safe_text
from accountability.clock import Clock, system_clock
from accountability.config.errors import UsageError
from accountability.config.settings import load_settings
from accountability.sources.jira import open_jira
from accountability.sources.pagerduty import open_pagerduty
from rules.registry.models import ID_PATTERN

out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)
clock: Clock = system_clock
"""Where "now" comes from when `--until` is not given (tests replace it)."""


def register_draft(app: typer.Typer) -> None:
    """Add `draft` to the `registry` sub-app (commands.py's one line for this module)."""
    app.command("draft")(registry_draft)


def registry_draft(
    jira_project: Annotated[list[str] | None, typer.Option(
        "--jira-project", help="A Jira project key to read (repeatable).")] = None,
    jql: Annotated[str | None, typer.Option(
        "--jql", help="A JQL clause ANDed to the projects' query, e.g. 'labels = ai'.")] = None,
    pagerduty_service: Annotated[list[str] | None, typer.Option(
        "--pagerduty-service", help="A PagerDuty service id to read (repeatable).")] = None,
    days: Annotated[int, typer.Option("--days", help="How many days back to read.")] = 90,
    workflow: Annotated[str | None, typer.Option(
        "--workflow", help="The workflow's id (default: the first project or service).")] = None,
    out_file: Annotated[Path, typer.Option(
        "--out", help="The draft file to create; an existing file is refused.")] = Path(
        "registry.draft.yaml"),
    until: Annotated[str | None, typer.Option(
        "--until", help="End of the period, an ISO date or time in UTC (default: now).")] = None,
) -> None:
    """Propose a registry for one workflow from the last --days of Jira and PagerDuty."""
    # This command's alone: every other command starts without them.
    from accountability.messages.draft_yaml import TODO, render_draft
    from accountability.usecases.draft import (
        DraftRequest,
        build_draft,
        period_ending,
        write_new_file,
    )
    from rules.draft import NoDataError, slug

    projects = tuple(jira_project or ())
    services = tuple(pagerduty_service or ())
    if not projects and not services:
        raise UsageError("give at least one --jira-project or --pagerduty-service")
    if jql and not projects:
        raise UsageError("--jql narrows Jira projects: give --jira-project too")
    if out_file.exists():
        raise UsageError(f"{out_file} exists: the draft never overwrites a file")
    workflow_id = workflow or slug((projects or services)[0]) or "workflow"
    if not ID_PATTERN.fullmatch(workflow_id):
        raise UsageError(f"--workflow {workflow_id!r} is not a registry id: letters, digits, "
                         "'-' and '_', at most 64")
    now = _until(until) if until else clock()
    request = DraftRequest(workflow_id, projects, jql, services, period_ending(now, days))
    settings = load_settings()
    jira = open_jira(settings) if projects else None  # credentials checked before any call
    pagerduty = open_pagerduty(settings) if services else None
    try:
        result = build_draft(request, jira, pagerduty)
    except NoDataError as exc:
        raise UsageError(f"nothing to draft: {exc}") from None
    finally:
        if jira is not None:
            jira.close()
        if pagerduty is not None:
            pagerduty.close()
    text = render_draft(result, f"{now:%Y-%m-%d}")
    write_new_file(out_file, text)
    for note in result.notes:
        err.print(f"note: {safe_text(note)}", soft_wrap=True)
    draft = result.draft
    blanks = text.count(TODO)
    out.print(
        f"Draft of '{safe_text(workflow_id)}' written to {safe_text(out_file)}: "
        f"{draft.issues} issues, {draft.incidents} incidents, {len(draft.people)} people, "
        f"{len(draft.stages)} stages, {len(draft.decision_points)} decision points, "
        f"{len(draft.automation)} automation; {blanks} blanks marked TODO to fill before "
        f"`accountability registry validate` accepts it.",
        soft_wrap=True,
    )


def _until(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--until {value!r} is not an ISO date such as 2026-11-23") from None
    if len(value) <= 10:
        parsed = datetime.combine(parsed.date(), time())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
