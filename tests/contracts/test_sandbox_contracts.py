"""The sandbox's responses against JSON Schemas taken from the vendors' own documents.

Every endpoint the product calls is called here the way the product calls it (the connectors'
own `Endpoint` params, paging, `include[]=incidents`, the sync's `fields` list) and every page
and every record is validated against its contract in this directory. The schemas name the
document and version they came from (`$comment`, README.md); where the sandbox and a document
disagree, the document wins and the sandbox is what changes.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

import connectors.jira as jira_connector
import connectors.jira_tickets as jira_tickets
import connectors.pagerduty as pd_connector
from accountability.sources.jira import JIRA_FIELDS
from connectors.pagination import Endpoint
from sandbox import ROUTING_KEY, Sandbox, SandboxConfig, serve_sandbox

HERE = Path(__file__).parent
SINCE = datetime(2026, 9, 1, tzinfo=UTC)
UNTIL = datetime(2027, 2, 1, tzinfo=UTC)

COMMON = {"jira.common.json", "jira_dc.common.json", "pagerduty.common.json"}
ERRORS = "https://accountability.invalid/contracts/jira.common.json#/$defs/ErrorCollection"

#: (method, path) the product calls -> its contract. A new endpoint needs a line here and a schema.
CONTRACTS: dict[tuple[str, str], str] = {
    ("GET", jira_connector.MYSELF): "jira.myself.json",
    ("POST", "/rest/api/3/search/jql"): "jira.search_jql.json",
    ("POST", "/rest/api/3/changelog/bulkfetch"): "jira.changelog_bulkfetch.json",
    ("POST", jira_connector.ISSUE_BULKFETCH): "jira.issue_bulkfetch.json",
    ("GET", "/rest/api/3/issue/{id}/changelog"): "jira.issue_changelog.json",
    ("POST", jira_tickets.ISSUE): "jira.create_issue.json",
    ("GET", jira_connector.SERVER_INFO): "jira.server_info.json",
    ("POST", jira_connector.JQL_PARSE): "jira.jql_parse.json",
    ("GET", jira_connector.ISSUE): "jira.issue.json",
    ("GET", jira_connector.DC_MYSELF): "jira_dc.myself.json",
    ("POST", jira_connector.DC_SEARCH_PATH): "jira_dc.search.json",
    ("GET", jira_connector.DC_ISSUE): "jira_dc.issue_changelog.json",
    ("GET", "/incidents"): "pagerduty.incidents.json",
    ("GET", "/log_entries"): "pagerduty.log_entries.json",
    ("GET", "/incidents/{id}/log_entries"): "pagerduty.incident_log_entries.json",
    ("GET", "/users"): "pagerduty.users.json",
    ("GET", "/services"): "pagerduty.services.json",
    ("GET", "/escalation_policies"): "pagerduty.escalation_policies.json",
    ("POST", "/v2/enqueue"): "pagerduty.events_enqueue.json",
}


def _registry() -> Registry:
    resources = []
    for path in sorted(HERE.glob("*.json")):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((HERE / name).read_text())
    return Draft202012Validator(schema, registry=REGISTRY)


def check(name: str, body: Any, where: str) -> None:
    if name == ERRORS:
        schema_validator = Draft202012Validator({"$ref": ERRORS}, registry=REGISTRY)
    else:
        schema_validator = validator(name)
    errors = sorted(schema_validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{where} breaks {name}:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
        for e in errors[:20]
    )


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(
    scope="module",
    params=[
        SandboxConfig(seed=7, mode="demo"),
        SandboxConfig(seed=3, mode="scale", issues=400, incidents=300),
    ],
    ids=["demo", "scale"],
)
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with serve_sandbox(request.param) as sandbox:
        sandbox.mutate(12, seed=5)  # mutations render through the same code: cover them too
        yield sandbox


@pytest.fixture(scope="module")
def jira(sb: Sandbox) -> Iterator[httpx.Client]:
    creds = sb.credentials
    with httpx.Client(
        base_url=creds["JIRA_URL"],
        auth=(creds["JIRA_EMAIL"], creds["JIRA_API_TOKEN"]),
        headers={"Accept": "application/json"},
        verify=sb.ssl_context(),
        timeout=60,
    ) as client:
        yield client


@pytest.fixture(scope="module")
def pd(sb: Sandbox) -> Iterator[httpx.Client]:
    creds = sb.credentials
    with httpx.Client(
        base_url=creds["PAGERDUTY_API_URL"],
        headers={
            "Authorization": f"Token token={creds['PAGERDUTY_API_TOKEN']}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        },
        verify=sb.ssl_context(),
        timeout=60,
    ) as client:
        yield client


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text[:300])
    return response.json()


# --- Jira -----------------------------------------------------------------------------------


def _search_pages(jira: httpx.Client, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = _ok(jira.post("/rest/api/3/search/jql", json={**body, **(
            {"nextPageToken": token} if token else {})}))
        yield page
        token = page.get("nextPageToken")
        if page.get("isLast") is True or not token:
            return


def _all_issues(sb: Sandbox, jira: httpx.Client) -> list[dict[str, Any]]:
    jql = jira_connector.build_jql(sorted(sb.world.projects), None, SINCE, UNTIL)
    issues: list[dict[str, Any]] = []
    for n, page in enumerate(
        _search_pages(jira, {"jql": jql, "fields": list(JIRA_FIELDS), "maxResults": 100})
    ):
        check("jira.search_jql.json", page, f"search/jql page {n}")
        issues.extend(page["issues"])
    return issues


def test_myself(jira: httpx.Client) -> None:
    check("jira.myself.json", _ok(jira.get(jira_connector.MYSELF)), "GET /myself")


def test_search_jql_every_page(sb: Sandbox, jira: httpx.Client) -> None:
    issues = _all_issues(sb, jira)
    assert len(issues) > 50
    assert all(set(JIRA_FIELDS) <= set(issue["fields"]) for issue in issues)


def test_search_jql_with_embedded_changelog(sb: Sandbox, jira: httpx.Client) -> None:
    """Not what the sync asks, but `IssueBean.changelog` renders the same histories."""
    jql = jira_connector.build_jql(sorted(sb.world.projects), None, SINCE, UNTIL)
    body = {"jql": jql, "fields": list(JIRA_FIELDS), "expand": "changelog", "maxResults": 100}
    page = next(_search_pages(jira, body))
    assert page["issues"][0]["changelog"]["histories"]
    check("jira.search_jql.json", page, "search/jql?expand=changelog")


def test_changelog_bulkfetch_every_page(sb: Sandbox, jira: httpx.Client) -> None:
    ids = [issue["id"] for issue in _all_issues(sb, jira)]
    params = dict(jira_connector.BULK_CHANGELOG.params)
    histories = 0
    for start in range(0, len(ids), jira_connector.BULK_MAX_ISSUES):
        token: str | None = None
        while True:
            body = {"issueIdsOrKeys": ids[start : start + jira_connector.BULK_MAX_ISSUES],
                    "fieldIds": ["assignee", "status"], **params}
            if token:
                body["nextPageToken"] = token
            page = _ok(jira.post(jira_connector.BULK_CHANGELOG.path, json=body))
            check("jira.changelog_bulkfetch.json", page, f"bulkfetch from {start}")
            histories += sum(len(e["changeHistories"]) for e in page["issueChangeLogs"])
            token = page.get("nextPageToken")
            if not token:
                break
    assert histories > 0


def test_id_only_search_and_issue_bulkfetch_every_batch(sb: Sandbox, jira: httpx.Client) -> None:
    """What `JiraClient.fetch` asks on Cloud: ids 5,000 a page, then the fields 100 at a time."""
    jql = jira_connector.build_jql(sorted(sb.world.projects), None, SINCE, UNTIL)
    ids: list[str] = []
    for n, page in enumerate(_search_pages(jira, {
        "jql": jql, "fields": ["id"], "maxResults": jira_connector.ID_PAGE_SIZE,
    })):
        check("jira.search_jql.json", page, f"id-only search/jql page {n}")
        ids.extend(issue["id"] for issue in page["issues"])
    assert len(ids) == len(_all_issues(sb, jira)) > jira_connector.ISSUE_BULK_MAX
    fetched = 0
    for start in range(0, len(ids), jira_connector.ISSUE_BULK_MAX):
        asked = ids[start : start + jira_connector.ISSUE_BULK_MAX]
        page = _ok(jira.post(jira_connector.ISSUE_BULKFETCH, json={
            "issueIdsOrKeys": asked, "fields": list(JIRA_FIELDS)}))
        check("jira.issue_bulkfetch.json", page, f"issue/bulkfetch from {start}")
        assert [i["id"] for i in page["issues"]] == sorted(asked, key=int)
        assert page["issueErrors"] == []
        fetched += len(page["issues"])
    assert fetched == len(ids)


def test_issue_bulkfetch_refuses_what_the_document_refuses(
    sb: Sandbox, jira: httpx.Client
) -> None:
    some = [str(i) for i in sorted(sb.world.issues)[:101]]
    for body in ({"issueIdsOrKeys": []}, {"issueIdsOrKeys": some}):
        refused = jira.post(jira_connector.ISSUE_BULKFETCH, json=body)
        assert refused.status_code == 400, refused.text
        check(ERRORS, refused.json(), f"issue/bulkfetch with {len(body['issueIdsOrKeys'])} ids")
    unknown = jira.post(jira_connector.ISSUE_BULKFETCH,
                        json={"issueIdsOrKeys": some[:1], "maxResults": 5})
    assert unknown.status_code == 400  # additionalProperties: false
    gone = _ok(jira.post(jira_connector.ISSUE_BULKFETCH,
                         json={"issueIdsOrKeys": [some[0], "99999999"], "fields": ["updated"]}))
    check("jira.issue_bulkfetch.json", gone, "issue/bulkfetch with an unknown id")
    assert [i["id"] for i in gone["issues"]] == [some[0]] and gone["issueErrors"] == []


def test_issue_changelog_every_page(sb: Sandbox, jira: httpx.Client) -> None:
    issues = _all_issues(sb, jira)
    # every issue of the demo; a stride of the scale world (each page is one request)
    stride = 1 if len(issues) < 1000 else 7
    for issue in issues[::stride]:
        start = 0
        while True:
            page = _ok(jira.get(
                f"/rest/api/3/issue/{issue['id']}/changelog",
                params={"startAt": start, "maxResults": jira_connector.CHANGELOG_PAGE_SIZE},
            ))
            check("jira.issue_changelog.json", page, f"changelog of {issue['key']} at {start}")
            start += len(page["values"])
            if page.get("isLast") is True or not page["values"]:
                break


def test_create_issue_and_find_it(sb: Sandbox, jira: httpx.Client) -> None:
    project = sorted(sb.world.projects)[0]
    fields = {
        "project": {"key": project},
        "issuetype": {"name": "Task"},
        "summary": "Contract test ticket",
        "description": {"type": "doc", "version": 1, "content": []},
        "labels": ["accountability", "contract-test"],
    }
    created = _ok(jira.post(jira_tickets.ISSUE, json={"fields": fields}), 201)
    check("jira.create_issue.json", created, "POST /issue")
    jql = f'project = "{project}" AND labels = "contract-test" ORDER BY created ASC'
    page = _ok(jira.post(jira_tickets.SEARCH,
                         json={"jql": jql, "fields": ["summary"], "maxResults": 1}))
    check("jira.search_jql.json", page, "find_by_label")
    assert page["issues"][0]["key"] == created["key"]


def test_server_info_cloud(jira: httpx.Client) -> None:
    body = _ok(jira.get(jira_connector.SERVER_INFO))
    check("jira.server_info.json", body, "GET /rest/api/2/serverInfo (Cloud)")
    assert body["deploymentType"] == "Cloud"


def test_jql_parse_strict(sb: Sandbox, jira: httpx.Client) -> None:
    """The registry check's call: valid and invalid queries together, in order."""
    project = sorted(sb.world.projects)[0]
    queries = [
        jira_connector.build_jql(sorted(sb.world.projects), None, SINCE, UNTIL),
        f'project = "{project}" AND labels = "x" ORDER BY created ASC',
        "project = ",
        "universe = 42",
        f'project = "{project}" AND status = "No such status"',
    ]
    body = _ok(jira.post(jira_connector.JQL_PARSE, params={"validation": "strict"},
                         json={"queries": queries}))
    check("jira.jql_parse.json", body, "POST /jql/parse?validation=strict")
    assert [q["query"] for q in body["queries"]] == queries
    assert not body["queries"][0].get("errors") and body["queries"][3]["errors"]


