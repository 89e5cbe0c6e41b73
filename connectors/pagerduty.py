"""Inbound PagerDuty connector: incidents, log entries and reference data, as raw dicts.

Built on the vendor's `pagerduty` 6.3 client (`RestApiV2Client`, itself an `httpx.Client`, so
respx intercepts it): it supplies the `Token token=` header, the versioned `Accept` header, the
base URL handling and the `[]` suffix of list parameters. Paging, time windows and retries are
ours, for reasons the client's source makes plain:

* It sleeps with a hard-wired `time.sleep`, retries 429 without limit by default, never reads
  the rate-limit headers, and retries transport errors on its own. `_RestClient` switches that
  loop off, so every retry goes through `connectors.retry` (bounded, `ratelimit-reset` aware,
  injectable sleep).
* `iter_all` stops at 10,000 records with a warning, and `iter_history` costs an extra request
  per window (`get_total`), sends `+0000` offsets, splits at whole seconds without dedup and
  knows nothing of the 6-month cap on `/incidents`. `_windowed` asks for `total=true` on the
  first page instead, splits windows longer than 180 days, bisects any window holding more
  than 10,000 records and deduplicates by id, so split boundaries neither lose nor repeat.

The endpoints are declared below as data; the one loop in `connectors.pagination` pages them
with an `OffsetPaginator`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
import pagerduty
from pydantic import SecretStr

from connectors.errors import (
    ConnectorError,
    FatalAPIError,
    PageLimitError,
)
from connectors.http import (
    ApiProfile,
    RequestLimits,
    build_ssl_context,
    build_timeout,
    check_response,
    install_limits,
    parse_json,
    redact_url,
    throttle_hook,
    transport_error,
)
from connectors.pagination import Caller, Endpoint, OffsetPaginator, paginate
from connectors.ratelimit import RateLimiter, shared_limiter
from connectors.retry import RetryPolicy, call_with_retry
from connectors.stats import RequestStats

log = logging.getLogger(__name__)

PAGE_SIZE = 100
"""`limit` per page; the API's maximum for classic pagination."""
MAX_RECORDS_PER_QUERY = pagerduty.ITERATION_LIMIT
"""`offset + limit` may not exceed 10,000: beyond it the API answers 400."""
MAX_WINDOW = timedelta(days=180)
"""`since`/`until` may be at most 6 months apart on `/incidents`; 180 days stays under."""
PAGERDUTY_RATE_LIMIT = 960
"""REST requests a minute per API key (account keys), or per user across all of that user's
keys: "REST API Rate Limits", https://support.pagerduty.com/docs/rest-api-rate-limits and
https://developer.pagerduty.com/docs/rest-api-rate-limits. More are answered 429."""
PAGERDUTY_CONCURRENCY = 8
"""Time windows one sync fetches at once (`ACCOUNTABILITY_PAGERDUTY_CONCURRENCY`)."""


_WINDOWED = partial(
    OffsetPaginator, limit=PAGE_SIZE, max_records=MAX_RECORDS_PER_QUERY, ask_total=True
)
"""Time-windowed history: `total=true` on a window's first page says at once that it must be
split, before its other pages are read or any of its records is yielded."""
_EVERYTHING = partial(
    OffsetPaginator, limit=PAGE_SIZE, max_records=MAX_RECORDS_PER_QUERY, ask_total=False
)
"""Reference data: read whole, no window to split, so no `total` is asked."""

