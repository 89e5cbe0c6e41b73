"""The one pagination loop and its paginators, against a scripted `send` (no HTTP)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from connectors.errors import MalformedResponseError, PageLimitError, PaginationLoopError
from connectors.pagination import (
    Caller,
    Endpoint,
    OffsetPaginator,
    StartAtPaginator,
    TokenPaginator,
    paginate,
)


class Scripted:
    """A `send` that answers pages from a script and records what it was asked."""

    def __init__(self, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.answer = answer
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, endpoint: Endpoint, path: str, params: dict[str, Any]) -> Any:
        self.sent.append((endpoint.label, path, params))
        return self.answer(params)

    @property
    def caller(self) -> Caller:
        return Caller("Acme", self, lambda path: f"https://acme.example{path}")


def test_params_are_the_endpoints_then_the_callers_then_the_paginators() -> None:
    send = Scripted(lambda p: {"values": [1, 2, 3][p["startAt"] :], "total": 3})
    endpoint = Endpoint(
        "GET", "/issue/{id}/changelog", "values",
        partial(StartAtPaginator, page_size=2), params={"fixed": "yes"},
    )

    pages = list(paginate(send.caller, endpoint, {"mine": 1}, path_params={"id": "7"}))

    assert pages == [[1, 2, 3]]  # startAt advances by what came back, and stops at total
    assert send.sent == [
        ("GET /issue/{id}/changelog", "/issue/7/changelog",
         {"fixed": "yes", "mine": 1, "startAt": 0, "maxResults": 2}),
    ]
    assert list(send.sent[0][2]) == ["fixed", "mine", "startAt", "maxResults"]


def test_a_repeated_token_raises_after_its_page_is_yielded_and_before_it_is_followed() -> None:
    send = Scripted(lambda p: {"items": ["x"], "nextPageToken": "same"})
    pages = paginate(send.caller, Endpoint("POST", "/search", "items", TokenPaginator))

    assert next(pages) == ["x"] and next(pages) == ["x"]
    with pytest.raises(PaginationLoopError, match="nextPageToken") as caught:
        next(pages)
    assert len(send.sent) == 2
    assert caught.value.url == "https://acme.example/search"


def test_an_offset_past_the_cap_is_never_asked() -> None:
    send = Scripted(lambda p: {"records": ["r"] * p["limit"], "more": True})
    paginator = partial(OffsetPaginator, limit=100, max_records=300, ask_total=True)
    pages = paginate(send.caller, Endpoint("GET", "/incidents", "records", paginator))

    assert len([next(pages) for _ in range(3)]) == 3
    with pytest.raises(PageLimitError):
        next(pages)
    assert [params["offset"] for _, _, params in send.sent] == [0, 100, 200]
    assert [params.get("total") for _, _, params in send.sent] == ["true", None, None]


def test_a_total_over_the_cap_raises_before_the_first_page_is_yielded() -> None:
    send = Scripted(lambda p: {"records": ["r"], "more": True, "total": 301})
    paginator = partial(OffsetPaginator, limit=100, max_records=300, ask_total=True)
    with pytest.raises(PageLimitError, match="301"):
        next(paginate(send.caller, Endpoint("GET", "/incidents", "records", paginator)))


def test_an_empty_page_ends_the_loop_and_is_not_yielded() -> None:
    send = Scripted(lambda p: {"records": [], "more": True})
    paginator = partial(OffsetPaginator, limit=100, max_records=300, ask_total=False)
    assert list(paginate(send.caller, Endpoint("GET", "/users", "records", paginator))) == []
    assert len(send.sent) == 1


def test_a_page_without_its_records_key_is_malformed() -> None:
    send = Scripted(lambda p: {"issues": []})
    with pytest.raises(MalformedResponseError, match="Acme answered .*/search .*'values'"):
        list(paginate(send.caller, Endpoint("POST", "/search", "values", TokenPaginator)))
