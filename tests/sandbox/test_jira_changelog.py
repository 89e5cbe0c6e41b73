"""Full changelogs: per-issue paging and the bulk endpoint (and its absence on Data Center)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox import Sandbox, SandboxConfig, serve_sandbox
from sandbox.jira_dc import dc_usernames

from .conftest import jira_client


def page_changelog(client: httpx.Client, key: str, page_size: int) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = []
    start = 0
    while True:
        page = client.get(
            f"/rest/api/3/issue/{key}/changelog", params={"startAt": start, "maxResults": page_size}
        ).json()
        assert page["startAt"] == start and page["maxResults"] == page_size
        values.extend(page["values"])
        if page["isLast"]:
            assert "nextPage" not in page
            return values
        assert page["nextPage"].endswith(f"startAt={start + page_size}")
        start += page_size


def test_issue_changelog_pages_oldest_first(demo: Sandbox, jira: httpx.Client) -> None:
    key = demo.world.planted["long-history"].item
    issue = demo.world.issues_by_key[key]
    values = page_changelog(jira, key, page_size=10)
    assert [v["id"] for v in values] == [str(h.id) for h in issue.histories]
    first = jira.get(f"/rest/api/3/issue/{key}/changelog").json()
    assert (
        first["total"] == len(issue.histories)
        and first["maxResults"] == 100
        and first["isLast"] is True
    )
    by_id = jira.get(f"/rest/api/3/issue/{issue.id}/changelog", params={"maxResults": 1}).json()
    assert by_id["values"][0]["id"] == str(issue.histories[0].id)


def test_changelog_max_results_is_capped_at_100(demo: Sandbox, jira: httpx.Client) -> None:
    key = demo.world.planted["long-history"].item
    assert (
        jira.get(f"/rest/api/3/issue/{key}/changelog", params={"maxResults": 500}).json()[
            "maxResults"
        ]
        == 100
    )


def test_history_shapes(demo: Sandbox, jira: httpx.Client) -> None:
    case = demo.world.planted["two-assignee-items"]
    values = page_changelog(jira, case.item, page_size=100)
    (history,) = [v for v in values if v["id"] == str(case.history_id)]
    assignee_items = [item for item in history["items"] if item["fieldId"] == "assignee"]
    assert len(assignee_items) == 2
    for item in assignee_items:
        assert set(item) == {
            "field",
            "fieldtype",
            "fieldId",
            "from",
            "fromString",
            "to",
            "toString",
        }
        assert item["field"] == "assignee" and item["fieldtype"] == "jira"
    assert history["author"]["accountId"] == "5b10a2844c20165700ede22a"  # dev
    assert history["created"].endswith(("-0400", "-0500"))
    status_change = next(v for v in values if any(i["fieldId"] == "status" for i in v["items"]))
    item = next(i for i in status_change["items"] if i["fieldId"] == "status")
    assert item["from"].isdigit() and item["to"].isdigit() and item["toString"]


def test_unknown_issue_changelog_is_404(jira: httpx.Client) -> None:
    response = jira.get("/rest/api/3/issue/SUP-99999/changelog")
    assert response.status_code == 404 and response.json()["errorMessages"]


def bulk_all(
    client: httpx.Client, ids: list[str], **body: Any
) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Page the bulk endpoint to the end; histories merged per issue (an issue may span pages)."""
    merged: dict[str, list[dict[str, Any]]] = {}
    token: str | None = None
    pages = 0
    while True:
        request = {"issueIdsOrKeys": ids, **body, **({"nextPageToken": token} if token else {})}
        response = client.post("/rest/api/3/changelog/bulkfetch", json=request)
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        for log in page["issueChangeLogs"]:
            merged.setdefault(log["issueId"], []).extend(log["changeHistories"])
        token = page.get("nextPageToken")
        if not token:
            return merged, pages


