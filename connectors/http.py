"""HTTP plumbing shared by the connectors: TLS, redaction, and turning responses into errors.

`check_response` classifies a response (retriable, fatal, auth, malformed); `connectors.retry`
decides what to do about it. Both connectors go through here, the Jira one with its own
`httpx.Client` and the PagerDuty one through the `pagerduty` client (itself an `httpx.Client`).
"""

from __future__ import annotations

import functools
import json
import math
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import certifi
import httpx
import orjson

from connectors.errors import (
    AuthError,
    ConnectorError,
    FatalAPIError,
    MalformedResponseError,
    RequestDeadlineError,
    ResponseTooLargeError,
    RetriableAPIError,
    sane_delay,
)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_PAGES = 20_000
"""Pages one query may take: 2 million Jira issues at 100 a page; PagerDuty stops at 100."""
DEFAULT_MAX_RESPONSE_MB = 50
"""The largest body read: a bulk changelog page of 1,000 histories is a few MB."""
DEFAULT_REQUEST_DEADLINE = 300.0
"""Seconds one request may take from sending to its last byte (httpx bounds each read only)."""
DEFAULT_RATE_LIMIT_BUDGET = 300.0
"""Seconds one request may spend waiting out 429s before it fails."""
_MB = 1024 * 1024
_STARTED = "accountability.started"
_SECRET_PARAM_MARKERS = ("token", "key", "secret", "password", "signature")
_REDACTED = "REDACTED"


@dataclass(frozen=True)
class ApiProfile:
    """What differs between vendors when a response goes wrong.

    Attributes:
        name: the vendor as users know it ("Jira").
        credentials_hint: the variables to check on 401/403.
        url_variable: the variable holding the base URL, named when the server is not the API.
        error_text: extracts the vendor's error text from a decoded JSON error body.
    """

    name: str
    credentials_hint: str
    url_variable: str
    error_text: Callable[[Any], str | None]


def redact_url(url: httpx.URL | str) -> str:
    """The URL without userinfo and with token/key-like query values replaced."""
    parsed = httpx.URL(str(url))
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    if parsed.query:
        params = [
            (name, _REDACTED if _looks_secret(name) else value)
            for name, value in parsed.params.multi_items()
        ]
        parsed = parsed.copy_with(params=params)
    return str(parsed)


def _looks_secret(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in _SECRET_PARAM_MARKERS)


def throttle_hook(throttle: Callable[[], None]) -> Callable[[httpx.Request], None]:
    """An httpx request event hook that waits on `throttle` before the request goes out.

    A hook rather than a wrapper around each call site, so no request (retries and paging
    included) can bypass it.
    """

    def hook(request: httpx.Request) -> None:
        throttle()

    return hook


@dataclass(frozen=True)
class RequestLimits:
    """What a misbehaving server may cost one query or one request, at most.

    Attributes:
        max_pages: pages one paged query may take (`ACCOUNTABILITY_MAX_PAGES`).
        max_response_bytes: the largest response body read (`ACCOUNTABILITY_MAX_RESPONSE_MB`).
        deadline: seconds one request may take in all, sending to last byte
            (`ACCOUNTABILITY_REQUEST_DEADLINE`); each retry has its own.
        clock: a monotonic clock in seconds (tests pass a fake one).
    """

    max_pages: int | None = DEFAULT_MAX_PAGES
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_MB * _MB
    deadline: float = DEFAULT_REQUEST_DEADLINE
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.max_pages is not None and self.max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        if self.max_response_bytes < 1:
            raise ValueError("max_response_bytes must be at least 1")
        if not self.deadline > 0:
            raise ValueError("deadline must be a positive number of seconds")


def install_limits(client: httpx.Client, limits: RequestLimits, profile: ApiProfile) -> None:
    """Bound every response of `client` by `limits`' size cap and deadline.

    Event hooks rather than a transport wrapper: they see every request whichever transport
    (an environment proxy's included) carries it. The request hook stamps the start; the
    response hook (headers in, body not yet read) refuses a declared length over the cap and
    wraps the body stream, which counts bytes and watches the clock while httpx reads it.
    """

    def started(request: httpx.Request) -> None:
        request.extensions[_STARTED] = limits.clock()

    def bound(response: httpx.Response) -> None:
        request = response.request
        url = redact_url(request.url)
        start = float(request.extensions.get(_STARTED, limits.clock()))
        _check_deadline(limits, start, profile, url)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_response_bytes:
            response.close()
            raise _too_large(limits, profile, url, int(declared))
        response.stream = _LimitedStream(response.stream, limits, start, profile, url)

    client.event_hooks["request"].append(started)
    client.event_hooks["response"].append(bound)


