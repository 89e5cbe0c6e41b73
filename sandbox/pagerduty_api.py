"""PagerDuty REST API v2 (incidents, log entries, users, services, escalation policies) and the
Events API v2 (`/v2/enqueue`, `/v2/change/enqueue`), served at root paths on one port.

Classic pagination as the reference describes it: `limit` (at most 100) and `offset`, `more`,
`total` only with `total=true`, and a 400 once `offset + limit` passes 10,000. `since`/`until` on
`/incidents` filter by creation time, at most 6 months apart; log entries come newest first.
"""

from __future__ import annotations

import json
import secrets
import time
from bisect import bisect_left
from collections.abc import Iterator
from datetime import tzinfo
from heapq import merge
from itertools import islice
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import catalog
from .data import EscalationPolicy, Incident, LogEntry, PDUser, Ref, Service, World
from .responses import PD_JSON, json_response, timed
from .timefmt import DAY_MS, add_months, is_zone, parse_pd_time, pd_format, zone

ITERATION_LIMIT = 10_000
MAX_LIMIT = 100
DEFAULT_LIMIT = 25
OFFSET_LIMIT_TEXT = (
    "Offset+limit exceeds maximum allowed value of 10000. Please try to refine your search to "
    "reduce the returned set of records below this number, like adding a date range."
)
ASSIGNING = ("assign_log_entry", "escalate_log_entry", "delegate_log_entry", "reassign_log_entry")
OVERVIEW = (
    "trigger_log_entry",
    "acknowledge_log_entry",
    "resolve_log_entry",
    *ASSIGNING,
)
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


