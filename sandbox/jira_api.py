"""Jira Cloud REST API v3, as far as the project's connectors and alerts use it; in Data Center
mode REST v2 with Data Center shapes instead (sandbox/jira_dc.py), v3 answering 404.

Paths, parameters and shapes follow the Jira Cloud platform REST API reference (see the table in
docs/sandbox.md). Timestamps are rendered in the API account's time zone, as Jira renders them for
the caller. The handlers hold the world's lock while they read, so `Sandbox.mutate` from another
thread never shows a half-applied change.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import catalog
from .data import STATUS_CATEGORIES, History, Issue, Item, World
from .jira_dc import DataCenterApi, jersey_404, server_info
from .jql import BAD_TOKEN, JqlError, compile_jql, execute, parse_structure
from .responses import JIRA_JSON, json_response, query_list, timed
from .timefmt import JiraClock

NAVIGABLE = (
    "summary",
    "status",
    "assignee",
    "reporter",
    "project",
    "labels",
    "created",
    "updated",
    "issuetype",
    "resolutiondate",
    "resolution",
    "priority",
)
ISSUE_EXPAND = "operations,versionedRepresentations,editmeta,changelog,renderedFields"
NOT_AUTHENTICATED = "Client must be authenticated to access this resource."
NO_ISSUE = "Issue does not exist or you do not have permission to see it."
REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at "
    "https://developer.atlassian.com/changelog/#CHANGE-2046"
)
BODY_UNPARSEABLE = "There was an error parsing JSON. Check that your request body is valid."
BODY_INVALID = "Invalid request payload. Refer to the REST API documentation and try again."
SEARCH_BODY_KEYS = {
    "jql",
    "nextPageToken",
    "maxResults",
    "fields",
    "expand",
    "properties",
    "fieldsByKeys",
    "reconcileIssues",
    "failFast",
}
MAX_SEARCH_RESULTS = 5000
MAX_RESULTS_WITH_FIELDS = 100
ID_ONLY_FIELDS = frozenset({"id", "key"})
"""`fields` that keep a search page at up to 5,000 issues: "The greatest number of items returned
per page is achieved when requesting `id` or `key` only" (`maxResults`, search/jql)."""
BULK_ISSUE_BODY_KEYS = {"issueIdsOrKeys", "fields", "expand", "properties", "fieldsByKeys"}
"""`BulkFetchIssueRequestBean` (`additionalProperties: false`)."""
MAX_BULK_ISSUES = 100
MAX_BULK_PROPERTIES = 5
BULK_ISSUE_CHANGELOG_LIMIT = 40
"""`expand=changelog` on issue/bulkfetch: "This returns a maximum of 40 changelogs"."""


def errors(*messages: str, status: int = 400, fields: dict[str, str] | None = None) -> Response:
    return json_response({"errorMessages": list(messages), "errors": fields or {}}, status)


