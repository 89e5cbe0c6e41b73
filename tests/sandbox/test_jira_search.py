"""Jira search, driven with plain httpx as the connector drives it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from sandbox import Sandbox, SandboxConfig, serve_sandbox
from sandbox.timefmt import from_ms, to_ms, zone

from .conftest import jira_client, search_all

CONNECTOR_JQL = (
    'project in ("SUP") AND (labels = ai-assisted) AND updated >= {since} ORDER BY updated ASC'
)
NEW_YORK = zone("America/New_York")


def truth(
    demo: Sandbox, since_ms: int, *, project: str = "SUP", label: str | None = "ai-assisted"
) -> list[str]:
    """Ground truth from the world, oldest update first."""
    issues = [
        i
        for i in demo.world.issues.values()
        if i.project == project and i.updated >= since_ms and (label is None or label in i.labels)
    ]
    return [i.key for i in sorted(issues, key=lambda i: (i.updated, i.id))]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_paging_reaches_the_end_without_duplicates(
    demo: Sandbox, jira: httpx.Client, method: str
) -> None:
    since = to_ms(datetime(2026, 10, 1, tzinfo=NEW_YORK))
    fields = "summary,updated" if method == "GET" else ["summary", "updated"]
    issues = search_all(
        jira, CONNECTOR_JQL.format(since=since), method=method, fields=fields, maxResults=25
    )
    keys = [i["key"] for i in issues]
    assert len(keys) == len(set(keys))
    assert keys == truth(demo, since)
    assert len(keys) > 100  # several pages


def test_paging_across_projects_merges_in_update_order(demo: Sandbox, jira: httpx.Client) -> None:
    since = to_ms(datetime(2026, 11, 2, tzinfo=NEW_YORK))
    jql = f"project in (SUP, REN, ONB) AND updated >= {since} ORDER BY updated ASC"
    keys = [i["key"] for i in search_all(jira, jql, fields="updated", maxResults=13)]
    expected = sorted(
        (
            i
            for i in demo.world.issues.values()
            if i.project in ("SUP", "REN", "ONB") and i.updated >= since
        ),
        key=lambda i: (i.updated, i.id),
    )
    assert keys == [i.key for i in expected]


def test_page_size_is_capped_when_fields_are_asked(demo: Sandbox, jira: httpx.Client) -> None:
    page = jira.get(
        "/rest/api/3/search/jql",
        params={"jql": "project = SUP AND updated >= 0", "fields": "summary", "maxResults": 5000},
    ).json()
    assert len(page["issues"]) == 100 and page["isLast"] is False
    ids_only = jira.get(
        "/rest/api/3/search/jql",
        params={"jql": "project = SUP AND updated >= 0", "maxResults": 5000},
    ).json()
    assert ids_only["isLast"] is True
    assert len(ids_only["issues"]) == sum(i.project == "SUP" for i in demo.world.issues.values())
    assert all(set(issue) == {"id"} for issue in ids_only["issues"])


def test_fields_selection(jira: httpx.Client) -> None:
    body = jira.get(
        "/rest/api/3/search/jql",
        params={"jql": "key = SUP-2", "fields": ["summary", "assignee"], "maxResults": 1},
    ).json()
    (issue,) = body["issues"]
    assert {"id", "key", "self", "expand", "fields"} <= set(issue)
    assert set(issue["fields"]) == {"summary", "assignee"}
    assert issue["self"].endswith(f"/rest/api/3/issue/{issue['id']}")
    every = jira.get(
        "/rest/api/3/search/jql", params={"jql": "key = SUP-2", "fields": "*all,-labels"}
    ).json()
    fields = every["issues"][0]["fields"]
    assert "labels" not in fields and {
        "status",
        "updated",
        "resolutiondate",
        "issuetype",
        "project",
    } <= set(fields)
    assert fields["status"]["statusCategory"]["key"] in {"new", "indeterminate", "done"}


def test_timestamps_are_rendered_in_the_account_zone(jira: httpx.Client) -> None:
    me = jira.get("/rest/api/3/myself").json()
    assert me["timeZone"] == "America/New_York"
    issue = jira.get(
        "/rest/api/3/search/jql", params={"jql": "key = SUP-2", "fields": "updated"}
    ).json()["issues"][0]
    updated = datetime.strptime(issue["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert updated.utcoffset() in (timedelta(hours=-4), timedelta(hours=-5))


def test_quoted_dates_are_read_in_the_account_zone(demo: Sandbox, jira: httpx.Client) -> None:
    key = demo.world.planted["not-eligible"].item
    issue = demo.world.issues_by_key[key]
    local = from_ms(issue.updated, NEW_YORK)
    minute = local.strftime("%Y-%m-%d %H:%M")
    after = (local + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    utc_minute = from_ms(issue.updated).strftime("%Y-%m-%d %H:%M")

    def keys(date: str) -> set[str]:
        jql = f'key = {key} AND updated >= "{date}"'
        return {i["key"] for i in search_all(jira, jql, fields="updated")}

    assert keys(minute) == {key}  # the update falls in this New York minute
    assert keys(after) == set()
    # A client that writes the UTC wall clock as a naive JQL date asks for a time 4-5 hours later
    assert keys(utc_minute) == set()
    millis = {
        i["key"]
        for i in search_all(jira, f"key = {key} AND updated >= {issue.updated}", fields="updated")
    }
    assert millis == {key}


def test_embedded_changelog_is_truncated_with_the_true_total(
    demo: Sandbox, jira: httpx.Client
) -> None:
    key = demo.world.planted["long-history"].item
    issue = demo.world.issues_by_key[key]
    assert len(issue.histories) > 20
    body = jira.get(
        "/rest/api/3/search/jql",
        params={"jql": f"key = {key}", "fields": "summary", "expand": "changelog"},
    ).json()
    changelog = body["issues"][0]["changelog"]
    assert changelog["total"] == len(issue.histories)
    assert (
        changelog["startAt"] == 0 and changelog["maxResults"] == len(changelog["histories"]) == 20
    )
    # the 20 most recent, newest first, as the reference describes `expand=changelog`
    assert [h["id"] for h in changelog["histories"]] == [
        str(h.id) for h in reversed(issue.histories)
    ][:20]


def test_short_changelog_is_complete(demo: Sandbox, jira: httpx.Client) -> None:
    issue = demo.world.issues_by_key["SUP-2"]
    body = jira.get(
        "/rest/api/3/search/jql",
        params={"jql": "key = SUP-2", "fields": "status", "expand": "changelog"},
    ).json()
    changelog = body["issues"][0]["changelog"]
    assert changelog["total"] == len(changelog["histories"]) == len(issue.histories)


def test_order_by_updated_desc(demo: Sandbox, jira: httpx.Client) -> None:
    since = to_ms(datetime(2026, 11, 1, tzinfo=NEW_YORK))
    jql = f"project = REN AND updated >= {since} ORDER BY updated DESC"
    keys = [i["key"] for i in search_all(jira, jql, fields="updated", maxResults=7)]
    assert keys == list(reversed(truth(demo, since, project="REN", label=None)))


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("", "Unbounded JQL queries are not allowed here"),
        ("ORDER BY updated ASC", "Unbounded JQL queries are not allowed here"),
        ("labels = ai-assisted", "Unbounded JQL queries are not allowed here"),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        (
            "nosuchfield = 1",
            "Field 'nosuchfield' does not exist or you do not have permission to view it.",
        ),
        ("project = SUP AND", "Error in the JQL Query"),
        (
            'project = SUP AND updated >= "2026-13-45"',
            "Date value '2026-13-45' for field 'updated' is invalid",
        ),
        (
            "project = SUP AND updated ~ 5",
            "The operator '~' is not supported by the 'updated' field.",
        ),
        ("project = SUP ORDER BY nosuch", "Field 'nosuch' does not exist"),
    ],
    ids=[
        "empty",
        "order-only",
        "no-restriction",
        "unknown-project",
        "unknown-field",
        "syntax",
        "bad-date",
        "bad-operator",
        "bad-order",
    ],
)
def test_bad_jql_gets_jiras_400(jira: httpx.Client, jql: str, message: str) -> None:
    response = jira.get("/rest/api/3/search/jql", params={"jql": jql})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {} and body["errorMessages"][0].startswith(message)


def test_missing_jql_on_post_is_unbounded(jira: httpx.Client) -> None:
    response = jira.post("/rest/api/3/search/jql", json={"fields": ["summary"]})
    assert response.status_code == 400
    assert "Unbounded" in response.json()["errorMessages"][0]


def test_bad_page_tokens(jira: httpx.Client) -> None:
    first = jira.get(
        "/rest/api/3/search/jql", params={"jql": "project = SUP AND updated >= 0", "maxResults": 2}
    ).json()
    token = first["nextPageToken"]
    garbage = jira.get(
        "/rest/api/3/search/jql",
        params={"jql": "project = SUP AND updated >= 0", "nextPageToken": "not-a-token"},
    )
    assert garbage.status_code == 400
    assert garbage.json()["errorMessages"] == [
        "The provided nextPageToken is invalid or has expired."
    ]
    other_query = jira.get(
        "/rest/api/3/search/jql",
        params={"jql": "project = REN AND updated >= 0", "nextPageToken": token},
    )
    assert other_query.status_code == 400


@pytest.mark.parametrize("value", ["0", "5001", "-1"])
def test_max_results_out_of_range(jira: httpx.Client, value: str) -> None:
    response = jira.get(
        "/rest/api/3/search/jql",
        params={"jql": "project = SUP AND updated >= 0", "maxResults": value},
    )
    assert response.status_code == 400 and "maxResults" in response.json()["errorMessages"][0]


def test_unreadable_parameters_and_bodies(jira: httpx.Client) -> None:
    response = jira.get(
        "/rest/api/3/search/jql", params={"jql": "project = SUP", "maxResults": "ten"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "Failed to convert 'maxResults' with value: 'ten'"
    unknown = jira.post("/rest/api/3/search/jql", json={"jql": "project = SUP", "startAt": 0})
    assert unknown.status_code == 400 and unknown.json()["errorMessages"]
    not_json = jira.post(
        "/rest/api/3/search/jql", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    wrong_type = jira.post(
        "/rest/api/3/search/jql", content=b"jql=x", headers={"content-type": "text/plain"}
    )
    assert wrong_type.status_code == 415


@pytest.mark.parametrize("path", ["/rest/api/3/search", "/rest/api/2/search"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_removed_search_answers_410(jira: httpx.Client, path: str, method: str) -> None:
    response = jira.request(method, path, params={"jql": "project = SUP"})
    assert response.status_code == 410
    assert "/rest/api/3/search/jql" in response.json()["errorMessages"][0]


@pytest.mark.parametrize(
    "auth",
    [("demo@acme.example", "wrong-token"), ("someone@acme.example", "sandbox-jira-token"), None],
    ids=["wrong-token", "wrong-email", "none"],
)
def test_wrong_credentials_get_401(demo: Sandbox, auth: tuple[str, str] | None) -> None:
    with httpx.Client(base_url=demo.base_url, verify=demo.ssl_context(), auth=auth) as client:
        response = client.get("/rest/api/3/myself")
    assert response.status_code == 401
    assert response.text == "Client must be authenticated to access this resource."
    assert response.headers["www-authenticate"].startswith("OAuth realm=")


def test_bearer_pat_is_accepted_and_a_wrong_one_refused(demo: Sandbox) -> None:
    for token, status in ((demo.credentials["JIRA_PAT"], 200), ("nope", 401)):
        with httpx.Client(
            base_url=demo.base_url,
            verify=demo.ssl_context(),
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            assert client.get("/rest/api/3/myself").status_code == status


def test_pagerduty_token_does_not_open_jira(demo: Sandbox) -> None:
    headers = {"Authorization": f"Token token={demo.credentials['PAGERDUTY_API_TOKEN']}"}
    with httpx.Client(base_url=demo.base_url, verify=demo.ssl_context(), headers=headers) as client:
        assert client.get("/rest/api/3/myself").status_code == 401


def test_get_issue_and_404(jira: httpx.Client) -> None:
    issue = jira.get("/rest/api/3/issue/SUP-2").json()
    assert issue["key"] == "SUP-2" and "status" in issue["fields"]
    missing = jira.get("/rest/api/3/issue/SUP-99999")
    assert missing.status_code == 404
    assert missing.json()["errorMessages"] == [
        "Issue does not exist or you do not have permission to see it."
    ]


@pytest.fixture
def writable() -> Iterator[Sandbox]:
    """A demo sandbox of the test's own: a created issue is stamped with the wall clock, which
    would move the shared world's latest change (tests/sandbox/test_demo_world.py) to today."""
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sandbox:
        yield sandbox