def test_issue_exists_and_missing(sb: Sandbox, jira: httpx.Client) -> None:
    """`_issue_exists`: 200 for an issue, 404 with an error body for one that is gone."""
    issue = _all_issues(sb, jira)[0]
    found = _ok(jira.get(jira_connector.ISSUE.format(id=issue["id"]),
                         params={"fields": "updated"}))
    check("jira.issue.json", found, f"GET /issue/{issue['id']}")
    gone = jira.get(jira_connector.ISSUE.format(id="99999999"), params={"fields": "updated"})
    assert gone.status_code == 404
    check(ERRORS, gone.json(), "GET /issue/99999999 (404)")


# --- Jira Data Center (SandboxConfig(data_center=True)) --------------------------------------


@pytest.fixture(
    scope="module",
    params=[
        SandboxConfig(seed=7, mode="demo", data_center=True),
        SandboxConfig(seed=3, mode="scale", issues=400, incidents=300, data_center=True),
    ],
    ids=["dc-demo", "dc-scale"],
)
def dc_sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with serve_sandbox(request.param) as sandbox:
        sandbox.mutate(12, seed=5)
        yield sandbox


@pytest.fixture(scope="module")
def dc(dc_sb: Sandbox) -> Iterator[httpx.Client]:
    creds = dc_sb.credentials
    with httpx.Client(
        base_url=creds["JIRA_URL"],
        headers={"Accept": "application/json", "Authorization": f"Bearer {creds['JIRA_PAT']}"},
        verify=dc_sb.ssl_context(),
        timeout=60,
    ) as client:
        yield client


