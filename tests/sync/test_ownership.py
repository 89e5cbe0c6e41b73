"""Normalizing vendor records into ownership events (SPEC §4 table)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.ownership import MalformedRecordError, jira_events, pagerduty_events, parse_timestamp


def history(hid: str, created: str, *items: dict[str, object], author: str | None = "A1") -> dict:
    return {"id": hid, "created": created, "author": {"accountId": author} if author else None,
            "items": list(items)}


def assignee(frm: str | None, to: str | None) -> dict[str, object]:
    return {"field": "assignee", "fieldtype": "jira", "fieldId": "assignee", "from": frm,
            "fromString": None, "to": to, "toString": None}


STATUS = {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1",
          "fromString": "Open", "to": "3", "toString": "In Progress"}


def test_jira_timestamp_with_offset_is_converted_to_utc() -> None:
    assert parse_timestamp("2026-10-05T10:00:00.000+0200") == datetime(2026, 10, 5, 8, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "yesterday", "2026-10-05T10:00:00"],
                         ids=["missing", "garbage", "naive"])
def test_unusable_timestamps_are_malformed(value: object) -> None:
    with pytest.raises(MalformedRecordError):
        parse_timestamp(value)


def test_only_assignee_items_become_events_keyed_by_history_and_index() -> None:
    histories = [
        history("100", "2026-10-05T10:00:00.000+0200", STATUS, assignee(None, "B2")),
        history("101", "2026-10-06T09:00:00.000+0000", assignee("B2", "C3"), assignee("C3", None)),
        history("102", "2026-10-07T09:00:00.000+0000", STATUS),
    ]
    events = list(jira_events("SUP-1", histories))
    assert [e.source_ref for e in events] == ["jira:100:1", "jira:101:0", "jira:101:1"]
    first, second, third = events
    assert first.from_refs == () and first.to_refs == ("jira:B2",)
    assert first.actor_ref == "jira:A1" and first.actor_kind == "user"
    assert first.at == datetime(2026, 10, 5, 8, tzinfo=UTC)
    assert second.from_refs == ("jira:B2",) and second.to_refs == ("jira:C3",)
    assert third.to_refs == ()  # unassigned: nobody


def test_jira_history_without_author_has_an_unknown_actor() -> None:
    events = list(jira_events("SUP-1", [history("7", "2026-10-05T10:00:00.000+0000",
                                                assignee(None, "B2"), author=None)]))
    assert events[0].actor_ref == "jira:unknown" and events[0].actor_kind == "unknown"


def entry(eid: str, etype: str, created: str, agent: tuple[str, str] | None,
          assignees: list[str] | None = None) -> dict:
    body: dict[str, object] = {"id": eid, "type": etype, "created_at": created,
                               "incident": {"id": "PINC1"}}
    if agent:
        body["agent"] = {"type": agent[0], "id": agent[1]}
    if assignees is not None:
        body["assignees"] = [{"id": a, "type": "user_reference"} for a in assignees]
    return body


def test_pagerduty_events_replay_previous_assignees_oldest_first() -> None:
    entries = [  # newest first, as the API returns them
        entry("L4", "resolve_log_entry", "2026-10-01T12:00:00Z", ("user_reference", "PU2")),
        entry("L3", "reassign_log_entry", "2026-10-01T11:00:00Z", ("user_reference", "PU2"),
              ["PU3", "PU4"]),
        entry("L2", "escalate_log_entry", "2026-10-01T10:30:00Z",
              ("escalation_policy_reference", "PESC1"), ["PU2"]),
        entry("L1", "assign_log_entry", "2026-10-01T10:00:00Z",
              ("service_reference", "PSVC1"), ["PU1"]),
        entry("L0", "trigger_log_entry", "2026-10-01T10:00:00Z", ("service_reference", "PSVC1")),
    ]
    events = pagerduty_events("PINC1", entries)
    assert [e.source_ref for e in events] == ["pagerduty:L1", "pagerduty:L2", "pagerduty:L3"]
    assert [e.from_refs for e in events] == [(), ("pagerduty:PU1",), ("pagerduty:PU2",)]
    assert events[2].to_refs == ("pagerduty:PU3", "pagerduty:PU4")
    assert [e.actor_kind for e in events] == ["service", "escalation_policy", "user"]
    assert events[1].event_type == "escalate_log_entry"


def test_pagerduty_replay_starts_from_given_assignees() -> None:
    entries = [entry("L9", "delegate_log_entry", "2026-10-02T10:00:00Z",
                     ("user_reference", "PU1"), ["PU7"])]
    (event,) = pagerduty_events("PINC1", entries, assignees_before=["PU1"])
    assert event.from_refs == ("pagerduty:PU1",) and event.to_refs == ("pagerduty:PU7",)


def test_jira_assignee_items_fall_back_to_tmp_account_ids() -> None:
    """Cloud changelog items also carry `tmpFromAccountId`/`tmpToAccountId` (seen in captured
    REST and webhook payloads next to `from`/`to`); when `from`/`to` are empty they name the
    users, instead of an event that looks like "unassigned"."""
    from rules.ownership import jira_events

    history = {"id": "9", "author": {"accountId": "acc-lead"},
               "created": "2026-10-05T10:00:00.000+0200",
               "items": [{"field": "assignee", "fieldId": "assignee", "from": "", "to": None,
                          "tmpFromAccountId": "acc-old", "tmpToAccountId": "acc-new"}]}
    (event,) = jira_events("SUP-1", [history])
    assert (event.from_refs, event.to_refs) == (("jira:acc-old",), ("jira:acc-new",))
