"""`accountability demo --reset`: a fresh team's 30-day reset on the sandbox (SPEC §12).

The second demo scenario. The same sandbox as `accountability demo` (seed 7, the Acme demo
company), but a team with no registry: the demo drafts one from the APIs
(`registry draft`), fills the draft's blanks the way a person would — from a table of answers
it prints, taken from `examples/registry.yaml` — syncs and evaluates with it, shows the
baseline and its proposed thresholds, applies them (the product proposes, the demo plays the
person who applies), starts the reset the Monday a week before the demo's date and prints the
tracker in week 2. Everything runs as of `DEMO_AS_OF` through injected clocks, so it gives the
same result any day. The sandbox and the SMTP capture are stopped in a `finally`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console

from accountability.cli.baseline_command import report_renderable
from accountability.cli.demo import (
    DEMO_AS_OF,
    MARKER,
    _capture_settings,
    _done,
    _fresh_folder,
    _MailCapture,
    _pipeline_settings,
    _run_pipeline,
    _sandbox,
)
from accountability.cli.reset_command import tracker_header, tracker_table
from accountability.cli.text import safe_text
from accountability.config.errors import UsageError
from accountability.config.registry_file import EXAMPLE_REGISTRY, load_registry_file
from accountability.config.settings import Settings
from accountability.messages.draft_yaml import TODO, q, render_draft
from accountability.private_files import write_private
from accountability.sources.jira import open_jira
from accountability.sources.pagerduty import open_pagerduty
from accountability.usecases import baseline as baseline_usecase
from accountability.usecases import reset as reset_usecase
from accountability.usecases.databases import open_database, record_registry, upgrade_database
from accountability.usecases.draft import (
    DraftRequest,
    DraftResult,
    build_draft,
    period_ending,
    write_new_file,
)
from rules import baseline as baseline_rules
from rules.registry import LoadedRegistry
from rules.reset import ResetTracker, local_day

WORKFLOW = "support"
DRAFT_DAYS = 90
DRAFT_FILE = "registry.draft.yaml"
REGISTRY_FILE = "registry.yaml"
PATCH_FILE = "baseline.patch"
# What this scenario writes beside the normal demo's files: deleted on a rerun (only in a
# folder holding the demo's marker, after `_fresh_folder`'s checks).
_RESET_FILES = (DRAFT_FILE, REGISTRY_FILE, PATCH_FILE)
_MARKER_TEXT = ("This folder is the output of `accountability demo` (or `demo --reset`). The next\n"
                "demo run into it deletes what a demo writes here (accountability.db,\n"
                "digest-*.html, maps/*.html, emails/*.eml, registry.draft.yaml, registry.yaml,\n"
                "baseline.patch) and nothing else. Delete this file to keep the folder as it is.\n")


@dataclass(frozen=True)
class Answer:
    """One blank of the draft and what the person answers: the line's key, words of its TODO
    comment that single it out, the YAML value, and the answer as the demo says it."""

    key: str
    hint: str
    value: str
    said: str


def answers(example: LoadedRegistry) -> list[Answer]:
    """The demo's answers to the draft's open questions, from the example registry's support
    workflow and organization (the same company: the person knows these)."""
    registry = example.registry
    flow = registry.workflows[WORKFLOW]
    stage_of_open = next(s for s in flow.stages if "Open" in s.jira_statuses)
    approvers = list(flow.decisions["reassignment"].approves)
    return [
        Answer("organization", "organization's name", q(registry.organization),
               f"organization {registry.organization}"),
        Answer("leadership", "weekly digest", _flow(list(registry.leadership)),
               f"leadership {', '.join(registry.leadership)}"),
        Answer("owner", "outcome owner", q(flow.outcome.owner),
               f"outcome owner {flow.outcome.owner}"),
        Answer("workflow_owner", "day to day", q(flow.workflow_owner),
               f"workflow owner {flow.workflow_owner}"),
        Answer("risk_owner", "risk owner", q(flow.risk_owner), f"risk owner {flow.risk_owner}"),
        Answer("owner", "nobody held its items", q(str(stage_of_open.owner)),
               f"owner of the Open stage {stage_of_open.owner} (it owns intake: Open, Triage)"),
        Answer("approves", "approve a change of owner", _flow(approvers),
               f"reassignment approved by {', '.join(approvers)}"),
    ]


def _flow(ids: list[str]) -> str:
    return "[" + ", ".join(q(i) for i in ids) + "]"


def fill_draft(text: str, example: LoadedRegistry) -> tuple[str, list[str]]:
    """The draft with every blank answered, the time zone set to the company's, and the
    leaders the data never showed added to `people`; and what was answered, as said. Raises
    ValueError if a blank stays open or an answer finds no blank (the draft changed)."""
    said: list[str] = []
    for answer in answers(example):
        pattern = re.compile(rf"^(\s*{re.escape(answer.key)}: ){re.escape(TODO)}[^\n]*"
                             rf"{re.escape(answer.hint)}[^\n]*$", re.MULTILINE)
        filled = f"{answer.value}  # answered by the person filling the draft"
        text, count = _answer(pattern, filled, text)
        if count != 1:
            raise ValueError(f"the draft has no blank for {answer.said}")
        said.append(answer.said)
    registry = example.registry
    name = registry.workflows[WORKFLOW].name
    text, count = re.subn(r"^(    name: )[^\n]*$", lambda m: f"{m.group(1)}{q(name)}", text,
                          count=1, flags=re.MULTILINE)
    if count == 1:
        said.append(f"workflow name {name}")
    zone = re.compile(r"^timezone: [^\n]*$", re.MULTILINE)
    text, count = zone.subn(f"timezone: {q(registry.timezone)}  # the company's weeks", text,
                            count=1)
    if count == 1:
        said.append(f"time zone {registry.timezone} (the draft proposed the Jira account's)")
    drafted = set(re.findall(r"^  ([\w-]+): \{name:", text, re.MULTILINE))
    missing = [p for p in registry.leadership if p not in drafted]
    if missing:
        lines = []
        for pid in missing:
            person = registry.people[pid]
            fields = [f"name: {q(person.name)}"]
            for key in ("email", "jira", "pagerduty"):
                if value := getattr(person, key):
                    fields.append(f"{key}: {q(value)}")
            lines.append(f"  {pid}: {{{', '.join(fields)}}}  # a leader, not seen in the data")
        text = re.sub(r"^people:\n", lambda m: m.group(0) + "\n".join(lines) + "\n", text,
                      count=1, flags=re.MULTILINE)
        said.append(f"{', '.join(missing)} added to people (leaders the data never shows)")
    if TODO in text:
        raise ValueError("a blank of the draft is still open")
    return text, said


def with_reset(text: str, started: date) -> str:
    """The registry `text` with `reset:` as a top-level key after `leadership:` (where a person
    would put it; the end of the file stays the baseline patch's context)."""
    line = f"reset: {{workflow: {WORKFLOW}, started: {started.isoformat()}}}  # the 30-day reset\n"
    new, count = re.subn(r"^leadership: [^\n]*\n", lambda m: m.group(0) + line, text, count=1,
                         flags=re.MULTILINE)
    if count != 1:
        raise ValueError("the registry has no leadership line")
    return new


def _answer(pattern: re.Pattern[str], value: str, text: str) -> tuple[str, int]:
    """Replace the first blank `pattern` finds (its group 1 is the key) by `value`."""
    return pattern.subn(lambda m: m.group(1) + value, text, count=1)


def reset_start(as_of_day: date) -> date:
    """The Monday that makes `as_of_day` fall in week 2 of the reset: week 1 is the week
    before `as_of_day`'s (finished), week 2 is `as_of_day`'s."""
    monday = as_of_day - timedelta(days=as_of_day.weekday())
    return monday - timedelta(days=7)


@dataclass(frozen=True)
class DemoResetResult:
    """What the scenario produced. `servers`: every (host, port) it listened on, all stopped
    by the time this is returned."""

    draft_path: Path
    registry_path: Path
    patch_path: Path
    database_url: str
    blanks: int
    answers: list[str]
    proposed: dict[str, dict[str, float]]
    tracker: ResetTracker
    servers: list[tuple[str, int]]


def run_demo_reset(out_dir: Path, console: Console) -> DemoResetResult:
    """Draft → filled registry → sync + evaluate → baseline (applied) → reset in week 2."""
    began = time.monotonic()
    _fresh_folder(out_dir)
    for name in _RESET_FILES:  # _fresh_folder has checked the marker and the folder
        path = out_dir / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
    write_private(out_dir / MARKER, _MARKER_TEXT)
    draft_path = out_dir / DRAFT_FILE
    registry_path = out_dir / REGISTRY_FILE
    patch_path = out_dir / PATCH_FILE
    database_url = f"sqlite:///{(out_dir / 'accountability.db').resolve()}"
    servers: list[tuple[str, int]] = []
    example = load_registry_file(EXAMPLE_REGISTRY)
    console.print(f"A fresh team: no registry yet for the '{WORKFLOW}' workflow of the sandbox's "
                  f"demo company; everything as of {DEMO_AS_OF:%Y-%m-%d %H:%M} UTC.",
                  highlight=False, soft_wrap=True)
    with _MailCapture(out_dir / "emails") as capture:
        servers.append(capture.address)
        mail_settings = _capture_settings(database_url, capture).model_copy(
            update={"registry": registry_path})
        with _sandbox(console, servers) as sandbox:
            settings = _pipeline_settings(mail_settings, sandbox)
            # 1. Draft
            text, blanks = _draft(console, settings, example, draft_path)
            # 2. Fill the blanks
            filled, said = fill_draft(text, example)
            console.print("[bold]The demo answers the draft's open questions[/] (as a person "
                          "would; from examples/registry.yaml): " + "; ".join(said) + ".",
                          highlight=False, soft_wrap=True)
            write_private(registry_path, filled)
            loaded = load_registry_file(registry_path)
            _done(console, f"{registry_path}: valid, {len(loaded.warnings)} warnings")
            # 3. Sync + evaluate (alerts to the capture, as in the demo)
            upgrade_database(database_url)
            record_registry(database_url, loaded, clock=lambda: DEMO_AS_OF)
            _run_pipeline(console, loaded, settings)
    _done(console, f"sandbox and SMTP capture stopped; emails saved: {len(capture.saved)}")
    # 3b. Baseline, its patch, applied by the demo playing the person
    with open_database(database_url) as factory:
        report = baseline_usecase.baseline(factory, loaded, WORKFLOW, clock=lambda: DEMO_AS_OF)
    console.print(report_renderable(report))
    patch = baseline_usecase.patch_text(loaded, report, REGISTRY_FILE)
    baseline_usecase.write_patch(patch_path, patch)
    _done(console, f"patch written to {patch_path} (apply it in {out_dir} with "
                   f"`patch -p0 < {PATCH_FILE}`)")
    patched = baseline_rules.patched_registry(loaded.text, WORKFLOW, report.proposed,
                                              report.consecutive_weeks)
    write_private(registry_path, patched)
    loaded = load_registry_file(registry_path)
    console.print("The product proposes, a person applies: [bold]the demo plays that person[/] "
                  f"and applies {PATCH_FILE} to {REGISTRY_FILE} as it stands.",
                  highlight=False, soft_wrap=True)
    _done(console, f"{registry_path}: thresholds applied, valid")
    # 4. Reset in week 2
    started = reset_start(local_day(DEMO_AS_OF, loaded.registry))
    write_private(registry_path, with_reset(loaded.text, started))
    loaded = load_registry_file(registry_path)
    _done(console, f"reset started in the registry: {{workflow: {WORKFLOW}, started: "
                   f"{started.isoformat()}}} (the Monday a week before: week 2 on "
                   f"{local_day(DEMO_AS_OF, loaded.registry).isoformat()})")
    console.print("Not done by the demo, on purpose: the escalation map was never published "
                  "and nobody confirmed the decision rights yet.", highlight=False,
                  soft_wrap=True)
    with open_database(database_url) as factory, factory() as session:
        tracker = reset_usecase.tracker(session, loaded.registry, WORKFLOW,
                                        clock=lambda: DEMO_AS_OF)
    console.print(tracker_header(tracker), highlight=False, soft_wrap=True)
    console.print(tracker_table(tracker))
    # 5. Paths
    for label, value in (("Draft", str(draft_path)), ("Registry", str(registry_path)),
                         ("Patch", str(patch_path)), ("Database", database_url)):
        console.print(f"  {label + ':':<10} {safe_text(value)}", highlight=False,
                      soft_wrap=True)
    console.print("  Look around (reset --json, baseline, scorecard, findings):",
                  highlight=False)
    console.print(f"    ACCOUNTABILITY_DATABASE_URL={safe_text(database_url)} "
                  f"ACCOUNTABILITY_REGISTRY={safe_text(registry_path)} accountability reset",
                  highlight=False, soft_wrap=True)
    console.print("  (the tracker counts weeks from today's date: after the demo's week its "
                  "lines turn overdue)", highlight=False, soft_wrap=True)
    _done(console, f"demo --reset finished in {time.monotonic() - began:.1f} s; nothing left "
                   "running")
    return DemoResetResult(draft_path, registry_path, patch_path, database_url, blanks, said,
                           report.proposed, tracker, servers)


def _draft(console: Console, settings: Settings, example: LoadedRegistry,
           target: Path) -> tuple[str, int]:
    """`registry draft` for the support workflow's sources, until DEMO_AS_OF."""
    sources = example.registry.workflows[WORKFLOW].sources
    jira = sources.jira
    pagerduty = sources.pagerduty
    if jira is None or pagerduty is None:
        raise UsageError("the example's support workflow lost its Jira or PagerDuty source")
    request = DraftRequest(WORKFLOW, tuple(jira.projects), jira.jql, tuple(pagerduty.services),
                           period_ending(DEMO_AS_OF, DRAFT_DAYS))
    with console.status("Drafting the registry from the sandbox's Jira and PagerDuty…"):
        result = _build(settings, request)
    text = render_draft(result, f"{DEMO_AS_OF:%Y-%m-%d}")
    write_new_file(target, text)
    draft = result.draft
    blanks = text.count(TODO)
    _done(console, f"Draft of '{WORKFLOW}' written to {target}: {draft.issues} issues, "
                   f"{draft.incidents} incidents, {len(draft.people)} people, "
                   f"{len(draft.stages)} stages, {len(draft.decision_points)} decision points, "
                   f"{len(draft.automation)} automation; {blanks} blanks marked TODO to fill "
                   "before `accountability registry validate` accepts it.")
    return text, blanks


def _build(settings: Settings, request: DraftRequest) -> DraftResult:
    jira = open_jira(settings)
    try:
        pagerduty = open_pagerduty(settings)
        try:
            return build_draft(request, jira, pagerduty)
        finally:
            pagerduty.close()
    finally:
        jira.close()