def _dc_issues(dc_sb: Sandbox, dc: httpx.Client, page_size: int) -> list[dict[str, Any]]:
    """Every page of `POST /rest/api/2/search` as `_dc_search` walks it (startAt to total)."""
    jql = jira_connector.build_jql(sorted(dc_sb.world.projects), None, SINCE, UNTIL)
    issues: list[dict[str, Any]] = []
    start = 0
    while True:
        page = _ok(dc.post(jira_connector.DC_SEARCH_PATH, json={
            "jql": jql, "fields": list(JIRA_FIELDS), "startAt": start, "maxResults": page_size}))
        check("jira_dc.search.json", page, f"DC search at {start}")
        assert page["startAt"] == start
        issues.extend(page["issues"])
        start += len(page["issues"])
        if not page["issues"] or start >= page["total"]:
            return issues


def test_dc_server_info(dc_sb: Sandbox) -> None:
    """Anonymous, as the client's first call may be."""
    url = dc_sb.credentials["JIRA_URL"].rstrip("/") + jira_connector.SERVER_INFO
    body = _ok(httpx.get(url, verify=dc_sb.ssl_context(), timeout=60))
    check("jira.server_info.json", body, "GET /rest/api/2/serverInfo (Data Center)")
    assert body["deploymentType"] == "Server"


