"""PagerDuty REST v2 and Events v2, driven with the vendor's own `pagerduty` client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pagerduty
import pytest

from sandbox import ROUTING_KEY, Sandbox, SandboxConfig, serve_sandbox
from sandbox.timefmt import to_ms

from .conftest import pd_client

UTC = UTC
SINCE, UNTIL = "2026-09-01T00:00:00Z", "2026-12-01T00:00:00Z"


def test_iter_all_incidents_matches_ground_truth(
    demo: Sandbox, pd: pagerduty.RestApiV2Client
) -> None:
    got = list(
        pd.iter_all(
            "incidents", params={"since": SINCE, "until": UNTIL, "service_ids[]": ["PSUP001"]}
        )
    )
    expected = sorted(
        (i for i in demo.world.incidents.values() if i.service_id == "PSUP001"),
        key=lambda i: i.created,
    )
    assert [i["id"] for i in got] == [i.id for i in expected]
    first = got[0]
    assert first["type"] == "incident" and first["service"]["type"] == "service_reference"
    assert first["escalation_policy"]["type"] == "escalation_policy_reference"
    assert first["created_at"].endswith("Z")


def test_since_until_filter_by_creation_time(demo: Sandbox, pd: pagerduty.RestApiV2Client) -> None:
    since, until = datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC)
    got = {
        i["id"]
        for i in pd.iter_all(
            "incidents", params={"since": since.isoformat(), "until": until.isoformat()}
        )
    }
    expected = {
        i.id for i in demo.world.incidents.values() if to_ms(since) <= i.created < to_ms(until)
    }
    assert got == expected and got


def test_unbracketed_service_ids_are_ignored_as_pagerduty_ignores_them(demo: Sandbox) -> None:
    params = {"since": SINCE, "until": UNTIL, "service_ids": "PSUP001", "limit": 100}
    headers = {"Authorization": f"Token token={demo.credentials['PAGERDUTY_API_TOKEN']}"}
    with httpx.Client(base_url=demo.base_url, verify=demo.ssl_context(), headers=headers) as client:
        body = client.get("/incidents", params=params).json()
    assert {i["service"]["id"] for i in body["incidents"]} > {"PSUP001"}


def test_total_only_when_asked(demo: Sandbox, pd: pagerduty.RestApiV2Client) -> None:
    plain = pd.get("/incidents", params={"since": SINCE, "until": UNTIL, "limit": 5}).json()
    assert plain["total"] is None and plain["more"] is True and plain["limit"] == 5
    counted = pd.get(
        "/incidents", params={"since": SINCE, "until": UNTIL, "limit": 5, "total": "true"}
    ).json()
    assert counted["total"] == len(demo.world.incidents)


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({"limit": 101}, 2001, "less than or equal to 100"),
        ({"limit": "many"}, 2001, "integer"),
        (
            {"offset": 9950, "limit": 100},
            2002,
            "Offset+limit exceeds maximum allowed value of 10000",
        ),
        ({"since": "2026-11-10T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, 2005, "before"),
        ({"since": "2026-01-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, 2001, "6 months"),
        ({"since": "yesterday-ish"}, 2004, ""),
        ({"time_zone": "Mars/Olympus"}, 2001, "Time zone"),
    ],
    ids=[
        "limit-over-100",
        "limit-not-a-number",
        "offset-limit",
        "since-after-until",
        "window-over-6-months",
        "bad-since",
        "bad-time-zone",
    ],
)
def test_bad_input_gets_pagerdutys_400(
    pd: pagerduty.RestApiV2Client, params: dict[str, Any], code: int, fragment: str
) -> None:
    response = pd.get("/incidents", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and isinstance(error["message"], str)
    assert fragment in " ".join(error["errors"])


def test_log_entries_window_and_order(demo: Sandbox, pd: pagerduty.RestApiV2Client) -> None:
    since, until = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC)
    got = list(
        pd.iter_all("log_entries", params={"since": since.isoformat(), "until": until.isoformat()})
    )
    expected = sorted(
        (e for e in demo.world.log_entries.values() if to_ms(since) <= e.created < to_ms(until)),
        key=lambda e: (e.created, e.seq),
        reverse=True,
    )
    assert [e["id"] for e in got] == [e.id for e in expected]
    kinds = {e["type"] for e in got}
    assert {
        "trigger_log_entry",
        "assign_log_entry",
        "acknowledge_log_entry",
        "resolve_log_entry",
        "escalate_log_entry",
    } <= kinds
    for entry in got:
        assert {
            "id",
            "type",
            "summary",
            "created_at",
            "agent",
            "channel",
            "service",
            "incident",
        } <= set(entry)
        assert entry["incident"]["type"] == "incident_reference"
        if entry["type"] in ("assign_log_entry", "escalate_log_entry", "delegate_log_entry"):
            assert entry["assignees"] and all(
                a["type"] == "user_reference" for a in entry["assignees"]
            )


def test_log_entry_agents_and_channels(demo: Sandbox, pd: pagerduty.RestApiV2Client) -> None:
    case = demo.world.planted["pd-undeclared-policy-timeout"]
    entries = list(pd.iter_all(f"incidents/{case.item}/log_entries"))
    assert entries[0]["type"] == "resolve_log_entry"  # newest first
    (timeout,) = [e for e in entries if e["id"] == case.log_entry_id]
    assert (
        timeout["agent"]["type"] == "service_reference"  # the published AgentReference types
        and timeout["agent"]["id"] == "PSUP001"
    )
    assert timeout["channel"] == {"type": "timeout"}
    (assign,) = [e for e in entries if e["type"] == "assign_log_entry"]
    assert assign["agent"]["type"] == "service_reference" and assign["channel"]["type"] == "auto"
    delegate_case = demo.world.planted["pd-delegate"]
    delegate = next(
        e
        for e in pd.iter_all(f"incidents/{delegate_case.item}/log_entries")
        if e["type"] == "delegate_log_entry"
    )
    assert (
        delegate["agent"]["type"] == "user_reference"
        and delegate["assignees"][0]["id"] == "PPRIY01"
    )


def test_include_incidents_embeds_the_full_incident(pd: pagerduty.RestApiV2Client) -> None:
    params = {
        "since": "2026-11-10T00:00:00Z",
        "until": "2026-11-12T00:00:00Z",
        "include[]": ["incidents", "services"],
    }
    entry = next(pd.iter_all("log_entries", params=params))
    assert entry["incident"]["type"] == "incident" and "escalation_policy" in entry["incident"]
    assert entry["service"]["type"] == "service"


def test_incident_log_entries_filtered_by_window(
    demo: Sandbox, pd: pagerduty.RestApiV2Client
) -> None:
    case = demo.world.planted["pd-timeout-declared"]
    incident = demo.world.incidents[case.item]
    everything = list(pd.iter_all(f"incidents/{case.item}/log_entries"))
    assert len(everything) == len(incident.log)
    window = {
        "since": "2026-10-27T02:35:00Z",
        "until": "2026-10-27T02:45:00Z",
    }  # 03:35-03:45 Berlin
    some = list(pd.iter_all(f"incidents/{case.item}/log_entries", params=window))
    assert [e["type"] for e in some] == ["acknowledge_log_entry", "escalate_log_entry"]


def test_directory_endpoints(demo: Sandbox, pd: pagerduty.RestApiV2Client) -> None:
    users = list(pd.iter_all("users"))
    assert {u["id"] for u in users} == set(demo.world.pd_users)
    assert {"PBOT001", "PPRIY01"} <= {u["id"] for u in users}
    services = {s["id"]: s for s in pd.iter_all("services")}
    assert set(services) == {"PSUP001", "PONB001", "PINF001"}
    assert services["PSUP001"]["escalation_policy"]["id"] == "PESC001"
    policies = {p["id"]: p for p in pd.iter_all("escalation_policies")}
    assert {"PESC001", "PESC002", "PESC099", "PESC003"} == set(policies)
    rule = policies["PESC001"]["escalation_rules"][0]
    assert (
        rule["escalation_delay_in_minutes"] == 30 and rule["targets"][0]["type"] == "user_reference"
    )
    assert pd.rget("users/PSAMR01")["email"] == "sam@acme.example"
    assert [u["id"] for u in pd.iter_all("users", params={"query": "priya"})] == ["PPRIY01"]


def test_wrong_token_is_refused(demo: Sandbox) -> None:
    with pagerduty.RestApiV2Client(
        "wrong", base_url=demo.base_url, verify=demo.ssl_context()
    ) as client:
        with pytest.raises(pagerduty.HttpError) as raised:
            list(client.iter_all("incidents"))
        assert raised.value.response.status_code == 401
        assert raised.value.response.json()["error"]["code"] == 2006


def test_events_api_enqueue(demo: Sandbox) -> None:
    with pagerduty.EventsApiV2Client(
        ROUTING_KEY, base_url=demo.base_url, verify=demo.ssl_context()
    ) as events:
        key = events.trigger(
            "Risk review opened: support 2026-W46", "accountability", dedup_key="finding-123"
        )
        assert key == "finding-123"
        generated = events.trigger("No key given", "accountability")
        assert len(generated) == 32
        assert events.resolve("finding-123") == "finding-123"
    received = [e for e in demo.events if e.get("dedup_key") == "finding-123"]
    assert [e["event_action"] for e in received] == ["trigger", "resolve"]
    assert (
        received[0]["payload"]["severity"] == "critical"
        and received[0]["routing_key"] == ROUTING_KEY
    )


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"routing_key": "short", "event_action": "trigger"}, "routing_key"),
        ({"routing_key": ROUTING_KEY, "event_action": "explode"}, "event_action"),
        (
            {"routing_key": ROUTING_KEY, "event_action": "trigger", "payload": {"summary": "x"}},
            "payload.source",
        ),
        ({"routing_key": ROUTING_KEY, "event_action": "resolve"}, "dedup_key"),
    ],
    ids=["routing-key", "action", "payload", "dedup-key"],
)
def test_events_api_refuses_invalid_events(
    demo: Sandbox, body: dict[str, Any], fragment: str
) -> None:
    with httpx.Client(base_url=demo.base_url, verify=demo.ssl_context()) as client:
        response = client.post("/v2/enqueue", json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["status"] == "invalid event" and fragment in " ".join(payload["errors"])


# --- the 10,000 record ceiling, on a scale world --------------------------------------------------

WINDOW = {"since": "2026-05-26T00:00:00Z", "until": "2026-11-23T00:00:00Z"}


@pytest.fixture(scope="module")
def big() -> Iterator[Sandbox]:
    with serve_sandbox(
        SandboxConfig(mode="scale", seed=3, issues=200, incidents=10_500)
    ) as sandbox:
        yield sandbox


def test_offset_limit_ceiling(big: Sandbox) -> None:
    with pd_client(big) as client:
        total = client.get("/incidents", params={**WINDOW, "total": "true", "limit": 1}).json()[
            "total"
        ]
        assert total == 10_500
        last_allowed = client.get("/incidents", params={**WINDOW, "offset": 9900, "limit": 100})
        assert last_allowed.status_code == 200 and last_allowed.json()["more"] is True
        refused = client.get("/incidents", params={**WINDOW, "offset": 10_000, "limit": 1})
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["code"] == 2002 and error["errors"][0].startswith(
            "Offset+limit exceeds maximum allowed value of 10000"
        )
        with pytest.warns(UserWarning, match="10000"):
            stopped = sum(1 for _ in client.iter_all("incidents", params=WINDOW))
        assert stopped == 10_000


def test_iter_history_splits_the_window_to_get_everything(big: Sandbox) -> None:
    since, until = datetime(2026, 5, 26, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)
    with pd_client(big) as client:
        got = [i["id"] for i in client.iter_history("incidents", since, until)]
    assert len(got) == len(set(got)) == 10_500


def test_several_services_are_merged_in_creation_order(
    demo: Sandbox, pd: pagerduty.RestApiV2Client
) -> None:
    params = {"since": SINCE, "until": UNTIL, "service_ids[]": ["PONB001", "PSUP001"], "limit": 7}
    got = [i["id"] for i in pd.iter_all("incidents", params=params)]
    expected = sorted(
        (i for i in demo.world.incidents.values() if i.service_id in ("PSUP001", "PONB001")),
        key=lambda i: i.created,
    )
    assert got == [i.id for i in expected]


def test_integration_and_missing_agents_and_same_second_order(
    demo: Sandbox, pd: pagerduty.RestApiV2Client
) -> None:
    """Agents as PagerDuty logs them (`IntegrationReference`: an inbound integration under its
    service; no `agent` key: optional in the document), and entries of one second listed
    newest first, like any others."""
    case = demo.world.planted["pd-triage-bot"]
    entries = list(pd.iter_all(f"incidents/{case.item}/log_entries"))
    (assign,) = [e for e in entries if e["type"] == "assign_log_entry"]
    agent = assign["agent"]
    assert agent["type"] == "generic_events_api_inbound_integration_reference"
    assert agent["self"].endswith(f"/services/PSUP001/integrations/{agent['id']}")
    assert set(agent) == {"id", "type", "summary", "self", "html_url"}
    (escalate,) = [e for e in entries if e["id"] == case.log_entry_id]
    assert escalate["created_at"] == assign["created_at"]
    assert entries.index(escalate) < entries.index(assign)  # applied later: listed first
    missing = demo.world.planted["pd-no-agent-assign"]
    (entry,) = [e for e in pd.iter_all(f"incidents/{missing.item}/log_entries")
                if e["id"] == missing.log_entry_id]
    assert "agent" not in entry and entry["channel"] == {"type": "auto"}


def test_an_incidents_own_log_reaches_before_any_window(
    demo: Sandbox, pd: pagerduty.RestApiV2Client
) -> None:
    """`listIncidentLogEntries` without since/until returns the whole log, trigger included,
    newest first, where a `/log_entries` window opened after the incident's start has none."""
    case = demo.world.planted["pd-approver-reassign"]
    entries = list(pd.iter_all(f"incidents/{case.item}/log_entries",
                               params={"include[]": ["incidents"]}))
    assert [e["type"] for e in entries][-2:] == ["assign_log_entry", "trigger_log_entry"]
    assert entries[0]["incident"]["type"] == "incident"
    windowed = list(pd.iter_all("log_entries", params={"since": "2026-10-15T09:30:00Z",
                                                       "until": "2026-10-16T00:00:00Z"}))
    assert {e["type"] for e in windowed if e["incident"]["id"] == case.item} == {
        "assign_log_entry", "resolve_log_entry"}
