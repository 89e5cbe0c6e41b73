"""Issue 15 item 11: a Slack webhook is posted only to an allowed host
(`ACCOUNTABILITY_SLACK_HOSTS`, default hooks.slack.com); another host is a configuration error
that keeps the alert pending with the reason, and nothing is sent."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from accountability.config.settings import load_settings
from accountability.usecases.dispatch import dispatch
from connectors.channel_errors import ChannelConfigError
from connectors.slack import SlackWebhook
from rules.registry import Registry
from rules.routing import risk_review_alerts
from tests.alerts.conftest import Clock, SmtpServer, channels_for, enqueue, outbox, review

ELSEWHERE = "https://collector.evil.example/services/T0ACME/B0SUPPORT/Xy7SeCrEtWebHook"
MESSAGE = {"text": "fallback", "blocks": []}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def test_a_webhook_on_another_host_is_never_posted(api: respx.MockRouter) -> None:
    route = api.post(ELSEWHERE).mock(return_value=httpx.Response(200, text="ok"))
    slack = SlackWebhook()
    try:
        with pytest.raises(ChannelConfigError) as caught:
            slack.post(SecretStr(ELSEWHERE), MESSAGE, variable="SLACK_WEBHOOK_SUPPORT")
    finally:
        slack.close()
    assert not route.called
    text = str(caught.value)
    assert "host 'collector.evil.example' is not an allowed Slack host (hooks.slack.com)" in text
    assert "ACCOUNTABILITY_SLACK_HOSTS" in text and "Xy7SeCrEt" not in text


def test_an_allowlisted_host_is_posted(api: respx.MockRouter) -> None:
    route = api.post(ELSEWHERE).mock(return_value=httpx.Response(200, text="ok"))
    slack = SlackWebhook(allowed_hosts=("hooks.slack.com", "Collector.Evil.Example"))
    try:
        assert slack.post(SecretStr(ELSEWHERE), MESSAGE, variable="SLACK_WEBHOOK_SUPPORT") == "ok"
    finally:
        slack.close()
    assert route.called


def test_the_allowlist_setting_is_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCOUNTABILITY_SLACK_HOSTS", raising=False)
    assert load_settings().slack_hosts == ("hooks.slack.com",)
    monkeypatch.setenv("ACCOUNTABILITY_SLACK_HOSTS", "hooks.slack.com, 127.0.0.1 ,")
    assert load_settings().slack_hosts == ("hooks.slack.com", "127.0.0.1")


def test_dispatch_keeps_the_alert_pending_with_the_reason(
    factory: sessionmaker[Session], registry: Registry, smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch, api: respx.MockRouter,
) -> None:
    route = api.post(ELSEWHERE).mock(return_value=httpx.Response(200, text="ok"))
    monkeypatch.setenv("SLACK_WEBHOOK_SUPPORT", ELSEWHERE)
    monkeypatch.delenv("PD_ROUTING_KEY_SUPPORT", raising=False)
    enqueue(factory, risk_review_alerts(registry, review()))
    report = dispatch(factory, registry, channels_for(smtp_server, jira=None), clock=Clock())
    assert report.sent == 2 and report.messages["slack"] == 0  # the emails still went out
    assert not route.called
    (slack,) = [r for r in outbox(factory) if r.channel == "slack"]
    assert slack.status == "pending"
    assert "is not an allowed Slack host" in (slack.last_error or "")
