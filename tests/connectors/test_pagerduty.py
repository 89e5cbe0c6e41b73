"""PagerDuty connector: the real `pagerduty` 6.3 client, its httpx calls intercepted by respx."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from pydantic import SecretStr

from connectors.errors import (
    AuthError,
    ConnectorError,
    FatalAPIError,
    MalformedResponseError,
    RetriableAPIError,
)
from connectors.pagerduty import PagerDutyClient, applied_order
from tests.connectors.fakes import (
    PD_TOKEN,
    T0,
    FakePagerDutyHistory,
    FakePagerDutyIndex,
    error_text,
    iso,
    pd_error,
)

SERVICES = ["PSUP001", "PREN002"]


@pytest.fixture
def pd(sleeps: list[float]) -> Iterator[PagerDutyClient]:
    with PagerDutyClient(SecretStr(PD_TOKEN), sleep=sleeps.append) as client:
        yield client


def every(seconds: int, count: int, start: datetime = T0) -> list[datetime]:
    return [start + timedelta(seconds=seconds * n) for n in range(count)]


def ids(records: list[dict[str, str]]) -> list[str]:
    return [r["id"] for r in records]


# ------------------------------------------------------------------------------------- paging


def test_users_page_by_offset_and_more_through_the_vendor_client(
    pd: PagerDutyClient, pd_api: respx.MockRouter
) -> None:
    fake = FakePagerDutyIndex(pd_api, "/users", 250)

    users = list(pd.users())

    assert ids(users) == ids(fake.records)
    offsets = [int(c.request.url.params["offset"]) for c in fake.route.calls]
    assert offsets == [0, 100, 200]
    request = fake.route.calls.last.request
    assert request.headers["authorization"] == f"Token token={PD_TOKEN}"
    assert request.headers["accept"] == "application/vnd.pagerduty+json;version=2"
    assert request.url.params["limit"] == "100"


@pytest.mark.parametrize("path", ["/services", "/escalation_policies"])
def test_reference_data_endpoints(pd: PagerDutyClient, pd_api: respx.MockRouter, path: str) -> None:
    fake = FakePagerDutyIndex(pd_api, path, 120)
    method = pd.services if path == "/services" else pd.escalation_policies
    assert ids(list(method())) == ids(fake.records)


def test_incidents_are_asked_by_creation_window_in_explicit_utc(
    pd: PagerDutyClient, pd_api: respx.MockRouter
) -> None:
    fake = FakePagerDutyHistory(pd_api, "/incidents", every(3600, 300))
    since = T0 + timedelta(hours=10)
    until = T0 + timedelta(hours=260)

    result = list(pd.incidents(SERVICES, since, until))

    assert ids(result) == [f"Q{n:06d}" for n in range(10, 260)]  # [since, until)
    params = fake.route.calls[0].request.url.params
    assert params["since"] == "2026-01-05T10:00:00Z"
    assert params["until"] == "2026-01-15T20:00:00Z"
    assert params.get_list("service_ids[]") == SERVICES
    assert params["total"] == "true" and params["time_zone"] == "UTC"
    assert "total" not in fake.route.calls[1].request.url.params  # first page only


def test_sub_second_bounds_are_widened_not_narrowed(
    pd: PagerDutyClient, pd_api: respx.MockRouter
) -> None:
    fake = FakePagerDutyHistory(pd_api, "/incidents", every(60, 5))
    since = T0 + timedelta(microseconds=900)
    until = T0 + timedelta(minutes=4, microseconds=1)
    assert len(list(pd.incidents(SERVICES, since, until))) == 5
    params = fake.route.calls[0].request.url.params
    assert (params["since"], params["until"]) == ("2026-01-05T00:00:00Z", "2026-01-05T00:04:01Z")


# ---------------------------------------------------------------------------- 10,000 records


@pytest.mark.parametrize(
    ("honour_total", "cap", "until_inclusive"),
    [(True, 10_000, False), (False, 10_000, True), (False, 5_000, False)],
    ids=["total-true-asked", "no-total-stop-at-10000", "server-400-past-cap"],
)
def test_windows_over_10000_are_bisected_without_loss_or_duplicates(
    pd: PagerDutyClient,
    pd_api: respx.MockRouter,
    honour_total: bool,
    cap: int,
    until_inclusive: bool,
) -> None:
    created = every(100, 12_000)  # one incident every 100 s for ~14 days
    seam = T0 + timedelta(seconds=600_000)  # the middle of the window: its first split point
    created += [seam] * 3
    fake = FakePagerDutyHistory(
        pd_api,
        "/incidents",
        created,
        cap=cap,
        honour_total=honour_total,
        until_inclusive=until_inclusive,
    )

    result = ids(list(pd.incidents(SERVICES, T0, T0 + timedelta(seconds=1_200_000))))

    assert sorted(result) == sorted(ids(fake.records))  # each one, once
    assert len(result) == len(set(result)) == 12_003
    assert (iso(T0), iso(seam)) in fake.by_window  # the window was split at its middle
    if honour_total:  # total=true on the first page: split at once, nothing read twice
        assert fake.by_window[(iso(T0), iso(T0 + timedelta(seconds=1_200_000)))] == 1
    if cap == 10_000:  # never asked past the cap: the split happened before
        assert all(
            int(r.url.params["offset"]) + int(r.url.params["limit"]) <= 10_000
            for r in fake.requests
        )
    assert all(r.url.params["since"] < r.url.params["until"] for r in fake.requests)


def test_more_than_10000_in_one_second_cannot_be_split(
    pd: PagerDutyClient, pd_api: respx.MockRouter
) -> None:
    FakePagerDutyHistory(pd_api, "/incidents", [T0] * 10_001)
    with pytest.raises(ConnectorError, match="cannot be split further"):
        list(pd.incidents(SERVICES, T0, T0 + timedelta(seconds=1)))


def test_windows_longer_than_six_months_are_split(
    pd: PagerDutyClient, pd_api: respx.MockRouter
) -> None:
    fake = FakePagerDutyHistory(pd_api, "/incidents", every(86_400, 400))  # one a day
    result = list(pd.incidents(SERVICES, T0, T0 + timedelta(days=400)))

    assert ids(result) == ids(fake.records)
    windows = sorted(fake.by_window)
    assert len(windows) == 3
    spans = [datetime.fromisoformat(u) - datetime.fromisoformat(s) for s, u in windows]
    assert all(span <= timedelta(days=180) for span in spans)
    assert [w[0] for w in windows[1:]] == [w[1] for w in windows[:-1]]  # contiguous


# -------------------------------------------------------------------------------- log entries


def test_log_entries_dedup_at_the_inclusive_seam_and_embed_incidents(
    pd: PagerDutyClient, pd_api: respx.MockRouter
) -> None:
    seam = T0 + timedelta(days=180)
    created = [T0, seam - timedelta(seconds=1), seam, seam, seam + timedelta(days=10)]
    fake = FakePagerDutyHistory(
        pd_api, "/log_entries", created, newest_first=True, until_inclusive=True
    )

    result = ids(list(pd.log_entries(T0, T0 + timedelta(days=200))))

    assert sorted(result) == ids(fake.records) and len(result) == len(set(result)) == 5
    seam_iso = iso(seam)
    assert {w for w in fake.by_window if seam_iso in w} == {
        (iso(T0), seam_iso),
        (seam_iso, iso(T0 + timedelta(days=200))),
    }
    params = fake.route.calls[0].request.url.params
    assert params.get_list("include[]") == ["incidents"]
    assert params["time_zone"] == "UTC" and params["is_overview"] == "false"


def test_log_entries_come_newest_first_within_a_window(
    pd: PagerDutyClient, pd_api: respx.MockRouter
) -> None:
    FakePagerDutyHistory(pd_api, "/log_entries", every(60, 150), newest_first=True)
    result = list(pd.log_entries(T0, T0 + timedelta(days=1)))
    assert [r["created_at"] for r in result] == sorted(
        (r["created_at"] for r in result), reverse=True
    )


def test_an_incidents_own_log_is_read_whole_and_paged(
    pd: PagerDutyClient, pd_api: respx.MockRouter
) -> None:
    """`listIncidentLogEntries`: no since/until (the whole log), include[]=incidents, paged
    by offset until `more` is false."""
    def page(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", "0"))
        entries = [{"id": f"R{n:03d}", "type": "notify_log_entry",
                    "created_at": iso(T0 - timedelta(seconds=n))}
                   for n in range(offset, min(offset + 100, 150))]
        return httpx.Response(200, json={"log_entries": entries, "limit": 100,
                                         "offset": offset, "more": offset + 100 < 150,
                                         "total": None})

    route = pd_api.get("/incidents/PINC001/log_entries").mock(side_effect=page)
    result = list(pd.incident_log_entries("PINC001"))
    assert [r["id"] for r in result] == [f"R{n:03d}" for n in range(150)]
    params = route.calls[0].request.url.params
    assert "since" not in params and "until" not in params
    assert params.get_list("include[]") == ["incidents"] and params["time_zone"] == "UTC"


def _listed(*rows: tuple[str, str, str]) -> list[dict[str, object]]:
    return [{"id": i, "created_at": at, "incident": {"id": inc}} for i, at, inc in rows]


def test_applied_order_ranks_same_second_entries_newest_first() -> None:
    """Newest first (as PagerDuty lists): of two entries of one second and incident, the one
    listed later was applied first. Another incident's entry in that second ranks alone."""
    listing = _listed(("A", "2026-10-05T09:00:05Z", "Q1"), ("B", "2026-10-05T09:00:00Z", "Q1"),
                      ("C", "2026-10-05T09:00:00Z", "Q2"), ("D", "2026-10-05T09:00:00Z", "Q1"),
                      ("E", "2026-10-05T08:59:00Z", "Q1"))
    ranks = {e["id"]: rank for e, rank in applied_order(listing)}
    assert ranks == {"A": 0, "B": 1, "C": 0, "D": 0, "E": 0}


