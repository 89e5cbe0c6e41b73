"""`accountability demo --reset` (issue 17 item 4): a fresh team goes from no registry to a
drafted one, a baseline with proposed thresholds, and a reset in week 2 — as of the demo's date
whatever day the suite runs, with nothing left listening afterwards."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from accountability.cli.demo import MARKER
from accountability.cli.demo_reset import DemoResetResult, reset_start, run_demo_reset
from accountability.config.registry_file import load_registry_file
from accountability.messages.draft_yaml import TODO

SCRIPT = Path(sys.executable).with_name("accountability")


@dataclass
class Run:
    out: Path
    result: DemoResetResult
    text: str
    seconds: float


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("demo-reset") / "out"
    buffer = io.StringIO()
    began = time.monotonic()
    result = run_demo_reset(out, Console(file=buffer, width=200, emoji=False))
    return Run(out, result, buffer.getvalue(), time.monotonic() - began)


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), "registry", "validate", str(path)], capture_output=True,
                          text=True, timeout=60, cwd=path.parent)


def test_the_draft_has_blanks_that_validation_refuses(run: Run) -> None:
    draft = run.out / "registry.draft.yaml"
    assert run.result.draft_path == draft
    text = draft.read_text()
    assert text.count(TODO) == run.result.blanks == 7
    assert f"{run.result.blanks} blanks marked TODO" in run.text
    refused = _validate(draft)
    assert refused.returncode == 2
    assert "has no outcome owner" in refused.stderr


def test_the_answers_are_stated_and_the_filled_registry_validates(run: Run) -> None:
    assert "The demo answers the draft's open questions" in run.text
    for said in ("organization Acme", "leadership dana, omar", "outcome owner maria",
                 "workflow owner dev", "risk owner lee", "reassignment approved by dev, priya"):
        assert said in run.result.answers
        assert said in run.text
    registry = run.out / "registry.yaml"
    checked = _validate(registry)
    assert checked.returncode == 0, checked.stderr
    loaded = load_registry_file(registry).registry
    support = loaded.workflows["support"]
    assert (support.outcome.owner, support.workflow_owner, support.risk_owner) == (
        "maria", "dev", "lee")
    assert TODO not in registry.read_text()


def test_the_patch_is_written_and_applied(run: Run, tmp_path: Path) -> None:
    patch = run.out / "baseline.patch"
    assert patch.is_file()
    assert "the demo plays that person" in run.text
    # Applied: it reverses cleanly on the registry the demo left, and applies again after.
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(run.out / "registry.yaml", copy / "registry.yaml")
    applied = (copy / "registry.yaml").read_text()
    git = ["git", "apply", "-p0"]
    subprocess.run([*git, "-R", str(patch)], cwd=copy, check=True, timeout=30)
    assert "scorecard:" not in (copy / "registry.yaml").read_text()  # the draft had none
    subprocess.run([*git, str(patch)], cwd=copy, check=True, timeout=30)
    assert (copy / "registry.yaml").read_text() == applied
    thresholds = load_registry_file(run.out / "registry.yaml").registry.workflows[
        "support"].scorecard.thresholds
    assert {name: {k: v for k in ("min", "max") if (v := getattr(t, k)) is not None}
            for name, t in thresholds.items()} == run.result.proposed
    assert len(run.result.proposed) == 6
    assert run.result.proposed["unauthorized_changes"] == {"max": 0}


def test_the_reset_is_in_week_2_with_the_statuses_the_data_gives(run: Run) -> None:
    assert reset_start(date(2026, 11, 23)) == date(2026, 11, 16)
    tracker = run.result.tracker
    assert tracker.started == date(2026, 11, 16)
    assert tracker.today == date(2026, 11, 23)  # DEMO_AS_OF in Berlin, not the real today
    assert tracker.current_week == 2
    statuses = {(line.week, line.item): line.status for line in tracker.lines}
    assert statuses == {
        (1, "focus workflow named"): "done",  # reset.workflow is in the registry
        (1, "outcome and workflow owners in the registry"): "done",  # maria, dev filled
        (1, "escalation map published"): "overdue",  # the demo publishes none; W1 ended 11-22
        (2, "at least 4 baseline weeks"): "done",  # the sandbox's 2026-W40 … W47
        (2, "thresholds for all six metrics"): "done",  # the applied patch names all six
        (2, "decision rights confirmed by leadership"): "open",  # none recorded; due 11-29
        (3, "weekly decisions recorded for 2 weeks"): "open",
        (3, "registry gaps from escalations closed"): "done",  # nina's gap is registry-wide
        (4, "week-4 decision recorded"): "open",
        (4, "next focus workflow named"): "open",
    }
    assert "week 2 of 4, started 2026-11-16" in run.text
    assert "5 done, 4 open, 1 overdue" in run.text


def test_paths_are_printed_and_nothing_is_left_listening(run: Run) -> None:
    for label, path in (("Draft", run.out / "registry.draft.yaml"),
                        ("Registry", run.out / "registry.yaml"),
                        ("Patch", run.out / "baseline.patch")):
        assert f"{label + ':':<10} {path}" in run.text
    assert f"Database:  {run.result.database_url}" in run.text
    assert (run.out / MARKER).is_file()
    assert len(run.result.servers) == 2  # the SMTP capture and the sandbox
    for host, port in run.result.servers:
        with socket.socket() as probe:
            probe.settimeout(1)
            assert probe.connect_ex((host, port)) != 0, f"{host}:{port} still listening"
    assert run.seconds < 60


def test_a_rerun_replaces_its_own_files(run: Run) -> None:
    again = run_demo_reset(run.out, Console(file=io.StringIO(), width=200))
    assert again.tracker.lines == run.result.tracker.lines
    assert again.proposed == run.result.proposed


def test_the_command_runs_it_and_keeps_the_demos_folder_safety(tmp_path: Path) -> None:
    """`accountability demo --reset` through the console script, in a clean environment."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ACCOUNTABILITY_", "JIRA_", "PAGERDUTY_", "SMTP_"))}
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "registry.yaml").write_text("mine\n")
    refused = subprocess.run([str(SCRIPT), "demo", "--reset", "--out", str(foreign)],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert MARKER in refused.stderr
    assert (foreign / "registry.yaml").read_text() == "mine\n"
    done = subprocess.run([str(SCRIPT), "demo", "--reset", "--out", str(tmp_path / "out")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "week 2 of 4, started 2026-11-16" in done.stdout
    assert "nothing left running" in done.stdout
