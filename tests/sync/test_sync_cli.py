"""`accountability sync` as a user runs it: summary line, wrong credentials, wrong URL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import FaultConfig, Sandbox, SandboxConfig, serve_sandbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        yield sb


def accountability(
    sb: Sandbox, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("JIRA_", "PAGERDUTY_", "ACCOUNTABILITY_"))}
    base.update(sb.credentials)
    base.pop("JIRA_PAT")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    base.update(ACCOUNTABILITY_DATABASE_URL=db, ACCOUNTABILITY_SYNC_START="2026-09-01",
                ACCOUNTABILITY_REGISTRY=str(ROOT / "examples" / "registry.yaml"))
    base.update(env)
    script = str(Path(sys.executable).with_name("accountability"))
    if not (tmp_path / "a.db").exists():
        subprocess.run([script, "db", "upgrade"], env=base, cwd=tmp_path, check=True,
                       capture_output=True)
    return subprocess.run([script, *args], env=base, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)


def test_sync_prints_a_one_line_summary(sandbox: Sandbox, tmp_path: Path) -> None:
    result = accountability(sandbox, tmp_path, "sync")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("synced ") and "requests" in line and "quarantined" in line
    again = accountability(sandbox, tmp_path, "sync", "--source", "jira")
    assert again.returncode == 0 and again.stdout.startswith("synced 0 items")


@pytest.mark.parametrize(
    ("source", "variable", "override"),
    [("jira", "JIRA_API_TOKEN", {"JIRA_API_TOKEN": "wrong"}),
     ("pagerduty", "PAGERDUTY_API_TOKEN", {"PAGERDUTY_API_TOKEN": "wrong"})],
    ids=["jira", "pagerduty"],
)
def test_wrong_credentials_exit_2_naming_the_variable_without_retrying(
    sandbox: Sandbox, tmp_path: Path, source: str, variable: str, override: dict[str, str]
) -> None:
    result = accountability(sandbox, tmp_path, "sync", "--source", source, **override)
    assert result.returncode == 2
    assert "401" in result.stderr and variable in result.stderr
    assert "retrying" not in result.stderr and "Traceback" not in result.stderr
    assert "wrong" not in result.stderr  # the secret is never echoed


def test_missing_credential_exits_2(sandbox: Sandbox, tmp_path: Path) -> None:
    result = accountability(sandbox, tmp_path, "sync", "--source", "jira", JIRA_URL="")
    assert result.returncode == 2 and "JIRA_URL" in result.stderr


def test_a_url_that_is_not_jira_is_a_clear_error(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.set_faults(FaultConfig.parse("html200=every:1"))
    try:
        result = accountability(sandbox, tmp_path, "sync", "--source", "jira")
    finally:
        sandbox.set_faults(None)
    assert result.returncode == 2
    assert "JIRA_URL" in result.stderr and "HTML" in result.stderr
    assert "Traceback" not in result.stderr


def test_unmigrated_database_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    env = dict(os.environ, ACCOUNTABILITY_DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}",
               ACCOUNTABILITY_REGISTRY=str(ROOT / "examples" / "registry.yaml"))
    script = str(Path(sys.executable).with_name("accountability"))
    result = subprocess.run([script, "sync"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "accountability db upgrade" in result.stderr
