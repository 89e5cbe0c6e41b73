"""Findings are pure: the same findings (and keys) whatever the order of an item's events,
and no two findings of one evaluation share a key."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.authority import judge_items
from rules.facts import ItemHistory
from rules.findings import ownership_churn, registry_gaps, unowned_items
from tests.rules.authority_fixtures import registry
from tests.rules.strategies import incidents, jira_items

NOW = datetime(2026, 12, 10, tzinfo=UTC)
items = st.one_of(jira_items(), incidents())
FAST = settings(max_examples=100, deadline=None)


def shuffled(item: ItemHistory, rnd: random.Random) -> ItemHistory:
    statuses, changes = list(item.status_changes), list(item.ownership_changes)
    rnd.shuffle(statuses)
    rnd.shuffle(changes)
    return replace(item, status_changes=tuple(statuses), ownership_changes=tuple(changes))


def with_owners(item: ItemHistory) -> ItemHistory:
    """Give the generated changes a consistent `from` (each the previous `to`)."""
    owners: tuple[str, ...] = ()
    changes = []
    for change in sorted(item.ownership_changes, key=lambda c: (c.at, c.ref)):
        changes.append(replace(change, from_refs=owners))
        owners = change.to_refs
    return replace(item, ownership_changes=tuple(changes))


@FAST
@given(items, st.randoms(use_true_random=False), st.sampled_from([0, 1, 30, 400]))
def test_findings_do_not_depend_on_the_order_of_events(
    item: ItemHistory, rnd: random.Random, hours: int
) -> None:
    item = with_owners(item)
    now = NOW + timedelta(hours=hours)
    other = shuffled(item, rnd)
    reg = registry()
    assert unowned_items(reg, [other], now, include_ended=True) == unowned_items(
        reg, [item], now, include_ended=True
    )
    assert ownership_churn(reg, [other]) == ownership_churn(reg, [item])
    assert registry_gaps(reg, [other], judge_items(reg, [other])) == registry_gaps(
        reg, [item], judge_items(reg, [item])
    )


@settings(max_examples=50, deadline=None)
@given(st.lists(items, max_size=5))
def test_keys_are_unique_within_an_evaluation(batch: list[ItemHistory]) -> None:
    batch = [with_owners(replace(item, item=f"X-{i}")) for i, item in enumerate(batch)]
    reg = registry()
    found = [
        *unowned_items(reg, batch, NOW, include_ended=True),
        *ownership_churn(reg, batch),
        *registry_gaps(reg, batch, judge_items(reg, batch)),
    ]
    assert len({f.key for f in found}) == len(found)
    ongoing = unowned_items(reg, batch, NOW)
    assert {f.key for f in ongoing} <= {f.key for f in found}