def test_bulkfetch_pages_to_the_end(demo: Sandbox, jira: httpx.Client) -> None:
    issues = [i for i in demo.world.issues.values() if i.project == "SUP"][:300]
    ids = [str(i.id) for i in issues]
    merged, pages = bulk_all(jira, ids, maxResults=50)
    expected = sum(len(i.histories) for i in issues)
    assert pages == -(-expected // 50)
    assert sum(len(h) for h in merged.values()) == expected
    for issue in issues:
        got = sorted(int(h["id"]) for h in merged.get(str(issue.id), []))
        assert got == sorted(h.id for h in issue.histories)


def test_bulkfetch_filters_by_field_ids(demo: Sandbox, jira: httpx.Client) -> None:
    issues = [i for i in demo.world.issues.values() if i.project == "SUP"][:40]
    merged, _ = bulk_all(jira, [i.key for i in issues], fieldIds=["assignee"])
    for issue in issues:
        expected = [h for h in issue.histories if any(item[0] == "assignee" for item in h.items)]
        got = merged.get(str(issue.id), [])
        assert [int(h["id"]) for h in got] == [h.id for h in expected]
        assert all(item["fieldId"] == "assignee" for h in got for item in h["items"])


@pytest.fixture(scope="module")
def over_a_thousand() -> Iterator[Sandbox]:
    """A world with one issue more than the bulk endpoint takes at once (the demo world has
    fewer than 1000): the small end of the benchmarks' scale world."""
    with serve_sandbox(SandboxConfig(mode="scale", issues=1001, incidents=1)) as sandbox:
        yield sandbox


def test_bulkfetch_accepts_1000_ids_and_refuses_1001(over_a_thousand: Sandbox) -> None:
    ids = [str(i) for i in sorted(over_a_thousand.world.issues)]
    assert len(ids) == 1001
    with jira_client(over_a_thousand) as client:
        ok = client.post(
            "/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": ids[:1000], "maxResults": 10}
        )
        assert ok.status_code == 200 and "nextPageToken" in ok.json()
        merged, _ = bulk_all(client, ids[:1000])  # every one of the 1000 is read
        too_many = client.post("/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": ids})
    assert too_many.status_code == 400
    assert "issueIdsOrKeys" in too_many.json()["errors"]
    first = [over_a_thousand.world.issues[int(i)] for i in ids[:1000]]
    assert {issue_id: len(h) for issue_id, h in merged.items()} == {
        str(issue.id): len(issue.histories) for issue in first if issue.histories
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"issueIdsOrKeys": []},
        {"issueIdsOrKeys": ["SUP-2"], "fieldIds": [f"f{n}" for n in range(11)]},
        {"issueIdsOrKeys": ["SUP-2"], "nextPageToken": "bogus"},
    ],
    ids=["missing-ids", "empty-ids", "eleven-fields", "bad-token"],
)
def test_bulkfetch_bad_input(jira: httpx.Client, body: dict[str, Any]) -> None:
    response = jira.post("/rest/api/3/changelog/bulkfetch", json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["errorMessages"] or payload["errors"]


@pytest.fixture(scope="module")
def data_center(demo: Sandbox) -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(data_center=True), world=demo.world) as sandbox:
        yield sandbox


def test_data_center_has_no_bulkfetch_and_no_v3(data_center: Sandbox) -> None:
    """Data Center mode refuses every `/rest/api/3` path (bulkfetch, per-issue changelog)
    and the Cloud-only v2 `/changelog`, with Jersey's 404, as Jira 9.12 does."""
    key = data_center.world.planted["long-history"].item
    with jira_client(data_center) as client:
        for method, path in (("POST", "/rest/api/3/changelog/bulkfetch"),
                             ("GET", f"/rest/api/3/issue/{key}/changelog"),
                             ("GET", f"/rest/api/2/issue/{key}/changelog"),
                             ("GET", "/rest/api/3/myself")):
            response = client.request(method, path, json={"issueIdsOrKeys": [key]}
                                      if method == "POST" else None)
            assert response.status_code == 404, path
            assert response.json()["message"].startswith("null for uri: "), path


def test_data_center_embeds_the_whole_history_oldest_first(data_center: Sandbox) -> None:
    """The long-history issue (more histories than Cloud embeds, the first ones long before any
    sync window) comes whole from `GET /rest/api/2/issue/{key}?expand=changelog`, in Data
    Center shapes: users by name/key, no `fieldId`, assignee items holding the user key."""
    key = data_center.world.planted["long-history"].item
    issue = data_center.world.issues_by_key[key]
    with jira_client(data_center) as client:
        info = client.get("/rest/api/2/serverInfo").json()
        body = client.get(f"/rest/api/2/issue/{key}", params={"expand": "changelog"}).json()
    assert info["deploymentType"] == "Server"
    changelog = body["changelog"]
    assert len(issue.histories) > data_center.config.changelog_limit  # Cloud would truncate
    assert changelog["total"] == changelog["maxResults"] == len(changelog["histories"]) == len(
        issue.histories)
    assert [h["id"] for h in changelog["histories"]] == [str(h.id) for h in issue.histories]
    first = changelog["histories"][0]
    assert "accountId" not in first["author"] and first["author"]["name"] == first["author"]["key"]
    items = [i for h in changelog["histories"] for i in h["items"]]
    assert all("fieldId" not in i for i in items)
    names = set(dc_usernames(data_center.world).values())
    assert {i["to"] for i in items if i["field"] == "assignee" and i["to"]} <= names
