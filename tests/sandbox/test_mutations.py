"""`mutate()`: new changes appear between two syncs, visible to incremental queries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from sandbox import Sandbox, SandboxConfig, serve_sandbox
from sandbox.timefmt import from_ms

from .conftest import jira_client, pd_client, search_all


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7)) as running:
        yield running


def test_new_changes_are_visible_to_an_updated_since_query(sandbox: Sandbox) -> None:
    world = sandbox.world
    with jira_client(sandbox) as jira:
        first = search_all(
            jira,
            "project in (SUP, REN, ONB) AND updated >= 0 ORDER BY updated ASC",
            fields="updated",
        )
        cursor = max(world.issues_by_key[i["key"]].updated for i in first)
        latest = world.latest_ms()
        change = sandbox.mutate(30, seed=1)
        assert change.start > latest and change.end >= change.start
        assert change.issue_keys and change.log_entry_ids
        second = search_all(
            jira,
            f"project in (SUP, REN, ONB) AND updated > {cursor} ORDER BY updated ASC",
            fields="updated",
        )
        assert {i["key"] for i in second} == set(change.issue_keys)
        for key in change.issue_keys:
            (history_ids,) = [
                [
                    int(v["id"])
                    for v in jira.get(f"/rest/api/3/issue/{key}/changelog").json()["values"]
                ]
            ]
            assert set(history_ids) & set(change.history_ids)
    since = from_ms(change.start).isoformat()
    until = from_ms(change.end + 60_000).isoformat()
    with pd_client(sandbox) as pd:
        entries = {
            e["id"] for e in pd.iter_all("log_entries", params={"since": since, "until": until})
        }
    assert entries == set(change.log_entry_ids)


def test_mutations_are_reproducible_and_can_be_placed(sandbox: Sandbox) -> None:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    change = sandbox.mutate(3, seed=6, at=at)  # seed 6: new incidents whatever ran before
    assert from_ms(change.start) == at and change.end > change.start
    assert change.new_incident_ids
    with pd_client(sandbox) as pd:
        for incident_id in change.new_incident_ids:
            assert pd.rget(f"incidents/{incident_id}")["id"] == incident_id
