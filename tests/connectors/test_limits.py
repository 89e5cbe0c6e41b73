"""Issue 15 items 2, 3 and 6: rate limits waited out within a time budget, odd retry advice,
and the limits that bound what a misbehaving server can cost (pages, bytes, seconds).

No test sleeps: retries wait through an injected `sleep` that checks its argument the way
`time.sleep` does, and the deadline reads an injected clock.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
import pytest
import respx
from pydantic import SecretStr

from accountability.config.settings import load_settings
from accountability.sources.pagerduty import open_pagerduty
from connectors.channel_errors import ChannelError, from_connector_error
from connectors.errors import (
    RateLimitBudgetError,
    RequestDeadlineError,
    ResponseTooLargeError,
    RetriableAPIError,
    TooManyPagesError,
)
from connectors.http import RequestLimits, retry_after_seconds
from connectors.jira import CLOUD, JiraClient
from connectors.pagerduty import PagerDutyClient
from tests.connectors.fakes import JIRA_PAT, JIRA_URL, PD_TOKEN, FakeJiraSearch

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
USERS_PAGE = {"users": [{"id": "PU1"}], "more": False}


class StrictSleep:
    """Records waits, refusing what `time.sleep` refuses (nan, negative) and infinity."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"sleep length must be finite and non-negative: {seconds}")
        self.waits.append(seconds)


def too_many(status: int, n: int, **headers: str) -> list[httpx.Response]:
    return [httpx.Response(status, headers=headers) for _ in range(n)]


# ------------------------------------------------------------------ item 3: odd retry headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "nan"},
        {"Retry-After": "inf"},
        {"Retry-After": "-5"},
        {"Retry-After": "0"},
        {"Retry-After": "Mon, 02 Mar 2026 11:59:00 GMT"},  # a minute ago
        {"ratelimit-reset": "NaN"},
        {"ratelimit-reset": "-1"},
        {"X-RateLimit-Reset": "2026-03-02T11:58Z"},  # Jira's reset, already past
        {"X-RateLimit-Reset": "1772452000"},  # an epoch instant before NOW
    ],
    ids=["nan", "inf", "negative", "zero", "past-date", "pd-nan", "pd-negative", "jira-past",
         "epoch-past"],
)
def test_unusable_retry_advice_is_no_advice(headers: dict[str, str]) -> None:
    assert retry_after_seconds(httpx.Response(429, headers=headers), now=NOW) is None


def test_usable_advice_after_an_unusable_header_still_counts() -> None:
    response = httpx.Response(429, headers={"Retry-After": "nan", "ratelimit-reset": "4"})
    assert retry_after_seconds(response, now=NOW) == 4.0


@pytest.mark.parametrize("value", ["nan", "inf", "-3"])
def test_a_429_with_odd_advice_falls_back_to_jittered_backoff(
    pd_api: respx.MockRouter, value: str
) -> None:
    sleep = StrictSleep()
    pd_api.get("/users").mock(
        side_effect=[*too_many(429, 2, **{"Retry-After": value}),
                     httpx.Response(200, json=USERS_PAGE)]
    )
    with PagerDutyClient(SecretStr(PD_TOKEN), sleep=sleep) as client:
        assert [u["id"] for u in client.users()] == ["PU1"]
    assert len(sleep.waits) == 2 and all(0 <= w <= 30 for w in sleep.waits)


def test_no_carrier_holds_a_non_finite_or_negative_delay() -> None:
    """The dispatcher computes the next attempt from `ChannelError.retry_after`."""
    for odd in (math.nan, math.inf, -math.inf, -2.0, 0.0):
        api = RetriableAPIError("x", status=429, retry_after=odd)
        assert api.retry_after is None
        assert from_connector_error(api, "Slack").retry_after is None
        assert ChannelError("x", retry_after=odd).retry_after is None
    assert ChannelError("x", retry_after=12.5).retry_after == 12.5


# ------------------------------------------------------------- item 2: the 429 time budget


