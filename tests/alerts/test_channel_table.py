"""The channel table (`rules.channels`) agrees with what it names: the registry's `alerts`
fields, storage's CHECK list, the dispatcher's senders, and the secrets the flows look up."""

from __future__ import annotations

import pytest

from accountability.usecases.dispatch import DELIVERIES
from flows.secrets import secret_variables
from rules.channels import CHANNEL_NAMES, CHANNELS, EMAIL, Channel, channel, extra_channels
from rules.registry import Alerts, JiraRiskReview, Registry
from storage.models import ALERT_CHANNELS


@pytest.mark.parametrize("row", CHANNELS, ids=CHANNEL_NAMES)
def test_each_setting_is_an_alerts_field_and_each_channel_has_a_sender(row: Channel) -> None:
    assert row.setting is None or row.setting in Alerts.model_fields
    assert DELIVERIES[row.name].channel is row
    assert channel(row.name) is row


def test_the_outbox_check_constraint_keeps_its_values() -> None:
    """A changed list changes the CHECK constraint: that would need a migration."""
    assert ALERT_CHANNELS == ("email", "slack", "pagerduty", "jira") == CHANNEL_NAMES
    assert set(DELIVERIES) == set(CHANNEL_NAMES)
    assert channel("fax") is None


def test_a_workflow_switches_channels_on_in_table_order() -> None:
    assert extra_channels(Alerts()) == ()
    alerts = Alerts(jira_risk_review=JiraRiskReview(project="RISK"), slack_webhook="env:SLACK_HOOK")
    assert [c.name for c in extra_channels(alerts)] == ["slack", "jira"]
    assert EMAIL.switched_on(Alerts())


def test_only_secret_settings_are_looked_up_as_secrets(registry: Registry) -> None:
    wanted = secret_variables(registry)
    for workflow in registry.workflows.values():
        for row in CHANNELS:
            reference = row.setting_of(workflow.alerts)
            if isinstance(reference, str) and reference.startswith("env:"):
                assert (reference[4:] in wanted) is row.secret
