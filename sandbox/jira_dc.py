"""Jira Data Center / Server REST v2, as the sandbox's Data Center mode serves it.

The same world as the Cloud API, rendered the way Data Center renders it (sources in
docs/sync.md, "Jira Data Center"):

* `GET /rest/api/2/serverInfo` answers anonymously with `deploymentType: "Server"` (Data Center
  reports "Server" too);
* `/rest/api/2/myself`, `/rest/api/2/search` (`startAt`/`maxResults`/`total`, `maxResults`
  silently capped at 1000 and echoed) and `/rest/api/2/issue/{key}` (`expand=changelog` embeds
  the whole history, oldest first, `maxResults` = `total`);
* users are `name`/`key` objects without `accountId`; changelog items have no `fieldId`, and an
  assignee item's `from`/`to` hold the user **key**;
* every `/rest/api/3/...` path, and the Cloud-only `/rest/api/2/issue/{key}/changelog`, is
  Jersey's 404 `{"message": "null for uri: …", "status-code": 404}`.

Usernames are derived from the world's Cloud users (`dc_usernames`); keys equal usernames, as
for accounts created before Jira 8.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from . import catalog
from .data import History, Issue, Item, World
from .jql import JqlError, compile_jql
from .jql import _sorted as sorted_matches
from .responses import json_response, query_list

DC_VERSION = (9, 12, 7)
DC_MAX_RESULTS = 1000
_NOT_USERNAME = re.compile(r"[^a-z0-9._-]+")


def jersey_404(request: Request) -> Response:
    """What Data Center's REST layer answers for a path it has no resource for."""
    return json_response({"message": f"null for uri: {request.url}", "status-code": 404}, 404)


def server_info(base: str, *, data_center: bool) -> dict[str, Any]:
    """`GET /rest/api/2/serverInfo` of a Data Center 9.12 or of Cloud (shapes captured from
    both, see docs/sync.md)."""
    if not data_center:
        return {
            "baseUrl": base,
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100295,
            "serverTitle": "Jira",
        }
    major, minor, patch = DC_VERSION
    return {
        "baseUrl": base,
        "version": f"{major}.{minor}.{patch}",
        "versionNumbers": list(DC_VERSION),
        "deploymentType": "Server",
        "buildNumber": major * 100_000 + minor * 1000 + patch,
        "databaseBuildNumber": major * 100_000 + minor * 1000 + patch,
        "serverTitle": "Jira",
    }


