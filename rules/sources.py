"""The sources the rules know, and the one thing the rules ask about them: the kind of item.

The facts name the vendor an item came from (`ItemHistory.source`, `OwnershipChange.source`,
identity references `<source>:<id>`); the rules never branch on that name. They look up the
source's `SourceSpec` here and reason about its **kind**:

- `ticket` (Jira): a work item that moves through workflow stages by its status (the stage
  field `jira_statuses`, replayed from the status history); its owner is its assignee, and an
  assignee change exercises the `reassignment` decision. A ticket entering a terminal stage
  counts in throughput, leaving one is a reopen; a ticket with nobody assigned in a
  non-terminal stage can become an `unowned_item`; a status no stage maps is a registry gap.
- `incident` (PagerDuty): an alert routed to responders; it is always in the workflow's
  incident stage (the stage marked `pagerduty: true` in the registry format), its ownership
  changes exercise `incident-escalation` (falling back to `reassignment` when the workflow
  lacks it), it belongs to the workflow whose incident services name its service, and it counts
  in `exception_rate` when triggered and in decision latency from trigger to acknowledgement.
  Its log entries may be made by the tool itself rather than a person (`NON_USER_AGENTS`): that
  routing is authorized when the incident's escalation policy is one the workflow declares.

Adding a source is one row in `SOURCES` plus, in `rules.registry.models`, its identity field on
`Person` and `Automation` and its configuration block on `Sources` (the registry format,
SPEC §3); no rule module changes. Source-specific wording (the label in a message) comes from
the row too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

ItemKind = Literal["ticket", "incident"]
TICKET: Final = "ticket"
INCIDENT: Final = "incident"


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One source of items, as the rules see it."""

    name: str
    """The value stored in facts' `source`, the prefix of its identity references
    (`jira:<accountId>`), the registry's `sources:` key and a person's / automation's identity
    key."""
    label: str
    """How messages name it: "Jira"."""
    kind: ItemKind
    """What the rules reason about (see the module docstring)."""
    account: str
    """How messages name one of its identities: "Jira account", "PagerDuty id"."""

    def ref(self, account_id: str) -> str:
        """The identity reference of `account_id` in this source: `jira:<accountId>`."""
        return f"{self.name}:{account_id}"


JIRA: Final = SourceSpec("jira", "Jira", TICKET, "Jira account")
PAGERDUTY: Final = SourceSpec("pagerduty", "PagerDuty", INCIDENT, "PagerDuty id")

SOURCES: Final[tuple[SourceSpec, ...]] = (JIRA, PAGERDUTY)
"""Every source, in the order messages list them."""

SOURCE_NAMES: Final[tuple[str, ...]] = tuple(s.name for s in SOURCES)

_BY_NAME: Final[Mapping[str, SourceSpec]] = {s.name: s for s in SOURCES}

KINDS: Final[Mapping[str, ItemKind]] = {s.name: s.kind for s in SOURCES}
"""Source name → kind, for loops that look it up per item (`KINDS.get(item.source)`: None
for a source no row declares, which the rules leave alone)."""

INCIDENT_SOURCES: Final[frozenset[str]] = frozenset(s.name for s in SOURCES if s.kind == INCIDENT)
"""Names of the incident sources: `source in INCIDENT_SOURCES` is the hot-loop form of
`kind_of(source) == INCIDENT` (one set lookup per change)."""

TICKET_SOURCES: Final[frozenset[str]] = frozenset(s.name for s in SOURCES if s.kind == TICKET)

# --- kind-level knowledge -------------------------------------------------------------------

REASSIGNMENT: Final = "reassignment"
"""The decision a ticket's ownership change exercises (and the fallback for incidents)."""
INCIDENT_ESCALATION: Final = "incident-escalation"
"""The decision an incident's ownership change exercises, when the workflow declares it."""

NON_USER_AGENTS: Final = frozenset({"service", "escalation_policy", "integration", "unknown"})
"""Actor kinds (`OwnershipChange.actor_kind`) of an incident tool's own routing, not a person
deciding (SPEC §4): a service, an escalation policy, an integration, or an entry that names no
agent (`unknown`: no agent, or a reference type that is not a user). Only read for incident
sources: a ticket's `unknown` author stays an unknown actor."""


def spec(name: str) -> SourceSpec:
    """The source called `name`; ValueError naming the known ones when there is none."""
    found = _BY_NAME.get(name)
    if found is None:
        known = ", ".join(SOURCE_NAMES)
        raise ValueError(f"unknown source '{name}' (sources: {known})")
    return found


def find(name: str) -> SourceSpec | None:
    """The source called `name`, or None."""
    return _BY_NAME.get(name)


def kind_of(source: str) -> ItemKind:
    """The kind of item `source` provides; ValueError for an unknown source."""
    return spec(source).kind


def source_of_ref(ref: str) -> SourceSpec | None:
    """The source of an identity or event reference (`jira:<accountId>`), or None."""
    return _BY_NAME.get(ref.partition(":")[0])


def alternatives(words: list[str] | tuple[str, ...]) -> str:
    """`a`, `a or b`, `a, b or c`: how messages list the sources."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} or {words[-1]}"
