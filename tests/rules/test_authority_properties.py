"""Authority (SPEC §4): properties that hold for any history.

Judging is a pure function of the registry and the item: the same verdicts every time, in
every process, whatever order the storage layer returned an item's changes in and however
the items were batched.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.authority import (
    AUTOMATION,
    DECLARED_PATH,
    DELEGATION,
    NON_USER_AGENTS,
    RULES,
    Judge,
    in_order,
    judge_item,
)
from rules.facts import ItemHistory, stable_key
from rules.timeline import stage_at
from tests.rules.authority_fixtures import FIXED, registry
from tests.rules.strategies import incidents, jira_items

REPO = Path(__file__).resolve().parents[2]

items = st.one_of(jira_items(), incidents())
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(items)
def test_judging_twice_gives_identical_verdicts(item: ItemHistory) -> None:
    assert judge_item(registry(), item) == judge_item(registry(), item)
    assert Judge(registry()).judge_item(item) == judge_item(registry(), item)


@FAST
@given(items, st.randoms(use_true_random=False))
def test_verdicts_do_not_depend_on_the_order_of_the_events(
    item: ItemHistory, rnd: random.Random
) -> None:
    statuses, changes = list(item.status_changes), list(item.ownership_changes)
    rnd.shuffle(statuses)
    rnd.shuffle(changes)
    shuffled = replace(item, status_changes=tuple(statuses), ownership_changes=tuple(changes))
    assert judge_item(registry(), shuffled) == judge_item(registry(), item)


@settings(max_examples=60, deadline=None)
@given(st.lists(items, max_size=6), st.lists(st.integers(0, 6), max_size=3))
def test_verdicts_do_not_depend_on_batching(batch: list[ItemHistory], cuts: list[int]) -> None:
    batch = [replace(item, item=f"X-{i}") for i, item in enumerate(batch)]
    whole = Judge(registry()).judge_items(batch)
    bounds = [0, *sorted(min(c, len(batch)) for c in cuts), len(batch)]
    pieces = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        pieces += Judge(registry()).judge_items(batch[start:end])
    assert pieces == whole
    assert whole == [v for item in batch for v in judge_item(registry(), item)]


@FAST
@given(items)
def test_invariants_of_every_verdict(item: ItemHistory) -> None:
    reg = registry()
    verdicts = judge_item(reg, item)
    if item.workflow is None:
        assert verdicts == []
        return
    ordered = in_order(item)
    assert [v.event_ref for v in verdicts] == [c.ref for c in ordered.ownership_changes]
    workflow = reg.workflows[item.workflow]
    for verdict, change in zip(verdicts, ordered.ownership_changes, strict=True):
        assert verdict.authorized == (verdict.rule is not None)
        assert verdict.rule is None or verdict.rule in RULES
        kind = "authorized_change" if verdict.authorized else "unauthorized_change"
        assert verdict.key == stable_key(kind, change.ref)
        # The one-pass replay agrees with rules.timeline.stage_at (status first in a second).
        assert verdict.stage == stage_at(workflow, ordered, change.at)
        if not change.to_refs:
            assert verdict.rule != DECLARED_PATH  # nobody is never an eligible owner
        if change.source == "pagerduty" and change.actor_kind in NON_USER_AGENTS:
            assert verdict.rule in (None, AUTOMATION)
            assert verdict.authorized == (
                item.escalation_policy == "PESC001" and item.workflow == "support"
            )
        if verdict.rule == DELEGATION:
            day = change.at.astimezone(reg.tz).date()
            assert any(
                d.starts <= day <= d.ends and d.workflow == item.workflow for d in reg.delegations
            )
        if not verdict.authorized:
            assert "without authority" in verdict.reason


# --- keys are the same in every process ---------------------------------------------------

def test_the_key_is_a_hash_of_the_event_reference_computed_by_hand() -> None:
    digest = hashlib.sha256(b"unauthorized_change\x1fjira:31337:2").hexdigest()[:16]
    (verdict,) = judge_item(registry(), FIXED)
    assert verdict.key == f"unauthorized_change:{digest}"


def test_the_key_is_the_same_in_another_process() -> None:
    script = (
        "from tests.rules.authority_fixtures import FIXED, registry\n"
        "from rules.authority import judge_item\n"
        "print(judge_item(registry(), FIXED)[0].key)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert result.stdout.strip() == judge_item(registry(), FIXED)[0].key


@settings(max_examples=60, deadline=None)
@given(st.lists(items, max_size=6))
def test_the_lean_paths_split_judge_items_exactly(batch: list[ItemHistory]) -> None:
    """The evaluation builds only unauthorized verdicts, `findings --all` only authorized
    ones: together they are `judge_items`, verdict for verdict, and the count matches."""
    judge = Judge(registry())
    whole = judge.judge_items(batch)
    assert judge.unauthorized_items(batch) == [v for v in whole if not v.authorized]
    assert judge.authorized_items(batch) == [v for v in whole if v.authorized]
    assert sum(judge.judged_changes(item) for item in batch) == len(whole)
