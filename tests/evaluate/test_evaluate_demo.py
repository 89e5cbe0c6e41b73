"""Evaluation of the demo company, synced from the sandbox: the planted cases come out right."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accountability.config.registry_file import load_registry_file
from accountability.sources import jira as jira_sync
from accountability.sources import pagerduty as pd_sync
from accountability.usecases import evaluate
from rules.registry import LoadedRegistry
from sandbox import PlantedCase, SandboxConfig, build_world, serve_sandbox
from storage import evaluations as store
from storage.engine import make_engine, session_factory
from storage.migrate import upgrade
from storage.models import AlertOutbox, Finding, RiskReview, Scorecard
from tests.sync.conftest import clients

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # Saturday of W48: W47 is the last full week
START = datetime(2026, 9, 1, tzinfo=UTC)
PLANTED = build_world(SandboxConfig(seed=7, mode="demo")).planted


@pytest.fixture(scope="module")
def loaded() -> LoadedRegistry:
    return load_registry_file(ROOT / "examples" / "registry.yaml")


@pytest.fixture(scope="module")
def evaluated(
    tmp_path_factory: pytest.TempPathFactory, loaded: LoadedRegistry
) -> Iterator[tuple[sessionmaker[Session], evaluate.EvaluationReport]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('eval') / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = session_factory(engine)
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb, clients(sb) as (jira, pd):
        for partition in jira_sync.jira_partitions(loaded.registry):
            jira_sync.sync_jira_partition(factory, jira, partition, start=START, now=NOW)
        pd_sync.sync_pagerduty(factory, pd, pd_sync.pagerduty_services(loaded.registry),
                            start=START, now=NOW)
    report = evaluate.evaluate(factory, loaded, now=NOW, jira_browse_base="https://acme.example")
    yield factory, report
    engine.dispose()


def verdicts_of(factory: sessionmaker[Session], case: PlantedCase) -> list[Finding]:
    event = (f"jira:{case.history_id}:" if case.source == "jira"
             else f"pagerduty:{case.log_entry_id}")
    with factory() as session:  # as `findings --all` lists them (authorized ones re-judged)
        rows = [r for r in store.list_findings(session, include_authorized=True)
                if r.type in ("authorized_change", "unauthorized_change")]
    return [r for r in rows if str(r.details.get("event", "")).startswith(event)]


JUDGED = {name: case for name, case in PLANTED.items()
          if case.expected.startswith(("authorized", "unauthorized"))}


@pytest.mark.parametrize("name", sorted(JUDGED))
def test_planted_case_is_judged_as_the_spec_says(
    evaluated: tuple[sessionmaker[Session], evaluate.EvaluationReport], name: str
) -> None:
    factory, _ = evaluated
    case = JUDGED[name]
    found = verdicts_of(factory, case)
    assert found, f"no verdict for {case.item}"
    if case.expected.startswith("unauthorized"):
        assert all(f.type == "unauthorized_change" for f in found), [f.reason for f in found]
        assert all("without authority" in f.reason for f in found)
    else:
        rule = case.expected.split(":", 1)[1].split()[0].rstrip(";,")
        assert {(f.type, f.rule) for f in found} == {("authorized_change", rule)}, \
            [f.reason for f in found]


@pytest.mark.parametrize("name", ["not-ai-assisted", "pd-untracked-service"])
def test_items_outside_every_workflow_are_not_judged(
    evaluated: tuple[sessionmaker[Session], evaluate.EvaluationReport], name: str
) -> None:
    factory, _ = evaluated
    assert verdicts_of(factory, PLANTED[name]) == []


def test_churn_and_unowned_planted_cases_are_found(
    evaluated: tuple[sessionmaker[Session], evaluate.EvaluationReport],
) -> None:
    factory, _ = evaluated
    with factory() as session:
        kinds = {(f.type, f.item) for f in session.scalars(select(Finding))}
    assert ("ownership_churn", PLANTED["ownership-churn"].item) in kinds
    assert ("unowned_item", PLANTED["unowned-item"].item) in kinds
    assert ("registry_gap", None) in {(k, None) for k, _ in kinds if k == "registry_gap"}


def test_support_breaches_in_w46_and_a_risk_review_opens(
    evaluated: tuple[sessionmaker[Session], evaluate.EvaluationReport],
) -> None:
    """Figures re-derived independently by the sandbox's own oracle (docs/sandbox.md)."""
    factory, report = evaluated
    with factory() as session:
        score = session.get(Scorecard, ("support", "2026-W46"))
        review = session.get(RiskReview, "support-2026-W46")
        others = session.scalars(select(Scorecard).where(Scorecard.workflow == "support",
                                                         Scorecard.week != "2026-W46")).all()
    assert score is not None and review is not None
    assert (score.throughput, score.rework_volume, score.unauthorized_changes) == (13, 11, 6)
    assert score.exception_rate == pytest.approx(10 / 13)
    assert score.decision_latency_hours == pytest.approx(31, abs=0.5)
    assert set(score.breaches) >= {"throughput", "exception_rate", "rework_volume",
                                   "decision_latency_hours", "unauthorized_changes"}
    assert score.recommendation == "pause"  # 6 unauthorized with a limit of 0
    assert review.owner == "lee" and review.status == "open"
    assert "support-2026-W46" in report.reviews_opened
    recent = [s for s in others if s.week >= "2026-W40"]
    # the demo's other weeks, 2026-W40 to W47 (docs/sandbox.md), are all scored, none breached
    assert {s.week for s in recent} == {f"2026-W{n}" for n in range(40, 48)} - {"2026-W46"}
    assert all(not s.breaches for s in recent)


