"""How fast and how lean is the evaluation? A full and an incremental one over generated history.

    .venv/bin/python bench/evaluate.py --items 2000 --events 10000 --runs 1
    .venv/bin/python bench/evaluate.py --items 200000 --events 1000000 --runs 3 --json out.json
    .venv/bin/python bench/evaluate.py ... \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_eval

What it does, in order:

* generates synced history straight into a fresh *pristine* database (SQLite file by default,
  or a PostgreSQL database named after `--database-url` plus `_pristine`): Jira issues of the
  example registry's projects (SUP, REN, ONB) with their changelogs (status and assignee items)
  and workflow membership, PagerDuty incidents of its services (PSUP001, PONB001, plus a few on
  a service no workflow claims) with their log entries, and the ownership events the sync
  derives from them — through the project's own mappers (`storage.ingest`, `rules.ownership`)
  and bulk inserts. ~26 weeks ending at `END`, deterministic for a seed. Not measured, only
  reported;
* per run: copies the pristine database (SQLite file copy, PostgreSQL `TEMPLATE`), runs a *full
  evaluation* in a fresh child process, adds ~1 % new ownership events (on items active in the
  last two weeks, in the latest week, synced now) with the project's writers
  (`save_jira_batch`, `save_pd_log_entries`), then runs an *incremental evaluation* in another
  fresh child process. Each child prints one JSON line: wall time of `evaluate(...)`, a
  breakdown by phase (exclusive time of the functions `evaluate` calls, wrapped with
  `perf_counter`), what it decided, and its peak RSS (`ru_maxrss`);
* prints medians and spread over the runs, with the load average around each measurement
  (the machine is shared).

The authorization mix is by design: each ownership change is drawn either as an authorized
pattern (an executor handing to an eligible owner, an approver, a declared automation, PagerDuty
routing by a declared policy) or, with probability `--unauthorized-share`, as an unauthorized
one (an actor without rights, an executor handing to an ineligible owner, an unknown account);
the judge decides, and the report shows what it decided.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import math
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from accountability.clock import system_clock  # noqa: E402
from accountability.config.registry_file import load_registry_file  # noqa: E402
from accountability.usecases import evaluate as evaluation  # noqa: E402
from accountability.usecases import governance  # noqa: E402
from rules import findings as finding_rules  # noqa: E402
from rules.authority import decision_for  # noqa: E402
from rules.ownership import jira_events, pagerduty_events  # noqa: E402
from rules.registry import LoadedRegistry, Registry  # noqa: E402
from rules.weeks import monday, shift_week, week_of  # noqa: E402
from storage import evaluations as store  # noqa: E402
from storage import migrate, outbox, repo  # noqa: E402
from storage.engine import make_engine, session_factory, session_scope  # noqa: E402
from storage.ingest import (  # noqa: E402
    changelog_rows,
    event_row,
    jira_issue_row,
    pd_incident_row,
    pd_log_entry_row,
    save_jira_batch,
    save_pd_log_entries,
)
from storage.models import (  # noqa: E402
    AlertOutbox,
    Finding,
    JiraChangelogItem,
    JiraIssue,
    JiraIssueWorkflow,
    OwnershipEvent,
    PdIncident,
    PdLogEntry,
    Scorecard,
)

REGISTRY = ROOT / "examples" / "registry.yaml"
END = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # Sunday 21:00 Berlin: the end of 2026-W47
WEEKS = 26
START = END - timedelta(weeks=WEEKS)
FULL_NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # Monday morning: W47 is complete
INCREMENT_NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # the incremental run, same day
# From Monday 00:00 Berlin, the start of 2026-W47 (`END - 7 days` is Sunday 21:00 Berlin,
# still 2026-W46), to just before the incremental run.
LATEST_WEEK = (datetime(2026, 11, 15, 23, 0, tzinfo=UTC), INCREMENT_NOW - timedelta(hours=1))
RECENT = timedelta(days=14)  # items the increment touches were created this close to END
BATCH = 2_000  # items generated and inserted per transaction
PD_ITEM_SHARE = 0.10  # of items: PagerDuty incidents (the rest Jira issues)
UNCLAIMED_SERVICE_SHARE = 0.02  # incidents on a service no workflow claims (stored, not judged)
UNDECLARED_POLICY_SHARE = 0.03  # incidents routed by a policy the workflow does not declare
UNKNOWN_JIRA = ("5b10a2844c20165700edeff1", "5b10a2844c20165700edeff2")
UNKNOWN_PD = ("PUNKN01",)
UNCLAIMED_SERVICE = "PMKT001"
UNDECLARED_POLICY = "PESC900"
JIRA_GAP_HOURS = 20.0  # mean time between two changelog histories of an issue
PD_GAP_MINUTES = 40.0  # mean time between two log entries of an incident
EVENTS_PER_TOUCHED_ITEM = 2  # the increment: new events per item it touches
Row = dict[str, Any]


# --- the example registry, as the generator needs it -----------------------------------------


@dataclass(frozen=True)
class Flow:
    """How issues of one Jira project move: a main path, detours, endings, reopenings."""

    project: str
    workflow: str
    share: float  # of the Jira issues
    path: tuple[str, ...]  # the first status is the one issues are created in
    endings: tuple[str, ...]  # terminal statuses, one is drawn
    detours: tuple[tuple[str, float], ...] = ()  # (status, probability): from and back to WORK
    after_end: tuple[str, float] | None = None  # e.g. Done → Closed
    reopen: float = 0.05
    abandon: float = 0.05  # never reaches a terminal status
    work: str = "In Progress"


FLOWS = (
    Flow("SUP", "support", 0.5, ("Open", "Triage", "In Progress"), ("Done",),
         (("Escalated", 0.15), ("Awaiting approval", 0.10)), ("Closed", 0.2), 0.06),
    Flow("REN", "renewals", 0.2, ("Flagged", "Outreach", "In Progress", "Offer review"),
         ("Saved", "Churned"), (), None, 0.04),
    Flow("ONB", "onboarding", 0.3, ("New", "Setup", "In Progress"), ("Activated", "Won't do"),
         (("Blocked", 0.12),), None, 0.03),
)
STATUS_IDS = {
    name: str(10_000 + number)
    for number, name in enumerate(sorted({s for f in FLOWS for s in (
        *f.path, *f.endings, *(d for d, _ in f.detours), *((f.after_end[0],) if f.after_end
                                                           else ()))}))
}


@dataclass(frozen=True)
class Rights:
    """Vendor ids of who may change ownership in one workflow, for one source (SPEC §4)."""

    workflow: str
    approvers: tuple[str, ...]
    executors: tuple[str, ...]
    eligible: dict[str, tuple[str, ...]]  # stage id → eligible owners
    people: tuple[str, ...]  # everyone with an id in this source
    unrighted: tuple[str, ...]  # people holding neither approves nor executes
    bots: tuple[str, ...]  # declared automation whose `may` lists the decision
    stage_of: dict[str, str]  # Jira status → stage id
    incident_stage: str | None  # the stage marked `pagerduty: true`
    names: dict[str, str]  # vendor id → display name


def compile_rights(registry: Registry, workflow_id: str, source: str) -> Rights:
    wf = registry.workflows[workflow_id]
    decision_id = decision_for(wf, source)
    decision = wf.decisions.get(decision_id)

    def vendor(person_id: str) -> str | None:
        person = registry.people.get(person_id)
        if person is None:
            return None
        return person.jira if source == "jira" else person.pagerduty

    def ids(names: Sequence[str]) -> tuple[str, ...]:
        return tuple(sorted({v for n in registry.expand(names) if (v := vendor(n))}))

    approvers = ids(decision.approves if decision else [])
    executors = ids(decision.executes if decision else [])
    people = ids(list(registry.people))
    bots = tuple(sorted(
        b for a in registry.automation if decision_id in a.may
        if (b := (a.jira if source == "jira" else a.pagerduty))
    ))
    return Rights(
        workflow=workflow_id,
        approvers=approvers,
        executors=executors,
        eligible={s.id: ids([*([s.owner] if s.owner else []), *s.assignees]) for s in wf.stages},
        people=people,
        unrighted=tuple(p for p in people if p not in approvers and p not in executors),
        bots=bots,
        stage_of={status: s.id for s in reversed(wf.stages) for status in s.jira_statuses},
        incident_stage=stage.id if (stage := wf.incident_stage()) is not None else None,
        names={v: p.name for p in registry.people.values() if (v := vendor(p.id))},
    )


@dataclass(frozen=True)
class World:
    """Everything the generator draws from, compiled once from the registry."""

    jira: dict[str, Rights]  # by project
    pagerduty: dict[str, Rights]  # by service
    policies: dict[str, str]  # service → its declared escalation policy
    unauthorized_share: float


def compile_world(registry: Registry, unauthorized_share: float) -> World:
    jira = {f.project: compile_rights(registry, f.workflow, "jira") for f in FLOWS}
    pagerduty: dict[str, Rights] = {}
    policies: dict[str, str] = {}
    for wf in registry.workflows.values():
        if wf.sources.pagerduty is None:
            continue
        for service in wf.sources.pagerduty.services:
            pagerduty[service] = compile_rights(registry, wf.id, "pagerduty")
            policies[service] = wf.sources.pagerduty.escalation_policies[0]
    return World(jira, pagerduty, policies, unauthorized_share)


# --- drawing ownership changes --------------------------------------------------------------


def _other(rng: random.Random, choices: Sequence[str], current: str | None) -> str:
    """One of `choices`, not `current` when there is another."""
    others = [c for c in choices if c != current]
    return rng.choice(others or list(choices))


def pick_change(
    rng: random.Random, world: World, rights: Rights, stage: str | None, current: str | None,
    unknown: Sequence[str],
) -> tuple[str, str | None]:
    """(actor, new owner or None) of one ownership change made while the item is in `stage`."""
    eligible = rights.eligible.get(stage or "", ())
    if rng.random() < world.unauthorized_share:
        return _unauthorized(rng, rights, eligible, current, unknown)
    if rights.approvers and rng.random() < 0.03:  # an approver unassigns
        return rng.choice(rights.approvers), None
    return _authorized(rng, rights, eligible, current)


def _authorized(
    rng: random.Random, rights: Rights, eligible: Sequence[str], current: str | None
) -> tuple[str, str | None]:
    kinds = [k for k, ok in (("declared", bool(rights.executors and eligible)),
                             ("approver", bool(rights.approvers)),
                             ("bot", bool(rights.bots))) if ok]
    weights = {"declared": 6, "approver": 2, "bot": 1}
    kind = rng.choices(kinds, [weights[k] for k in kinds])[0]
    targets = eligible or rights.people
    if kind == "declared":
        return rng.choice(rights.executors), _other(rng, eligible, current)
    if kind == "approver":
        return rng.choice(rights.approvers), _other(rng, targets, current)
    return rng.choice(rights.bots), _other(rng, targets, current)


def _unauthorized(
    rng: random.Random, rights: Rights, eligible: Sequence[str], current: str | None,
    unknown: Sequence[str],
) -> tuple[str, str | None]:
    ineligible = [p for p in rights.people if p not in eligible]
    kinds = [k for k, ok in (("unrighted", bool(rights.unrighted)),
                             ("ineligible", bool(rights.executors and ineligible)),
                             ("unknown", True)) if ok]
    weights = {"unrighted": 5, "ineligible": 3, "unknown": 1}
    kind = rng.choices(kinds, [weights[k] for k in kinds])[0]
    if kind == "unrighted":
        return rng.choice(rights.unrighted), _other(rng, rights.people, current)
    if kind == "ineligible":
        return rng.choice(rights.executors), _other(rng, ineligible, current)
    return rng.choice(unknown), _other(rng, rights.people, current)


# --- Jira issues ----------------------------------------------------------------------------


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def walk(rng: random.Random, flow: Flow) -> list[str]:
    """The statuses an issue goes through, the one it was created in first."""
    statuses = list(flow.path)
    for detour, probability in flow.detours:
        if rng.random() < probability:
            statuses += [detour, flow.work]
    if rng.random() < flow.abandon:
        return statuses[: rng.randint(1, len(statuses))]
    end = rng.choice(flow.endings)
    statuses.append(end)
    if rng.random() < flow.reopen:
        statuses += [flow.work, end]
    if flow.after_end is not None and rng.random() < flow.after_end[1]:
        statuses.append(flow.after_end[0])
    return statuses


def timeline(
    rng: random.Random, created: datetime, slots: int, mean_gap: timedelta, end: datetime
) -> list[datetime]:
    """`slots` increasing moments after `created`, squeezed to end before `end`."""
    times, at = [], created
    for _ in range(slots):
        at += mean_gap * rng.expovariate(1.0)
        times.append(at)
    if times and times[-1] > end:
        scale = (end - created) / (times[-1] - created)
        times = [created + (t - created) * scale for t in times]
    return [t.replace(microsecond=t.microsecond // 1000 * 1000) for t in times]


def _status_item(before: str, after: str) -> Row:
    return {"field": "status", "fieldtype": "jira", "fieldId": "status",
            "from": STATUS_IDS[before], "fromString": before,
            "to": STATUS_IDS[after], "toString": after}


def _assignee_item(rights: Rights, before: str | None, after: str | None) -> Row:
    return {"field": "assignee", "fieldtype": "jira", "fieldId": "assignee",
            "from": before, "fromString": rights.names.get(before or "", before),
            "to": after, "toString": rights.names.get(after or "", after)}


@dataclass
class JiraState:
    """An issue's status and assignee while its histories are drawn."""

    status: str
    assignee: str | None


