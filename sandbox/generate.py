"""Seeded generators for the sandbox's worlds.

`demo_world(seed)` builds Acme from `examples/registry.yaml`: eight ISO weeks (2026-W40 to
2026-W47 in Europe/Berlin, 2026-09-28 to 2026-11-22) of Jira and PagerDuty history for the three
workflows, with the planted cases listed in `docs/sandbox.md` (also on `World.planted`). The dates
are fixed so the demo reads the same whatever today is; only volumes and minutes vary with the
seed. `scale_world(seed, issues, incidents)` builds a large, plausible world for benchmarks.
`mutate(world, n, ...)` appends new changes after the latest timestamp for incremental syncs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from . import catalog
from .data import (
    EscalationPolicy,
    History,
    Incident,
    Issue,
    JiraUser,
    LogEntry,
    PDUser,
    PlantedCase,
    Project,
    Ref,
    Service,
    World,
)
from .timefmt import DAY_MS, HOUR_MS, MINUTE_MS, local_ms
from .writers import JiraWriter, PDWriter, finalize

REGISTRY_PATH = Path(__file__).resolve().parent.parent / "examples" / "registry.yaml"
DEMO_START = date(2026, 9, 28)  # Monday of ISO week 2026-W40
DEMO_WEEKS = 8
BREACH_WEEK = 6  # 2026-W46, 2026-11-09 .. 2026-11-15

PROJECT_NAMES = {"SUP": "Support", "REN": "Renewals", "ONB": "Onboarding", "RISK": "Risk reviews"}

SUPPORT_SUMMARIES = (
    "Customer cannot export invoices to CSV",
    "AI draft reply cites the wrong refund policy",
    "Login loop after password reset",
    "Webhook deliveries delayed for EU tenants",
    "Chat assistant suggests deprecated API",
    "Bulk user import fails on accented names",
    "Billing page shows stale plan",
    "SSO metadata upload rejected",
    "Report scheduler skips the first Monday",
    "Mobile app crashes on attachment preview",
    "AI summary misses the customer's last message",
    "Search returns archived tickets",
)
RENEWAL_SUMMARIES = (
    "Usage dropped 40% over the quarter",
    "Champion left the account",
    "Competitor trial detected",
    "Invoice overdue 30 days",
    "Seats shrinking at renewal",
    "Support sentiment trending negative",
)
ONBOARDING_SUMMARIES = (
    "Trial workspace has no data source connected",
    "SAML setup stalled",
    "Invite flow not completed",
    "Sample dashboard never opened",
    "Import job failing on large CSV",
    "Admin asked for a guided setup call",
)
INCIDENT_TITLES = (
    "Ticket ingestion lag above 10 minutes",
    "AI reply service returning 5xx",
    "Email channel bouncing",
    "Queue depth alarm on support-router",
    "Knowledge base sync failed",
    "Trial provisioning job stuck",
    "Tenant bootstrap timeouts",
    "CI runners unavailable",
)


def load_registry(path: Path | None = None) -> dict[str, Any]:
    with (path or REGISTRY_PATH).open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict):
        raise ValueError(f"{path or REGISTRY_PATH}: not a registry document")
    return document


# --- shared reference data ------------------------------------------------------------------------


def _base_world(mode: str, seed: int) -> World:
    world = World(jira_time_zone=catalog.API_ACCOUNT_TZ, mode=mode, seed=seed)
    for status in catalog.status_objects():
        world.add_status(status)
    world.users[catalog.API_ACCOUNT_ID] = JiraUser(
        account_id=catalog.API_ACCOUNT_ID,
        display_name=catalog.API_ACCOUNT_NAME,
        email=catalog.JIRA_EMAIL,
        time_zone=catalog.API_ACCOUNT_TZ,
    )
    world.users[catalog.JIRA_AUTOMATION_ID] = JiraUser(
        account_id=catalog.JIRA_AUTOMATION_ID,
        display_name="Automation for Jira",
        email=None,
        account_type="app",
        time_zone="UTC",
    )
    return world


@dataclass
class Registry:
    """The parts of the registry the demo needs, as plain lookups."""

    document: dict[str, Any]
    timezone: str
    jira: dict[str, str] = field(default_factory=dict)  # person -> accountId
    pd: dict[str, str] = field(default_factory=dict)  # person -> PagerDuty user id
    names: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, document: dict[str, Any]) -> Registry:
        registry = cls(document=document, timezone=str(document.get("timezone", "UTC")))
        for person, spec in (document.get("people") or {}).items():
            registry.names[person] = str(spec.get("name", person))
            registry.emails[person] = str(spec.get("email", f"{person}@acme.example"))
            if spec.get("jira"):
                registry.jira[person] = str(spec["jira"])
            if spec.get("pagerduty"):
                registry.pd[person] = str(spec["pagerduty"])
        return registry

    def workflow(self, name: str) -> dict[str, Any]:
        workflows = self.document.get("workflows") or {}
        if name not in workflows:
            raise ValueError(f"the demo world needs workflow {name!r} in the registry")
        spec = workflows[name]
        assert isinstance(spec, dict)
        return spec

    def automation_pd(self) -> dict[str, str]:
        return {
            str(a["id"]): str(a["pagerduty"])
            for a in self.document.get("automation") or []
            if a.get("pagerduty")
        }


# --- the demo world -------------------------------------------------------------------------------


class _Demo:
    def __init__(self, seed: int, registry_path: Path | None) -> None:
        self.rng = random.Random(seed)
        self.reg = Registry.read(load_registry(registry_path))
        self.tz = self.reg.timezone
        self.world = _base_world("demo", seed)
        end = self.moment(DEMO_WEEKS, 0, 0)
        self.jira = JiraWriter(self.world, end_ms=end)
        self.pd = PDWriter(self.world, end_ms=end)
        self.planted: list[
            tuple[str, str, Issue | Incident, History | LogEntry | None, str, str]
        ] = []

    # time -----------------------------------------------------------------------------------------

    def moment(self, week: int, day: int, hour: int, minute: int = 0) -> int:
        on = DEMO_START + timedelta(days=7 * week + day)
        return local_ms(self.tz, on.year, on.month, on.day, hour, minute)

    def on(self, year: int, month: int, day: int, hour: int, minute: int = 0) -> int:
        return local_ms(self.tz, year, month, day, hour, minute)

    def work_time(self, week: int, day: int) -> int:
        return self.moment(week, day, self.rng.randint(8, 16), self.rng.randint(0, 59))

    def minutes(self, low: int, high: int) -> int:
        return self.rng.randint(low, high) * MINUTE_MS

    # people ---------------------------------------------------------------------------------------

    def j(self, person: str) -> str:
        return self.reg.jira[person]

    def p(self, person: str) -> str:
        return self.reg.pd[person]

    def user_ref(self, person: str) -> Ref:
        return ("user_reference", self.p(person))

    # setup ----------------------------------------------------------------------------------------

    def setup(self) -> None:
        world, reg = self.world, self.reg
        for person, account in reg.jira.items():
            world.users[account] = JiraUser(
                account_id=account,
                display_name=reg.names[person],
                email=reg.emails[person],
                time_zone=self.tz,
            )
        world.users[catalog.UNMAPPED_JIRA_ID] = JiraUser(
            account_id=catalog.UNMAPPED_JIRA_ID,
            display_name=catalog.UNMAPPED_JIRA_NAME,
            email="casey.morgan@contractor.example",
            time_zone="Europe/London",
        )
        workflows = {"SUP": "support", "REN": "renewals", "ONB": "onboarding"}
        for index, (key, name) in enumerate(workflows.items()):
            stages = reg.workflow(name).get("stages") or []
            path = tuple(str(s) for stage in stages for s in stage.get("jira_statuses", [])[:1])
            for stage in stages:
                for status in stage.get("jira_statuses", []):
                    if status not in world.statuses:
                        raise ValueError(f"status {status!r} missing from sandbox.catalog.STATUSES")
            world.add_project(Project(str(10000 + index), key, PROJECT_NAMES[key], path))
        world.add_project(
            Project("10003", "RISK", PROJECT_NAMES["RISK"], ("To Do", "In Progress", "Done"))
        )
        self._pagerduty()

    def _pagerduty(self) -> None:
        world, reg = self.world, self.reg
        for person, pd in reg.pd.items():
            world.pd_users[pd] = PDUser(
                pd, reg.names[person], reg.emails[person], time_zone=self.tz
            )
        for bot, pd in reg.automation_pd().items():
            name = bot.replace("-", " ").title()
            world.pd_users[pd] = PDUser(pd, name, f"{bot}@acme.example", role="limited_user")
        world.pd_users[catalog.UNMAPPED_PD_ID] = PDUser(
            catalog.UNMAPPED_PD_ID,
            "Robin Ellis",
            "robin.ellis@contractor.example",
            role="limited_user",
        )
        oncall = tuple(self.p(m) for m in ("sam", "alex", "kim"))
        policies = [
            EscalationPolicy(
                "PESC001", "Support Escalation", ((30, oncall), (30, (self.p("priya"),)))
            ),
            EscalationPolicy(
                "PESC002",
                "Onboarding Escalation",
                ((30, (self.p("grace"),)), (30, (self.p("dana"),))),
            ),
            EscalationPolicy(
                "PESC099",
                "Legacy Support Escalation",
                ((30, (self.p("kim"),)), (30, (self.p("alex"),))),
            ),
            EscalationPolicy(
                "PESC003",
                "Internal Tools Escalation",
                ((15, (catalog.UNMAPPED_PD_ID,)), (30, (self.p("jordan"),))),
            ),
        ]
        for policy in policies:
            world.policies[policy.id] = policy
        created = self.on(2025, 3, 4, 10)
        services = [
            Service(
                "PSUP001",
                "Support Desk",
                "PESC001",
                created,
                "Customer support queue and AI reply tooling",
            ),
            Service(
                "PONB001",
                "Onboarding",
                "PESC002",
                created,
                "Trial provisioning and onboarding flows",
            ),
            Service(
                "PINF001",
                "Internal Tools",
                "PESC003",
                created,
                "CI and internal tooling (no workflow tracks it)",
            ),
        ]
        for service in services:
            world.services[service.id] = service

    # planted bookkeeping --------------------------------------------------------------------------

    def plant(
        self,
        name: str,
        item: Issue | Incident,
        event: History | LogEntry | None,
        expected: str,
        description: str,
    ) -> None:
        if event is None:
            raise AssertionError(f"planted case {name} lost its event")
        source = "jira" if isinstance(item, Issue) else "pagerduty"
        self.planted.append((name, source, item, event, expected, description))

    # Jira flows -----------------------------------------------------------------------------------

    def support_item(
        self,
        week: int,
        created: int,
        *,
        escalate: bool = False,
        await_hours: int = 0,
        reopen: bool = False,
        delay: bool = False,
        labels: tuple[str, ...] = ("ai-assisted",),
    ) -> Issue:
        rng, jw = self.rng, self.jira
        issue = jw.create(
            "SUP",
            created,
            rng.choice(SUPPORT_SUMMARIES),
            reporter=self.j(rng.choice(("alex", "maria", "dev"))),
            labels=labels + (("billing",) if rng.random() < 0.2 else ()),
            issuetype=rng.choice(("Task", "Bug", "Bug")),
            priority=rng.choice(("Medium", "Medium", "High", "Low")),
        )
        t = created + self.minutes(10, 90)
        jw.change(issue, t, catalog.JIRA_AUTOMATION_ID, status="Triage", assignee=self.j("alex"))
        t += self.minutes(30, 240)
        owner = self.j(rng.choice(("sam", "kim", "alex")))
        jw.change(
            issue,
            t,
            self.j("alex"),
            status="In Progress",
            assignee=owner,
            assignee_first=rng.random() < 0.3,
        )
        if rng.random() < 0.2:
            t += self.minutes(20, 120)
            jw.change(issue, t, owner, priority="High")
        if await_hours:
            t += self.minutes(60, 180)
            jw.change(issue, t, owner, status="Awaiting approval")
            t += await_hours * HOUR_MS + self.minutes(0, 59)
            jw.change(issue, t, self.j("maria"), status="In Progress")
        finisher = owner
        if escalate:
            t += self.minutes(60, 240)
            jw.change(issue, t, owner, status="Escalated", assignee=self.j("priya"))
            t += self.minutes(120, 480)
            if week == BREACH_WEEK:
                jw.change(issue, t, self.j("priya"), status="In Progress", assignee=owner)
                t += self.minutes(60, 240)
            else:
                finisher = self.j("priya")
        done = t + self.minutes(60, 1200)
        if delay:
            done = self.moment(week + 1, rng.randint(0, 1), rng.randint(9, 16))
        else:
            done = min(done, max(t + self.minutes(10, 30), self.moment(week, 4, 19)))
        jw.change(issue, done, finisher, status="Done")
        if reopen:
            again = done + self.minutes(120, 600)
            jw.change(issue, again, finisher, status="In Progress")
            jw.change(issue, again + self.minutes(60, 300), finisher, status="Done")
        if rng.random() < 0.3:
            jw.change(
                issue, issue.updated + 2 * DAY_MS, catalog.JIRA_AUTOMATION_ID, status="Closed"
            )
        return issue

    def support_week(self, week: int) -> None:
        rng = self.rng
        breach = week == BREACH_WEEK
        count = 17 if breach else rng.randint(25, 31)
        if breach:
            days = [rng.randint(0, 1) for _ in range(10)] + [
                rng.randint(1, 3) for _ in range(count - 10)
            ]
        else:
            days = [rng.choice((0, 0, 1, 1, 2, 2, 3, 3, 4)) for _ in range(count)]
        created = sorted(self.work_time(week, d) for d in days)
        if breach:
            awaiting = set(range(8))
            escalate = set(range(8, 12))
            reopen = {0, 2, 4, 9, 10}
            delay = set(range(count - 5, count))
        else:
            picks = rng.sample(range(count), 5)
            escalate, awaiting, reopen, delay = {picks[0]}, set(picks[1:4]), {picks[4]}, set()
        for index, moment in enumerate(created):
            hours = rng.randint(30, 52) if breach else rng.randint(2, 16)
            self.support_item(
                week,
                moment,
                escalate=index in escalate,
                await_hours=hours if index in awaiting else 0,
                reopen=index in reopen,
                delay=index in delay,
            )
        for _ in range(4):  # SUP issues outside the AI-assisted workflow (no `ai-assisted` label)
            self.support_item(week, self.work_time(week, rng.randint(0, 4)), labels=())

    def renewal_week(self, week: int) -> list[Issue]:
        rng, jw = self.rng, self.jira
        items = []
        for _ in range(rng.randint(20, 28)):
            created = self.work_time(week, rng.choice((0, 0, 1, 1, 2, 2, 3)))
            issue = jw.create(
                "REN",
                created,
                rng.choice(RENEWAL_SUMMARIES),
                reporter=catalog.JIRA_AUTOMATION_ID,
                assignee=self.j("nina"),
                labels=("renewal",) + (("enterprise",) if rng.random() < 0.3 else ()),
            )
            t = created + self.minutes(60, 360)
            jw.change(issue, t, self.j("nina"), status="Outreach", assignee=self.j("ravi"))
            if rng.random() < 0.4:
                t += self.minutes(120, 600)
                jw.change(issue, t, self.j("ravi"), status="In Progress")
            if rng.random() < 0.05:
                t += self.minutes(60, 300)
                jw.change(issue, t, self.j("tomas"), assignee=self.j("nina"))
            t += self.minutes(180, 960)
            jw.change(issue, t, self.j("ravi"), status="Offer review", assignee=self.j("tomas"))
            t += self.minutes(240, 2400)
            outcome = "Saved" if rng.random() < 0.8 else "Churned"
            jw.change(
                issue,
                t,
                self.j("tomas"),
                status=outcome,
                resolution="Done" if outcome == "Saved" else "Won't Do",
            )
            items.append(issue)
        return items

    def onboarding_week(self, week: int) -> None:
        rng, jw = self.rng, self.jira
        count = rng.randint(20, 28)
        blocked = rng.randrange(count)
        for index in range(count):
            created = self.work_time(week, rng.choice((0, 0, 1, 1, 2, 2, 3, 4)))
            issue = jw.create(
                "ONB",
                created,
                rng.choice(ONBOARDING_SUMMARIES),
                reporter=catalog.JIRA_AUTOMATION_ID,
                assignee=self.j("hugo"),
                labels=("trial",),
                issuetype="Story" if rng.random() < 0.3 else "Task",
            )
            t = created + self.minutes(60, 480)
            jw.change(issue, t, self.j("hugo"), status="Setup", assignee=self.j("ines"))
            t += self.minutes(120, 1440)
            jw.change(issue, t, self.j("ines"), status="In Progress")
            if index == blocked:
                t += self.minutes(120, 480)
                jw.change(issue, t, self.j("ines"), status="Blocked", assignee=self.j("grace"))
                t += self.minutes(240, 1440)
                jw.change(issue, t, self.j("hugo"), status="In Progress", assignee=self.j("ines"))
            t += self.minutes(240, 2880)
            outcome = "Activated" if rng.random() < 0.85 else "Won't do"
            jw.change(
                issue,
                t,
                self.j("ines"),
                status=outcome,
                resolution="Done" if outcome == "Activated" else "Won't Do",
            )

    # PagerDuty flows ------------------------------------------------------------------------------

    def incident_flow(
        self,
        service: str,
        created: int,
        assignee: str,
        *,
        policy: str | None = None,
        timeout_to: str | None = None,
    ) -> Incident:
        rng, pw = self.rng, self.pd
        incident = pw.incident(
            service,
            created,
            rng.choice(INCIDENT_TITLES),
            urgency="high" if rng.random() < 0.7 else "low",
            policy_id=policy,
        )
        service_ref: Ref = ("service_reference", service)
        pw.log(incident, "trigger", created, service_ref, "api", note="Triggered through the API")
        pw.log(incident, "assign", created + 1000, service_ref, "auto", (assignee,))
        responder = assignee
        if timeout_to is not None:
            # A timeout escalation's agent is the service (channel `timeout`): the published
            # AgentReference is a user, service or integration reference, never a policy.
            escalated = created + 30 * MINUTE_MS
            pw.log(incident, "escalate", escalated, service_ref, "timeout", (timeout_to,))
            responder = timeout_to
            ack = created + self.minutes(31, 40)
        else:
            ack = created + self.minutes(2, 12)
        pw.log(incident, "acknowledge", ack, ("user_reference", responder), "website")
        pw.log(
            incident,
            "resolve",
            ack + self.minutes(20, 300),
            ("user_reference", responder),
            "website",
        )
        return incident

    def incident_week(self, week: int) -> None:
        rng = self.rng
        oncall = self.p(("sam", "alex", "kim")[week % 3])
        planted_support = {1, 2, 3, 4, 6}  # weeks whose planted cases add support incidents
        count = 4 if week == BREACH_WEEK else (1 if week in planted_support else 2)
        for index in range(count):
            timeout = self.p("priya") if week in (1, 3, 5) and index == 0 else None
            by_service = week == 5 and index == 0
            incident = self.incident_flow(
                "PSUP001", self.work_time(week, rng.randint(0, 4)), oncall, timeout_to=timeout,
            )
            if by_service:
                escalation = next(e for e in incident.log if e.type == "escalate_log_entry")
                self.plant(
                    "pd-service-timeout",
                    incident,
                    escalation,
                    "authorized: automation (a timeout escalation by the service; PESC001 is "
                    "declared)",
                    "The service itself escalates to priya after 30 minutes (agent "
                    "service_reference, channel timeout).",
                )
        timeout = self.p("dana") if week == 2 else None
        self.incident_flow(
            "PONB001", self.work_time(week, rng.randint(0, 4)), self.p("grace"), timeout_to=timeout
        )
        self.incident_flow(
            "PINF001", self.work_time(week, rng.randint(0, 6)), catalog.UNMAPPED_PD_ID
        )

    # planted cases --------------------------------------------------------------------------------

    def _support_in_progress(
        self, created: int, owner: str, *, labels: tuple[str, ...] = ("ai-assisted",)
    ) -> Issue:
        """A SUP issue triaged by automation and moved to In Progress with `owner`."""
        jw = self.jira
        issue = jw.create(
            "SUP",
            created,
            self.rng.choice(SUPPORT_SUMMARIES),
            reporter=self.j("maria"),
            labels=labels,
        )
        jw.change(
            issue,
            created + 20 * MINUTE_MS,
            catalog.JIRA_AUTOMATION_ID,
            status="Triage",
            assignee=self.j("alex"),
        )
        jw.change(
            issue,
            created + 60 * MINUTE_MS,
            self.j("alex"),
            status="In Progress",
            assignee=self.j(owner),
        )
        return issue

    def planted_jira(self) -> None:
        jw, j, on = self.jira, self.j, self.on
        auto = catalog.JIRA_AUTOMATION_ID

        issue = jw.create(
            "SUP",
            on(2026, 9, 28, 9, 12),
            "Refund macro answers in the wrong language",
            reporter=j("maria"),
            labels=("ai-assisted",),
        )
        event = jw.change(issue, on(2026, 9, 28, 9, 40), auto, status="Triage", assignee=j("alex"))
        self.plant(
            "automation-reassignment",
            issue,
            event,
            "authorized: automation",
            "jira-automation triages the new ticket and assigns it to alex (intake owner).",
        )
        jw.change(issue, on(2026, 9, 28, 11, 0), j("alex"), status="In Progress", assignee=j("sam"))
        jw.change(issue, on(2026, 9, 29, 15, 0), j("sam"), status="Done")

        issue = self._support_in_progress(on(2026, 10, 7, 9, 0), "kim")
        event = jw.change(issue, on(2026, 10, 7, 11, 0), j("kim"), status="Awaiting approval")
        self.plant(
            "awaiting-approval",
            issue,
            event,
            "decision latency ~6h (policy-exception)",
            "kim parks the ticket in 'Awaiting approval'; maria releases it six hours later.",
        )
        jw.change(issue, on(2026, 10, 7, 17, 0), j("maria"), status="In Progress")
        jw.change(issue, on(2026, 10, 8, 10, 0), j("kim"), status="Done")

        issue = self._support_in_progress(on(2026, 10, 14, 9, 30), "alex")
        history = jw.append(
            issue,
            on(2026, 10, 14, 13, 15),
            j("dev"),
            (("assignee", j("alex"), j("sam")), ("assignee", j("sam"), j("kim"))),
        )
        issue.assignee = j("kim")
        self.plant(
            "two-assignee-items",
            issue,
            history,
            "authorized: approver (both items)",
            "dev's single history holds two assignee items (alex->sam, sam->kim); key items by "
            "(history id, index).",
        )
        jw.change(issue, on(2026, 10, 15, 12, 0), j("kim"), status="Done")

        issue = self._support_in_progress(on(2026, 10, 19, 9, 0), "kim")
        jw.change(issue, on(2026, 10, 20, 16, 0), j("kim"), status="Done")
        event = jw.change(issue, on(2026, 10, 21, 10, 0), j("kim"), status="In Progress")
        self.plant(
            "reopened",
            issue,
            event,
            "rework: reopen (Done -> In Progress)",
            "Resolved on Tuesday, reopened by kim on Wednesday, resolved again the same day.",
        )
        jw.change(issue, on(2026, 10, 21, 15, 0), j("kim"), status="Done")

        issue = self._support_in_progress(on(2026, 10, 26, 9, 0), "sam")
        events = [
            jw.change(issue, on(2026, 10, 26, 11, 0), j("dev"), assignee=j("kim")),
            jw.change(issue, on(2026, 10, 27, 10, 0), j("dev"), assignee=j("alex")),
            jw.change(issue, on(2026, 10, 28, 16, 0), j("dev"), assignee=j("kim")),
            jw.change(issue, on(2026, 10, 29, 9, 30), j("dev"), assignee=j("sam")),
        ]
        self.plant(
            "ownership-churn",
            issue,
            events[-1],
            "ownership_churn (4 changes in 7 days), each authorized: approver",
            "dev reassigns the ticket sam->kim->alex->kim->sam between Monday and Thursday.",
        )
        jw.change(issue, on(2026, 10, 30, 11, 0), j("sam"), status="Done")

        issue = self._support_in_progress(on(2026, 10, 27, 9, 0), "sam", labels=("billing",))
        event = jw.change(issue, on(2026, 10, 27, 14, 0), j("nina"), assignee=j("nina"))
        self.plant(
            "not-ai-assisted",
            issue,
            event,
            "not judged: excluded by the registry jql (labels = ai-assisted)",
            "A SUP ticket without the ai-assisted label; nina (no authority) takes it. Counts "
            "only if the jql is ignored.",
        )
        jw.change(issue, on(2026, 10, 28, 12, 0), j("nina"), status="Done")

        issue = self._support_in_progress(on(2026, 11, 2, 9, 0), "kim")
        event = jw.change(issue, on(2026, 11, 2, 11, 0), j("dev"), assignee=None)
        self.plant(
            "unowned-item",
            issue,
            event,
            "authorized: approver (unassignment); unowned_item (46h without owner)",
            "dev unassigns an In Progress ticket; alex gives it back to kim two days later.",
        )
        jw.change(issue, on(2026, 11, 4, 9, 0), j("alex"), assignee=j("kim"))
        jw.change(issue, on(2026, 11, 4, 15, 0), j("kim"), status="Done")

        issue = self._support_in_progress(on(2026, 11, 3, 9, 5), "sam")
        event = jw.change(issue, on(2026, 11, 3, 13, 20), j("sam"), assignee=j("kim"))
        self.plant(
            "declared-path",
            issue,
            event,
            "authorized: declared-path",
            "sam (support-oncall, executes) hands a resolution-stage ticket to kim, an "
            "eligible owner.",
        )
        jw.change(issue, on(2026, 11, 4, 15, 0), j("kim"), status="Done")

        issue = self._support_in_progress(on(2026, 11, 5, 9, 0), "alex")
        event = jw.change(issue, on(2026, 11, 5, 10, 30), j("jordan"), assignee=j("sam"))
        self.plant(
            "delegation-inside",
            issue,
            event,
            "authorized: delegation",
            "jordan reassigns on 2026-11-05, inside priya's delegation (2026-11-02..2026-11-13).",
        )
        jw.change(issue, on(2026, 11, 6, 12, 0), j("sam"), status="Done")

        issue = self._support_in_progress(on(2026, 11, 10, 8, 40), "sam")
        event = jw.change(issue, on(2026, 11, 10, 11, 20), j("sam"), assignee=j("nina"))
        self.plant(
            "not-eligible",
            issue,
            event,
            "unauthorized: new owner 'nina' not eligible for stage 'resolution'",
            "sam holds executes but hands the ticket to nina, who is not in support-oncall.",
        )
        jw.change(issue, on(2026, 11, 10, 15, 30), j("dev"), assignee=j("sam"))
        jw.change(issue, on(2026, 11, 11, 12, 0), j("sam"), status="Done")

        issue = self._support_in_progress(on(2026, 11, 12, 9, 0), "kim")
        event = jw.change(issue, on(2026, 11, 12, 14, 10), j("lee"), assignee=j("alex"))
        self.plant(
            "no-authority",
            issue,
            event,
            "unauthorized: lee holds no right for reassignment",
            "lee (risk owner) reassigns a ticket he has no decision right over.",
        )
        jw.change(issue, on(2026, 11, 16, 11, 0), j("alex"), status="Done")

        issue = self._support_in_progress(on(2026, 11, 13, 15, 0), "alex")
        event = jw.change(issue, on(2026, 11, 13, 23, 10), j("jordan"), assignee=j("kim"))
        self.plant(
            "delegation-last-day",
            issue,
            event,
            "authorized: delegation (last day, 23:10 Europe/Berlin)",
            "jordan reassigns late on 2026-11-13, the delegation's last (inclusive) day.",
        )
        jw.change(issue, on(2026, 11, 16, 10, 0), j("kim"), status="Done")

        issue = self._support_in_progress(on(2026, 11, 13, 16, 0), "sam")
        event = jw.change(issue, on(2026, 11, 14, 0, 20), j("jordan"), assignee=j("kim"))
        self.plant(
            "delegation-expired",
            issue,
            event,
            "unauthorized: delegation ended 2026-11-13",
            "jordan reassigns at 00:20 on 2026-11-14 Europe/Berlin, still 2026-11-13 in UTC: "
            "outside the delegation.",
        )
        jw.change(issue, on(2026, 11, 17, 10, 0), j("kim"), status="Done")

        issue = jw.create(
            "REN",
            on(2026, 10, 5, 9, 0),
            "Champion left the account",
            reporter=catalog.JIRA_AUTOMATION_ID,
            assignee=j("nina"),
            labels=("renewal", "enterprise"),
        )
        jw.change(issue, on(2026, 10, 5, 10, 0), j("nina"), status="Outreach", assignee=j("ravi"))
        at = on(2026, 10, 5, 14, 0)
        for bounce in range(24):  # ravi toggles between the two outreach statuses for weeks
            jw.change(issue, at, j("ravi"), status="In Progress" if bounce % 2 == 0 else "Outreach")
            at += 17 * HOUR_MS
        event = jw.change(issue, at, j("ravi"), status="Offer review", assignee=j("tomas"))
        self.plant(
            "long-history",
            issue,
            event,
            "authorized: declared-path; changelog longer than the 20 embedded",
            "26 histories: search with expand=changelog returns 20 with total 26; page the rest.",
        )
        jw.change(issue, at + DAY_MS, j("tomas"), status="Saved")

        renewals = [i for i in self.jira.issues if i.project == "REN"]
        self._unmapped_actor(renewals)

    def _unmapped_actor(self, renewals: list[Issue]) -> None:
        jw, j, on = self.jira, self.j, self.on
        issue = jw.create(
            "REN",
            on(2026, 10, 21, 9, 0),
            "Usage dropped 40% over the quarter",
            reporter=catalog.JIRA_AUTOMATION_ID,
            assignee=j("nina"),
            labels=("renewal",),
        )
        jw.change(issue, on(2026, 10, 21, 10, 0), j("nina"), status="Outreach", assignee=j("ravi"))
        event = jw.change(
            issue, on(2026, 10, 21, 11, 45), catalog.UNMAPPED_JIRA_ID, assignee=j("nina")
        )
        self.plant(
            "unmapped-actor",
            issue,
            event,
            f"unauthorized: unknown actor jira:{catalog.UNMAPPED_JIRA_ID}",
            "Casey Morgan (a contractor account absent from the registry) reassigns a renewal "
            "ticket.",
        )
        jw.change(
            issue, on(2026, 10, 22, 10, 0), j("nina"), status="Offer review", assignee=j("tomas")
        )
        jw.change(issue, on(2026, 10, 23, 15, 0), j("tomas"), status="Saved")
        # Casey also edits labels on other renewal tickets (not ownership changes): an actor seen
        # often but unmapped, for `registry_gap`.
        edited = 0
        for candidate in renewals:
            if edited == 5:
                break
            first, second = (
                candidate.histories[0],
                candidate.histories[1] if len(candidate.histories) > 1 else None,
            )
            at = first.created + 10 * MINUTE_MS
            if second is None or second.created - at < 20 * MINUTE_MS:
                continue
            label = "needs-exec-sponsor"
            candidate.histories.insert(
                1, History(0, catalog.UNMAPPED_JIRA_ID, at, (("labels", None, label),))
            )
            candidate.labels = (*candidate.labels, label)
            edited += 1

    def planted_pagerduty(self) -> None:
        pw, p, on = self.pd, self.p, self.on
        svc: Ref = ("service_reference", "PSUP001")

        incident = self.pd.incident(
            "PSUP001", on(2026, 10, 6, 10, 0), "AI reply service returning 5xx"
        )
        self.routed_by(incident, catalog.integration_ref("PEVT001"), p("alex"),
                       "pd-events-api-v2-assign")
        pw.log(incident, "acknowledge", on(2026, 10, 6, 10, 4), self.user_ref("alex"), "website")
        event = pw.log(
            incident,
            "delegate",
            on(2026, 10, 6, 10, 20),
            self.user_ref("alex"),
            "website",
            (p("priya"),),
        )
        self.plant(
            "pd-delegate",
            incident,
            event,
            "authorized: declared-path (priya owns the exception stage)",
            "alex (support-oncall, executes) delegates the incident to priya.",
        )
        pw.log(incident, "resolve", on(2026, 10, 6, 12, 0), self.user_ref("priya"), "website")

        incident = self.pd.incident(
            "PONB001", on(2026, 10, 9, 14, 0), "Trial provisioning job stuck"
        )
        onb: Ref = ("service_reference", "PONB001")
        pw.log(incident, "trigger", incident.created, onb, "api", note="Triggered through the API")
        pw.log(incident, "assign", incident.created + 1000, onb, "auto", (p("grace"),))
        pw.log(incident, "acknowledge", on(2026, 10, 9, 14, 6), self.user_ref("grace"), "website")
        event = pw.log(
            incident,
            "assign",
            on(2026, 10, 9, 14, 30),
            self.user_ref("grace"),
            "website",
            (p("dana"),),
        )
        self.plant(
            "pd-onboarding-reassign",
            incident,
            event,
            "authorized: approver (grace approves incident-escalation)",
            "grace reassigns the onboarding incident to dana (an assign_log_entry: the "
            "published schema has no reassign_log_entry).",
        )
        pw.log(
            incident, "resolve", on(2026, 10, 9, 16, 0), ("user_reference", p("dana")), "website"
        )

        incident = self.pd.incident("PSUP001", on(2026, 10, 15, 11, 0), "Email channel bouncing")
        self.routed_by(incident, catalog.integration_ref("PEML001"), p("sam"),
                       "pd-email-integration-assign", channel="email")
        pw.log(incident, "acknowledge", on(2026, 10, 15, 11, 5), self.user_ref("sam"), "website")
        event = pw.log(
            incident,
            "assign",
            on(2026, 10, 15, 11, 40),
            self.user_ref("priya"),
            "website",
            (p("kim"),),
        )
        self.plant(
            "pd-approver-reassign",
            incident,
            event,
            "authorized: approver",
            "priya (approves incident-escalation) reassigns the incident from sam to kim.",
        )
        pw.log(incident, "resolve", on(2026, 10, 15, 13, 0), self.user_ref("kim"), "website")

        incident = self.pd.incident(
            "PSUP001", on(2026, 10, 19, 10, 2), "Queue depth alarm on support-router"
        )
        assign = self.routed_by(incident, catalog.integration_ref("PGEN001"), p("kim"),
                                "pd-generic-events-assign")
        bot = self.reg.automation_pd()["triage-bot"]
        # The bot answers the assignment within its second: PagerDuty lists the two in the
        # order it applied them, and the escalation's `from` is kim only if that order is kept.
        event = pw.log(
            incident,
            "escalate",
            assign.created,
            ("user_reference", bot),
            "api",
            (p("priya"),),
        )
        self.plant(
            "pd-triage-bot",
            incident,
            event,
            "authorized: automation (triage-bot may incident-escalation)",
            "The triage bot (a PagerDuty user, PBOT001) escalates to priya in the same second "
            "as the generic events integration assigned kim.",
        )
        pw.log(incident, "acknowledge", on(2026, 10, 19, 10, 9), self.user_ref("priya"), "website")
        pw.log(incident, "resolve", on(2026, 10, 19, 11, 30), self.user_ref("priya"), "website")

        incident = self.pd.incident(
            "PSUP001", on(2026, 10, 27, 3, 10), "Ticket ingestion lag above 10 minutes"
        )
        self.routed_by(incident, None, p("sam"), "pd-no-agent-assign")
        event = pw.log(
            incident,
            "escalate",
            on(2026, 10, 27, 3, 40),
            svc,
            "timeout",
            (p("priya"),),
        )
        self.plant(
            "pd-timeout-declared",
            incident,
            event,
            "authorized: automation (PESC001 is declared)",
            "Nobody acknowledges at night; PESC001 escalates to priya after 30 minutes.",
        )
        pw.log(incident, "acknowledge", on(2026, 10, 27, 3, 44), self.user_ref("priya"), "website")
        pw.log(incident, "resolve", on(2026, 10, 27, 5, 10), self.user_ref("priya"), "website")

        incident = self.pd.incident("PINF001", on(2026, 11, 4, 13, 0), "CI runners unavailable")
        inf: Ref = ("service_reference", "PINF001")
        pw.log(incident, "trigger", incident.created, inf, "api", note="Triggered through the API")
        pw.log(incident, "assign", incident.created + 1000, inf, "auto", (catalog.UNMAPPED_PD_ID,))
        event = pw.log(
            incident,
            "assign",
            on(2026, 11, 4, 13, 20),
            ("user_reference", catalog.UNMAPPED_PD_ID),
            "website",
            (p("jordan"),),
        )
        self.plant(
            "pd-untracked-service",
            incident,
            event,
            "not judged: no workflow tracks PINF001",
            "An unmapped contractor reassigns an incident on a service no workflow tracks.",
        )
        pw.log(incident, "resolve", on(2026, 11, 4, 15, 0), self.user_ref("jordan"), "website")

        incident = self.pd.incident(
            "PSUP001",
            on(2026, 11, 11, 14, 5),
            "AI reply service returning 5xx",
            policy_id="PESC099",
        )
        pw.log(incident, "trigger", incident.created, svc, "api", note="Triggered through the API")
        first = pw.log(incident, "assign", incident.created + 1000, svc, "auto", (p("kim"),))
        self.plant(
            "pd-undeclared-policy-assign",
            incident,
            first,
            "unauthorized: routed by undeclared policy PESC099",
            "The incident runs on PESC099 (Legacy Support Escalation), which the registry does "
            "not declare.",
        )
        event = pw.log(
            incident,
            "escalate",
            on(2026, 11, 11, 14, 35),
            svc,
            "timeout",
            (p("alex"),),
        )
        self.plant(
            "pd-undeclared-policy-timeout",
            incident,
            event,
            "unauthorized: timeout escalation by undeclared PESC099",
            "PESC099 escalates to alex after 30 minutes.",
        )
        pw.log(incident, "acknowledge", on(2026, 11, 11, 14, 40), self.user_ref("alex"), "website")
        pw.log(incident, "resolve", on(2026, 11, 11, 16, 0), self.user_ref("alex"), "website")

        incident = self.pd.incident(
            "PSUP001", on(2026, 11, 12, 9, 30), "Knowledge base sync failed"
        )
        self.routed_by(incident, catalog.integration_ref("PNAG001"), p("kim"),
                       "pd-nagios-assign", channel="nagios")
        pw.log(incident, "acknowledge", on(2026, 11, 12, 9, 35), self.user_ref("kim"), "website")
        event = pw.log(
            incident,
            "assign",
            on(2026, 11, 12, 10, 10),
            self.user_ref("kim"),
            "website",
            (p("alex"),),
        )
        self.plant(
            "pd-not-eligible",
            incident,
            event,
            "unauthorized: alex is not eligible for stage 'exception'",
            "kim (executes incident-escalation) hands the incident to alex instead of priya.",
        )
        pw.log(incident, "resolve", on(2026, 11, 12, 11, 30), self.user_ref("alex"), "website")

    def routed_by(
        self,
        incident: Incident,
        agent: Ref | None,
        assignee: str,
        planted: str | None,
        *,
        channel: str = "api",
    ) -> LogEntry:
        """Trigger and first assignment by `agent` (an integration, or None: no agent), both in
        the incident's first second, as PagerDuty logs an alert routed on arrival."""
        pw = self.pd
        pw.log(incident, "trigger", incident.created, agent, channel,
               note="Triggered through the API")
        entry = pw.log(incident, "assign", incident.created, agent, "auto", (assignee,))
        assert entry is not None
        if planted is not None:
            kind = agent[0] if agent else "no agent"
            self.plant(
                planted,
                incident,
                entry,
                "authorized: automation (PagerDuty routing; PESC001 is declared)",
                f"The first assignment, by {kind}: routing, not an unknown person.",
            )
        return entry

    # assembly -------------------------------------------------------------------------------------

    def build(self) -> World:
        self.setup()
        for week in range(DEMO_WEEKS):
            self.support_week(week)
            self.renewal_week(week)
            self.onboarding_week(week)
            self.incident_week(week)
        self.planted_jira()
        self.planted_pagerduty()
        finalize(self.world, self.jira, self.pd)
        for name, source, item, event, expected, description in self.planted:
            case = PlantedCase(
                name=name,
                source=source,
                item=item.key if isinstance(item, Issue) else item.id,
                at=event.created if event is not None else 0,
                expected=expected,
                description=description,
                history_id=event.id if isinstance(event, History) else None,
                log_entry_id=event.id if isinstance(event, LogEntry) else None,
            )
            self.world.planted[name] = case
        return self.world


