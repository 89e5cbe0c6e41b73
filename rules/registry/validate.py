"""Rules that relate one part of the registry to another (SPEC §3).

Each check adds `Problem`s (severity, document path, message) and never stops at the first:
the author fixes the whole file in one pass. Names are checked against the keys found in the
document, not only the entries that passed type validation, so a person with a typo in their
email is not also reported as an unknown person everywhere they are named.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from rules.sources import (
    INCIDENT,
    INCIDENT_ESCALATION,
    REASSIGNMENT,
    SOURCE_NAMES,
    SOURCES,
    TICKET,
    alternatives,
    spec,
)

from .issues import Loc, Problem, Severity
from .models import (
    ID_RULE,
    INCIDENT_STAGE_KEY,
    STAGE_OWNER,
    IncidentSource,
    JiraSource,
    Registry,
    Workflow,
    is_valid_id,
)

_SOURCE_NAMES_OR: str = alternatives(SOURCE_NAMES)
"""`jira or pagerduty`."""


@dataclass(frozen=True)
class Names:
    """The ids the document declares, whether or not their entries are valid."""

    people: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    automation: frozenset[str] = frozenset()
    workflows: frozenset[str] = frozenset()
    decisions: dict[str, frozenset[str]] = field(default_factory=dict)
    """Decision ids per workflow."""

    @classmethod
    def from_document(cls, data: Any) -> Names:
        if not isinstance(data, dict):
            return cls()
        raw_workflows = data.get("workflows")
        if not isinstance(raw_workflows, dict):
            raw_workflows = {}
        automation = data.get("automation")
        if not isinstance(automation, list):
            automation = []
        return cls(
            people=_str_keys(data.get("people")),
            groups=_str_keys(data.get("groups")),
            automation=frozenset(
                entry["id"]
                for entry in automation
                if isinstance(entry, dict) and isinstance(entry.get("id"), str)
            ),
            workflows=_str_keys(raw_workflows),
            decisions={
                wf: _str_keys(body.get("decisions"))
                for wf, body in raw_workflows.items()
                if isinstance(wf, str) and isinstance(body, dict)
            },
        )


def check_ids(data: Any) -> list[Problem]:
    """Ids of workflows, people, groups and automation that are not names (`ID_PATTERN`).

    Read from the document itself, so an entry with a type error still has its id checked:
    ids end up in file names (the registry-check flow writes `maps/<workflow>.html`), and
    `../../elsewhere/evil` must never validate."""
    if not isinstance(data, dict):
        return []
    problems: list[Problem] = []
    for section, what in (("workflows", "workflow"), ("people", "person"), ("groups", "group")):
        entries = data.get(section)
        if isinstance(entries, dict):
            for key in entries:
                if isinstance(key, str) and not is_valid_id(key):
                    problems.append(_bad_id((section, key), what, key))
    automation = data.get("automation")
    if isinstance(automation, list):
        for index, entry in enumerate(automation):
            bot_id = entry.get("id") if isinstance(entry, dict) else None
            if isinstance(bot_id, str) and not is_valid_id(bot_id):
                problems.append(_bad_id(("automation", index, "id"), "automation", bot_id))
    return problems


def _bad_id(loc: Loc, what: str, value: str) -> Problem:
    shown = value if len(value) <= 40 else value[:37] + "..."
    return Problem(
        "error", loc, f"{what} id '{shown}' is not a valid id: use {ID_RULE} (ids become file "
        "names, so no '/', '.' or spaces)"
    )


def _str_keys(value: Any) -> frozenset[str]:
    if not isinstance(value, dict):
        return frozenset()
    return frozenset(key for key in value if isinstance(key, str))


def check(registry: Registry, names: Names, cut: Iterable[Loc] = ()) -> list[Problem]:
    """All cross-reference problems of `registry`.

    `cut` lists places removed before validation (they had type errors): rules that depend on
    them are skipped, and problems located at or around them are dropped by the caller.
    """
    checker = _Checker(registry, names, tuple(cut))
    checker.run()
    return checker.problems


def related(a: Loc, b: Loc) -> bool:
    """One path lies inside the other (or they are equal)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


