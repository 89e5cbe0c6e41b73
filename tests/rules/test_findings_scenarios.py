"""Findings other than verdicts (SPEC §4): unowned items, churn, late risk reviews, registry
gaps. Expectations worked out by hand; registry in `authority_fixtures` (support: limits
24 hours and 3 changes; renewals: 4 hours and 2 changes; hal has no email).

T0 is Tuesday 2026-11-10 09:00 UTC = 10:00 Berlin.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from rules.authority import judge_items
from rules.facts import Finding, ItemHistory, OwnershipChange, ReviewState, stable_key
from rules.findings import (
    EPOCH,
    late_risk_reviews,
    ownership_churn,
    registry_gaps,
    unowned_items,
)
from tests.rules.authority_fixtures import (
    BERLIN,
    T0,
    berlin,
    change,
    incident,
    issue,
    j,
    p,
    pd_change,
    refs,
    registry,
    status,
)

H = timedelta(hours=1)
D = timedelta(days=1)


def keys(findings: list[Finding]) -> list[str]:
    return [f.key for f in findings]


def assert_serialisable(findings: list[Finding]) -> None:
    for finding in findings:
        json.dumps(finding.details)


# --- unowned items ------------------------------------------------------------------------


def test_created_without_owner_and_left_for_25_hours() -> None:
    item = issue(created=T0, status_now="Open")
    (finding,) = unowned_items(registry(), [item], T0 + 25 * H)
    assert finding.key == stable_key("unowned_item", "SUP-1", "2026-11-10T09:00:00Z")
    assert (finding.type, finding.workflow, finding.item) == ("unowned_item", "support", "SUP-1")
    assert finding.at == T0 + 24 * H  # the moment it went past the limit
    assert finding.reason == (
        "SUP-1 has had no owner for 25 hours (since 2026-11-10 10:00 Europe/Berlin) in stage "
        "'intake' of workflow 'support'; the limit is 24 hours."
    )
    assert finding.details["ended_at"] is None
    assert_serialisable([finding])


def test_not_yet_past_the_limit() -> None:
    item = issue(created=T0, status_now="Open")
    assert unowned_items(registry(), [item], T0 + 23 * H) == []
    assert unowned_items(registry(), [item], T0 + 24 * H) == []  # "longer than" the limit


def test_unassigned_and_still_unowned_names_who_unassigned_it() -> None:
    item = issue(change(j("ana"), (), refs("bo")), owners=refs("bo"))
    (finding,) = unowned_items(registry(), [item], T0 + 30 * H)
    assert finding.actor == "ana"
    assert finding.from_ids == ("bo",)
    assert (
        "no owner for 30 hours (since 2026-11-10 10:00 Europe/Berlin, when ana unassigned it"
        in (finding.reason)
    )
    assert "from bo) in stage 'work'" in finding.reason


def test_the_key_stays_while_the_period_runs_and_a_new_period_gets_a_new_key() -> None:
    first = issue(change(j("ana"), (), refs("bo")), owners=refs("bo"))
    again = issue(
        change(j("ana"), (), refs("bo"), ref="jira:1:0"),
        change(j("ana"), refs("cy"), ref="jira:2:0", at=T0 + 30 * H),
        change(j("ana"), (), refs("cy"), ref="jira:3:0", at=T0 + 40 * H),
        owners=refs("bo"),
    )
    early = unowned_items(registry(), [first], T0 + 25 * H)
    late = unowned_items(registry(), [first], T0 + 90 * H)
    assert keys(early) == keys(late)
    (later_period,) = unowned_items(registry(), [again], T0 + 90 * H)
    assert later_period.key == stable_key(
        "unowned_item", "SUP-1", "2026-11-12T01:00:00Z"
    )  # T0 + 40 h


def test_an_ended_period_is_reported_only_when_asked() -> None:
    item = issue(
        change(j("ana"), (), refs("bo"), ref="jira:1:0"),
        change(j("cy"), refs("bo"), ref="jira:2:0", at=T0 + 46 * H),
        owners=refs("bo"),
    )
    assert unowned_items(registry(), [item], T0 + 50 * H) == []
    (finding,) = unowned_items(registry(), [item], T0 + 50 * H, include_ended=True)
    assert finding.details["ended_at"] == "2026-11-12T07:00:00Z"
    assert finding.details["hours"] == 46
    assert (
        "SUP-1 had no owner for 46 hours (2026-11-10 10:00 to 2026-11-12 08:00 Europe/Berlin"
        in (finding.reason)
    )
    # An ongoing period and the same period once ended share one key: no duplicate.
    (ongoing,) = unowned_items(registry(), [item], T0 + 30 * H)
    assert ongoing.key == finding.key


def test_a_period_ended_by_closing_the_item_shows_the_stage_it_was_in() -> None:
    item = issue(
        change(j("ana"), (), refs("bo")),
        statuses=(status("Done", T0 + 30 * H, frm="In Progress"),),
        owners=refs("bo"),
    )
    assert unowned_items(registry(), [item], T0 + 50 * H) == []
    (finding,) = unowned_items(registry(), [item], T0 + 50 * H, include_ended=True)
    assert finding.details["stage"] == "work"
    assert "SUP-1 had no owner for 30 hours" in finding.reason


def test_events_after_now_are_ignored() -> None:
    item = issue(
        change(j("ana"), (), refs("bo"), ref="jira:1:0"),
        change(j("cy"), refs("bo"), ref="jira:2:0", at=T0 + 46 * H),
        owners=refs("bo"),
    )
    assert len(unowned_items(registry(), [item], T0 + 26 * H)) == 1


@pytest.mark.parametrize(
    "item",
    [
        issue(
            change(j("ana"), (), refs("bo")),
            statuses=(status("Done", T0 + H, frm="In Progress"),),
            owners=refs("bo"),
        ),
        issue(created=T0, status_now="Done"),
        incident(pd_change("pagerduty:PSUP001", (), kind="service")),
        issue(created=T0, status_now="Open", workflow=None),
        issue(created=T0 + 100 * H, status_now="Open"),  # created after now
    ],
    ids=["unassigned-then-done", "terminal", "pagerduty", "no-workflow", "future"],
)
def test_no_unowned_finding(item: ItemHistory) -> None:
    assert unowned_items(registry(), [item], T0 + 48 * H) == []


def test_a_status_unknown_to_the_registry_counts_as_not_terminal() -> None:
    item = issue(created=T0, status_now="Weird")
    (finding,) = unowned_items(registry(), [item], T0 + 25 * H)
    assert finding.details["stage"] == "unmapped"
    assert finding.details["status"] == "Weird"


def test_reopened_without_owner_counts_from_the_reopening() -> None:
    item = issue(
        created=T0 - 10 * D,
        statuses=(status("In Progress", T0, frm="Done"),),
    )
    (finding,) = unowned_items(registry(), [item], T0 + 25 * H)
    assert finding.details["unowned_since"] == "2026-11-10T09:00:00Z"
    assert finding.actor is None


def test_the_workflow_limit_applies() -> None:
    item = issue(created=T0, status_now="Outreach", workflow="renewals", key="REN-1")
    (finding,) = unowned_items(registry(), [item], T0 + 5 * H)
    assert finding.at == T0 + 4 * H
    assert finding.reason.endswith("the limit is 4 hours.")


# --- ownership churn ----------------------------------------------------------------------

MONDAY = berlin(2026, 10, 26, 11)


def churn_item(
    *days_and_owners: tuple[float, str],
    start: str = "bo",
    workflow: str = "support",
    key: str = "SUP-1",
) -> ItemHistory:
    owner, changes = start, []
    for index, (day, new) in enumerate(days_and_owners):
        at = MONDAY + timedelta(days=day)
        changes.append(change(j("ana"), refs(new), refs(owner), at=at, ref=f"jira:{index}:0"))
        owner = new
    return issue(*changes, owners=refs(start), workflow=workflow, key=key)


def test_four_changes_in_four_days_are_one_burst() -> None:
    item = churn_item((0, "cy"), (1, "eli"), (2.2, "cy"), (2.9, "bo"))
    (finding,) = ownership_churn(registry(), [item])
    assert finding.key == stable_key("ownership_churn", "SUP-1", "jira:0:0")
    assert finding.at == MONDAY + timedelta(days=2.2)  # the third change reached the limit
    assert finding.details["changes"] == 4
    assert finding.details["owners"] == ["bo", "cy", "eli", "cy", "bo"]
    assert "SUP-1's owner changed 4 times in 69.6 hours (2026-10-26 11:00 to 2026-10-29 08:36" in (
        finding.reason
    )
    assert "bo → cy → eli → cy → bo; workflow 'support' flags 3 changes within 7 days." in (
        finding.reason
    )
    assert (finding.from_ids, finding.to_ids) == (("bo",), ("bo",))
    assert_serialisable([finding])


def test_three_changes_over_more_than_seven_days_are_no_churn() -> None:
    assert ownership_churn(registry(), [churn_item((0, "cy"), (4, "eli"), (7.01, "bo"))]) == []


def test_three_changes_in_exactly_seven_days_are_churn() -> None:
    assert len(ownership_churn(registry(), [churn_item((0, "cy"), (4, "eli"), (7, "bo"))])) == 1


def test_two_separate_bursts_are_two_findings() -> None:
    item = churn_item((0, "cy"), (1, "eli"), (2, "bo"), (20, "cy"), (21, "eli"), (22, "bo"))
    assert keys(ownership_churn(registry(), [item])) == [
        stable_key("ownership_churn", "SUP-1", "jira:0:0"),
        stable_key("ownership_churn", "SUP-1", "jira:3:0"),
    ]


def test_a_growing_burst_keeps_its_key() -> None:
    short = churn_item((0, "cy"), (1, "eli"), (2, "bo"))
    longer = churn_item((0, "cy"), (1, "eli"), (2, "bo"), (3, "cy"), (4, "eli"))
    assert keys(ownership_churn(registry(), [short])) == keys(ownership_churn(registry(), [longer]))


def test_the_first_assignment_and_changes_to_the_same_owner_do_not_count() -> None:
    steps = [
        change(j("ana"), refs("bo"), at=MONDAY, ref="jira:0:0"),  # first owner
        change(j("ana"), refs("bo"), refs("bo"), at=MONDAY + H, ref="jira:1:0"),  # no change
        change(j("ana"), refs("cy"), refs("bo"), at=MONDAY + 2 * H, ref="jira:2:0"),
        change(j("ana"), refs("eli"), refs("cy"), at=MONDAY + 3 * H, ref="jira:3:0"),
    ]
    assert ownership_churn(registry(), [issue(*steps)]) == []
    third = change(j("ana"), refs("bo"), refs("eli"), at=MONDAY + 4 * H, ref="jira:4:0")
    (finding,) = ownership_churn(registry(), [issue(*steps, third)])
    assert finding.details["events"] == ["jira:2:0", "jira:3:0", "jira:4:0"]


def test_the_workflow_churn_limit_applies() -> None:
    item = churn_item((0, "gus"), (1, "hal"), start="fay", workflow="renewals", key="REN-1")
    (finding,) = ownership_churn(registry(), [item])
    assert finding.details["limit"] == 2


def test_incident_churn_counts_escalations_after_the_trigger_assignment() -> None:
    def step(i: int, agent: str, kind: str, to: str, frm: str | None) -> OwnershipChange:
        return pd_change(
            agent,
            refs(to, source="pd"),
            refs(frm, source="pd") if frm else (),
            kind=kind,
            at=T0 + i * 10 * timedelta(minutes=1),
            ref=f"pagerduty:L{i}",
        )

    item = incident(
        step(0, "pagerduty:PSUP001", "service", "bo", None),
        step(1, "pagerduty:PESC001", "escalation_policy", "dee", "bo"),
        step(2, p("dee"), "user", "eli", "dee"),
    )
    assert ownership_churn(registry(), [item]) == []
    more = replace(
        item,
        ownership_changes=(
            *item.ownership_changes,
            step(3, p("eli"), "user", "dee", "eli"),
        ),
    )
    (finding,) = ownership_churn(registry(), [more])
    assert finding.key == stable_key("ownership_churn", "PINC001", "pagerduty:L1")


# --- late risk reviews --------------------------------------------------------------------


def review(status: str = "open") -> ReviewState:
    return ReviewState(
        id="support-2026-W48",
        workflow="support",
        week="2026-W48",
        owner="dee",
        status=status,
        opened_at=berlin(2026, 11, 30, 8),
        due=date(2026, 12, 3),
        breaches=("throughput",),
    )


def test_a_review_is_late_after_the_end_of_its_due_day_in_the_registry_zone() -> None:
    assert late_risk_reviews([review()], berlin(2026, 12, 3, 23, 59), tz=BERLIN) == []
    (finding,) = late_risk_reviews([review()], berlin(2026, 12, 4, 0, 10), tz=BERLIN)
    assert finding.key == stable_key("late_risk_review", "support-2026-W48")
    assert finding.at == berlin(2026, 12, 4, 0)
    assert (finding.type, finding.workflow, finding.item) == ("late_risk_review", "support", None)
    assert finding.reason == (
        "Risk review support-2026-W48 of workflow 'support' (week 2026-W48, breaches: "
        "throughput) was due 2026-12-03 and dee, its risk owner, has not acknowledged it."
    )
    assert finding.details["review"] == "support-2026-W48"
    assert_serialisable([finding])


def test_the_zone_decides_when_the_due_day_ends() -> None:
    now = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)  # 00:30 on the 4th in Berlin
    assert late_risk_reviews([review()], now) == []  # UTC by default
    assert len(late_risk_reviews([review()], now, tz=BERLIN)) == 1


@pytest.mark.parametrize("state", ["acknowledged", "closed"])
def test_an_acknowledged_or_closed_review_is_not_late(state: str) -> None:
    assert late_risk_reviews([review(state)], berlin(2026, 12, 20, 9), tz=BERLIN) == []


# --- registry gaps ------------------------------------------------------------------------


def gap_items() -> list[ItemHistory]:
    return [
        issue(
            change("jira:5d9f", refs("cy"), refs("bo"), ref="jira:1:0"),
            change("jira:5d9f", ("jira:stranger",), refs("cy"), ref="jira:2:0", at=T0 + H),
            change("jira:unknown", refs("bo"), ("jira:stranger",), ref="jira:3:0", at=T0 + 2 * H),
            key="SUP-1",
            statuses=(status("Weird", T0 - H, frm="Open"),),
        ),
        issue(
            change("jira:5d9f", refs("hal"), refs("fay"), ref="jira:4:0", at=T0 + 3 * H),
            key="REN-1",
            workflow="renewals",
            status_now="Outreach",
        ),
        issue(key="SUP-2", status_now="Weird", created=T0 + D),
        issue(key="SUP-3", status_now="Awaiting approval"),
        incident(pd_change("pagerduty:PSUP001", refs("bo", source="pd"), kind="service")),
        issue(change("jira:elsewhere", refs("bo")), key="XYZ-1", workflow=None, status_now="?"),
    ]


def gaps(now: datetime | None = None) -> dict[str, Finding]:
    items = gap_items()
    found = registry_gaps(registry(), items, judge_items(registry(), items), now=now)
    assert_serialisable(found)
    return {
        str(f.details.get("ref") or f.details.get("status") or f.details["person"]): f
        for f in found
    }


def test_an_unmapped_actor_is_one_gap_saying_how_often() -> None:
    finding = gaps()["jira:5d9f"]
    assert finding.key == stable_key("registry_gap", "unmapped_identity", "jira:5d9f")
    assert finding.workflow is None  # seen in two workflows
    assert finding.at == T0
    assert finding.actor == "jira:5d9f"
    assert finding.details["changes"] == 3
    assert finding.details["unauthorized"] == 3
    assert finding.details["workflows"] == ["renewals", "support"]
    assert finding.details["items"] == ["REN-1", "SUP-1"]
    assert finding.reason == (
        "jira:5d9f is not in the registry but made 3 ownership changes (3 unauthorized) in "
        "workflows 'renewals', 'support' since 2026-11-10: add the person (or automation) with "
        'jira: "5d9f".'
    )


def test_an_unmapped_owner_is_a_gap_too() -> None:
    finding = gaps()["jira:stranger"]
    assert finding.details["as_owner"] == 1
    assert finding.details["changes"] == 0
    assert finding.workflow == "support"
    assert "was made owner 1 time in workflow 'support'" in finding.reason


def test_routing_agents_unknown_refs_and_untracked_items_are_no_gaps() -> None:
    found = gaps()
    assert "pagerduty:PSUP001" not in found
    assert "jira:unknown" not in found
    assert "jira:elsewhere" not in found


def test_a_status_without_stage_is_one_gap_per_workflow_and_status() -> None:
    found = gaps()
    weird = found["Weird"]
    assert weird.key == stable_key("registry_gap", "unknown_status", "support", "Weird")
    assert weird.workflow == "support"
    assert weird.details["item_count"] == 2
    assert weird.at == T0 - H
    assert "Jira status 'Weird' of workflow 'support' belongs to no stage: 2 items entered it" in (
        weird.reason
    )
    pending = found["Awaiting approval"]
    assert "(it is the decision point of 'policy-exception')" in pending.reason
    assert "?" not in found  # the untracked item's status


def test_a_person_without_email() -> None:
    finding = gaps(now=T0)["hal"]
    assert finding.key == stable_key("registry_gap", "person_without_email", "hal")
    assert finding.workflow == "renewals"
    assert finding.at == T0
    assert finding.details["roles"] == ["renewals: risk owner"]
    assert finding.reason == (
        "hal (Hal Roe) has no email: the alerts meant for them (renewals: risk owner) go to the "
        "workflow owner instead."
    )
    assert gaps()["hal"].at == EPOCH


def test_gaps_are_the_same_on_every_evaluation() -> None:
    assert [f.key for f in gaps().values()] == [f.key for f in gaps().values()]
    assert len(gaps()) == 5
