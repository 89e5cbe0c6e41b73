"""The JQL subset, without HTTP: parsing, dates in the account's zone, and Jira's refusals."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import pytest

from sandbox import Sandbox
from sandbox.catalog import API_ACCOUNT_ID
from sandbox.data import Issue, World
from sandbox.generate import demo_world
from sandbox.jql import JqlError, compile_jql, execute, tokenize
from sandbox.timefmt import to_ms, zone

NEW_YORK = zone("America/New_York")
NOW = to_ms(datetime(2026, 11, 25, 12, 0, tzinfo=NEW_YORK))  # after the demo ends


@pytest.fixture(scope="module")
def world(demo: Sandbox) -> World:
    return demo.world


class Edited(NamedTuple):
    world: World
    reported: str  # the one issue reported through the API (currentUser() of `run`)
    unassigned: str  # the one issue without an assignee


@pytest.fixture(scope="module")
def edited() -> Edited:
    """The demo world ends with every issue assigned and none reported by the API's account (it
    files no RISK ticket): a world of our own with one issue of each."""
    world = demo_world(7)
    first, second = sorted((i for i in world.issues.values() if i.project == "SUP"),
                           key=lambda i: i.id)[:2]
    first.reporter = API_ACCOUNT_ID
    second.assignee = None
    return Edited(world, first.key, second.key)


def run(world: World, jql: str) -> list[Issue]:
    query = compile_jql(world, jql, account_id=API_ACCOUNT_ID, now_ms=NOW)
    page, token = execute(world, query, None, 5000)
    assert token is None
    return page


def test_tokens() -> None:
    kinds = [
        (t.kind, t.text)
        for t in tokenize('project in ("SUP", REN) AND updated >= "2026-10-05 10:00"')
    ][:-1]
    assert kinds == [
        ("word", "project"),
        ("word", "in"),
        ("punct", "("),
        ("string", "SUP"),
        ("punct", ","),
        ("word", "REN"),
        ("punct", ")"),
        ("word", "AND"),
        ("word", "updated"),
        ("op", ">="),
        ("string", "2026-10-05 10:00"),
    ]


@pytest.mark.parametrize(
    "jql",
    [
        'project in ("SUP") AND (labels = ai-assisted) AND updated >= 0 ORDER BY updated ASC',
        "project = SUP and labels = ai-assisted and updated >= 0 order by updated asc",
        "PROJECT IN (SUP) AND LABELS IN (ai-assisted) AND UPDATED >= '1970/01/01'",
    ],
    ids=["connector", "lower-case", "upper-case"],
)
def test_equivalent_spellings(world: World, jql: str) -> None:
    expected = {
        i.key for i in world.issues.values() if i.project == "SUP" and "ai-assisted" in i.labels
    }
    assert {i.key for i in run(world, jql)} == expected


def test_or_not_and_parentheses(world: World) -> None:
    got = run(
        world, "(project = SUP OR project = REN) AND NOT labels = ai-assisted AND updated >= -365d"
    )
    assert got and all(i.project in ("SUP", "REN") and "ai-assisted" not in i.labels for i in got)
    assert {i.project for i in got} == {"SUP", "REN"}


def test_dates_formats_and_zone(world: World) -> None:
    start = to_ms(datetime(2026, 10, 5, 0, 0, tzinfo=NEW_YORK))
    end = to_ms(datetime(2026, 10, 6, 0, 0, tzinfo=NEW_YORK))
    expected = {
        i.key for i in world.issues.values() if i.project == "REN" and start <= i.created < end
    }
    for spelling in ('"2026-10-05"', '"2026/10/05"', "2026-10-05"):
        assert {i.key for i in run(world, f"project = REN AND created = {spelling}")} == expected
    assert {
        i.key
        for i in run(world, f'project = REN AND created >= "2026-10-05 00:00" AND created < {end}')
    } == expected


def test_relative_periods_and_functions(world: World, edited: Edited) -> None:
    recent = run(world, "project = SUP AND updated >= -2w")
    assert recent and all(i.updated >= NOW - 14 * 86_400_000 for i in recent)
    assert run(world, "project = SUP AND updated > now()") == []
    mine = run(edited.world, "project = SUP AND reporter = currentUser()")
    assert [i.key for i in mine] == [edited.reported]


def test_status_assignee_and_empty(world: World, edited: Edited) -> None:
    done = run(world, 'project = SUP AND status in (Done, "Closed")')
    assert done and all(i.status in ("Done", "Closed") for i in done)
    unassigned = run(edited.world, "project = SUP AND assignee is EMPTY")
    assert [i.key for i in unassigned] == [edited.unassigned]
    by_id = run(world, "project = SUP AND status = 10004")
    assert by_id and all(i.status == "Done" for i in by_id)


@pytest.mark.parametrize(
    ("jql", "fragment"),
    [
        ("project = SUP AND summary ^ x", "reserved JQL character"),
        ("project SUP", "Expecting operator"),
        ("project = SUP AND (updated >= 0", "Expecting ')'"),
        (
            "project = SUP AND status = Nope",
            "The value 'Nope' does not exist for the field 'status'",
        ),
        ("key = SUP-999999", "An issue with key 'SUP-999999' does not exist"),
        ("project = SUP AND updated >= soon()", "Unable to find JQL function 'soon()'"),
        (
            "project = SUP AND labels is ai-assisted",
            "can only be used with the values 'EMPTY' or 'NULL'",
        ),
        ("NOT project = SUP", "Unbounded JQL queries"),
        ("project = SUP OR labels = x", "Unbounded JQL queries"),
    ],
)
def test_refusals(world: World, jql: str, fragment: str) -> None:
    with pytest.raises(JqlError) as raised:
        compile_jql(world, jql, account_id=API_ACCOUNT_ID, now_ms=NOW)
    assert fragment in raised.value.messages[0]


def test_search_after_cursor_survives_updates(world: World) -> None:
    query = compile_jql(
        world, "project = ONB AND updated >= 0 ORDER BY updated ASC", account_id=API_ACCOUNT_ID
    )
    first, token = execute(world, query, None, 10)
    assert token is not None
    second, _ = execute(world, query, token, 10)
    assert first[-1].updated <= second[0].updated and not {i.key for i in first} & {
        i.key for i in second
    }
