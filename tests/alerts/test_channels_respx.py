"""Slack, PagerDuty Events and Jira tickets against respx: request shapes, answers, failures."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from accountability.usecases.dispatch import JiraAccess, dispatch
from connectors.channel_errors import ChannelError
from connectors.jira_tickets import JiraTickets, adf_doc, adf_paragraph
from connectors.pagerduty_events import PagerDutyEvents
from connectors.slack import SlackWebhook
from rules.registry import Registry
from rules.routing import review_closed_alerts, risk_review_alerts, unauthorized_change_alerts
from tests.alerts.conftest import Clock, SmtpServer, channels_for, enqueue, outbox, review, verdict

HOOK = "https://hooks.slack.com/services/T0ACME/B0SUPPORT/Xy7SeCrEtWebHook"
ROUTING_KEY = "R0UT1NGKEYsupport0000000000000001"
JIRA = "https://acme.atlassian.net"
EVENTS = "https://events.pagerduty.com/v2/enqueue"


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_SUPPORT", HOOK)
    monkeypatch.setenv("PD_ROUTING_KEY_SUPPORT", ROUTING_KEY)


def body(call: Any) -> Any:
    return json.loads(call.request.content)


# --- Slack ----------------------------------------------------------------------------------


def test_slack_posts_block_kit_and_keeps_the_url_out_of_errors_and_logs(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    route = api.post(HOOK).mock(side_effect=[httpx.Response(200, text="ok"),
                                              httpx.Response(404, text="no_service")])
    slack = SlackWebhook()
    try:
        message = {"text": "fallback", "blocks": [{"type": "section", "text": {
            "type": "mrkdwn", "text": "hi"}}]}
        assert slack.post(SecretStr(HOOK), message, variable="SLACK_WEBHOOK_SUPPORT") == "ok"
        assert body(route.calls[0]) == message
        with pytest.raises(ChannelError) as caught:
            slack.post(SecretStr(HOOK), message, variable="SLACK_WEBHOOK_SUPPORT")
    finally:
        slack.close()
    assert str(caught.value) == (
        "Slack webhook (SLACK_WEBHOOK_SUPPORT) answered HTTP 404: no_service")
    assert caught.value.retriable  # a revoked webhook is fixed by a new URL, then retried
    assert "hooks.slack.com" in caplog.text  # httpx did log the requests …
    assert "Xy7SeCrEtWebHook" not in caplog.text  # … without the secret part


@pytest.mark.parametrize(
    ("response", "retriable", "retry_after"),
    [(httpx.Response(400, text="invalid_payload"), False, None),
     (httpx.Response(429, headers={"Retry-After": "30"}, text="rate_limited"), True, 30.0),
     (httpx.Response(500, text="oops"), True, None)],
    ids=["400-fatal", "429-retry-after", "500-retriable"],
)
def test_slack_failures_are_classified(
    api: respx.MockRouter, response: httpx.Response, retriable: bool,
    retry_after: float | None,
) -> None:
    route = api.post(HOOK).mock(return_value=response)
    slack = SlackWebhook()
    try:
        with pytest.raises(ChannelError) as caught:
            slack.post(SecretStr(HOOK), {"text": "x"}, variable="SLACK_WEBHOOK_SUPPORT")
    finally:
        slack.close()
    assert (caught.value.retriable, caught.value.retry_after) == (retriable, retry_after)
    assert route.call_count == 1  # the outbox retries, not the channel


def test_dispatch_sends_one_slack_message_per_workflow_and_kind(
    factory: sessionmaker[Session], registry: Registry, smtp_server: SmtpServer,
    api: respx.MockRouter, env: None,
) -> None:
    route = api.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
    api.post(EVENTS).mock(return_value=httpx.Response(
        202, json={"status": "success", "message": "Event processed", "dedup_key": "k"}))
    enqueue(factory, [a for n in range(1, 61) for a in unauthorized_change_alerts(
        registry, verdict(n))])
    report = dispatch(factory, registry, channels_for(smtp_server), clock=Clock())
    assert report.failed == 0 and report.messages["slack"] == 1
    (call,) = route.calls
    message = body(call)
    assert message["blocks"][0] == {"type": "header", "text": {
        "type": "plain_text", "text": "Support resolution time: 60 unauthorized ownership changes",
        "emoji": True}}
    assert len(message["blocks"]) == 50  # Slack's limit: the rest is counted in the last one
    assert "and 12 more" in message["blocks"][-1]["elements"][0]["text"]
    first = message["blocks"][1]["text"]["text"]
    assert first.startswith("*<https://acme.atlassian.net/browse/SUP-1|SUP-1>*")
    assert "*Could have authorized:* Dev Patel (dev); Priya Raman (priya)" in first
    slack_rows = [r for r in outbox(factory) if r.channel == "slack"]
    assert len(slack_rows) == 60 and {r.provider_id for r in slack_rows} == {"slack:ok"}


def test_a_missing_variable_keeps_the_row_pending_with_an_error_naming_it(
    factory: sessionmaker[Session], registry: Registry, smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_SUPPORT", raising=False)
    monkeypatch.delenv("PD_ROUTING_KEY_SUPPORT", raising=False)
    enqueue(factory, risk_review_alerts(registry, review()))
    report = dispatch(factory, registry, channels_for(smtp_server, jira=None), clock=Clock())
    assert (report.sent, report.failed, report.dead) == (2, 3, 0)  # the emails went out
    errors = {r.channel: r.last_error or "" for r in outbox(factory) if r.status == "pending"}
    assert "environment variable SLACK_WEBHOOK_SUPPORT is not set" in errors["slack"]
    assert "environment variable PD_ROUTING_KEY_SUPPORT is not set" in errors["pagerduty"]
    assert "JIRA_URL is not set" in errors["jira"]


# --- PagerDuty Events -----------------------------------------------------------------------


def test_pagerduty_trigger_and_resolve_use_the_dedup_key(api: respx.MockRouter) -> None:
    route = api.post(EVENTS).mock(side_effect=lambda request: httpx.Response(202, json={
        "status": "success", "message": "Event processed",
        "dedup_key": json.loads(request.content)["dedup_key"]}))
    events = PagerDutyEvents()
    key = events.trigger(SecretStr(ROUTING_KEY), variable="PD_KEY", dedup_key="support-2026-W46",
                         summary="x" * 5000, source="accountability:support", severity="error",
                         links=[{"href": "https://acme.atlassian.net/browse/SUP-1",
                                 "text": "SUP-1"}])
    assert key == "support-2026-W46"
    assert events.resolve(SecretStr(ROUTING_KEY), variable="PD_KEY",
                          dedup_key="support-2026-W46") == "support-2026-W46"
    trigger, resolve = (body(c) for c in route.calls)
    assert trigger["routing_key"] == ROUTING_KEY and trigger["event_action"] == "trigger"
    assert len(trigger["payload"]["summary"]) == 1024  # the Events API's limit
    assert trigger["payload"]["severity"] == "error"
    assert resolve == {"event_action": "resolve", "dedup_key": "support-2026-W46",
                       "routing_key": ROUTING_KEY}


@pytest.mark.parametrize(
    ("response", "retriable"),
    [(httpx.Response(400, json={"status": "invalid event", "message": "Event object is invalid",
                                "errors": ["'payload.summary' is missing or blank"]}), False),
     (httpx.Response(429, json={"status": "throttle event"}), True),
     (httpx.Response(500, json={}), True)],
    ids=["400-fatal", "429", "500"],
)
def test_pagerduty_failures_are_classified_without_client_retries(
    api: respx.MockRouter, response: httpx.Response, retriable: bool,
) -> None:
    route = api.post(EVENTS).mock(return_value=response)
    with pytest.raises(ChannelError) as caught:
        PagerDutyEvents().trigger(SecretStr(ROUTING_KEY), variable="PD_ROUTING_KEY_SUPPORT",
                                  dedup_key="k", summary="s", source="x", severity="warning")
    assert caught.value.retriable == retriable
    assert route.call_count == 1
    assert "PD_ROUTING_KEY_SUPPORT" in str(caught.value) and ROUTING_KEY not in str(caught.value)


def test_a_refused_event_is_dead_at_once_and_a_closed_review_resolves(
    factory: sessionmaker[Session], registry: Registry, smtp_server: SmtpServer,
    api: respx.MockRouter, env: None,
) -> None:
    api.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
    api.post(EVENTS).mock(side_effect=[
        httpx.Response(400, json={"status": "invalid event", "message": "Event object is invalid",
                                  "errors": ["bad"]}),
        httpx.Response(202, json={"status": "success", "dedup_key": "support-2026-W46"}),
    ])
    enqueue(factory, unauthorized_change_alerts(registry, verdict(1)))
    first = dispatch(factory, registry, channels_for(smtp_server), clock=Clock())
    assert first.dead == 1
    dead = next(r for r in outbox(factory) if r.status == "dead")
    assert dead.channel == "pagerduty" and dead.attempts == 1
    assert "Event object is invalid" in (dead.last_error or "")
    enqueue(factory, [a for a in review_closed_alerts(registry, review(), "lee", "done")
                      if a.channel == "pagerduty"])
    dispatch(factory, registry, channels_for(smtp_server), clock=Clock())
    resolved = next(r for r in outbox(factory) if r.kind == "risk_review_closed")
    assert (resolved.status, resolved.provider_id) == ("sent", "support-2026-W46")


# --- Jira tickets ---------------------------------------------------------------------------


def tickets() -> JiraTickets:
    return JiraTickets(JIRA, email="bot@acme.example", api_token=SecretStr("jira-token-XYZ"))


def test_an_existing_ticket_is_found_by_its_label_and_not_created_again(
    api: respx.MockRouter,
) -> None:
    search = api.post(f"{JIRA}/rest/api/3/search/jql").mock(return_value=httpx.Response(
        200, json={"issues": [{"id": "1", "key": "RISK-7"}], "isLast": True}))
    create = api.post(f"{JIRA}/rest/api/3/issue")
    client = tickets()
    try:
        key, created = client.ensure_ticket(
            project="RISK", issue_type="Task", summary="s", description=adf_doc(
                adf_paragraph("d")), label="accountability-support-2026-W46",
            assignee_account_id="acc-lee")
    finally:
        client.close()
    assert (key, created) == ("RISK-7", False) and not create.called
    assert body(search.calls[0])["jql"] == (
        'project = "RISK" AND labels = "accountability-support-2026-W46" ORDER BY created ASC')


def test_a_ticket_is_created_with_adf_labels_and_the_assignee_or_without_a_refused_one(
    api: respx.MockRouter,
) -> None:
    api.post(f"{JIRA}/rest/api/3/search/jql").mock(return_value=httpx.Response(
        200, json={"issues": [], "isLast": True}))
    create = api.post(f"{JIRA}/rest/api/3/issue").mock(side_effect=[
        httpx.Response(400, json={"errorMessages": [], "errors": {
            "assignee": "User 'acc-lee' cannot be assigned issues."}}),
        httpx.Response(201, json={"id": "10001", "key": "RISK-8"}),
    ])
    client = tickets()
    try:
        key, created = client.ensure_ticket(
            project="RISK", issue_type="Task", summary="line one\r\nline two " + "x" * 400,
            description=adf_doc(adf_paragraph("d")), label="accountability-support-2026-W46",
            assignee_account_id="acc-lee")
    finally:
        client.close()
    assert (key, created) == ("RISK-8", True)
    first, second = (body(c)["fields"] for c in create.calls)
    assert first["assignee"] == {"accountId": "acc-lee"} and "assignee" not in second
    assert first["labels"] == ["accountability", "accountability-support-2026-W46"]
    assert "\n" not in first["summary"] and len(first["summary"]) == 255
    assert first["description"]["type"] == "doc"
    assert "assign this ticket by hand" in json.dumps(second["description"])


def test_jira_errors_name_the_credentials_not_the_token(api: respx.MockRouter) -> None:
    api.post(f"{JIRA}/rest/api/3/search/jql").mock(return_value=httpx.Response(
        401, text="Client must be authenticated to access this resource."))
    client = tickets()
    try:
        with pytest.raises(ChannelError) as caught:
            client.find_by_label("RISK", "accountability-x")
    finally:
        client.close()
    assert "JIRA_API_TOKEN" in str(caught.value) and "jira-token-XYZ" not in str(caught.value)
    assert caught.value.retriable


def test_dispatch_creates_the_review_ticket_assigned_to_the_risk_owner(
    factory: sessionmaker[Session], registry: Registry, smtp_server: SmtpServer,
    api: respx.MockRouter, env: None,
) -> None:
    api.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
    api.post(EVENTS).mock(return_value=httpx.Response(202, json={"dedup_key": "support-2026-W46"}))
    api.post(f"{JIRA}/rest/api/3/search/jql").mock(return_value=httpx.Response(
        200, json={"issues": [], "isLast": True}))
    create = api.post(f"{JIRA}/rest/api/3/issue").mock(
        return_value=httpx.Response(201, json={"id": "10001", "key": "RISK-1"}))
    enqueue(factory, risk_review_alerts(registry, review()))
    access = JiraAccess(JIRA, "bot@acme.example", SecretStr("jira-token-XYZ"))
    report = dispatch(factory, registry, channels_for(smtp_server, jira=access), clock=Clock())
    assert report.failed == report.dead == 0
    fields = body(create.calls[0])["fields"]
    assert fields["assignee"] == {"accountId": registry.people["lee"].jira}
    assert fields["project"] == {"key": "RISK"} and fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == ("Risk review support-2026-W46: Support resolution time "
                                 "breached throughput, exception_rate")
    jira_row = next(r for r in outbox(factory) if r.channel == "jira")
    assert (jira_row.status, jira_row.provider_id) == ("sent", "RISK-1")
