"""PagerDuty log entries as PagerDuty sends them → ownership events → verdicts (SPEC §4).

Agent types are those of PagerDuty's OpenAPI document (`reference/REST/openapiv3.json` in
PagerDuty/api-schema: `AgentReference`, `IntegrationReference`), plus the escalation policy
and the missing agent real accounts send. Only a `user_reference` is a person; everything
else is PagerDuty's routing, authorized when the incident's policy is declared (rule 4).
Before, any integration was an unknown *person*: a false unauthorized change per routed alert.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from rules.authority import judge_item
from rules.facts import ItemHistory, OwnershipChange
from rules.ownership import NO_AGENT, pagerduty_agent_kind, pagerduty_events
from tests.rules.authority_fixtures import incident, registry

INTEGRATIONS = [
    "events_api_v2_inbound_integration_reference",
    "generic_events_api_inbound_integration_reference",
    "generic_email_inbound_integration_reference",
    "nagios_inbound_integration_reference",
    "aws_cloudwatch_inbound_integration_reference",
    "inbound_integration_reference",
    "integration_reference",
]


def entry(
    entry_id: str,
    kind: str,
    agent: dict[str, Any] | None,
    to: tuple[str, ...] = (),
    *,
    at: str = "2026-10-05T09:00:00Z",
    channel: str = "auto",
    drop_agent: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": entry_id,
        "type": kind,
        "created_at": at,
        "agent": agent,
        "channel": {"type": channel},
        "incident": {"id": "PINC001", "type": "incident_reference"},
        "assignees": [{"id": a, "type": "user_reference"} for a in to],
    }
    if drop_agent:
        del body["agent"]
    return body


def ref(kind: str, ident: str = "PAGENT1") -> dict[str, Any]:
    return {"id": ident, "type": kind, "summary": ident}


def change_of(raw: dict[str, Any]) -> OwnershipChange:
    (event,) = pagerduty_events("PINC001", [raw])
    return OwnershipChange(event.source_ref, event.source, event.at, event.actor_ref,
                           event.actor_kind, event.from_refs, event.to_refs, event.event_type,
                           event.seq)


@pytest.mark.parametrize("kind", INTEGRATIONS)
def test_an_integration_assigning_is_routing_authorized_by_a_declared_policy(kind: str) -> None:
    change = change_of(entry("L1", "assign_log_entry", ref(kind, "PINT001"), ("PCY0001",)))
    assert change.actor_kind == "integration"
    (verdict,) = judge_item(registry(), incident(change))
    assert verdict.authorized and verdict.rule == "automation", verdict.reason
    assert "PESC001" in verdict.reason
    (refused,) = judge_item(registry(), incident(change, policy="PESC099"))
    assert not refused.authorized
    assert "unknown actor" not in refused.reason
    assert "work routed by escalation policy PESC099" in refused.reason


@pytest.mark.parametrize(
    ("agent", "drop", "kind", "actor"),
    [
        (ref("service_reference", "PSUP001"), False, "service", "pagerduty:PSUP001"),
        (ref("escalation_policy_reference", "PESC001"), False, "escalation_policy",
         "pagerduty:PESC001"),
        (None, False, "unknown", NO_AGENT),
        (None, True, "unknown", NO_AGENT),
        ({}, False, "unknown", NO_AGENT),
        (ref("bot_user_reference", "PB1"), False, "unknown", "pagerduty:PB1"),
    ],
    ids=["service", "escalation-policy", "agent-null", "agent-absent", "agent-empty",
         "other-reference"],
)
def test_every_non_user_agent_is_routing(
    agent: dict[str, Any] | None, drop: bool, kind: str, actor: str
) -> None:
    change = change_of(entry("L1", "assign_log_entry", agent, ("PCY0001",), drop_agent=drop))
    assert (change.actor_kind, change.actor) == (kind, actor)
    (verdict,) = judge_item(registry(), incident(change))
    assert verdict.authorized and verdict.rule == "automation", verdict.reason
    (refused,) = judge_item(registry(), incident(change, policy="PESC099"))
    assert not refused.authorized and "unknown actor" not in refused.reason


def test_a_missing_agent_is_named_as_such() -> None:
    change = change_of(entry("L1", "assign_log_entry", None, ("PCY0001",)))
    (verdict,) = judge_item(registry(), incident(change))
    assert verdict.reason.startswith("PagerDuty (no agent) assigned PINC001")


@pytest.mark.parametrize(
    ("agent", "channel"),
    [(ref("service_reference", "PSUP001"), "timeout"), (ref("service_reference", "PSUP001"),
     "auto"), (ref("escalation_policy_reference", "PESC001"), "timeout"), (None, "timeout")],
    ids=["service-timeout", "service-auto", "policy-timeout", "no-agent-timeout"],
)
def test_a_timeout_escalation_is_routing(agent: dict[str, Any] | None, channel: str) -> None:
    raw = [entry("L1", "assign_log_entry", ref("service_reference", "PSUP001"), ("PCY0001",)),
           entry("L2", "escalate_log_entry", agent, ("PANA001",), at="2026-10-05T09:30:00Z",
                 channel=channel)]
    events = pagerduty_events("PINC001", raw)
    item = incident(*(OwnershipChange(e.source_ref, e.source, e.at, e.actor_ref, e.actor_kind,
                                      e.from_refs, e.to_refs, e.event_type, e.seq)
                      for e in events))
    verdicts = judge_item(registry(), item)
    assert [(v.authorized, v.rule) for v in verdicts] == [(True, "automation")] * 2
    assert verdicts[1].from_ids == ("cy",)


def test_a_user_is_still_a_person() -> None:
    """A user reference stays a person judged by rules 1–3, never waved through as routing."""
    change = change_of(entry("L1", "assign_log_entry", ref("user_reference", "PZZZ999"),
                             ("PCY0001",), channel="website"))
    assert change.actor_kind == "user"
    (verdict,) = judge_item(registry(), incident(change))
    assert not verdict.authorized
    assert "unknown actor pagerduty:PZZZ999" in verdict.reason


def test_agent_kind_of_odd_shapes() -> None:
    assert pagerduty_agent_kind("PSUP001") == "unknown"
    assert pagerduty_agent_kind({"type": "user"}) == "user"


# --- same-second entries ------------------------------------------------------------------


def test_same_second_entries_keep_the_order_pagerduty_applied() -> None:
    """An integration assigns kim and the bot escalates to ana in the same second. Their ids
    sort the other way ("RA…" < "RZ…"), so ordering by id replays the escalation first."""
    assign = entry("RZ-assign", "assign_log_entry", ref("generic_events_api_inbound_"
                   "integration_reference", "PGEN001"), ("PCY0001",))
    escalate = entry("RA-escalate", "escalate_log_entry", ref("user_reference", "PBOT001"),
                     ("PANA001",), channel="api")
    ranks = {"RZ-assign": 0, "RA-escalate": 1}
    events = pagerduty_events("PINC001", [escalate, assign], ranks=ranks)
    assert [e.source_ref for e in events] == ["pagerduty:RZ-assign", "pagerduty:RA-escalate"]
    assert events[1].from_refs == ("pagerduty:PCY0001",)
    assert [e.seq for e in events] == [0, 1]
    # The rules keep that order whatever order storage returns them in.
    changes = [OwnershipChange(e.source_ref, e.source, e.at, e.actor_ref, e.actor_kind,
                               e.from_refs, e.to_refs, e.event_type, e.seq) for e in events]
    item: ItemHistory = incident(*reversed(changes))
    verdicts = judge_item(registry(), item)
    assert [v.event_ref for v in verdicts] == ["pagerduty:RZ-assign", "pagerduty:RA-escalate"]
    assert verdicts[1].from_ids == ("cy",)
    assert all(v.authorized for v in verdicts), [v.reason for v in verdicts]
    assert replace(item).ownership_changes == tuple(reversed(changes))
