"""Every fault kind, as a client sees it: a status, a transport error or a malformed body."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import httpx
import pagerduty
import pytest

from sandbox import FaultConfig, FaultRule, Sandbox, SandboxConfig, serve_sandbox
from sandbox.faults import _damage

from .conftest import jira_client, pd_client

ALWAYS = FaultRule(probability=1.0)
SEARCH = {"jql": "project = SUP AND updated >= 0", "fields": "summary,updated", "maxResults": 3}


@pytest.fixture(scope="module")
def faulty(demo: Sandbox) -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(), world=demo.world) as sandbox:
        yield sandbox


@pytest.fixture
def jira(faulty: Sandbox) -> Iterator[httpx.Client]:
    faulty.set_faults(None)
    with jira_client(faulty, timeout=5) as client:
        yield client
    faulty.set_faults(None)


@pytest.fixture
def pd(faulty: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Token token={faulty.credentials['PAGERDUTY_API_TOKEN']}"}
    with httpx.Client(
        base_url=faulty.base_url, verify=faulty.ssl_context(), headers=headers, timeout=5
    ) as client:
        yield client
    faulty.set_faults(None)


def test_429_carries_jira_rate_limit_headers(faulty: Sandbox, jira: httpx.Client) -> None:
    faulty.set_faults(FaultConfig(status_429=ALWAYS, retry_after=3))
    response = jira.get("/rest/api/3/search/jql", params=SEARCH)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.headers["ratelimit-reason"] == "jira-burst-based"
    assert response.headers["x-ratelimit-reset"].endswith("Z")
    assert response.json()["errorMessages"]


def test_429_carries_pagerduty_rate_limit_headers(faulty: Sandbox, pd: httpx.Client) -> None:
    faulty.set_faults(FaultConfig(status_429=ALWAYS, retry_after=2))
    response = pd.get("/incidents")
    assert response.status_code == 429
    assert (
        response.headers["ratelimit-remaining"] == "0"
        and response.headers["ratelimit-reset"] == "2"
    )
    assert response.json()["error"]["code"] == 2020


def test_pagerduty_client_retries_through_a_429(faulty: Sandbox) -> None:
    faulty.set_faults(FaultConfig(status_429=FaultRule(every=2)))  # the 2nd request is refused
    with pd_client(faulty) as client:
        first = client.get("/users", params={"limit": 1})
        second = client.get("/users", params={"limit": 1})  # 429 once, then retried successfully
    assert first.status_code == second.status_code == 200
    assert faulty.faults_injected["429"] == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(faulty: Sandbox, jira: httpx.Client, pd: httpx.Client, status: int) -> None:
    faulty.set_faults(FaultConfig(**{f"status_{status}": ALWAYS}))
    jira_response = jira.get("/rest/api/3/myself")
    pd_response = pd.get("/incidents")
    assert jira_response.status_code == pd_response.status_code == status
    if status == 502:
        assert jira_response.headers["content-type"].startswith("text/html")
    else:
        assert jira_response.json()["errorMessages"] and pd_response.json()["error"]["message"]
    if status == 503:
        assert jira_response.headers["retry-after"] == "1"


def test_dropped_connection_is_a_transport_error(
    faulty: Sandbox, jira: httpx.Client, pd: httpx.Client
) -> None:
    faulty.set_faults(FaultConfig(drop=ALWAYS))
    with pytest.raises(httpx.TransportError):
        jira.get("/rest/api/3/myself")
    with pytest.raises(httpx.TransportError):
        pd.get("/incidents")
    faulty.set_faults(None)
    assert jira.get("/rest/api/3/myself").status_code == 200  # the server itself is fine


def test_slow_response_trips_a_client_timeout(faulty: Sandbox, jira: httpx.Client) -> None:
    faulty.set_faults(FaultConfig(slow=ALWAYS, slow_seconds=0.6))
    with pytest.raises(httpx.ReadTimeout):
        jira.get("/rest/api/3/myself", timeout=0.2)
    started = time.perf_counter()
    assert jira.get("/rest/api/3/myself", timeout=5).status_code == 200
    assert time.perf_counter() - started >= 0.6


def test_latency_is_added_to_every_request(faulty: Sandbox, jira: httpx.Client) -> None:
    jira.get("/rest/api/3/myself")  # warm the connection
    faulty.set_faults(FaultConfig(latency_ms=80))
    started = time.perf_counter()
    for _ in range(3):
        assert jira.get("/rest/api/3/myself").status_code == 200
    assert time.perf_counter() - started >= 0.24


def test_busy_seconds_can_leave_a_clients_preflight_out(
    faulty: Sandbox, jira: httpx.Client
) -> None:
    """The side-by-side benchmark's data phase: from the first request of another route than
    the preflight's to the last response (each request here takes at least its 60 ms)."""
    faulty.set_faults(FaultConfig(latency_ms=60))
    assert faulty.busy_seconds_without({"GET /rest/api/2/serverInfo"}) == 0.0
    assert jira.get("/rest/api/2/serverInfo").status_code == 200
    assert faulty.busy_seconds_without({"GET /rest/api/2/serverInfo"}) == 0.0
    for _ in range(2):
        assert jira.get("/rest/api/3/myself").status_code == 200
    whole = faulty.busy_seconds
    without = faulty.busy_seconds_without({"GET /rest/api/2/serverInfo"})
    assert whole >= 0.18 and 0.12 <= without <= whole - 0.06


