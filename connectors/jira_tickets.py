"""A Jira ticket per risk review (`POST /rest/api/3/issue`), created at most once.

Jira has no idempotency key for issue creation, so the ticket carries its own: a label
`accountability-<review id>`. Before creating, `ensure_ticket` searches for that label
(`POST /rest/api/3/search/jql`); a send repeated after a crash between Jira's 201 and the
outbox update finds the first ticket instead of opening a second. (Jira search is eventually
consistent, so two sends within the same second could still both create; the outbox's claim
makes that impossible for one alert unless a dispatcher dies and its claim goes stale.)

Auth and error handling are the inbound connector's (`connectors.jira`): Cloud email + API
token or a Data Center PAT, `JIRA_URL` https (http only on loopback), responses classified by
`connectors.http.check_response`. The description is an Atlassian Document Format document,
built from plain strings by the `adf_*` helpers (text nodes are JSON strings: nothing to
escape, but never empty).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.channel_errors import ChannelError, from_connector_error
from connectors.errors import ConnectorError
from connectors.http import (
    check_response,
    parse_json,
    redact_url,
    require_key,
    transport_error,
)
from connectors.jira import JIRA, jira_http_client, jql_string
from connectors.text import clean, one_line

SUMMARY_LIMIT = 255
"""Jira refuses a summary over 255 characters (and any line break in it)."""
TEXT_LIMIT = 30_000
LABEL_PREFIX = "accountability-"
ISSUE = "/rest/api/3/issue"
SEARCH = "/rest/api/3/search/jql"


def review_label(review_id: str) -> str:
    """The label that identifies a review's ticket (labels may not contain spaces)."""
    return LABEL_PREFIX + re.sub(r"[^A-Za-z0-9_.\-]", "-", review_id)[:200]


# --- Atlassian Document Format ----------------------------------------------------------------


def adf_text(text: str, *, href: str | None = None, strong: bool = False) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": clean(text, TEXT_LIMIT, strip=False) or " "}
    marks: list[dict[str, Any]] = []
    if strong:
        marks.append({"type": "strong"})
    if href:
        marks.append({"type": "link", "attrs": {"href": href}})
    if marks:
        node["marks"] = marks
    return node


def adf_paragraph(*content: dict[str, Any] | str) -> dict[str, Any]:
    nodes = [adf_text(c) if isinstance(c, str) else c for c in content]
    return {"type": "paragraph", "content": nodes or [adf_text(" ")]}


def adf_bullets(items: list[list[dict[str, Any] | str]]) -> dict[str, Any]:
    return {"type": "bulletList",
            "content": [{"type": "listItem", "content": [adf_paragraph(*item)]}
                        for item in items]}


def adf_doc(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(blocks)}


# --- client -----------------------------------------------------------------------------------


class JiraTickets:
    """Creates risk-review tickets on one Jira site.

    Args:
        base_url: the site (`JIRA_URL`).
        email, api_token: Cloud credentials; pat: a Data Center token (wins).
        ca_bundle: extra trusted CAs (`ACCOUNTABILITY_CA_BUNDLE`).
        transport: an httpx transport instead of the network (tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        email: str | None = None,
        api_token: SecretStr | None = None,
        pat: SecretStr | None = None,
        ca_bundle: Path | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = jira_http_client(base_url, email=email, api_token=api_token, pat=pat,
                                      ca_bundle=ca_bundle, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def find_by_label(self, project: str, label: str) -> str | None:
        """The key of the oldest ticket of `project` carrying `label`, or None."""
        jql = (f"project = {jql_string(project)} AND labels = {jql_string(label)} "
               "ORDER BY created ASC")
        body = self._call("POST", SEARCH, {"jql": jql, "fields": ["summary"], "maxResults": 1})
        issues = require_key(body, "issues", list, url=self._url(SEARCH), api="Jira")
        if issues and isinstance(issues[0], dict) and isinstance(issues[0].get("key"), str):
            return str(issues[0]["key"])
        return None

    def create(self, fields: dict[str, Any]) -> str:
        body = self._call("POST", ISSUE, {"fields": fields})
        return str(require_key(body, "key", str, url=self._url(ISSUE), api="Jira"))

    def ensure_ticket(
        self,
        *,
        project: str,
        issue_type: str,
        summary: str,
        description: dict[str, Any],
        label: str,
        assignee_account_id: str | None,
    ) -> tuple[str, bool]:
        """`(issue key, created)`: the ticket labelled `label`, created only if none exists.

        An assignee Jira refuses (not assignable in the project, deactivated) does not lose
        the ticket: it is created unassigned with a line saying who should own it.
        """
        existing = self.find_by_label(project, label)
        if existing is not None:
            return existing, False
        fields: dict[str, Any] = {
            "project": {"key": project},
            "issuetype": {"name": issue_type},
            "summary": one_line(summary, SUMMARY_LIMIT),
            "description": description,
            "labels": ["accountability", label],
        }
        if assignee_account_id:
            fields["assignee"] = {"accountId": assignee_account_id}
        try:
            return self.create(fields), True
        except ChannelError as exc:
            if "assignee" not in fields or "assignee" not in str(exc).lower():
                raise
        note = adf_paragraph(adf_text(
            f"Jira refused the assignee {assignee_account_id}: assign this ticket by hand."))
        fields.pop("assignee")
        fields["description"] = {**description, "content": [*description["content"], note]}
        return self.create(fields), True

    def _call(self, method: str, path: str, body: dict[str, Any]) -> Any:
        url = self._url(path)
        try:
            response = self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            error = transport_error(exc, JIRA, url)
            raise ChannelError(f"Jira: {error.message}", unreachable=True) from None
        try:
            check_response(response, JIRA)
            return parse_json(response, JIRA)
        except ConnectorError as exc:
            raise from_connector_error(exc, "Jira") from None

    def _url(self, path: str) -> str:
        return redact_url(self._http.base_url.join(path.lstrip("/")))
