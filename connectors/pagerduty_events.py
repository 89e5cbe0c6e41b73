"""PagerDuty Events API v2 (`pagerduty.EventsApiV2Client`): trigger and resolve by `dedup_key`.

The dedup key is what makes this channel exactly-once on PagerDuty's side: a trigger with the
key of an open alert is appended to it instead of opening a second one, and a resolve closes
it. We send the finding key or the risk review id as the key, so a send repeated after a crash
changes nothing a responder sees.

The vendor client retries 429 forever and 5xx a few times with `time.sleep`; as in
`connectors.pagerduty`, its loop is switched off (`postprocess` raises our classified error,
transport errors surface at once) because the outbox is the retry layer: a failed event stays
pending with its error and goes out on a later dispatch. The routing key travels in the body;
errors name the registry's variable instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pagerduty
from pydantic import SecretStr

from connectors.channel_errors import ChannelError, from_connector_error
from connectors.errors import ConnectorError
from connectors.http import ApiProfile, build_ssl_context, build_timeout, check_response
from connectors.text import one_line, truncate

DEFAULT_URL = "https://events.pagerduty.com"
SUMMARY_LIMIT = 1024
"""`payload.summary`: the Events API truncates beyond 1,024 characters."""
FIELD_LIMIT = 255
DETAIL_LIMIT = 2000
SEVERITIES = ("critical", "error", "warning", "info")


def _events_error_text(body: Any) -> str | None:
    """`{"status": "invalid event", "message": ..., "errors": [...]}` as one line."""
    if not isinstance(body, dict):
        return None
    parts = [str(body[k]) for k in ("status", "message") if body.get(k)]
    errors = body.get("errors")
    if isinstance(errors, list):
        parts += [str(e) for e in errors]
    return one_line("; ".join(parts), 500) or None


EVENTS = ApiProfile(
    name="PagerDuty Events",
    credentials_hint="the routing key in the variable the registry names "
    "(alerts.pagerduty_routing_key)",
    url_variable="PAGERDUTY_EVENTS_URL",
    error_text=_events_error_text,
)


class _EventsClient(pagerduty.EventsApiV2Client):
    """`EventsApiV2Client` with its retry loops off (see the module docstring)."""

    max_network_attempts = 0

    def postprocess(self, response: httpx.Response, suffix: str | None = None) -> None:
        super().postprocess(response)
        check_response(response, EVENTS)


class PagerDutyEvents:
    """Sends events to one Events API endpoint (`PAGERDUTY_EVENTS_URL`).

    Example:
        >>> events = PagerDutyEvents()
        >>> events.trigger(SecretStr(key), variable="PD_ROUTING_KEY_SUPPORT",
        ...                dedup_key="support-2026-W46", summary="Risk review opened",
        ...                source="accountability:support", severity="error")  # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        ca_bundle: Path | None = None,
        timeout: float = 15.0,
    ) -> None:
        if not base_url.startswith("https://"):
            raise ValueError("PAGERDUTY_EVENTS_URL must use https:// (the pagerduty client "
                             "refuses anything else)")
        self._base_url = base_url.rstrip("/")
        self._ca_bundle = ca_bundle
        self._timeout = timeout

    def trigger(
        self,
        routing_key: SecretStr,
        *,
        variable: str,
        dedup_key: str,
        summary: str,
        source: str,
        severity: str,
        component: str | None = None,
        group: str | None = None,
        event_class: str | None = None,
        custom_details: dict[str, Any] | None = None,
        links: list[dict[str, str]] | None = None,
    ) -> str:
        """Open (or append to) the alert `dedup_key`; return the key PagerDuty answered."""
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
        payload: dict[str, Any] = {
            "summary": one_line(summary, SUMMARY_LIMIT),
            "source": one_line(source, FIELD_LIMIT),
            "severity": severity,
        }
        for name, value in (("component", component), ("group", group),
                            ("class", event_class)):
            if value:
                payload[name] = one_line(value, FIELD_LIMIT)
        if custom_details:
            payload["custom_details"] = _details(custom_details)
        event: dict[str, Any] = {"payload": payload}
        if links:
            event["links"] = links
        return self._send(routing_key, variable, "trigger", dedup_key, event)

    def resolve(self, routing_key: SecretStr, *, variable: str, dedup_key: str) -> str:
        """Resolve the alert `dedup_key` (a resolve of an unknown key is accepted and ignored)."""
        return self._send(routing_key, variable, "resolve", dedup_key, {})

    def _send(
        self, routing_key: SecretStr, variable: str, action: str, dedup_key: str,
        properties: dict[str, Any],
    ) -> str:
        where = f"PagerDuty Events ({variable})"
        try:
            client = _EventsClient(
                routing_key.get_secret_value(),
                base_url=self._base_url,
                verify=build_ssl_context(self._ca_bundle),
            )
        except (pagerduty.UrlError, ConnectorError) as exc:
            raise ChannelError(f"{where}: {exc}") from None
        client.retry = {}
        client.timeout = build_timeout(self._timeout)  # type: ignore[assignment]
        try:
            with client:
                return str(client.send_event(action, dedup_key=dedup_key, **properties))
        except ConnectorError as exc:
            raise from_connector_error(exc, where) from None
        except pagerduty.Error as exc:
            cause = exc.__cause__
            detail = type(cause).__name__ if cause is not None else one_line(str(exc), 300)
            raise ChannelError(f"{where}: the request to {self._base_url} failed: {detail}",
                               unreachable=True) from None


def _details(details: dict[str, Any]) -> dict[str, Any]:
    """Custom details with long strings cut (the whole event must stay under 512 KB)."""
    cut: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, str):
            cut[key] = truncate(value, DETAIL_LIMIT)
        elif isinstance(value, list):
            cut[key] = [truncate(v, DETAIL_LIMIT) if isinstance(v, str) else v
                        for v in value[:50]]
        else:
            cut[key] = value
    return cut