class _Checker:
    def __init__(self, registry: Registry, names: Names, cut: tuple[Loc, ...]) -> None:
        self.reg = registry
        self.names = names
        self.cut = cut
        self.problems: list[Problem] = []

    def run(self) -> None:
        self._identities()
        self._people()
        self._automation()
        self._groups()
        for index, name in enumerate(self.reg.leadership):
            self._ref(("leadership", index), name)
        if not self.reg.leadership and self._intact(("leadership",)):
            self._add("warning", ("leadership",), "nobody is in leadership: no one gets the digest")
        for wf in self.reg.workflows.values():
            _WorkflowChecker(self, wf).run()
        self._sources()
        self._delegations()
        self._reset()

    # -- helpers

    def _add(self, severity: Severity, loc: Loc, message: str) -> None:
        self.problems.append(Problem(severity, loc, message))

    def _intact(self, loc: Loc) -> bool:
        """Nothing at, inside or around `loc` was cut. (`loc` holds no list index: cut places
        are document paths, whose indexes may differ from the registry's.)"""
        return not any(related(loc, cut) for cut in self.cut)

    def _ref(self, loc: Loc, name: str, *, role: bool = False, automation: bool = False) -> None:
        """`name` must be a person or group (or `stage-owner` if `role`, a bot if `automation`)."""
        names = self.names
        if not name.strip():
            self._add("error", loc, "empty name: give a person or group")
        elif name == STAGE_OWNER:
            if not role:
                self._add(
                    "error",
                    loc,
                    f"'{STAGE_OWNER}' is a role, allowed only in a decision's recommends, "
                    "approves or executes: name a person or group",
                )
        elif name in names.people or name in names.groups:
            return
        elif name in names.automation:
            if not automation:
                self._add("error", loc, f"'{name}' is an automation, not a person or group")
        else:
            known = self.names.people | self.names.groups | ({STAGE_OWNER} if role else set())
            self._add("error", loc, f"unknown person or group '{name}'" + _suggest(name, known))

    # -- people, automation, groups

    def _identities(self) -> None:
        names = self.names
        for name in sorted(names.people & (names.groups | names.automation)):
            other = "a group" if name in names.groups else "an automation"
            self._add(
                "error",
                ("people", name),
                f"'{name}' is both a person and {other}: rename one so references are unambiguous",
            )
        for group in sorted(names.groups & names.automation):
            self._add(
                "error",
                ("groups", group),
                f"'{group}' is both a group and an automation: "
                "rename one so references are unambiguous",
            )
        for section, ids in (("people", names.people), ("groups", names.groups)):
            if STAGE_OWNER in ids:
                self._add(
                    "error",
                    (section, STAGE_OWNER),
                    f"'{STAGE_OWNER}' is a reserved role name: choose another id",
                )
        for key, person in self.reg.people.items():
            if person.id != key:
                self._add(
                    "error",
                    ("people", key, "id"),
                    f"id '{person.id}' differs from its key '{key}': leave id out",
                )
        for key, wf in self.reg.workflows.items():
            if wf.id != key:
                self._add(
                    "error",
                    ("workflows", key, "id"),
                    f"id '{wf.id}' differs from its key '{key}': leave id out",
                )

    def _people(self) -> None:
        for key, person in self.reg.people.items():
            if not person.accounts():
                self._add(
                    "warning",
                    ("people", key),
                    f"no {_SOURCE_NAMES_OR} id: changes they make cannot be attributed to them",
                )
            if not person.email:
                self._add(
                    "warning", ("people", key), "no email: their alerts go to the workflow owner"
                )
        for system in SOURCE_NAMES:
            owner_of: dict[str, str] = {}
            actors: list[tuple[Loc, str, str | None]] = [
                (("people", key), key, p.accounts().get(system))
                for key, p in self.reg.people.items()
            ]
            actors += [
                (("automation", i), a.id, a.accounts().get(system))
                for i, a in enumerate(self.reg.automation)
            ]
            for loc, actor, identity in actors:
                if identity is None:
                    continue
                if identity in owner_of:
                    self._add(
                        "error",
                        (*loc, system),
                        f"{system} id '{identity}' is already "
                        f"used by '{owner_of[identity]}': one id per person or automation",
                    )
                else:
                    owner_of[identity] = actor

    def _automation(self) -> None:
        decisions = set().union(*self.names.decisions.values()) if self.names.decisions else set()
        seen: set[str] = set()
        for index, bot in enumerate(self.reg.automation):
            loc: Loc = ("automation", index)
            if bot.id in seen:
                self._add("error", (*loc, "id"), f"automation '{bot.id}' is declared twice")
            seen.add(bot.id)
            if not bot.accounts():
                neither = " nor a ".join(s.name for s in SOURCES)
                self._add(
                    "error",
                    loc,
                    f"automation '{bot.id}' has neither a {neither} id, so none of its changes "
                    "can be recognised",
                )
            for j, decision in enumerate(bot.may):
                if decision not in decisions:
                    self._add(
                        "warning", (*loc, "may", j), f"no workflow has a decision '{decision}'"
                    )

    def _groups(self) -> None:
        groups = self.reg.groups
        for name, members in groups.items():
            if not members:
                self._add("warning", ("groups", name), f"group '{name}' has no members")
            for index, member in enumerate(members):
                self._ref(("groups", name, index), member)
        reported: set[frozenset[str]] = set()
        for name in groups:
            cycle = _cycle_from(name, groups)
            if cycle and frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                if len(cycle) == 2:
                    message = f"group '{name}' contains itself"
                else:
                    message = f"group '{name}' contains itself: {' → '.join(cycle)}"
                self._add("error", ("groups", name), message)

    # -- across workflows

    def _sources(self) -> None:
        jira: dict[str, list[tuple[str, str | None]]] = {}
        services: dict[tuple[str, str], str] = {}
        for wf_id, wf in self.reg.workflows.items():
            for name, config in wf.sources.configured().items():
                loc: Loc = ("workflows", wf_id, "sources", name)
                label = spec(name).label
                if isinstance(config, JiraSource):
                    self._jira_projects(loc, label, wf_id, config, jira)
                if isinstance(config, IncidentSource):
                    self._incident_services(loc, label, wf_id, name, config, services)

    # Source-specific checks, one per configuration class of `models.Sources`.

    def _jira_projects(
        self,
        loc: Loc,
        label: str,
        wf_id: str,
        config: JiraSource,
        claimed: dict[str, list[tuple[str, str | None]]],
    ) -> None:
        """Jira: two workflows may share a project only when their jql tells them apart."""
        for index, project in enumerate(config.projects):
            for other, other_jql in claimed.get(project, []):
                if config.jql is None or other_jql is None:
                    self._add(
                        "warning",
                        (*loc, "projects", index),
                        f"{label} project '{project}' is also claimed "
                        f"by workflow '{other}' and one of them has no jql: "
                        "its issues count in both",
                    )
                elif " ".join(config.jql.split()) == " ".join(other_jql.split()):
                    self._add(
                        "warning",
                        (*loc, "projects", index),
                        f"{label} project '{project}' is also claimed "
                        f"by workflow '{other}' with the same jql",
                    )
            claimed.setdefault(project, []).append((wf_id, config.jql))

    def _incident_services(
        self,
        loc: Loc,
        label: str,
        wf_id: str,
        source: str,
        config: IncidentSource,
        claimed: dict[tuple[str, str], str],
    ) -> None:
        """Any incident source: an incident belongs to the one workflow naming its service."""
        for index, service in enumerate(config.services):
            if (source, service) in claimed:
                self._add(
                    "error",
                    (*loc, "services", index),
                    f"{label} service '{service}' is already "
                    f"claimed by workflow '{claimed[source, service]}': an incident "
                    "belongs to one workflow",
                )
            else:
                claimed[source, service] = wf_id

    def _delegations(self) -> None:
        valid: list[int] = []
        for index, d in enumerate(self.reg.delegations):
            loc: Loc = ("delegations", index)
            self._ref((*loc, "grantor"), d.grantor)
            self._ref((*loc, "grantee"), d.grantee)
            ok = True
            if d.ends < d.starts:
                self._add(
                    "error",
                    (*loc, "ends"),
                    f"ends {d.ends} is before starts {d.starts}: dates reversed?",
                )
                ok = False
            if d.workflow not in self.names.workflows:
                self._add(
                    "error",
                    (*loc, "workflow"),
                    f"unknown workflow '{d.workflow}'" + _suggest(d.workflow, self.names.workflows),
                )
                continue
            known = self.names.decisions.get(d.workflow, frozenset())
            if d.decision not in known:
                self._add(
                    "error",
                    (*loc, "decision"),
                    f"workflow '{d.workflow}' has no "
                    f"decision '{d.decision}'" + _suggest(d.decision, known),
                )
                continue
            if ok:
                valid.append(index)
            self._grantor_holds(loc, d.grantor, d.workflow, d.decision)
        delegations = self.reg.delegations
        for i, j in combinations(valid, 2):
            a, b = delegations[i], delegations[j]
            same = (a.grantee, a.workflow, a.decision) == (b.grantee, b.workflow, b.decision)
            if same and a.starts <= b.ends and b.starts <= a.ends:
                self._add(
                    "warning",
                    ("delegations", j),
                    f"overlaps the delegation from "
                    f"{a.starts} to {a.ends} of the same decision to '{b.grantee}'",
                )

    def _reset(self) -> None:
        """`reset.workflow` and `next` name workflows of this registry (SPEC §12)."""
        known = self.names.workflows
        reset = self.reg.reset
        if reset is not None and reset.workflow not in known:
            self._add(
                "error",
                ("reset", "workflow"),
                f"unknown workflow '{reset.workflow}': the reset focuses on a workflow of "
                "this registry" + _suggest(reset.workflow, known),
            )
        following = self.reg.next
        if following is not None and following not in known:
            self._add(
                "error",
                ("next",),
                f"unknown workflow '{following}': next names the workflow to focus on after "
                "the reset" + _suggest(following, known),
            )

    def _grantor_holds(self, loc: Loc, grantor: str, wf_id: str, decision_id: str) -> None:
        """Only someone who holds `approves` can delegate it (SPEC §3)."""
        wf = self.reg.workflows.get(wf_id)
        decision = wf.decisions.get(decision_id) if wf is not None else None
        if wf is None or decision is None:
            return  # its entry had type errors
        wf_loc: Loc = ("workflows", wf_id)
        if not all(
            self._intact(loc)
            for loc in (("groups",), (*wf_loc, "stages"), (*wf_loc, "decisions", decision_id))
        ):
            return
        if grantor not in self.names.people and grantor not in self.names.groups:
            return  # already reported as unknown
        holders = self.reg.expand(a for a in decision.approves if a != STAGE_OWNER)
        if STAGE_OWNER in decision.approves:
            holders |= self.reg.expand(s.owner for s in wf.stages if s.owner)
        members = self.reg.expand([grantor])
        if grantor in decision.approves or (members and members <= holders):
            return
        self._add(
            "error",
            (*loc, "grantor"),
            f"'{grantor}' cannot delegate '{decision_id}' in "
            f"workflow '{wf_id}': only its approvers can "
            f"({', '.join(decision.approves) or 'none'})",
        )


