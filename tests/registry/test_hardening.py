"""Issue 15: ids are names, a workflow's jql stays inside its parentheses, channel secrets
name only channel variables, e-mail addresses are the ones the mailer reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.registry import RegistryError, parse_registry
from rules.registry.models import jql_clause_problem, parse_address

BASE = (Path(__file__).parent / "base.yaml").read_text(encoding="utf-8")


def errors_of(text: str) -> list[str]:
    with pytest.raises(RegistryError) as caught:
        parse_registry(text, "r.yaml")
    return [f"{issue.path}: {issue.message}" for issue in caught.value.issues]


def with_alerts(line: str) -> str:
    return BASE.replace(
        "informed: [bo]}\n", f"informed: [bo]}}\n    alerts:\n      {line}\n", 1
    )


# --- ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("  support:\n", "  ../../elsewhere/evil:\n", "workflows.../../elsewhere/evil"),
        ("  support:\n", "  a/b:\n", "workflows.a/b"),
        ("  support:\n", "  .hidden:\n", "workflows..hidden"),
        ("  support:\n", f"  {'w' * 65}:\n", f"workflows.{'w' * 65}"),
        ("  ana: {", "  'ana lind': {", "people.ana lind"),
        ("  oncall: [bo, cy]", "  on/call: [bo, cy]", "groups.on/call"),
        ("{id: jira-bot,", "{id: ../bot,", "automation[0].id"),
    ],
)
def test_ids_that_are_not_names_are_refused(old: str, new: str, path: str) -> None:
    text = BASE.replace(old, new, 1)
    assert text != BASE
    found = errors_of(text)
    assert any(e.startswith(f"{path}: ") and "is not a valid id" in e for e in found), found


@pytest.mark.parametrize("name", ["support", "Support_2", "a", "9-lives", "w" * 64])
def test_name_ids_are_accepted(name: str) -> None:
    text = BASE.replace("  support:\n", f"  {name}:\n", 1).replace(
        "workflow: support,", f"workflow: {name},"
    )
    assert set(parse_registry(text).registry.workflows) == {name}


# --- jql ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jql", "fragment"),
    [
        ("labels = ai) OR (project is not EMPTY", "closes a parenthesis it did not open"),
        ("labels = ai OR (project is not EMPTY", "leaves 1 parenthesis(es) open"),
        ('labels = "ai', "leaves a \" quote open"),
        ("labels = ai ORDER BY created DESC", "must not contain ORDER BY"),
        ("labels = ai order\n  by rank", "must not contain ORDER BY"),
    ],
)
def test_a_jql_that_would_leave_its_parentheses_is_refused(jql: str, fragment: str) -> None:
    problem = jql_clause_problem(jql)
    assert problem is not None and fragment in problem
    text = BASE.replace("jira: {projects: [SUP]}", "jira: {projects: [SUP], jql: JQL}").replace(
        "JQL", '"' + jql.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    )
    found = errors_of(text)
    assert any(e.startswith("workflows.support.sources.jira.jql: ") and fragment in e
               for e in found), found


@pytest.mark.parametrize(
    "jql",
    [
        "labels = ai-assisted",
        "labels = ai AND (priority = High OR priority = Highest)",
        'summary ~ "a ) b" OR labels = "x(y"',
        r"summary ~ 'it\'s (odd'",
        'summary ~ "sort order by date"',
    ],
)
def test_balanced_jql_is_accepted(jql: str) -> None:
    assert jql_clause_problem(jql) is None


# --- env: names of channel secrets -------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("pagerduty_routing_key: env:JIRA_API_TOKEN", "one of the product's own settings"),
        ("slack_webhook: env:SMTP_PASSWORD", "one of the product's own settings"),
        ("slack_webhook: env:ACCOUNTABILITY_SIGNING_KEY", "one of the product's own settings"),
        ("slack_webhook: env:PD_ROUTING_KEY", "must start with SLACK_"),
        ("pagerduty_routing_key: env:SLACK_HOOK", "must start with PD_ or PAGERDUTY_ROUTING_"),
        ("pagerduty_routing_key: env:PAGERDUTY_API_TOKEN", "one of the product's own settings"),
        ("slack_webhook: env:HOOK", "env:SLACK_*"),
    ],
)
def test_channel_secrets_name_only_channel_variables(line: str, fragment: str) -> None:
    field = line.split(":", 1)[0]
    found = errors_of(with_alerts(line))
    assert any(e.startswith(f"workflows.support.alerts.{field}: ") and fragment in e
               for e in found), found


@pytest.mark.parametrize(
    "line",
    [
        "slack_webhook: env:SLACK_WEBHOOK_SUPPORT",
        "pagerduty_routing_key: env:PD_ROUTING_KEY_SUPPORT",
        "pagerduty_routing_key: env:PAGERDUTY_ROUTING_KEY_SUPPORT",
    ],
)
def test_channel_variables_are_accepted(line: str) -> None:
    parse_registry(with_alerts(line))


# --- e-mail addresses --------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "dana@acme.example>",
        "<dana@acme.example>",
        "Dana <dana@acme.example>",
        "dana@acme.example, lee@acme.example",
        "dana lind@acme.example",
        "dana@@acme.example",
        '"dana"@acme.example',
        " dana@acme.example",
    ],
)
def test_addresses_the_mailer_reads_differently_are_refused(address: str) -> None:
    assert parse_address(address) is None
    quoted = address.replace("\\", "\\\\").replace('"', '\\"')
    found = errors_of(BASE.replace("email: bo@test.example", f'email: "{quoted}"'))
    assert any(e.startswith("people.bo.email: ") and "not an email address the mailer" in e
               for e in found), found


@pytest.mark.parametrize("address", ["dana@acme.example", "d.ruiz+ops@mail.acme.example", "x@y"])
def test_plain_addresses_are_accepted(address: str) -> None:
    assert parse_address(address) == address