def jira_histories(
    rng: random.Random, world: World, flow: Flow, state: JiraState, moves: Sequence[str | None],
    times: Sequence[datetime], history_ids: Iterator[int],
) -> list[Row]:
    """Changelog histories: one per move (a new status, or None for an ownership change); an
    ownership change may share the history of the status change just before it."""
    rights = world.jira[flow.project]
    histories: list[Row] = []
    for move, at in zip(moves, times, strict=True):
        if move is not None:
            author = state.assignee or rng.choice(rights.bots or rights.people)
            histories.append({"id": str(next(history_ids)), "author": {"accountId": author},
                              "created": iso(at), "items": [_status_item(state.status, move)]})
            state.status = move
            continue
        stage = rights.stage_of.get(state.status)
        actor, owner = pick_change(rng, world, rights, stage, state.assignee, UNKNOWN_JIRA)
        item = _assignee_item(rights, state.assignee, owner)
        state.assignee = owner
        last = histories[-1] if histories else None
        if last is not None and len(last["items"]) == 1 and rng.random() < 0.3 and (
                last["items"][0]["fieldId"] == "status"):
            last["author"], last["items"] = {"accountId": actor}, [*last["items"], item]
            continue
        histories.append({"id": str(next(history_ids)), "author": {"accountId": actor},
                          "created": iso(at), "items": [item]})
    return histories


