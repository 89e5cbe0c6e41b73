"""Slack incoming webhooks (httpx): post a Block Kit message, classify what comes back.

An incoming webhook answers `200 ok`, or an error as plain text: `400 invalid_payload`,
`403 action_prohibited`, `404 no_service` (webhook revoked), `410 channel_is_archived`, `429`
with `Retry-After`. The URL is the credential: it never appears in an error (the registry's
variable name does) and is blanked in httpx's logs (`connectors.outbound`).

Block Kit limits this module enforces (https://api.slack.com/reference/block-kit/blocks):
50 blocks per message, 3,000 characters per section text, 150 per header, and the top-level
`text` fallback (notifications) kept under 4,000.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, Final

import httpx
from pydantic import SecretStr

from connectors.channel_errors import FATAL_HTTP_STATUSES, ChannelConfigError, ChannelError
from connectors.errors import ConnectorError, RetriableAPIError
from connectors.http import ApiProfile, build_ssl_context, build_timeout, check_response
from connectors.outbound import register_secret
from connectors.text import one_line, truncate

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
CONTEXT_LIMIT = 2000
FALLBACK_LIMIT = 4000
SLACK_HOSTS: Final[tuple[str, ...]] = ("hooks.slack.com",)
"""Where incoming webhooks live; others only when `ACCOUNTABILITY_SLACK_HOSTS` lists them."""


FORMATTING = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})
"""mrkdwn's formatting characters (bold, italic, strike, code) → look-alikes Slack never
formats: `∗ ˍ ∼ ˋ`. Slack has no escape for them (only `&amp; &lt; &gt;`), so a ticket titled
`*URGENT* ~ignore~` would otherwise be shown bold and struck through."""


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """Untrusted text for mrkdwn: `&`, `<`, `>` as Slack's entities (no link, mention or
    `<!channel>` can be smuggled in), formatting characters as look-alikes (`FORMATTING`)."""
    return _entities(text).translate(FORMATTING)


def code(text: str) -> str:
    """Untrusted text for inside an inline code span (`` `…` ``), where Slack formats nothing:
    only the entities and the backtick, which would end the span, change; a command stays
    copyable."""
    return _entities(text).replace("`", "\u02cb")


def link(url: str | None, label: str) -> str:
    """`<url|label>` for a safe http(s) URL (no `|` or `>` inside), else the escaped label."""
    text = escape(one_line(label, 200)).replace("|", "¦")
    if url and "|" not in url and ">" not in url:
        return f"<{url}|{text}>"
    return text


def header_block(text: str) -> dict[str, Any]:
    return {"type": "header",
            "text": {"type": "plain_text", "text": one_line(text, HEADER_LIMIT), "emoji": True}}


def section_block(mrkdwn: str) -> dict[str, Any]:
    """A section of already escaped mrkdwn, cut to Slack's limit. `verbatim`: Slack does not
    turn URLs, `#channel` or `@name` in it into links or mentions on its own."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(mrkdwn, SECTION_LIMIT),
                                        "verbatim": True}}


def context_block(mrkdwn: str) -> dict[str, Any]:
    """A context line of already escaped mrkdwn (`verbatim`, as `section_block`)."""
    return {"type": "context",
            "elements": [{"type": "mrkdwn", "text": truncate(mrkdwn, CONTEXT_LIMIT),
                          "verbatim": True}]}


def message(fallback: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The webhook body; blocks beyond 50 are replaced by a last note saying how many.

    `fallback` (the notification text, read as mrkdwn too) is untrusted text: escaped here."""
    if len(blocks) > MAX_BLOCKS:
        hidden = len(blocks) - (MAX_BLOCKS - 1)
        blocks = [*blocks[: MAX_BLOCKS - 1],
                  context_block(f"… and {hidden} more (see the email for the full list)")]
    return {"text": truncate(escape(one_line(fallback)), FALLBACK_LIMIT), "blocks": blocks}


def _slack_error_text(body: Any) -> str | None:
    return None  # Slack answers errors as plain text, read from the response instead


SLACK = ApiProfile(
    name="Slack",
    credentials_hint="the webhook URL in the variable the registry names (alerts.slack_webhook)",
    url_variable="alerts.slack_webhook",
    error_text=_slack_error_text,
)


class SlackWebhook:
    """Posts messages to incoming webhooks; one `httpx.Client` for the dispatch.

    Args:
        ca_bundle: extra trusted CAs (`ACCOUNTABILITY_CA_BUNDLE`).
        transport: an httpx transport instead of the network (tests).
        allowed_hosts: the hosts a webhook URL may point at (`ACCOUNTABILITY_SLACK_HOSTS`,
            default `hooks.slack.com`). The URL comes from an environment variable: a wrong
            one must not post alerts to whatever host it names.
    """

    def __init__(
        self,
        *,
        ca_bundle: Path | None = None,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
        allowed_hosts: Collection[str] = SLACK_HOSTS,
    ) -> None:
        self._allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
        self._http = httpx.Client(
            timeout=build_timeout(timeout),
            verify=build_ssl_context(ca_bundle) if transport is None else True,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def post(self, url: SecretStr, body: dict[str, Any], *, variable: str) -> str:
        """Post `body`; return Slack's answer (`ok`) or its request id as the provider id.

        Args:
            url: the webhook URL (a credential).
            variable: the environment variable it came from, named in errors instead of it.
        """
        where = f"Slack webhook ({variable})"
        register_secret(url.get_secret_value())
        self._check_host(url.get_secret_value(), where)
        try:
            response = self._http.post(url.get_secret_value(), json=body)
        except httpx.InvalidURL:
            raise ChannelError(f"{where}: the value is not a URL", retriable=True) from None
        except httpx.TransportError as exc:
            kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
            raise ChannelError(f"{where}: the request {kind}: {type(exc).__name__}: {exc}",
                               unreachable=True) from None
        try:
            check_response(response, SLACK)
        except ConnectorError as exc:
            reason = one_line(response.text, 200) if response.content else ""
            status = exc.status or response.status_code
            raise ChannelError(
                f"{where} answered HTTP {status}" + (f": {reason}" if reason else ""),
                retriable=status not in FATAL_HTTP_STATUSES,
                overloaded=isinstance(exc, RetriableAPIError),
                retry_after=exc.retry_after if isinstance(exc, RetriableAPIError) else None,
            ) from None
        return response.headers.get("x-slack-req-id") or one_line(response.text, 100) or "ok"

    def _check_host(self, url: str, where: str) -> None:
        """A host outside the allowlist is a configuration error: nothing is sent, the alert
        stays pending with the reason until the variable or the allowlist is fixed."""
        try:
            host = (httpx.URL(url).host or "").lower()
        except (httpx.InvalidURL, TypeError):
            raise ChannelConfigError(f"{where}: the value is not a URL") from None
        if host not in self._allowed_hosts:
            allowed = ", ".join(sorted(self._allowed_hosts)) or "none"
            raise ChannelConfigError(
                f"{where}: host '{host or '?'}' is not an allowed Slack host ({allowed}); "
                "point the variable at an incoming webhook, or add the host to "
                "ACCOUNTABILITY_SLACK_HOSTS (comma-separated)"
            )
