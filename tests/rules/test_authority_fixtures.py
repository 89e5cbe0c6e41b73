"""The shared authority registry and builders (tests/rules/authority_fixtures.py) are what the
scenario suites assume."""

from __future__ import annotations

from datetime import UTC, datetime

from rules.registry import parse_registry
from tests.rules.authority_fixtures import REGISTRY, berlin


def test_the_scenario_registry_is_valid_with_only_the_expected_warnings() -> None:
    loaded = parse_registry(REGISTRY, "scenarios.yaml")
    messages = sorted(w.message for w in loaded.warnings)
    assert messages == [
        "no 'reassignment' decision: every Jira ownership change in this workflow will be "
        "unauthorized",
        "no email: their alerts go to the workflow owner",
    ]


def test_berlin_times_cross_the_dst_change() -> None:
    assert berlin(2026, 10, 25, 23, 30) == datetime(2026, 10, 25, 22, 30, tzinfo=UTC)  # CET
    assert berlin(2026, 10, 20, 0, 30) == datetime(2026, 10, 19, 22, 30, tzinfo=UTC)  # CEST
