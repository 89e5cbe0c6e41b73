"""Exceptions raised by the inbound connectors.

Classification (retriable or fatal) is decided here and in `connectors.http`, apart from the
retry mechanism in `connectors.retry`, which only asks `isinstance(exc, RetriableAPIError)`.

Every message is safe to log: URLs are redacted before they get here (`connectors.http.redact_url`)
and no message is ever built from request headers, so a token cannot leak through `str(exc)`.
"""

from __future__ import annotations


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
        self.retry_after = retry_after


class FatalAPIError(ConnectorError):
    """A 4xx other than 429: asking again gives the same answer; the message is the vendor's."""


class AuthError(FatalAPIError):
    """401 or 403: the message names the environment variables to check."""


class MalformedResponseError(ConnectorError):
    """A success status with a body that is not the documented JSON (HTML, missing keys)."""


class PaginationLoopError(ConnectorError):
    """The API led back to a page already read (a repeated `nextPageToken`, say): following
    it would never end."""


class PageLimitError(ConnectorError):
    """The API will not page this far (PagerDuty: `offset + limit` past 10,000).

    Asking again gives the same answer; the caller narrows the query instead (PagerDuty's
    time windows are bisected until each fits).
    """
