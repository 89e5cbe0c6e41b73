"""Issue 15 item 8: Jira's own verdict on a workflow's jql (`POST /rest/api/3/jql/parse`),
through `JiraClient.parse_jql`, the sandbox's answer, and `accountability registry validate`."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from accountability.config.registry_file import load_registry_file
from accountability.config.settings import load_settings
from accountability.sources.jira import check_jql_with_jira
from connectors.jira import JiraClient, ParsedJql
from sandbox import Sandbox, SandboxConfig, serve_sandbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "registry.yaml"
SCRIPT = str(Path(sys.executable).with_name("accountability"))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        yield sb


def client(sb: Sandbox) -> JiraClient:
    creds = sb.credentials
    return JiraClient(creds["JIRA_URL"], email=creds["JIRA_EMAIL"],
                      api_token=SecretStr(creds["JIRA_API_TOKEN"]),
                      ca_bundle=Path(creds["ACCOUNTABILITY_CA_BUNDLE"]), max_attempts=1)


def test_parse_jql_returns_jiras_errors_per_query(sandbox: Sandbox) -> None:
    with client(sandbox) as jira:
        parsed = jira.parse_jql(["labels = ai-assisted", "nosuchfield = 1", "status = Nope"])
    assert parsed[0] == ParsedJql("labels = ai-assisted")
    assert parsed[1].errors == (
        "Field 'nosuchfield' does not exist or you do not have permission to view it.",)
    assert parsed[2].errors == ("The value 'Nope' does not exist for the field 'status'.",)


def test_the_sandbox_answers_in_the_documented_shape(sandbox: Sandbox) -> None:
    creds = sandbox.credentials
    response = httpx.post(
        creds["JIRA_URL"].rstrip("/") + "/rest/api/3/jql/parse",
        params={"validation": "strict"},
        json={"queries": ["labels = ai AND (priority = High OR assignee is EMPTY)", "x = "]},
        auth=(creds["JIRA_EMAIL"], creds["JIRA_API_TOKEN"]),
        verify=ssl.create_default_context(cafile=creds["ACCOUNTABILITY_CA_BUNDLE"]),
    )
    assert response.status_code == 200
    good, bad = response.json()["queries"]
    assert good["query"] == "labels = ai AND (priority = High OR assignee is EMPTY)"
    assert "errors" not in good
    where = good["structure"]["where"]
    assert where["operator"] == "and" and len(where["clauses"]) == 2
    assert where["clauses"][0] == {"field": {"name": "labels"}, "operator": "=",
                                   "operand": {"value": "ai"}}
    assert where["clauses"][1]["clauses"][1]["operand"] == {"keyword": "empty"}
    assert bad["query"] == "x = " and "structure" not in bad
    assert bad["errors"][0].startswith("Error in the JQL Query: Expecting either a value")


def validate(sb: Sandbox | None, registry: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("JIRA_", "PAGERDUTY_", "ACCOUNTABILITY_"))}
    if sb is not None:
        base.update(sb.credentials)
        base.pop("JIRA_PAT")
    base.update(env)
    return subprocess.run([SCRIPT, "registry", "validate", str(registry)], env=base,
                          cwd=registry.parent, capture_output=True, text=True, timeout=120)


def test_registry_validate_exits_2_when_jira_refuses_a_jql(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert 'jql: "labels = ai-assisted"' in text
    registry = tmp_path / "registry.yaml"
    registry.write_text(text.replace('jql: "labels = ai-assisted"',
                                     'jql: "labels = ai-assisted AND nosuchfield = 1"'),
                        encoding="utf-8")
    line = 1 + text.split("\n").index(
        next(x for x in text.split("\n") if 'jql: "labels = ai-assisted"' in x))
    result = validate(sandbox, registry)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"{registry}:{line}: workflows.support.sources.jira.jql: Jira refuses workflow "
            "'support''s jql: Field 'nosuchfield' does not exist") in result.stderr
    assert "Traceback" not in result.stderr


def test_registry_validate_passes_a_jql_jira_accepts(sandbox: Sandbox) -> None:
    result = validate(sandbox, EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout


def test_without_credentials_only_the_static_check_runs(tmp_path: Path) -> None:
    result = validate(None, EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert "Jira" not in result.stderr


def test_an_unreachable_jira_skips_the_check_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JIRA_URL", "https://127.0.0.1:9")
    monkeypatch.setenv("JIRA_EMAIL", "me@acme.example")
    monkeypatch.setenv("JIRA_API_TOKEN", "token")
    monkeypatch.delenv("JIRA_PAT", raising=False)
    check = check_jql_with_jira(load_settings(), load_registry_file(EXAMPLE),
                                connect=lambda s: JiraClient(s.jira_url, email=s.jira_email,
                                                             api_token=s.jira_api_token,
                                                             max_attempts=1, timeout=2))
    assert check.errors == []
    assert check.skipped is not None and "could not check the jql clauses with Jira" in (
        check.skipped)