def jira_issue(
    rng: random.Random, world: World, flow: Flow, ids: tuple[str, int], created: datetime,
    events: int, history_ids: Iterator[int],
) -> tuple[Row, list[Row]]:
    """One issue (raw, as Jira returns it) and its changelog histories."""
    statuses = walk(rng, flow)
    moves: list[str | None] = [*statuses[1:], *([None] * events)]
    rng.shuffle(moves)
    # Status changes keep their order whatever the shuffle did to the positions.
    order = iter(statuses[1:])
    moves = [next(order) if m is not None else None for m in moves]
    times = timeline(rng, created, len(moves), timedelta(hours=JIRA_GAP_HOURS), END)
    rights = world.jira[flow.project]
    first_stage = rights.eligible.get(rights.stage_of.get(statuses[0], ""), ())
    assignee = rng.choice(first_stage) if first_stage and rng.random() < 0.85 else None
    state = JiraState(statuses[0], assignee)
    histories = jira_histories(rng, world, flow, state, moves, times, history_ids)
    issue_id, number = ids
    raw = {
        "id": issue_id,
        "key": f"{flow.project}-{number}",
        "fields": {
            "project": {"key": flow.project},
            "summary": f"{flow.workflow} case {number}",
            "status": {"name": state.status},
            "assignee": {"accountId": state.assignee} if state.assignee else None,
            "created": iso(created),
            "updated": iso(times[-1] if times else created),
        },
    }
    return raw, histories


# --- PagerDuty incidents --------------------------------------------------------------------


def _entry(
    entry_id: str, kind: str, at: datetime, incident: str, agent: tuple[str, str],
    assignees: Sequence[str] = (),
) -> Row:
    return {
        "id": entry_id,
        "type": kind,
        "created_at": iso(at),
        "incident": {"id": incident, "type": "incident_reference"},
        "agent": {"id": agent[0], "type": agent[1]},
        "channel": {"type": "auto" if agent[1] != "user_reference" else "web_ui"},
        "assignees": [{"id": a, "type": "user_reference"} for a in assignees],
    }


def pd_changes(
    rng: random.Random, world: World, service: str, policy: str, current: str | None,
    count: int,
) -> list[tuple[str, tuple[str, str], str]]:
    """(log entry type, agent, new assignee) of the ownership changes after the first."""
    rights = rights_of_service(world, service)
    stage = rights.incident_stage
    changes = []
    for _ in range(count):
        if rng.random() < 0.4:  # timeout: the policy escalates to the next level
            target = _other(rng, rights.eligible.get(stage or "", ()) or rights.people, current)
            changes.append(("escalate_log_entry", (policy, "escalation_policy_reference"), target))
        else:
            actor, owner = pick_change(rng, world, rights, stage, current, UNKNOWN_PD)
            target = owner or _other(rng, rights.people, current)
            changes.append(("reassign_log_entry", (actor, "user_reference"), target))
        current = changes[-1][2]
    return changes