def test_html_page_with_status_200(faulty: Sandbox, jira: httpx.Client) -> None:
    faulty.set_faults(FaultConfig(html_200=ALWAYS))
    response = jira.get("/rest/api/3/search/jql", params=SEARCH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()
    with (
        pd_client(faulty) as client,
        pytest.raises(pagerduty.ServerHttpError, match="invalid JSON"),
    ):
        list(client.iter_all("users"))


@pytest.mark.parametrize(
    ("kind", "attribute"), [("missing", "missing_field"), ("null", "null_field")]
)
def test_malformed_payloads(
    faulty: Sandbox, jira: httpx.Client, pd: httpx.Client, kind: str, attribute: str
) -> None:
    faulty.set_faults(FaultConfig(**{attribute: ALWAYS}, seed=5))
    body = jira.get("/rest/api/3/search/jql", params=SEARCH)
    damaged, where = body.headers["x-sandbox-fault"].split(" ", 1)
    assert damaged == kind and where.startswith("issues[0].fields.")
    field = where.rsplit(".", 1)[1]
    fields = body.json()["issues"][0]["fields"]
    assert (field not in fields) if kind == "missing" else (fields[field] is None)
    # the demo world's window: without since/until PagerDuty lists only the last month
    incidents = pd.get("/incidents", params={"limit": 2, "since": "2026-09-28T00:00:00Z",
                                             "until": "2026-11-30T00:00:00Z"})
    where = incidents.headers["x-sandbox-fault"].split(" ", 1)[1]
    name = where.rsplit(".", 1)[1]
    first = incidents.json()["incidents"][0]
    assert (name not in first) if kind == "missing" else (first[name] is None)


def test_every_nth_request(faulty: Sandbox, jira: httpx.Client) -> None:
    faulty.set_faults(FaultConfig(status_503=FaultRule(every=3)))
    statuses = [jira.get("/rest/api/3/myself").status_code for _ in range(7)]
    assert statuses == [200, 200, 503, 200, 200, 503, 200]


def test_probabilities_are_deterministic_for_a_seed(faulty: Sandbox, jira: httpx.Client) -> None:
    def run() -> list[int]:
        faulty.set_faults(
            FaultConfig(status_500=FaultRule(0.3), status_429=FaultRule(0.2), seed=11)
        )
        return [jira.get("/rest/api/3/myself").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert {200, 429, 500} == set(first)


def test_faults_can_target_paths(faulty: Sandbox, jira: httpx.Client, pd: httpx.Client) -> None:
    faulty.set_faults(FaultConfig(status_500=ALWAYS, paths=("/incidents",)))
    assert pd.get("/incidents").status_code == 500
    assert pd.get("/users").status_code == 200
    assert jira.get("/rest/api/3/myself").status_code == 200


def test_events_api_faults(faulty: Sandbox) -> None:
    faulty.set_faults(FaultConfig(status_429=ALWAYS))
    with httpx.Client(base_url=faulty.base_url, verify=faulty.ssl_context()) as client:
        response = client.post("/v2/enqueue", json={})
    assert response.status_code == 429 and response.json()["status"] == "throttle event"


def test_fault_syntax() -> None:
    config = FaultConfig.parse(
        "429=0.1,500=0.05,drop=0.02,latency_ms=20,html200=0.01,503=every:4,paths=/rest|/v2"
    )
    assert config.status_429 == FaultRule(0.1) and config.status_503 == FaultRule(every=4)
    assert (
        config.drop.probability == 0.02
        and config.latency_ms == 20
        and config.paths == ("/rest", "/v2")
    )
    assert FaultConfig.parse(config.describe()) == config
    for bad in ("teapot=0.1", "429", "429=2", "500=every:0"):
        with pytest.raises(ValueError):
            FaultConfig.parse(bad)


def test_first_n_is_a_streak_and_wrongtype_swaps_a_type() -> None:
    """The faults behind the sync's 429-streak and poison-record tests (issue 15)."""
    rule = FaultRule.parse("first:3")
    assert [rule.fires(1.0, count) for count in range(1, 6)] == [True] * 3 + [False] * 2
    assert FaultConfig.parse("429=first:3,wrongtype=every:2").describe() == (
        "429=first:3,wrongtype=every:2")
    with pytest.raises(ValueError, match="first:N"):
        FaultRule.parse("first:0")
    payload = {"incidents": [{"id": "P1", "service": {"id": "S"}}]}
    where = _damage(payload, random.Random(0), "wrongtype")
    name = where.rsplit(".", 1)[1]
    value = payload["incidents"][0][name]
    assert (name, value) in [("id", {"unexpected": "P1"}), ("service", "not-an-object")]