def demo_world(seed: int = 7, registry_path: Path | None = None) -> World:
    """Acme's eight weeks (2026-W40..W47), deterministic for a seed."""
    return _Demo(seed, registry_path).build()


# --- the scale world ------------------------------------------------------------------------------

SCALE_END = local_ms("Europe/Berlin", 2026, 11, 23)
SCALE_DAYS = 180
SCALE_PROJECTS = ("SUP", "REN", "ONB", "OPS", "FIN", "ENG", "MKT", "HR", "LEG", "SEC")


def scale_world(seed: int = 7, issues: int = 100_000, incidents: int = 50_000) -> World:
    """A large world for benchmarks: `issues` issues with ~6 histories each, `incidents`
    incidents with ~5 log entries each, spread over the 180 days before 2026-11-23."""
    rng = random.Random(seed)
    world = _base_world("scale", seed)
    accounts = [f"5b10a2844c2016570{n:07x}" for n in range(400)]
    for n, account in enumerate(accounts):
        world.users[account] = JiraUser(account, f"User {n:03d}", f"user{n:03d}@acme.example")
    generic = ("To Do", "In Progress", "In Review", "Done")
    for index, key in enumerate(SCALE_PROJECTS):
        world.add_project(Project(str(10000 + index), key, f"Project {key}", generic))
    start = SCALE_END - SCALE_DAYS * DAY_MS
    _scale_issues(world, rng, accounts, issues, start)
    _scale_incidents(world, rng, incidents, start)
    return world


