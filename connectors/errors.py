"""Exceptions raised by the inbound connectors.

Classification (retriable or fatal) is decided here and in `connectors.http`, apart from the
retry mechanism in `connectors.retry`, which only asks `isinstance(exc, RetriableAPIError)`.

Every message is safe to log: URLs are redacted before they get here (`connectors.http.redact_url`)
and no message is ever built from request headers, so a token cannot leak through `str(exc)`.
"""

from __future__ import annotations

import math


class ConnectorError(Exception):
    """Base class: a call to Jira or PagerDuty did not give what the sync needs.

    Attributes:
        status: the HTTP status, or None when no response was received.
        url: the request URL, redacted (no userinfo, no token/key query values).
        server_message: the vendor's own error text, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = url
        self.server_message = server_message

    def __str__(self) -> str:
        return self.message


def sane_delay(seconds: float | None) -> float | None:
    """A server's retry advice if it is usable, else None (fall back to our own backoff).

    `nan`, `inf`, zero and negative values (a reset instant already past) are not advice:
    `time.sleep(nan)` raises, `inf` parks a worker, and a zero wait repeated under a time
    budget never spends the budget, so it would hammer the server. Applied where advice is
    parsed and again where it is carried, so that no caller ever sees such a value.
    """
    if seconds is None:
        return None
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return value


class RetriableAPIError(ConnectorError):
    """429, 5xx, a transport error or a timeout: worth trying again later.

    Raised to the caller once the retry budget is spent, so that the outer layer (a Prefect task
    retry) can decide; `retry_after` is the server's own advice in seconds, when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        server_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, url=url, server_message=server_message)
        self.retry_after = sane_delay(retry_after)


class RateLimitBudgetError(RetriableAPIError):
    """A request was still rate limited (429) once its cumulative wait budget was spent.

    Still retriable (a later run may get through), but no longer waited out in this call:
    the message names the budget and the setting that raises it.
    """


class RequestDeadlineError(RetriableAPIError):
    """One request took longer than its overall deadline (a server trickling its answer).

    httpx's timeouts bound each read, not the whole exchange; this bounds the whole.
    """


class FatalAPIError(ConnectorError):
    """A 4xx other than 429: asking again gives the same answer; the message is the vendor's."""


class AuthError(FatalAPIError):
    """401 or 403: the message names the environment variables to check."""


class MalformedResponseError(ConnectorError):
    """A success status with a body that is not the documented JSON (HTML, missing keys)."""


class PaginationLoopError(ConnectorError):
    """The API led back to a page already read (a repeated `nextPageToken`, say): following
    it would never end."""


class TooManyPagesError(ConnectorError):
    """One query went on for more pages than the ceiling allows: a server that keeps saying
    "more" (new tokens, growing offsets) would otherwise be followed forever. Fatal: asking
    again gives the same answer; the message names the setting that raises the ceiling."""


class ResponseTooLargeError(ConnectorError):
    """A response body larger than the size cap: not read to the end, never decoded.

    Fatal: the same request gets the same body; the message names the setting to raise.
    """


class PageLimitError(ConnectorError):
    """The API will not page this far (PagerDuty: `offset + limit` past 10,000).

    Asking again gives the same answer; the caller narrows the query instead (PagerDuty's
    time windows are bisected until each fits).
    """