class _LimitedStream(httpx.SyncByteStream):
    """A response body that stops at the size cap or the deadline, whichever comes first."""

    def __init__(
        self,
        inner: httpx.SyncByteStream | Any,
        limits: RequestLimits,
        start: float,
        profile: ApiProfile,
        url: str,
    ) -> None:
        self._inner = inner
        self._limits = limits
        self._start = start
        self._profile = profile
        self._url = url

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._inner:
            received += len(chunk)
            if received > self._limits.max_response_bytes:
                raise _too_large(self._limits, self._profile, self._url, received)
            _check_deadline(self._limits, self._start, self._profile, self._url)
            yield chunk

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


def _check_deadline(limits: RequestLimits, start: float, profile: ApiProfile, url: str) -> None:
    elapsed = limits.clock() - start
    if elapsed > limits.deadline:
        raise RequestDeadlineError(
            f"{profile.name} took over {limits.deadline:g} s to answer {url} "
            f"(ACCOUNTABILITY_REQUEST_DEADLINE): the server is too slow or trickling its "
            "answer; raise the deadline if such answers are normal there",
            url=url,
        )


def _too_large(
    limits: RequestLimits, profile: ApiProfile, url: str, size: int
) -> ResponseTooLargeError:
    cap_mb = limits.max_response_bytes / _MB
    return ResponseTooLargeError(
        f"{profile.name} answered {url} with more than {cap_mb:g} MB (at least {size} "
        f"bytes), the response size cap (ACCOUNTABILITY_MAX_RESPONSE_MB): not read; "
        "raise the cap if pages this large are expected, or check the URL",
        url=url,
    )


def build_timeout(seconds: float = DEFAULT_TIMEOUT) -> httpx.Timeout:
    """One bound for connect, read, write and pool waits: no request hangs forever."""
    return httpx.Timeout(seconds)


def build_ssl_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """System trust plus certifi, plus the extra CAs of `ACCOUNTABILITY_CA_BUNDLE` if given.

    The extra bundle adds to the defaults instead of replacing them, so one setting serves a
    corporate TLS proxy and the local sandbox (its own CA) without breaking public endpoints.
    Loading the stores takes ~0.1 s, so contexts are shared (they are thread-safe), keyed by
    the bundle's path and modification time so a regenerated bundle is read again.
    """
    if ca_bundle is None:
        return _ssl_context(None, 0)
    try:
        modified = ca_bundle.stat().st_mtime_ns
    except OSError as exc:
        raise ConnectorError(
            f"cannot read the CA bundle {ca_bundle} (ACCOUNTABILITY_CA_BUNDLE): {exc}"
        ) from exc
    return _ssl_context(str(ca_bundle), modified)


def warm_ssl_context(ca_bundle: Path | None = None) -> None:
    """Start building `build_ssl_context(ca_bundle)` on a thread of its own and return.

    Reading the CA stores (~30 ms) lets go of the GIL, so a command that will connect soon
    (`accountability sync`, `run`) starts it first and reads its registry and opens its
    database meanwhile; its first client then finds the context made. A failure is left for
    that client's own call, which reports it."""

    def build() -> None:
        try:
            build_ssl_context(ca_bundle)
        except Exception:  # noqa: BLE001 - the client's own call raises it, in context
            return

    # Not a daemon: a command that fails at once (a missing variable) must not reach the
    # interpreter's exit while the thread is inside OpenSSL (a daemon thread there crashed the
    # process at exit, SIGSEGV); the exit waits for it instead, ~30 ms at most.
    threading.Thread(target=build, name="tls-context").start()


@functools.lru_cache(maxsize=8)
def _ssl_context(ca_bundle: str | None, modified: int) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectorError(
                f"cannot load the CA bundle {ca_bundle} (ACCOUNTABILITY_CA_BUNDLE): {exc}"
            ) from exc
    return context


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> float | None:
    """The server's advice on when to come back, in seconds, or None.

    `Retry-After` (seconds or an HTTP date) wins; otherwise PagerDuty's `ratelimit-reset`
    (seconds to wait) or Jira's `X-RateLimit-Reset` (an ISO 8601 instant, minute precision).
    Advice that is not a positive finite number of seconds (`nan`, `inf`, negative, an
    instant already past) is no advice: None, so the caller falls back to jittered backoff.
    The first header that holds usable advice wins.
    """
    moment = now or datetime.now(UTC)
    for header in ("retry-after", "ratelimit-reset", "x-ratelimit-reset"):
        value = response.headers.get(header)
        if value:
            delay = sane_delay(_parse_delay(value.strip(), moment))
            if delay is not None:
                return delay
    return None


def _parse_delay(value: str, now: datetime) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return _seconds_until(_parse_instant(value), now)
    if not math.isfinite(number):
        return None
    # A large number is an epoch timestamp, not a delay.
    return number - now.timestamp() if number > 1e9 else number


