"""The alert channels (SPEC §6) as one table: each declared once, read by routing and dispatch.

A channel used to be spelled out in routing's if-chain over the registry's `alerts` fields,
the dispatcher's grouping branches and its "has no alerts.…" messages, the list of secret
settings the flows look up, and storage's CHECK list. Now it is one `Channel` row here (the
pure part: its name, the registry field that switches it on, its recipient, how its rows
become messages) and one line in `accountability.dispatch.DELIVERIES` (the shell: its sender
and the renderer that sender writes with).

What stays per channel, because it is not data: the registry field's type
(`rules.registry.models.Alerts`), the rule for which events it carries when SPEC §6 gives one
(`rules.routing`: PagerDuty resolves, Jira only tickets risk reviews), its connector, its
renderer and its sender. A new channel also needs a migration: its name joins the outbox's
CHECK constraint (`storage.models.ALERT_CHANNELS` is read from here).

Pure: no I/O, nothing from `storage`, `connectors`, `flows` or `accountability`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from rules.registry.models import Alerts


class Batch(StrEnum):
    """How the dispatcher turns a channel's due rows into messages (SPEC §6 "grouping")."""

    AUDIENCE = "audience"
    """One message per workflow, alert kind and recipient set (to and cc), listing its items:
    nobody receives an item that was not routed to them."""
    KIND = "kind"
    """One message per workflow and alert kind, listing its items."""
    ROW = "row"
    """One message per row: an event or a ticket stands for one finding or review."""


@dataclass(frozen=True, slots=True)
class Channel:
    """One alert channel."""

    name: str
    """The outbox's `channel` value (a CHECK constraint in storage) and the dispatch report's
    key; never renamed without a migration."""
    title: str
    """How a message about a failure names the channel: `Slack`, `PagerDuty Events`."""
    setting: str | None
    """The field of a workflow's `alerts` block that switches the channel on; None: always on
    (email, SPEC §6)."""
    secret: bool
    """The setting is an `env:NAME` reference, whose variable the flows fill from Prefect
    Secret blocks."""
    recipient: str | None
    """The recipient of its rows when there is one per event (Slack's `webhook`, PagerDuty's
    `events`); None: people, routed per event (email: to and cc; Jira: the risk owner)."""
    batch: Batch

    def setting_of(self, alerts: Alerts) -> object | None:
        """The workflow's setting for this channel, None when unset or always on.

        The one place a setting is read by name; `tests/alerts/test_channel_table.py` checks
        every name is an `Alerts` field."""
        return getattr(alerts, self.setting) if self.setting is not None else None

    def switched_on(self, alerts: Alerts) -> bool:
        return self.setting is None or bool(self.setting_of(alerts))


EMAIL: Final = Channel("email", "email", None, secret=False, recipient=None,
                       batch=Batch.AUDIENCE)
SLACK: Final = Channel("slack", "Slack", "slack_webhook", secret=True, recipient="webhook",
                       batch=Batch.KIND)
PAGERDUTY: Final = Channel("pagerduty", "PagerDuty Events", "pagerduty_routing_key",
                           secret=True, recipient="events", batch=Batch.ROW)
JIRA: Final = Channel("jira", "Jira ticket", "jira_risk_review", secret=False, recipient=None,
                      batch=Batch.ROW)

CHANNELS: Final[tuple[Channel, ...]] = (EMAIL, SLACK, PAGERDUTY, JIRA)
"""In the order routing writes rows, the dispatcher sends grouped messages and views list
channels."""

CHANNEL_NAMES: Final[tuple[str, ...]] = tuple(channel.name for channel in CHANNELS)

_BY_NAME: Final[Mapping[str, Channel]] = {channel.name: channel for channel in CHANNELS}


def channel(name: str) -> Channel | None:
    """The row of an outbox `channel` value; None for a name outside the table (a row written
    by a newer version), which the dispatcher then fails instead of guessing."""
    return _BY_NAME.get(name)


def extra_channels(alerts: Alerts) -> tuple[Channel, ...]:
    """The channels a workflow's `alerts` block switches on (email, always on, is not one)."""
    return tuple(c for c in CHANNELS if c.setting is not None and c.switched_on(alerts))