class _WorkflowChecker:
    def __init__(self, parent: _Checker, wf: Workflow) -> None:
        self.p = parent
        self.wf = wf
        self.loc: Loc = ("workflows", wf.id)

    def run(self) -> None:
        wf, loc = self.wf, self.loc
        self.p._ref((*loc, "outcome", "owner"), wf.outcome.owner)
        self.p._ref((*loc, "workflow_owner"), wf.workflow_owner)
        self.p._ref((*loc, "risk_owner"), wf.risk_owner)
        if not wf.sources.configured():
            self.p._add(
                "warning",
                (*loc, "sources"),
                f"no {_SOURCE_NAMES_OR} source: no item will ever match this workflow",
            )
        self._stages()
        self._decisions()
        self._decision_points()

    def _stages(self) -> None:
        wf, p = self.wf, self.p
        if not wf.stages:
            p._add("error", (*self.loc, "stages"), "a workflow needs at least one stage")
            return
        ids: set[str] = set()
        statuses: dict[str, str] = {}
        incident_stage: str | None = None
        for index, stage in enumerate(wf.stages):
            loc: Loc = (*self.loc, "stages", index)
            if stage.id in ids:
                p._add("error", (*loc, "id"), f"stage '{stage.id}' is declared twice")
            ids.add(stage.id)
            if stage.owner is not None:
                p._ref((*loc, "owner"), stage.owner)
            elif not stage.terminal:
                p._add(
                    "error",
                    loc,
                    f"stage '{stage.id}' has no owner: add owner, or mark it "
                    "terminal: true if work ends there",
                )
            for j, assignee in enumerate(stage.assignees):
                p._ref((*loc, "assignees", j), assignee)
            for j, status in enumerate(stage.jira_statuses):
                # Jira status names are unique regardless of case: 'Done' and 'done' collide.
                key = status.casefold()
                if key in statuses:
                    p._add(
                        "error",
                        (*loc, "jira_statuses", j),
                        f"Jira status '{status}' is "
                        f"already mapped to stage '{statuses[key]}': a status belongs to "
                        "one stage",
                    )
                else:
                    statuses[key] = stage.id
            if stage.is_incident_stage:
                if incident_stage is not None:
                    p._add(
                        "error",
                        (*loc, INCIDENT_STAGE_KEY),
                        f"stage '{incident_stage}' is already the {INCIDENT_STAGE_KEY} stage: "
                        "mark only one",
                    )
                else:
                    incident_stage = stage.id
        incident_sources = wf.sources.of_kind(INCIDENT)
        if incident_sources and incident_stage is None:
            p._add(
                "warning",
                (*self.loc, "stages"),
                f"the workflow has a {incident_sources[0]} source but no stage marked "
                f"{INCIDENT_STAGE_KEY}: true, so incidents have no stage",
            )
        if TICKET in wf.sources.kinds() and not any(stage.terminal for stage in wf.stages):
            p._add(
                "warning",
                (*self.loc, "stages"),
                "no stage is terminal: throughput will always be 0",
            )

    def _decisions(self) -> None:
        wf, p = self.wf, self.p
        for decision_id, decision in wf.decisions.items():
            loc: Loc = (*self.loc, "decisions", decision_id)
            if not decision.approves:
                p._add(
                    "error",
                    loc,
                    f"decision '{decision_id}' has no approver: add approves: [person or group]",
                )
            roles = (
                ("recommends", decision.recommends),
                ("approves", decision.approves),
                ("executes", decision.executes),
            )
            for role, names in roles:
                for j, name in enumerate(names):
                    p._ref((*loc, role, j), name, role=True, automation=True)
            for j, name in enumerate(decision.informed):
                p._ref((*loc, "informed", j), name)
        if not p._intact((*self.loc, "decisions")):
            return
        tickets, incidents = wf.sources.of_kind(TICKET), wf.sources.of_kind(INCIDENT)
        if tickets and REASSIGNMENT not in wf.decisions:
            p._add(
                "warning",
                (*self.loc, "decisions"),
                f"no '{REASSIGNMENT}' decision: every {_labels(tickets)} ownership change in "
                "this workflow will be unauthorized",
            )
        elif incidents and not ({REASSIGNMENT, INCIDENT_ESCALATION} & wf.decisions.keys()):
            p._add(
                "warning",
                (*self.loc, "decisions"),
                f"no '{INCIDENT_ESCALATION}' or '{REASSIGNMENT}' decision: every "
                f"{_labels(incidents)} ownership change will be unauthorized",
            )

    def _decision_points(self) -> None:
        wf, p = self.wf, self.p
        known = p.names.decisions.get(wf.id, frozenset(wf.decisions))
        statuses: dict[str, str] = {}
        for index, point in enumerate(wf.decision_points):
            loc: Loc = (*self.loc, "decision_points", index)
            if point.decision not in known:
                p._add(
                    "error",
                    (*loc, "decision"),
                    f"unknown decision '{point.decision}' "
                    f"(this workflow's decisions: {', '.join(wf.decisions) or 'none'})",
                )
            for j, status in enumerate(point.jira_statuses):
                key = status.casefold()
                if key in statuses and statuses[key] != point.decision:
                    p._add(
                        "error",
                        (*loc, "jira_statuses", j),
                        f"Jira status '{status}' is "
                        f"already the decision point of '{statuses[key]}'",
                    )
                statuses.setdefault(key, point.decision)


def _labels(sources: list[str]) -> str:
    """`Jira`, `Jira or Linear`: the labels of these sources, for a message."""
    return alternatives([spec(name).label for name in sources])


def _cycle_from(start: str, groups: dict[str, list[str]]) -> list[str] | None:
    """A path start → … → start through nested groups, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        for member in groups.get(name, []):
            if member == start:
                return [*path, start]
            if member in groups and member not in seen:
                seen.add(member)
                stack.append((member, [*path, member]))
    return None


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), 1)
    return f" (did you mean '{close[0]}'?)" if close else ""
