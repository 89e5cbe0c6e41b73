"""Loading the owner registry: the example, the public API, hostile files, error reporting."""

from __future__ import annotations

import hashlib
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from accountability.config.registry_file import load_registry_file
from rules.registry import (
    METRICS,
    LoadedRegistry,
    Registry,
    RegistryError,
    RegistryIssue,
    parse_registry,
)
from rules.registry import parse as yaml_parse

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "registry.yaml"
BASE = Path(__file__).parent / "base.yaml"


@pytest.fixture(scope="module")
def example() -> LoadedRegistry:
    return load_registry_file(EXAMPLE)


@pytest.fixture(scope="module")
def registry(example: LoadedRegistry) -> Registry:
    return example.registry


# --- the example registry ------------------------------------------------------------------


def test_example_loads(example: LoadedRegistry) -> None:
    assert example.source == str(EXAMPLE)
    assert example.content_hash == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    assert all(w.severity == "warning" for w in example.warnings)


def test_example_typed_values(registry: Registry) -> None:
    assert registry.version == 1
    assert registry.organization == "Acme"
    assert registry.tz == ZoneInfo("Europe/Berlin")
    assert registry.leadership == ["dana", "omar"]
    assert registry.people["omar"].id == "omar"
    assert registry.people["omar"].pagerduty is None
    assert registry.people["dana"].jira == "712020:2c9b5e1a-4f3d-4b8e-9a61-0d2f7c3e8b10"
    support = registry.workflows["support"]
    assert support.id == "support"
    assert support.outcome.owner == "maria"
    assert support.sources.jira is not None and support.sources.jira.jql == "labels = ai-assisted"
    assert support.sources.pagerduty is not None
    assert support.sources.pagerduty.escalation_policies == ["PESC001"]
    assert support.decisions["reassignment"].recommends == ["stage-owner"]
    assert support.scorecard.thresholds["quality_trend"].min == pytest.approx(-0.10)
    assert support.scorecard.thresholds["unauthorized_changes"].max == 0
    assert support.alerts.slack_webhook == "env:SLACK_WEBHOOK_SUPPORT"
    assert support.alerts.jira_risk_review is not None
    assert support.alerts.jira_risk_review.project == "RISK"
    assert support.unowned_after_hours == 24 and support.churn_changes == 3
    assert support.risk_review_due_days == 3 and support.remind_every_hours == 24
    renewals = registry.workflows["renewals"]
    assert renewals.scorecard.consecutive_weeks == 2
    assert renewals.alerts.slack_webhook is None
    assert set(renewals.scorecard.thresholds) <= set(METRICS)
    assert registry.delegations[0].starts == date(2026, 11, 2)
    assert registry.delegations[0].reason == "Priya on leave"


def test_expand(registry: Registry) -> None:
    assert registry.expand(["support-oncall"]) == {"sam", "alex", "kim"}
    assert registry.expand(["dana", "renewals-desk"]) == {"dana", "nina", "ravi"}
    tokens = registry.expand(["stage-owner", "jira-automation"])
    assert tokens == {"stage-owner", "jira-automation"}


def test_stages(registry: Registry) -> None:
    support = registry.workflows["support"]
    stage = support.stage_for_status("In Progress")
    assert stage is not None and stage.id == "resolution" and stage.owner == "sam"
    assert support.stage_for_status("Nonexistent") is None
    renewals_stage = registry.workflows["renewals"].stage_for_status("In Progress")
    assert renewals_stage is not None and renewals_stage.id == "outreach"
    pagerduty_stage = support.incident_stage()
    assert pagerduty_stage is not None and pagerduty_stage.id == "exception"
    assert registry.workflows["renewals"].incident_stage() is None
    assert support.terminal_statuses() == {"Done", "Closed"}
    assert support.stage("done").terminal
    with pytest.raises(KeyError):
        support.stage("nope")


def test_identities(registry: Registry) -> None:
    person = registry.person_by("jira", "5b10a2844c20165700ede25d")
    assert person is not None and person.id == "sam"
    person = registry.person_by("pagerduty", "PPRIY01")
    assert person is not None and person.id == "priya"
    assert registry.person_by("jira", "nobody") is None
    bot = registry.automation_by("jira", "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077")
    assert bot is not None and bot.id == "jira-automation"
    bot = registry.automation_by("pagerduty", "PBOT001")
    assert bot is not None and bot.may == ["incident-escalation"]
    assert registry.automation_by("pagerduty", "PDANA01") is None


@pytest.mark.parametrize(
    ("day", "count"),
    [
        (date(2026, 11, 1), 0),
        (date(2026, 11, 2), 1),  # first day counts
        (date(2026, 11, 13), 1),  # last day counts
        (date(2026, 11, 14), 0),
    ],
)
def test_delegations_in_force_inclusive(registry: Registry, day: date, count: int) -> None:
    assert len(registry.delegations_in_force(day)) == count
    assert len(registry.delegations_in_force(day, workflow="support")) == count
    assert registry.delegations_in_force(day, workflow="renewals") == []


