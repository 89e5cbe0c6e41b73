"""The draft registry as YAML (SPEC §3), every proposal with its evidence as a comment.

What the data cannot answer is written `null  # TODO: …`: the registry's validation refuses a
null owner, approver, organization or leadership, so the file cannot be used until a person
fills each blank, and the blanks are easy to find (`grep TODO`). Everything else is valid SPEC §3
YAML. Values from the sources (names, status names, emails) are written as JSON strings, which
are YAML double-quoted scalars: a status called `Done: yes # no` stays one value. Comments are
made one line, so a name with a line break cannot start a key of its own.
"""

from __future__ import annotations

import json

from accountability.usecases.draft import DraftResult
from connectors.text import one_line
from rules.draft import REASSIGNMENT, Draft, ProposedStage

TODO = "null  # TODO:"
"""How every blank starts: a value validation refuses, and the marker to search for."""


def q(value: str) -> str:
    """A YAML scalar that is exactly `value` whatever it contains."""
    return json.dumps(value, ensure_ascii=False)


def _comment(text: str) -> str:
    return "# " + one_line(text)


def _flow_list(ids: list[str]) -> str:
    return "[" + ", ".join(q(i) for i in ids) + "]"


def render_draft(result: DraftResult, written_on: str) -> str:
    """The draft file's text; `written_on` is the date the command ran (from its clock)."""
    draft, request = result.draft, result.request
    period = draft.period.label
    read = []
    if request.projects:
        jql = f" with jql {request.jql}" if request.jql else ""
        read.append(f"Jira projects {', '.join(request.projects)}{jql}: {draft.issues} issues")
    if request.services:
        read.append(f"PagerDuty services {', '.join(request.services)}: "
                    f"{draft.incidents} incidents")
    lines = [
        f"# Draft registry for workflow {request.workflow!r}, written by "
        f"`accountability registry draft` on {written_on}.",
        _comment(f"Read {period}: " + "; ".join(read) + "."),
        "# Every proposal carries its evidence as a comment. Each null marked TODO is a",
        "# question the data cannot answer: `accountability registry validate` refuses this",
        "# file until a person fills every one of them (grep TODO).",
        "version: 1",
        f"organization: {TODO} your organization's name",
    ]
    zone = result.timezone or "UTC"
    why = ("the Jira account's time zone" if result.timezone
           else "no Jira read: check the zone your weeks are in")
    lines.append(f"timezone: {q(zone)}  {_comment(why)}")
    lines.append(f"leadership: {TODO} who receives the weekly digest, e.g. [dana]")
    lines += _people(draft)
    lines += _automation(draft)
    lines += _workflow(result)
    return "\n".join(lines) + "\n"


def _people(draft: Draft) -> list[str]:
    lines = ["people:"] if draft.people else ["people: {}"]
    for person in draft.people:
        fields = [f"name: {q(person.name)}"]
        if person.email:
            fields.append(f"email: {q(person.email)}")
        if person.jira:
            fields.append(f"jira: {q(person.jira)}")
        if person.pagerduty:
            fields.append(f"pagerduty: {q(person.pagerduty)}")
        lines.append(f"  {_comment(person.evidence)}")
        lines.append(f"  {person.id}: {{{', '.join(fields)}}}")
    return lines


def _automation(draft: Draft) -> list[str]:
    if not draft.automation:
        return ["automation: []  # no non-user agent changed ownership in the period"]
    lines = ["automation:                # candidate automation: non-user agents seen"]
    for agent in draft.automation:
        fields = [f"id: {q(agent.id)}"]
        if agent.jira:
            fields.append(f"jira: {q(agent.jira)}")
        if agent.pagerduty:
            fields.append(f"pagerduty: {q(agent.pagerduty)}")
        may = f"[{REASSIGNMENT}]" if agent.changes else "[]"
        fields.append(f"may: {may}")
        lines.append(f"  {_comment(agent.evidence)}")
        lines.append(f"  - {{{', '.join(fields)}}}")
    return lines


def _workflow(result: DraftResult) -> list[str]:
    draft, request = result.draft, result.request
    name = ", ".join(request.projects or request.services)
    lines = [
        "workflows:",
        f"  {request.workflow}:",
        f"    name: {q(name)}  # rename to what the workflow delivers",
        "    outcome:",
        f"      owner: {TODO} outcome owner: who answers for the workflow's result",
        f"    workflow_owner: {TODO} who runs the workflow day to day",
        f"    risk_owner: {TODO} risk owner: who decides when to pause or stop",
        "    sources:",
    ]
    if request.projects:
        jira = f"projects: {_flow_list(list(request.projects))}"
        if request.jql:
            jira += f", jql: {q(request.jql)}"
        lines.append(f"      jira: {{{jira}}}")
    if request.services:
        pd = f"services: {_flow_list(list(request.services))}"
        if draft.escalation_policies:
            pd += f", escalation_policies: {_flow_list(list(draft.escalation_policies))}"
        lines.append(f"      pagerduty: {{{pd}}}  # policies: those of the period's incidents")
    lines.append("    stages:                  # ordered as items move through them")
    lines += [line for stage in draft.stages for line in _stage(stage)]
    lines += _decisions(draft)
    return lines


def _stage(stage: ProposedStage) -> list[str]:
    """A block mapping: the owner line carries its own comment (the evidence is above)."""
    lines = [f"      {_comment(stage.evidence)}", f"      - id: {q(stage.id)}"]
    if stage.statuses:
        lines.append(f"        jira_statuses: {_flow_list(list(stage.statuses))}")
    if stage.pagerduty:
        lines.append("        pagerduty: true")
    if stage.terminal:
        lines.append("        terminal: true")
    elif stage.owner:
        lines.append(f"        owner: {q(stage.owner)}  # the de-facto owner (evidence above)")
    else:
        lines.append(f"        owner: {TODO} nobody held its items; who owns this stage?")
    return lines


def _decisions(draft: Draft) -> list[str]:
    lines = ["    decisions:"]
    executors = [e.person for e in draft.executors]
    lines.append(f"      {REASSIGNMENT}:")
    lines.append(f"        approves: {TODO} who may approve a change of owner, e.g. [dana]")
    if executors:
        for executor in draft.executors:
            lines.append(f"        {_comment(executor.person + ': ' + executor.evidence)}")
        lines.append(f"        executes: {_flow_list(executors)}  # the people who reassign")
    else:
        lines.append("        executes: []  # nobody reassigned in the period")
    for point in draft.decision_points:
        lines.append(f"      {_comment(point.evidence)}")
        lines.append(f"      {q(point.decision)}:")
        if point.approver:
            lines.append(f"        approves: [{q(point.approver)}]  # releases items most often")
        else:
            lines.append(f"        approves: {TODO} who releases items from {q(point.status)}?")
    if draft.decision_points:
        lines.append("    decision_points:          # statuses where items wait for a non-assignee")
        for point in draft.decision_points:
            lines.append(f"      - {{decision: {q(point.decision)}, "
                         f"jira_statuses: [{q(point.status)}]}}")
    return lines
