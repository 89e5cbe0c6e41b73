"""`accountability baseline WORKFLOW [--weeks 8] [--json] [--patch FILE]` (SPEC §12).

Its own module, registered on the main app with one line in `commands.py`, so the reset's
commands (`registry draft`, `reset`, this) do not all edit one file. Exit codes as everywhere:
2 for an unknown workflow, a bad `--weeks` or a `--patch` file that exists; 1 when the
workflow has too few finished weeks with data for a baseline (the message says how many it
has and needs).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from accountability.cli.options import RegistryOption
from accountability.cli.text import safe_text
from accountability.config.registry_file import load_registry_file
from accountability.config.settings import load_settings
from accountability.usecases import databases
from rules.baseline import DEFAULT_WEEKS, NotEnoughWeeksError
from rules.metrics import plain_number

if TYPE_CHECKING:
    from accountability.usecases import baseline as usecase

out = Console(width=None if sys.stdout.isatty() else 120, emoji=False)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120, emoji=False)


def _number(value: float | None) -> str:
    return "—" if value is None else plain_number(value)


def _bounds(bounds: dict[str, float] | None) -> str:
    if not bounds:
        return "—"
    return ", ".join(f"{k} {plain_number(v)}" for k, v in bounds.items())


def report_renderable(report: usecase.BaselineReport) -> Group:
    """The table a person reads before editing the registry: spread, proposal, its rule."""
    b = report.baseline
    title = (f"Baseline of '{safe_text(b.workflow)}': {len(b.weeks_with_data)} of "
             f"{len(b.weeks)} finished weeks with data ({b.weeks[0]} – {b.weeks[-1]})")
    table = Table(title=title, title_justify="left")
    for header in ("metric", "weeks", "median", "q1", "q3", "min", "max", "current",
                   "proposed", "would breach"):
        table.add_column(header, justify="left" if header in ("metric", "current",
                                                               "proposed") else "right")
    for m in b.metrics:
        s = m.summary
        proposed = "keep" if m.proposed is None else f"{m.direction.value} " \
                                                     f"{plain_number(m.proposed)}"
        table.add_row(
            m.metric.name, str(len(m.values)),
            *(_number(getattr(s, f) if s else None) for f in ("median", "q1", "q3", "min",
                                                                "max")),
            _bounds(report.current.get(m.metric.name)), proposed,
            "—" if m.proposed is None else f"{m.breaches} of {len(m.values)}",
        )
    rules = Text()
    for m in b.metrics:
        rules.append(f"{m.metric.name}: ", style="bold")
        rules.append(m.rule)  # Text: literal, never markup
        if m.breached_weeks:
            rules.append(f" (would have breached: {', '.join(m.breached_weeks)})")
        rules.append("\n")
    return Group(table, rules)


def baseline_command(
    workflow: Annotated[str, typer.Argument(help="Workflow id from the registry.")],
    weeks: Annotated[
        int, typer.Option("--weeks", help="How many finished weeks to look back.")
    ] = DEFAULT_WEEKS,
    as_json: Annotated[bool, typer.Option("--json", help="Machine output only.")] = False,
    patch: Annotated[
        Path | None,
        typer.Option("--patch", help="Write a unified diff of the workflow's scorecard block "
                                     "to this new file (the registry is never edited)."),
    ] = None,
    registry: RegistryOption = None,
) -> None:
    """Median, quartiles and range of the six metrics over the last finished weeks, with a
    proposed threshold for each (and its rule): the product proposes, a person applies."""
    from accountability.usecases import baseline as usecase  # this command's alone

    settings = load_settings()
    registry_path = registry or settings.registry
    loaded = load_registry_file(registry_path)
    if patch is not None:  # refused before any work; write_patch checks again as it creates
        usecase.refuse_existing(patch)
    try:
        with databases.open_database(settings.database_url) as factory:
            report = usecase.baseline(factory, loaded, workflow, weeks=weeks)
    except NotEnoughWeeksError as exc:
        err.print(f"[red]error[/]: {safe_text(exc)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    written: Path | None = None
    if patch is not None:
        text = usecase.patch_text(loaded, report, usecase.patch_path_name(Path(registry_path)))
        if text:
            written = usecase.write_patch(patch, text)
    if as_json:
        data = report.as_dict() | {"patch": str(written) if written else None}
        print(json.dumps(data, indent=2))
        return
    out.print(report_renderable(report))
    if patch is not None:
        message = (f"patch written to {safe_text(written)}: review it, then apply it with "
                   f"`patch -p0 < {safe_text(written)}`" if written else
                   "the registry already has these thresholds: no patch written")
        out.print(message, highlight=False, soft_wrap=True)


def add_baseline_command(app: typer.Typer) -> None:
    """Add `baseline` to the main app (the one line `commands.py` has for it)."""
    app.command("baseline")(baseline_command)