def problem(request: Request, status: int, title: str, detail: str) -> Response:
    """Jira's RFC 7807 refusals (parameter conversion, media type)."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    return json_response(body, status, media_type="application/problem+json;charset=UTF-8")


class Renderer:
    """Builds Jira JSON for one base URL; static sub-objects are cached."""

    def __init__(self, world: World, base: str) -> None:
        self.world = world
        self.base = base.rstrip("/")
        self.clock = JiraClock(world.jira_time_zone)
        self._users: dict[str, dict[str, Any]] = {}
        self._statuses: dict[str, dict[str, Any]] = {}
        self._projects: dict[str, dict[str, Any]] = {}

    def ts(self, ms: int | None) -> str | None:
        return None if ms is None else self.clock.format(ms)

    def avatars(self, key: str) -> dict[str, str]:
        root = f"https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/{key}"
        return {size: f"{root}/{size}.png" for size in ("48x48", "24x24", "16x16", "32x32")}

    def user(self, account_id: str | None) -> dict[str, Any] | None:
        if account_id is None:
            return None
        cached = self._users.get(account_id)
        if cached is None:
            known = self.world.users.get(account_id)
            cached = {
                "self": f"{self.base}/rest/api/3/user?accountId={quote(account_id)}",
                "accountId": account_id,
                "avatarUrls": self.avatars(account_id),
                "displayName": known.display_name if known else "Former user",
                "active": known.active if known else False,
                "timeZone": known.time_zone if known else "UTC",
                "accountType": known.account_type if known else "atlassian",
            }
            if known and known.email:
                cached["emailAddress"] = known.email
            self._users[account_id] = cached
        return cached

    def status(self, name: str) -> dict[str, Any]:
        cached = self._statuses.get(name)
        if cached is None:
            status = self.world.statuses[name]
            category_id, color, category_name = STATUS_CATEGORIES[status.category]
            cached = {
                "self": f"{self.base}/rest/api/3/status/{status.id}",
                "description": "",
                "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
                "name": status.name,
                "id": status.id,
                "statusCategory": {
                    "self": f"{self.base}/rest/api/3/statuscategory/{category_id}",
                    "id": category_id,
                    "key": status.category,
                    "colorName": color,
                    "name": category_name,
                },
            }
            self._statuses[name] = cached
        return cached

    def project(self, key: str) -> dict[str, Any]:
        cached = self._projects.get(key)
        if cached is None:
            project = self.world.projects[key]
            cached = {
                "self": f"{self.base}/rest/api/3/project/{project.id}",
                "id": project.id,
                "key": project.key,
                "name": project.name,
                "projectTypeKey": "software",
                "simplified": False,
                "avatarUrls": self.avatars(f"project-{project.id}"),
            }
            self._projects[key] = cached
        return cached

    def issuetype(self, name: str) -> dict[str, Any]:
        type_id, description, level = catalog.ISSUE_TYPES[name]
        return {
            "self": f"{self.base}/rest/api/3/issuetype/{type_id}",
            "id": type_id,
            "description": description,
            "iconUrl": f"{self.base}/rest/api/2/universal_avatar/view/type/issuetype/avatar/10318"
            "?size=medium",
            "name": name,
            "subtask": False,
            "avatarId": 10318,
            "hierarchyLevel": level,
        }

    def priority(self, name: str) -> dict[str, Any]:
        priority_id = catalog.PRIORITIES[name]
        return {
            "self": f"{self.base}/rest/api/3/priority/{priority_id}",
            "iconUrl": f"{self.base}/images/icons/priorities/{name.lower()}_new.svg",
            "name": name,
            "id": priority_id,
        }

    def resolution(self, name: str | None) -> dict[str, Any] | None:
        if name is None:
            return None
        resolution_id = catalog.RESOLUTIONS[name]
        return {
            "self": f"{self.base}/rest/api/3/resolution/{resolution_id}",
            "id": resolution_id,
            "description": "Work has been completed on this issue." if name == "Done" else "",
            "name": name,
        }

    def fields(self, issue: Issue, selected: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in selected:
            if name == "summary":
                out["summary"] = issue.summary
            elif name == "status":
                out["status"] = self.status(issue.status)
            elif name == "assignee":
                out["assignee"] = self.user(issue.assignee)
            elif name == "reporter":
                out["reporter"] = self.user(issue.reporter)
            elif name == "project":
                out["project"] = self.project(issue.project)
            elif name == "labels":
                out["labels"] = list(issue.labels)
            elif name == "created":
                out["created"] = self.ts(issue.created)
            elif name == "updated":
                out["updated"] = self.ts(issue.updated)
            elif name == "issuetype":
                out["issuetype"] = self.issuetype(issue.issuetype)
            elif name == "resolutiondate":
                out["resolutiondate"] = self.ts(issue.resolutiondate)
            elif name == "resolution":
                out["resolution"] = self.resolution(issue.resolution)
            elif name == "priority":
                out["priority"] = self.priority(issue.priority)
            elif name == "comment":
                # The world has no comments: the page a real issue without any answers with.
                out["comment"] = {"comments": [], "maxResults": 0, "total": 0, "startAt": 0,
                                  "self": f"{self.base}/rest/api/3/issue/{issue.id}/comment"}
        return out

    def issue(
        self,
        issue: Issue,
        selected: tuple[str, ...] | None,
        *,
        changelog: bool,
        changelog_limit: int,
        transitions: bool = False,
    ) -> dict[str, Any]:
        if selected is None and not changelog:
            return {"id": str(issue.id)}
        out: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": str(issue.id),
            "self": f"{self.base}/rest/api/3/issue/{issue.id}",
            "key": issue.key,
        }
        if changelog:
            # Newest first, as the reference describes `expand=changelog`; `total` stays true.
            recent = issue.histories[::-1][:changelog_limit]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(recent),
                "total": len(issue.histories),
                "histories": [self.history(h) for h in recent],
            }
        if transitions:
            # `expand=transitions`: the transitions the caller may make now. The sandbox's API
            # user may make none (a real account answers so without the permission).
            out["transitions"] = []
        out["fields"] = self.fields(issue, selected or ())
        return out

    def history(self, history: History, field_ids: frozenset[str] | None = None) -> dict[str, Any]:
        items = (
            history.items
            if field_ids is None
            else tuple(i for i in history.items if i[0] in field_ids)
        )
        return {
            "id": str(history.id),
            "author": self.user(history.author),
            "created": self.clock.format(history.created),
            "items": [self.item(item) for item in items],
        }

    def item(self, item: Item) -> dict[str, Any]:
        field_id, old, new = item
        old_text: str | None
        new_text: str | None
        if field_id == "assignee":
            old_user, new_user = self.user(old), self.user(new)
            old_text = old_user["displayName"] if old_user else None
            new_text = new_user["displayName"] if new_user else None
        elif field_id == "status":
            statuses = self.world.status_by_id
            old_text = statuses[old].name if old else None
            new_text = statuses[new].name if new else None
        elif field_id == "resolution":
            old_text = catalog.RESOLUTION_NAMES.get(old or "")
            new_text = catalog.RESOLUTION_NAMES.get(new or "")
        elif field_id == "priority":
            old_text = catalog.PRIORITY_NAMES.get(old or "")
            new_text = catalog.PRIORITY_NAMES.get(new or "")
        else:  # labels, summary: the values are the strings
            old_text, new_text, old, new = old, new, None, None
        out: dict[str, Any] = {"field": field_id, "fieldtype": "jira", "fieldId": field_id}
        # ChangeDetails in the Jira Cloud OpenAPI: from/fromString/to/toString are strings,
        # not nullable, not required: a side without a value is left out, never null.
        for key, value in (("from", old), ("fromString", old_text), ("to", new),
                           ("toString", new_text)):
            if value is not None:
                out[key] = value
        return out


def select_fields(requested: list[str]) -> tuple[str, ...] | None:
    """`fields` as Jira reads it: names, `*all`, `*navigable`, `-name`; None when not asked."""
    if not requested:
        return None
    chosen: list[str] = []
    excluded = {name[1:] for name in requested if name.startswith("-")}
    for name in requested:
        if name in ("*all", "*navigable"):
            chosen.extend(NAVIGABLE)
            if name == "*all":
                chosen.append("comment")  # not navigable: only `*all` or its name selects it
        elif not name.startswith("-") and (name in NAVIGABLE or name == "comment"):
            chosen.append(name)
    if excluded and not any(not n.startswith("-") for n in requested):
        chosen.extend(NAVIGABLE)
    return tuple(dict.fromkeys(name for name in chosen if name not in excluded))


class JiraApi:
    """Routes for `/rest/api/...`, bound to one world."""

    def __init__(self, world: World, *, data_center: bool, changelog_limit: int = 20) -> None:
        self.world = world
        self.data_center = data_center
        self.changelog_limit = changelog_limit
        self.created_issues: list[dict[str, Any]] = []
        self.hidden_issues: set[str] = set()
        """Issue ids both bulkfetches leave out, as Jira does for an issue deleted or hidden
        from the account after the search found it (tests); empty by default."""
        self.issue_errors: dict[str, str] = {}
        """Issue id → the message `issue/bulkfetch` lists it with in `issueErrors` (a
        retriable failure on Jira's side), for tests; empty by default."""
        self.dc = DataCenterApi(world)
        self._renderers: dict[str, Renderer] = {}
        self._basic = (
            "Basic "
            + base64.b64encode(f"{catalog.JIRA_EMAIL}:{catalog.JIRA_API_TOKEN}".encode()).decode()
        )

    def routes(self) -> list[Route]:
        def guarded(handler: Any) -> Any:
            return timed(self._authenticated(handler))

        def cloud(handler: Any) -> Any:
            return guarded(self._cloud_only(handler))

        return [
            Route("/rest/api/2/serverInfo", timed(self.server_info), methods=["GET"]),
            Route("/rest/api/2/myself", guarded(self.dc_myself), methods=["GET"]),
            Route("/rest/api/2/issue/{key}", guarded(self.dc_get_issue), methods=["GET"]),
            Route("/rest/api/3/myself", cloud(self.myself), methods=["GET"]),
            Route("/rest/api/3/search/jql", cloud(self.search), methods=["GET", "POST"]),
            # Jira Cloud serves the enhanced search under v2 as well (tap-jira 2.6.0 uses it)
            Route("/rest/api/2/search/jql", cloud(self.search), methods=["GET", "POST"]),
            Route("/rest/api/3/search", cloud(self.removed), methods=["GET", "POST"]),
            Route("/rest/api/2/search", guarded(self.search_v2), methods=["GET", "POST"]),
            Route("/rest/api/3/issue", cloud(self.create_issue), methods=["POST"]),
            Route("/rest/api/3/issue/bulkfetch", cloud(self.bulk_issues), methods=["POST"]),
            Route("/rest/api/3/issue/{key}", cloud(self.get_issue), methods=["GET"]),
            Route("/rest/api/3/issue/{key}/changelog", cloud(self.changelog), methods=["GET"]),
            Route("/rest/api/2/issue/{key}/changelog", guarded(self.changelog_v2),
                  methods=["GET"]),
            Route("/rest/api/3/changelog/bulkfetch", cloud(self.bulkfetch), methods=["POST"]),
            Route("/rest/api/3/jql/parse", cloud(self.parse_jql), methods=["POST"]),
        ]

    def _cloud_only(self, handler: Any) -> Any:
        """In Data Center mode a `/rest/api/3` path is Jersey's 404, as on Data Center."""

        async def check(request: Request) -> Response:
            if self.data_center:
                return jersey_404(request)
            response: Response = await handler(request)
            return response

        return check

    # --- plumbing ---------------------------------------------------------------------------------

    def renderer(self, request: Request) -> Renderer:
        base = str(request.base_url)
        renderer = self._renderers.get(base)
        if renderer is None:
            renderer = self._renderers[base] = Renderer(self.world, base)
        return renderer

    def _authenticated(self, handler: Any) -> Any:
        async def check(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            if header == self._basic or header == f"Bearer {catalog.JIRA_PAT}":
                response: Response = await handler(request)
                return response
            return self.unauthorized(request)

        return check

    def unauthorized(self, request: Request) -> Response:
        """Jira answers a missing or rejected credential with one plain line, not JSON; the
        media type follows `Accept`."""
        accept = request.headers.get("accept", "")
        media = (
            "application/json;charset=UTF-8"
            if "application/json" in accept
            else "text/plain;charset=UTF-8"
        )
        realm = quote(str(request.base_url).rstrip("/"), safe="")
        headers = {
            "WWW-Authenticate": f'OAuth realm="{realm}"',
            "X-Seraph-LoginReason": "AUTHENTICATED_FAILED",
        }
        return Response(NOT_AUTHENTICATED, status_code=401, media_type=media, headers=headers)

    async def body(self, request: Request) -> dict[str, Any] | Response:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            detail = f"Content-Type '{content_type or 'null'}' is not supported."
            return problem(request, 415, "Unsupported Media Type", detail)
        raw = await request.body()
        try:
            payload = json.loads(raw)
        except ValueError:
            return json_response({"errorMessages": [BODY_UNPARSEABLE]}, 400)
        if not isinstance(payload, dict):
            return json_response({"errorMessages": [BODY_INVALID]}, 400)
        return payload

    # --- endpoints --------------------------------------------------------------------------------

    async def myself(self, request: Request) -> Response:
        account = self.world.users[catalog.API_ACCOUNT_ID]
        user = dict(self.renderer(request).user(account.account_id) or {})
        user.update(
            {
                "timeZone": account.time_zone,
                "locale": "en_US",
                "groups": {"size": 2, "items": []},
                "applicationRoles": {"size": 1, "items": []},
                "expand": "groups,applicationRoles",
            }
        )
        return json_response(user)

    async def removed(self, request: Request) -> Response:
        return errors(REMOVED, status=410)

    # --- REST v2: Data Center mode (sandbox/jira_dc.py); on Cloud, what Cloud answers -------------

    async def server_info(self, request: Request) -> Response:
        """Anonymous on both deployments; it is how a client tells them apart."""
        base = self.renderer(request).base
        return json_response(server_info(base, data_center=self.data_center))

    async def dc_myself(self, request: Request) -> Response:
        if not self.data_center:
            return await self.myself(request)
        return json_response(self.dc.myself(self.renderer(request).base))

    async def search_v2(self, request: Request) -> Response:
        if not self.data_center:
            return await self.removed(request)
        return await self.dc.search(request, self.renderer(request), select_fields)

    async def dc_get_issue(self, request: Request) -> Response:
        if not self.data_center:
            return await self.get_issue(request)
        return await self.dc.get_issue(request, self.renderer(request), select_fields)

    async def changelog_v2(self, request: Request) -> Response:
        """Cloud serves the paged per-issue changelog on v2 too; Data Center has none."""
        if self.data_center:
            return jersey_404(request)
        return await self.changelog(request)

    async def search(self, request: Request) -> Response:
        if request.method == "POST":
            payload = await self.body(request)
            if isinstance(payload, Response):
                return payload
            if set(payload) - SEARCH_BODY_KEYS:
                return json_response({"errorMessages": [BODY_INVALID]}, 400)
            jql, token = payload.get("jql"), payload.get("nextPageToken")
            raw_max = payload.get("maxResults", 50)
            fields = payload.get("fields") or []
            expand = payload.get("expand") or ""
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                return json_response({"errorMessages": [BODY_INVALID]}, 400)
            if isinstance(expand, list):
                expand = ",".join(str(e) for e in expand)
            if (jql is not None and not isinstance(jql, str)) or (
                token is not None and not isinstance(token, str)
            ):
                return json_response({"errorMessages": [BODY_INVALID]}, 400)
            if isinstance(raw_max, bool) or not isinstance(raw_max, int):
                return json_response({"errorMessages": [BODY_INVALID]}, 400)
            max_results = raw_max
            requested = [part.strip() for f in fields for part in f.split(",") if part.strip()]
        else:
            params = request.query_params
            jql, token = params.get("jql"), params.get("nextPageToken")
            raw = params.get("maxResults", "50")
            try:
                max_results = int(raw.strip())
            except ValueError:
                return problem(
                    request,
                    400,
                    "Bad Request",
                    f"Failed to convert 'maxResults' with value: '{raw}'",
                )
            requested = query_list(request, "fields")
            expand = ",".join(query_list(request, "expand"))
        if not 1 <= max_results <= MAX_SEARCH_RESULTS:
            return errors("The maxResults parameter must be between 1 and 5,000.")
        id_only = bool(requested) and set(requested) <= ID_ONLY_FIELDS
        selected = None if id_only else select_fields(requested)
        expanded = [e.strip() for e in str(expand).split(",")]
        changelog, transitions = "changelog" in expanded, "transitions" in expanded
        if selected is not None or changelog:
            max_results = min(max_results, MAX_RESULTS_WITH_FIELDS)
        with self.world.lock:
            try:
                query = compile_jql(self.world, jql, account_id=catalog.API_ACCOUNT_ID)
                page, next_token = execute(self.world, query, token or None, max_results)
            except JqlError as error:
                return errors(*error.messages)
            render = self.renderer(request)
            issues = [
                render.issue(
                    issue, selected, changelog=changelog, changelog_limit=self.changelog_limit,
                    transitions=transitions,
                )
                for issue in page
            ]
            if id_only and "key" in requested and not changelog:
                for rendered, issue in zip(issues, page, strict=True):
                    rendered["key"] = issue.key
        body: dict[str, Any] = {"issues": issues}
        if next_token:
            body["nextPageToken"] = next_token
        body["isLast"] = next_token is None
        return json_response(body)

    async def parse_jql(self, request: Request) -> Response:
        """`POST /rest/api/3/jql/parse?validation=strict|warn|none` with `{"queries": [...]}`:
        `{"queries": [{"query", "structure"} | {"query", "errors"}]}`, one per query, in order.

        A query with errors has no structure (strict, the default and what the product
        asks). The sandbox validates with its own JQL (syntax, fields, values) and answers
        `warn` and `none` the same way."""
        payload = await self.body(request)
        if isinstance(payload, Response):
            return payload
        queries = payload.get("queries")
        if (set(payload) - {"queries"} or not isinstance(queries, list)
                or not all(isinstance(q, str) for q in queries)):
            return json_response({"errorMessages": [BODY_INVALID]}, 400)
        validation = request.query_params.get("validation", "strict")
        if validation not in ("strict", "warn", "none"):
            return errors(f"Invalid validation mode '{validation}'.")
        answers: list[dict[str, Any]] = []
        with self.world.lock:
            for query in queries:
                try:
                    structure = parse_structure(self.world, query,
                                                account_id=catalog.API_ACCOUNT_ID)
                except JqlError as error:
                    answers.append({"query": query, "errors": error.messages})
                else:
                    answers.append({"query": query, "structure": structure})
        return json_response({"queries": answers})

    async def get_issue(self, request: Request) -> Response:
        requested = query_list(request, "fields")
        selected = select_fields(requested) if requested else NAVIGABLE
        changelog = "changelog" in query_list(request, "expand")
        with self.world.lock:
            issue = self.world.issue(request.path_params["key"])
            if issue is None:
                return errors(NO_ISSUE, status=404)
            body = self.renderer(request).issue(
                issue, selected or (), changelog=changelog, changelog_limit=100
            )
        return json_response(body)

    async def bulk_issues(self, request: Request) -> Response:
        """`POST /rest/api/3/issue/bulkfetch` (`bulkFetchIssues`): up to 100 issues by id or
        key, `fields` as on search (default `*navigable`), in ascending id order.

        As the document says: an id or key that matches no issue is left out (a key is looked
        up case-insensitively), not listed; `issueErrors` is for retriable failures, which the
        sandbox reports only for the ids a test put in `issue_errors`. No ids, or more than
        100, is a 400 in Jira's error shape."""
        payload = await self.body(request)
        if isinstance(payload, Response):
            return payload
        if set(payload) - BULK_ISSUE_BODY_KEYS:
            return json_response({"errorMessages": [BODY_INVALID]}, 400)
        ids = payload.get("issueIdsOrKeys")
        fields = payload.get("fields")
        expand = payload.get("expand")
        properties = payload.get("properties")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return json_response({"errorMessages": [BODY_INVALID]}, 400)
        if not ids or len(ids) > MAX_BULK_ISSUES:
            return errors(fields={"issueIdsOrKeys": (
                f"You must provide between 1 and {MAX_BULK_ISSUES} issue IDs or keys.")})
        for value in (fields, expand, properties):
            if value is not None and (
                not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            ):
                return json_response({"errorMessages": [BODY_INVALID]}, 400)
        if "fieldsByKeys" in payload and not isinstance(payload["fieldsByKeys"], bool):
            return json_response({"errorMessages": [BODY_INVALID]}, 400)
        if properties and len(properties) > MAX_BULK_PROPERTIES:
            return errors(fields={"properties": (
                f"You can request up to {MAX_BULK_PROPERTIES} issue property keys.")})
        requested = [part.strip() for f in fields or [] for part in f.split(",") if part.strip()]
        selected = select_fields(requested) if requested else NAVIGABLE
        changelog = "changelog" in [e.strip() for e in expand or []]
        found: dict[int, Issue] = {}
        failed: list[dict[str, str]] = []
        with self.world.lock:
            for raw in ids:
                issue = self.world.issue(raw.strip())
                if issue is None or str(issue.id) in self.hidden_issues:
                    continue  # gone or hidden: left out, as the document says
                if str(issue.id) in self.issue_errors:
                    failed.append({"id": str(issue.id),
                                   "errorMessage": self.issue_errors[str(issue.id)]})
                    continue
                found[issue.id] = issue
            render = self.renderer(request)
            issues = [
                render.issue(found[i], selected or (), changelog=changelog,
                             changelog_limit=BULK_ISSUE_CHANGELOG_LIMIT)
                for i in sorted(found)
            ]
        return json_response({"expand": "schema,names", "issues": issues, "issueErrors": failed})

    async def changelog(self, request: Request) -> Response:
        params = request.query_params
        parsed: dict[str, int] = {}
        for name, default in (("startAt", 0), ("maxResults", 100)):
            raw = params.get(name, str(default))
            try:
                parsed[name] = int(raw.strip())
            except ValueError:
                return problem(
                    request, 400, "Bad Request", f"Failed to convert '{name}' with value: '{raw}'"
                )
        start = max(parsed["startAt"], 0)
        limit = min(max(parsed["maxResults"], 1), 100)
        key = request.path_params["key"]
        with self.world.lock:
            issue = self.world.issue(key)
            if issue is None:
                return errors(NO_ISSUE, status=404)
            render = self.renderer(request)
            values = [render.history(h) for h in issue.histories[start : start + limit]]
            total = len(issue.histories)
        path = f"{render.base}/rest/api/3/issue/{key}/changelog"
        body: dict[str, Any] = {"self": f"{path}?maxResults={limit}&startAt={start}"}
        is_last = start + limit >= total
        if not is_last:
            body["nextPage"] = f"{path}?maxResults={limit}&startAt={start + limit}"
        body.update(
            {
                "maxResults": limit,
                "startAt": start,
                "total": total,
                "isLast": is_last,
                "values": values,
            }
        )
        return json_response(body)

    async def bulkfetch(self, request: Request) -> Response:
        if self.data_center:
            # Jira Data Center has no bulk changelog endpoint: Jersey's 404 for an unknown resource.
            return json_response(
                {"message": f"null for uri: {request.url}", "status-code": 404}, 404
            )
        payload = await self.body(request)
        if isinstance(payload, Response):
            return payload
        ids = payload.get("issueIdsOrKeys")
        field_ids = payload.get("fieldIds")
        token = payload.get("nextPageToken")
        raw_max = payload.get("maxResults", 1000)
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str | int) for i in ids):
            return errors(
                fields={"issueIdsOrKeys": "You must provide between 1 and 1000 issue IDs or keys."}
            )
        if len(ids) > 1000:
            return errors(
                fields={"issueIdsOrKeys": "You can request the changelogs of up to 1000 issues."}
            )
        if field_ids is not None and (not isinstance(field_ids, list) or len(field_ids) > 10):
            return errors(fields={"fieldIds": "You can filter by up to 10 field IDs."})
        if isinstance(raw_max, bool) or not isinstance(raw_max, int):
            return json_response({"errorMessages": [BODY_INVALID]}, 400)
        limit = min(max(raw_max, 1), 1000)
        wanted = frozenset(str(f) for f in field_ids) if field_ids else None
        fingerprint = hashlib.sha1(  # a fingerprint, not security
            json.dumps([sorted(map(str, ids)), sorted(wanted or [])]).encode()
        ).hexdigest()[:12]
        offset = 0
        if token:
            offset_or_none = _decode_offset(token, fingerprint)
            if offset_or_none is None:
                return errors(BAD_TOKEN)
            offset = offset_or_none
        with self.world.lock:
            rows: list[tuple[int, int, int, Issue, History]] = []
            for raw_id in dict.fromkeys(str(i) for i in ids):
                issue = self.world.issue(raw_id)
                if issue is None or str(issue.id) in self.hidden_issues:
                    continue
                for history in issue.histories:
                    if wanted is None or any(item[0] in wanted for item in history.items):
                        rows.append((history.created, issue.id, history.id, issue, history))
            rows.sort(key=lambda row: (row[0], row[1], row[2]))
            page = rows[offset : offset + limit]
            render = self.renderer(request)
            groups: dict[int, dict[str, Any]] = {}
            for _, issue_id, _, _issue, history in page:
                group = groups.setdefault(
                    issue_id, {"issueId": str(issue_id), "changeHistories": []}
                )
                group["changeHistories"].append(render.history(history, wanted))
        body: dict[str, Any] = {"issueChangeLogs": list(groups.values())}
        if offset + limit < len(rows):
            body["nextPageToken"] = _encode_offset(offset + limit, fingerprint)
        return json_response(body)

    async def create_issue(self, request: Request) -> Response:
        payload = await self.body(request)
        if isinstance(payload, Response):
            return payload
        fields = payload.get("fields")
        if not isinstance(fields, dict):
            return errors(fields={"fields": "Field 'fields' is required."})
        problems: dict[str, str] = {}
        project_key = self._project_of(fields.get("project"))
        if project_key is None:
            problems["project"] = "valid project is required"
        issuetype = self._issuetype_of(fields.get("issuetype"))
        if issuetype is None:
            problems["issuetype"] = "valid issue type is required"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            problems["summary"] = "You must specify a summary of the issue."
        if problems or project_key is None or issuetype is None or not isinstance(summary, str):
            return errors(fields=problems)
        labels = tuple(str(label) for label in fields.get("labels") or [])
        assignee_spec = fields.get("assignee")
        assignee = assignee_spec.get("accountId") if isinstance(assignee_spec, dict) else None
        priority_spec = fields.get("priority")
        if not isinstance(priority_spec, dict):
            priority_spec = {}
        priority = str(
            priority_spec.get("name")
            or catalog.PRIORITY_NAMES.get(str(priority_spec.get("id")), "Medium")
        )
        if priority not in catalog.PRIORITIES:
            priority = "Medium"
        now = int(time.time() * 1000)
        with self.world.lock:
            issue_id, key = self.world.allocate_issue(project_key)
            workflow = self.world.projects[project_key].workflow
            issue = Issue(
                issue_id,
                key,
                project_key,
                summary.strip()[:255],
                issuetype,
                priority,
                labels,
                catalog.API_ACCOUNT_ID,
                now,
                now,
                workflow[0],
                assignee,
            )
            self.world.add_issue(issue)
            self.created_issues.append(
                {"id": str(issue_id), "key": key, "fields": fields, "created": now}
            )
        base = self.renderer(request).base
        return json_response(
            {"id": str(issue_id), "key": key, "self": f"{base}/rest/api/3/issue/{issue_id}"}, 201
        )

    def _project_of(self, spec: Any) -> str | None:
        if not isinstance(spec, dict):
            return None
        for project in self.world.projects.values():
            if spec.get("key") == project.key or str(spec.get("id")) == project.id:
                return project.key
        return None

    def _issuetype_of(self, spec: Any) -> str | None:
        if not isinstance(spec, dict):
            return None
        for name, (type_id, _, _) in catalog.ISSUE_TYPES.items():
            if spec.get("name") == name or str(spec.get("id")) == type_id:
                return name
        return None


def _encode_offset(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{fingerprint}:{offset}".encode()).decode().rstrip("=")


def _decode_offset(token: str, fingerprint: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()).decode()
        mark, _, offset = text.partition(":")
        return int(offset) if mark == fingerprint and offset.isdigit() else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


__all__ = ["JIRA_JSON", "JiraApi", "Renderer"]