def test_dc_myself(dc: httpx.Client) -> None:
    check("jira_dc.myself.json", _ok(dc.get(jira_connector.DC_MYSELF)), "GET /rest/api/2/myself")


def test_dc_search_every_page(dc_sb: Sandbox, dc: httpx.Client) -> None:
    issues = _dc_issues(dc_sb, dc, 50)
    assert len(issues) > 50
    assert all(set(JIRA_FIELDS) <= set(issue["fields"]) for issue in issues)
    # the cap: asked for more than 1000, Data Center answers (and echoes) 1000
    jql = jira_connector.build_jql(sorted(dc_sb.world.projects), None, SINCE, UNTIL)
    page = _ok(dc.post(jira_connector.DC_SEARCH_PATH, json={
        "jql": jql, "fields": list(JIRA_FIELDS), "maxResults": 5000}))
    check("jira_dc.search.json", page, "DC search maxResults=5000")
    assert page["maxResults"] == jira_connector.DC_SEARCH_MAX


def test_dc_search_with_embedded_changelogs(dc_sb: Sandbox, dc: httpx.Client) -> None:
    """What `JiraClient.fetch` asks on Data Center: search pages with `expand=changelog`,
    each hit's whole history embedded (checked as the issue representation's changelog)."""
    jql = jira_connector.build_jql(sorted(dc_sb.world.projects), None, SINCE, UNTIL)
    changelog = Draft202012Validator(
        {"$ref": "https://accountability.invalid/contracts/jira_dc.common.json#/$defs/Changelog"},
        registry=REGISTRY)
    histories = start = 0
    while True:
        page = _ok(dc.post(jira_connector.DC_SEARCH_PATH, json={
            "jql": jql, "fields": list(JIRA_FIELDS), "expand": ["changelog"],
            "startAt": start, "maxResults": 200}))
        check("jira_dc.search.json", page, f"DC search with changelogs at {start}")
        for issue in page["issues"]:
            assert not list(changelog.iter_errors(issue["changelog"])), issue["key"]
            assert issue["changelog"]["total"] == len(issue["changelog"]["histories"])
            histories += issue["changelog"]["total"]
        start += len(page["issues"])
        if not page["issues"] or start >= page["total"]:
            break
    assert histories > 0


