"""`registry draft` against the sandbox's demo company, whose planted facts are the answers
(docs/sandbox.md): alex triages every SUP ticket, maria releases Awaiting approval, priya holds
Escalated, jira-automation assigns, people carry the same email in Jira and PagerDuty."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from accountability.config.errors import UsageError
from accountability.messages.draft_yaml import render_draft
from accountability.usecases.draft import (
    DraftRequest,
    DraftResult,
    build_draft,
    period_ending,
    write_new_file,
)
from rules.draft import NoDataError
from rules.registry import RegistryError, parse_registry
from sandbox import Sandbox, SandboxConfig, serve_sandbox
from tests.sync.conftest import clients

UNTIL = datetime(2026, 11, 23, tzinfo=UTC)  # the Monday after the demo's eight weeks
JIRA_AUTOMATION = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sandbox:
        yield sandbox


def draft_of(sb: Sandbox, request: DraftRequest) -> DraftResult:
    with clients(sb) as (jira, pd):
        return build_draft(request, jira, pd)


@pytest.fixture(scope="module")
def support(sb: Sandbox) -> DraftResult:
    request = DraftRequest("support", ("SUP",), "labels = ai-assisted", ("PSUP001",),
                           period_ending(UNTIL, 90))
    return draft_of(sb, request)


def fill_blanks(text: str) -> str:
    """What a person does with the draft: answer every TODO."""
    def answer(match: re.Match[str]) -> str:
        key = match.group(1)
        value = {"organization": "Acme", "leadership": "[maria]", "approves": "[maria]"}
        return f"{key}: {value.get(key, 'maria')}"
    return re.sub(r"(\w+): null  # TODO:.*", answer, text)


def test_stages_carry_the_planted_de_facto_owners(support: DraftResult) -> None:
    stages = {s.statuses: s for s in support.draft.stages}
    assert stages[("Triage",)].owner == "alex"
    assert "alex holds 100% of them" in stages[("Triage",)].evidence
    assert stages[("Escalated",)].owner == "priya"
    assert stages[("Open",)].owner is None  # jira-automation moves it on: nobody holds it
    done = next(s for s in support.draft.stages if s.terminal)
    assert set(done.statuses) == {"Done", "Closed"}
    assert any(s.pagerduty for s in support.draft.stages)


def test_awaiting_approval_is_the_decision_point_maria_releases(support: DraftResult) -> None:
    points = support.draft.decision_points
    assert [p.status for p in points] == ["Awaiting approval"]
    assert points[0].approver == "maria"


def test_people_automation_and_executors(support: DraftResult) -> None:
    people = {p.id: p for p in support.draft.people}
    assert people["alex"].email == "alex@acme.example"
    assert (people["alex"].jira, people["alex"].pagerduty) == ("5b10a2844c20165700ede24c",
                                                                "PALEX01")
    assert "matched by email" in people["alex"].evidence
    assert JIRA_AUTOMATION in {a.jira for a in support.draft.automation}
    assert JIRA_AUTOMATION not in {p.jira for p in people.values()}
    executors = [e.person for e in support.draft.executors]
    assert executors[0] == "alex"  # assigns every triaged ticket
    assert "dev" in executors  # the approver who reassigns now and then
    assert support.timezone == "America/New_York"


def test_draft_is_refused_until_filled_then_valid(support: DraftResult) -> None:
    text = render_draft(support, "2026-11-23")
    assert "# Triage: " in text and "alex holds 100%" in text  # evidence as comments
    with pytest.raises(RegistryError) as refused:
        parse_registry(text, "draft.yaml")
    paths = " ".join(issue.path for issue in refused.value.issues)
    assert "workflows.support.outcome.owner" in paths
    assert "workflows.support.risk_owner" in paths
    loaded = parse_registry(fill_blanks(text), "draft.yaml")
    workflow = loaded.registry.workflows["support"]
    assert workflow.decision_points[0].jira_statuses == ["Awaiting approval"]
    assert workflow.sources.jira is not None and workflow.sources.jira.jql == "labels = ai-assisted"


def test_no_data_in_the_period(sb: Sandbox) -> None:
    request = DraftRequest("support", ("SUP",), None, ("PSUP001",),
                           period_ending(datetime(2026, 6, 1, tzinfo=UTC), 90))
    with pytest.raises(NoDataError):
        draft_of(sb, request)


def test_a_project_that_does_not_exist(sb: Sandbox) -> None:
    request = DraftRequest("x", ("NOPE",), None, (), period_ending(UNTIL, 90))
    with pytest.raises(UsageError, match="NOPE"):
        draft_of(sb, request)


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "registry.yaml"
    target.write_text("mine\n", encoding="utf-8")
    with pytest.raises(UsageError, match="never overwrites"):
        write_new_file(target, "draft\n")
    assert target.read_text(encoding="utf-8") == "mine\n"
    fresh = write_new_file(tmp_path / "new" / "draft.yaml", "draft\n")
    assert fresh.stat().st_mode & 0o777 == 0o600
