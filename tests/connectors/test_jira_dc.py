"""Jira Data Center (REST v2) and the Cloud gateway URL, against respx; issue 14 items 2-4."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from accountability.config.errors import ConfigError
from accountability.sources.jira import preflight_jira
from connectors.errors import MalformedResponseError
from connectors.jira import IssueChangelogError, JiraClient
from tests.connectors.fakes import JIRA_EMAIL, JIRA_PAT, JIRA_TOKEN, JIRA_URL

DC_INFO = {"baseUrl": JIRA_URL, "version": "9.12.7", "versionNumbers": [9, 12, 7],
           "deploymentType": "Server", "buildNumber": 912007}
FIELDS = ["assignee", "status", "updated"]


def dc_user(name: str) -> dict[str, Any]:
    return {"self": f"{JIRA_URL}/rest/api/2/user?username={name}", "name": name, "key": name,
            "displayName": name.title(), "active": True, "timeZone": "Europe/Berlin"}


def dc_issue(n: int) -> dict[str, Any]:
    return {"id": str(n), "key": f"SUP-{n}",
            "fields": {"assignee": dc_user("jsmith"), "updated": "2026-10-05T10:00:00.000+0200"}}


@pytest.fixture
def dc_api() -> Iterator[respx.MockRouter]:
    """A Data Center 9.12: serverInfo says "Server", /rest/api/3 is Jersey's 404."""
    with respx.mock(base_url=JIRA_URL, assert_all_called=False) as router:
        router.get("/rest/api/2/serverInfo").respond(json=DC_INFO)
        router.route(path__startswith="/rest/api/3/").respond(
            404, json={"message": "null for uri: …", "status-code": 404}
        )
        yield router


@pytest.fixture
def dc() -> Iterator[JiraClient]:
    with JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT)) as client:
        yield client


def test_data_center_is_detected_and_searched_by_start_at_on_v2(
    dc_api: respx.MockRouter, dc: JiraClient
) -> None:
    total = 250

    def search(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        start, size = body["startAt"], min(body["maxResults"], 100)  # fewer than asked
        issues = [dc_issue(n) for n in range(start, min(start + size, total))]
        return httpx.Response(200, json={"startAt": start, "maxResults": size, "total": total,
                                         "issues": issues})

    route = dc_api.post("/rest/api/2/search").mock(side_effect=search)
    issues = [i for page in dc.search("project = SUP", FIELDS, page_size=500) for i in page]

    assert dc.deployment().cloud is False and dc.deployment().version == "9.12.7"
    assert [i["id"] for i in issues] == [str(n) for n in range(total)]
    assert [json.loads(c.request.content)["startAt"] for c in route.calls] == [0, 100, 200]
    assert route.calls.last.request.headers["authorization"] == f"Bearer {JIRA_PAT}"
    # Data Center users have name/key and no accountId: the key stands in for it.
    assert issues[0]["fields"]["assignee"]["accountId"] == "jsmith"


def test_data_center_changelogs_come_whole_from_get_issue_expand_changelog(
    dc_api: respx.MockRouter, dc: JiraClient
) -> None:
    history = {"id": "10001", "author": dc_user("mchen"), "created": "2026-10-05T10:00:00.000+0200",
               "items": [{"field": "assignee", "fieldtype": "jira", "from": None,
                          "fromString": None, "to": "JIRAUSER10100", "toString": "Sam"},
                         {"field": "labels", "fieldtype": "jira", "from": None, "to": None}]}
    route = dc_api.get(path__regex=r"/rest/api/2/issue/(?P<issue_id>\d+)$").mock(
        side_effect=lambda request, issue_id: httpx.Response(200, json={
            "id": issue_id, "key": f"SUP-{issue_id}",
            "changelog": {"startAt": 0, "maxResults": 1, "total": 1, "histories": [history]}})
    )
    fetched = dc.changelogs(["7"])

    (got,) = fetched.histories["7"]
    assert got["author"]["accountId"] == "mchen"
    assert got["items"] == [{**history["items"][0], "fieldId": "assignee"}]
    assert route.calls.last.request.url.params["expand"] == "changelog"


def test_a_truncated_data_center_changelog_is_an_error_not_a_shorter_history(
    dc_api: respx.MockRouter, dc: JiraClient
) -> None:
    dc_api.get("/rest/api/2/issue/7").respond(json={
        "id": "7", "changelog": {"startAt": 0, "maxResults": 0, "total": 3, "histories": []}})
    with pytest.raises(MalformedResponseError, match="0 of the 3 histories"):
        dc.changelogs(["7"])


def test_data_center_timezone_comes_from_v2_myself(
    dc_api: respx.MockRouter, dc: JiraClient
) -> None:
    dc_api.get("/rest/api/2/myself").respond(json={**dc_user("sync"), "timeZone": "Asia/Tokyo"})
    preflight_jira(dc)
    assert str(dc.account_timezone()) == "Asia/Tokyo"


def test_the_preflight_asks_which_jira_and_whose_account_in_one_round_trip() -> None:
    """`/myself` is asked while `serverInfo` is still unanswered: the serverInfo answer here
    waits (up to 5 s) for the `/myself` request to arrive, which asking in turn never lets
    happen. Cloud answers v2's `/myself` too; its zone is the account's."""
    asked = threading.Event()
    myself_came_first: list[bool] = []

    def server_info(request: httpx.Request) -> httpx.Response:
        myself_came_first.append(asked.wait(5))
        return httpx.Response(200, json={"deploymentType": "Cloud", "version": "1001.0.0"})

    def myself(request: httpx.Request) -> httpx.Response:
        asked.set()
        return httpx.Response(200, json={**dc_user("sync"), "timeZone": "Europe/Berlin"})

    with respx.mock(base_url=JIRA_URL, assert_all_called=False) as router:
        router.get("/rest/api/2/serverInfo").mock(side_effect=server_info)
        router.get("/rest/api/2/myself").mock(side_effect=myself)
        v3 = router.get("/rest/api/3/myself").respond(500)
        client = JiraClient(JIRA_URL, email=JIRA_EMAIL, api_token=SecretStr(JIRA_TOKEN))
        with client:
            preflight_jira(client)
            assert str(client.account_timezone()) == "Europe/Berlin"
            assert client.deployment().cloud
    assert myself_came_first == [True]
    assert v3.call_count == 0 and client.stats.requests == 2


def test_the_preflight_reports_a_site_that_is_not_jira_before_its_myself_failure() -> None:
    with respx.mock(base_url=JIRA_URL) as router:
        router.get("/rest/api/2/serverInfo").respond(200, json={"hello": "world"})
        router.get("/rest/api/2/myself").respond(404, text="Not Found")
        client = JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT))
        with client, pytest.raises(ConfigError, match="does not answer like Jira.*deploymentType"):
            preflight_jira(client)


