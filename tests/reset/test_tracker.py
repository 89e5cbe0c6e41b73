"""The reset checklist by construction: facts chosen so each line's status is known."""

from __future__ import annotations

from datetime import date

import pytest

from rules.registry import Registry, RegistryError, parse_registry
from rules.reset import (
    Confirmation,
    DecisionFact,
    ResetFacts,
    build_tracker,
    reset_week,
    running,
)
from tests.reset.conftest import EXAMPLE, RESET_BLOCK, STARTED, with_reset


def _status(registry: Registry, facts: ResetFacts) -> dict[str, str]:
    return {line.item: line.status for line in build_tracker(registry, facts).lines}


ALL_DONE = ResetFacts(
    today=date(2026, 12, 28),
    map_writes=[date(2026, 12, 1)],
    baseline_weeks=["2026-W44", "2026-W45", "2026-W46", "2026-W47"],
    decisions=[DecisionFact("2026-W49", "stabilize", "dana", date(2026, 12, 7)),
               DecisionFact("2026-W50", "continue", "omar", date(2026, 12, 14)),
               DecisionFact("2026-W51", "continue", "dana", date(2026, 12, 21))],
    open_gaps=[],
    confirmations=[Confirmation("dana", date(2026, 12, 8))],
)


def test_in_week_one_with_nothing_done_the_computed_items_are_open() -> None:
    registry = with_reset().registry
    status = _status(registry, ResetFacts(today=date(2026, 12, 1)))
    assert status == {
        "focus workflow named": "done",
        "outcome and workflow owners in the registry": "done",
        "escalation map published": "open",
        "at least 4 baseline weeks": "open",
        "thresholds for all six metrics": "done",
        "decision rights confirmed by leadership": "open",
        "weekly decisions recorded for 2 weeks": "open",
        "registry gaps from escalations closed": "done",
        "week-4 decision recorded": "open",
        "next focus workflow named": "done",
    }


def test_past_a_weeks_sunday_its_unfinished_items_are_overdue_and_later_weeks_stay_open() -> None:
    registry = with_reset().registry
    tracker = build_tracker(registry, ResetFacts(today=date(2026, 12, 14), open_gaps=["g1"]))
    by_item = {line.item: line for line in tracker.lines}
    assert by_item["escalation map published"].status == "overdue"  # W1 ended 12-06
    assert by_item["at least 4 baseline weeks"].status == "overdue"  # W2 ended 12-13
    assert by_item["decision rights confirmed by leadership"].status == "overdue"
    assert by_item["registry gaps from escalations closed"].status == "open"  # W3 ends 12-20
    assert by_item["registry gaps from escalations closed"].evidence.startswith("1 open")
    assert "accountability findings --workflow support" in (
        by_item["registry gaps from escalations closed"].next_action)
    assert tracker.current_week == 3 and tracker.state == "week 3 of 4"
    assert by_item["escalation map published"].due == date(2026, 12, 6)


def test_on_a_weeks_sunday_it_is_still_open() -> None:
    registry = with_reset().registry
    status = _status(registry, ResetFacts(today=date(2026, 12, 6)))
    assert status["escalation map published"] == "open"
    assert _status(registry, ResetFacts(today=date(2026, 12, 7)))[
        "escalation map published"] == "overdue"


def test_everything_done_with_its_evidence() -> None:
    registry = with_reset().registry
    tracker = build_tracker(registry, ALL_DONE)
    assert {line.status for line in tracker.lines} == {"done"}
    assert all(line.next_action == "" for line in tracker.lines)
    evidence = {line.item: line.evidence for line in tracker.lines}
    assert evidence["escalation map published"].startswith("written on 2026-12-01")
    assert evidence["decision rights confirmed by leadership"] == (
        "confirmed by Dana Ruiz on 2026-12-08")
    assert "2026-W49, 2026-W50, 2026-W51" in evidence["weekly decisions recorded for 2 weeks"]
    assert evidence["week-4 decision recorded"] == (
        "continue for 2026-W51, recorded by Dana Ruiz on 2026-12-21")
    assert tracker.state == "ended" and tracker.summary == "10 done, 0 open, 0 overdue"