def rights_of_service(world: World, service: str) -> Rights:
    """The rights of the workflow claiming `service` (the first one's for an unclaimed service:
    its incidents are not judged, the draw only needs people)."""
    return world.pagerduty.get(service) or next(iter(world.pagerduty.values()))


def pd_incident(
    rng: random.Random, world: World, number: int, created: datetime, events: int,
    entry_ids: Iterator[int],
) -> tuple[Row, list[Row]]:
    """One incident (raw) and its log entries: trigger, assignment, acknowledgement,
    `events - 1` escalations or reassignments, resolution."""
    claimed = rng.random() >= UNCLAIMED_SERVICE_SHARE
    service = rng.choices(list(world.pagerduty), [0.6, 0.4])[0] if claimed else UNCLAIMED_SERVICE
    rights = rights_of_service(world, service)
    declared = world.policies.get(service, UNDECLARED_POLICY)
    policy = UNDECLARED_POLICY if rng.random() < UNDECLARED_POLICY_SHARE else declared
    incident_id = f"Q{number:07d}"
    first = rng.choice(rights.executors or rights.approvers or rights.people)
    times = timeline(rng, created, events + 1, timedelta(minutes=PD_GAP_MINUTES), END)
    service_agent = (service, "service_reference")
    entries = [
        _entry(f"R{next(entry_ids):09d}", "trigger_log_entry", created, incident_id, service_agent),
        _entry(f"R{next(entry_ids):09d}", "assign_log_entry", created + timedelta(seconds=1),
               incident_id, service_agent, [first]),
        _entry(f"R{next(entry_ids):09d}", "acknowledge_log_entry", times[0], incident_id,
               (first, "user_reference")),
    ]
    current = first
    for at, (kind, agent, target) in zip(
            times[1:-1], pd_changes(rng, world, service, policy, first, events - 1), strict=True):
        entries.append(_entry(f"R{next(entry_ids):09d}", kind, at, incident_id, agent,
                              [target]))
        current = target
    resolved = rng.random() < 0.97
    if resolved:
        entries.append(_entry(f"R{next(entry_ids):09d}", "resolve_log_entry", times[-1],
                              incident_id, (current, "user_reference")))
    raw = {
        "id": incident_id,
        "incident_number": number,
        "title": f"{rights.workflow} alert {number}",
        "status": "resolved" if resolved else "acknowledged",
        "urgency": "high",
        "service": {"id": service, "type": "service_reference"},
        "escalation_policy": {"id": policy, "type": "escalation_policy_reference"},
        "created_at": iso(created),
        "html_url": f"https://acme.pagerduty.example/incidents/{incident_id}",
        "assignments": [] if resolved else [{"assignee": {"id": current}}],
    }
    return raw, entries


# --- generation -----------------------------------------------------------------------------


def spread_counts(rng: random.Random, n: int, total: int) -> list[int]:
    """`total` split over `n` items, each at least 1 (1 + a Poisson-like share)."""
    if n == 0:
        return []
    if total < n:
        raise SystemExit(f"{total} events cannot give each of {n} items one")
    counts = [1] * n
    for index in rng.choices(range(n), k=total - n):
        counts[index] += 1
    return counts


def created_times(rng: random.Random, n: int) -> list[datetime]:
    span = (END - timedelta(hours=2) - START).total_seconds()
    return sorted(START + timedelta(seconds=rng.random() * span) for _ in range(n))


@dataclass
class Batch:
    """Rows of the items generated since the last write."""

    tables: dict[Any, list[Row]] = field(default_factory=dict)

    def add(self, model: Any, rows: Sequence[Row]) -> None:
        self.tables.setdefault(model, []).extend(rows)

    def write(self, factory: sessionmaker[Session]) -> dict[str, int]:
        written = {}
        with session_scope(factory) as session:
            for model, rows in self.tables.items():
                if rows:
                    session.execute(insert(model.__table__), rows)
                written[model.__tablename__] = len(rows)
        self.tables.clear()
        return written


def generate(factory: sessionmaker[Session], world: World, items: int, events: int,
             seed: int, synced_at: datetime) -> dict[str, int]:
    """Write the synced history of `items` items with `events` ownership events."""
    rng = random.Random(seed)
    incidents = round(items * PD_ITEM_SHARE)
    issues = items - incidents
    pd_events = round(events * incidents / items) if items else 0
    counts: dict[str, int] = {}

    def flush(batch: Batch) -> None:
        for table, n in batch.write(factory).items():
            counts[table] = counts.get(table, 0) + n

    _generate_jira(rng, world, issues, events - pd_events, synced_at, flush)
    _generate_pagerduty(rng, world, incidents, pd_events, synced_at, flush)
    return counts


def _generate_jira(
    rng: random.Random, world: World, issues: int, events: int, synced_at: datetime,
    flush: Callable[[Batch], None],
) -> None:
    history_ids = itertools.count(1_000_000)
    numbers = {f.project: itertools.count(1) for f in FLOWS}
    batch = Batch()
    created = created_times(rng, issues)
    for index, count in enumerate(spread_counts(rng, issues, events)):
        flow = rng.choices(FLOWS, [f.share for f in FLOWS])[0]
        ids = (str(100_000 + index), next(numbers[flow.project]))
        raw, histories = jira_issue(rng, world, flow, ids, created[index], count, history_ids)
        row = jira_issue_row(raw) | {"synced_at": synced_at}
        batch.add(JiraIssue, [row])
        batch.add(JiraChangelogItem, [item | {"first_synced_at": synced_at} for item
                                      in changelog_rows(row["id"], row["key"], histories)])
        batch.add(OwnershipEvent, [event_row(e) for e in jira_events(row["key"], histories)])
        batch.add(JiraIssueWorkflow, [{"issue_id": row["id"], "workflow": flow.workflow,
                                       "seen_at": synced_at}])
        if (index + 1) % BATCH == 0:
            flush(batch)
    flush(batch)