def test_a_site_without_server_info_fails_the_preflight_saying_so() -> None:
    with respx.mock(base_url=JIRA_URL) as router:
        router.get("/rest/api/2/serverInfo").respond(404, text="Not Found")
        client = JiraClient(JIRA_URL, pat=SecretStr(JIRA_PAT))
        with client, pytest.raises(ConfigError, match="serverInfo.*answered HTTP 404"):
            preflight_jira(client)


# --------------------------------------------------------------------- item 3: 404 and deletion


def _cloud_changelog_404(router: respx.MockRouter, issue_status: int) -> respx.Route:
    router.get("/rest/api/2/serverInfo").respond(json={"deploymentType": "Cloud"})
    router.post("/rest/api/3/changelog/bulkfetch").respond(404, json={"errorMessages": ["x"]})
    router.get("/rest/api/3/issue/5/changelog").respond(
        404, json={"errorMessages": ["Issue does not exist or you do not have permission"]})
    return router.get("/rest/api/3/issue/5").respond(issue_status, json={"id": "5"})


def test_a_changelog_404_while_the_issue_exists_is_an_error() -> None:
    with respx.mock(base_url=JIRA_URL) as router:
        issue = _cloud_changelog_404(router, 200)
        client = JiraClient(JIRA_URL, email=JIRA_EMAIL, api_token=SecretStr(JIRA_TOKEN))
        with client, pytest.raises(IssueChangelogError, match="issue 5, which still exists"):
            client.changelogs(["5"])
    assert issue.call_count == 1


def test_a_changelog_404_is_a_deletion_when_get_issue_agrees() -> None:
    with respx.mock(base_url=JIRA_URL) as router:
        issue = _cloud_changelog_404(router, 404)
        with JiraClient(JIRA_URL, email=JIRA_EMAIL, api_token=SecretStr(JIRA_TOKEN)) as client:
            fetched = client.changelogs(["5"])
    assert fetched.missing == ("5",) and fetched.histories == {}
    assert issue.call_count == 1


# ------------------------------------------------------- item 4: scoped tokens, service accounts

GATEWAY = "https://api.atlassian.com/ex/jira/11223344-a1b2-3b33-c444-def123456789"


def test_scoped_tokens_go_through_the_api_gateway_path() -> None:
    """Scoped API tokens (and service accounts, which only have those) authenticate at
    `https://api.atlassian.com/ex/jira/{cloudId}` with basic auth: every path must keep the
    `/ex/jira/{cloudId}` prefix."""
    with respx.mock(base_url=GATEWAY) as router:
        info = router.get("/rest/api/2/serverInfo").respond(json={"deploymentType": "Cloud"})
        search = router.post("/rest/api/3/search/jql").respond(
            json={"issues": [{"id": "1"}], "isLast": True})
        client = JiraClient(GATEWAY, email="svc-sync@serviceaccount.atlassian.com",
                            api_token=SecretStr("scoped"))
        with client:
            assert [len(p) for p in client.search("project = SUP", FIELDS)] == [1]
    assert info.called and search.called
    assert str(search.calls.last.request.url).startswith(GATEWAY + "/rest/api/3/search/jql")
    assert search.calls.last.request.headers["authorization"].startswith("Basic ")