def _scale_issues(
    world: World, rng: random.Random, accounts: list[str], count: int, start: int
) -> None:
    span = SCALE_END - start
    ids = {name: world.statuses[name].id for name in ("To Do", "In Progress", "In Review", "Done")}
    done_res = catalog.RESOLUTIONS["Done"]
    created_times = sorted(start + int(rng.random() * span * 0.97) for _ in range(count))
    randrange, rand = rng.randrange, rng.random
    n_accounts = len(accounts)
    projects = SCALE_PROJECTS
    issues: list[Issue] = []
    history_id = world.next_history_id
    automation = catalog.JIRA_AUTOMATION_ID
    for created in created_times:
        project = projects[randrange(10)]
        issue_id, key = world.allocate_issue(project)
        owner = accounts[randrange(n_accounts)]
        lead = accounts[randrange(n_accounts)]
        t = created + randrange(5, 120) * MINUTE_MS
        histories = [History(0, automation, t, (("assignee", None, lead),))]
        t += randrange(30, 600) * MINUTE_MS
        histories.append(
            History(
                0,
                lead,
                t,
                (("status", ids["To Do"], ids["In Progress"]), ("assignee", lead, owner)),
            )
        )
        current = owner
        for _ in range(randrange(1, 4)):
            t += randrange(30, 1440) * MINUTE_MS
            if rand() < 0.6:
                nxt = accounts[randrange(n_accounts)]
                histories.append(History(0, lead, t, (("assignee", current, nxt),)))
                current = nxt
            else:
                histories.append(History(0, current, t, (("priority", "3", "2"),)))
        t += randrange(30, 1440) * MINUTE_MS
        histories.append(
            History(0, current, t, (("status", ids["In Progress"], ids["In Review"]),))
        )
        status, resolution, resolved = "In Review", None, None
        t += randrange(30, 2880) * MINUTE_MS
        if t < SCALE_END:
            histories.append(
                History(
                    0,
                    current,
                    t,
                    (("status", ids["In Review"], ids["Done"]), ("resolution", None, done_res)),
                )
            )
            status, resolution, resolved = "Done", "Done", t
        else:
            t = histories[-1].created
        issue = Issue(
            issue_id,
            key,
            project,
            f"Scale issue {key}",
            "Task",
            "Medium",
            ("scale",),
            lead,
            created,
            t,
            status,
            current,
            resolution,
            resolved,
            histories,
        )
        issues.append(issue)
    every = sorted(
        ((h.created, issue.id, h) for issue in issues for h in issue.histories),
        key=lambda r: (r[0], r[1]),
    )
    for _, _, history in every:
        history.id = history_id
        history_id += 1
    world.next_history_id = history_id
    world.index_issues(issues)