def _generate_pagerduty(
    rng: random.Random, world: World, incidents: int, events: int, synced_at: datetime,
    flush: Callable[[Batch], None],
) -> None:
    entry_ids = itertools.count(1)
    batch = Batch()
    created = created_times(rng, incidents)
    for index, count in enumerate(spread_counts(rng, incidents, events)):
        raw, entries = pd_incident(rng, world, index + 1, created[index], count, entry_ids)
        batch.add(PdIncident, [pd_incident_row(raw) | {"synced_at": synced_at}])
        batch.add(PdLogEntry, [pd_log_entry_row(e) | {"synced_at": synced_at} for e in entries])
        batch.add(OwnershipEvent, [event_row(e) for e in pagerduty_events(raw["id"], entries)])
        if (index + 1) % BATCH == 0:
            flush(batch)
    flush(batch)


# --- the increment: ~1 % new ownership events, synced now -----------------------------------


def add_increment(factory: sessionmaker[Session], world: World, events: int,
                  seed: int) -> dict[str, int]:
    """`events` new ownership events on items created in the last two weeks, dated in the
    latest week, written as the sync writes them (so their `synced_at` is now)."""
    rng = random.Random(seed + 1)
    pd_events = round(events * PD_ITEM_SHARE)
    with session_scope(factory) as session:
        before = session.scalar(select(func.count()).select_from(OwnershipEvent)) or 0
        now = system_clock()
        issues = _jira_increment(session, rng, world, events - pd_events, now)
        incidents = _pagerduty_increment(session, rng, world, pd_events, now)
    with session_scope(factory) as session:
        after = session.scalar(select(func.count()).select_from(OwnershipEvent)) or 0
    return {"events": after - before, "issues": issues, "incidents": incidents}


def _touched(rng: random.Random, candidates: Sequence[Any], events: int) -> list[tuple[Any, int]]:
    """Items to touch and how many new events each gets (round robin)."""
    if events <= 0 or not candidates:
        return []
    chosen = rng.sample(list(candidates), min(len(candidates),
                                              math.ceil(events / EVENTS_PER_TOUCHED_ITEM)))
    counts = [0] * len(chosen)
    for index in range(events):
        counts[index % len(chosen)] += 1
    return list(zip(chosen, counts, strict=True))