def test_six_429s_in_a_row_no_longer_fail_the_sync_client(pd_api: respx.MockRouter) -> None:
    """The issue's case, through the sync's own client factory and default settings."""
    sleep = StrictSleep()
    route = pd_api.get("/users").mock(
        side_effect=[*too_many(429, 6, **{"ratelimit-reset": "1"}),
                     httpx.Response(200, json=USERS_PAGE)]
    )
    settings = load_settings(pagerduty_api_token=PD_TOKEN, _env_file=None)
    with open_pagerduty(settings, sleep=sleep) as client:
        assert [u["id"] for u in client.users()] == ["PU1"]
    assert route.call_count == 7 and sleep.waits == [1.0] * 6


def test_429s_are_waited_out_until_the_budget_is_spent(pd_api: respx.MockRouter) -> None:
    sleep = StrictSleep()
    route = pd_api.get("/users").mock(
        return_value=httpx.Response(429, headers={"ratelimit-reset": "7"})
    )
    client = PagerDutyClient(SecretStr(PD_TOKEN), max_429_retries=None, rate_limit_budget=30,
                             sleep=sleep)
    with client, pytest.raises(RateLimitBudgetError) as caught:
        list(client.users())
    assert sleep.waits == [7.0, 7.0, 7.0, 7.0, 2.0]  # the last wait is what the budget left
    assert sum(sleep.waits) == 30 and route.call_count == 6
    message = str(caught.value)
    assert "ACCOUNTABILITY_RATE_LIMIT_BUDGET=30 s" in message and "still rate limited" in message
    assert caught.value.status == 429 and isinstance(caught.value, RetriableAPIError)


def test_a_long_streak_within_the_budget_succeeds(pd_api: respx.MockRouter) -> None:
    sleep = StrictSleep()
    pd_api.get("/users").mock(
        side_effect=[*too_many(429, 250, **{"ratelimit-reset": "1"}),
                     httpx.Response(200, json=USERS_PAGE)]
    )
    client = PagerDutyClient(SecretStr(PD_TOKEN), max_429_retries=None, rate_limit_budget=300,
                             sleep=sleep)
    with client:
        assert [u["id"] for u in client.users()] == ["PU1"]
    assert len(sleep.waits) == 250


def test_near_zero_advice_still_spends_the_budget(jira_api: respx.MockRouter) -> None:
    """A server advising 1 ms each time would otherwise be hammered without end."""
    sleep = StrictSleep()
    route = jira_api.post("/rest/api/3/search/jql").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "0.001"})
    )
    client = JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT), rate_limit_budget=5, sleep=sleep)
    with client, pytest.raises(RateLimitBudgetError):
        list(client.search("project = SUP", ["status"]))
    assert route.call_count == 11 and sleep.waits == [0.5] * 10


def test_server_errors_keep_their_bounded_attempts_under_a_budget(
    jira_api: respx.MockRouter,
) -> None:
    sleep = StrictSleep()
    route = jira_api.post("/rest/api/3/search/jql").mock(return_value=httpx.Response(503))
    client = JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT), rate_limit_budget=300, sleep=sleep)
    with client, pytest.raises(RetriableAPIError) as caught:
        list(client.search("project = SUP", ["status"]))
    assert route.call_count == 6 and caught.value.status == 503
    assert not isinstance(caught.value, RateLimitBudgetError)


def test_the_budget_is_a_setting() -> None:
    assert load_settings(_env_file=None).rate_limit_budget == 300
    settings = load_settings(ACCOUNTABILITY_RATE_LIMIT_BUDGET="900", _env_file=None)
    assert settings.rate_limit_budget == 900


# ------------------------------------------------- item 6: pages, bytes and seconds bounded