def test_unauthorized_changes_are_routed_to_the_outcome_owner(
    evaluated: tuple[sessionmaker[Session], evaluate.EvaluationReport],
) -> None:
    factory, _ = evaluated
    case = PLANTED["not-eligible"]
    (finding,) = verdicts_of(factory, case)
    with factory() as session:
        rows = session.scalars(select(AlertOutbox).where(
            AlertOutbox.subject_ref == finding.key)).all()
    emails = [r for r in rows if r.channel == "email"]
    roles = {(r.recipient, r.payload["role"]) for r in emails}
    assert roles == {("maria", "to"), ("dev", "cc")}  # informed (maria) is already the addressee
    # support's `alerts` block adds one Slack and one PagerDuty row (docs/alerts.md)
    assert {(r.channel, r.recipient) for r in rows if r.channel != "email"} == {
        ("slack", "webhook"), ("pagerduty", "events")}
    assert all(r.status == "pending" for r in rows)


def test_evaluating_again_adds_nothing(
    evaluated: tuple[sessionmaker[Session], evaluate.EvaluationReport], loaded: LoadedRegistry
) -> None:
    factory, _ = evaluated
    with factory() as session:
        before = (len(session.scalars(select(Finding.key)).all()),
                  len(session.scalars(select(AlertOutbox.id)).all()))
    again = evaluate.evaluate(factory, loaded, now=NOW, full=True)
    assert sum(again.new_findings.values()) == 0 and again.alerts == 0
    with factory() as session:
        after = (len(session.scalars(select(Finding.key)).all()),
                 len(session.scalars(select(AlertOutbox.id)).all()))
    assert after == before


def test_pagerduty_routing_and_order_come_out_right(
    evaluated: tuple[sessionmaker[Session], evaluate.EvaluationReport],
) -> None:
    """No integration, service or missing agent becomes an unauthorized change unless its
    policy is undeclared; the bot's same-second escalation is taken from kim (the API's order,
    not the ids')."""
    factory, _ = evaluated
    with factory() as session:
        rows = [r for r in store.list_findings(session, include_authorized=True)
                if r.type in ("authorized_change", "unauthorized_change")]
    routed = [r for r in rows if r.reason.startswith("PagerDuty (")]
    assert {r.reason.split(" ")[1] for r in routed} >= {"(integration", "(service", "(no"}
    assert all(r.type == "authorized_change" for r in routed
               if "PESC099" not in r.reason), [r.reason for r in routed]
    (bot,) = verdicts_of(factory, PLANTED["pd-triage-bot"])
    assert list(bot.from_ids) == ["kim"]
