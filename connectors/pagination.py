"""The one pagination loop of the inbound connectors, with endpoints as data (after dlt).

An `Endpoint` says where a list lives (method, path, fixed params), which key of a page holds
its records, and how it pages (a paginator factory); `paginate` walks any of them, for Jira
and PagerDuty alike. The connector lends the loop its `send` (auth, retries, stats) through a
`Caller`; what varies between APIs is only the paginator:

* `TokenPaginator`: `nextPageToken` until `isLast` (Jira's enhanced search, bulk changelog);
* `StartAtPaginator`: `startAt`/`maxResults` against `total`/`isLast` (per-issue changelog);
* `OffsetPaginator`: `offset`/`limit` while `more` (PagerDuty's classic pagination).

The stopping rules are written once here: an empty page ends an offset walk (a token walk
goes on while it has a token), asking for a page
position (token or offset) a second time raises `PaginationLoopError`, as singer-sdk's
paginators do, instead of going round in circles, and a query that goes on for more than the
caller's `max_pages` (a server handing out ever new tokens) raises `TooManyPagesError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.errors import PageLimitError, PaginationLoopError, TooManyPagesError
from connectors.http import require_key


class Paginator(ABC):
    """The paging state of one walk over one endpoint; a fresh one per walk.

    `paginate` asks `next_params` before each request and hands every page to `update`,
    which decides whether another page follows (`done`). The loop check lives in
    `next_params`: a page that points back is still returned to the caller, and the error
    comes before the request that would repeat it.
    """

    position_name = "page"
    """The parameter that names a page, for error messages (`nextPageToken`, `offset`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.done = False
        self._asked: set[Hashable] = set()

    def next_params(self) -> dict[str, Any]:
        """The paging parameters of the next request; raises if that page was asked before."""
        position = self._position()
        if position in self._asked:
            raise PaginationLoopError(
                f"{self.url} led back to a {self.position_name} already followed "
                f"(after {len(self._asked)} pages): stopping instead of looping",
                url=self.url,
            )
        self._asked.add(position)
        return self._params()

    @abstractmethod
    def update(self, page: Mapping[str, Any], records: Sequence[Any]) -> None:
        """Read a page's paging fields: where the next page is, or that there is none."""

    @abstractmethod
    def _position(self) -> Hashable:
        """What identifies the next page (token, offset): the same twice means a loop."""

    @abstractmethod
    def _params(self) -> dict[str, Any]:
        """The parameters that ask for the next page."""


class TokenPaginator(Paginator):
    """Follows `nextPageToken` (Jira's enhanced search and bulk changelog).

    Stops when `isLast` is true or no token comes back, and only then: the token alone says
    whether more follow. Jira sends fewer than `maxResults` when many fields are asked, and
    may send an empty page in the middle (the bulk changelog filters histories per page), so
    an empty page with a token goes on. A token sent twice raises `PaginationLoopError`; a
    walk that never ends is stopped by `paginate`'s page ceiling (`TooManyPagesError`).
    """

    position_name = "nextPageToken"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.token: str | None = None

    def update(self, page: Mapping[str, Any], records: Sequence[Any]) -> None:
        token = page.get("nextPageToken")
        if page.get("isLast") is True or not isinstance(token, str) or not token:
            self.done = True
        else:
            self.token = token

    def _position(self) -> Hashable:
        return self.token

    def _params(self) -> dict[str, Any]:
        return {"nextPageToken": self.token} if self.token else {}


class StartAtPaginator(Paginator):
    """Follows `startAt`/`maxResults` (Jira's per-issue changelog).

    Advances by the number of items actually returned (the server may send fewer than
    asked) and stops on `isLast`, on an empty page, or once `startAt` reaches `total`.
    """

    position_name = "startAt"

    def __init__(self, url: str, *, page_size: int) -> None:
        super().__init__(url)
        self.page_size = page_size
        self.start_at = 0

    def update(self, page: Mapping[str, Any], records: Sequence[Any]) -> None:
        self.start_at += len(records)
        total = page.get("total")
        reached_total = isinstance(total, int) and self.start_at >= total
        if page.get("isLast") is True or not records or reached_total:
            self.done = True

    def _position(self) -> Hashable:
        return self.start_at

    def _params(self) -> dict[str, Any]:
        return {"startAt": self.start_at, "maxResults": self.page_size}


class OffsetPaginator(Paginator):
    """Follows `offset`/`limit` while `more` is true (PagerDuty's classic pagination).

    The offset advances by the records received, not by the echoed `limit` (the distrust
    the vendor client shows too). `offset + limit` may not pass `max_records` (PagerDuty
    answers 400 past 10,000), so the page that would is never asked: `PageLimitError` tells
    the caller to narrow the query instead. `ask_total` asks `total=true` on the first page
    only, so that a query holding more than `max_records` fails before reading any further.
    """

    position_name = "offset"

    def __init__(self, url: str, *, limit: int, max_records: int, ask_total: bool) -> None:
        super().__init__(url)
        self.limit = limit
        self.max_records = max_records
        self.ask_total = ask_total
        self.offset = 0

    def update(self, page: Mapping[str, Any], records: Sequence[Any]) -> None:
        total = page.get("total")
        if self.offset == 0 and isinstance(total, int) and total > self.max_records:
            raise PageLimitError(
                f"{self.url} holds {total} records, more than {self.max_records} can be paged",
                url=self.url,
            )
        if page.get("more") is not True or not records:
            self.done = True
        self.offset += len(records)

    def _position(self) -> Hashable:
        return self.offset

    def _params(self) -> dict[str, Any]:
        if self.offset + self.limit > self.max_records:
            raise PageLimitError(
                f"{self.url}: the page at offset {self.offset} lies past the "
                f"{self.max_records} records the API pages",
                url=self.url,
            )
        params: dict[str, Any] = {"limit": self.limit, "offset": self.offset}
        if self.ask_total and self.offset == 0:
            params["total"] = "true"
        return params


PaginatorFactory = Callable[[str], Paginator]
"""Makes a fresh paginator for one walk, given the request's redacted URL (for errors)."""


@dataclass(frozen=True)
class Endpoint:
    """A paged list endpoint, declared as data rather than as a loop.

    Attributes:
        method: `GET` sends the params as the query; `POST` as the JSON body (Jira's search
            and bulk changelog take their paging fields in the body).
        path: relative to the API's base URL; `{name}` placeholders are filled per call.
        records_key: the key of a page that holds the list of records.
        paginator: makes the paginator of one walk.
        params: sent with every page, before the caller's own and the paginator's.
    """

    method: str
    path: str
    records_key: str
    paginator: PaginatorFactory
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How request statistics name the endpoint: the path with its placeholders."""
        return f"{self.method} {self.path}"


Send = Callable[[Endpoint, str, dict[str, Any]], Any]
"""One request to `endpoint` at a concrete path with these params → the decoded JSON body."""


@dataclass(frozen=True)
class Caller:
    """What the loop borrows from a connector, so that one loop serves every API.

    Attributes:
        api: the vendor's name in error messages ("Jira").
        send: one request with the connector's authentication, retry policy and stats.
        url: the redacted absolute URL of a path, for error messages.
        max_pages: the most pages one query may take (`ACCOUNTABILITY_MAX_PAGES`); None
            for no ceiling.
    """

    api: str
    send: Send
    url: Callable[[str], str]
    max_pages: int | None = None


def paginate(
    caller: Caller,
    endpoint: Endpoint,
    params: Mapping[str, Any] | None = None,
    *,
    path_params: Mapping[str, str] | None = None,
) -> Iterator[list[Any]]:
    """Every page of `endpoint`, as the list of its records; empty pages are not yielded.

    Each request sends the endpoint's `params`, then the caller's `params`, then the
    paginator's. The next request is sent only when the consumer asks for the next page, so
    a consumer that stops early costs no further request.
    """
    path = endpoint.path.format(**path_params) if path_params else endpoint.path
    url = caller.url(path)
    paginator = endpoint.paginator(url)
    fixed = {**endpoint.params, **(params or {})}
    pages = 0
    while not paginator.done:
        if caller.max_pages is not None and pages >= caller.max_pages:
            raise TooManyPagesError(
                f"{caller.api} still had more pages of {url} after {pages}, the ceiling of "
                f"one query (ACCOUNTABILITY_MAX_PAGES={caller.max_pages}): stopping. If one "
                "query really holds that much, raise it; otherwise the server keeps "
                "announcing pages that never end",
                url=url,
            )
        pages += 1
        page = caller.send(endpoint, path, {**fixed, **paginator.next_params()})
        records = require_key(page, endpoint.records_key, list, url=url, api=caller.api)
        paginator.update(page, records)
        if records:
            yield records
