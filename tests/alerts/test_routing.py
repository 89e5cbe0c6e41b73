"""Routing (SPEC §6) as plain data: who gets what, on which channel, under which dedup key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules.facts import Finding
from rules.findings import registry_gaps
from rules.registry import Registry
from rules.routing import (
    could_authorize,
    late_review_alerts,
    reminder_due,
    review_closed_alerts,
    risk_review_alerts,
    risk_review_reminder_alerts,
    unauthorized_change_alerts,
)
from tests.alerts.conftest import NOW, load, registry_text, review, verdict


def channels(alerts: list) -> set[tuple[str, str, str | None]]:  # type: ignore[type-arg]
    return {(a.channel, a.recipient, a.payload.get("role")) for a in alerts}


def test_unauthorized_change_goes_to_outcome_owner_cc_workflow_owner_and_informed(
    registry: Registry,
) -> None:
    alerts = unauthorized_change_alerts(registry, verdict(1, workflow="renewals"))
    # renewals: outcome owner omar (also `informed`), workflow owner tomas; no extra channels
    assert channels(alerts) == {("email", "omar", "to"), ("email", "tomas", "cc")}
    assert {a.dedup_key for a in alerts} == {
        "unauthorized_change:unauthorized_change:0000000000000001:email:omar",
        "unauthorized_change:unauthorized_change:0000000000000001:email:tomas"}


def test_the_alerts_block_adds_slack_and_pagerduty_with_the_finding_key(
    registry: Registry,
) -> None:
    alerts = unauthorized_change_alerts(registry, verdict(7))
    assert channels(alerts) == {("email", "maria", "to"), ("email", "dev", "cc"),
                                ("slack", "webhook", None), ("pagerduty", "events", None)}
    pd = next(a for a in alerts if a.channel == "pagerduty")
    assert (pd.payload["pd_action"], pd.payload["pd_dedup_key"]) == (
        "trigger", "unauthorized_change:0000000000000007")
    assert not any(a.channel == "jira" for a in alerts)  # tickets are for risk reviews only
    # nothing secret is copied into a row: only the registry's reference stays in the registry
    assert "env:" not in repr([a.row() for a in alerts])


def test_risk_review_goes_to_outcome_and_risk_owner_with_a_ticket_for_the_risk_owner(
    registry: Registry,
) -> None:
    alerts = risk_review_alerts(registry, review())
    assert channels(alerts) == {("email", "lee", "to"), ("email", "maria", "to"),
                                ("slack", "webhook", None), ("pagerduty", "events", None),
                                ("jira", "lee", None)}
    pd = next(a for a in alerts if a.channel == "pagerduty")
    assert (pd.payload["pd_action"], pd.payload["pd_dedup_key"]) == ("trigger", "support-2026-W46")


def test_late_review_adds_leadership_and_closing_resolves_the_pagerduty_alert(
    registry: Registry,
) -> None:
    finding = Finding(key="late_risk_review:abc", type="late_risk_review", workflow="support",
                      item=None, at=NOW, reason="overdue")
    late = late_review_alerts(registry, finding, review())
    assert {(a.recipient, a.payload.get("role")) for a in late if a.channel == "email"} == {
        ("lee", "to"), ("maria", "to"), ("dana", "cc"), ("omar", "cc")}
    pd_late = next(a for a in late if a.channel == "pagerduty")
    assert pd_late.payload["pd_dedup_key"] == "support-2026-W46"  # appends to the review's alert
    closed = review_closed_alerts(registry, review(), "lee", "fixed")
    pd = next(a for a in closed if a.channel == "pagerduty")
    assert (pd.payload["pd_action"], pd.payload["pd_dedup_key"]) == ("resolve", "support-2026-W46")
    assert {a.kind for a in closed} == {"risk_review_closed"}


def test_a_person_without_email_is_replaced_by_the_workflow_owner_with_a_note() -> None:
    loaded = load(registry_text(lee_email=False))
    alerts = risk_review_alerts(loaded.registry, review())
    emails = [a for a in alerts if a.channel == "email"]
    assert {a.recipient for a in emails} == {"maria", "dev"}
    note = next(a.payload["note"] for a in emails if a.recipient == "dev")
    assert "lee has no e-mail address" in note and "dev" in note
    jira = next(a for a in alerts if a.channel == "jira")
    assert jira.recipient == "lee"  # the ticket goes to the risk owner's Jira account
    gaps = registry_gaps(loaded.registry, [], [], now=NOW)
    assert any("lee" in g.reason and "email" in g.reason for g in gaps)


def test_could_authorize_lists_approvers_and_delegations_in_force(registry: Registry) -> None:
    inside = datetime(2026, 11, 5, 10, tzinfo=UTC)
    assert could_authorize(registry, "support", "reassignment", "resolution", inside) == (
        ["dev", "priya"], [{"grantee": "jordan", "grantor": "priya", "ends": "2026-11-13"}])
    after = datetime(2026, 11, 13, 23, 30, tzinfo=UTC)  # 2026-11-14 in Berlin
    assert could_authorize(registry, "support", "reassignment", "resolution", after)[1] == []
    assert could_authorize(registry, "support", "nope", None, inside) == ([], [])


@pytest.mark.parametrize(
    ("hours_open", "last_hours", "expected"),
    [(23, None, None), (24, None, 1), (30, None, 1), (30, 24, None), (49, 24.5, 2),
     (100, None, 4), (100, 96, None)],
    ids=["too-early", "first", "first-late", "already-sent", "second", "after-pause",
         "after-pause-sent"],
)
def test_reminder_number_comes_from_the_clock(
    hours_open: float, last_hours: float | None, expected: int | None
) -> None:
    opened = NOW
    last = opened + timedelta(hours=last_hours) if last_hours is not None else None
    assert reminder_due(opened, last, 24, opened + timedelta(hours=hours_open)) == expected


def test_reminder_dedup_key_carries_its_number(registry: Registry) -> None:
    alerts = risk_review_reminder_alerts(registry, review(), 3)
    assert {a.dedup_key for a in alerts} == {
        "risk_review_reminder:support-2026-W46:3:email:lee",
        "risk_review_reminder:support-2026-W46:3:email:maria"}
    assert {a.channel for a in alerts} == {"email"} and all(
        a.subject_ref == "support-2026-W46" for a in alerts)