def _scale_incidents(world: World, rng: random.Random, count: int, start: int) -> None:
    users = [
        PDUser(catalog.pd_id("PU", n, 5), f"Responder {n:03d}", f"responder{n:03d}@acme.example")
        for n in range(120)
    ]
    for user in users:
        world.pd_users[user.id] = user
    for n in range(20):
        rules = (
            (30, tuple(users[(n * 6 + k) % 120].id for k in range(3))),
            (30, (users[(n * 6 + 3) % 120].id,)),
        )
        policy = EscalationPolicy(catalog.pd_id("PE", n, 5), f"Policy {n:02d}", rules)
        world.policies[policy.id] = policy
        world.services[catalog.pd_id("PS", n, 5)] = Service(
            catalog.pd_id("PS", n, 5), f"Service {n:02d}", policy.id, start
        )
    services = list(world.services.values())
    span = SCALE_END - start
    randrange, rand = rng.randrange, rng.random
    created_times = sorted(start + int(rand() * span * 0.98) for _ in range(count))
    incidents: list[Incident] = []
    seq = world.next_log_seq
    for number, created in enumerate(created_times, start=1001):
        service = services[randrange(len(services))]
        policy = world.policies[service.policy_id]
        incident_id = catalog.pd_id("Q", number)
        first = policy.rules[0][1][randrange(3)]
        svc: Ref = ("service_reference", service.id)
        log = [
            LogEntry("", "trigger_log_entry", created, incident_id, svc, "api"),
            LogEntry("", "assign_log_entry", created + 1000, incident_id, svc, "auto", (first,)),
        ]
        responder = first
        t = created + randrange(1, 20) * MINUTE_MS
        if rand() < 0.2:
            responder = policy.rules[1][1][0]
            log.append(
                LogEntry(
                    "",
                    "escalate_log_entry",
                    created + 30 * MINUTE_MS,
                    incident_id,
                    svc,
                    "timeout",
                    (responder,),
                )
            )
            t = created + randrange(31, 45) * MINUTE_MS
        log.append(
            LogEntry(
                "",
                "acknowledge_log_entry",
                t,
                incident_id,
                ("user_reference", responder),
                "website",
            )
        )
        t += randrange(10, 600) * MINUTE_MS
        if t < SCALE_END:
            log.append(
                LogEntry(
                    "",
                    "resolve_log_entry",
                    t,
                    incident_id,
                    ("user_reference", responder),
                    "website",
                )
            )
        incident = Incident(
            incident_id,
            number,
            INCIDENT_TITLES[randrange(len(INCIDENT_TITLES))],
            service.id,
            policy.id,
            "high" if rand() < 0.6 else "low",
            created,
            f"key-{number}",
            log,
        )
        incidents.append(incident)
    entries = sorted(
        (
            (e.created, incident.number, k, e)
            for incident in incidents
            for k, e in enumerate(incident.log)
        ),
        key=lambda r: (r[0], r[1], r[2]),
    )
    for _, _, _, entry in entries:
        entry.seq = seq
        entry.id = catalog.pd_id("R", seq + 1, 13)
        seq += 1
    world.next_log_seq = seq
    world.index_incidents(incidents)


