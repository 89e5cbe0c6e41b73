"""The draft file: blanks refused by validation, hostile source text kept as plain values."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from accountability.messages.draft_yaml import TODO, render_draft
from accountability.usecases.draft import DraftRequest, DraftResult
from rules.draft import Account, IssueHistory, Period, StatusChange, draft_workflow
from rules.registry import RegistryError, parse_registry

SINCE = datetime(2026, 1, 5, tzinfo=UTC)
PERIOD = Period(SINCE, SINCE + timedelta(days=30))
HOSTILE = 'Wait: "me" # not a comment\nworkflows: {}'
ANA = Account("jira:a1", 'Ana "#1"\nLopez', "ana@acme.example")
BEN = Account("jira:b2", "Ben", "ben@acme.example")


def result() -> DraftResult:
    issues = [IssueHistory(
        f"X-{n}", SINCE + timedelta(days=n), "Doing", ANA.ref,
        (StatusChange(SINCE + timedelta(days=n, hours=2), ANA.ref, HOSTILE),
         StatusChange(SINCE + timedelta(days=n, hours=9), BEN.ref, "Done")))
        for n in range(5)]
    request = DraftRequest("x_flow", ("X",), 'labels = "ai"', (), PERIOD)
    return DraftResult(request, draft_workflow(issues, [], [ANA, BEN], PERIOD), None, 0, ())


def fill(text: str) -> str:
    lists = {"leadership", "approves"}
    return re.sub(r"(\w+): null  # TODO:.*",
                  lambda m: f"{m.group(1)}: {'[ana]' if m.group(1) in lists else 'ana'}", text)


def test_blanks_are_refused_then_hostile_text_round_trips() -> None:
    text = render_draft(result(), "2026-02-04")
    assert text.count(TODO) == 6  # organization, leadership, outcome, workflow, risk, approvers
    with pytest.raises(RegistryError) as refused:
        parse_registry(text)
    assert len(refused.value.issues) >= 6
    loaded = parse_registry(fill(text))
    workflow = loaded.registry.workflows["x_flow"]
    assert workflow.decision_points[0].jira_statuses == [HOSTILE]  # ben released it: a wait
    assert loaded.registry.people["ana"].name == 'Ana "#1"\nLopez'
    assert workflow.sources.jira is not None and workflow.sources.jira.jql == 'labels = "ai"'
    assert all(not line.startswith("workflows: {}") for line in text.splitlines())
