"""SMTP credentials, webhook URLs, routing keys and API tokens never reach the logs, the
exceptions or the database, even when every channel fails."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from accountability.usecases.dispatch import Channels, JiraAccess, dispatch
from connectors.email import Mailbox
from rules.registry import Registry
from rules.routing import risk_review_alerts
from tests.alerts.conftest import Clock, SmtpServer, enqueue, outbox, review

HOOK = "https://hooks.slack.com/services/T0ACME/B0SUPPORT/hookSECRETpart123"
ROUTING_KEY = "pdSECRETroutingKEY00000000000001"
PASSWORD = "smtpSECRETpassword"
JIRA_TOKEN = "jiraSECRETtoken"
SECRETS = ("hookSECRETpart123", ROUTING_KEY, PASSWORD, JIRA_TOKEN)


@pytest.fixture
def failing_apis() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(HOOK).mock(side_effect=httpx.ConnectError("connection refused"))
        router.post("https://events.pagerduty.com/v2/enqueue").mock(
            return_value=httpx.Response(500, json={"status": "error"}))
        router.post("https://acme.atlassian.net/rest/api/3/search/jql").mock(
            return_value=httpx.Response(401, text="Client must be authenticated"))
        yield router


def test_no_secret_in_logs_errors_or_database_when_every_channel_fails(
    factory: sessionmaker[Session], registry: Registry,
    tls_server: tuple[SmtpServer, Path], failing_apis: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SLACK_WEBHOOK_SUPPORT", HOOK)
    monkeypatch.setenv("PD_ROUTING_KEY_SUPPORT", ROUTING_KEY)
    server, bundle = tls_server
    channels = Channels(
        smtp=server.config(starttls=True, username="alerts", password=SecretStr(PASSWORD),
                           ca_bundle=bundle),
        sender=Mailbox("Accountability", "alerts@acme.example"),
        jira=JiraAccess("https://acme.atlassian.net", "bot@acme.example",
                        SecretStr(JIRA_TOKEN)),
        env_file=None,
    )
    enqueue(factory, risk_review_alerts(registry, review()))
    report = dispatch(factory, registry, channels, clock=Clock())

    assert report.sent == 0 and report.failed == 5  # 2 emails, Slack, PagerDuty, Jira
    rows = outbox(factory)
    errors = {r.channel: r.last_error or "" for r in rows}
    assert "SMTP_USERNAME" in errors["email"]  # says what to check …
    assert "SLACK_WEBHOOK_SUPPORT" in errors["slack"]
    assert "PD_ROUTING_KEY_SUPPORT" in errors["pagerduty"]
    assert "JIRA_API_TOKEN" in errors["jira"]
    stored = json.dumps([[r.payload, r.last_error, r.provider_id, r.dedup_key] for r in rows])
    seen = stored + caplog.text + json.dumps(report.as_dict()) + repr(channels.smtp_config)
    for secret in SECRETS:  # … and never shows the value
        assert secret not in seen, secret