# --- mutations ------------------------------------------------------------------------------------


@dataclass
class Mutation:
    """What `mutate` changed, for tests to check an incremental sync against."""

    start: int
    end: int
    issue_keys: list[str] = field(default_factory=list)
    history_ids: list[int] = field(default_factory=list)
    incident_ids: list[str] = field(default_factory=list)
    new_incident_ids: list[str] = field(default_factory=list)
    log_entry_ids: list[str] = field(default_factory=list)


def mutate(world: World, n: int, *, seed: int | None = None, at: int | None = None) -> Mutation:
    """Apply `n` new changes, each a few minutes after the previous, starting after the latest
    timestamp in the world (or at `at`): new histories on existing issues, new log entries on
    open incidents, and now and then a new incident."""
    rng = random.Random(seed if seed is not None else world.seed * 7919 + len(world.log_entries))
    with world.lock:
        t = at if at is not None else world.latest_ms() + MINUTE_MS
        result = Mutation(start=t, end=t)
        issue_ids = list(world.issues)
        incident_ids = [key for _, key in world.incident_index[-2000:]]
        for _ in range(n):
            t += rng.randint(1, 10) * MINUTE_MS
            roll = rng.random()
            if roll < 0.6 and issue_ids:
                _mutate_issue(world, rng, world.issues[rng.choice(issue_ids)], t, result)
            elif roll < 0.85 and incident_ids:
                _mutate_incident(world, rng, world.incidents[rng.choice(incident_ids)], t, result)
            elif world.services:
                _new_incident(world, rng, t, result)
            result.end = t
        return result