def test_a_query_that_never_ends_stops_at_the_page_ceiling(jira_api: respx.MockRouter) -> None:
    search = FakeJiraSearch(jira_api, n_issues=50, page_cap=5)  # 10 pages
    client = JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT), limits=RequestLimits(max_pages=4))
    with client, pytest.raises(TooManyPagesError) as caught:
        list(client.search("project = SUP", ["status"]))
    assert len(search.bodies) == 4
    assert "ACCOUNTABILITY_MAX_PAGES=4" in str(caught.value)


def test_the_page_ceiling_reaches_pagerduty(pd_api: respx.MockRouter) -> None:
    offsets: list[int] = []

    def endless(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        offsets.append(offset)
        return httpx.Response(200, json={"users": [{"id": f"PU{offset}"}], "more": True})

    pd_api.get("/users").mock(side_effect=endless)
    client = PagerDutyClient(SecretStr(PD_TOKEN), limits=RequestLimits(max_pages=3))
    with client, pytest.raises(TooManyPagesError, match="ACCOUNTABILITY_MAX_PAGES=3"):
        list(client.users())
    assert len(offsets) == 3


def test_a_declared_oversized_answer_is_refused_unread(pd_api: respx.MockRouter) -> None:
    pd_api.get("/users").mock(
        return_value=httpx.Response(200, json={"users": [{"id": "x" * 4000}], "more": False})
    )
    client = PagerDutyClient(SecretStr(PD_TOKEN), limits=RequestLimits(max_response_bytes=1024))
    with client, pytest.raises(ResponseTooLargeError) as caught:
        list(client.users())
    assert "ACCOUNTABILITY_MAX_RESPONSE_MB" in str(caught.value)
    assert client.stats.requests == 1  # fatal: the same request gets the same body


def test_an_undeclared_oversized_answer_stops_at_the_cap(jira_api: respx.MockRouter) -> None:
    def chunked(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b'{"issues": [', b" " * 800, b" " * 800]))

    jira_api.post("/rest/api/3/search/jql").mock(side_effect=chunked)
    client = JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT),
                        limits=RequestLimits(max_response_bytes=1024))
    with client, pytest.raises(ResponseTooLargeError, match="more than"):
        list(client.search("project = SUP", ["status"]))


class SteppingClock:
    """A monotonic clock that moves `step` seconds every time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_a_trickling_answer_hits_the_request_deadline(jira_api: respx.MockRouter) -> None:
    def trickle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b'{"issues": [], ', b'"isLast": true}']))

    route = jira_api.post("/rest/api/3/search/jql").mock(side_effect=trickle)
    sleep = StrictSleep()
    limits = RequestLimits(deadline=2.5, clock=SteppingClock(1.0))
    client = JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT), limits=limits, max_attempts=2,
                        sleep=sleep, deployment=CLOUD)
    with client, pytest.raises(RequestDeadlineError) as caught:
        list(client.search("project = SUP", ["status"]))
    assert "ACCOUNTABILITY_REQUEST_DEADLINE" in str(caught.value)
    assert route.call_count == 2  # retriable: a slow moment may pass


def test_an_answer_within_the_deadline_is_read(jira_api: respx.MockRouter) -> None:
    jira_api.post("/rest/api/3/search/jql").mock(
        return_value=httpx.Response(200, json={"issues": [{"id": "1"}], "isLast": True})
    )
    limits = RequestLimits(deadline=10, clock=SteppingClock(1.0))
    with JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT), limits=limits) as client:
        assert len(list(client.search("project = SUP", ["status"]))) == 1


def test_the_limits_are_settings() -> None:
    settings = load_settings(ACCOUNTABILITY_MAX_PAGES="7", ACCOUNTABILITY_MAX_RESPONSE_MB="2",
                             ACCOUNTABILITY_REQUEST_DEADLINE="45", _env_file=None)
    limits = settings.request_limits()
    assert (limits.max_pages, limits.max_response_bytes, limits.deadline) == (7, 2 << 20, 45)
    defaults = load_settings(_env_file=None).request_limits()
    assert (defaults.max_pages, defaults.max_response_bytes, defaults.deadline) == (
        20_000, 50 << 20, 300)