def dc_usernames(world: World) -> dict[str, str]:
    """Cloud account id → a Data Center username (also the user key), unique and stable.

    The e-mail's local part, lower-cased, else the display name; tests translate a Cloud
    registry into a Data Center one with this.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for account_id in sorted(world.users):
        user = world.users[account_id]
        base = (user.email or "").partition("@")[0] or user.display_name
        name = _NOT_USERNAME.sub(".", base.lower()).strip(".") or "user"
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name}{n}"
        taken.add(candidate)
        names[account_id] = candidate
    return names


class DataCenterApi:
    """The v2 handlers of Data Center mode, over the world of a `JiraApi`."""

    search_history_limit: int | None = None
    """When set (tests), a search hit embeds only this many histories of its changelog, with
    the true `total`, as a server that truncates would: the client must notice."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._usernames: dict[str, str] | None = None

    def username(self, account_id: str) -> str:
        if self._usernames is None or account_id not in self._usernames:
            self._usernames = dc_usernames(self.world)
        return self._usernames.get(account_id) or f"former.{account_id[-6:].lower()}"

    # --- rendering ------------------------------------------------------------------------------

    def user(self, base: str, account_id: str | None) -> dict[str, Any] | None:
        if account_id is None:
            return None
        known = self.world.users.get(account_id)
        name = self.username(account_id)
        out: dict[str, Any] = {
            "self": f"{base}/rest/api/2/user?username={quote(name)}",
            "name": name,
            "key": name,
            "avatarUrls": {s: f"{base}/secure/useravatar?size={s}" for s in ("48x48", "24x24")},
            "displayName": known.display_name if known else "Former user",
            "active": known.active if known else False,
            "timeZone": known.time_zone if known else "UTC",
        }
        if known and known.email:
            out["emailAddress"] = known.email
        return out

    def item(self, cloud: dict[str, Any], item: Item) -> dict[str, Any]:
        """A Cloud-rendered item in Data Center's shape: no `fieldId`, user keys for users."""
        field_id, old, new = item
        out = {k: v for k, v in cloud.items() if k != "fieldId"}
        if field_id == "assignee":
            out["from"] = self.username(old) if old else None
            out["to"] = self.username(new) if new else None
        return out

    def history(self, render: Any, base: str, history: History) -> dict[str, Any]:
        cloud = render.history(history)
        return {
            "id": cloud["id"],
            "author": self.user(base, history.author),
            "created": cloud["created"],
            "items": [self.item(c, i) for c, i in zip(cloud["items"], history.items, strict=True)],
        }

    def issue(
        self, render: Any, issue: Issue, selected: tuple[str, ...], *, changelog: bool
    ) -> dict[str, Any]:
        base = render.base
        fields = render.fields(issue, selected)
        for name, account in (("assignee", issue.assignee), ("reporter", issue.reporter)):
            if name in fields:
                fields[name] = self.user(base, account)
        for name in ("status", "project", "issuetype", "priority", "resolution"):
            if isinstance(fields.get(name), dict):
                fields[name] = json.loads(
                    json.dumps(fields[name]).replace("/rest/api/3/", "/rest/api/2/")
                )
        out: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,"
                      "versionedRepresentations",
            "id": str(issue.id),
            "self": f"{base}/rest/api/2/issue/{issue.id}",
            "key": issue.key,
            "fields": fields,
        }
        if changelog:
            # Data Center embeds the whole history, oldest first, with no paging of its own.
            histories = [self.history(render, base, h) for h in issue.histories]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(histories),
                "histories": histories,
            }
        return out

    # --- endpoints ------------------------------------------------------------------------------

    def myself(self, base: str) -> dict[str, Any]:
        account = self.world.users[catalog.API_ACCOUNT_ID]
        user = dict(self.user(base, account.account_id) or {})
        user.update({"timeZone": account.time_zone, "locale": "en_US",
                     "groups": {"size": 2, "items": []}, "expand": "groups,applicationRoles"})
        return user

    async def search(self, request: Request, render: Any, select: Any) -> Response:
        """`GET`/`POST /rest/api/2/search`: `startAt`/`maxResults`/`total` over the JQL."""
        if request.method == "POST":
            try:
                payload = json.loads(await request.body())
            except ValueError:
                return json_response({"errorMessages": ["Unexpected character"]}, 400)
            if not isinstance(payload, dict):
                return json_response({"errorMessages": ["Can not deserialize"]}, 400)
            jql, start_raw, max_raw = (payload.get("jql"), payload.get("startAt", 0),
                                       payload.get("maxResults", 50))
            fields = payload.get("fields") or ["*navigable"]
            expand = payload.get("expand") or ""
            if isinstance(expand, list):
                expand = ",".join(str(e) for e in expand)
        else:
            params = request.query_params
            jql, start_raw, max_raw = (params.get("jql"), params.get("startAt", "0"),
                                       params.get("maxResults", "50"))
            fields = query_list(request, "fields") or ["*navigable"]
            expand = ",".join(query_list(request, "expand"))
        try:
            start, limit = max(int(start_raw), 0), int(max_raw)
        except (TypeError, ValueError):
            return json_response({"errorMessages": ["startAt and maxResults must be numbers"]},
                                 400)
        limit = min(max(limit, 0), DC_MAX_RESULTS)
        selected = select([str(f) for f in fields]) or ()
        changelog = "changelog" in [e.strip() for e in str(expand).split(",")]
        with self.world.lock:
            try:
                query = compile_jql(self.world, jql, account_id=catalog.API_ACCOUNT_ID)
            except JqlError as error:
                return json_response({"errorMessages": list(error.messages), "errors": {}}, 400)
            matches = sorted_matches(self.world, query)
            page = matches[start : start + limit]
            issues = [self.issue(render, i, selected, changelog=changelog) for i in page]
        if changelog and self.search_history_limit is not None:
            for issue in issues:
                issue["changelog"]["histories"] = (
                    issue["changelog"]["histories"][: self.search_history_limit])
                issue["changelog"]["maxResults"] = len(issue["changelog"]["histories"])
        return json_response({"expand": "schema,names", "startAt": start, "maxResults": limit,
                              "total": len(matches), "issues": issues})

    async def get_issue(self, request: Request, render: Any, select: Any) -> Response:
        requested = query_list(request, "fields")
        selected = (select(requested) if requested else None) or ("summary", "status",
                                                                   "assignee", "updated")
        changelog = "changelog" in query_list(request, "expand")
        with self.world.lock:
            issue = self.world.issue(request.path_params["key"])
            if issue is None:
                return json_response({"errorMessages": ["Issue Does Not Exist"], "errors": {}},
                                     404)
            body = self.issue(render, issue, selected, changelog=changelog)
        return json_response(body)
