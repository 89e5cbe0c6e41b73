"""`rules.draft` on generated histories whose right answers are planted by construction."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from rules.draft import (
    Account,
    AssigneeChange,
    IncidentEvent,
    IncidentHistory,
    IssueHistory,
    NoDataError,
    Period,
    StatusChange,
    draft_workflow,
)

SINCE = datetime(2026, 8, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=90)
PERIOD = Period(SINCE, UNTIL)

ANA = Account("jira:a-ana", "Ana Lopez", "ana@acme.example")
BEN = Account("jira:a-ben", "Ben Okafor", "ben@acme.example")
CAL = Account("jira:a-cal", "Cal Weiss", "cal@acme.example")
BOSS = Account("jira:a-boss", "Bo Stein", "bo@acme.example")
BOT = Account("jira:app-bot", "Automation for Jira", None, human=False)
ANA_PD = Account("pagerduty:PANA", "Ana L.", "ANA@acme.example")
DEV_PD = Account("pagerduty:PDEV", "Dev Patel", "dev@acme.example")
SERVICE = Account("pagerduty:PSVC", "Support service", None, human=False)
ACCOUNTS = [ANA, BEN, CAL, BOSS, BOT, ANA_PD, DEV_PD, SERVICE]


def planted_issue(n: int, rng: random.Random) -> IssueHistory:
    """Open (unassigned, 1 h) → bot: Triage + ana (2 h) → ana: In Progress + ben or cal
    (ben 3 of 4 items, 10 h) → assignee parks it in Review (boss releases it, 20 h) → Done.

    Planted: Triage owned by ana (100 %), In Progress by ben (~75 %), Review a decision point
    released by boss, the bot as automation, ana as the main executor."""
    t0 = SINCE + timedelta(days=1 + n % 80, minutes=rng.randrange(600))
    worker = BEN.ref if n % 4 else CAL.ref
    t1, t2 = t0 + timedelta(hours=1), t0 + timedelta(hours=3)
    t3, t4 = t2 + timedelta(hours=10), t2 + timedelta(hours=30)
    return IssueHistory(
        key=f"SUP-{n}", created=t0, first_status="Open", first_assignee=None,
        status_changes=(StatusChange(t1, BOT.ref, "Triage"),
                        StatusChange(t2, ANA.ref, "In Progress"),
                        StatusChange(t3, worker, "Review"),
                        StatusChange(t4, BOSS.ref, "Done")),
        assignee_changes=(AssigneeChange(t1, BOT.ref, ANA.ref),
                          AssigneeChange(t2, ANA.ref, worker)),
    )


def planted_incident(n: int) -> IncidentHistory:
    t0 = SINCE + timedelta(days=2 + n)
    return IncidentHistory(
        f"PINC{n}", t0, "PESC1",
        (IncidentEvent(t0, SERVICE.ref, "assign_log_entry", (ANA_PD.ref,)),
         IncidentEvent(t0 + timedelta(hours=1), ANA_PD.ref, "reassign_log_entry", (DEV_PD.ref,)),
         IncidentEvent(t0 + timedelta(hours=5), DEV_PD.ref, "resolve_log_entry")),
    )


@pytest.fixture(scope="module")
def draft():  # type: ignore[no-untyped-def]
    rng = random.Random(3)
    issues = [planted_issue(n, rng) for n in range(200)]
    incidents = [planted_incident(n) for n in range(12)]
    return draft_workflow(issues, incidents, ACCOUNTS, PERIOD)


def test_stages_follow_the_planted_owners(draft) -> None:  # type: ignore[no-untyped-def]
    stages = {s.statuses: s for s in draft.stages}
    assert [s.statuses for s in draft.stages] == [
        ("Open",), ("Triage",), ("In Progress", "Review"), (), ("Done",)
    ]  # Review is held by the same worker: one stage with In Progress
    assert stages[("Open",)].owner is None  # unassigned: a blank, not a guess
    assert stages[("Triage",)].owner == "ana"
    assert "100%" in stages[("Triage",)].evidence
    progress = next(s for s in draft.stages if "In Progress" in s.statuses)
    assert progress.owner == "ben"
    assert "In Progress: 200 items, 2000.0 item-hours, ben holds 75%" in progress.evidence
    assert stages[("Done",)].terminal and stages[("Done",)].owner is None
    incident = next(s for s in draft.stages if s.pagerduty)
    assert incident.owner == "dev"  # 4 of 5 hours per incident
    assert "80%" in incident.evidence


def test_review_is_the_decision_point_released_by_the_boss(draft) -> None:  # type: ignore[no-untyped-def]
    assert [p.status for p in draft.decision_points] == ["Review"]
    point = draft.decision_points[0]
    assert point.approver == "bo"
    assert point.waiting_hours == pytest.approx(200 * 20)
    assert "200 of 200 exits" in point.evidence and "median wait 20.0 h" in point.evidence


def test_people_matched_across_sources_by_email(draft) -> None:  # type: ignore[no-untyped-def]
    people = {p.id: p for p in draft.people}
    assert set(people) == {"ana", "ben", "cal", "bo", "dev"}
    assert (people["ana"].jira, people["ana"].pagerduty) == ("a-ana", "PANA")
    assert "matched by email" in people["ana"].evidence
    assert people["dev"].jira is None and people["dev"].pagerduty == "PDEV"


def test_executors_and_automation(draft) -> None:  # type: ignore[no-untyped-def]
    executors = {e.person: e for e in draft.executors}
    assert executors["ana"].changes == 200 + 12
    assert "ben" not in executors and "bo" not in executors
    assert {(a.jira, a.pagerduty) for a in draft.automation} == {("app-bot", None),
                                                                   (None, "PSVC")}
    bot = next(a for a in draft.automation if a.jira == "app-bot")
    assert bot.changes == 200
    assert draft.escalation_policies == ("PESC1",)
    assert (draft.issues, draft.incidents) == (200, 12)


def test_hours_are_clipped_to_the_period() -> None:
    """An item in Triage from 10 days before the period to 2 days into it counts 48 h."""
    created = SINCE - timedelta(days=10)
    issue = IssueHistory("X-1", created, "Triage", ANA.ref,
                         (StatusChange(SINCE + timedelta(days=2), ANA.ref, "Done"),))
    draft = draft_workflow([issue], [], [ANA], PERIOD)
    triage = next(s for s in draft.stages if s.statuses == ("Triage",))
    assert "48.0 item-hours, ana holds 100%" in triage.evidence


def test_no_data_in_the_period_is_refused() -> None:
    later = IssueHistory("X-2", UNTIL + timedelta(days=1), "Open", None)
    with pytest.raises(NoDataError, match="no Jira issue and no PagerDuty incident"):
        draft_workflow([later], [], [ANA], PERIOD)


def test_owner_is_the_largest_share_not_the_most_items() -> None:
    """Cal holds 9 items for 1 h each, Ben one item for 50 h: Ben is the de-facto owner."""
    issues = [IssueHistory(f"Y-{n}", SINCE + timedelta(days=n), "Doing", CAL.ref,
                           (StatusChange(SINCE + timedelta(days=n, hours=1), CAL.ref, "Done"),))
              for n in range(9)]
    issues.append(IssueHistory("Y-9", SINCE, "Doing", BEN.ref,
                               (StatusChange(SINCE + timedelta(hours=50), BEN.ref, "Done"),)))
    draft = draft_workflow(issues, [], [BEN, CAL], PERIOD)
    doing = next(s for s in draft.stages if s.statuses == ("Doing",))
    assert doing.owner == "ben"
    assert "ben holds 85%" in doing.evidence
    assert draft.decision_points == ()  # every exit was by the assignee