def test_applied_order_reads_an_oldest_first_listing_too() -> None:
    listing = _listed(("B", "2026-10-05T09:00:00Z", "Q1"), ("D", "2026-10-05T09:00:00Z", "Q1"),
                      ("A", "2026-10-05T09:00:05Z", "Q1"))
    assert [(e["id"], r) for e, r in applied_order(listing)] == [("B", 0), ("D", 1), ("A", 0)]


# ---------------------------------------------------------------------------- status → error


def test_429_is_retried_a_bounded_number_of_times(
    pd_api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = pd_api.get("/users").mock(
        return_value=httpx.Response(
            429, json=pd_error("Rate Limit Exceeded"), headers={"ratelimit-reset": "3"}
        )
    )
    with (
        PagerDutyClient(SecretStr(PD_TOKEN), max_429_retries=4, sleep=sleeps.append) as client,
        pytest.raises(RetriableAPIError) as caught,
    ):
        list(client.users())
    assert route.call_count == 5  # the first try and 4 retries, not forever
    assert sleeps == [3.0] * 4  # ratelimit-reset honoured
    assert caught.value.status == 429
    assert client.stats.retries == 4


def test_429_has_its_own_budget_apart_from_server_errors(
    pd: PagerDutyClient, pd_api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = pd_api.get("/users").mock(
        side_effect=[httpx.Response(500)] * 5
        + [httpx.Response(429)] * 5
        + [httpx.Response(200, json={"users": [{"id": "PU1"}], "more": False})]
    )
    assert ids(list(pd.users())) == ["PU1"]
    assert route.call_count == 11 and len(sleeps) == 10


def test_429_then_200_succeeds(
    pd: PagerDutyClient, pd_api: respx.MockRouter, sleeps: list[float]
) -> None:
    pd_api.get("/users").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(200, json={"users": [{"id": "PU1"}], "more": False}),
        ]
    )
    assert ids(list(pd.users())) == ["PU1"]
    assert sleeps == [2.0]