def _actors(world: World) -> list[str]:
    return [
        u.account_id
        for u in world.users.values()
        if u.account_type == "atlassian" and u.account_id != catalog.API_ACCOUNT_ID
    ]


def _mutate_issue(world: World, rng: random.Random, issue: Issue, t: int, result: Mutation) -> None:
    workflow = world.projects[issue.project].workflow
    status = world.statuses[issue.status]
    writer = JiraWriter(world)
    actor = issue.assignee or rng.choice(_actors(world))
    old_updated = issue.updated
    history: History | None
    if status.category == "done":
        history = writer.change(issue, t, actor, status=workflow[1])
    elif rng.random() < 0.5:
        history = writer.change(
            issue, t, catalog.JIRA_AUTOMATION_ID, assignee=rng.choice(_actors(world))
        )
    else:
        position = workflow.index(issue.status) if issue.status in workflow else 0
        history = writer.change(
            issue, t, actor, status=workflow[min(position + 1, len(workflow) - 1)]
        )
    if history is None:
        history = writer.change(
            issue, t, actor, priority="High" if issue.priority != "High" else "Medium"
        )
    if history is None:
        return
    history.id = world.allocate_history_id()
    new_updated = issue.updated
    issue.updated = old_updated
    world.touch_issue(issue, new_updated)
    result.issue_keys.append(issue.key)
    result.history_ids.append(history.id)


