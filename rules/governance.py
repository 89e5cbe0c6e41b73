"""Who may ratify, acknowledge, close and decide (SPEC §4, §5, §8): pure permission checks.

Each check returns None when allowed, or a sentence naming who may, for the CLI's exit-2
message.
"""

from __future__ import annotations

from rules.registry import Registry

DECISIONS = ("continue", "stabilize", "pause", "stop")


def _names(registry: Registry, people: set[str]) -> str:
    return ", ".join(sorted(people)) or "nobody"


def _known(registry: Registry, person: str) -> str | None:
    if person not in registry.people:
        return f"'{person}' is not a person in the registry"
    return None


def may_ratify(registry: Registry, person: str, workflow: str, decision: str | None) -> str | None:
    """The workflow's outcome owner or an approver of the decision judged."""
    unknown = _known(registry, person)
    if unknown:
        return unknown
    spec = registry.workflows[workflow]
    allowed = {spec.outcome.owner}
    if decision and decision in spec.decisions:
        allowed |= {p for p in registry.expand(spec.decisions[decision].approves)
                    if p in registry.people}
    if person in allowed:
        return None
    return (f"only the outcome owner of '{workflow}' or an approver of '{decision}' may ratify: "
            f"{_names(registry, allowed)}")


def may_handle_review(registry: Registry, person: str, workflow: str, action: str) -> str | None:
    """Acknowledge or close a risk review: its risk owner or the workflow's outcome owner."""
    unknown = _known(registry, person)
    if unknown:
        return unknown
    spec = registry.workflows[workflow]
    allowed = registry.expand([spec.risk_owner, spec.outcome.owner])
    if person in allowed:
        return None
    return (f"only the risk owner or the outcome owner of '{workflow}' may {action} its risk "
            f"reviews: {_names(registry, allowed)}")


def may_decide(registry: Registry, person: str, workflow: str) -> str | None:
    """A governance decision: the outcome owner or leadership."""
    unknown = _known(registry, person)
    if unknown:
        return unknown
    spec = registry.workflows[workflow]
    allowed = registry.expand([spec.outcome.owner, *registry.leadership])
    if person in allowed:
        return None
    return (f"only the outcome owner of '{workflow}' or leadership may record a decision: "
            f"{_names(registry, allowed)}")


def may_confirm_reset(registry: Registry, person: str) -> str | None:
    """A 30-day reset item such as decision rights (SPEC §12): leadership only, since it is
    leadership that confirms who decides what in the focus workflow."""
    unknown = _known(registry, person)
    if unknown:
        return unknown
    allowed = registry.expand(registry.leadership)
    if person in allowed:
        return None
    return f"only leadership may confirm a reset item: {_names(registry, allowed)}"