def test_create_issue(writable: Sandbox) -> None:
    fields = {
        "project": {"key": "RISK"},
        "issuetype": {"name": "Task"},
        "summary": "Risk review: support 2026-W46",
        "labels": ["risk-review"],
        "description": {"type": "doc", "version": 1, "content": []},
    }
    with jira_client(writable) as client:
        created = client.post("/rest/api/3/issue", json={"fields": fields})
        assert created.status_code == 201
        body = created.json()
        assert set(body) == {"id", "key", "self"} and body["key"].startswith("RISK-")
        assert writable.created_issues[-1]["key"] == body["key"]
        assert writable.created_issues[-1]["fields"]["summary"] == fields["summary"]
        found = search_all(client, f"key = {body['key']}", fields="summary,labels")
        assert found[0]["fields"] == {"summary": fields["summary"], "labels": ["risk-review"]}
        invalid = client.post(
            "/rest/api/3/issue",
            json={"fields": {"project": {"key": "NOPE"}, "issuetype": {"name": "Task"}}},
        )
        assert invalid.status_code == 400
        assert set(invalid.json()["errors"]) == {"project", "summary"}


def test_all_fields_carry_the_comment_page_and_transitions_when_expanded(
    jira: httpx.Client,
) -> None:
    """What a tool asking `fields=*all&expand=changelog,transitions` (tap-jira) reads on every
    issue: `fields.comment` (a page of comments, `PageOfComments`) and the top-level
    `transitions` list. `*navigable` leaves the comment out, as Jira does."""
    params = {"jql": "project = SUP AND updated >= 0", "maxResults": 3}
    every = jira.get("/rest/api/3/search/jql", params={
        **params, "fields": "*all", "expand": "changelog,transitions"}).json()["issues"]
    assert len(every) == 3
    for issue in every:
        comment = issue["fields"]["comment"]
        assert comment["comments"] == [] and comment["total"] == 0 and comment["startAt"] == 0
        assert issue["transitions"] == [] and "changelog" in issue
    navigable = jira.get("/rest/api/3/search/jql", params={**params, "fields": "*navigable"})
    assert all("comment" not in i["fields"] and "transitions" not in i
               for i in navigable.json()["issues"])
