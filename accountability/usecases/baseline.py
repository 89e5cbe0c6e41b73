"""`accountability baseline`: what is normal for a workflow, and thresholds to match (SPEC §12).

Reads the stored scorecards of the workflow's last finished weeks — "finished" on the clock in
the registry's time zone, since a week in progress always looks short — and hands them to
`rules.baseline`. The registry is only read: `--patch` writes a diff a person reviews and
applies, so the registry stays the single source of truth for thresholds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock, system_clock
from accountability.config.errors import UsageError
from rules import baseline as rules
from rules.registry import LoadedRegistry, UnknownWorkflowError
from rules.weeks import previous_weeks, week_of
from storage import evaluations as store

MAX_WEEKS = 520
"""Ten years of weeks: more is a typo, not a baseline."""


@dataclass(frozen=True)
class BaselineReport:
    baseline: rules.Baseline
    current: dict[str, dict[str, float]]
    """The registry's thresholds now, by metric (only the bounds it sets)."""
    proposed: dict[str, dict[str, float]]
    """The `thresholds` block after the proposal (what `--patch` writes)."""
    consecutive_weeks: int

    def as_dict(self) -> dict[str, Any]:
        """`--json`: one object; every number as computed (unrounded statistics)."""
        b = self.baseline
        return {
            "workflow": b.workflow,
            "weeks": list(b.weeks),
            "weeks_with_data": list(b.weeks_with_data),
            "metrics": [
                {
                    "metric": m.metric.name,
                    "direction": m.direction.value,
                    "unit": m.metric.unit.value,
                    "weeks_measured": len(m.values),
                    "values": {week: value for week, value in m.values},
                    "median": m.summary.median if m.summary else None,
                    "q1": m.summary.q1 if m.summary else None,
                    "q3": m.summary.q3 if m.summary else None,
                    "min": m.summary.min if m.summary else None,
                    "max": m.summary.max if m.summary else None,
                    "current": self.current.get(m.metric.name),
                    "proposed": None if m.proposed is None else {m.direction.value: m.proposed},
                    "rule": m.rule,
                    "breaches": m.breaches,
                    "breached_weeks": list(m.breached_weeks),
                }
                for m in b.metrics
            ],
            "thresholds": self.proposed,
        }


def finished_weeks(loaded: LoadedRegistry, weeks: int, clock: Clock = system_clock) -> list[str]:
    """The `weeks` weeks before the one in progress on the clock, in the registry's zone."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise UsageError(f"--weeks must be between 1 and {MAX_WEEKS}, not {weeks}")
    return previous_weeks(week_of(clock(), loaded.registry.tz), weeks)


def _known(loaded: LoadedRegistry, workflow: str) -> None:
    if workflow not in loaded.registry.workflows:
        known = ", ".join(sorted(loaded.registry.workflows)) or "none"
        raise UnknownWorkflowError(f"unknown workflow '{workflow}' (known: {known})")


def compute(session: Session, loaded: LoadedRegistry, workflow: str, *,
            weeks: int = rules.DEFAULT_WEEKS, clock: Clock = system_clock) -> BaselineReport:
    """The baseline of `workflow` over its last `weeks` finished weeks.

    Raises UnknownWorkflowError, UsageError (bad `weeks`) or rules.NotEnoughWeeksError."""
    _known(loaded, workflow)
    window = finished_weeks(loaded, weeks, clock)
    scores = store.workflow_scores(session, workflow, window)
    result = rules.compute_baseline(workflow, window, scores)
    card = loaded.registry.workflows[workflow].scorecard
    current = {name: {k: v for k in ("min", "max") if (v := getattr(t, k)) is not None}
               for name, t in card.thresholds.items()}
    proposed = rules.proposed_thresholds(result, card.thresholds)
    return BaselineReport(result, current, proposed, card.consecutive_weeks)


def baseline(factory: sessionmaker[Session], loaded: LoadedRegistry, workflow: str, *,
             weeks: int = rules.DEFAULT_WEEKS, clock: Clock = system_clock) -> BaselineReport:
    """`compute` in a read-only session of its own."""
    with factory() as session:
        return compute(session, loaded, workflow, weeks=weeks, clock=clock)


def patch_text(loaded: LoadedRegistry, report: BaselineReport, path_in_patch: str) -> str:
    """The unified diff that turns the registry's `scorecard` block of the workflow into the
    proposal; empty when the registry already says exactly that."""
    try:
        new = rules.patched_registry(loaded.text, report.baseline.workflow, report.proposed,
                                     report.consecutive_weeks)
    except rules.PatchError as exc:
        raise UsageError(str(exc)) from None
    return rules.unified_patch(loaded.text, new, path_in_patch)


def patch_path_name(registry: Path, cwd: Path | None = None) -> str:
    """The registry's name in the patch: relative to the current folder when it is inside it
    (so `patch -p0` run there finds it), else as given."""
    here = (cwd or Path.cwd()).resolve()
    try:
        return registry.resolve().relative_to(here).as_posix()
    except ValueError:
        return registry.as_posix()


def refuse_existing(target: Path) -> None:
    """UsageError when `target` exists (a file, a folder, a link): nothing is written over."""
    if target.exists() or target.is_symlink():
        raise UsageError(f"{target} already exists: the patch is never written over a file; "
                         "choose another name")


def write_patch(target: Path, text: str) -> Path:
    """Write the patch to a new file (0600); an existing file is never overwritten — it may
    be the registry itself, or a patch someone is still reviewing."""
    try:
        handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{target} already exists: the patch is never written over a file; "
                         "choose another name") from None
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)
    return target