class PDError(Exception):
    def __init__(
        self, status: int, message: str, code: int, errors: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.errors = status, message, code, errors

    def response(self) -> Response:
        error: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            error["errors"] = self.errors
        return json_response({"error": error}, self.status, media_type=PD_JSON)


def invalid(*details: str) -> PDError:
    return PDError(400, "Invalid Input Provided", 2001, list(details))


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise invalid(f"{name.capitalize()} must be an integer.") from exc


class Page:
    """`limit`/`offset`/`total` parsed and checked the way PagerDuty checks them."""

    def __init__(self, request: Request) -> None:
        self.limit = _int_param(request, "limit", DEFAULT_LIMIT)
        self.offset = _int_param(request, "offset", 0)
        self.want_total = request.query_params.get("total", "false").lower() == "true"
        if self.limit < 1 or self.offset < 0:
            raise invalid("Limit must be positive and offset must not be negative.")
        if self.limit > MAX_LIMIT:
            raise invalid(f"Limit must be less than or equal to {MAX_LIMIT}.")
        if self.offset + self.limit > ITERATION_LIMIT:
            raise PDError(400, "Arguments Caused Error", 2002, [OFFSET_LIMIT_TEXT])

    def body(self, key: str, items: list[dict[str, Any]], total: int) -> dict[str, Any]:
        return {
            key: items,
            "limit": self.limit,
            "offset": self.offset,
            "more": self.offset + len(items) < total,
            "total": total if self.want_total else None,
        }


class PDRenderer:
    def __init__(self, world: World, base: str, tz: tzinfo | None) -> None:
        self.world = world
        self.base = base.rstrip("/")
        self.tz = tz

    def ts(self, ms: int | None) -> str | None:
        return None if ms is None else pd_format(ms, self.tz)

    def ref(self, ref: Ref) -> dict[str, Any]:
        kind, ident = ref
        if kind == "user_reference":
            user = self.world.pd_users.get(ident)
            return {
                "id": ident,
                "type": kind,
                "summary": user.name if user else ident,
                "self": f"{self.base}/users/{ident}",
                "html_url": f"{catalog.PD_HTML}/users/{ident}",
            }
        if kind == "service_reference":
            service = self.world.services.get(ident)
            return {
                "id": ident,
                "type": kind,
                "summary": service.name if service else ident,
                "self": f"{self.base}/services/{ident}",
                "html_url": f"{catalog.PD_HTML}/service-directory/{ident}",
            }
        if kind == "escalation_policy_reference":
            policy = self.world.policies.get(ident)
            return {
                "id": ident,
                "type": kind,
                "summary": policy.name if policy else ident,
                "self": f"{self.base}/escalation_policies/{ident}",
                "html_url": f"{catalog.PD_HTML}/escalation_policies/{ident}",
            }
        if kind.endswith("integration_reference"):
            # `IntegrationReference`: an inbound integration lives under its service.
            _, service_id, name = catalog.INTEGRATIONS.get(ident, (kind, "", ident))
            return {
                "id": ident,
                "type": kind,
                "summary": name,
                "self": f"{self.base}/services/{service_id}/integrations/{ident}",
                "html_url": f"{catalog.PD_HTML}/services/{service_id}/integrations/{ident}",
            }
        return {"id": ident, "type": kind, "summary": ident, "self": None, "html_url": None}

    def incident_ref(self, incident: Incident) -> dict[str, Any]:
        return {
            "id": incident.id,
            "type": "incident_reference",
            "summary": f"[#{incident.number}] {incident.title}",
            "self": f"{self.base}/incidents/{incident.id}",
            "html_url": f"{catalog.PD_HTML}/incidents/{incident.id}",
        }

    def incident(self, incident: Incident) -> dict[str, Any]:
        status = incident.status()
        assignments: list[dict[str, Any]] = []
        acknowledgements: list[dict[str, Any]] = []
        last_change: LogEntry | None = None
        resolved_at: int | None = None
        for entry in incident.log:
            if entry.assignees:
                assignments = [
                    {"at": self.ts(entry.created), "assignee": self.ref(("user_reference", a))}
                    for a in entry.assignees
                ]
            if entry.type in (
                "trigger_log_entry",
                "acknowledge_log_entry",
                "resolve_log_entry",
                "escalate_log_entry",
            ):
                last_change = entry
            if entry.type == "acknowledge_log_entry" and entry.agent:
                acknowledgements.append(
                    {"at": self.ts(entry.created), "acknowledger": self.ref(entry.agent)}
                )
            if entry.type == "resolve_log_entry":
                resolved_at, assignments, acknowledgements = entry.created, [], []
        trigger = incident.log[0] if incident.log else None
        return {
            "id": incident.id,
            "type": "incident",
            "summary": f"[#{incident.number}] {incident.title}",
            "self": f"{self.base}/incidents/{incident.id}",
            "html_url": f"{catalog.PD_HTML}/incidents/{incident.id}",
            "incident_number": incident.number,
            "title": incident.title,
            "description": incident.title,
            "created_at": self.ts(incident.created),
            "updated_at": self.ts(incident.updated()),
            "status": status,
            "incident_key": incident.incident_key,
            "service": self.ref(("service_reference", incident.service_id)),
            "assignments": assignments,
            "assigned_via": "escalation_policy",
            "last_status_change_at": self.ts(
                last_change.created if last_change else incident.created
            ),
            "last_status_change_by": self.ref(last_change.agent)
            if last_change and last_change.agent
            else None,
            "resolved_at": self.ts(resolved_at),
            "first_trigger_log_entry": {
                "id": trigger.id,
                "type": "trigger_log_entry_reference",
                "summary": "Triggered through the API",
                "self": f"{self.base}/log_entries/{trigger.id}?incident_id={incident.id}",
                "html_url": f"{catalog.PD_HTML}/incidents/{incident.id}/log_entries/{trigger.id}",
            }
            if trigger
            else None,
            "alert_counts": {
                "all": 1,
                "triggered": 0 if status == "resolved" else 1,
                "resolved": 1 if status == "resolved" else 0,
            },
            "pending_actions": [],
            "is_mergeable": True,
            "escalation_policy": self.ref(("escalation_policy_reference", incident.policy_id)),
            "teams": [],
            "acknowledgements": acknowledgements,
            "priority": None,
            "urgency": incident.urgency,
            "conference_bridge": None,
        }

    def _names(self, ids: tuple[str, ...]) -> str:
        users = self.world.pd_users
        return ", ".join(users[i].name if i in users else i for i in ids)

    def summary(self, entry: LogEntry) -> str:
        agent = self.ref(entry.agent)["summary"] if entry.agent else "PagerDuty"
        kind = entry.type.removesuffix("_log_entry")
        if kind == "trigger":
            return (
                "Triggered through the website"
                if entry.channel == "web_trigger"
                else "Triggered through the API"
            )
        if kind in ("assign", "escalate", "delegate", "reassign"):
            verb = {
                "assign": "Assigned",
                "escalate": "Escalated",
                "delegate": "Delegated",
                "reassign": "Reassigned",
            }[kind]
            return f"{verb} to {self._names(entry.assignees)}."
        if kind == "acknowledge":
            return f"Acknowledged by {agent}."
        if kind == "resolve":
            return f"Resolved by {agent}."
        return entry.note or kind.replace("_", " ").capitalize()

    def log_entry(self, entry: LogEntry, include: frozenset[str]) -> dict[str, Any]:
        incident = self.world.incidents[entry.incident_id]
        body: dict[str, Any] = {
            "id": entry.id,
            "type": entry.type,
            "summary": self.summary(entry),
            "self": f"{self.base}/log_entries/{entry.id}",
            "html_url": f"{catalog.PD_HTML}/incidents/{incident.id}/log_entries/{entry.id}",
            "created_at": self.ts(entry.created),
            "channel": {"type": entry.channel},
            "service": self.ref(("service_reference", incident.service_id)),
            "incident": self.incident_ref(incident),
            "teams": [],
            "contexts": [],
        }
        if entry.agent:  # no agent: the key is absent (the document marks it optional, not null)
            body["agent"] = self.ref(entry.agent)
        if entry.type in ASSIGNING:
            body["assignees"] = [self.ref(("user_reference", a)) for a in entry.assignees]
        if entry.type == "trigger_log_entry":
            body["event_details"] = {"description": incident.title}
        if "incidents" in include:
            body["incident"] = self.incident(incident)
        if "services" in include:
            body["service"] = self.service(self.world.services[incident.service_id])
        if "channels" in include:
            body["channel"] = {"type": entry.channel, "summary": body["summary"]}
        return body

    def user(self, user: PDUser) -> dict[str, Any]:
        return {
            "id": user.id,
            "type": "user",
            "summary": user.name,
            "self": f"{self.base}/users/{user.id}",
            "html_url": f"{catalog.PD_HTML}/users/{user.id}",
            "name": user.name,
            "email": user.email,
            "time_zone": user.time_zone,
            "color": "green",
            "role": user.role,
            "avatar_url": "https://secure.gravatar.com/avatar/0.png?d=mm&r=PG",
            "description": "",
            "invitation_sent": False,
            "job_title": user.job_title,
            "teams": [],
            "contact_methods": [],
            "notification_rules": [],
        }

    def service(self, service: Service) -> dict[str, Any]:
        latest = self.world.service_index.get(service.id) or []
        return {
            "id": service.id,
            "type": "service",
            "summary": service.name,
            "self": f"{self.base}/services/{service.id}",
            "html_url": f"{catalog.PD_HTML}/service-directory/{service.id}",
            "name": service.name,
            "description": service.description,
            "auto_resolve_timeout": 14400,
            "acknowledgement_timeout": 600,
            "created_at": self.ts(service.created),
            "status": "active",
            "last_incident_timestamp": self.ts(latest[-1][0]) if latest else None,
            "escalation_policy": self.ref(("escalation_policy_reference", service.policy_id)),
            "teams": [],
            "integrations": [],
            "incident_urgency_rule": {"type": "constant", "urgency": "high"},
            "alert_creation": "create_alerts_and_incidents",
        }

    def policy(self, policy: EscalationPolicy) -> dict[str, Any]:
        services = [s for s in self.world.services.values() if s.policy_id == policy.id]
        return {
            "id": policy.id,
            "type": "escalation_policy",
            "summary": policy.name,
            "self": f"{self.base}/escalation_policies/{policy.id}",
            "html_url": f"{catalog.PD_HTML}/escalation_policies/{policy.id}",
            "name": policy.name,
            "escalation_rules": [
                {
                    "id": catalog.pd_id(
                        "PR", index + 7 * int.from_bytes(policy.id.encode()[-2:], "big"), 5
                    ),
                    "escalation_delay_in_minutes": delay,
                    "targets": [self.ref(("user_reference", target)) for target in targets],
                }
                for index, (delay, targets) in enumerate(policy.rules)
            ],
            "services": [self.ref(("service_reference", s.id)) for s in services],
            "num_loops": policy.num_loops,
            "teams": [],
            "description": "",
            "on_call_handoff_notifications": "if_has_services",
        }


class PagerDutyApi:
    def __init__(self, world: World) -> None:
        self.world = world
        self.events: list[dict[str, Any]] = []

    def routes(self) -> list[Route]:
        def guarded(handler: Any) -> Any:
            return timed(self._authenticated(handler))

        return [
            Route("/incidents", guarded(self.incidents), methods=["GET"]),
            Route("/incidents/{id}", guarded(self.incident), methods=["GET"]),
            Route(
                "/incidents/{id}/log_entries", guarded(self.incident_log_entries), methods=["GET"]
            ),
            Route("/incidents/{id}/alerts", guarded(self.incident_alerts), methods=["GET"]),
            Route("/log_entries", guarded(self.log_entries), methods=["GET"]),
            Route("/log_entries/{id}", guarded(self.log_entry), methods=["GET"]),
            Route("/users", guarded(self.users), methods=["GET"]),
            Route("/users/{id}", guarded(self.user), methods=["GET"]),
            Route("/services", guarded(self.services), methods=["GET"]),
            Route("/services/{id}", guarded(self.service), methods=["GET"]),
            Route("/escalation_policies", guarded(self.policies), methods=["GET"]),
            Route("/escalation_policies/{id}", guarded(self.policy), methods=["GET"]),
            Route("/v2/enqueue", timed(self.enqueue), methods=["POST"]),
            Route("/v2/change/enqueue", timed(self.change_enqueue), methods=["POST"]),
        ]

    # --- plumbing ---------------------------------------------------------------------------------

    def _authenticated(self, handler: Any) -> Any:
        async def check(request: Request) -> Response:
            # A blank after `token=` is accepted: tap-pagerduty sends `Token token= …` and is used
            # against PagerDuty itself (bench/side_by_side.py runs it here)
            scheme, _, token = request.headers.get("authorization", "").partition("token=")
            if scheme != "Token " or token.strip() != catalog.PAGERDUTY_API_TOKEN:
                return PDError(401, "Authentication failed", 2006).response()
            try:
                response: Response = await handler(request)
            except PDError as error:
                return error.response()
            return response

        return check

    def renderer(self, request: Request) -> PDRenderer:
        name = request.query_params.get("time_zone")
        if name and not is_zone(name):
            raise invalid("Time zone is invalid.")
        utc = name in (None, "", "UTC", "Etc/UTC")  # UTC keeps PagerDuty's `Z` form
        return PDRenderer(self.world, str(request.base_url), None if utc else zone(name or "UTC"))

    def _window(self, request: Request, *, max_months: int | None) -> tuple[int | None, int | None]:
        """`since`/`until` as [since, until) in ms; None bounds mean open."""
        params = request.query_params
        tz = (
            zone(params["time_zone"])
            if params.get("time_zone") and is_zone(params["time_zone"])
            else None
        )
        now = int(time.time() * 1000)
        if params.get("date_range") == "all":
            return None, None
        try:
            since = (
                parse_pd_time(params["since"], tz or catalog_utc()) if params.get("since") else None
            )
            until = (
                parse_pd_time(params["until"], tz or catalog_utc()) if params.get("until") else None
            )
        except ValueError as exc:
            raise PDError(
                400, "Invalid time values in 'since' and/or 'until' parameters", 2004, [str(exc)]
            ) from exc
        if since is None and until is None:
            since, until = now - 30 * DAY_MS, now
        elif until is None and since is not None:
            until = add_months(since, 1)
        elif since is None and until is not None:
            since = add_months(until, -1)
        assert since is not None and until is not None
        if since > until:
            raise PDError(
                400, "Invalid Query Date Range", 2005, ["'since' must be before 'until'."]
            )
        if max_months is not None and until > add_months(since, max_months):
            raise invalid(
                f"The date range between 'since' and 'until' cannot exceed {max_months} months."
            )
        return since, until

    # --- incidents --------------------------------------------------------------------------------

    async def incidents(self, request: Request) -> Response:
        page = Page(request)
        since, until = self._window(request, max_months=6)
        params = request.query_params
        service_ids = params.getlist("service_ids[]")
        statuses = set(params.getlist("statuses[]"))
        urgencies = set(params.getlist("urgencies[]"))
        user_ids = set(params.getlist("user_ids[]"))
        incident_key = params.get("incident_key")
        descending = params.get("sort_by", "").endswith(":desc")
        render = self.renderer(request)
        with self.world.lock:
            world = self.world
            sources = (
                [world.service_index.get(s, []) for s in dict.fromkeys(service_ids)]
                if service_ids
                else [world.incident_index]
            )
            slices = []
            total = 0
            for keys in sources:
                low = bisect_left(keys, (since,)) if since is not None else 0
                high = bisect_left(keys, (until,)) if until is not None else len(keys)
                slices.append((keys, low, high))
                total += max(high - low, 0)
            stream = _merged(slices, descending)
            incidents = (world.incidents[ident] for _, ident in stream)
            if statuses or urgencies or incident_key or user_ids:
                matching = [
                    i
                    for i in incidents
                    if (not statuses or i.status() in statuses)
                    and (not urgencies or i.urgency in urgencies)
                    and (not incident_key or i.incident_key == incident_key)
                    and (not user_ids or bool(set(i.assignees()) & user_ids))
                ]
                total = len(matching)
                chosen = matching[page.offset : page.offset + page.limit]
            elif len(slices) == 1 and not descending:
                keys, low, high = slices[0]  # one sorted list: slice it directly, O(limit)
                start = low + page.offset
                chosen = [
                    world.incidents[i] for _, i in keys[start : min(start + page.limit, high)]
                ]
            else:
                chosen = list(islice(incidents, page.offset, page.offset + page.limit))
            items = [render.incident(i) for i in chosen]
        return json_response(page.body("incidents", items, total), media_type=PD_JSON)

    async def incident(self, request: Request) -> Response:
        render = self.renderer(request)
        with self.world.lock:
            incident = self._find_incident(request.path_params["id"])
            body = {"incident": render.incident(incident)}
        return json_response(body, media_type=PD_JSON)

    def _find_incident(self, ident: str) -> Incident:
        incident = self.world.incidents.get(ident)
        if incident is None and ident.isdigit():
            incident = next(
                (i for i in self.world.incidents.values() if i.number == int(ident)), None
            )
        if incident is None:
            raise PDError(404, "Not Found", 2100)
        return incident

    # --- log entries ------------------------------------------------------------------------------

    async def log_entries(self, request: Request) -> Response:
        return self._log_page(request, None)

    async def incident_alerts(self, request: Request) -> Response:
        """`listIncidentAlerts`: the world has no alerts, so an empty page (404 if unknown)."""
        with self.world.lock:
            self._find_incident(request.path_params["id"])  # 404 when unknown
        return json_response(Page(request).body("alerts", [], 0), media_type=PD_JSON)

    async def incident_log_entries(self, request: Request) -> Response:
        with self.world.lock:
            incident = self._find_incident(request.path_params["id"])
        return self._log_page(request, incident)

    def _log_page(self, request: Request, incident: Incident | None) -> Response:
        page = Page(request)
        params = request.query_params
        windowed = incident is None or bool(params.get("since") or params.get("until"))
        since, until = self._window(request, max_months=None) if windowed else (None, None)
        include = frozenset(params.getlist("include[]"))
        overview = params.get("is_overview", "false").lower() == "true"
        render = self.renderer(request)
        world = self.world
        with world.lock:
            keys = world.log_index
            low = bisect_left(keys, (since,)) if since is not None else 0
            high = bisect_left(keys, (until,)) if until is not None else len(keys)
            if incident is None and not overview:
                # newest first straight off the index: O(limit) whatever the offset
                total = max(high - low, 0)
                first = high - 1 - page.offset
                chosen = [
                    world.log_entries[keys[k][2]]
                    for k in range(first, max(first - page.limit, low - 1), -1)
                ]
            else:
                candidates: Iterator[LogEntry]
                if incident is not None:
                    candidates = (
                        e
                        for e in reversed(incident.log)
                        if (since is None or e.created >= since)
                        and (until is None or e.created < until)
                    )
                else:
                    candidates = (
                        world.log_entries[keys[k][2]] for k in range(high - 1, low - 1, -1)
                    )
                entries = [e for e in candidates if not overview or e.type in OVERVIEW]
                total = len(entries)
                chosen = entries[page.offset : page.offset + page.limit]
            items = [render.log_entry(e, include) for e in chosen]
        return json_response(page.body("log_entries", items, total), media_type=PD_JSON)

    async def log_entry(self, request: Request) -> Response:
        render = self.renderer(request)
        include = frozenset(request.query_params.getlist("include[]"))
        with self.world.lock:
            entry = self.world.log_entries.get(request.path_params["id"])
            if entry is None:
                raise PDError(404, "Not Found", 2100)
            body = {"log_entry": render.log_entry(entry, include)}
        return json_response(body, media_type=PD_JSON)

    # --- directory --------------------------------------------------------------------------------

    def _listing(self, request: Request, key: str, rows: list[Any], render: Any) -> Response:
        page = Page(request)
        query = (request.query_params.get("query") or "").lower()
        if query:
            rows = [
                r
                for r in rows
                if query in r.name.lower() or query in getattr(r, "email", "").lower()
            ]
        items = [render(r) for r in rows[page.offset : page.offset + page.limit]]
        return json_response(page.body(key, items, len(rows)), media_type=PD_JSON)

    async def users(self, request: Request) -> Response:
        render = self.renderer(request)
        with self.world.lock:
            rows = sorted(self.world.pd_users.values(), key=lambda u: u.name)
            return self._listing(request, "users", rows, render.user)

    async def user(self, request: Request) -> Response:
        user = self.world.pd_users.get(request.path_params["id"])
        if user is None:
            raise PDError(404, "Not Found", 2100)
        return json_response({"user": self.renderer(request).user(user)}, media_type=PD_JSON)

    async def services(self, request: Request) -> Response:
        render = self.renderer(request)
        with self.world.lock:
            rows = sorted(self.world.services.values(), key=lambda s: s.name)
            return self._listing(request, "services", rows, render.service)

    async def service(self, request: Request) -> Response:
        service = self.world.services.get(request.path_params["id"])
        if service is None:
            raise PDError(404, "Not Found", 2100)
        with self.world.lock:
            return json_response(
                {"service": self.renderer(request).service(service)}, media_type=PD_JSON
            )

    async def policies(self, request: Request) -> Response:
        render = self.renderer(request)
        with self.world.lock:
            rows = sorted(self.world.policies.values(), key=lambda p: p.name)
            user_ids = set(request.query_params.getlist("user_ids[]"))
            if user_ids:
                rows = [p for p in rows if any(user_ids & set(t) for _, t in p.rules)]
            return self._listing(request, "escalation_policies", rows, render.policy)

    async def policy(self, request: Request) -> Response:
        policy = self.world.policies.get(request.path_params["id"])
        if policy is None:
            raise PDError(404, "Not Found", 2100)
        return json_response(
            {"escalation_policy": self.renderer(request).policy(policy)}, media_type=PD_JSON
        )

    # --- Events API v2 ----------------------------------------------------------------------------

    async def enqueue(self, request: Request) -> Response:
        payload, problems = await self._event(request)
        if payload is not None and not problems:
            action = payload.get("event_action")
            if action not in EVENT_ACTIONS:
                problems.append(
                    "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)"
                )
            elif action == "trigger":
                body = payload.get("payload")
                if not isinstance(body, dict):
                    problems.append("'payload' is missing or not an object")
                else:
                    for name in ("summary", "source"):
                        if not isinstance(body.get(name), str) or not body[name].strip():
                            problems.append(f"'payload.{name}' is missing or blank")
                    if body.get("severity") not in SEVERITIES:
                        problems.append(
                            "'payload.severity' is invalid (must be one of: critical, error, "
                            "warning, info)"
                        )
            elif not isinstance(payload.get("dedup_key"), str) or not payload["dedup_key"]:
                problems.append("'dedup_key' is missing or blank")
        if payload is None or problems:
            return _event_error(problems)
        dedup_key = payload.get("dedup_key") or secrets.token_hex(16)
        self.events.append(payload)
        body = {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        return json_response(body, 202, media_type="application/json")

    async def change_enqueue(self, request: Request) -> Response:
        payload, problems = await self._event(request)
        if payload is not None and not problems:
            body = payload.get("payload")
            if not isinstance(body, dict) or not body.get("summary"):
                problems.append("'payload.summary' is missing or blank")
        if payload is None or problems:
            return _event_error(problems)
        self.events.append(payload)
        return json_response(
            {"status": "success", "message": "Change event processed"},
            202,
            media_type="application/json",
        )

    async def _event(self, request: Request) -> tuple[dict[str, Any] | None, list[str]]:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return None, ["Event object is not valid JSON"]
        if not isinstance(payload, dict):
            return None, ["Event object must be a JSON object"]
        key = payload.get("routing_key")
        if not isinstance(key, str) or len(key) != 32:
            return payload, ["Length of 'routing_key' is incorrect (should be 32 characters)"]
        return payload, []


def _event_error(problems: list[str]) -> Response:
    body = {"status": "invalid event", "message": "Event object is invalid", "errors": problems}
    return json_response(body, 400, media_type="application/json")


def _merged(
    slices: list[tuple[list[tuple[int, str]], int, int]], descending: bool
) -> Iterator[tuple[int, str]]:
    streams = [_walk(keys, low, high, descending) for keys, low, high in slices]
    if len(streams) == 1:
        return streams[0]
    return merge(*streams, reverse=descending)


def _walk(
    keys: list[tuple[int, str]], low: int, high: int, descending: bool
) -> Iterator[tuple[int, str]]:
    for position in range(high - 1, low - 1, -1) if descending else range(low, high):
        yield keys[position]


def catalog_utc() -> tzinfo:
    return zone("UTC")
