"""The Jira fetch path near its latency floor, against the sandbox over real HTTPS.

Cloud: id-only search, issue and changelog bulkfetches in parallel, batches committed in search
order with the cursor behind them; Data Center: search pages in parallel with their histories
embedded. What a user relies on: nothing lost, nothing half written, the cursor never ahead of
what is stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accountability.sources import jira as jira_sync
from connectors import jira as jira_connector
from connectors.errors import ConnectorError
from connectors.jira import IssueFetchError, JiraClient, build_jql
from rules.registry import Registry
from sandbox import FaultConfig, Sandbox, SandboxConfig, serve_sandbox
from sandbox.timefmt import to_ms
from storage import repo
from storage.models import JiraChangelogItem, JiraIssue
from tests.sync.conftest import no_sleep
from tests.sync.test_sync_sandbox import START, after_world, expected, stored

TRACKED = {"assignee", "status"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo")) as sb:
        yield sb


def cloud(sb: Sandbox, **options: Any) -> JiraClient:
    creds = sb.credentials
    return JiraClient(creds["JIRA_URL"], email=creds["JIRA_EMAIL"],
                      api_token=SecretStr(creds["JIRA_API_TOKEN"]), ca_bundle=sb.ca_path,
                      sleep=no_sleep, **options)


def dc(sb: Sandbox) -> JiraClient:
    creds = sb.credentials
    return JiraClient(creds["JIRA_URL"], pat=SecretStr(creds["JIRA_PAT"]), ca_bundle=sb.ca_path,
                      sleep=no_sleep)


def unfiltered(registry: Registry) -> jira_sync.JiraPartition:
    """The biggest partition whose query is the project alone (search order = the world's)."""
    return next(p for p in jira_sync.jira_partitions(registry) if p.jql is None)


def search_order(sb: Sandbox, partition: jira_sync.JiraPartition, now: datetime) -> list[str]:
    with cloud(sb) as client:
        jql = build_jql([partition.project], partition.jql, START, now)
        return [i for page in client.search_ids(jql) for i in page]


def cursor_of(factory: sessionmaker[Session], partition: jira_sync.JiraPartition) -> Any:
    with factory() as s:
        return repo.get_cursor(s, "jira", partition.name)


def stored_ids(factory: sessionmaker[Session]) -> set[str]:
    with factory() as s:
        return set(s.scalars(select(JiraIssue.id)))


def test_cloud_fetch_is_id_search_then_bulkfetches_with_the_same_rows(
    sandbox: Sandbox, factory: sessionmaker[Session], registry: Registry
) -> None:
    now = after_world(sandbox)
    with cloud(sandbox) as client:
        for partition in jira_sync.jira_partitions(registry):
            jira_sync.sync_jira_partition(factory, client, partition, start=START, now=now)
        asked = client.stats.by_endpoint()
    truth, got = expected(sandbox, registry, now), stored(factory)
    for table in ("issues", "items", "members"):
        assert truth[table] and got[table] == truth[table], table
    jira_events = {e for e in truth["events"] if str(e).startswith("jira:")}
    assert jira_events and got["events"] == jira_events
    partitions = jira_sync.jira_partitions(registry)
    issues = len(truth["members"])
    # one id page per partition (< 5,000 each), 100 issues per issue/bulkfetch
    assert asked["POST /rest/api/3/search/jql"]["requests"] == len(partitions)
    assert (asked["POST /rest/api/3/issue/bulkfetch"]["requests"]
            <= issues // jira_connector.ISSUE_BULK_MAX + len(partitions))
    assert "GET /rest/api/3/issue/{id}/changelog" not in asked


def test_an_issue_gone_before_its_fields_are_read_is_skipped_and_counted(
    sandbox: Sandbox, factory: sessionmaker[Session], registry: Registry
) -> None:
    now = after_world(sandbox)
    partition = unfiltered(registry)
    order = search_order(sandbox, partition, now)
    gone = {order[3], order[-2]}
    sandbox.app.jira.hidden_issues.update(gone)  # deleted or hidden after the search
    with cloud(sandbox) as client:
        summary = jira_sync.sync_jira_partition(factory, client, partition, start=START, now=now)
    assert (summary.items, summary.skipped) == (len(order) - 2, 2)
    assert stored_ids(factory) == set(order) - gone
    assert cursor_of(factory, partition) == now


def test_issue_errors_fail_their_batch_and_the_cursor_stays_behind_it(
    sandbox: Sandbox, factory: sessionmaker[Session], registry: Registry
) -> None:
    now = after_world(sandbox)
    partition = unfiltered(registry)
    order = search_order(sandbox, partition, now)
    assert len(order) > 60
    sandbox.app.jira.issue_errors[order[50]] = "Retry later"  # in the third batch of 20
    with cloud(sandbox) as client, pytest.raises(IssueFetchError, match="Retry later"):
        jira_sync.sync_jira_partition(factory, client, partition, start=START, now=now,
                                      batch_size=20)
    assert stored_ids(factory) == set(order[:40])  # the two batches before it, whole
    newest = max(sandbox.world.issues[int(i)].updated for i in order[:40])
    assert to_ms(cursor_of(factory, partition)) == newest
    # once Jira answers again, the next run completes the partition
    sandbox.app.jira.issue_errors.clear()
    with cloud(sandbox) as client:
        jira_sync.sync_jira_partition(factory, client, partition, start=START, now=now)
    assert stored_ids(factory) == set(order)


def test_a_failing_bulkfetch_leaves_whole_batches_and_a_cursor_behind_them(
    sandbox: Sandbox, factory: sessionmaker[Session], registry: Registry
) -> None:
    now = after_world(sandbox)
    partition = unfiltered(registry)
    order = search_order(sandbox, partition, now)
    sandbox.set_faults(FaultConfig.parse("500=every:5,paths=/rest/api/3/issue/bulkfetch"))
    with cloud(sandbox, max_attempts=1) as client, pytest.raises(ConnectorError):
        jira_sync.sync_jira_partition(factory, client, partition, start=START, now=now,
                                      batch_size=25)
    sandbox.set_faults(None)
    kept = stored_ids(factory)
    # whole batches, from the start of the search order: never a batch in part
    assert len(kept) % 25 == 0 and kept == set(order[: len(kept)])
    assert len(kept) < len(order)
    with factory() as s:
        items = {(h, i) for h, i in s.execute(
            select(JiraChangelogItem.history_id, JiraChangelogItem.item_index))}
    for issue_id in kept:  # each stored issue has its whole history
        for history in sandbox.world.issues[int(issue_id)].histories:
            for index, item in enumerate(history.items):
                if item[0] in TRACKED:
                    assert (str(history.id), index) in items
    cursor = cursor_of(factory, partition)
    if kept:
        assert to_ms(cursor) == max(sandbox.world.issues[int(i)].updated for i in kept)
    else:
        assert cursor is None


def test_an_issue_in_two_id_pages_is_fetched_and_counted_once(
    sandbox: Sandbox, factory: sessionmaker[Session], registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = after_world(sandbox)
    partition = unfiltered(registry)
    order = search_order(sandbox, partition, now)
    with cloud(sandbox) as client:
        real = client._id_pages

        def pages(jql: str) -> Iterator[list[Any]]:
            """The real id page, split in two, the second repeating an id of the first (an
            issue the search returned again, as a walk over changing data can)."""
            (page,) = list(real(jql))
            half = len(page) // 2
            yield page[:half]
            yield [page[3], *page[half:]]

        monkeypatch.setattr(client, "_id_pages", pages)
        summary = jira_sync.sync_jira_partition(factory, client, partition, start=START, now=now)
    assert summary.items == len(order)
    assert stored_ids(factory) == set(order)


def test_data_center_pages_in_parallel_give_the_same_rows(
    factory: sessionmaker[Session], registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jira_connector, "DC_SEARCH_MAX", 7)  # many pages from the demo world
    with serve_sandbox(SandboxConfig(seed=7, mode="demo", data_center=True)) as sb:
        now = after_world(sb)
        with dc(sb) as client:
            for partition in jira_sync.jira_partitions(registry):
                jira_sync.sync_jira_partition(factory, client, partition, start=START, now=now)
            asked = client.stats.by_endpoint()
        truth = expected(sb, registry, now)
        per_partition = [
            len({i for i, w in truth["members"] if w == p.workflow
                 and sb.world.issues[int(i)].project == p.project})
            for p in jira_sync.jira_partitions(registry)
        ]
    got = stored(factory)
    for table in ("issues", "items", "members"):
        assert truth[table] and got[table] == truth[table], table
    # exactly the pages `total` says, each once: the first, then the rest at once
    assert asked["POST /rest/api/2/search"]["requests"] == sum(
        max(1, math.ceil(n / 7)) for n in per_partition)
    assert "GET /rest/api/2/issue/{id}" not in asked


def test_data_center_truncated_embedded_histories_are_read_whole(
    factory: sessionmaker[Session], registry: Registry
) -> None:
    with serve_sandbox(SandboxConfig(seed=7, mode="demo", data_center=True)) as sb:
        sb.app.jira.dc.search_history_limit = 1
        now = after_world(sb)
        with dc(sb) as client:
            for partition in jira_sync.jira_partitions(registry):
                jira_sync.sync_jira_partition(factory, client, partition, start=START, now=now)
            asked = client.stats.by_endpoint()
        truth = expected(sb, registry, now)
        longer = {i for i, _ in truth["members"] if len(sb.world.issues[int(i)].histories) > 1}
    got = stored(factory)
    for table in ("issues", "items", "members"):
        assert truth[table] and got[table] == truth[table], table
    assert longer and asked["GET /rest/api/2/issue/{id}"]["requests"] >= len(longer)


def test_fetch_and_bulk_issues_refuse_what_jira_would(sandbox: Sandbox) -> None:
    with cloud(sandbox) as client:
        with pytest.raises(ValueError, match="1 to 100"):
            client.bulk_issues([str(n) for n in range(1, 102)], ["updated"])
        with pytest.raises(ValueError, match="batch_size"):
            next(client.fetch("project = SUP", ["updated"], batch_size=1001))
        with pytest.raises(ValueError, match="not keys"):
            client.bulk_issues(["SUP-1"], ["updated"])


def test_the_concurrency_setting_bounds_the_client_and_a_bad_value_names_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from accountability.config.errors import ConfigError
    from accountability.config.settings import load_settings

    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("ACCOUNTABILITY_JIRA_CONCURRENCY", "0")
    with pytest.raises(ConfigError, match="ACCOUNTABILITY_JIRA_CONCURRENCY"):
        load_settings()
    monkeypatch.setenv("ACCOUNTABILITY_JIRA_CONCURRENCY", "3")
    settings = load_settings(jira_url="https://acme.atlassian.net", jira_email="me@acme.example",
                             jira_api_token=SecretStr("t"))
    with jira_sync.open_jira(settings) as client:
        assert client._max_concurrency == 3
    monkeypatch.delenv("ACCOUNTABILITY_JIRA_CONCURRENCY")
    assert load_settings().jira_concurrency == jira_connector.DEFAULT_CONCURRENCY == 8


def test_a_run_asks_which_jira_it_is_once_for_all_its_partitions(
    sandbox: Sandbox, db_url: str, factory: sessionmaker[Session], registry: Registry,
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The preflight's `serverInfo` answer serves every partition's client of that run; a run
    with settings of its own asks again."""
    from accountability import pipeline
    from accountability.config.settings import load_settings

    monkeypatch.chdir(tmp_path)  # no stray .env
    creds = sandbox.credentials
    now = after_world(sandbox)

    def one_run() -> int:
        settings = load_settings(
            jira_url=creds["JIRA_URL"], jira_email=creds["JIRA_EMAIL"],
            jira_api_token=SecretStr(creds["JIRA_API_TOKEN"]), ca_bundle=sandbox.ca_path,
            database_url=db_url, sync_start=START.date())
        sandbox.set_faults(None)  # restarts the request counter
        report = pipeline.run_sync(settings, registry, pipeline.in_threads(settings, factory),
                                   source="jira", now=now)
        assert len(report.summaries) == len(jira_sync.jira_partitions(registry)) > 1
        return sandbox.requests["GET /rest/api/2/serverInfo"]

    assert one_run() == 1
    assert one_run() == 1


def test_partitions_side_by_side_share_the_batch_budget_and_give_it_back(
    sandbox: Sandbox, registry: Registry,
) -> None:
    """More Jira walks at once than the process's batch budget (batches of 1 issue): all
    finish with every issue (none waits forever for a place), and every place comes back —
    after walks read to the end, one dropped after its first batch, and one whose bulkfetch
    fails."""
    import threading

    budget = jira_connector._BATCH_BUDGET
    limit = jira_connector.BATCHES_IN_MEMORY
    now = after_world(sandbox)
    jqls = [build_jql([p.project], p.jql, START, now)
            for p in jira_sync.jira_partitions(registry)]
    def walk(jql: str, counts: list[int]) -> None:
        with cloud(sandbox) as client:
            counts.append(sum(len(b.issues) for b in client.fetch(jql, ["summary"],
                                                                   batch_size=1)))

    counts: list[int] = []
    walkers = [threading.Thread(target=walk, args=(jql, counts)) for jql in jqls * 2]
    for thread in walkers:
        thread.start()
    for thread in walkers:
        thread.join(timeout=120)
    expected_total = 2 * sum(len(search_order(sandbox, p, now))
                             for p in jira_sync.jira_partitions(registry))
    assert len(counts) == len(walkers) > limit and sum(counts) == expected_total
    assert budget._value == limit
    with cloud(sandbox) as client:  # dropped after its first batch
        next(iter(client.fetch(jqls[0], ["summary"], batch_size=1)))
    assert budget._value == limit
    sandbox.set_faults(FaultConfig.parse("500=every:1,paths=/rest/api/3/issue/bulkfetch"))
    with cloud(sandbox, max_attempts=1) as client, pytest.raises(ConnectorError):
        list(client.fetch(jqls[0], ["summary"], batch_size=1))
    sandbox.set_faults(None)
    assert budget._value == limit


@pytest.mark.parametrize("kind", ["cloud", "dc"])
def test_fetched_is_said_once_when_the_last_batch_is_in_and_no_request_is_left(
    sandbox: Sandbox, registry: Registry, kind: str
) -> None:
    """The sync gives a partition's fetching place to the next one on `fetched`: it must come
    with the last batch (before it is handed on, every request of the query answered), once,
    and never earlier."""
    partition = unfiltered(registry)
    now = after_world(sandbox)
    jql = build_jql([partition.project], partition.jql, START, now)
    said: list[tuple[int, int]] = []  # (batches handed on so far, requests the sandbox served)
    handed = 0
    with (cloud(sandbox) if kind == "cloud" else dc(sandbox)) as client:
        fetch = client.fetch(jql, ["summary"], batch_size=2 if kind == "cloud" else 1000,
                             fetched=lambda: said.append((handed, sum(sandbox.requests.values()))))
        for _ in fetch:
            handed += 1
        served = sum(sandbox.requests.values())
    assert handed > 1 if kind == "cloud" else handed >= 1
    assert said == [(handed - 1, served)]
