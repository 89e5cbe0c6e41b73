"""Hypothesis strategies: generated Jira issues and PagerDuty incidents against the registry of
`authority_fixtures` (its people, bots, statuses and policies, and a few strangers), shared by
the authority and findings property suites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from rules.facts import ItemHistory, OwnershipChange, StatusChange

STATUSES = ["Open", "In Progress", "Review", "Escalated", "Done", "Weird", "Awaiting approval"]
JIRA_PEOPLE = [f"jira:acc-{x}" for x in ("ana", "bo", "cy", "dee", "eli", "fay", "gus", "hal")]
JIRA_ACTORS = [*JIRA_PEOPLE, "jira:acc-bot", "jira:acc-label", "jira:5d9f", "jira:unknown"]
PD_PEOPLE = ["pagerduty:PANA001", "pagerduty:PBO0001", "pagerduty:PDEE001", "pagerduty:PELI001"]
PD_AGENTS = [
    *((ref, "user") for ref in [*PD_PEOPLE, "pagerduty:PBOT001", "pagerduty:PZZZ999"]),
    ("pagerduty:PESC001", "escalation_policy"),
    ("pagerduty:PESC099", "escalation_policy"),
    ("pagerduty:PSUP001", "service"),
    ("pagerduty:PINT001", "integration"),
]

# A few base seconds (around the DST change and delegation edges) plus sub-second offsets, so
# that same-second ties between status and ownership changes are common.
BASES = [
    datetime(2026, 10, 19, 22, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 22, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 23, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 23, 10, tzinfo=UTC),
    datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
    datetime(2026, 11, 13, 23, 20, tzinfo=UTC),
    datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
]
times = st.builds(
    lambda base, seconds, micro: base + timedelta(seconds=seconds, microseconds=micro),
    st.sampled_from(BASES),
    st.sampled_from([0, 0, 1, 3600]),
    st.sampled_from([0, 0, 250_000, 999_999]),
)


@st.composite
def jira_items(draw: st.DrawFn, key: str = "SUP-1") -> ItemHistory:
    statuses = draw(st.lists(st.tuples(times, st.sampled_from(STATUSES)), max_size=4))
    changes = draw(
        st.lists(
            st.tuples(
                times,
                st.sampled_from(JIRA_ACTORS),
                st.lists(st.sampled_from([*JIRA_PEOPLE, "jira:stranger"]), max_size=1),
            ),
            min_size=1,
            max_size=4,
        )
    )
    # Refs are unique per item: one Jira history per change, status items at index 0.
    status_changes = tuple(
        StatusChange(at, None, to, f"jira:{i}:0") for i, (at, to) in enumerate(statuses)
    )
    ownership = tuple(
        OwnershipChange(f"jira:{10 + i}:1", "jira", at, actor, "user", (), tuple(to), "assignee")
        for i, (at, actor, to) in enumerate(changes)
    )
    return ItemHistory(
        source="jira",
        item=key,
        workflow=draw(st.sampled_from(["support", "support", "renewals", "ops", None])),
        created=datetime(2026, 10, 1, tzinfo=UTC),
        initial_status=draw(st.sampled_from(STATUSES)),
        status_changes=status_changes,
        ownership_changes=ownership,
    )


@st.composite
def incidents(draw: st.DrawFn, key: str = "PINC1") -> ItemHistory:
    changes = draw(
        st.lists(
            st.tuples(
                times,
                st.sampled_from(PD_AGENTS),
                st.lists(st.sampled_from(PD_PEOPLE), max_size=3, unique=True),
                st.sampled_from(["assign_log_entry", "escalate_log_entry", "delegate_log_entry"]),
            ),
            min_size=1,
            max_size=4,
        )
    )
    ownership = tuple(
        OwnershipChange(f"pagerduty:L{i:03d}", "pagerduty", at, ref, kind, (), tuple(to), event)
        for i, (at, (ref, kind), to, event) in enumerate(changes)
    )
    return ItemHistory(
        source="pagerduty",
        item=key,
        workflow=draw(st.sampled_from(["support", "renewals", None])),
        created=datetime(2026, 10, 1, tzinfo=UTC),
        ownership_changes=ownership,
        escalation_policy=draw(st.sampled_from(["PESC001", "PESC099", None])),
    )
