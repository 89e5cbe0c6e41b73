"""Authority (SPEC §4): a labelled scenario suite.

Each scenario is one item with one or two ownership changes, judged against the registry of
`authority_fixtures` (read its docstring for who holds what). The expectations (rule and
reason fragments) were worked out by hand from the SPEC, not copied from the code's output.
Unless a scenario says otherwise the change happens at T0 = Tuesday 2026-11-10 10:00 Berlin
on SUP-1, which is In Progress (stage `work`: owner cy, eligible cy, bo, eli).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from rules.authority import Judge, judge_item, judge_items
from rules.facts import ItemHistory, Verdict
from rules.identity import IdentityResolver
from tests.rules.authority_fixtures import (
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


@dataclass(frozen=True)
class Expect:
    rule: str | None  # None: unauthorized
    fragments: tuple[str, ...] = ()
    stage: str | None = None
    decision: str | None = None


@dataclass(frozen=True)
class Scenario:
    id: str
    item: ItemHistory
    expected: tuple[Expect, ...]


def unauthorized(*fragments: str, stage: str | None = None, decision: str | None = None) -> Expect:
    return Expect(None, fragments, stage, decision)


def by(rule: str, *fragments: str, stage: str | None = None, decision: str | None = None) -> Expect:
    return Expect(rule, fragments, stage, decision)


def one(item: ItemHistory, *expected: Expect, id: str) -> Scenario:
    return Scenario(id, item, expected)


ELI_DAY = berlin(2026, 11, 5, 10, 30)  # inside eli's delegation (2026-11-02 … 11-13)

SCENARIOS = [
    # -- rule 1: approver ----------------------------------------------------------------------
    one(
        issue(change(j("ana"), refs("gus"), refs("bo"))),
        by(
            "approver",
            "ana reassigned SUP-1 from bo to gus in stage 'work', authorized: ana approves "
            "'reassignment'.",
            stage="work",
            decision="reassignment",
        ),
        id="approver-named",
    ),
    one(
        issue(change(j("cy"), refs("gus"), refs("bo"))),
        by("approver", "cy approves 'reassignment' as owner of stage 'work'"),
        id="approver-as-stage-owner",
    ),
    one(
        issue(change(j("cy"), refs("gus"), refs("bo")), status_now="Open"),
        unauthorized(
            "in stage 'intake' without authority",
            "cy does not approve 'reassignment' (approvers: ana, bo)",
            "cy executes 'reassignment', but new owner 'gus' is not eligible for stage 'intake' "
            "(eligible: bo)",
            stage="intake",
        ),
        id="stage-owner-of-another-stage-is-no-approver",
    ),
    one(
        issue(change(j("dee"), refs("gus"), refs("cy")), status_now="Review"),
        by("approver", "dee approves 'reassignment' as owner of stage 'review'", stage="review"),
        id="stage-owner-through-a-group",
    ),
    one(
        issue(
            change(j("cy"), refs("gus"), refs("bo"), at=T0 + timedelta(milliseconds=100)),
            statuses=(status("In Progress", T0 + timedelta(milliseconds=900), frm="Open"),),
        ),
        by("approver", "as owner of stage 'work'", stage="work"),
        id="status-change-later-in-the-same-second-applies-first",
    ),
    one(
        issue(
            change(j("cy"), refs("gus"), refs("bo")),
            statuses=(status("In Progress", T0 + timedelta(seconds=1), frm="Open"),),
        ),
        unauthorized("cy does not approve 'reassignment' (approvers: ana, bo)", stage="intake"),
        id="status-change-a-second-later-does-not",
    ),
    one(
        issue(
            change(j("cy"), refs("gus"), refs("bo"), ref="jira:7:1"),
            statuses=(status("In Progress", T0, frm="Open", ref="jira:7:0"),),
        ),
        by("approver", stage="work"),
        id="status-and-assignee-in-one-jira-history",
    ),
    one(
        issue(
            change(j("dee"), refs("gus"), refs("cy"), ref="jira:1:0"),
            change(j("cy"), refs("gus"), refs("bo"), at=T0 + timedelta(hours=2), ref="jira:2:0"),
            statuses=(
                status("In Progress", T0 - timedelta(hours=1), frm="Open", ref="jira:0:0"),
                status("Review", T0 + timedelta(hours=1), frm="In Progress", ref="jira:1:5"),
            ),
        ),
        unauthorized(
            "dee does not approve 'reassignment' (approvers: ana, cy)",
            "dee does not execute 'reassignment' (executors: bo, cy)",
            stage="work",
        ),
        unauthorized(
            "cy does not approve 'reassignment' (approvers: ana, dee)",
            "but new owner 'gus' is not eligible for stage 'review' (eligible: dee)",
            stage="review",
        ),
        id="stage-owner-resolved-at-each-change-not-now",
    ),
    one(
        issue(change(j("cy"), refs("eli"), refs("bo"))),
        by("approver", "cy approves"),
        id="rule-order-approver-who-also-executes",
    ),
    # -- rule 2: delegation --------------------------------------------------------------------
    one(
        issue(change(j("eli"), refs("gus"), refs("bo"), at=ELI_DAY)),
        by(
            "delegation",
            "eli holds ana's delegation of 'reassignment' (2026-11-02 to 2026-11-13), in force "
            "on 2026-11-05 (Ana on leave)",
        ),
        id="delegation-in-force",
    ),
    one(
        issue(change(j("eli"), refs("gus"), refs("bo"), at=berlin(2026, 11, 2, 0, 10))),
        by("delegation", "in force on 2026-11-02"),
        id="delegation-first-day-00:10-berlin-still-the-1st-in-utc",
    ),
    one(
        issue(change(j("eli"), refs("gus"), refs("bo"), at=berlin(2026, 11, 1, 23, 50))),
        unauthorized(
            "no delegation to eli is in force on 2026-11-01 (their delegation of 'reassignment' "
            "covers 2026-11-02 to 2026-11-13)"
        ),
        id="delegation-the-evening-before",
    ),
    one(
        issue(change(j("eli"), refs("gus"), refs("bo"), at=berlin(2026, 11, 13, 23, 50))),
        by("delegation", "in force on 2026-11-13"),
        id="delegation-last-day-23:50-berlin",
    ),
    one(
        issue(change(j("eli"), refs("gus"), refs("bo"), at=berlin(2026, 11, 14, 0, 20))),
        unauthorized("no delegation to eli is in force on 2026-11-14"),
        id="delegation-00:20-berlin-on-the-14th-is-the-13th-in-utc",
    ),
    one(
        issue(change(j("eli"), refs("gus"), refs("bo"), at=datetime(2026, 11, 14, 10, tzinfo=UTC))),
        unauthorized("no delegation to eli is in force on 2026-11-14"),
        id="delegation-the-day-after",
    ),
    one(
        issue(change(j("fay"), refs("gus"), refs("bo"), at=berlin(2026, 10, 25, 23, 30))),
        by("delegation", "fay holds ana's delegation", "in force on 2026-10-25"),
        id="dst-last-day-after-the-change-to-winter-time",
    ),
    one(
        issue(change(j("fay"), refs("gus"), refs("bo"), at=berlin(2026, 10, 26, 0, 30))),
        unauthorized("no delegation to fay is in force on 2026-10-26"),
        id="dst-00:30-the-next-day-is-still-the-25th-in-utc",
    ),
    one(
        issue(change(j("fay"), refs("gus"), refs("bo"), at=berlin(2026, 10, 20, 0, 30))),
        by("delegation", "in force on 2026-10-20"),
        id="dst-first-day-in-summer-time-the-19th-in-utc",
    ),
    one(
        issue(change(j("gus"), refs("cy"), refs("bo"), at=ELI_DAY)),
        unauthorized(
            "no delegation to gus is in force on 2026-11-05; gus does not execute 'reassignment'"
        ),
        id="delegations-of-another-decision-or-workflow-do-not-count",
    ),
    one(
        issue(
            change(j("gus"), refs("hal"), refs("fay"), at=ELI_DAY),
            workflow="renewals",
            key="REN-1",
            status_now="Outreach",
        ),
        by("delegation", "gus holds fay's delegation of 'reassignment' (2026-11-01 to 2026-11-30)"),
        id="delegation-counts-in-its-own-workflow",
    ),
    one(
        incident(
            pd_change(
                p("bo"),
                refs("ana", source="pd"),
                refs("dee", source="pd"),
                at=berlin(2026, 12, 1, 10),
            )
        ),
        by(
            "delegation",
            "bo holds dee's delegation of 'incident-escalation' (2026-12-01 to 2026-12-02)",
            decision="incident-escalation",
        ),
        id="delegation-to-a-group-covers-its-members",
    ),
    # -- rule 3: declared path -----------------------------------------------------------------
    one(
        issue(change(j("bo"), refs("eli"), refs("cy"))),
        by(
            "declared-path",
            "bo reassigned SUP-1 from cy to eli in stage 'work', authorized: bo executes "
            "'reassignment' as a member of 'oncall' and new owner 'eli' is eligible for stage "
            "'work'.",
        ),
        id="declared-path-executes-through-a-group",
    ),
    one(
        issue(change(j("cy"), refs("bo"), refs("gus")), status_now="Open"),
        by("declared-path", "new owner 'bo' is eligible for stage 'intake'", stage="intake"),
        id="declared-path-to-the-stage-owner",
    ),
    one(
        issue(change(j("bo"), refs("gus"), refs("cy"))),
        unauthorized(
            "bo reassigned SUP-1 from cy to gus in stage 'work' without authority: bo does not "
            "approve 'reassignment' (approvers: ana, cy); no delegation to bo is in force on "
            "2026-11-10; bo executes 'reassignment', but new owner 'gus' is not eligible for "
            "stage 'work' (eligible: cy, bo, eli); bo is not a declared automation."
        ),
        id="reason-names-each-failed-rule",
    ),
    one(
        issue(change(j("fay"), refs("cy"), refs("bo"))),
        unauthorized(
            "fay does not approve 'reassignment' (approvers: ana, cy)",
            "(their delegation of 'reassignment' covers 2026-10-20 to 2026-10-25)",
            "fay does not execute 'reassignment' (executors: bo, cy)",
        ),
        id="recommends-grants-no-authority",
    ),
    one(
        issue(change(j("bo"), ("jira:stranger",), refs("cy"))),
        unauthorized("new owner 'jira:stranger' is not eligible for stage 'work'"),
        id="new-owner-unknown-to-the-registry",
    ),
    # -- unassignment: rules 1, 2 and 4 only ---------------------------------------------------
    one(
        issue(change(j("ana"), (), refs("bo"))),
        by(
            "approver",
            "ana unassigned SUP-1 from bo in stage 'work', authorized: ana approves "
            "'reassignment'.",
        ),
        id="unassign-by-an-approver",
    ),
    one(
        issue(change(j("bo"), (), refs("cy"))),
        unauthorized(
            "bo unassigned SUP-1 from cy",
            "bo executes 'reassignment', but an unassignment leaves nobody, and nobody is never "
            "an eligible owner",
        ),
        id="unassign-by-an-executor-is-unauthorized",
    ),
    one(
        issue(change(j("eli"), (), refs("cy"), at=ELI_DAY)),
        by("delegation"),
        id="unassign-by-a-delegate",
    ),
    one(
        issue(change(j("bot"), (), refs("cy"))),
        by("automation"),
        id="unassign-by-an-automation",
    ),
    # -- rule 4: automation --------------------------------------------------------------------
    one(
        issue(change(j("bot"), refs("gus"), refs("bo"))),
        by(
            "automation",
            "jira-bot reassigned SUP-1 from bo to gus in stage 'work', authorized: jira-bot is a "
            "declared automation that may decide 'reassignment'.",
        ),
        id="automation-may-decide",
    ),
    one(
        issue(change(j("label"), refs("gus"), refs("bo"))),
        unauthorized(
            "label-bot does not approve 'reassignment'",
            "label-bot is a declared automation but may not decide 'reassignment' (it may: "
            "policy-exception)",
        ),
        id="automation-may-not-decide-this",
    ),
    # -- PagerDuty -----------------------------------------------------------------------------
    one(
        incident(
            pd_change(
                "pagerduty:PESC001",
                refs("dee", source="pd"),
                refs("bo", source="pd"),
                kind="escalation_policy",
                event="escalate_log_entry",
            )
        ),
        by(
            "automation",
            "PagerDuty (escalation policy PESC001) escalated PINC001 from bo to dee in stage "
            "'exception', authorized: PagerDuty routed it by escalation policy PESC001, which "
            "workflow 'support' declares.",
            stage="exception",
            decision="incident-escalation",
        ),
        id="pd-timeout-escalation-by-a-declared-policy",
    ),
    one(
        incident(
            pd_change(
                "pagerduty:PESC099",
                refs("dee", source="pd"),
                refs("bo", source="pd"),
                kind="escalation_policy",
                event="escalate_log_entry",
            ),
            policy="PESC099",
        ),
        unauthorized(
            "PagerDuty (escalation policy PESC099) escalated PINC001 from bo to dee in stage "
            "'exception' without authority: work routed by escalation policy PESC099, which "
            "workflow 'support' does not declare (declared: PESC001)."
        ),
        id="pd-timeout-escalation-by-an-undeclared-policy",
    ),
    one(
        incident(pd_change("pagerduty:PSUP001", refs("cy", source="pd"), kind="service")),
        by("automation", "PagerDuty (service PSUP001) assigned PINC001 to cy in stage 'exception'"),
        id="pd-assignment-at-trigger-on-a-declared-policy",
    ),
    one(
        incident(
            pd_change("pagerduty:PSUP001", refs("cy", source="pd"), kind="service"), policy=None
        ),
        unauthorized("the incident names no escalation policy"),
        id="pd-routing-on-an-incident-without-policy",
    ),
    one(
        incident(
            pd_change("pagerduty:PINT001", refs("fay", source="pd"), kind="integration"),
            workflow="renewals",
            service="PREN001",
        ),
        unauthorized(
            "work routed by escalation policy PESC001, which workflow 'renewals' does not "
            "declare (declared: none)",
            stage="escalated",
            decision="reassignment",
        ),
        id="pd-routing-by-a-policy-another-workflow-declares",
    ),
    one(
        incident(pd_change(p("dee"), refs("cy", source="pd"), refs("bo", source="pd"))),
        by(
            "approver",
            "dee reassigned PINC001 from bo to cy in stage 'exception', authorized: dee approves "
            "'incident-escalation'.",
            decision="incident-escalation",
        ),
        id="pd-user-reassign-by-an-approver",
    ),
    one(
        incident(pd_change(p("bo"), refs("dee", "eli", source="pd"), refs("cy", source="pd"))),
        by("declared-path", "new owners 'dee', 'eli' are eligible for stage 'exception'"),
        id="pd-several-new-assignees-all-eligible",
    ),
    one(
        incident(pd_change(p("bo"), refs("dee", "cy", source="pd"), refs("eli", source="pd"))),
        unauthorized(
            "bo reassigned PINC001 from eli to dee and cy",
            "bo executes 'incident-escalation', but new owner 'cy' is not eligible for stage "
            "'exception' (eligible: dee, eli)",
        ),
        id="pd-several-new-assignees-one-not-eligible",
    ),
    one(
        incident(
            pd_change(
                "pagerduty:PBOT001",
                refs("dee", source="pd"),
                refs("bo", source="pd"),
                event="escalate_log_entry",
            )
        ),
        by("automation", "pd-bot is a declared automation that may decide 'incident-escalation'"),
        id="pd-bot-user-may-escalate",
    ),
    one(
        incident(
            pd_change(p("fay"), refs("eli", source="pd"), refs("fay", source="pd")),
            workflow="renewals",
            service="PREN001",
        ),
        by("approver", "fay approves 'reassignment'", stage="escalated", decision="reassignment"),
        id="pd-falls-back-to-reassignment",
    ),
    # -- who acted -----------------------------------------------------------------------------
    one(
        issue(change("jira:5d9f", refs("cy"), refs("bo"))),
        unauthorized(
            "jira:5d9f reassigned SUP-1 from bo to cy in stage 'work' without authority: unknown "
            "actor jira:5d9f (no person or automation in the registry has this Jira account)."
        ),
        id="unknown-jira-actor",
    ),
    one(
        issue(change("jira:unknown", refs("cy"), refs("bo"))),
        unauthorized("unknown actor jira:unknown (the change does not name who made it)"),
        id="change-without-an-author",
    ),
    one(
        incident(pd_change("pagerduty:PZZZ999", refs("dee", source="pd"), refs("bo", source="pd"))),
        unauthorized("unknown actor pagerduty:PZZZ999"),
        id="unknown-pagerduty-user",
    ),
    one(
        issue(change(j("bo"), refs("bo"), refs("cy"))),
        by("declared-path", "bo reassigned SUP-1 from cy to bo"),
        id="self-assignment-on-the-declared-path",
    ),
    one(
        issue(change(j("gus"), refs("gus"), refs("cy"))),
        unauthorized("gus does not execute 'reassignment'"),
        id="self-assignment-without-rights",
    ),
    # -- stages and decisions the registry does not know ---------------------------------------
    one(
        issue(
            change(j("ana"), refs("cy"), refs("bo"), ref="jira:1:0"),
            change(j("bo"), refs("cy"), refs("bo"), ref="jira:2:0", at=T0 + timedelta(hours=1)),
            status_now="Weird",
        ),
        by(
            "approver",
            "in stage 'unmapped' (Jira status 'Weird' belongs to no stage of workflow 'support')",
            stage="unmapped",
        ),
        unauthorized(
            "bo does not approve 'reassignment' (approvers: ana)",
            "new owner 'cy' is not eligible for stage 'unmapped' (eligible: nobody)",
            stage="unmapped",
        ),
        id="status-unknown-to-the-registry",
    ),
    one(
        issue(change(j("cy"), refs("bo"), refs("gus")), status_now="Awaiting approval"),
        unauthorized("cy does not approve 'reassignment' (approvers: ana)", stage="unmapped"),
        id="decision-point-status-belongs-to-no-stage",
    ),
    one(
        issue(
            change(j("bo"), refs("cy"), refs("bo"), ref="jira:1:0"),
            change(j("bot"), refs("bo"), refs("cy"), ref="jira:2:0", at=T0 + timedelta(hours=1)),
            workflow="ops",
            key="OPS-1",
            status_now="Open",
        ),
        unauthorized(
            "workflow 'ops' declares no decision 'reassignment', so nobody approves or executes it",
            stage="triage",
        ),
        # SPEC §4 rule 4 as written: the bot's `may` lists the decision.
        by("automation", "jira-bot is a declared automation that may decide 'reassignment'"),
        id="workflow-without-a-reassignment-decision",
    ),
]


def test_the_suite_is_big_enough() -> None:
    assert len(SCENARIOS) >= 30
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_scenario(scenario: Scenario) -> None:
    verdicts = judge_item(registry(), scenario.item)
    assert len(verdicts) == len(scenario.expected)
    for verdict, expected in zip(verdicts, scenario.expected, strict=True):
        assert (verdict.authorized, verdict.rule) == (expected.rule is not None, expected.rule), (
            verdict.reason
        )
        for fragment in expected.fragments:
            assert fragment in verdict.reason
        if expected.stage is not None:
            assert verdict.stage == expected.stage
        if expected.decision is not None:
            assert verdict.decision == expected.decision


# --- what a verdict carries ---------------------------------------------------------------


def test_a_verdict_carries_registry_ids_and_a_stable_key() -> None:
    item = issue(change(j("bo"), refs("gus"), refs("cy"), ref="jira:4242:1"))
    (verdict,) = judge_item(registry(), item)
    digest = hashlib.sha256(b"unauthorized_change\x1fjira:4242:1").hexdigest()[:16]
    assert verdict == Verdict(
        key=f"unauthorized_change:{digest}",
        event_ref="jira:4242:1",
        workflow="support",
        item="SUP-1",
        source="jira",
        at=T0,
        actor="bo",
        from_ids=("cy",),
        to_ids=("gus",),
        decision="reassignment",
        stage="work",
        authorized=False,
        rule=None,
        reason=verdict.reason,
        url="https://jira.test/browse/SUP-1",
        title="A ticket",
    )


def test_authorized_and_unauthorized_keys_differ_for_the_same_event() -> None:
    allowed = judge_item(registry(), issue(change(j("ana"), refs("gus"), refs("cy"))))[0]
    refused = judge_item(registry(), issue(change(j("gus"), refs("gus"), refs("cy"))))[0]
    assert allowed.event_ref == refused.event_ref
    assert allowed.key.startswith("authorized_change:")
    assert refused.key.startswith("unauthorized_change:")
    assert allowed.key.split(":")[1] != refused.key.split(":")[1]


def test_unknown_owners_stay_vendor_references() -> None:
    item = incident(pd_change("pagerduty:PZZZ999", ("pagerduty:PNEW001",), ("pagerduty:POLD001",)))
    (verdict,) = judge_item(registry(), item)
    assert verdict.actor == "pagerduty:PZZZ999"
    assert verdict.from_ids == ("pagerduty:POLD001",)
    assert verdict.to_ids == ("pagerduty:PNEW001",)


def test_a_non_user_agent_is_never_taken_for_a_person() -> None:
    """A service whose id equals a person's PagerDuty id is still PagerDuty's routing."""
    item = incident(pd_change(p("dee"), refs("cy", source="pd"), kind="service"), policy="PESC099")
    (verdict,) = judge_item(registry(), item)
    assert not verdict.authorized
    assert verdict.actor == p("dee")
    assert "work routed by escalation policy PESC099" in verdict.reason


# --- what is not judged -------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        issue(change(j("gus"), refs("gus")), workflow=None),
        incident(pd_change("pagerduty:PZZZ999", ("pagerduty:PX",)), workflow=None),
        issue(change(j("gus"), refs("gus")), workflow="removed-from-the-registry"),
        issue(),
    ],
    ids=["jira-no-workflow", "pagerduty-no-workflow", "workflow-not-in-registry", "no-changes"],
)
def test_not_judged(item: ItemHistory) -> None:
    assert judge_item(registry(), item) == []


def test_judge_items_judges_each_item_in_turn() -> None:
    first = issue(change(j("ana"), refs("gus"), refs("cy")), key="SUP-1")
    second = issue(change(j("gus"), refs("gus"), refs("cy")), key="SUP-2", workflow=None)
    third = issue(change(j("bo"), refs("eli"), refs("cy")), key="SUP-3")
    verdicts = judge_items(registry(), [first, second, third])
    assert [(v.item, v.rule) for v in verdicts] == [
        ("SUP-1", "approver"),
        ("SUP-3", "declared-path"),
    ]


def test_a_judge_can_share_a_resolver() -> None:
    resolver = IdentityResolver(registry())
    judge = Judge(registry(), resolver)
    assert judge.resolver is resolver
    item = issue(change(j("ana"), refs("gus"), refs("cy")))
    assert judge.judge_item(item) == judge_item(registry(), item, resolver)


# --- identity resolution ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("jira:acc-ana", "ana"),
        ("pagerduty:PANA001", "ana"),
        ("jira:acc-bot", "jira-bot"),
        ("pagerduty:PBOT001", "pd-bot"),
        ("jira:5d9f", "jira:5d9f"),
        ("pagerduty:PANA001x", "pagerduty:PANA001x"),
        ("jira:PANA001", "jira:PANA001"),  # a PagerDuty id is not a Jira account
        ("jira:unknown", "jira:unknown"),
    ],
)
def test_identity_resolution(ref: str, expected: str) -> None:
    assert IdentityResolver(registry()).resolve(ref) == expected


def test_identity_lookups() -> None:
    resolver = IdentityResolver(registry())
    assert resolver.resolve_all(["jira:acc-bo", "jira:x", "pagerduty:PCY0001"]) == (
        "bo",
        "jira:x",
        "cy",
    )
    assert resolver.known("jira:x") is None
    assert resolver.person("jira:acc-bot") is None
    assert resolver.automation("jira:acc-bot") == "jira-bot"
    assert resolver.automation("jira:acc-ana") is None
    assert resolver.is_automation("pd-bot")
    assert not resolver.is_automation("ana")