def test_evidence_from_before_the_start_or_outside_week_four_does_not_count() -> None:
    registry = with_reset().registry
    facts = ResetFacts(
        today=date(2026, 12, 28),
        map_writes=[date(2026, 11, 29)],  # the Sunday before the start
        baseline_weeks=["2026-W45", "2026-W46", "2026-W47"],  # three, not four
        decisions=[DecisionFact("2026-W51", "pause", "dana", date(2026, 12, 20))],  # week 3
        open_gaps=["gap-1"],
    )
    status = _status(registry, facts)
    assert status["escalation map published"] == "overdue"
    assert status["at least 4 baseline weeks"] == "overdue"
    assert status["weekly decisions recorded for 2 weeks"] == "overdue"  # one week only
    assert status["week-4 decision recorded"] == "overdue"
    assert status["registry gaps from escalations closed"] == "overdue"


def test_missing_thresholds_and_next_are_named() -> None:
    example = EXAMPLE.read_text()
    support_max = "        unauthorized_changes:   {max: 0}\n"
    assert support_max in example  # the first one is support's
    registry = parse_registry(example.replace(support_max, "", 1) + RESET_BLOCK).registry
    tracker = build_tracker(registry, ResetFacts(today=date(2026, 12, 21)))
    by_item = {line.item: line for line in tracker.lines}
    thresholds = by_item["thresholds for all six metrics"]
    assert thresholds.status == "overdue"
    assert thresholds.evidence.endswith("missing: unauthorized_changes")
    assert "accountability baseline support" in thresholds.next_action
    assert by_item["next focus workflow named"].status == "open"  # week 4 has not ended
    assert by_item["next focus workflow named"].next_action == (
        "add `next: WORKFLOW` to the registry")


def test_reset_weeks_and_running() -> None:
    registry = with_reset().registry
    assert [reset_week(STARTED, date(2026, 11, d)) for d in (29, 30)] == [None, 1]
    assert reset_week(STARTED, date(2026, 12, 27)) == 4
    assert reset_week(STARTED, date(2026, 12, 28)) is None
    assert running(registry.reset, date(2026, 12, 21), date(2026, 12, 27))
    assert not running(registry.reset, date(2026, 12, 28), date(2027, 1, 3))
    assert not running(registry.reset, date(2026, 11, 23), date(2026, 11, 29))
    assert not running(None, date(2026, 12, 1), date(2026, 12, 1))


def test_a_registry_without_reset_has_no_tracker() -> None:
    with pytest.raises(ValueError, match="no reset"):
        build_tracker(with_reset("").registry, ResetFacts(today=date(2026, 12, 1)))


# --- the registry's reset block --------------------------------------------------------------


def _errors(extra: str) -> list[str]:
    with pytest.raises(RegistryError) as caught:
        with_reset(extra)
    return [str(issue) for issue in caught.value.issues]


def test_started_must_be_a_monday() -> None:
    [error] = _errors("reset: {workflow: support, started: 2026-12-01}\n")
    assert error.startswith("registry.yaml:")
    assert error.endswith("reset.started: 2026-12-01 is a Tuesday: a reset starts on a "
                          "Monday (weeks 1 to 4 follow from it)")


def test_unknown_workflow_and_unknown_next_are_located() -> None:
    errors = _errors("reset: {workflow: suport, started: 2026-11-30}\nnext: billing\n")
    lines = len(with_reset("").text.splitlines())
    assert errors == [
        f"registry.yaml:{lines + 1}: reset.workflow: unknown workflow 'suport': the reset "
        "focuses on a workflow of this registry (did you mean 'support'?)",
        f"registry.yaml:{lines + 2}: next: unknown workflow 'billing': next names the "
        "workflow to focus on after the reset",
    ]


def test_a_valid_reset_block_loads() -> None:
    loaded = with_reset(RESET_BLOCK)
    assert loaded.registry.reset is not None
    assert (loaded.registry.reset.workflow, loaded.registry.reset.started) == (
        "support", STARTED)
    assert loaded.registry.next is None
