"""Inbound Jira connector: issues by JQL and their full assignee/status history, as raw dicts.

httpx directly (SPEC §11): one thread-safe `httpx.Client`, a bounded thread pool for the
changelog batches, every call through `connectors.retry`. Cloud authenticates with email + API
token (basic), Data Center with a personal access token (bearer).

Two Jira facts shape this module:

* Search uses the enhanced `POST /rest/api/3/search/jql`, paged by `nextPageToken` only; the
  old `/rest/api/3/search` answers 410 since 2025, and offset paging over an `updated`-ordered
  result skips or repeats issues that change while we read.
* The changelog embedded in an issue is truncated, so histories always come from
  `POST /rest/api/3/changelog/bulkfetch` (≤ 1000 issues per call), or, where that endpoint is
  missing (404/405), from the paged per-issue `GET /rest/api/3/issue/{id}/changelog`.

The three paged endpoints are declared below as data and walked by the one loop in
`connectors.pagination`.

Jira Data Center / Server speaks another dialect, detected once per client from
`GET /rest/api/2/serverInfo` (`deploymentType` is `"Cloud"` on Cloud, `"Server"` on Server and
Data Center): REST v2 only (`/rest/api/3` answers 404 there), `/rest/api/2/search` paged by
`startAt`/`maxResults` against `total`, no bulk or per-issue changelog endpoint (the per-issue
`/changelog` is Cloud only: 404 on Jira 8.x/9.x), so each issue's complete history comes from
`GET /rest/api/2/issue/{id}?expand=changelog`, which embeds all of it. Users carry `name`/`key`
instead of `accountId`; the changelog's assignee items hold the user *key*, so Data Center users
are handed on with `accountId` set to their key and the rest of the system stays dialect-free.
Sources per behaviour: docs/sync.md, "Jira Data Center".
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import SecretStr

from connectors.errors import ConnectorError, FatalAPIError, MalformedResponseError
from connectors.http import (
    ApiProfile,
    RequestLimits,
    build_ssl_context,
    build_timeout,
    check_response,
    install_limits,
    parse_json,
    redact_url,
    require_key,
    throttle_hook,
    transport_error,
)
from connectors.pagination import Caller, Endpoint, StartAtPaginator, TokenPaginator, paginate
from connectors.retry import RetryPolicy, call_with_retry
from connectors.stats import RequestStats

log = logging.getLogger(__name__)

A = TypeVar("A")
R = TypeVar("R")

BULK_MAX_ISSUES = 1000
"""Issues per bulk changelog request (the endpoint's documented maximum)."""
BULK_MAX_FIELDS = 10
"""Field ids per bulk changelog request (the endpoint's documented maximum)."""
BULK_PAGE_SIZE = 1000
CHANGELOG_PAGE_SIZE = 100
"""`maxResults` of the per-issue changelog; Jira caps it at 100."""
ID_PAGE_SIZE = 5000
"""Issue ids per page of an id-only enhanced search: the documented maximum when only `id` is
asked (`maxResults` of `/rest/api/3/search/jql`: "It returns max 5000 issues")."""
ISSUE_BULK_MAX = 100
"""Issues per `POST /rest/api/3/issue/bulkfetch` (documented: "You can request up to 100")."""
FETCH_BATCH = 1000
"""Issues per `fetch_batches` batch: one bulk changelog request's worth (its maximum)."""
DEFAULT_CONCURRENCY = 8
"""Requests one client keeps in flight at once (`ACCOUNTABILITY_JIRA_CONCURRENCY`)."""
BATCHES_IN_MEMORY = 3
"""Fetched or fetching batches the whole process holds, all clients together (~25 MB each at
1,000 issues with their histories): one partition still has one batch written, one ahead and
one on its way; three partitions side by side share three instead of holding nine. Four had
100k issues beside 50k incidents peak at 304 – 323 MB on a 2-core AMD EPYC, three at 292 MB,
in the same time (`bench/sync.py`, docs/benchmarks.md)."""
_BATCH_BUDGET = threading.BoundedSemaphore(BATCHES_IN_MEMORY)
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


SERVER_INFO = "/rest/api/2/serverInfo"
"""The one path both dialects serve (v2 exists on Cloud too): it tells them apart."""
MYSELF = "/rest/api/3/myself"
ISSUE = "/rest/api/3/issue/{id}"
DC_MYSELF = "/rest/api/2/myself"
DC_ISSUE = "/rest/api/2/issue/{id}"
DC_SEARCH_PATH = "/rest/api/2/search"
DC_SEARCH_MAX = 1000
"""Data Center silently caps `maxResults` of a search at 1000 (and echoes the cap)."""
ISSUE_BULKFETCH = "/rest/api/3/issue/bulkfetch"
"""`POST` with `{"issueIdsOrKeys": [≤ 100], "fields": [...]}` → `{"issues": [IssueBean, in
ascending id order], "issueErrors": [{"id", "errorMessage"}]}`. An issue that is gone or hidden
is simply absent; `issueErrors` holds retriable failures (the OpenAPI's `BulkIssueResults`)."""
JQL_PARSE = "/rest/api/3/jql/parse"
"""`POST ?validation=strict` with `{"queries": [...]}` → `{"queries": [{"query", "errors",
"structure"}]}`: Jira's own verdict on a JQL, without running it."""
SEARCH = Endpoint("POST", "/rest/api/3/search/jql", "issues", TokenPaginator)
BULK_CHANGELOG = Endpoint(
    "POST",
    "/rest/api/3/changelog/bulkfetch",
    "issueChangeLogs",
    TokenPaginator,
    params={"maxResults": BULK_PAGE_SIZE},
)
ISSUE_CHANGELOG = Endpoint(
    "GET",
    "/rest/api/3/issue/{id}/changelog",
    "values",
    partial(StartAtPaginator, page_size=CHANGELOG_PAGE_SIZE),
)


@dataclass(frozen=True)
class Deployment:
    """What `GET /rest/api/2/serverInfo` said about the site.

    Attributes:
        cloud: `deploymentType` is `"Cloud"`; anything else (`"Server"`, which Data Center
            reports too) speaks REST v2 with Data Center shapes.
        version: `version` as reported (`"9.12.7"`; Cloud reports `1001.0.0-SNAPSHOT`).
    """

    cloud: bool
    version: str = ""

    @property
    def label(self) -> str:
        return "Jira Cloud" if self.cloud else f"Jira Data Center {self.version}".rstrip()


CLOUD = Deployment(cloud=True)
DATA_CENTER = Deployment(cloud=False)


class IssueChangelogError(FatalAPIError):
    """An issue's changelog answered 404 while the issue itself is still there: not a
    deletion. The batch fails and its cursor does not move, instead of losing the history."""


@dataclass(frozen=True)
class Changelogs:
    """What `JiraClient.changelogs` read: the histories, and the issues that were gone.

    Returned rather than recorded on the client, which threads share: each caller learns
    exactly which of *its* issues were deleted mid-sync.

    Attributes:
        histories: issue id → its histories, oldest first, with only the asked fields'
            items; ids in the order they were asked. Issues that were gone are not in it.
        missing: ids whose changelog answered 404 (deleted since the search), in the order
            asked. Only the per-issue path sees a 404 per issue; on the bulk path an issue the
            endpoint sent nothing for is in `histories` with an empty list, as before.
    """

    histories: dict[str, list[dict[str, Any]]]
    missing: tuple[str, ...] = ()


class IssueFetchError(ConnectorError):
    """`issue/bulkfetch` listed issues in `issueErrors`: by its document a retriable failure
    on Jira's side (an issue that is gone or hidden is absent instead). The batch fails and its
    cursor does not move, rather than storing the batch without them; the next run reads it
    again."""


@dataclass(frozen=True)
class Batch:
    """One batch of a query's issues with their complete histories (`JiraClient.fetch`).

    Attributes:
        issues: raw issues (the asked fields; Data Center users normalised), in search order,
            each issue once per query even when the search returned it twice.
        histories: issue id → its histories, oldest first, only the asked fields' items.
        missing: ids the search returned that were gone (deleted, or no longer visible) by
            the time their fields or changelog were read: skipped, not stored.
        unreadable: search results without a usable issue id, as they came (the caller
            quarantines them: nothing can be fetched for them).
    """

    issues: list[dict[str, Any]]
    histories: dict[str, list[dict[str, Any]]]
    missing: tuple[str, ...] = ()
    unreadable: tuple[Any, ...] = ()


class _Pending:
    """A batch whose requests are on their way: `result()` waits for them and assembles it."""

    def __init__(self, futures: Sequence[Future[Any]], assemble: Callable[[], Batch]) -> None:
        self.futures = list(futures)
        self.assemble = assemble

    def result(self) -> Batch:
        return self.assemble()

    def cancel(self) -> None:
        for future in self.futures:
            future.cancel()


_Start = Callable[[], _Pending]
"""A batch not started yet: calling it sends its requests. The walk takes its place in the
batch budget first, and learns that a query has no batch left without taking one."""


@dataclass(frozen=True)
class ParsedJql:
    """Jira's verdict on one query (`JiraClient.parse_jql`): no errors means it is valid."""

    query: str
    errors: tuple[str, ...] = ()


def _jira_error_text(body: Any) -> str | None:
    """Jira's `{"errorMessages": [...], "errors": {field: message}}` as one line."""
    if not isinstance(body, dict):
        return None
    messages = body.get("errorMessages")
    parts = [str(m) for m in messages if m] if isinstance(messages, list) else []
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts.extend(f"{field}: {message}" for field, message in errors.items())
    if not parts and isinstance(body.get("message"), str):
        parts.append(body["message"])
    return "; ".join(parts) or None


JIRA = ApiProfile(
    name="Jira",
    credentials_hint="JIRA_EMAIL and JIRA_API_TOKEN (or JIRA_PAT)",
    url_variable="JIRA_URL",
    error_text=_jira_error_text,
)


class JiraClient:
    """Reads issues and their changelogs from one Jira site.

    Example:
        >>> with JiraClient("https://acme.atlassian.net", email="me@acme.example",
        ...                 api_token=SecretStr("...")) as jira:   # doctest: +SKIP
        ...     jql = build_jql(["SUP"], None, since, until)
        ...     for page in jira.search(jql, fields=["assignee", "status", "updated"]):
        ...         fetched = jira.changelogs([issue["id"] for issue in page])
        ...         for issue_id, histories in fetched.histories.items():
        ...             ...

    Args:
        base_url: the site (`JIRA_URL`), https (http only for localhost).
        email, api_token: Cloud credentials (basic auth).
        pat: a Data Center personal access token (bearer); wins over email + token.
        ca_bundle: extra trusted CAs (`ACCOUNTABILITY_CA_BUNDLE`), added to the defaults.
        timeout: seconds for each of connect, read, write and pool waits.
        max_concurrency: requests in flight at once for `fetch` (issue and changelog
            bulkfetches, Data Center search pages) and for per-issue changelogs; the search
            walk itself runs beside them on one more connection.
        max_attempts: attempts per request for 5xx and transport errors, and for 429 unless
            `rate_limit_budget` is set.
        rate_limit_budget: seconds one request may spend waiting out 429s (the sync passes
            `ACCOUNTABILITY_RATE_LIMIT_BUDGET`); None counts 429 against `max_attempts`.
        limits: page ceiling, response size cap and deadline per request (`RequestLimits`
            defaults when None).
        sleep: how retries wait (tests pass a recorder).
        transport: an httpx transport to use instead of the network (TLS settings are then
            the transport's own).
        throttle: called before every request, retries included; it may block. The scheduled
            flows pass a Prefect global rate limit here so that all workers together stay under
            Jira's rate limit (docs/operations.md).
        deployment: `CLOUD` or `DATA_CENTER` to skip detection; None asks
            `/rest/api/2/serverInfo` once, before the first call that depends on it.
        on_deployment: told what the detection found (the sync hands it to the next clients
            of the same run, which then skip the round trip).

    Attributes:
        stats: requests and retries per endpoint.
    """

    def __init__(
        self,
        base_url: str,
        *,
        email: str | None = None,
        api_token: SecretStr | None = None,
        pat: SecretStr | None = None,
        ca_bundle: Path | None = None,
        timeout: float = 30.0,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        max_attempts: int = 6,
        rate_limit_budget: float | None = None,
        limits: RequestLimits | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        throttle: Callable[[], None] | None = None,
        deployment: Deployment | None = None,
        on_deployment: Callable[[Deployment], None] | None = None,
    ) -> None:
        limits = limits or RequestLimits()
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._http = jira_http_client(
            base_url, email=email, api_token=api_token, pat=pat, ca_bundle=ca_bundle,
            timeout=timeout, transport=transport,
            limits=httpx.Limits(max_connections=max_concurrency + 2),
            event_hooks={"request": [throttle_hook(throttle)]} if throttle else None,
        )
        install_limits(self._http, limits, JIRA)
        self._policy = RetryPolicy(
            max_attempts=max_attempts, rate_limit_budget=rate_limit_budget, sleep=sleep
        )
        self._max_concurrency = max_concurrency
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._timezone: ZoneInfo | None = None
        self._myself: Future[Any] | None = None
        self._bulk_supported: bool | None = None
        self._deployment = deployment
        self._on_deployment = on_deployment
        self._caller = Caller("Jira", self._send, self._url, max_pages=limits.max_pages)
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
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def deployment(self) -> Deployment:
        """Cloud or Data Center, from `GET /rest/api/2/serverInfo` (asked once per client).

        A body without a string `deploymentType` is not Jira: `MalformedResponseError`.
        """
        if self._deployment is None:
            body = self._call("GET", SERVER_INFO, label=f"GET {SERVER_INFO}")
            kind = require_key(body, "deploymentType", str, url=self._url(SERVER_INFO), api="Jira")
            version = body.get("version") if isinstance(body.get("version"), str) else ""
            self._deployment = Deployment(cloud=kind.lower() == "cloud", version=version)
            log.info("Jira at %s is %s", self._url(""), self._deployment.label)
            if self._on_deployment is not None:
                self._on_deployment(self._deployment)
        return self._deployment

    def ask_account_alongside(self) -> None:
        """Start `GET /rest/api/2/myself` now, on the client's pool, when neither the account
        nor the deployment is known yet: `deployment` and `account_timezone` then take one
        round trip together instead of two in a row (the preflight of every sync). v2's
        `/myself` is what both dialects serve, as `serverInfo` is; Cloud answers it with the
        same user as v3's. Its failure surfaces from `account_timezone`, after the
        deployment's own."""
        if self._timezone is None and self._deployment is None and self._myself is None:
            self._myself = self._submit(self._get, DC_MYSELF)

    def _get(self, path: str) -> Any:
        return self._call("GET", path, label=f"GET {path}")

    def account_timezone(self) -> ZoneInfo:
        """The searching account's time zone: JQL dates without a zone are read in it."""
        if self._timezone is None:
            if self._myself is not None:  # asked alongside serverInfo: its answer, once
                pending, self._myself = self._myself, None
                myself, body = DC_MYSELF, pending.result()
            else:
                myself = MYSELF if self.deployment().cloud else DC_MYSELF
                body = self._get(myself)
            name = require_key(body, "timeZone", str, url=self._url(myself), api="Jira")
            try:
                self._timezone = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise MalformedResponseError(
                    f"Jira reported the account time zone {name!r}, which is not an IANA zone",
                    url=self._url(myself),
                ) from exc
        return self._timezone

    def search(
        self, jql: str, fields: Sequence[str], page_size: int = 100
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of raw issues matching `jql`, following `nextPageToken` to the end.

        `fields` is required: the enhanced search returns bare ids without it. Jira may send
        fewer than `page_size` issues per page when many fields are asked; only the token
        decides whether more follow.
        """
        if not jql.strip():
            raise ValueError("jql is empty: the enhanced search refuses unbounded queries")
        if not fields:
            raise ValueError("fields is empty: /search/jql would return issue ids only")
        if not 1 <= page_size <= 5000:
            raise ValueError("page_size must be between 1 and 5000")
        if not self.deployment().cloud:
            yield from self._dc_search(jql, fields, min(page_size, DC_SEARCH_MAX))
            return
        query = {"jql": jql, "fields": list(fields), "maxResults": page_size}
        yield from paginate(self._caller, SEARCH, query)

    def _dc_search(
        self, jql: str, fields: Sequence[str], page_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Data Center's `POST /rest/api/2/search`, `startAt` paging until `total`.

        Offset paging has no snapshot: an issue updated mid-sweep moves behind the cursor
        (`ORDER BY updated`) and its neighbour may shift into a page already read. The sync's
        10-minute overlap re-reads from the last committed `updated`, so the next run sees it.
        """
        endpoint = Endpoint(
            "POST", DC_SEARCH_PATH, "issues", partial(StartAtPaginator, page_size=page_size)
        )
        for page in paginate(self._caller, endpoint, {"jql": jql, "fields": list(fields)}):
            yield [_dc_issue(issue) for issue in page]
    # --- a query's issues with their histories, near the latency floor ------------------------

    def fetch(
        self,
        jql: str,
        fields: Sequence[str],
        field_ids: Sequence[str] = ("assignee", "status"),
        batch_size: int = FETCH_BATCH,
        fetched: Callable[[], None] | None = None,
    ) -> Iterator[Batch]:
        """The issues matching `jql` with their complete histories, one `Batch` at a time, in
        search order, each issue once. `fetched`, when given, is called once the last batch
        has arrived, before it is handed on: nothing of this query is in flight any more (the
        sync lets the next partition start its requests while this one writes).

        Cloud: an id-only enhanced search (`fields: ["id"]`, up to 5,000 ids a page: the only
        sequential chain), and for every `batch_size` ids, as soon as their page arrives, one
        `changelog/bulkfetch` walk (≤ 1,000 issues) and `issue/bulkfetch` requests of 100 for
        the fields. Data Center: `POST /rest/api/2/search` with `expand=changelog` (whole
        histories embedded), the first page, then the following `startAt` pages in parallel
        (its `total` says how many). Either way at most `max_concurrency` requests are in flight,
        and the search runs ahead of the caller by a few batches only, so memory stays flat
        while the caller writes one batch and the next ones arrive.
        """
        if not jql.strip():
            raise ValueError("jql is empty: the enhanced search refuses unbounded queries")
        if not fields:
            raise ValueError("fields is empty: the issues would come without their fields")
        names = tuple(field_ids)
        if not 1 <= len(names) <= BULK_MAX_FIELDS:
            raise ValueError(f"field_ids must name 1 to {BULK_MAX_FIELDS} fields")
        if not 1 <= batch_size <= BULK_MAX_ISSUES:
            raise ValueError(f"batch_size must be between 1 and {BULK_MAX_ISSUES}")
        if self.deployment().cloud:
            pending = self._cloud_batches(jql, tuple(fields), names, batch_size)
        else:
            pending = self._dc_batches(jql, tuple(fields), names)
        yield from self._in_order(pending, fetched=fetched)

    def search_ids(self, jql: str, page_size: int = ID_PAGE_SIZE) -> Iterator[list[str]]:
        """Cloud: pages of the ids of the issues matching `jql`, in its order.

        `fields: ["id"]` is what lets Jira send up to 5,000 a page (`maxResults`: "The greatest
        number of items returned per page is achieved when requesting `id` or `key` only")."""
        if not jql.strip():
            raise ValueError("jql is empty: the enhanced search refuses unbounded queries")
        if not 1 <= page_size <= ID_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {ID_PAGE_SIZE}")
        url = self._url(SEARCH.path)
        query = {"jql": jql, "fields": ["id"], "maxResults": page_size}
        for page in paginate(self._caller, SEARCH, query):
            yield [_id_of(issue, url) for issue in page]

    def bulk_issues(
        self, issue_ids: Sequence[str], fields: Sequence[str]
    ) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        """Up to 100 issues by id (`POST /rest/api/3/issue/bulkfetch`): the issues in the
        order asked, and the ids Jira did not return (gone or no longer visible: the
        document says such issues are left out, not listed in `issueErrors`).

        `issueErrors` (retriable failures on Jira's side) raise `IssueFetchError`."""
        ids = _unique_issue_ids(issue_ids)
        if not 1 <= len(ids) <= ISSUE_BULK_MAX:
            raise ValueError(f"bulk_issues takes 1 to {ISSUE_BULK_MAX} issue ids")
        url = self._url(ISSUE_BULKFETCH)
        body = self._call("POST", ISSUE_BULKFETCH, label=f"POST {ISSUE_BULKFETCH}",
                          body={"issueIdsOrKeys": ids, "fields": list(fields)})
        issues = require_key(body, "issues", list, url=url, api="Jira")
        failed = body.get("issueErrors") or []
        if not isinstance(failed, list):
            raise MalformedResponseError(
                f"Jira answered {url} with issueErrors that are not a list", url=url)
        if failed:
            named = "; ".join(
                f"{e.get('id')}: {e.get('errorMessage')}" for e in failed[:3] if isinstance(e, dict)
            )
            raise IssueFetchError(
                f"Jira could not return {len(failed)} of the {len(ids)} issues asked from "
                f"{url} ({named}): the batch is not stored and the next run reads it again",
                url=url,
            )
        by_id = {_id_of(issue, url): issue for issue in issues}
        return ([by_id[i] for i in ids if i in by_id], tuple(i for i in ids if i not in by_id))

    def _cloud_batches(
        self, jql: str, fields: tuple[str, ...], field_ids: tuple[str, ...], batch_size: int
    ) -> Iterator[_Start]:
        """Walk the id search; each batch's bulkfetches can start as soon as its ids are in.

        An id the search returns twice (an issue updated mid-walk can move into a later page)
        is fetched and handed on once."""
        seen: set[str] = set()
        for page in self._id_pages(jql):
            ids: list[str] = []
            unreadable: list[Any] = []
            for entry in page:
                issue_id = entry.get("id") if isinstance(entry, dict) else None
                if isinstance(issue_id, str | int) and str(issue_id).isdigit():
                    ids.append(str(issue_id))
                else:
                    unreadable.append(entry)
            fresh = [i for i in dict.fromkeys(ids) if i not in seen]
            seen.update(fresh)
            if unreadable:
                yield partial(_Pending, [], partial(Batch, [], {}, (), tuple(unreadable)))
            for start in range(0, len(fresh), batch_size):
                yield partial(self._start_cloud_batch, fresh[start : start + batch_size],
                              fields, field_ids)

    def _id_pages(self, jql: str) -> Iterator[list[Any]]:
        """The raw pages of the id-only search (`fields: ["id"]`, 5,000 a page)."""
        query = {"jql": jql, "fields": ["id"], "maxResults": ID_PAGE_SIZE}
        yield from paginate(self._caller, SEARCH, query)

    def _start_cloud_batch(
        self, ids: list[str], fields: tuple[str, ...], field_ids: tuple[str, ...]
    ) -> _Pending:
        # The changelog first: its pages follow one another, the longest chain of the batch.
        logs = self._submit(self.changelogs, ids, field_ids)
        chunks = [
            self._submit(self.bulk_issues, ids[i : i + ISSUE_BULK_MAX], fields)
            for i in range(0, len(ids), ISSUE_BULK_MAX)
        ]

        def assemble() -> Batch:
            issues: list[dict[str, Any]] = []
            gone: set[str] = set()
            for chunk in chunks:
                found, missing = chunk.result()
                issues.extend(found)
                gone.update(missing)
            fetched: Changelogs = logs.result()
            gone.update(fetched.missing)
            kept = [issue for issue in issues if str(issue.get("id")) not in gone]
            return Batch(kept, fetched.histories, tuple(i for i in ids if i in gone))

        return _Pending([logs, *chunks], assemble)

    def _dc_batches(
        self, jql: str, fields: tuple[str, ...], field_ids: tuple[str, ...]
    ) -> Iterator[_Start]:
        """Data Center: the first search page, then all the others at once (`total` is known).

        Offset paging has no snapshot, so an issue can come twice: each is handed on once
        (`seen`, kept by the caller's thread while assembling in order)."""
        seen: set[str] = set()
        firsts: list[_DcPage] = []

        def start_first() -> _Pending:  # the walk runs it before it asks for the next one
            firsts.append(self._dc_page(jql, fields, field_ids, 0, DC_SEARCH_MAX))
            return _Pending([], partial(_dc_batch, firsts[0], seen))

        def start_page(start: int, step: int) -> _Pending:
            future = self._submit(self._dc_page, jql, fields, field_ids, start, step)
            return _Pending([future], partial(lambda f: _dc_batch(f.result(), seen), future))

        yield start_first
        first = firsts[0]
        for start in range(first.step, first.total, first.step):
            yield partial(start_page, start, first.step)

    def _dc_page(
        self,
        jql: str,
        fields: tuple[str, ...],
        field_ids: tuple[str, ...],
        start: int,
        size: int,
    ) -> _DcPage:
        """One `POST /rest/api/2/search` page with `expand=changelog`; an issue whose embedded
        history is shorter than its `total` is read again on its own (`GET issue`, which
        refuses a truncated history too)."""
        url = self._url(DC_SEARCH_PATH)
        body = self._call("POST", DC_SEARCH_PATH, label=f"POST {DC_SEARCH_PATH}", body={
            "jql": jql, "fields": list(fields), "expand": ["changelog"],
            "startAt": start, "maxResults": size,
        })
        raw = require_key(body, "issues", list, url=url, api="Jira")
        total = require_key(body, "total", int, url=url, api="Jira")
        echoed = body.get("maxResults")
        step = echoed if isinstance(echoed, int) and echoed > 0 else max(len(raw), 1)
        issues: list[dict[str, Any]] = []
        histories: dict[str, list[dict[str, Any]]] = {}
        missing: list[str] = []
        for issue in raw:
            issue_id = _id_of(issue, url)
            embedded = _dc_embedded(issue, url)
            if embedded is None:
                found = self._dc_issue_changelog(issue_id, field_ids)
                if found is None:
                    missing.append(issue_id)
                    continue
                histories[issue_id] = found
            else:
                histories[issue_id] = [
                    kept for h in embedded
                    if (kept := _only_fields(_dc_history(h), field_ids)) is not None
                ]
            issues.append(_dc_issue({k: v for k, v in issue.items() if k != "changelog"}))
        return _DcPage(issues, histories, tuple(missing), total, step)

    def _submit(self, work: Callable[..., R], *args: Any) -> Future[R]:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._max_concurrency,
                                                thread_name_prefix="jira-fetch")
            return self._pool.submit(work, *args)

    def _in_order(
        self,
        pending: Iterator[_Start],
        ahead: int = 1,
        fetched: Callable[[], None] | None = None,
    ) -> Iterator[Batch]:
        """The batches of `pending`, in order, while the walk that starts them runs on a thread
        of its own at most `ahead` batches in front (one: a batch of 1,000 issues with their
        histories weighs ~25 MB; two ahead cost ~20 MB more peak RSS for no measured speed):
        the search's next page is read while the caller writes the previous batch. Stopping
        early, or an error on either side, cancels what has not started; the walk's own error
        comes after the batches before it. `fetched`: see `fetch`."""
        slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=ahead)
        stop = threading.Event()
        walked = threading.Event()  # the walk has started its last batch: `started` is final
        started = 0

        def put(entry: tuple[str, Any]) -> bool:
            while not stop.is_set():
                try:
                    slots.put(entry, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def reserve() -> bool:
            """A place in the process's batch budget, taken before a batch starts."""
            while not stop.is_set():
                if _BATCH_BUDGET.acquire(timeout=0.05):
                    return True
            return False

        def walk() -> None:
            nonlocal started
            batches = iter(pending)
            try:
                while True:
                    start = next(batches)  # may read the search's next page; starts nothing
                    if not reserve():
                        return
                    try:
                        item = start()  # the batch's requests
                    except BaseException:
                        _BATCH_BUDGET.release()
                        raise
                    started += 1
                    if not put(("batch", item)):
                        item.cancel()
                        _BATCH_BUDGET.release()
                        return
            except StopIteration:
                walked.set()
                put(("end", None))
            except BaseException as exc:  # handed to the caller's thread, raised there
                put(("error", exc))

        walker = threading.Thread(target=walk, name="jira-search", daemon=True)
        walker.start()
        received = 0
        try:
            while True:
                kind, item = slots.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise item
                try:
                    batch = item.result()
                except BaseException:
                    item.cancel()
                    _BATCH_BUDGET.release()
                    raise
                received += 1
                if fetched is not None and walked.is_set() and received == started:
                    fetched()  # the last batch is in: no request of this query is left
                    fetched = None
                try:
                    yield batch
                finally:  # the caller asked for the next one: this one is written (or dropped)
                    _BATCH_BUDGET.release()
        finally:
            stop.set()
            walker.join()
            while True:
                try:
                    kind, item = slots.get_nowait()
                except queue.Empty:
                    break
                if kind == "batch":
                    item.cancel()
                    _BATCH_BUDGET.release()

    def parse_jql(self, queries: Sequence[str]) -> list[ParsedJql]:
        """Jira's strict verdict on each of `queries` (syntax, fields, values), in order.

        One call for all of them (`POST /rest/api/3/jql/parse?validation=strict`); nothing is
        searched. The registry check uses it: a clause that passes the static check can still
        name a field or value this site does not have."""
        asked = list(queries)
        if not asked:
            return []
        body = self._call("POST", JQL_PARSE, label=f"POST {JQL_PARSE}",
                          params={"validation": "strict"}, body={"queries": asked})
        url = self._url(JQL_PARSE)
        answers = require_key(body, "queries", list, url=url, api="Jira")
        if len(answers) != len(asked) or not all(isinstance(a, dict) for a in answers):
            raise MalformedResponseError(
                f"Jira answered {len(answers)} parsed queries for {len(asked)} asked", url=url)
        parsed: list[ParsedJql] = []
        for query, answer in zip(asked, answers, strict=True):
            errors = answer.get("errors") or []
            if not isinstance(errors, list):
                raise MalformedResponseError("Jira's parsed query has no list of errors", url=url)
            parsed.append(ParsedJql(query, tuple(str(e) for e in errors)))
        return parsed

    def changelogs(
        self, issue_ids: Sequence[str], field_ids: Sequence[str] = ("assignee", "status")
    ) -> Changelogs:
        """The complete histories of `issue_ids`, oldest first, and the ids that were gone.

        Each history keeps only its items for `field_ids` (histories left empty are dropped),
        whichever endpoint served it. Ids are issue ids (digits), not keys: the bulk endpoint
        answers by id. An issue whose changelog answers 404 was deleted since the search: it
        is skipped, not fatal, and named in `Changelogs.missing`.
        """
        ids = _unique_issue_ids(issue_ids)
        fields = tuple(field_ids)
        if not 1 <= len(fields) <= BULK_MAX_FIELDS:
            raise ValueError(f"field_ids must name 1 to {BULK_MAX_FIELDS} fields")
        if not ids:
            return Changelogs({})
        if not self.deployment().cloud:
            return self._per_issue(ids, fields, self._dc_issue_changelog)
        batches = [ids[i : i + BULK_MAX_ISSUES] for i in range(0, len(ids), BULK_MAX_ISSUES)]
        histories: dict[str, list[dict[str, Any]]] = {}
        if self._bulk_supported is None:
            first = self._probe_bulk(batches[0], fields)
            if first is not None:
                histories.update(first)
                batches = batches[1:]
        if self._bulk_supported:
            for merged in self._in_parallel(lambda b: self._bulk_batch(b, fields), batches):
                histories.update(merged)
            return Changelogs(histories)
        return self._per_issue(ids, fields, self._issue_changelog)

    def _probe_bulk(
        self, batch: list[str], fields: tuple[str, ...]
    ) -> dict[str, list[dict[str, Any]]] | None:
        """The first batch, alone: a 404/405 means this Jira has no bulk endpoint, for good."""
        try:
            merged = self._bulk_batch(batch, fields)
        except FatalAPIError as exc:
            if exc.status not in (404, 405):
                raise
            log.info("Jira has no bulk changelog endpoint (HTTP %s): per-issue paging", exc.status)
            self._bulk_supported = False
            return None
        self._bulk_supported = True
        return merged

    def _bulk_batch(
        self, ids: list[str], fields: tuple[str, ...]
    ) -> dict[str, list[dict[str, Any]]]:
        """Histories of up to 1000 issues, pages merged per issue (an issue spans pages)."""
        url = self._url(BULK_CHANGELOG.path)
        merged: dict[str, list[dict[str, Any]]] = {issue_id: [] for issue_id in ids}
        seen: set[tuple[str, str]] = set()
        query = {"issueIdsOrKeys": ids, "fieldIds": list(fields)}
        for logs in paginate(self._caller, BULK_CHANGELOG, query):
            for entry in logs:
                issue_id = _issue_id_of(entry, url)
                bucket = merged.setdefault(issue_id, [])
                for history in _histories_of(entry, url):
                    key = (issue_id, str(history.get("id")))
                    if history.get("id") is not None and key in seen:
                        continue
                    seen.add(key)
                    kept = _only_fields(history, fields)
                    if kept is not None:
                        bucket.append(kept)
        return merged

    def _per_issue(
        self,
        ids: list[str],
        fields: tuple[str, ...],
        fetch: Callable[[str, tuple[str, ...]], list[dict[str, Any]] | None],
    ) -> Changelogs:
        """Every issue's own changelog via `fetch`, `max_concurrency` issues at a time."""
        histories: dict[str, list[dict[str, Any]]] = {}
        missing: list[str] = []
        for issue_id, found in self._in_parallel(lambda i: (i, fetch(i, fields)), ids):
            if found is None:
                missing.append(issue_id)
            else:
                histories[issue_id] = found
        return Changelogs(histories, tuple(missing))

    def _issue_changelog(
        self, issue_id: str, fields: tuple[str, ...]
    ) -> list[dict[str, Any]] | None:
        """One issue's histories via `startAt` paging, or None when the issue is gone (404)."""
        histories: list[dict[str, Any]] = []
        try:
            for values in paginate(self._caller, ISSUE_CHANGELOG, path_params={"id": issue_id}):
                for history in values:
                    kept = _only_fields(history, fields) if isinstance(history, dict) else None
                    if kept is not None:
                        histories.append(kept)
        except FatalAPIError as exc:
            if exc.status != 404:
                raise
            if self._issue_exists(issue_id):
                raise IssueChangelogError(
                    f"Jira answered 404 for the changelog of issue {issue_id}, which still "
                    f"exists: stopping rather than losing its history ({exc})",
                    status=404, url=exc.url,
                ) from exc
            log.warning("Jira issue %s is gone (HTTP 404 for it and its changelog): skipped",
                        issue_id)
            return None
        return histories

    def _issue_exists(self, issue_id: str) -> bool:
        """Whether `GET issue` finds `issue_id`: only its 404 proves a deletion."""
        path = ISSUE.format(id=issue_id)
        try:
            self._call("GET", path, label=f"GET {ISSUE}", params={"fields": "updated"})
        except FatalAPIError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _dc_issue_changelog(
        self, issue_id: str, fields: tuple[str, ...]
    ) -> list[dict[str, Any]] | None:
        """One issue's complete history on Data Center, or None when the issue is gone (404).

        `expand=changelog` on `GET /rest/api/2/issue/{id}` embeds every history (startAt 0,
        maxResults = total) and takes no paging parameters; should a server ever send fewer
        than its `total`, that is an error, not a shorter history.
        """
        path = DC_ISSUE.format(id=issue_id)
        url = self._url(path)
        try:
            body = self._call("GET", path, label=f"GET {DC_ISSUE}",
                              params={"expand": "changelog", "fields": "updated"})
        except FatalAPIError as exc:
            if exc.status != 404:
                raise
            log.warning("Jira issue %s is gone (HTTP 404): skipped", issue_id)
            return None
        changelog = require_key(body, "changelog", dict, url=url, api="Jira")
        histories = require_key(changelog, "histories", list, url=url, api="Jira")
        total = changelog.get("total")
        if isinstance(total, int) and total > len(histories):
            raise MalformedResponseError(
                f"Jira sent {len(histories)} of the {total} histories of issue {issue_id}: "
                "Data Center has no paged changelog to read the rest from",
                url=url,
            )
        kept = []
        for history in histories:
            if isinstance(history, dict):
                trimmed = _only_fields(_dc_history(history), fields)
                if trimmed is not None:
                    kept.append(trimmed)
        return kept

    def _in_parallel(self, work: Callable[[A], R], items: Sequence[A]) -> Iterator[R]:
        """`work` over `items` on at most `max_concurrency` threads, results in input order."""
        if len(items) <= 1 or self._max_concurrency == 1:
            yield from map(work, items)
            return
        workers = min(self._max_concurrency, len(items))
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jira")
        try:
            yield from executor.map(work, items)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    def _send(self, endpoint: Endpoint, path: str, params: dict[str, Any]) -> Any:
        """`paginate`'s way in: a GET sends `params` as its query, a POST as its JSON body."""
        if endpoint.method == "GET":
            return self._call("GET", path, label=endpoint.label, params=params)
        return self._call(endpoint.method, path, label=endpoint.label, body=params)

    def _call(
        self,
        method: str,
        path: str,
        *,
        label: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """One API call with the retry policy; the decoded JSON body. `label` names the
        endpoint in the request statistics (the path before its `{id}` was filled)."""
        url = self._url(path)

        def attempt() -> Any:
            self.stats.record_request(label)
            try:
                response = self._http.request(method, path, params=params, json=body)
            except httpx.TransportError as exc:
                raise transport_error(exc, JIRA, url) from exc
            check_response(response, JIRA)
            return parse_json(response, JIRA)

        return call_with_retry(attempt, self._policy, stats=self.stats, endpoint=label)

    def _url(self, path: str) -> str:
        return redact_url(self._http.base_url.join(path.lstrip("/")))


def jira_http_client(
    base_url: str,
    *,
    email: str | None,
    api_token: SecretStr | None,
    pat: SecretStr | None,
    ca_bundle: Path | None,
    timeout: float,
    transport: httpx.BaseTransport | None,
    **options: Any,
) -> httpx.Client:
    """An httpx client for one Jira site: its checked URL, Cloud basic auth or a Data Center
    bearer token (the PAT wins), bounded timeouts, our TLS trust, no redirects. Shared by the
    reader (`JiraClient`) and the ticket writer (connectors/jira_tickets.py); `options` are
    further `httpx.Client` arguments."""
    headers = {"Accept": "application/json"}
    auth: httpx.Auth | None = None
    if pat is not None:
        headers["Authorization"] = f"Bearer {pat.get_secret_value()}"
    elif email and api_token is not None:
        auth = httpx.BasicAuth(email, api_token.get_secret_value())
    else:
        raise ValueError(
            "Jira credentials missing: set JIRA_EMAIL and JIRA_API_TOKEN (Cloud) or "
            "JIRA_PAT (Data Center)"
        )
    return httpx.Client(
        base_url=_checked_base_url(base_url),
        headers=headers,
        auth=auth,
        timeout=build_timeout(timeout),
        verify=build_ssl_context(ca_bundle) if transport is None else True,
        transport=transport,
        follow_redirects=False,
        **options,
    )


def _checked_base_url(base_url: str) -> str:
    """`JIRA_URL` as an httpx base URL; https except for a loopback host."""
    url = httpx.URL(base_url.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"JIRA_URL must be an http(s) URL, got {redact_url(base_url)!r}")
    if url.scheme == "http" and url.host not in _LOOPBACK_HOSTS:
        raise ValueError("JIRA_URL must use https:// (credentials would travel in clear text)")
    # Credentials in the URL would be logged by httpx with every request; ours travel in
    # the Authorization header only.
    return str(url.copy_with(username=None, password=None)).rstrip("/")


def _unique_issue_ids(issue_ids: Sequence[str]) -> list[str]:
    if isinstance(issue_ids, str):
        raise TypeError("issue_ids must be a sequence of ids, not one string")
    ids = list(dict.fromkeys(str(issue_id) for issue_id in issue_ids))
    keys = [issue_id for issue_id in ids if not issue_id.isdigit()]
    if keys:
        raise ValueError(
            f"changelogs() takes issue ids (digits), not keys such as {keys[0]!r}: "
            "the bulk endpoint answers by id"
        )
    return ids


@dataclass(frozen=True)
class _DcPage:
    issues: list[dict[str, Any]]
    histories: dict[str, list[dict[str, Any]]]
    missing: tuple[str, ...]
    total: int
    step: int


def _dc_batch(page: _DcPage, seen: set[str]) -> Batch:
    """A Data Center page as a `Batch`, without the issues an earlier page already gave."""
    issues = [issue for issue in page.issues if str(issue.get("id")) not in seen]
    seen.update(str(issue.get("id")) for issue in issues)
    return Batch(issues, page.histories, page.missing)


def _dc_embedded(issue: dict[str, Any], url: str) -> list[dict[str, Any]] | None:
    """The whole history embedded in a Data Center search hit, or None when it is missing or
    shorter than its `total` (then the issue is read on its own)."""
    changelog = issue.get("changelog")
    if not isinstance(changelog, dict):
        return None
    histories = changelog.get("histories")
    if not isinstance(histories, list):
        return None
    total = changelog.get("total")
    if isinstance(total, int) and total > len(histories):
        return None
    if not all(isinstance(h, dict) for h in histories):
        raise MalformedResponseError(
            f"Jira answered {url} with changelog histories that are not objects", url=url)
    return histories


def _id_of(issue: Any, url: str) -> str:
    issue_id = issue.get("id") if isinstance(issue, dict) else None
    if not isinstance(issue_id, str | int) or not str(issue_id).isdigit():
        raise MalformedResponseError(f"Jira answered {url} with an issue without an id", url=url)
    return str(issue_id)


def _issue_id_of(entry: Any, url: str) -> str:
    issue_id = entry.get("issueId") if isinstance(entry, dict) else None
    if not isinstance(issue_id, str | int):
        raise MalformedResponseError(
            f"Jira answered {url} with a changelog without issueId", url=url
        )
    return str(issue_id)


def _histories_of(entry: dict[str, Any], url: str) -> list[dict[str, Any]]:
    histories = entry.get("changeHistories", [])
    if not isinstance(histories, list) or not all(isinstance(h, dict) for h in histories):
        raise MalformedResponseError(
            f"Jira answered {url} with changeHistories that are not a list of objects", url=url
        )
    return histories


def _only_fields(history: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any] | None:
    """The history with only its items for `fields`, or None if none is left.

    Data Center items may lack `fieldId`; their `field` name is used then.
    """
    items = history.get("items")
    if not isinstance(items, list):
        return None
    kept = [
        item
        for item in items
        if isinstance(item, dict) and (item.get("fieldId") or item.get("field")) in fields
    ]
    if not kept:
        return None
    if len(kept) == len(items):
        return history  # the usual case (the bulk changelog filters by field): no copy
    return {**history, "items": kept}


def _dc_user(user: Any) -> Any:
    """A Data Center user object (`name`, `key`, no `accountId`) with `accountId` = its key.

    The key is what the changelog's assignee items carry in `from`/`to`; for users created
    before Jira 8 it equals the username, later ones look like `JIRAUSER10100`.
    """
    if isinstance(user, dict) and not user.get("accountId") and isinstance(user.get("key"), str):
        return {**user, "accountId": user["key"]}
    return user


def _dc_issue(issue: Any) -> Any:
    """A Data Center issue with its user fields normalised (`_dc_user`)."""
    if not isinstance(issue, dict) or not isinstance(issue.get("fields"), dict):
        return issue
    fields = dict(issue["fields"])
    for name in ("assignee", "reporter", "creator"):
        if name in fields:
            fields[name] = _dc_user(fields[name])
    return {**issue, "fields": fields}


def _dc_history(history: dict[str, Any]) -> dict[str, Any]:
    """A Data Center history: author normalised, items given the `fieldId` Cloud sends (Data
    Center items name the field in `field` only)."""
    items = history.get("items")
    if isinstance(items, list):
        items = [
            {**item, "fieldId": item.get("field")}
            if isinstance(item, dict) and not item.get("fieldId") and item.get("field")
            else item
            for item in items
        ]
    return {**history, "author": _dc_user(history.get("author")), "items": items}


def build_jql(
    projects: Sequence[str],
    extra: str | None,
    updated_from: datetime,
    updated_to: datetime | None,
) -> str:
    """JQL for the issues of `projects` updated in [updated_from, updated_to), oldest first.

    Bounds are epoch milliseconds, which Jira reads without a time zone; a `"yyyy-MM-dd HH:mm"`
    date would be read in the account's zone and shift the window by its UTC offset.
    `extra` (the registry's `jql`) is ANDed in parentheses.

    Example:
        >>> build_jql(["SUP"], "labels = ai", datetime(2026, 1, 1, tzinfo=UTC), None)
        'project in ("SUP") AND (labels = ai) AND updated >= 1767225600000 ORDER BY updated ASC'
    """
    if isinstance(projects, str) or not projects:
        raise ValueError("projects must be a non-empty list of project keys")
    clauses = [f"project in ({', '.join(jql_string(p) for p in projects)})"]
    if extra and extra.strip():
        if "order by" in " ".join(extra.lower().split()):
            raise ValueError("the registry's jql must not contain ORDER BY: it is ANDed in")
        clauses.append(f"({extra.strip()})")
    clauses.append(f"updated >= {_epoch_millis(updated_from, round_up=False)}")
    if updated_to is not None:
        if updated_to <= updated_from:
            raise ValueError("updated_to must be after updated_from")
        clauses.append(f"updated < {_epoch_millis(updated_to, round_up=True)}")
    return " AND ".join(clauses) + " ORDER BY updated ASC"


def _epoch_millis(dt: datetime, *, round_up: bool) -> int:
    _require_aware(dt)
    micros = (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return -(-micros // 1000) if round_up else micros // 1000


def _require_aware(dt: datetime) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()}: pass an aware datetime (UTC)")


def jql_string(value: str) -> str:
    """`value` as a quoted JQL string literal: a project key or label can never end the
    literal and inject a clause."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