@pytest.mark.parametrize(
    ("status", "error", "calls"),
    [
        (401, AuthError, 1),
        (403, AuthError, 1),
        (400, FatalAPIError, 1),
        (404, FatalAPIError, 1),
        (500, RetriableAPIError, 6),
        (503, RetriableAPIError, 6),
    ],
    ids=["401-auth", "403-auth", "400-fatal", "404-fatal", "500-retried", "503-retried"],
)
def test_status_maps_to_error(
    pd: PagerDutyClient,
    pd_api: respx.MockRouter,
    sleeps: list[float],
    status: int,
    error: type[ConnectorError],
    calls: int,
) -> None:
    route = pd_api.get("/incidents").mock(
        return_value=httpx.Response(
            status, json=pd_error("Invalid Input Provided", "since is not a date")
        )
    )
    with pytest.raises(error) as caught:
        list(pd.incidents(SERVICES, T0, T0 + timedelta(days=1)))

    assert type(caught.value) is error and caught.value.status == status
    assert route.call_count == calls and len(sleeps) == calls - 1
    if error is AuthError:
        assert str(caught.value).startswith(
            f"PagerDuty refused the credentials (HTTP {status}): check PAGERDUTY_API_TOKEN"
        )
    if error is FatalAPIError:
        assert "Invalid Input Provided: since is not a date" in str(caught.value)
    assert PD_TOKEN not in error_text(caught.value)
    assert PD_TOKEN[-4:] not in error_text(caught.value)  # not even the client's "*u+8Hq" hint