INCIDENTS = Endpoint(
    "GET", "/incidents", "incidents", _WINDOWED,
    params={"time_zone": "UTC", "sort_by": "created_at:asc"},
)
LOG_ENTRIES = Endpoint(
    "GET", "/log_entries", "log_entries", _WINDOWED,
    params={"include[]": ["incidents"], "time_zone": "UTC", "is_overview": "false"},
)
INCIDENT_LOG_ENTRIES = Endpoint(
    "GET", "/incidents/{id}/log_entries", "log_entries", _EVERYTHING,
    params={"include[]": ["incidents"], "time_zone": "UTC", "is_overview": "false"},
)
"""One incident's whole log (`listIncidentLogEntries`): unwindowed, for an incident whose
start lies before the sync's first window."""
USERS = Endpoint("GET", "/users", "users", _EVERYTHING)
SERVICES = Endpoint("GET", "/services", "services", _EVERYTHING)
ESCALATION_POLICIES = Endpoint("GET", "/escalation_policies", "escalation_policies", _EVERYTHING)


def _pagerduty_error_text(body: Any) -> str | None:
    """PagerDuty's `{"error": {"message": ..., "errors": [...]}}` as one line."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return error
    if not isinstance(error, dict):
        return None
    message = str(error.get("message") or "").strip()
    details = error.get("errors")
    detail_text = "; ".join(str(d) for d in details if d) if isinstance(details, list) else ""
    if message and detail_text:
        return f"{message}: {detail_text}"
    return message or detail_text or None


PAGERDUTY = ApiProfile(
    name="PagerDuty",
    credentials_hint="PAGERDUTY_API_TOKEN",
    url_variable="PAGERDUTY_API_URL",
    error_text=_pagerduty_error_text,
)


class _RestClient(pagerduty.RestApiV2Client):
    """`RestApiV2Client` with its own retry loop switched off.

    `ApiClient.request` calls `postprocess` on every response before it looks at the status, so
    raising our classified error there returns control to `connectors.retry` before the client
    could sleep on a 429; with `max_network_attempts = 0` a transport error surfaces at once
    as `pagerduty.Error` (chained to the httpx exception).
    """

    max_network_attempts = 0

    def postprocess(self, response: httpx.Response, suffix: str | None = None) -> None:
        super().postprocess(response, suffix)
        check_response(response, PAGERDUTY)


class PagerDutyClient:
    """Reads incidents, log entries, users, services and escalation policies.

    Example:
        >>> with PagerDutyClient(SecretStr("...")) as pd:   # doctest: +SKIP
        ...     for incident in pd.incidents(["PSUP001"], since, until):
        ...         ...

    Safe to share between threads (the sync fetches windows at once through one client):
    httpx's client is, and the counters take a lock.

    Attributes:
        stats: requests and retries per endpoint.
        limiter: the client-side rate limit its requests wait on, if any.
        concurrency: requests its user may have in flight at once.
    """

    def __init__(
        self,
        api_token: SecretStr,
        *,
        base_url: str = "https://api.pagerduty.com",
        ca_bundle: Path | None = None,
        timeout: float = 30.0,
        max_429_retries: int | None = 5,
        max_attempts: int = 6,
        rate_limit_budget: float | None = None,
        limits: RequestLimits | None = None,
        sleep: Callable[[float], None] = time.sleep,
        throttle: Callable[[], None] | None = None,
        rate_limit: int | None = PAGERDUTY_RATE_LIMIT,
        limiter: RateLimiter | None = None,
        concurrency: int = PAGERDUTY_CONCURRENCY,
    ) -> None:
        """`throttle` is called before every request, retries included, and may block: the
        scheduled flows pass a Prefect global rate limit so all workers stay under
        PagerDuty's 960 requests a minute (docs/operations.md).

        `rate_limit` (requests a minute; None: none) is this process's own limit: every
        client with the same token and URL draws from one `connectors.ratelimit` bucket, so
        threads fetching windows at once never send more than that in any 60 seconds.
        `limiter` replaces that bucket (tests use a short window). Both wait after
        `throttle`, right before the request goes out, so a slow Prefect slot cannot bunch
        requests together. `concurrency`: how many requests its user may have in flight at
        once (the sync's windows fetched in parallel).

        `rate_limit_budget` (seconds; the sync passes `ACCOUNTABILITY_RATE_LIMIT_BUDGET` and
        `max_429_retries=None`) waits out 429s until one request has waited that long;
        `max_429_retries`, if not None, also caps their number. `limits`: page ceiling,
        response size cap and deadline per request (`RequestLimits` defaults when None)."""
        limits = limits or RequestLimits()
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        if not base_url.startswith("https://"):
            raise ValueError(
                f"PAGERDUTY_API_URL must use https:// (got {redact_url(base_url)!r}): "
                "the pagerduty client refuses anything else"
            )
        try:
            self._rest = _RestClient(
                api_token.get_secret_value(),
                base_url=base_url.rstrip("/"),
                verify=build_ssl_context(ca_bundle),
            )
        except pagerduty.UrlError as exc:
            raise ValueError(f"PAGERDUTY_API_URL is not usable: {exc}") from None
        # ApiClient passes its own `timeout` attribute (60 s by default) to every request.
        self._rest.timeout = build_timeout(timeout)  # type: ignore[assignment]
        if throttle is not None:
            self._rest.event_hooks["request"].append(throttle_hook(throttle))
        if limiter is None and rate_limit is not None:
            limiter = shared_limiter(f"{base_url.rstrip('/')} {api_token.get_secret_value()}",
                                     rate_limit, 60.0)
        self.limiter = limiter
        if limiter is not None:
            self._rest.event_hooks["request"].append(throttle_hook(limiter))
        install_limits(self._rest, limits, PAGERDUTY)
        self._policy = RetryPolicy(
            max_attempts=max_attempts, max_rate_limit_retries=max_429_retries,
            rate_limit_budget=rate_limit_budget, sleep=sleep,
        )
        self._caller = Caller("PagerDuty", self._send, self._url, max_pages=limits.max_pages)
        self.stats = RequestStats()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._rest.close()

    def incidents(
        self, service_ids: Sequence[str], since: datetime, until: datetime
    ) -> Iterator[dict[str, Any]]:
        """Incidents of `service_ids` CREATED in [since, until), each once.

        PagerDuty filters incidents by creation time only; changes to older incidents reach
        the sync through `log_entries`.
        """
        if isinstance(service_ids, str) or not service_ids:
            raise ValueError("service_ids must be a non-empty list of PagerDuty service ids")
        params = {"service_ids[]": list(service_ids)}
        yield from self._windowed(INCIDENTS, params, since, until)

    def log_entries(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """Log entries created in [since, until) across the account, each once per call.

        `include[]=incidents` embeds the full incident in every entry: its `escalation_policy`
        (needed to judge routing by a non-user agent, SPEC §4) and `service` come with it,
        also for incidents created before the incident window. PagerDuty's `since` is
        inclusive, so callers overlap windows and entries repeated at the seam are dropped here.
        """
        yield from self._windowed(LOG_ENTRIES, {}, since, until)

    def incident_log_entries(self, incident_id: str) -> Iterator[dict[str, Any]]:
        """Every log entry of one incident (`GET /incidents/{id}/log_entries`), in the API's
        order, each once.

        `/log_entries` is read from the sync's start, so an incident created before it first
        shows up through a later entry, and its trigger and first assignment never come: its
        own log, unwindowed when no `since`/`until` is sent, has them.
        """
        if not incident_id or not isinstance(incident_id, str):
            raise ValueError("incident_id must be a PagerDuty incident id")
        path = {"id": quote(incident_id, safe="")}
        seen: set[str] = set()
        for records in paginate(self._caller, INCIDENT_LOG_ENTRIES, path_params=path):
            yield from self._first_sightings(records, seen, INCIDENT_LOG_ENTRIES)

    def users(self) -> Iterator[dict[str, Any]]:
        yield from self._everything(USERS)

    def services(self) -> Iterator[dict[str, Any]]:
        yield from self._everything(SERVICES)

    def escalation_policies(self) -> Iterator[dict[str, Any]]:
        yield from self._everything(ESCALATION_POLICIES)

    def _everything(self, endpoint: Endpoint) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        try:
            for records in paginate(self._caller, endpoint):
                yield from self._first_sightings(records, seen, endpoint)
        except PageLimitError:
            raise ConnectorError(
                f"PagerDuty holds more than {MAX_RECORDS_PER_QUERY} {endpoint.records_key}: "
                "classic pagination cannot reach past that",
                url=self._url(endpoint.path),
            ) from None

    def _windowed(
        self,
        endpoint: Endpoint,
        params: dict[str, Any],
        since: datetime,
        until: datetime,
    ) -> Iterator[dict[str, Any]]:
        """Records in [since, until): spans of ≤ 180 days, each bisected until it fits."""
        start, end = _whole_seconds(since, until)
        seen: set[str] = set()
        for span_start, span_end in _spans(start, end, MAX_WINDOW):
            windows = [(span_start, span_end)]
            while windows:
                low, high = windows.pop()
                query = {**params, "since": _iso(low), "until": _iso(high)}
                try:
                    for records in paginate(self._caller, endpoint, query):
                        yield from self._first_sightings(records, seen, endpoint)
                except PageLimitError:
                    first, second = _halves(low, high, endpoint)
                    log.info("PagerDuty %s: splitting %s", endpoint.records_key, query["since"])
                    windows.extend([second, first])

    def _send(self, endpoint: Endpoint, path: str, params: dict[str, Any]) -> Any:
        """One GET (every PagerDuty list is one) with the retry policy; `paginate`'s way in.

        PagerDuty answers a page past its 10,000-record cap with a 400 that names the
        offset: that is `PageLimitError`, the signal to narrow the query, not a failure.
        """
        try:
            return self._get(endpoint, path, params)
        except FatalAPIError as exc:
            if exc.status == 400 and "offset" in (exc.server_message or "").lower():
                raise PageLimitError(exc.message, status=400, url=exc.url) from exc
            raise

    def _get(self, endpoint: Endpoint, path: str, params: dict[str, Any]) -> Any:
        url = self._url(path)

        def attempt() -> Any:
            self.stats.record_request(endpoint.label)
            try:
                response = self._rest.get(path, params=params)
            except pagerduty.Error as exc:
                raise _wrap_client_error(exc, url) from exc
            except pagerduty.UrlError as exc:
                raise FatalAPIError(
                    f"the pagerduty client refused the URL {url}: {exc}", url=url
                ) from exc
            return parse_json(response, PAGERDUTY)

        return call_with_retry(attempt, self._policy, stats=self.stats, endpoint=endpoint.label)

    def _first_sightings(
        self, records: list[Any], seen: set[str], endpoint: Endpoint
    ) -> Iterator[dict[str, Any]]:
        """The records not seen before in this listing: split windows share their seams."""
        for record in records:
            if self._first_sighting(record, seen, endpoint):
                yield record

    def _first_sighting(self, record: Any, seen: set[str], endpoint: Endpoint) -> bool:
        """False for a record already yielded. A record without a string id cannot be
        deduplicated, but it is one bad record, not a bad answer: it is passed on, and the
        sync quarantines it with its reason instead of failing the whole run."""
        record_id = record.get("id") if isinstance(record, dict) else None
        if not isinstance(record_id, str):
            log.warning("PagerDuty answered %s with a record without an id",
                        self._url(endpoint.path))
            return True
        if record_id in seen:
            return False
        seen.add(record_id)
        return True

    def _url(self, path: str) -> str:
        return redact_url(self._rest.url.rstrip("/") + path)


def _wrap_client_error(exc: pagerduty.Error, url: str) -> ConnectorError:
    """The vendor client's own exceptions as ours; their text is not reused (it can carry the
    last characters of the token)."""
    cause = exc.__cause__
    if isinstance(cause, httpx.TransportError):
        return transport_error(cause, PAGERDUTY, url)
    status = exc.response.status_code if exc.response is not None else None
    return FatalAPIError(
        f"the pagerduty client failed on {url}: {type(exc).__name__}", status=status, url=url
    )


def _whole_seconds(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """UTC bounds widened to whole seconds (the API takes seconds): floor since, ceil until."""
    for name, value in (("since", since), ("until", until)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} is a naive datetime: pass an aware datetime (UTC)")
    if until < since:
        raise ValueError("until must not be before since")
    start = since.astimezone(UTC).replace(microsecond=0)
    end = until.astimezone(UTC)
    if end.microsecond:
        end = end.replace(microsecond=0) + timedelta(seconds=1)
    return start, end


def _spans(
    start: datetime, end: datetime, longest: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    while start < end:
        stop = min(start + longest, end)
        yield start, stop
        start = stop


def _halves(
    low: datetime, high: datetime, endpoint: Endpoint
) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    seconds = int((high - low).total_seconds())
    if seconds < 2:
        raise ConnectorError(
            f"PagerDuty holds more than {MAX_RECORDS_PER_QUERY} {endpoint.records_key} created "
            f"between {_iso(low)} and {_iso(high)}: the window cannot be split further"
        )
    middle = low + timedelta(seconds=seconds // 2)
    return (low, middle), (middle, high)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the order PagerDuty applied log entries ----------------------------------------------------


def applied_order(entries: Iterable[Any]) -> Iterator[tuple[Any, int]]:
    """Each entry of one listing with its rank among its incident's entries of the same second,
    in the order PagerDuty applied them (0 for the first, and for nearly every entry).

    `created_at` has whole seconds and ids are random, so once stored, an assignment and the
    escalation made in its second cannot be told apart in time: only the listing knows. The
    OpenAPI document (`listLogEntries`, `listIncidentLogEntries`) offers no sort parameter and
    does not state an order; PagerDuty lists newest first, which this reads off the listing
    itself (the first two different timestamps) and assumes only for a listing of one second.
    Entries of one second are adjacent in a time-ordered listing, so only the current second
    (and, until the direction is known, the first) is held: memory stays flat. Records whose
    timestamp or incident cannot be read get rank 0 (the sync quarantines them).
    """
    newest_first: bool | None = None
    held: list[list[Any]] = []  # groups of one second waiting for the direction
    group: list[Any] = []
    group_at: str | None = None
    for entry in entries:
        at = _created_at(entry)
        if group and at == group_at:
            group.append(entry)
            continue
        if group:
            if newest_first is None and at is not None and group_at is not None:
                newest_first = _instant(at) < _instant(group_at)
            held.append(group)
            if newest_first is not None:
                for waiting in held:
                    yield from _ranked(waiting, newest_first)
                held = []
        group, group_at = [entry], at
    if group:
        held.append(group)
    for waiting in held:
        yield from _ranked(waiting, True if newest_first is None else newest_first)


def _created_at(entry: Any) -> str | None:
    value = entry.get("created_at") if isinstance(entry, Mapping) else None
    if not isinstance(value, str):
        return None
    try:
        _instant(value)
    except ValueError:
        return None
    return value


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _ranked(group: list[Any], newest_first: bool) -> Iterator[tuple[Any, int]]:
    """A second's entries in listing order with their rank per incident."""
    incidents: dict[object, int] = {}
    for entry in group:
        incident = _incident_id(entry)
        incidents[incident] = incidents.get(incident, 0) + 1
    seen: dict[object, int] = {}
    for entry in group:
        incident = _incident_id(entry)
        index = seen.get(incident, 0)
        seen[incident] = index + 1
        yield entry, (incidents[incident] - 1 - index) if newest_first else index


def _incident_id(entry: Any) -> object:
    incident = entry.get("incident") if isinstance(entry, Mapping) else None
    return incident.get("id") if isinstance(incident, Mapping) else None
