"""Jira connector against a route-based fake API (respx): paging, changelogs, errors, JQL."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from pydantic import SecretStr

from connectors.errors import (
    AuthError,
    ConnectorError,
    FatalAPIError,
    MalformedResponseError,
    PaginationLoopError,
    RetriableAPIError,
    TooManyPagesError,
)
from connectors.http import RequestLimits
from connectors.jira import CLOUD, JiraClient, build_jql
from tests.connectors.fakes import (
    JIRA_EMAIL,
    JIRA_PAT,
    JIRA_TOKEN,
    JIRA_URL,
    FakeJiraChangelogs,
    FakeJiraSearch,
    error_text,
)

FIELDS = ["assignee", "status", "updated"]
SEARCH = "/rest/api/3/search/jql"


@pytest.fixture
def jira(sleeps: list[float]) -> Iterator[JiraClient]:
    with JiraClient(
        JIRA_URL, email=JIRA_EMAIL, api_token=SecretStr(JIRA_TOKEN), sleep=sleeps.append,
        deployment=CLOUD,
    ) as client:
        yield client


def all_issues(client: JiraClient, jql: str = "project = SUP", **kw: int) -> list[dict[str, str]]:
    return [issue for page in client.search(jql, FIELDS, **kw) for issue in page]


# -------------------------------------------------------------------------------------- search


def test_search_follows_next_page_token_until_is_last(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    fake = FakeJiraSearch(jira_api, n_issues=250)

    pages = list(jira.search("project = SUP", FIELDS, page_size=100))

    assert [len(p) for p in pages] == [100, 100, 50]
    assert [i["id"] for p in pages for i in p] == [i["id"] for i in fake.issues]
    assert [b.get("nextPageToken") for b in fake.bodies] == [None, "page-100", "page-200"]
    assert all(b["fields"] == FIELDS and b["maxResults"] == 100 for b in fake.bodies)
    assert all(b["jql"] == "project = SUP" for b in fake.bodies)


def test_search_sends_basic_auth_and_accept_json(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    fake = FakeJiraSearch(jira_api, n_issues=1)
    all_issues(jira)
    request = fake.route.calls.last.request
    expected = base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.headers["accept"] == "application/json"
    assert request.method == "POST"


def test_data_center_pat_is_sent_as_bearer(jira_api: respx.MockRouter) -> None:
    fake = FakeJiraSearch(jira_api, n_issues=1)
    with JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT)) as client:
        all_issues(client)
    assert fake.route.calls.last.request.headers["authorization"] == f"Bearer {JIRA_PAT}"


def test_search_trusts_tokens_not_page_sizes(jira: JiraClient, jira_api: respx.MockRouter) -> None:
    fake = FakeJiraSearch(jira_api, n_issues=250, page_cap=40)  # server sends fewer than asked
    assert len(all_issues(jira)) == 250
    assert fake.route.call_count == 7


def test_an_empty_middle_page_with_a_token_goes_on(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    """Issue 14 item 3: only a missing token or `isLast` ends token paging; an empty page
    in the middle (the bulk changelog filters per page) is not the end of the data."""
    route = jira_api.post(SEARCH).mock(
        side_effect=[
            httpx.Response(200, json={"issues": [{"id": "1"}], "nextPageToken": "a"}),
            httpx.Response(200, json={"issues": [], "nextPageToken": "b", "isLast": False}),
            httpx.Response(200, json={"issues": [{"id": "2"}], "isLast": True}),
        ]
    )
    assert [i["id"] for i in all_issues(jira)] == ["1", "2"]
    assert route.call_count == 3


def test_is_last_ends_the_loop_even_with_a_token(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    route = jira_api.post(SEARCH).mock(
        return_value=httpx.Response(
            200, json={"issues": [{"id": "1"}], "nextPageToken": "z", "isLast": True}
        )
    )
    assert [i["id"] for i in all_issues(jira)] == ["1"]
    assert route.call_count == 1


def test_empty_pages_with_ever_new_tokens_stop_at_the_page_ceiling(
    jira_api: respx.MockRouter,
) -> None:
    """Empty pages no longer end the walk, so the ceiling is what stops a server that hands
    out fresh tokens for ever."""
    counter = iter(range(10**6))
    jira_api.post(SEARCH).mock(
        side_effect=lambda request: httpx.Response(
            200, json={"issues": [], "nextPageToken": f"t{next(counter)}", "isLast": False}
        )
    )
    client = JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT), deployment=CLOUD,
                        limits=RequestLimits(max_pages=5))
    with client, pytest.raises(TooManyPagesError, match="ACCOUNTABILITY_MAX_PAGES=5"):
        all_issues(client)


def test_a_repeated_token_after_an_empty_page_raises(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    jira_api.post(SEARCH).mock(
        side_effect=[
            httpx.Response(200, json={"issues": [{"id": "1"}], "nextPageToken": "a"}),
            httpx.Response(200, json={"issues": [], "nextPageToken": "a"}),
        ]
    )
    with pytest.raises(PaginationLoopError, match="nextPageToken"):
        all_issues(jira)


def test_no_token_ends_the_loop_even_without_is_last(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    route = jira_api.post(SEARCH).mock(return_value=httpx.Response(200, json={"issues": [{}]}))
    assert len(all_issues(jira)) == 1
    assert route.call_count == 1


def test_a_repeated_token_raises_instead_of_looping(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    route = jira_api.post(SEARCH).mock(
        return_value=httpx.Response(
            200, json={"issues": [{"id": "1"}], "nextPageToken": "same", "isLast": False}
        )
    )
    with pytest.raises(PaginationLoopError, match="nextPageToken"):
        all_issues(jira)
    assert route.call_count == 2


def test_search_requires_explicit_fields(jira: JiraClient) -> None:
    with pytest.raises(ValueError, match="fields"):
        next(jira.search("project = SUP", []))


def test_search_answer_without_issues_is_malformed(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    jira_api.post(SEARCH).mock(return_value=httpx.Response(200, json={"values": []}))
    with pytest.raises(MalformedResponseError, match="'issues'"):
        all_issues(jira)


def test_html_page_with_status_200_names_jira_url(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    route = jira_api.post(SEARCH).mock(
        return_value=httpx.Response(
            200,
            text="<!DOCTYPE html><html><body>Log in to continue</body></html>",
            headers={"content-type": "text/html;charset=UTF-8"},
        )
    )
    with pytest.raises(MalformedResponseError) as caught:
        all_issues(jira)
    message = str(caught.value)
    assert "answered with an HTML page, not the Jira API: is JIRA_URL right?" in message
    assert JIRA_URL in message
    assert route.call_count == 1


def test_a_redirect_is_not_followed_and_names_jira_url(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    jira_api.post(SEARCH).mock(
        return_value=httpx.Response(302, headers={"location": "https://id.atlassian.com/login"})
    )
    with pytest.raises(FatalAPIError, match="redirect .* is JIRA_URL right"):
        all_issues(jira)


def test_account_timezone_is_read_once(jira: JiraClient, jira_api: respx.MockRouter) -> None:
    route = jira_api.get("/rest/api/3/myself").mock(
        return_value=httpx.Response(200, json={"accountId": "x", "timeZone": "America/New_York"})
    )
    assert jira.account_timezone() == ZoneInfo("America/New_York")
    assert jira.account_timezone() == ZoneInfo("America/New_York")
    assert route.call_count == 1


# ---------------------------------------------------------------------------- status → error


def _status_response(status: int) -> httpx.Response:
    body = {"errorMessages": [f"server says {status}"], "errors": {"jql": "bad clause"}}
    headers = {"Retry-After": "7"} if status == 429 else {}
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "error", "calls"),
    [
        (401, AuthError, 1),
        (403, AuthError, 1),
        (400, FatalAPIError, 1),
        (404, FatalAPIError, 1),
        (422, FatalAPIError, 1),
        (429, RetriableAPIError, 6),
        (500, RetriableAPIError, 6),
        (502, RetriableAPIError, 6),
        (503, RetriableAPIError, 6),
    ],
    ids=[
        "401-auth",
        "403-auth",
        "400-fatal",
        "404-fatal",
        "422-fatal",
        "429-retried",
        "500-retried",
        "502-retried",
        "503-retried",
    ],
)
def test_status_maps_to_error(
    jira: JiraClient,
    jira_api: respx.MockRouter,
    sleeps: list[float],
    status: int,
    error: type[ConnectorError],
    calls: int,
) -> None:
    route = jira_api.post(SEARCH).mock(return_value=_status_response(status))

    with pytest.raises(error) as caught:
        all_issues(jira)

    assert type(caught.value) is error
    assert caught.value.status == status
    assert route.call_count == calls
    assert len(sleeps) == calls - 1
    assert jira.stats.requests == calls and jira.stats.retries == calls - 1
    if status == 429:
        assert sleeps == [7.0] * 5  # Retry-After is what we slept
    else:
        assert all(0 <= s <= 30 for s in sleeps)
    if error is AuthError:
        assert "check JIRA_EMAIL and JIRA_API_TOKEN (or JIRA_PAT)" in str(caught.value)
        assert str(caught.value).startswith(f"Jira refused the credentials (HTTP {status})")
    if error is FatalAPIError:
        assert f"server says {status}" in str(caught.value)
        assert "jql: bad clause" in str(caught.value)
    assert JIRA_TOKEN not in error_text(caught.value)


def test_429_then_200_succeeds_after_sleeping_retry_after(
    jira: JiraClient, jira_api: respx.MockRouter, sleeps: list[float]
) -> None:
    jira_api.post(SEARCH).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(200, json={"issues": [{"id": "1"}], "isLast": True}),
        ]
    )
    assert len(all_issues(jira)) == 1
    assert sleeps == [3.0]
    assert jira.stats.by_endpoint() == {f"POST {SEARCH}": {"requests": 2, "retries": 1}}


def test_an_absurd_retry_after_is_capped(
    jira: JiraClient, jira_api: respx.MockRouter, sleeps: list[float]
) -> None:
    jira_api.post(SEARCH).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "86400"}),
            httpx.Response(200, json={"issues": [], "isLast": True}),
        ]
    )
    all_issues(jira)
    assert sleeps == [120.0]


def test_transport_errors_and_timeouts_are_retried(
    jira: JiraClient, jira_api: respx.MockRouter, sleeps: list[float]
) -> None:
    jira_api.post(SEARCH).mock(
        side_effect=[
            httpx.ConnectError("connection refused"),
            httpx.ReadTimeout("read timed out"),
            httpx.Response(200, json={"issues": [{"id": "1"}], "isLast": True}),
        ]
    )
    assert len(all_issues(jira)) == 1
    assert len(sleeps) == 2


def test_a_persistent_transport_error_gives_up_after_max_attempts(
    jira_api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = jira_api.post(SEARCH).mock(side_effect=httpx.ConnectError("connection refused"))
    client = JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT), max_attempts=3, sleep=sleeps.append)
    with client, pytest.raises(RetriableAPIError, match="ConnectError") as caught:
        all_issues(client)
    assert route.call_count == 3 and len(sleeps) == 2
    assert caught.value.status is None
    assert JIRA_PAT not in error_text(caught.value)


def test_no_secret_in_messages_or_logs(
    jira_api: respx.MockRouter, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    """Userinfo in JIRA_URL and the token never reach a message or a log line."""
    url_with_userinfo = f"https://{JIRA_EMAIL}:{JIRA_TOKEN}@acme.atlassian.net"
    jira_api.post(SEARCH).mock(
        side_effect=[
            httpx.Response(503, text="busy"),
            httpx.Response(401, json={"errorMessages": ["Client must be authenticated"]}),
        ]
    )
    caplog.set_level(logging.DEBUG)
    with (
        JiraClient(
            url_with_userinfo,
            email=JIRA_EMAIL,
            api_token=SecretStr(JIRA_TOKEN),
            sleep=sleeps.append,
        ) as client,
        pytest.raises(AuthError) as caught,
    ):
        all_issues(client)
    assert "Client must be authenticated" in str(caught.value)
    assert JIRA_TOKEN not in error_text(caught.value)
    assert JIRA_TOKEN not in caplog.text
    assert "acme.atlassian.net" in caplog.text  # the retry was logged, redacted


def test_missing_credentials_and_plain_http_are_refused() -> None:
    with pytest.raises(ValueError, match="JIRA_EMAIL and JIRA_API_TOKEN"):
        JiraClient(JIRA_URL, email=JIRA_EMAIL)
    with pytest.raises(ValueError, match="https"):
        JiraClient("http://jira.acme.example", pat=SecretStr(JIRA_PAT))


# ---------------------------------------------------------------------------------- changelogs


def test_bulk_changelogs_batch_1000_ids_follow_tokens_and_merge_per_issue(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    fake = FakeJiraChangelogs(jira_api, page_size=700)
    ids = [str(20000 + n) for n in range(2500)]

    result = list(jira.changelogs(ids).histories.items())

    first_pages = [b for b in fake.bulk_bodies if "nextPageToken" not in b]
    assert sorted(len(b["issueIdsOrKeys"]) for b in first_pages) == [500, 1000, 1000]
    # 1000 ids x 2 matching histories = 2000 → 3 pages of ≤ 700; 500 ids → 2 pages.
    assert fake.bulk.call_count == 3 + 3 + 2
    assert all(b["fieldIds"] == ["assignee", "status"] for b in fake.bulk_bodies)
    assert all(len(b["issueIdsOrKeys"]) <= 1000 for b in fake.bulk_bodies)
    assert [issue_id for issue_id, _ in result] == ids
    for issue_id, histories in result:
        assert [h["id"] for h in histories] == [f"{issue_id}-1", f"{issue_id}-2"]
        assert [i["fieldId"] for h in histories for i in h["items"]] == ["assignee", "status"]
    assert fake.per_issue.call_count == 0


def test_bulk_changelog_without_issue_change_logs_is_malformed(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    jira_api.post("/rest/api/3/changelog/bulkfetch").mock(
        return_value=httpx.Response(200, json={"values": []})
    )
    with pytest.raises(MalformedResponseError, match="issueChangeLogs"):
        jira.changelogs(["1"])


@pytest.mark.parametrize("bulk_status", [404, 405], ids=["bulk-404", "bulk-405"])
def test_data_center_falls_back_to_paged_per_issue_changelogs(
    jira: JiraClient, jira_api: respx.MockRouter, bulk_status: int
) -> None:
    fake = FakeJiraChangelogs(
        jira_api, bulk_status=bulk_status, extra_histories={"301": 250}, deleted={"302"}
    )

    fetched = jira.changelogs(["300", "301", "302", "303"])
    result = fetched.histories

    assert list(result) == ["300", "301", "303"]
    assert fetched.missing == ("302",)
    assert fake.issue_pages["301"] == 3  # 253 histories: startAt 0, 100, 200
    assert len(result["301"]) == 2 + 250  # the labels-only history is filtered out
    for histories in result.values():
        fields = {item["fieldId"] for h in histories for item in h["items"]}
        assert fields <= {"assignee", "status"}
    # The fallback is for good: no second probe of the bulk endpoint.
    assert jira.changelogs(["304"]).histories["304"][0]["id"] == "304-1"
    assert fake.bulk.call_count == 1


def test_a_deleted_issue_is_skipped_and_counted_on_the_per_issue_path(
    jira_api: respx.MockRouter,
) -> None:
    fake = FakeJiraChangelogs(jira_api, bulk_status=404, deleted={"2", "4"})
    with JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT), max_concurrency=3) as client:
        fetched = client.changelogs([str(n) for n in range(1, 11)])
    assert sorted(fetched.histories, key=int) == ["1", "3", "5", "6", "7", "8", "9", "10"]
    assert sorted(fetched.missing) == ["2", "4"]
    assert fake.per_issue.call_count == 10


def test_threads_sharing_a_client_each_learn_only_their_own_deleted_issues(
    jira_api: respx.MockRouter,
) -> None:
    FakeJiraChangelogs(jira_api, bulk_status=404, deleted={"2", "12"})
    asks = {"a": [str(n) for n in range(1, 11)], "b": [str(n) for n in range(11, 21)]}
    missing: dict[str, tuple[str, ...]] = {}
    start = threading.Barrier(2)
    with JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT), max_concurrency=3) as client:

        def read(name: str) -> None:
            start.wait()
            missing[name] = client.changelogs(asks[name]).missing

        threads = [threading.Thread(target=read, args=(name,)) for name in asks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert missing == {"a": ("2",), "b": ("12",)}


def test_changelogs_take_ids_not_keys(jira: JiraClient) -> None:
    with pytest.raises(ValueError, match="issue ids"):
        jira.changelogs(["SUP-1"])


def test_changelog_requests_stay_within_the_bulk_field_limit(jira: JiraClient) -> None:
    with pytest.raises(ValueError, match="1 to 10"):
        jira.changelogs(["1"], field_ids=[f"f{n}" for n in range(11)])


# ------------------------------------------------------------------------------------------ JQL


def test_build_jql_bounds_are_epoch_millis_and_keys_are_quoted() -> None:
    # 2026-11-02T09:30+01:00 is 08:30Z: 20,759 days after 1970-01-01 (56 years with 14 leap
    # days = 20,454, plus 305 days into 2026) → 20,759 × 86,400 + 8.5 × 3,600 = 1,793,608,200 s.
    since = datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    until = datetime(2026, 11, 9, 8, 30, 0, 500, tzinfo=UTC)  # 7 days later + 0.5 ms

    jql = build_jql(["SUP", "REN"], "labels = ai-assisted", since, until)

    assert jql == (
        'project in ("SUP", "REN") AND (labels = ai-assisted) '
        "AND updated >= 1793608200000 AND updated < 1794213000001 ORDER BY updated ASC"
    )


def test_build_jql_without_extra_or_upper_bound_and_with_odd_keys() -> None:
    since = datetime(1970, 1, 1, 0, 0, 1, 999, tzinfo=UTC)  # 1.000999 s floors to 1000 ms
    assert build_jql(['A"B', "C\\D"], None, since, None) == (
        'project in ("A\\"B", "C\\\\D") AND updated >= 1000 ORDER BY updated ASC'
    )


def test_build_jql_refuses_naive_datetimes_and_order_by() -> None:
    with pytest.raises(ValueError, match="naive"):
        build_jql(["SUP"], None, datetime(2026, 1, 1), None)
    with pytest.raises(ValueError, match="ORDER BY"):
        build_jql(["SUP"], "labels = x order  by key", datetime(2026, 1, 1, tzinfo=UTC), None)


def test_search_never_calls_the_removed_search_endpoint(
    jira: JiraClient, jira_api: respx.MockRouter
) -> None:
    removed = jira_api.route(path="/rest/api/3/search").mock(
        return_value=httpx.Response(410, json={"errorMessages": ["gone"]})
    )
    FakeJiraSearch(jira_api, n_issues=3)
    all_issues(jira)
    assert removed.call_count == 0
    assert json.loads(jira_api.calls.last.request.content)["fields"] == FIELDS


def test_changelog_batches_run_in_parallel_within_max_concurrency(
    jira_api: respx.MockRouter,
) -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.02)  # a slow server, so that requests overlap
        with lock:
            in_flight -= 1
        issue_ids = json.loads(request.content)["issueIdsOrKeys"]
        return httpx.Response(
            200,
            json={"issueChangeLogs": [{"issueId": i, "changeHistories": []} for i in issue_ids]},
        )

    route = jira_api.post("/rest/api/3/changelog/bulkfetch").mock(side_effect=handle)
    ids = [str(n) for n in range(1, 6001)]
    with JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT), max_concurrency=2) as client:
        assert list(client.changelogs(ids).histories) == ids
        assert list(client.changelogs(ids).histories) == ids  # known to work: no serial probe
    assert route.call_count == 12
    assert peak == 2
