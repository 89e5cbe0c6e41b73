"""Errors of the outbound channels (email, Slack, PagerDuty Events, Jira tickets).

The dispatcher only asks three questions of a failure, so that is all this carries:

* `retriable` — will the same send succeed later? A channel that is down, rate limited or
  misconfigured (a missing variable, refused credentials: the operator can fix them) is
  retriable; a payload the service refuses as invalid (HTTP 400/413/422, SMTP 5xx on the
  message) is not, and the alert goes dead at once instead of being refused eight times.
* `unreachable` — does it condemn every other send on the same channel in this dispatch (SMTP
  down, TLS refused)? Then the dispatcher fails them without trying, so a dead server costs one
  timeout, not one per alert.
* `overloaded` — did the service as a whole refuse for now (HTTP 429 or 5xx)? Like an
  unreachable one, that says the destination is down, not this message: the dispatcher trips
  the destination's circuit breaker and holds all its alerts until the same moment.
* `retry_after` — the service's own advice, in seconds.

Messages are stored in the outbox and logged: they never contain a secret (webhook URL,
routing key, password); a channel names the environment variable instead.
"""

from __future__ import annotations

from connectors.errors import ConnectorError, RetriableAPIError, sane_delay

FATAL_HTTP_STATUSES = frozenset({400, 413, 422})
"""The request itself is refused: sending it again gets the same answer."""


class ChannelError(Exception):
    """A send that did not happen (or not for every recipient)."""

    def __init__(
        self,
        message: str,
        *,
        retriable: bool = True,
        unreachable: bool = False,
        overloaded: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retriable = retriable
        self.unreachable = unreachable
        self.overloaded = overloaded
        # Sanitized here as well as where headers are parsed: the dispatcher computes the
        # next attempt from it, and `timedelta(seconds=nan)` raises mid-dispatch.
        self.retry_after = sane_delay(retry_after)

    @property
    def destination_down(self) -> bool:
        """The failure is the destination's (down, overloaded), not this message's or one
        recipient's: every alert for that destination should wait for the same retry."""
        return self.unreachable or self.overloaded

    def __str__(self) -> str:
        return self.message


class ChannelConfigError(ChannelError):
    """The channel is not configured (a variable is missing): retriable once someone fixes it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retriable=True, unreachable=False)


def from_connector_error(exc: ConnectorError, channel: str) -> ChannelError:
    """A classified HTTP failure (`connectors.http.check_response`) as a channel failure."""
    message = f"{channel}: {exc.message}"
    if isinstance(exc, RetriableAPIError):
        return ChannelError(message, retriable=True, unreachable=exc.status is None,
                            overloaded=exc.status is not None, retry_after=exc.retry_after)
    fatal = exc.status in FATAL_HTTP_STATUSES
    return ChannelError(message, retriable=not fatal)