def test_dc_issue_changelog_every_issue(dc_sb: Sandbox, dc: httpx.Client) -> None:
    issues = _dc_issues(dc_sb, dc, jira_connector.DC_SEARCH_MAX)
    stride = 1 if len(issues) < 1000 else 7
    histories = 0
    for issue in issues[::stride]:
        body = _ok(dc.get(jira_connector.DC_ISSUE.format(id=issue["id"]),
                          params={"expand": "changelog", "fields": "updated"}))
        check("jira_dc.issue_changelog.json", body, f"DC issue {issue['key']}?expand=changelog")
        changelog = body["changelog"]
        assert changelog["total"] == len(changelog["histories"])
        histories += len(changelog["histories"])
    assert histories > 0
    gone = dc.get(jira_connector.DC_ISSUE.format(id="99999999"),
                  params={"expand": "changelog", "fields": "updated"})
    assert gone.status_code == 404
    check(ERRORS, gone.json(), "DC GET /issue/99999999 (404)")


# --- PagerDuty ------------------------------------------------------------------------------


def _pd_pages(
    pd: httpx.Client, endpoint: Endpoint, params: dict[str, Any],
    path: dict[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    path = path or {}
    offset = 0
    while True:
        query = {**endpoint.params, **params, "limit": pd_connector.PAGE_SIZE, "offset": offset}
        if offset == 0:
            query["total"] = "true"
        page = _ok(pd.get(endpoint.path.format(**path), params=query))
        yield page
        records = page[endpoint.records_key]
        offset += len(records)
        if page.get("more") is not True or not records:
            return


def _window() -> dict[str, str]:
    return {"since": SINCE.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "until": UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_incidents_every_page(sb: Sandbox, pd: httpx.Client) -> None:
    services = sorted(sb.world.services)
    count = 0
    for n, page in enumerate(
        _pd_pages(pd, pd_connector.INCIDENTS, {"service_ids[]": services, **_window()})
    ):
        check("pagerduty.incidents.json", page, f"incidents page {n}")
        count += len(page["incidents"])
    assert count > 10


def test_log_entries_every_page(pd: httpx.Client) -> None:
    count = 0
    for n, page in enumerate(_pd_pages(pd, pd_connector.LOG_ENTRIES, _window())):
        check("pagerduty.log_entries.json", page, f"log_entries page {n}")
        count += len(page["log_entries"])
        assert all(e["incident"]["type"] == "incident" for e in page["log_entries"])
    assert count > 50


def test_an_incidents_own_log_every_page(sb: Sandbox, pd: httpx.Client) -> None:
    incident = sorted(sb.world.incidents)[0]
    pages = list(_pd_pages(pd, pd_connector.INCIDENT_LOG_ENTRIES, {}, {"id": incident}))
    for n, page in enumerate(pages):
        check("pagerduty.incident_log_entries.json", page, f"incident log page {n}")
    entries = [e for page in pages for e in page["log_entries"]]
    assert entries and {e["incident"]["id"] for e in entries} == {incident}


@pytest.mark.parametrize(
    ("endpoint", "schema"),
    [
        (pd_connector.USERS, "pagerduty.users.json"),
        (pd_connector.SERVICES, "pagerduty.services.json"),
        (pd_connector.ESCALATION_POLICIES, "pagerduty.escalation_policies.json"),
    ],
    ids=["users", "services", "escalation_policies"],
)
def test_reference_lists_every_page(pd: httpx.Client, endpoint: Endpoint, schema: str) -> None:
    for n, page in enumerate(_pd_pages(pd, endpoint, {})):
        check(schema, page, f"{endpoint.path} page {n}")


def test_events_enqueue(sb: Sandbox) -> None:
    with httpx.Client(base_url=sb.credentials["PAGERDUTY_EVENTS_URL"],
                      verify=sb.ssl_context()) as events:
        trigger = {"routing_key": ROUTING_KEY, "event_action": "trigger",
                   "dedup_key": "contract-1",
                   "payload": {"summary": "contract", "source": "tests", "severity": "info"}}
        check("pagerduty.events_enqueue.json", _ok(events.post("/v2/enqueue", json=trigger), 202),
              "enqueue trigger")
        resolve = {"routing_key": ROUTING_KEY, "event_action": "resolve",
                   "dedup_key": "contract-1"}
        check("pagerduty.events_enqueue.json", _ok(events.post("/v2/enqueue", json=resolve), 202),
              "enqueue resolve")


# --- coverage of the contracts --------------------------------------------------------------


CONNECTORS = (jira_connector, jira_tickets, pd_connector)
_PATH = re.compile(r"^/[A-Za-z0-9_{}/.-]+$")


def _connector_endpoints() -> set[tuple[str, str]]:
    """(method, path) of every module-level `Endpoint` of the connectors."""
    found: set[tuple[str, str]] = set()
    for module in CONNECTORS:
        for value in vars(module).values():
            if isinstance(value, Endpoint):
                found.add((value.method, value.path))
    return found


def _connector_paths() -> set[str]:
    """Every path the connectors can call, however it is written down: module-level string
    constants (`MYSELF`, `DC_*`, `JQL_PARSE`, `SERVER_INFO`, `ISSUE`, ...) and any path
    literal in the source, including `Endpoint`s built inside methods."""
    found = {value for module in CONNECTORS for name, value in vars(module).items()
             if not name.startswith("__") and isinstance(value, str) and _PATH.match(value)}
    for module in CONNECTORS:
        tree = ast.parse(inspect.getsource(module))
        found |= {node.value for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and _PATH.match(node.value)}
    return found


def _calls_in_methods() -> set[tuple[str, str]]:
    """(method, path) of `Endpoint("X", CONST, ...)` and `self._call("X", CONST, ...)` written
    inside functions, the constant resolved in its module."""
    found: set[tuple[str, str]] = set()
    for module in CONNECTORS:
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            method, target = node.args[0], node.args[1]
            if name not in ("Endpoint", "_call") or not (
                    isinstance(method, ast.Constant) and isinstance(method.value, str)):
                continue
            if isinstance(target, ast.Name) and isinstance(vars(module).get(target.id), str):
                found.add((method.value, vars(module)[target.id]))
            elif isinstance(target, ast.Constant) and isinstance(target.value, str):
                found.add((method.value, target.value))
    return found


def test_every_connector_endpoint_has_a_contract() -> None:
    endpoints = _connector_endpoints() | _calls_in_methods()
    assert len(endpoints) >= 12
    assert {("GET", jira_connector.SERVER_INFO), ("POST", jira_connector.JQL_PARSE),
            ("POST", jira_connector.DC_SEARCH_PATH)} <= endpoints
    missing = sorted(endpoints - set(CONTRACTS))
    assert not missing, f"endpoints without a contract in tests/contracts: {missing}"


def test_every_connector_path_has_a_contract() -> None:
    paths = _connector_paths()
    assert {jira_connector.ISSUE, jira_connector.DC_ISSUE, jira_connector.DC_MYSELF} <= paths
    missing = sorted(paths - {path for _, path in CONTRACTS})
    assert not missing, f"paths without a contract in tests/contracts: {missing}"


def test_every_contract_exists_and_names_its_source() -> None:
    for name in {*CONTRACTS.values(), *COMMON}:
        schema = json.loads((HERE / name).read_text())
        Draft202012Validator.check_schema(schema)
        assert "Source: " in schema["$comment"], name
    listed = {p.name for p in HERE.glob("*.json")}
    assert listed == {*CONTRACTS.values(), *COMMON}