def _latest_week_times(rng: random.Random, after: datetime, count: int) -> list[datetime]:
    low = max(after + timedelta(minutes=1), LATEST_WEEK[0])
    span = max((LATEST_WEEK[1] - low).total_seconds(), 0.0)
    times = sorted(low + timedelta(seconds=rng.random() * span) for _ in range(count))
    return [t.replace(microsecond=t.microsecond // 1000 * 1000) for t in times]


def _jira_increment(
    session: Session, rng: random.Random, world: World, events: int, now: datetime
) -> int:
    query = (
        select(JiraIssue.raw, JiraIssue.updated, JiraIssueWorkflow.workflow)
        .join(JiraIssueWorkflow, JiraIssueWorkflow.issue_id == JiraIssue.id)
        .where(JiraIssue.created >= END - RECENT)
        .order_by(JiraIssue.id)
    )
    flows = {f.project: f for f in FLOWS}
    history_ids = itertools.count(900_000_000)
    by_workflow: dict[str, list[tuple[Row, list[Row]]]] = {}
    touched = _touched(rng, session.execute(query).all(), events)
    for (raw, updated, workflow), count in touched:
        fields = dict(raw["fields"])
        flow = flows[fields["project"]["key"]]
        assignee = (fields.get("assignee") or {}).get("accountId")
        state = JiraState(fields["status"]["name"], assignee)
        times = _latest_week_times(rng, updated, count)
        histories = jira_histories(rng, world, flow, state, [None] * count, times, history_ids)
        fields["assignee"] = {"accountId": state.assignee} if state.assignee else None
        fields["updated"] = iso(times[-1])
        row = jira_issue_row({**raw, "fields": fields})
        by_workflow.setdefault(workflow, []).append((row, histories))
    for workflow, batch in by_workflow.items():
        save_jira_batch(session, batch, workflow, now)
    return len(touched)


def _pagerduty_increment(
    session: Session, rng: random.Random, world: World, events: int, now: datetime
) -> int:
    query = (
        select(PdIncident.id, PdIncident.service_id, PdIncident.escalation_policy_id,
               func.max(PdLogEntry.created_at))
        .join(PdLogEntry, PdLogEntry.incident_id == PdIncident.id)
        .where(PdIncident.created_at >= END - RECENT,
               PdIncident.service_id.in_(list(world.pagerduty)))
        .group_by(PdIncident.id, PdIncident.service_id, PdIncident.escalation_policy_id)
        .order_by(PdIncident.id)
    )
    touched = _touched(rng, session.execute(query).all(), events)
    owners = _current_owners(session, [row[0] for row, _ in touched])
    entry_ids = itertools.count(1)
    rows: list[Row] = []
    for (incident, service, policy, last), count in touched:
        changes = pd_changes(rng, world, service, policy or "", owners.get(incident), count)
        times = _latest_week_times(rng, last, count)
        for at, (kind, agent, target) in zip(times, changes, strict=True):
            entry = _entry(f"RI{next(entry_ids):08d}", kind, at, incident, agent,
                           [target])
            rows.append(pd_log_entry_row(entry))
    save_pd_log_entries(session, rows, now)
    return len(touched)


def _current_owners(session: Session, incidents: Sequence[str]) -> dict[str, str | None]:
    owners: dict[str, str | None] = {}
    for start in range(0, len(incidents), 500):
        query = (
            select(OwnershipEvent.item, OwnershipEvent.to_refs)
            .where(OwnershipEvent.source == "pagerduty",
                   OwnershipEvent.item.in_(incidents[start:start + 500]))
            .order_by(OwnershipEvent.item, OwnershipEvent.at, OwnershipEvent.source_ref)
        )
        for item, to_refs in session.execute(query):
            owners[item] = to_refs[0].removeprefix("pagerduty:") if to_refs else None
    return owners


# --- measuring one evaluation (a child process) ----------------------------------------------


class PhaseTimer:
    """Exclusive wall time of the functions `evaluate` calls (nested calls not counted twice)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[list[float]] = []

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            frame = [time.perf_counter(), 0.0]
            self._stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                self._stack.pop()
                elapsed = time.perf_counter() - frame[0]
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - frame[1]
                self.calls[name] = self.calls.get(name, 0) + 1
                if self._stack:
                    self._stack[-1][1] += elapsed

        return timed

    def patch(self, owner: Any, attribute: str, name: str) -> None:
        setattr(owner, attribute, self.wrap(name, getattr(owner, attribute)))


PHASES: tuple[tuple[Any, str, str], ...] = (
    (evaluation, "_plan", "load"),
    (finding_rules, "unowned_items", "findings"),
    (finding_rules, "ownership_churn", "findings"),
    (finding_rules, "late_risk_reviews", "findings"),
    (finding_rules, "registry_gaps", "findings"),
    (evaluation, "score_weeks", "scoring"),
    (evaluation, "reviews_to_open", "scoring"),
    (store, "existing_keys", "write: existing_keys"),
    (store, "stored_unauthorized", "write: existing_keys"),
    (store, "delete_findings", "write: drop_stale_verdicts"),
    (store, "drop_stored_authorized", "write: drop_stale_verdicts"),
    (store, "save_findings", "write: save_findings"),
    (store, "save_scorecards", "write: other"),
    (store, "open_reviews", "write: other"),
    (outbox, "enqueue", "write: enqueue"),
    (store, "ratified_keys", "write: other"),
    (store, "review_states", "write: other"),
    (repo, "get_cursor_with_details", "write: other"),
    (repo, "set_cursor", "write: other"),
    (Session, "commit", "write: commit"),
)


def install(timer: PhaseTimer) -> None:
    from rules.authority import Judge

    timer.patch(Judge, "unauthorized_items", "judge")
    for owner, attribute, name in PHASES:
        timer.patch(owner, attribute, name)


def max_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_main(args: argparse.Namespace) -> int:
    """`--measure full|incremental`: one evaluation of `--url`; one JSON line on stdout."""
    baseline = max_rss_kb()
    loaded: LoadedRegistry = load_registry_file(REGISTRY)
    engine = make_engine(args.url)
    timer = PhaseTimer()
    install(timer)
    full = args.measure == "full"
    profiler = cProfile.Profile() if args.profile else None
    cpu, began = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report = evaluation.evaluate(session_factory(engine), loaded, full=full,
                                 now=FULL_NOW if full else INCREMENT_NOW)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    engine.dispose()
    print(json.dumps({
        "mode": args.measure,
        "wall_s": wall,
        "cpu_s": cpu,
        "evaluate_s": report.seconds,
        "phases": timer.seconds,
        "calls": timer.calls,
        "rss_before_kb": baseline,
        "max_rss_kb": max_rss_kb(),
        "report": {
            "full": report.full, "items": report.items, "not_judged": report.not_judged,
            "events_not_judged": report.events_not_judged, "verdicts": report.verdicts,
            "unauthorized": report.unauthorized, "findings": dict(report.findings),
            "new_findings": dict(report.new_findings), "scorecards": report.scorecards,
            "reviews_opened": len(report.reviews_opened), "alerts": report.alerts,
        },
        "profiled": profiler is not None,
    }))
    return 0


# --- databases ------------------------------------------------------------------------------


@dataclass
class Databases:
    """The pristine database the data is generated into; `run` gets the full evaluation and the
    incremental one as the full evaluation left the risk reviews, `steady` a copy made after
    the full evaluation where old reviews are closed before its incremental evaluation."""

    pristine: str
    run: str
    steady: str
    copy: Callable[[str, str], None]  # (source URL, target URL): target replaced by a copy
    size_mb: Callable[[str], float]


@contextmanager
def databases(url: str | None, workdir: Path, keep: bool) -> Iterator[Databases]:
    if not url:
        yield _sqlite_databases(workdir)
        return
    parsed = make_url(url)
    name = parsed.database or ""
    if parsed.get_backend_name() != "postgresql" or not name.startswith("bench"):
        raise SystemExit("--database-url: a PostgreSQL URL whose database name starts with bench")
    pristine, steady = (parsed.set(database=f"{name}_{suffix}").render_as_string(
        hide_password=False) for suffix in ("pristine", "steady"))
    _postgres_admin(pristine, "DROP DATABASE IF EXISTS {} WITH (FORCE)", "CREATE DATABASE {}")

    def copy(source: str, target: str) -> None:
        template = _quoted(make_url(source).database or "")
        _postgres_admin(target, "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        f"CREATE DATABASE {{}} TEMPLATE {template}")

    def size_mb(target: str) -> float:
        engine = make_engine(target)
        try:
            with engine.connect() as connection:
                return float(connection.scalar(text(
                    "SELECT pg_database_size(current_database())")) or 0) / 1e6
        finally:
            engine.dispose()

    try:
        yield Databases(pristine, url, steady, copy, size_mb)
    finally:
        if not keep:
            for target in (url, steady, pristine):
                _postgres_admin(target, "DROP DATABASE IF EXISTS {} WITH (FORCE)")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_databases(workdir: Path) -> Databases:
    def path(url: str) -> str:
        return url.removeprefix("sqlite:///")

    def copy(source: str, target: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(path(target) + suffix).unlink(missing_ok=True)
        for suffix in ("", "-wal"):  # a WAL not yet checkpointed holds committed pages
            if Path(path(source) + suffix).exists():
                shutil.copyfile(path(source) + suffix, path(target) + suffix)

    def size_mb(target: str) -> float:
        files = [Path(path(target) + suffix) for suffix in ("", "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) / 1e6

    pristine, run, steady = (f"sqlite:///{workdir / name}.db"
                             for name in ("pristine", "run", "steady"))
    return Databases(pristine, run, steady, copy, size_mb)


def _postgres_admin(url: str, *statements: str) -> None:
    """Run `statements` ({} = the URL's database) from the server's `postgres` database."""
    import psycopg
    from psycopg import sql

    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        for statement in statements:
            query = sql.SQL(statement)  # only this file's own statements
            conn.execute(query.format(sql.Identifier(target.database or "")))


def prepare_pristine(url: str, world: World, args: argparse.Namespace) -> dict[str, Any]:
    """Migrate and fill the pristine database; its rows were synced a day before the runs."""
    migrate.upgrade(url)
    engine = make_engine(url)
    began = time.perf_counter()
    try:
        synced_at = datetime.now(UTC) - timedelta(days=1)
        counts = generate(session_factory(engine), world, args.items, args.events, args.seed,
                          synced_at)
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return {"seconds": time.perf_counter() - began, "rows": counts}


def pristine_for(dbs: Databases, world: World, args: argparse.Namespace,
                 workdir: Path) -> dict[str, Any]:
    """The pristine database: generated, or (SQLite, `--workdir`) reused when generated there
    before with the same parameters."""
    stamp = workdir / "pristine.json"
    wanted = {"items": args.items, "events": args.events, "seed": args.seed,
              "unauthorized_share": args.unauthorized_share}
    if not args.database_url and stamp.exists() and (workdir / "pristine.db").exists():
        saved = json.loads(stamp.read_text())
        if saved["params"] == wanted:
            migrate.upgrade(dbs.pristine)  # generated under an older schema: bring it up
            return {**saved["generated"], "reused": True}
    (workdir / "pristine.db").unlink(missing_ok=True)
    generated = prepare_pristine(dbs.pristine, world, args)
    stamp.write_text(json.dumps({"params": wanted, "generated": generated}))
    return generated


# --- the orchestrator -----------------------------------------------------------------------


def load_average() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def spawn_measure(args: argparse.Namespace, url: str, mode: str, profile: Path | None,
                  ) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", mode, "--url", url]
    if profile is not None:
        command += ["--profile", str(profile)]
    load_before = load_average()
    try:
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              timeout=args.timeout, check=True)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"an evaluation took longer than --timeout {args.timeout} s") from None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_before"], result["load_after"] = load_before, load_average()
    return result


def one_run(args: argparse.Namespace, dbs: Databases, loaded: LoadedRegistry, world: World,
            number: int) -> dict[str, Any]:
    """Full evaluation; the increment; the incremental evaluation with the risk reviews as the
    full one left them (all open) and, on a copy, with the old ones closed."""
    profile = Path(args.profile_dir) if args.profile_dir else None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)

    def measured(url: str, mode: str, label: str) -> dict[str, Any]:
        return spawn_measure(args, url, mode, profile / f"{label}-{number}.prof" if profile
                             else None)

    dbs.copy(dbs.pristine, dbs.run)
    run: dict[str, Any] = {"full": measured(dbs.run, "full", "full")}
    if "incremental_closed" in args.modes:
        dbs.copy(dbs.run, dbs.steady)
        run["increment"] = write_increment(args, dbs.steady, world)
        run["reviews_closed"] = close_old_reviews(dbs.steady, loaded)
        run["incremental_closed"] = measured(dbs.steady, "incremental", "incremental-closed")
    if "incremental" in args.modes:
        run["increment"] = write_increment(args, dbs.run, world)
        run["incremental"] = measured(dbs.run, "incremental", "incremental")
    return run | {"stored": stored_counts(dbs.run), "database_mb": dbs.size_mb(dbs.run)}


def write_increment(args: argparse.Namespace, url: str, world: World) -> dict[str, Any]:
    engine = make_engine(url)
    began = time.perf_counter()
    try:
        increment: dict[str, Any] = add_increment(
            session_factory(engine), world, round(args.events * args.increment_share), args.seed)
    finally:
        engine.dispose()
    increment["seconds"] = time.perf_counter() - began
    return increment


def close_old_reviews(url: str, loaded: LoadedRegistry) -> int:
    """Risk owners close every review older than the last full week (the evaluation re-reads
    history back to the oldest review not closed, so open ones from months ago widen every
    incremental run); the project's own `governance.close`, closing alerts included."""
    registry = loaded.registry
    last_full = shift_week(week_of(INCREMENT_NOW, registry.tz), -1)
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            old = [r for r in store.review_states(session)
                   if r.status != "closed" and monday(r.week) < monday(last_full)]
            for review in old:
                governance.close(session, registry, review.id, review.owner,
                                 "closed by bench/evaluate.py (steady state)")
    finally:
        engine.dispose()
    return len(old)


def stored_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {model.__tablename__: connection.scalar(
                select(func.count()).select_from(model)) or 0
                for model in (Finding, Scorecard, AlertOutbox)}
    finally:
        engine.dispose()


def machine() -> dict[str, Any]:
    names = [line.split(":", 1)[1].strip() for line in
             Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return {"cores": os.cpu_count(), "cpu": names[0] if names else platform.processor(),
            "ram_gb": round(pages * page_size / 2**30, 1), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


def orchestrate(args: argparse.Namespace) -> int:
    loaded = load_registry_file(REGISTRY)
    world = compile_world(loaded.registry, args.unauthorized_share)
    keep = args.keep or bool(args.workdir)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-evaluate-"))
    workdir.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    try:
        with databases(args.database_url, workdir, keep) as dbs:
            generated = pristine_for(dbs, world, args, workdir)
            print(f"generated in {generated['seconds']:.0f} s: {generated['rows']}",
                  file=sys.stderr)
            for number in range(1, args.runs + 1):
                began = time.perf_counter()
                runs.append(one_run(args, dbs, loaded, world, number))
                print(f"run {number}/{args.runs}: {time.perf_counter() - began:.0f} s",
                      file=sys.stderr)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    payload = {
        "machine": machine(),
        "command": " ".join([".venv/bin/python", "bench/evaluate.py", *sys.argv[1:]]),
        "database": "postgresql" if args.database_url else "sqlite",
        "items": args.items, "events": args.events, "seed": args.seed,
        "generated": generated, "runs": runs,
    }
    print_report(payload, sys.stdout)
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


# --- the report -----------------------------------------------------------------------------


GROUPS = ("load", "judge", "findings", "scoring", "write: existing_keys",
          "write: drop_stale_verdicts", "write: save_findings", "write: enqueue",
          "write: commit", "write: other")
MODES = {
    "full": "full evaluation",
    "incremental": "incremental evaluation (risk reviews as the full one left them)",
    "incremental_closed": "incremental evaluation (reviews before the last full week closed)",
}
TARGETS = {"full": 60.0, "incremental": 3.0, "incremental_closed": 3.0}
RSS_TARGET_MB = 1024.0


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def _row(out: IO[str], label: str, values: Sequence[float], fmt: str) -> None:
    med, low, high = spread(values)
    print(f"  {label:<36} {med:{fmt}}  ({low:{fmt}} – {high:{fmt}})", file=out)


def phase_seconds(result: dict[str, Any]) -> dict[str, float]:
    phases = {group: result["phases"].get(group, 0.0) for group in GROUPS}
    phases["other (rows, alerts, glue)"] = result["wall_s"] - sum(phases.values())
    return phases


def print_report(payload: dict[str, Any], out: IO[str]) -> None:
    m, runs = payload["machine"], payload["runs"]
    print(f"machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB, Python {m['python']}",
          file=out)
    rows = payload["generated"]["rows"]
    print(f"data: {payload['items']:,} items ({rows.get('jira_issues', 0):,} Jira issues, "
          f"{rows.get('pd_incidents', 0):,} incidents), "
          f"{rows.get('ownership_events', 0):,} ownership events, "
          f"{rows.get('jira_changelog_items', 0):,} changelog items, "
          f"{rows.get('pd_log_entries', 0):,} log entries; generated in "
          f"{payload['generated']['seconds']:.0f} s (not measured); {payload['database']}",
          file=out)
    print(f"{len(runs)} run(s): median (min – max)", file=out)
    for mode, title in MODES.items():
        if mode not in runs[0]:
            continue
        _print_mode(out, title, [run[mode] for run in runs])
        if mode == "full" and "increment" in runs[0]:
            increment = runs[0]["increment"]
            print(f"increment: {increment['events']:,} new ownership events on "
                  f"{increment['issues']:,} issues and {increment['incidents']:,} incidents "
                  f"(written in {increment['seconds']:.1f} s, not measured); "
                  f"{runs[0].get('reviews_closed', 0)} old risk reviews closed on the copy",
                  file=out)
    _print_targets(out, runs)


def _print_mode(out: IO[str], title: str, results: list[dict[str, Any]]) -> None:
    first = results[0]["report"]
    print(f"{title}: {first['items']:,} items judged, {first['verdicts']:,} "
          f"verdicts ({first['unauthorized']:,} unauthorized), "
          f"{sum(first['findings'].values()):,} findings, {first['scorecards']} scorecards, "
          f"{first['reviews_opened']} reviews opened, {first['alerts']:,} alerts"
          f"{' [PROFILED: times inflated]' if results[0]['profiled'] else ''}", file=out)
    _row(out, "wall time, s", [r["wall_s"] for r in results], ",.2f")
    _row(out, "CPU time, s", [r["cpu_s"] for r in results], ",.2f")
    _row(out, "peak RSS, MB", [r["max_rss_kb"] / 1024 for r in results], ",.0f")
    _row(out, "load average (1 min) before", [r["load_before"][0] for r in results], ".2f")
    breakdown = [phase_seconds(r) for r in results]
    for phase in breakdown[0]:
        _row(out, f"  {phase}, s", [b[phase] for b in breakdown], ",.2f")
    print(f"  findings by type (first run): {dict(sorted(first['findings'].items()))}", file=out)


def _print_targets(out: IO[str], runs: list[dict[str, Any]]) -> None:
    print("targets", file=out)
    for mode, limit in TARGETS.items():
        if mode not in runs[0]:
            continue
        med = statistics.median(run[mode]["wall_s"] for run in runs)
        verdict = "met" if med < limit else f"MISSED by {med - limit:,.1f} s"
        print(f"  {mode} under {limit:g} s: median {med:,.2f} s: {verdict}", file=out)
    peak = max(run[mode]["max_rss_kb"] for run in runs for mode in MODES if mode in run) / 1024
    verdict = "met" if peak < RSS_TARGET_MB else f"MISSED by {peak - RSS_TARGET_MB:,.0f} MB"
    print(f"  peak RSS under 1 GB: highest {peak:,.0f} MB: {verdict}", file=out)


def _modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or "full" not in modes:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(MODES)}; full is required")
    return modes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=1_000_000, help="ownership events")
    parser.add_argument("--runs", type=int, default=3, help="full + incremental evaluations")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--increment-share", type=float, default=0.01,
                        help="new events before the incremental evaluation, share of --events")
    parser.add_argument("--unauthorized-share", type=float, default=0.08,
                        help="share of ownership changes drawn as unauthorized patterns")
    parser.add_argument("--database-url", help="PostgreSQL (database name starting with bench; "
                        "it and <name>_pristine are created and dropped); default SQLite files")
    parser.add_argument("--json", help="write every run's raw figures to this file")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per evaluation")
    parser.add_argument("--profile-dir", help="run the evaluations under cProfile, stats here "
                        "(times are inflated: for finding hot spots, not for figures)")
    parser.add_argument("--modes", type=_modes, default=list(MODES),
                        help=f"evaluations to run, comma-separated (default {','.join(MODES)})")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--workdir", help="keep the SQLite files here and reuse the pristine "
                        "database generated there with the same parameters")
    parser.add_argument("--measure", choices=("full", "incremental"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.measure:
        return measure_main(args)
    return orchestrate(args)


if __name__ == "__main__":
    raise SystemExit(main())