def _mutate_incident(
    world: World, rng: random.Random, incident: Incident, t: int, result: Mutation
) -> None:
    status = incident.status()
    current = incident.assignees()
    assignees: tuple[str, ...] = ()
    responder = current[0] if current else world.policies[incident.policy_id].rules[0][1][0]
    if status == "resolved":
        _new_incident(world, rng, t, result)
        return
    if status == "triggered":
        kind, agent, channel, assignees = (
            "acknowledge",
            ("user_reference", responder),
            "website",
            (),
        )
    elif rng.random() < 0.5:
        kind, agent, channel, assignees = "resolve", ("user_reference", responder), "website", ()
    else:
        target = world.policies[incident.policy_id].rules[-1][1][0]
        kind, agent, channel = (
            "escalate",
            ("service_reference", incident.service_id),
            "timeout",
        )
        assignees = (target,)
    entry = _entry(world, incident, kind, t, agent, channel, assignees)
    world.add_log_entry(incident, entry)
    result.incident_ids.append(incident.id)
    result.log_entry_ids.append(entry.id)


def _new_incident(world: World, rng: random.Random, t: int, result: Mutation) -> None:
    service = rng.choice(list(world.services.values()))
    policy = world.policies[service.policy_id]
    number = 1001 + len(world.incidents)
    while catalog.pd_id("Q", number) in world.incidents:
        number += 1
    incident = Incident(
        catalog.pd_id("Q", number),
        number,
        rng.choice(INCIDENT_TITLES),
        service.id,
        policy.id,
        "high",
        t,
        f"mutation-{number}",
    )
    svc: Ref = ("service_reference", service.id)
    first = policy.rules[0][1][0]
    incident.log.append(_entry(world, incident, "trigger", t, svc, "api", ()))
    incident.log.append(_entry(world, incident, "assign", t + 1000, svc, "auto", (first,)))
    world.add_incident(incident)
    result.incident_ids.append(incident.id)
    result.new_incident_ids.append(incident.id)
    result.log_entry_ids.extend(entry.id for entry in incident.log)


def _entry(
    world: World,
    incident: Incident,
    kind: str,
    t: int,
    agent: Ref,
    channel: str,
    assignees: tuple[str, ...],
) -> LogEntry:
    seq = world.allocate_log_seq()
    return LogEntry(
        catalog.pd_id("R", seq + 1, 13),
        f"{kind}_log_entry",
        t,
        incident.id,
        agent,
        channel,
        assignees,
        seq,
    )