def test_models_are_frozen(registry: Registry) -> None:
    with pytest.raises(ValidationError):
        registry.organization = "Other"  # type: ignore[misc]


# --- reporting -----------------------------------------------------------------------------


def test_issue_format() -> None:
    issue = RegistryIssue(
        "error", "registry.yaml", 42, "workflows.support.stages[2].owner", "unknown person 'sm'"
    )
    assert str(issue) == "registry.yaml:42: workflows.support.stages[2].owner: unknown person 'sm'"
    assert str(RegistryIssue("error", "r.yaml", None, "", "file not found")) == (
        "r.yaml: file not found"
    )


MANY_ERRORS = """\
version: 1
organization: Test Co
timezone: Europe/Berlin
leadership: [ana, zed]
people:
  ana: {name: Ana, email: ana@test.example, jira: "acc-ana", slack: "@ana"}
  bo:  {name: Bo, email: bo@test.example, jira: 12345}
groups:
  oncall: [bo, oncall]
workflows:
  support:
    name: Support
    outcome: {owner: ana}
    workflow_owner: dev
    risk_owner: bo
    sources:
      jira: {projects: [SUP]}
    stages:
      - {id: intake, jira_statuses: [Open]}
      - {id: work, owner: sm, jira_statuses: [Open]}
      - {id: done, jira_statuses: [Done], terminal: true}
    decisions:
      reassignment: {executes: [oncall]}
    scorecard:
      thresholds:
        throughput: {min: 10, max: 5}
      consecutive_weeks: 0
delegations:
  - {grantor: bo, grantee: ana, workflow: support, decision: reassignment,
     starts: 2026-11-10, ends: 2026-11-01}
"""


def test_all_errors_are_reported_at_once() -> None:
    with pytest.raises(RegistryError) as caught:
        parse_registry(MANY_ERRORS, "many.yaml")
    found = {(i.line, i.path) for i in caught.value.issues}
    expected = {
        (4, "leadership[1]"),  # unknown person
        (6, "people.ana.slack"),  # unknown key
        (7, "people.bo.jira"),  # wrong type
        (9, "groups.oncall"),  # group contains itself
        (14, "workflows.support.workflow_owner"),  # unknown person
        (19, "workflows.support.stages[0]"),  # non-terminal stage without owner
        (20, "workflows.support.stages[1].owner"),  # unknown person
        (20, "workflows.support.stages[1].jira_statuses[0]"),  # status in two stages
        (23, "workflows.support.decisions.reassignment"),  # no approver
        (26, "workflows.support.scorecard.thresholds.throughput"),  # min > max
        (27, "workflows.support.scorecard.consecutive_weeks"),  # below 1
        (30, "delegations[0].ends"),  # dates reversed
    }
    assert expected <= found, str(caught.value)
    lines = [i.line or 0 for i in caught.value.issues]
    assert lines == sorted(lines), "issues come in file order"
    assert len(str(caught.value).splitlines()) == len(caught.value.issues)


def test_type_error_in_a_person_does_not_make_them_unknown() -> None:
    text = BASE.read_text().replace("name: Bo Stein, ", "name: [Bo], ")
    with pytest.raises(RegistryError) as caught:
        parse_registry(text)
    assert [i.path for i in caught.value.issues] == ["people.bo.name"]


def test_warnings_are_separate_from_errors() -> None:
    text = BASE.read_text().replace('email: cy@test.example, jira: "acc-cy"', "")
    loaded = parse_registry(text, "w.yaml")
    assert [(w.severity, w.line, w.path) for w in loaded.warnings] == [
        ("warning", 8, "people.cy"),
        ("warning", 8, "people.cy"),
    ]
    assert "no email" in loaded.warnings[1].message
    assert loaded.content_hash == hashlib.sha256(text.encode()).hexdigest()
    assert loaded.text == text


def test_errors_keep_the_warnings_aside() -> None:
    text = BASE.read_text().replace('email: cy@test.example, jira: "acc-cy"', "")
    text = text.replace("leadership: [ana]", "leadership: [ana, zed]")
    with pytest.raises(RegistryError) as caught:
        parse_registry(text)
    assert [i.path for i in caught.value.issues] == ["leadership[1]"]
    assert {w.path for w in caught.value.warnings} == {"people.cy"}


def test_delegation_by_stage_owner_and_by_group() -> None:
    text = BASE.read_text().replace("approves: [ana]", "approves: [stage-owner, oncall]")
    text = text.replace("grantor: ana, grantee: bo", "grantor: cy, grantee: ana")
    assert parse_registry(text).registry.delegations[0].grantor == "cy"
    text = text.replace("grantor: cy", "grantor: oncall")
    parse_registry(text)