def _parse_instant(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _seconds_until(instant: datetime | None, now: datetime) -> float | None:
    if instant is None:
        return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return (instant - now).total_seconds()


def check_response(response: httpx.Response, profile: ApiProfile) -> None:
    """Raise the `ConnectorError` a non-2xx response stands for; return on success."""
    status = response.status_code
    if 200 <= status < 300:
        return
    url = redact_url(response.request.url)
    endpoint = f"{response.request.method} {url}"
    server_message = _server_message(response, profile)
    suffix = f": {server_message}" if server_message else ""
    if status in (401, 403):
        raise AuthError(
            f"{profile.name} refused the credentials (HTTP {status}): check "
            f"{profile.credentials_hint}{suffix}",
            status=status,
            url=url,
            server_message=server_message,
        )
    if status == 429 or status >= 500:
        raise RetriableAPIError(
            f"{profile.name} answered HTTP {status} to {endpoint}{suffix}",
            status=status,
            url=url,
            server_message=server_message,
            retry_after=retry_after_seconds(response),
        )
    if 300 <= status < 400:
        location = redact_url(response.headers.get("location", "?"))
        raise FatalAPIError(
            f"{profile.name} answered {endpoint} with a redirect (HTTP {status}) to {location}: "
            f"is {profile.url_variable} right?",
            status=status,
            url=url,
        )
    raise FatalAPIError(
        f"{profile.name} answered HTTP {status} to {endpoint}{suffix}",
        status=status,
        url=url,
        server_message=server_message,
    )


def _server_message(response: httpx.Response, profile: ApiProfile) -> str | None:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "an HTML page" if _is_html(response) else None
    return profile.error_text(body)


def parse_json(response: httpx.Response, profile: ApiProfile) -> Any:
    """The decoded body of a successful response; an HTML page or non-JSON is malformed."""
    url = redact_url(response.request.url)
    if _is_html(response):
        raise MalformedResponseError(
            f"the server at {url} answered with an HTML page, not the {profile.name} API: "
            f"is {profile.url_variable} right?",
            status=response.status_code,
            url=url,
        )
    try:
        decoded = _decode(response)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedResponseError(
            f"the server at {url} answered HTTP {response.status_code} with a body that is not "
            f"JSON, not the {profile.name} API: is {profile.url_variable} right?",
            status=response.status_code,
            url=url,
        ) from exc
    release_stream(response)
    return decoded


def release_stream(response: httpx.Response) -> None:
    """Let a read response go with its last reference, body and all.

    httpx's response and its stream refer to each other (`BoundSyncStream` keeps the
    response), so every response was garbage only the cycle collector could free, holding its
    body (a Jira changelog page is a megabyte or more) until a collection ran. Its body is
    read and kept (`response.content` still answers); only the spent stream is dropped."""
    response.stream = _SPENT


_SPENT = httpx.ByteStream(b"")


def _decode(response: httpx.Response) -> Any:
    """The body as JSON: orjson on the bytes (JSON is UTF-8, RFC 8259), a third of the
    standard library's time on the sync's large pages. A body orjson cannot read as UTF-8
    JSON is read as text in the charset the response declares.

    orjson reads an integer beyond 64 bits as a float; neither vendor sends one (Jira's
    numbers are Java longs and doubles, PagerDuty's are counts)."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return json.loads(response.text)


def _is_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "").lower()
    if "html" in content_type:
        return True
    head = response.content[:64].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html"))


def require_key(body: Any, key: str, expected: type, *, url: str, api: str) -> Any:
    """`body[key]`, checked to be of the expected type, or `MalformedResponseError`."""
    if not isinstance(body, dict) or not isinstance(body.get(key), expected):
        found = sorted(body)[:10] if isinstance(body, dict) else type(body).__name__
        raise MalformedResponseError(
            f"{api} answered {url} without the expected {key!r} ({expected.__name__}); "
            f"found {found}",
            url=url,
        )
    return body[key]


def transport_error(exc: httpx.TransportError, profile: ApiProfile, url: str) -> ConnectorError:
    """A failure without a response: retriable, unless the TLS certificate was refused.

    A certificate the trust store rejects will be rejected again, so retrying only delays
    the one hint that helps: a private CA (the sandbox's, a corporate proxy's) belongs in
    `ACCOUNTABILITY_CA_BUNDLE`.
    """
    if _is_certificate_error(exc):
        return FatalAPIError(
            f"the TLS certificate of {profile.name} at {url} is not trusted: check "
            f"{profile.url_variable}, or add its CA to ACCOUNTABILITY_CA_BUNDLE ({exc})",
            url=url,
        )
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return RetriableAPIError(
        f"the request to {profile.name} at {url} {kind}: {type(exc).__name__}: {exc}",
        url=url,
    )


def _is_certificate_error(exc: BaseException) -> bool:
    current: BaseException | None = exc
    for _ in range(10):  # the chain is short: httpx -> httpcore -> ssl
        if current is None:
            return False
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        current = current.__cause__ or current.__context__
    return False
