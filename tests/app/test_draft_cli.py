"""`accountability registry draft` as a user runs it: the file, exit codes, messages."""

from __future__ import annotations

from pathlib import Path

from sandbox import SandboxConfig, serve_sandbox
from tests.app.test_cli import run


def sandbox_env(credentials: dict[str, str]) -> dict[str, str]:
    env = dict(credentials)
    env.pop("JIRA_PAT")  # Cloud: email + token, as `accountability sync` would use them
    return env


def test_draft_writes_a_new_file_and_refuses_to_overwrite_it(tmp_path: Path) -> None:
    target = tmp_path / "draft.yaml"
    args = ("registry", "draft", "--jira-project", "SUP", "--jql", "labels = ai-assisted",
            "--pagerduty-service", "PSUP001", "--workflow", "support", "--until", "2026-11-23",
            "--out", str(target))
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        first = run(*args, cwd=tmp_path, env=sandbox_env(sb.credentials))
        assert first.returncode == 0, first.stderr
        assert "Draft of 'support' written to" in first.stdout
        assert "blanks marked TODO" in first.stdout
        text = target.read_text(encoding="utf-8")
        assert "outcome:\n      owner: null  # TODO:" in text
        again = run(*args, cwd=tmp_path, env=sandbox_env(sb.credentials))
    assert again.returncode == 2
    assert "exists: the draft never overwrites a file" in again.stderr
    assert target.read_text(encoding="utf-8") == text
    refused = run("registry", "validate", str(target), cwd=tmp_path)
    assert refused.returncode == 2
    assert "workflows.support.risk_owner" in refused.stderr


def test_missing_credentials_exit_2_naming_the_variable(tmp_path: Path) -> None:
    result = run("registry", "draft", "--jira-project", "SUP", "--out",
                 str(tmp_path / "d.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "JIRA_URL is not set" in result.stderr
    pd = run("registry", "draft", "--pagerduty-service", "PSUP001", "--out",
             str(tmp_path / "d.yaml"), cwd=tmp_path)
    assert pd.returncode == 2 and "PAGERDUTY_API_TOKEN is not set" in pd.stderr
    assert not (tmp_path / "d.yaml").exists()


def test_no_source_and_a_bad_until_are_usage_errors(tmp_path: Path) -> None:
    none = run("registry", "draft", cwd=tmp_path)
    assert none.returncode == 2 and "--jira-project or --pagerduty-service" in none.stderr
    bad = run("registry", "draft", "--jira-project", "SUP", "--until", "soon", cwd=tmp_path)
    assert bad.returncode == 2 and "--until 'soon'" in bad.stderr


def test_unknown_project_and_empty_period_exit_2(tmp_path: Path) -> None:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        env = sandbox_env(sb.credentials)
        unknown = run("registry", "draft", "--jira-project", "NOPE", "--until", "2026-11-23",
                      "--out", str(tmp_path / "a.yaml"), cwd=tmp_path, env=env)
        empty = run("registry", "draft", "--jira-project", "SUP", "--until", "2026-03-01",
                    "--out", str(tmp_path / "b.yaml"), cwd=tmp_path, env=env)
    assert unknown.returncode == 2 and "'NOPE' does not exist" in unknown.stderr
    assert empty.returncode == 2 and "nothing to draft" in empty.stderr
    assert not list(tmp_path.glob("*.yaml"))