def test_secret_value_is_not_echoed() -> None:
    text = BASE.read_text().replace(
        "informed: [bo]}", "informed: [bo]}\n    alerts: {pagerduty_routing_key: R0UT1NGKEYSECRET}"
    )
    with pytest.raises(RegistryError) as caught:
        parse_registry(text)
    assert "R0UT1NGKEYSECRET" not in str(caught.value)
    assert "env:NAME" in str(caught.value)


def test_merge_keys_and_anchors_are_supported() -> None:
    text = BASE.read_text().replace("people:\n", "x-defaults: &tight {min: 10}\npeople:\n")
    with pytest.raises(RegistryError) as caught:  # an unknown top-level key is still an error
        parse_registry(text)
    assert [i.path for i in caught.value.issues] == ["x-defaults"]
    text = BASE.read_text().replace(
        "informed: [bo]}",
        "informed: [bo]}\n    scorecard:\n      thresholds:\n"
        "        throughput: &tight {min: 10}\n        rework_volume: {<<: *tight, max: 20}",
    )
    thresholds = parse_registry(text).registry.workflows["support"].scorecard.thresholds
    assert (thresholds["rework_volume"].min, thresholds["rework_volume"].max) == (10, 20)


# --- hostile and broken files --------------------------------------------------------------


def _billion_laughs() -> str:
    lines = ["version: 1", 'lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"lol{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda tmp: _write(tmp, "registry.yaml", b""), "the file is empty"),
        (lambda tmp: _write(tmp, "registry.yaml", b"# nothing yet\n\n"), "the registry is empty"),
        (lambda tmp: tmp, "is a directory"),
        (lambda tmp: tmp / "missing.yaml", "file not found"),
        (
            lambda tmp: _write(tmp, "registry.yaml", b"x" * (5 * 1024 * 1024)),
            "the file is 5.0 MB; a registry is at most 1 MB",
        ),
        (
            lambda tmp: _write(tmp, "registry.yaml", b"version: 1\norganization: Caf\xe9\n"),
            "not UTF-8 text (byte 0xe9 on line 2)",
        ),
        (
            lambda tmp: _write(tmp, "registry.yaml", _billion_laughs().encode()),
            "more than 100,000 values",
        ),
        (
            lambda tmp: _write(tmp, "registry.yaml", b"[" * 20000 + b"]" * 20000),
            "nested too deeply",
        ),
    ],
    ids=["empty", "comments-only", "directory", "missing", "5MB", "latin-1", "alias-bomb", "deep"],
)
def test_broken_files_fail_fast_and_clearly(tmp_path: Path, make, fragment: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    started = time.perf_counter()
    with pytest.raises(RegistryError) as caught:
        load_registry_file(path)
    assert time.perf_counter() - started < 1.0
    issues = caught.value.issues
    assert len(issues) == 1
    assert issues[0].file == str(path)
    assert fragment in issues[0].message
    text = str(caught.value)
    assert "\n" not in text and "Traceback" not in text and 'File "' not in text


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "registry.yaml", BASE.read_bytes())

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)  # chmod 0 does not stop root
    with pytest.raises(RegistryError, match="permission denied"):
        load_registry_file(path)


def test_path_through_a_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "registry.yaml", BASE.read_bytes()) / "inner.yaml"
    with pytest.raises(RegistryError, match="cannot read the file: Not a directory"):
        load_registry_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_billion_laughs(), "refusing to load"),
        ("[" * 20000 + "]" * 20000, "nested too deeply"),
        ("a: " + "{b: " * 20000 + "}" * 20000, "nested too deeply"),
    ],
    ids=["alias-bomb", "deep-list", "deep-mapping"],
)
def test_hostile_yaml_without_libyaml(
    text: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yaml_parse, "_FastLoader", None)
    started = time.perf_counter()
    with pytest.raises(RegistryError) as caught:
        parse_registry(text)
    assert time.perf_counter() - started < 1.0
    assert len(caught.value.issues) == 1
    assert message in str(caught.value)


@pytest.mark.parametrize("value", ["jsmith", "JIRAUSER10100", "j.smith@corp", "acc-cy",
                                   "712020:2c9b5e1a-4f3d-4b8e-9a61-0d2f7c3e8b10"])
def test_jira_identity_may_be_an_account_id_or_a_data_center_username(value: str) -> None:
    text = BASE.read_text().replace('jira: "acc-cy"', f'jira: "{value}"')
    assert parse_registry(text).registry.person_by("jira", value) is not None


@pytest.mark.parametrize("value", ["Cy Young", "jira:acc-cy", "acc-cy\t"])
def test_jira_identity_that_could_never_match_is_refused(value: str) -> None:
    """A display name or a prefixed ref would silently never match a changelog."""
    text = BASE.read_text().replace('jira: "acc-cy"', f'jira: "{value}"')
    with pytest.raises(RegistryError) as caught:
        parse_registry(text)
    assert [i.path for i in caught.value.issues] == ["people.cy.jira"]
