"""`accountability reset` (SPEC §8, §12): the 30-day reset tracker and leadership's
confirmation of the focus workflow's decision rights.

    accountability reset [WORKFLOW] [--json]
    accountability reset confirm decision-rights --by PERSON

One command reads both forms: a Typer group with an optional WORKFLOW argument would take the
word `confirm` as that argument, so the words are read here (a workflow cannot be called
`confirm`). Registered in `commands.py` with one line. Everything not written by this module
(registry names, evidence) is printed through `safe_text`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from accountability.cli.options import RegistryOption
from accountability.cli.text import safe_text
from accountability.config.errors import UsageError
from accountability.config.registry_file import load_registry_file
from accountability.config.settings import load_settings
from accountability.usecases import databases
from storage.engine import session_scope

if TYPE_CHECKING:
    from rules.reset import ResetTracker

CONFIRM = "confirm"

out = Console(width=None if sys.stdout.isatty() else 120, emoji=False)

_STYLE = {"done": "green", "open": "yellow", "overdue": "bold red"}


def reset(
    words: Annotated[
        list[str] | None,
        typer.Argument(help="WORKFLOW (optional: the reset's own), or `confirm decision-rights`.",
                       metavar="[WORKFLOW] | confirm decision-rights"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine output only.")] = False,
    by: Annotated[
        str | None,
        typer.Option("--by", help="With `confirm`: the leader who confirms (a person id)."),
    ] = None,
    registry: RegistryOption = None,
) -> None:
    """The 30-day reset: each week's checklist (done / open / overdue, evidence, next action);
    `reset confirm decision-rights --by PERSON` records leadership's confirmation."""
    args = list(words or [])
    if args and args[0] == CONFIRM:
        _confirm(args[1:], by, as_json, registry)
        return
    if len(args) > 1:
        raise UsageError("usage: accountability reset [WORKFLOW] [--json] | reset confirm "
                         "decision-rights --by PERSON")
    if by is not None:
        raise UsageError("--by goes with `reset confirm decision-rights`")
    from accountability.usecases import reset as reset_usecase  # this command's alone

    settings = load_settings()
    loaded = load_registry_file(registry or settings.registry)
    reset_usecase.the_reset(loaded.registry, args[0] if args else None)  # before the database
    with databases.open_database(settings.database_url) as factory, factory() as session:
        tracker = reset_usecase.tracker(session, loaded.registry, args[0] if args else None)
    if as_json:
        print(json.dumps(reset_usecase.tracker_json(tracker), indent=2))
    else:
        _print(tracker)


def _confirm(items: list[str], by: str | None, as_json: bool, registry: Path | None) -> None:
    from accountability.usecases import reset as reset_usecase  # this command's alone
    from rules.reset import DECISION_RIGHTS

    if items != [DECISION_RIGHTS]:
        raise UsageError(f"usage: accountability reset confirm {DECISION_RIGHTS} --by PERSON")
    if by is None:
        raise UsageError(f"reset confirm {DECISION_RIGHTS} needs --by PERSON (a leader)")
    settings = load_settings()
    loaded = load_registry_file(registry or settings.registry)
    with databases.open_database(settings.database_url) as factory, session_scope(
        factory
    ) as session:
        done = reset_usecase.confirm(session, loaded.registry, DECISION_RIGHTS, by)
    if as_json:
        print(json.dumps({"workflow": done.workflow, "started": done.started.isoformat(),
                          "item": DECISION_RIGHTS, "by": by}))
    else:
        out.print(f"recorded: decision rights of {safe_text(done.workflow)} confirmed by "
                  f"{safe_text(by)} (reset started {done.started.isoformat()})", highlight=False)


def tracker_header(tracker: ResetTracker) -> str:
    """The tracker's first line: the reset, its state and the counts (Rich markup-safe)."""
    return (f"30-day reset of {safe_text(tracker.workflow_name)} "
            f"({safe_text(tracker.workflow)}): {tracker.state}, started "
            f"{tracker.started.isoformat()}, ends {tracker.ends.isoformat()} — "
            f"{tracker.summary}")


def tracker_table(tracker: ResetTracker) -> Table:
    """One row per checklist line (also printed by `accountability demo --reset`)."""
    table = Table(show_lines=False)
    for column in ("week", "item", "status", "evidence", "next action"):
        table.add_column(column)
    for line in tracker.lines:
        table.add_row(f"W{line.week}", safe_text(line.item),
                      f"[{_STYLE[line.status]}]{line.status}[/]", safe_text(line.evidence),
                      safe_text(line.next_action))
    return table


def _print(tracker: ResetTracker) -> None:
    out.print(tracker_header(tracker), highlight=False, soft_wrap=True)
    out.print(tracker_table(tracker))
