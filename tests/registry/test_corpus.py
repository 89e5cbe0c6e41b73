"""The bad-input corpus: each file breaks one rule of SPEC §3.

Every file is `base.yaml` with one defect. The expectations below were written by reading
the YAML (line numbers are 1-based lines of the file), not copied from the program's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from accountability.config.registry_file import load_registry_file
from rules.registry import RegistryError, RegistryIssue
from rules.registry import parse as yaml_parse

HERE = Path(__file__).parent

# file name → (line, document path, message fragment)
INVALID: dict[str, tuple[int, str, str]] = {
    # YAML that cannot be read at all: the message comes from the YAML mark, no path.
    "syntax_unclosed_bracket": (22, "", "expected ',' or ']'"),
    "syntax_tab_indent": (15, "", "tab character; indent with spaces"),
    "syntax_bad_indent": (18, "", "invalid YAML: mapping values are not allowed"),
    "syntax_two_documents": (29, "", "more than one YAML document"),
    "syntax_undefined_alias": (4, "", "undefined alias 'boss'"),
    "syntax_control_character": (2, "", "character U+0007 is not allowed"),
    "syntax_alias_loop": (4, "", "an alias refers to a value that contains it"),
    "syntax_python_tag": (2, "", "unsupported YAML tag"),
    "syntax_duplicate_key": (
        19,
        "workflows.support.workflow_owner",
        "duplicate key 'workflow_owner' (first on line 17)",
    ),
    # Not a registry at all.
    "shape_top_level_list": (2, "", "a registry is a YAML mapping"),
    "shape_version_2": (1, "version", "unsupported registry version 2"),
    # Types and unknown keys.
    "type_unknown_key_person": (
        7,
        "people.bo.emial",
        "unknown key 'emial' (did you mean 'email'?)",
    ),
    "type_unknown_key_stage": (
        22,
        "workflows.support.stages[0].ownr",
        "unknown key 'ownr' (did you mean 'owner'?)",
    ),
    "type_unknown_key_top": (3, "timezon", "unknown key 'timezon' (did you mean 'timezone'?)"),
    "type_number_for_text": (
        7,
        "people.bo.jira",
        "expected text, got the number 5570581234 (put it in quotes)",
    ),
    "type_norway_problem": (
        20,
        "workflows.support.sources.jira.projects[0]",
        "got NO, which YAML reads as false",
    ),
    "type_list_expected": (4, "leadership", "expected a list"),
    "type_invalid_date": (
        28,
        "delegations[0].starts",
        "expected a date (YYYY-MM-DD), got '2026-02-30'",
    ),
    "type_consecutive_weeks_zero": (
        28,
        "workflows.support.scorecard.consecutive_weeks",
        "must be at least 1",
    ),
    "type_missing_version": (1, "version", "missing required key 'version'"),
    "type_invalid_email": (8, "people.cy.email", "'cy-at-test.example' is not an email address"),
    # A workflow without one of its owners.
    "owner_missing_risk_owner": (
        14,
        "workflows.support.risk_owner",
        "workflow 'support' has no risk owner",
    ),
    "owner_missing_outcome_owner": (
        16,
        "workflows.support.outcome.owner",
        "workflow 'support' has no outcome owner",
    ),
    "owner_empty_workflow_owner": (
        17,
        "workflows.support.workflow_owner",
        "workflow 'support' has no workflow owner",
    ),
    # Scorecard, alerts, time zone.
    "threshold_min_above_max": (
        30,
        "workflows.support.scorecard.thresholds.exception_rate",
        "min 0.5 is greater than max 0.2",
    ),
    "threshold_without_bounds": (
        29,
        "workflows.support.scorecard.thresholds.rework_volume",
        "a threshold needs min, max or both",
    ),
    "threshold_unknown_metric": (
        29,
        "workflows.support.scorecard.thresholds.throughputt",
        "unknown metric 'throughputt'",
    ),
    "alerts_literal_secret": (28, "workflows.support.alerts.slack_webhook", "write env:NAME"),
    "timezone_not_iana": (3, "timezone", "unknown time zone 'Europe/Berln'"),
    # Unknown people or groups, wherever they are named.
    "unknown_leadership": (4, "leadership[1]", "unknown person or group 'zed'"),
    "unknown_outcome_owner": (
        16,
        "workflows.support.outcome.owner",
        "unknown person or group 'anna' (did you mean 'ana'?)",
    ),
    "unknown_workflow_owner": (
        17,
        "workflows.support.workflow_owner",
        "unknown person or group 'dev'",
    ),
    "unknown_risk_owner": (18, "workflows.support.risk_owner", "unknown person or group 'lee'"),
    "unknown_stage_owner": (
        23,
        "workflows.support.stages[1].owner",
        "unknown person or group 'sm'",
    ),
    "unknown_stage_assignee": (
        23,
        "workflows.support.stages[1].assignees[0]",
        "unknown person or group 'oncal' (did you mean 'oncall'?)",
    ),
    "unknown_decision_approver": (
        26,
        "workflows.support.decisions.reassignment.approves[1]",
        "unknown person or group 'dana'",
    ),
    "unknown_decision_recommender": (
        26,
        "workflows.support.decisions.reassignment.recommends[0]",
        "unknown person or group 'stage-ownr'",
    ),
    "unknown_decision_executor": (
        26,
        "workflows.support.decisions.reassignment.executes[0]",
        "unknown person or group 'support-oncall'",
    ),
    "unknown_decision_informed": (
        26,
        "workflows.support.decisions.reassignment.informed[0]",
        "'stage-owner' is a role",
    ),
    "unknown_group_member": (10, "groups.oncall[2]", "unknown person or group 'dee'"),
    "unknown_delegation_grantee": (28, "delegations[0].grantee", "unknown person or group 'zoe'"),
    "unknown_delegation_grantor": (28, "delegations[0].grantor", "unknown person or group 'ann'"),
    "role_as_workflow_owner": (17, "workflows.support.workflow_owner", "'stage-owner' is a role"),
    # Groups and identities.
    "group_contains_itself": (10, "groups.oncall", "group 'oncall' contains itself"),
    "group_cycle": (10, "groups.oncall", "contains itself: oncall → backup → oncall"),
    "id_person_and_group": (7, "people.bo", "'bo' is both a person and a group"),
    "id_person_and_automation": (8, "people.cy", "'cy' is both a person and an automation"),
    "automation_without_identity": (12, "automation[0]", "neither a jira nor a pagerduty id"),
    "identity_jira_shared": (8, "people.cy.jira", "jira id 'acc-bo' is already used by 'bo'"),
    "identity_pagerduty_shared_with_automation": (
        12,
        "automation[0].pagerduty",
        "pagerduty id 'PANA001' is already used by 'ana'",
    ),
    # Stages and decisions.
    "stage_without_owner": (22, "workflows.support.stages[0]", "stage 'intake' has no owner"),
    "stage_duplicate_id": (
        23,
        "workflows.support.stages[1].id",
        "stage 'intake' is declared twice",
    ),
    "stage_status_twice": (
        23,
        "workflows.support.stages[1].jira_statuses[1]",
        "Jira status 'open' is already mapped to stage 'intake'",
    ),
    "stage_two_pagerduty_stages": (
        23,
        "workflows.support.stages[1].pagerduty",
        "stage 'intake' is already the pagerduty stage",
    ),
    "decision_without_approver": (
        26,
        "workflows.support.decisions.reassignment",
        "decision 'reassignment' has no approver",
    ),
    "decision_point_unknown_decision": (
        28,
        "workflows.support.decision_points[0].decision",
        "unknown decision 'policy-exception'",
    ),
    # Delegations.
    "delegation_unknown_workflow": (
        28,
        "delegations[0].workflow",
        "unknown workflow 'suport' (did you mean 'support'?)",
    ),
    "delegation_unknown_decision": (
        28,
        "delegations[0].decision",
        "workflow 'support' has no decision 'escalation'",
    ),
    "delegation_grantor_not_approver": (
        28,
        "delegations[0].grantor",
        "'cy' cannot delegate 'reassignment' in workflow 'support'",
    ),
    "delegation_dates_reversed": (
        29,
        "delegations[0].ends",
        "ends 2026-11-02 is before starts 2026-11-06",
    ),
    # Ids are names, never paths (they become file names).
    "id_workflow_path": (
        14,
        "workflows.../../elsewhere/evil",
        "workflow id '../../elsewhere/evil' is not a valid id: use letters, digits",
    ),
    # A jql that leaves the parentheses it is ANDed in.
    "jql_leaves_parentheses": (
        20,
        "workflows.support.sources.jira.jql",
        "jql closes a parenthesis it did not open (character 12)",
    ),
    # A channel secret naming the product's own credential.
    "alerts_env_product_secret": (
        28,
        "workflows.support.alerts.pagerduty_routing_key",
        "env:JIRA_API_TOKEN is one of the product's own settings",
    ),
    # An address the mailer reads differently.
    "type_email_trailing_bracket": (
        7,
        "people.bo.email",
        "'bo@test.example>' is not an email address the mailer can use",
    ),
    # Sources.
    "pagerduty_service_in_two_workflows": (
        33,
        "workflows.billing.sources.pagerduty.services[1]",
        "PagerDuty service 'PSUP001' is already claimed by workflow 'support'",
    ),
}

# Registries that load, with a warning: file name → (line, document path, message fragment)
WARNINGS: dict[str, tuple[int, str, str]] = {
    "delegation_overlap": (
        29,
        "delegations[1]",
        "overlaps the delegation from 2026-11-02 to 2026-11-06",
    ),
    "jira_project_in_two_workflows": (
        33,
        "workflows.billing.sources.jira.projects[1]",
        "Jira project 'SUP' is also claimed by workflow 'support'",
    ),
    "person_without_email": (8, "people.cy", "no email: their alerts go to the workflow owner"),
    "person_without_identity": (8, "people.cy", "no jira or pagerduty id"),
    "automation_unknown_decision": (
        12,
        "automation[0].may[0]",
        "no workflow has a decision 'reasignment'",
    ),
    "group_without_members": (11, "groups.spare", "group 'spare' has no members"),
}


def _matches(issue: RegistryIssue, line: int, path: str, fragment: str) -> bool:
    return issue.line == line and issue.path == path and fragment in issue.message


def test_base_is_valid_and_clean() -> None:
    loaded = load_registry_file(HERE / "base.yaml")
    assert loaded.warnings == []


def test_every_corpus_file_has_an_expectation() -> None:
    assert {p.stem for p in (HERE / "invalid").glob("*.yaml")} == set(INVALID)
    assert {p.stem for p in (HERE / "warnings").glob("*.yaml")} == set(WARNINGS)
    assert len(INVALID) >= 25


@pytest.mark.parametrize(("name", "expected"), INVALID.items(), ids=list(INVALID))
def test_invalid_registry(name: str, expected: tuple[int, str, str]) -> None:
    path = HERE / "invalid" / f"{name}.yaml"
    with pytest.raises(RegistryError) as caught:
        load_registry_file(path)
    issues = caught.value.issues
    assert issues, "a RegistryError always carries its issues"
    assert all(issue.severity == "error" and issue.file == str(path) for issue in issues)
    line, doc_path, fragment = expected
    assert any(_matches(issue, line, doc_path, fragment) for issue in issues), "\n".join(
        str(issue) for issue in issues
    )
    text = str(caught.value)
    assert "Traceback" not in text
    assert f"{path}:{line}: " in text


@pytest.mark.parametrize(("name", "expected"), WARNINGS.items(), ids=list(WARNINGS))
def test_registry_with_a_warning_loads(name: str, expected: tuple[int, str, str]) -> None:
    loaded = load_registry_file(HERE / "warnings" / f"{name}.yaml")
    line, doc_path, fragment = expected
    assert all(w.severity == "warning" for w in loaded.warnings)
    assert any(_matches(w, line, doc_path, fragment) for w in loaded.warnings), "\n".join(
        str(w) for w in loaded.warnings
    )


YAML_CASES = [name for name in INVALID if name.startswith(("syntax_", "type_"))]


@pytest.mark.parametrize("name", YAML_CASES)
def test_pure_python_yaml_reports_the_same(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without libyaml (PyYAML built without it) the same lines and messages come out."""
    monkeypatch.setattr(yaml_parse, "_FastLoader", None)
    test_invalid_registry(name, INVALID[name])
