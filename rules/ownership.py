"""Ownership events (SPEC §4 table) normalized from raw Jira histories and PagerDuty log entries.

Pure: raw vendor dicts in, `OwnershipEvent`s out. Identities stay vendor references
(`jira:<accountId>`, `pagerduty:<id>`); mapping them to registry people is the authority
rules' job, done at evaluation time so that a registry edit re-judges old events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

JIRA_OWNER_FIELD = "assignee"
PAGERDUTY_OWNERSHIP_TYPES = frozenset(
    {"assign_log_entry", "escalate_log_entry", "delegate_log_entry", "reassign_log_entry"}
)
_AGENT_KINDS = {
    "user_reference": "user",
    "user": "user",
    "service_reference": "service",
    "service": "service",
    "escalation_policy_reference": "escalation_policy",
    "escalation_policy": "escalation_policy",
}
"""Agent types with a kind of their own. PagerDuty's OpenAPI document (`AgentReference`:
`user_reference`, `service_reference`, `integration_reference`; `IntegrationReference`: ten
`*_inbound_integration_reference` kinds and `inbound_integration_reference`) is not the whole
story: real accounts also name escalation policies, and some entries carry no agent."""

NO_AGENT: Final = "pagerduty:unknown"
"""The actor of a log entry without an agent (or one without an id)."""


class MalformedRecordError(ValueError):
    """A record lacks what normalization needs; the sync quarantines it with this reason."""


@dataclass(frozen=True)
class OwnershipEvent:
    source_ref: str  # jira:<history id>:<item index> | pagerduty:<log entry id>
    source: str  # jira | pagerduty
    item: str  # Jira issue key | PagerDuty incident id
    at: datetime  # aware, UTC
    actor_ref: str  # jira:<accountId> | pagerduty:<id>
    actor_kind: str  # user | service | escalation_policy | integration | unknown
    from_refs: tuple[str, ...]
    to_refs: tuple[str, ...]
    event_type: str  # assignee | <log entry type>
    seq: int = 0
    """Place among the item's events, to order events of the same second: the position in
    the incident's replayed log for PagerDuty (whose ids are random, so they cannot break a
    tie), 0 for Jira (whose history ids do)."""


def parse_timestamp(value: object) -> datetime:
    """Vendor timestamps (`…+0200`, `…Z`) as aware UTC datetimes."""
    if not isinstance(value, str):
        raise MalformedRecordError(f"timestamp missing or not a string: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedRecordError(f"unreadable timestamp {value!r}") from None
    if parsed.tzinfo is None:
        raise MalformedRecordError(f"timestamp without a time zone: {value!r}")
    return parsed.astimezone(UTC)


def jira_events(issue_key: str, histories: Iterable[Mapping[str, Any]]) -> Iterator[OwnershipEvent]:
    """One event per assignee item; items are keyed by (history id, item index)."""
    for history in histories:
        history_id = history.get("id")
        if history_id is None:
            raise MalformedRecordError(f"{issue_key}: changelog history without id")
        items = history.get("items") or []
        for index, item in enumerate(items):
            if (item.get("fieldId") or item.get("field")) != JIRA_OWNER_FIELD:
                continue
            author = history.get("author") or {}
            account = author.get("accountId")
            yield OwnershipEvent(
                source_ref=f"jira:{history_id}:{index}",
                source="jira",
                item=issue_key,
                at=parse_timestamp(history.get("created")),
                actor_ref=f"jira:{account}" if account else "jira:unknown",
                actor_kind="user" if account else "unknown",
                # Cloud also sends the account ids as `tmpFromAccountId`/`tmpToAccountId`
                # (captured API and webhook payloads); they fill in an empty `from`/`to`.
                from_refs=_jira_refs(item.get("from") or item.get("tmpFromAccountId")),
                to_refs=_jira_refs(item.get("to") or item.get("tmpToAccountId")),
                event_type=JIRA_OWNER_FIELD,
            )


def _jira_refs(account_id: object) -> tuple[str, ...]:
    return (f"jira:{account_id}",) if account_id else ()


def pagerduty_agent_kind(agent: object) -> str:
    """The actor kind of a log entry's `agent` (SPEC §4): only a user reference is a person.

    `user` for `user_reference`; `service` / `escalation_policy` for those references;
    `integration` for `integration_reference` and every `*_inbound_integration_reference`
    (Events API v2, generic events API, email, Nagios, …: an integration that triggers and
    assigns is PagerDuty routing an alert, not somebody deciding); `unknown` for no agent at
    all or any other reference type. Every kind but `user` is a non-user agent
    (`rules.sources.NON_USER_AGENTS`), judged by the incident's escalation policy — never as
    an unknown person, which would turn each routed assignment into a false finding.
    """
    if not isinstance(agent, Mapping):
        return "unknown"
    kind = str(agent.get("type") or "")
    known = _AGENT_KINDS.get(kind)
    if known is not None:
        return known
    if kind.endswith("integration_reference") or kind.endswith("_integration"):
        return "integration"
    return "unknown"


def pagerduty_events(
    incident_id: str,
    entries: Sequence[Mapping[str, Any]],
    assignees_before: Sequence[str] = (),
    ranks: Mapping[str, int] | None = None,
) -> list[OwnershipEvent]:
    """Events of one incident, oldest first, each `from` being the assignees just before it.

    Log entries do not say whom an incident was taken from, so the previous owners are
    replayed: `assignees_before` are the owners before the first entry given (empty for a
    full history, which starts at the trigger).

    PagerDuty timestamps have whole seconds and its ids are random, so entries of the same
    second are put in the order PagerDuty applied them: `ranks` maps an entry id to its rank
    among its incident's entries of that second, as the API listed them
    (`connectors.pagerduty.applied_order`). Entries without a rank (stored before ranks were
    kept) fall back to their id. Each event's `seq` is its place in the result.
    """
    given = ranks or {}
    current = tuple(f"pagerduty:{a}" for a in assignees_before)
    events: list[OwnershipEvent] = []

    def order(entry: Mapping[str, Any]) -> tuple[datetime, int, str]:
        entry_id = str(entry["id"])
        return (parse_timestamp(entry.get("created_at")), given.get(entry_id, 0), entry_id)

    for entry in sorted(entries, key=order):
        if entry.get("type") not in PAGERDUTY_OWNERSHIP_TYPES:
            continue
        to_refs = tuple(
            f"pagerduty:{a['id']}" for a in entry.get("assignees") or [] if a and a.get("id")
        )
        agent = entry.get("agent")
        agent_id = agent.get("id") if isinstance(agent, Mapping) else None
        events.append(
            OwnershipEvent(
                source_ref=f"pagerduty:{entry['id']}",
                source="pagerduty",
                item=incident_id,
                at=parse_timestamp(entry.get("created_at")),
                actor_ref=f"pagerduty:{agent_id}" if agent_id else NO_AGENT,
                actor_kind=pagerduty_agent_kind(agent),
                from_refs=current,
                to_refs=to_refs,
                event_type=str(entry["type"]),
                seq=len(events),
            )
        )
        current = to_refs
    return events