def test_transport_errors_are_retried_through_the_vendor_client(
    pd: PagerDutyClient, pd_api: respx.MockRouter, sleeps: list[float]
) -> None:
    pd_api.get("/users").mock(
        side_effect=[
            httpx.ConnectError("connection refused"),
            httpx.ReadTimeout("read timed out"),
            httpx.Response(200, json={"users": [{"id": "PU1"}], "more": False}),
        ]
    )
    assert ids(list(pd.users())) == ["PU1"]
    assert len(sleeps) == 2


def test_a_persistent_transport_error_becomes_retriable_api_error(
    pd: PagerDutyClient, pd_api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = pd_api.get("/users").mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(RetriableAPIError, match="ConnectError"):
        list(pd.users())
    assert route.call_count == 6 and len(sleeps) == 5


def test_html_page_is_malformed_and_names_the_url_variable(
    pd: PagerDutyClient, pd_api: respx.MockRouter
) -> None:
    pd_api.get("/users").mock(
        return_value=httpx.Response(
            200, text="<html>proxy login</html>", headers={"content-type": "text/html"}
        )
    )
    with pytest.raises(MalformedResponseError, match="is PAGERDUTY_API_URL right"):
        list(pd.users())


def test_an_answer_without_its_collection_is_malformed(
    pd: PagerDutyClient, pd_api: respx.MockRouter
) -> None:
    pd_api.get("/users").mock(return_value=httpx.Response(200, json={"more": False}))
    with pytest.raises(MalformedResponseError, match="'users'"):
        list(pd.users())


def test_base_url_must_be_https() -> None:
    with pytest.raises(ValueError, match="PAGERDUTY_API_URL must use https"):
        PagerDutyClient(SecretStr(PD_TOKEN), base_url="http://localhost:8080")


def test_naive_windows_are_refused(pd: PagerDutyClient) -> None:
    with pytest.raises(ValueError, match="naive"):
        list(pd.log_entries(datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC)))


def test_the_client_points_at_base_url() -> None:
    with respx.mock(base_url="https://pd.sandbox.test:8443/api") as sandbox:
        fake = FakePagerDutyIndex(sandbox, "/users", 3)
        with PagerDutyClient(
            SecretStr(PD_TOKEN), base_url="https://pd.sandbox.test:8443/api/"
        ) as c:
            assert len(list(c.users())) == 3
        assert fake.route.calls.last.request.url.host == "pd.sandbox.test"
