"""Route-based fake Jira and PagerDuty APIs for respx: generated data, real paging rules.

Each fake owns its data and answers like the vendor does (token or offset paging, time
windows, the 10,000-record cap), and records what it was asked so tests can check requests.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx

JIRA_URL = "https://acme.atlassian.net"
JIRA_EMAIL = "robot@acme.example"
JIRA_TOKEN = "jira-SECRET-token-7f3a9"
JIRA_PAT = "jira-SECRET-pat-51c2e"
PD_URL = "https://api.pagerduty.com"
PD_TOKEN = "pd-SECRET-token-u+8Hq"

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def error_text(exc: BaseException) -> str:
    """The message of an exception and of everything chained to it."""
    parts = []
    current: BaseException | None = exc
    while current is not None:
        parts.append(f"{current!s} {current!r}")
        current = current.__cause__ or current.__context__
    return " ".join(parts)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------- Jira


def make_issue(n: int) -> dict[str, Any]:
    return {
        "id": str(10000 + n),
        "key": f"SUP-{n + 1}",
        "fields": {"status": {"name": "Open"}, "updated": "2026-10-05T10:00:00.000+0200"},
    }


class FakeJiraSearch:
    """`POST /rest/api/3/search/jql` over `n_issues` generated issues.

    Tokens are opaque to the client; here they encode the offset. `page_cap` is the most the
    server sends per page whatever `maxResults` says (Jira sends fewer when many fields are asked).
    """

    def __init__(self, router: respx.MockRouter, n_issues: int, page_cap: int = 5000) -> None:
        self.issues = [make_issue(n) for n in range(n_issues)]
        self.page_cap = page_cap
        self.bodies: list[dict[str, Any]] = []
        self.route = router.post("/rest/api/3/search/jql").mock(side_effect=self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        start = int(body.get("nextPageToken", "page-0").removeprefix("page-"))
        size = min(body["maxResults"], self.page_cap)
        page = self.issues[start : start + size]
        end = start + len(page)
        answer: dict[str, Any] = {"issues": page, "isLast": end >= len(self.issues)}
        if not answer["isLast"]:
            answer["nextPageToken"] = f"page-{end}"
        return httpx.Response(200, json=answer)


def make_histories(issue_id: str) -> list[dict[str, Any]]:
    """Three histories: assignee (+ a labels item), status, and labels only."""
    n = int(issue_id)
    created = [T0 + timedelta(hours=h, seconds=n % 3600) for h in (1, 2, 3)]
    author = {"accountId": "557058:bot"}
    return [
        {
            "id": f"{issue_id}-1",
            "author": author,
            "created": created[0].isoformat(),
            "items": [
                {"field": "assignee", "fieldId": "assignee", "from": None, "to": "acc-sam"},
                {"field": "labels", "fieldId": "labels", "fromString": "", "toString": "ai"},
            ],
        },
        {
            "id": f"{issue_id}-2",
            "author": author,
            "created": created[1].isoformat(),
            "items": [{"field": "status", "fieldId": "status", "from": "1", "to": "3"}],
        },
        {
            "id": f"{issue_id}-3",
            "author": author,
            "created": created[2].isoformat(),
            "items": [{"field": "labels", "fieldId": "labels", "fromString": "ai", "toString": ""}],
        },
    ]


@dataclass
class FakeJiraChangelogs:
    """Bulk changelog (token paging, `page_size` histories per page, sorted by date then
    issue id, so one issue's histories span pages) and the per-issue `startAt` changelog.

    Bulk answers `bulk_status` instead when set (Data Center has no bulk endpoint).
    """

    router: respx.MockRouter
    page_size: int = 700
    bulk_status: int | None = None
    deleted: set[str] = field(default_factory=set)
    extra_histories: dict[str, int] = field(default_factory=dict)
    bulk_bodies: list[dict[str, Any]] = field(default_factory=list)
    issue_pages: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.bulk = self.router.post("/rest/api/3/changelog/bulkfetch").mock(
            side_effect=self.handle_bulk
        )
        self.per_issue = self.router.get(
            path__regex=r"/rest/api/3/issue/(?P<issue_id>\d+)/changelog"
        ).mock(side_effect=self.handle_issue)
        # Registered after the changelog route, whose path it would also match.
        self.get_issue = self.router.get(
            path__regex=r"/rest/api/3/issue/(?P<issue_id>\d+)$"
        ).mock(side_effect=self.handle_get_issue)

    def handle_get_issue(self, request: httpx.Request, issue_id: str) -> httpx.Response:
        """`GET issue`: 404 for a deleted issue, which is what proves the deletion."""
        if issue_id in self.deleted:
            return httpx.Response(
                404, json={"errorMessages": ["Issue does not exist or you do not have permission"]}
            )
        return httpx.Response(200, json={"id": issue_id, "key": f"SUP-{issue_id}", "fields": {}})

    def histories(self, issue_id: str) -> list[dict[str, Any]]:
        base = make_histories(issue_id)
        for k in range(self.extra_histories.get(issue_id, 0)):
            base.append(
                {
                    "id": f"{issue_id}-x{k}",
                    "author": {"accountId": "acc-dev"},
                    "created": (T0 + timedelta(days=1, minutes=k)).isoformat(),
                    "items": [{"field": "assignee", "fieldId": "assignee", "to": f"acc-{k}"}],
                }
            )
        return base

    def handle_bulk(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with self._lock:
            self.bulk_bodies.append(body)
        if self.bulk_status is not None:
            return httpx.Response(self.bulk_status, json={"errorMessages": ["Not found"]})
        wanted = set(body["fieldIds"])
        entries = [
            (h["created"], int(issue_id), issue_id, h)
            for issue_id in body["issueIdsOrKeys"]
            for h in self.histories(issue_id)
            if any(item["fieldId"] in wanted for item in h["items"])
        ]
        entries.sort(key=lambda e: (e[0], e[1]))
        start = int(body.get("nextPageToken", "cl-0").removeprefix("cl-"))
        page = entries[start : start + self.page_size]
        logs: list[dict[str, Any]] = []
        for _, _, issue_id, history in page:
            if not logs or logs[-1]["issueId"] != issue_id:
                logs.append({"issueId": issue_id, "changeHistories": []})
            logs[-1]["changeHistories"].append(history)
        answer: dict[str, Any] = {"issueChangeLogs": logs}
        if start + len(page) < len(entries):
            answer["nextPageToken"] = f"cl-{start + len(page)}"
        return httpx.Response(200, json=answer)

    def handle_issue(self, request: httpx.Request, issue_id: str) -> httpx.Response:
        with self._lock:
            self.issue_pages[issue_id] += 1
        if issue_id in self.deleted:
            return httpx.Response(
                404, json={"errorMessages": ["Issue does not exist or you do not have permission"]}
            )
        start = int(request.url.params["startAt"])
        size = min(int(request.url.params["maxResults"]), 100)
        values = self.histories(issue_id)
        page = values[start : start + size]
        return httpx.Response(
            200,
            json={
                "startAt": start,
                "maxResults": size,
                "total": len(values),
                "isLast": start + len(page) >= len(values),
                "values": page,
            },
        )


# ---------------------------------------------------------------------------------- PagerDuty


def pd_error(message: str, *errors: str, code: int = 2001) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "errors": list(errors)}}


class FakePagerDutyHistory:
    """`GET /incidents` or `/log_entries` over records created at given instants.

    Rules of the real API kept here: `since`/`until` at most 6 months apart (else 400),
    `offset + limit` at most `cap` (else 400 "Offset+limit exceeds…"), `total` only with
    `total=true` (null otherwise, or always null with `honour_total=False`), `more`.
    `until_inclusive` makes both bounds inclusive, so records on a seam come back twice.
    """

    def __init__(
        self,
        router: respx.MockRouter,
        path: str,
        created: list[datetime],
        *,
        newest_first: bool = False,
        cap: int = 10_000,
        honour_total: bool = True,
        until_inclusive: bool = False,
    ) -> None:
        self.wrapper = path.strip("/")
        prefix = "Q" if self.wrapper == "incidents" else "L"
        records = sorted(
            ({"id": f"{prefix}{n:06d}", "created_at": iso(c)} for n, c in enumerate(created)),
            key=lambda r: (r["created_at"], r["id"]),
        )
        self.records = records
        self.keys = [r["created_at"] for r in records]
        self.newest_first = newest_first
        self.cap = cap
        self.honour_total = honour_total
        self.until_inclusive = until_inclusive
        self.requests: list[httpx.Request] = []
        self.by_window: Counter[tuple[str, str]] = Counter()
        self.route = router.get(path).mock(side_effect=self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = request.url.params
        since, until = params["since"], params["until"]
        self.by_window[(since, until)] += 1
        span = datetime.fromisoformat(until) - datetime.fromisoformat(since)
        if span > timedelta(days=183):
            return httpx.Response(
                400, json=pd_error("Invalid Input Provided", "Date range cannot exceed 6 months")
            )
        offset, limit = int(params["offset"]), int(params["limit"])
        if offset + limit > self.cap:
            return httpx.Response(
                400,
                json=pd_error(
                    "Invalid Input Provided",
                    f"Offset+limit exceeds maximum allowed value of {self.cap}",
                ),
            )
        low = bisect.bisect_left(self.keys, since)
        high = (bisect.bisect_right if self.until_inclusive else bisect.bisect_left)(
            self.keys, until
        )
        matching = self.records[low:high]
        if self.newest_first:
            matching = matching[::-1]
        page = matching[offset : offset + limit]
        wants_total = self.honour_total and params.get("total") == "true"
        return httpx.Response(
            200,
            json={
                self.wrapper: page,
                "limit": limit,
                "offset": offset,
                "more": offset + len(page) < len(matching),
                "total": len(matching) if wants_total else None,
            },
        )


class FakePagerDutyIndex:
    """A plain index (`/users`, `/services`, …) paged by offset/more."""

    def __init__(self, router: respx.MockRouter, path: str, n: int) -> None:
        self.wrapper = path.strip("/")
        self.records = [{"id": f"P{k:06d}", "type": self.wrapper[:-1]} for k in range(n)]
        self.route = router.get(path).mock(side_effect=self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        page = self.records[offset : offset + limit]
        more = offset + len(page) < len(self.records)
        return httpx.Response(200, json={self.wrapper: page, "more": more, "total": None})
