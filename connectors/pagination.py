"""Small paginator objects: each reads a page and says whether, and how, to ask for the next.

The loops that use them live with their API (`connectors.jira`, `connectors.pagerduty`); the
stopping rules live here, so "an empty page ends the loop" and "a repeated token raises" are
written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.errors import PaginationLoopError


class TokenPaginator:
    """Follows `nextPageToken` (Jira's enhanced search and bulk changelog).

    Stops on `isLast`, on an empty page or when no token comes back; a token that was handed
    out before means the server is going round in circles, which raises instead of looping.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._seen: set[str] = set()
        self.token: str | None = None
        self.done = False

    def advance(self, page: Mapping[str, Any], n_items: int) -> None:
        token = page.get("nextPageToken")
        if page.get("isLast") is True or n_items == 0 or not isinstance(token, str) or not token:
            self.done = True
            return
        if token in self._seen:
            raise PaginationLoopError(
                f"{self._url} handed back a nextPageToken it had already given "
                f"(after {len(self._seen)} pages): stopping instead of looping",
                url=self._url,
            )
        self._seen.add(token)
        self.token = token


class StartAtPaginator:
    """Follows `startAt`/`maxResults` offsets (Jira's per-issue changelog).

    Advances by the number of items actually returned (the server may send fewer than asked)
    and stops on `isLast`, on an empty page, or once `startAt` reaches `total`.
    """

    def __init__(self) -> None:
        self.start_at = 0
        self.done = False

    def advance(self, page: Mapping[str, Any], n_items: int) -> None:
        self.start_at += n_items
        total = page.get("total")
        reached_total = isinstance(total, int) and self.start_at >= total
        if page.get("isLast") is True or n_items == 0 or reached_total:
            self.done = True
