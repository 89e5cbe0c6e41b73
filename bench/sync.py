"""How fast, how lean and how frugal is the sync? A full and an incremental sync of the scale world.

    .venv/bin/python bench/sync.py --issues 20000 --incidents 10000 --runs 3
    .venv/bin/python bench/sync.py --issues 100000 --incidents 50000 --runs 2 --json out.json
    .venv/bin/python bench/sync.py ... --database-url postgresql+psycopg://postgres@127.0.0.1/bench_sync

Three processes per run, so each figure belongs to what it measures:

* the orchestrator (this script without options) starts one *sync process* per run and reports
  medians over the runs;
* the sync process (`--run-once`) starts the *sandbox process* (`--serve-sandbox`: the scale
  world served over HTTPS, ~400 MB that must not count in the sync's RSS), creates a fresh
  database, runs the full sync (every Jira project as a partition, PagerDuty incidents and log
  entries of the 20 services), asks the sandbox to change ~1 % of the issues (plus log entries
  and new incidents, in the mix `sandbox.generate.mutate` draws), runs the incremental sync, and
  prints one JSON line: times, items, requests per endpoint, peak RSS (`ru_maxrss`);
* the sandbox process reads commands on stdin and answers one JSON line each: `facts <lower_ms>
  <upper_ms> <chunk_ms>` (the record counts a sync of that window needs, from the world itself),
  `mutate <n> <at_ms> <seed>`, `quit`.

The minimum request count is computed from those facts (see `minimum_requests` and
docs/benchmarks.md): a page of 5,000 issue ids per (id-only) search request, 100 issues per
issue bulkfetch, 1000 histories per bulk changelog request over batches of at most 1000 issues,
100 records per PagerDuty page. The report also gives Jira's requests against its own minimum,
and the dependent round trips of the Jira part (`jira_round_trips`: the latency floor in round
trips, as `side_by_side.py` prints it, at the partitions run at once and the client's bound).

Partitions run one after the other in the sync process (Jira projects, then PagerDuty), like
`run_sync` with `max_parallel=1`; `--parallel N` runs them on N threads as `run_sync` does.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, LiteralString

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from accountability.memory import limit_malloc_arenas  # noqa: E402
from accountability.sources.base import DEFAULT_OVERLAP, SyncSummary  # noqa: E402
from accountability.sources.jira import (  # noqa: E402
    JIRA_BATCH,
    JiraPartition,
    sync_jira_partition,
)
from accountability.sources.pagerduty import (  # noqa: E402
    INCIDENT_CHUNK,
    LOG_ENTRY_CHUNK,
    sync_pagerduty,
)
from connectors.jira import DEFAULT_CONCURRENCY, JiraClient  # noqa: E402
from connectors.pagerduty import PAGERDUTY_RATE_LIMIT, PagerDutyClient  # noqa: E402
from storage import migrate  # noqa: E402
from storage.engine import make_engine, session_factory  # noqa: E402
from storage.models import JiraChangelogItem, JiraIssue, PdIncident, PdLogEntry  # noqa: E402

SEARCH_PAGE = 5000  # issue ids per id-only search/jql page (documented maximum for `id` only)
ISSUE_PAGE = 100  # issues per issue/bulkfetch request (documented maximum)
BULK_IDS = 1000  # issue ids per changelog/bulkfetch request (documented maximum)
BULK_PAGE = 1000  # histories per changelog/bulkfetch page (documented maximum)
PD_PAGE = 100  # records per PagerDuty page (documented maximum)
HISTORY_FIELDS = frozenset({"assignee", "status"})  # what the sync asks bulkfetch for
ISSUE_SHARE_OF_MUTATIONS = 0.6  # sandbox.generate.mutate: ~60 % of changes are issue histories
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

SEARCH = "POST /rest/api/3/search/jql"
ISSUES = "POST /rest/api/3/issue/bulkfetch"
BULK = "POST /rest/api/3/changelog/bulkfetch"
INCIDENTS = "GET /incidents"
LOG_ENTRIES = "GET /log_entries"
ENDPOINTS = (SEARCH, ISSUES, BULK, INCIDENTS, LOG_ENTRIES)
JIRA_ENDPOINTS = (SEARCH, ISSUES, BULK)


# --- the sandbox process ----------------------------------------------------------------------


def serve_sandbox_main(issues: int, incidents: int, seed: int) -> int:
    """`--serve-sandbox`: serve the scale world and answer commands on stdin, one line each."""
    from sandbox import SandboxConfig, serve_sandbox

    began = time.perf_counter()
    config = SandboxConfig(mode="scale", issues=issues, incidents=incidents, seed=seed)
    with serve_sandbox(config) as sb:
        gc.collect()  # no full collection walks the world mid-run (side_by_side.freeze_world)
        gc.freeze()
        world = sb.world
        first = min(world.incident_index[0][0], min(i.created for i in world.issues.values()))
        hello = {
            "credentials": sb.credentials,
            "built_s": time.perf_counter() - began,
            "first_ms": first,
            "latest_ms": world.latest_ms(),
            "projects": sorted(world.projects),
            "summary": world.summary(),
        }
        _answer(hello)
        for line in sys.stdin:
            words = line.split()
            if not words or words[0] == "quit":
                break
            if words[0] == "facts":
                lower, upper, incident_chunk, log_chunk = (int(w) for w in words[1:5])
                _answer(world_facts(world, lower, upper, incident_chunk, log_chunk))
            elif words[0] == "mutate":
                n, at, mutation_seed = (int(w) for w in words[1:4])
                _answer(asdict(sb.mutate(n, at=at, seed=mutation_seed)))
            else:
                _answer({"error": f"unknown command {words[0]!r}"})
    return 0


def _answer(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def world_facts(
    world: Any, lower: int, upper: int, incident_chunk: int, log_chunk: int
) -> dict[str, Any]:
    """What a sync of [lower, upper) has to read: issues per project in search order with the
    histories bulkfetch returns for each, incidents and log entries per sync window."""
    with world.lock:
        jira = {
            project: _project_facts(world, keys, lower, upper)
            for project, keys in sorted(world.project_index.items())
        }
        incidents = [
            _count_between(world.incident_index, lo, hi)
            for lo, hi in _ms_windows(lower, upper, incident_chunk)
        ]
        log_entries = [
            _count_between(world.log_index, lo, hi)
            for lo, hi in _ms_windows(lower, upper, log_chunk)
        ]
    return {"jira": jira, "incidents": incidents, "log_entries": log_entries}


def _project_facts(
    world: Any, keys: list[tuple[int, int]], lower: int, upper: int
) -> dict[str, Any]:
    start, end = bisect_left(keys, (lower, -1)), bisect_left(keys, (upper, -1))
    histories = [
        sum(
            1
            for history in world.issues[issue_id].histories
            if any(item[0] in HISTORY_FIELDS for item in history.items)
        )
        for _, issue_id in keys[start:end]
    ]
    return {"issues": len(histories), "histories": histories}


def _ms_windows(lower: int, upper: int, step: int) -> Iterator[tuple[int, int]]:
    while lower < upper:
        yield lower, min(lower + step, upper)
        lower += step


def _count_between(index: Sequence[tuple[Any, ...]], lower: int, upper: int) -> int:
    return bisect_left(index, (upper,)) - bisect_left(index, (lower,))


class SandboxProcess:
    """The sandbox child of a sync process, driven over its stdin/stdout."""

    def __init__(self, issues: int, incidents: int, seed: int) -> None:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve-sandbox",
            "--issues",
            str(issues),
            "--incidents",
            str(incidents),
            "--seed",
            str(seed),
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.hello = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox process ended (exit {self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            if self.process.poll() is None and self.process.stdin is not None:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()


# --- the minimum request count ----------------------------------------------------------------


def minimum_requests(facts: dict[str, Any]) -> dict[str, int]:
    """Requests the data needs at the endpoints' own limits, per endpoint.

    search: one page of 5,000 ids per 5,000 issues of each project (a project with none still
    costs the one request that says so); issue bulkfetch: one per 100 issues of each project;
    changelog bulkfetch: for each run of 1000 issues in search order, one page per 1000
    histories (at least one); PagerDuty: one page of 100 per 100 records over the whole window
    (at least one), ignoring the windows the sync splits it into.
    """
    jira = facts["jira"].values()
    return {
        SEARCH: sum(max(1, math.ceil(p["issues"] / SEARCH_PAGE)) for p in jira),
        ISSUES: sum(math.ceil(p["issues"] / ISSUE_PAGE) for p in jira),
        BULK: sum(_bulk_pages(p["histories"], BULK_IDS) for p in jira),
        INCIDENTS: max(1, math.ceil(sum(facts["incidents"]) / PD_PAGE)),
        LOG_ENTRIES: max(1, math.ceil(sum(facts["log_entries"]) / PD_PAGE)),
    }


def design_requests(facts: dict[str, Any]) -> dict[str, int]:
    """Requests the sync's own batching implies: bulkfetch per flush of JIRA_BATCH issues,
    PagerDuty pages per 7-day window. Actual above this means wasted pages."""
    jira = facts["jira"].values()
    return {
        SEARCH: sum(max(1, math.ceil(p["issues"] / SEARCH_PAGE)) for p in jira),
        ISSUES: sum(
            math.ceil(len(p["histories"][i : i + JIRA_BATCH]) / ISSUE_PAGE)
            for p in jira
            for i in range(0, len(p["histories"]), JIRA_BATCH)
        ),
        BULK: sum(_bulk_pages(p["histories"], JIRA_BATCH) for p in jira),
        INCIDENTS: sum(max(1, math.ceil(n / PD_PAGE)) for n in facts["incidents"]),
        LOG_ENTRIES: sum(max(1, math.ceil(n / PD_PAGE)) for n in facts["log_entries"]),
    }


def _bulk_pages(histories: Sequence[int], batch: int) -> int:
    return sum(
        max(1, math.ceil(sum(histories[i : i + batch]) / BULK_PAGE))
        for i in range(0, len(histories), batch)
    )


def jira_round_trips(
    facts: dict[str, Any], lanes: int, concurrency: int = DEFAULT_CONCURRENCY
) -> int:
    """Minimum dependent round trips of the Jira part: the latency floor, in round trips.

    Per partition (one per project): the id search pages follow one another (each needs the
    previous `nextPageToken`); a batch of JIRA_BATCH ids starts when its page has arrived, and
    its changelog pages follow one another (1000 histories a page), its issue bulkfetch is one
    round trip. So the chain is max over batches of (its page's position + 1 + its changelog
    pages), at least the search pages. The client keeps at most `concurrency` requests in flight
    beside the search, so the batches' requests take at least ceil(requests / concurrency) round
    trips after the first page. Partitions fetch `lanes` at a time (`pipeline.in_threads`: a
    partition whose last batch is in gives its place to the next and writes meanwhile; the
    writes are taken as instant here): the partition floors are packed
    onto that many lanes (longest first), and the floor is the longest lane. The preflight and
    each client's `serverInfo` are left out (a floor the product could reach by caching them).
    """
    floors = []
    for project in facts["jira"].values():
        histories = project["histories"]
        pages = max(1, math.ceil(len(histories) / SEARCH_PAGE))
        chain, work = pages, 0
        for start in range(0, len(histories), JIRA_BATCH):
            batch = histories[start : start + JIRA_BATCH]
            changelog_pages = max(1, math.ceil(sum(batch) / BULK_PAGE))
            chain = max(chain, start // SEARCH_PAGE + 1 + changelog_pages)
            work += changelog_pages + math.ceil(len(batch) / ISSUE_PAGE)
        floors.append(max(chain, 1 + math.ceil(work / concurrency)) if work else chain)
    packed = [0] * max(1, lanes)
    for floor in sorted(floors, reverse=True):
        packed[packed.index(min(packed))] += floor
    return max(packed)


def floor_requests(data: dict[str, int]) -> int:
    """The strictest bound: every page full, all projects in one search, no batch boundaries."""
    return (
        max(1, math.ceil(data["issues"] / SEARCH_PAGE))
        + math.ceil(data["issues"] / ISSUE_PAGE)
        + math.ceil(data["histories"] / BULK_PAGE)
        + max(1, math.ceil(data["incidents"] / PD_PAGE))
        + max(1, math.ceil(data["log_entries"] / PD_PAGE))
    )


def data_counts(facts: dict[str, Any]) -> dict[str, int]:
    jira = facts["jira"].values()
    return {
        "issues": sum(p["issues"] for p in jira),
        "histories": sum(sum(p["histories"]) for p in jira),
        "incidents": sum(facts["incidents"]),
        "log_entries": sum(facts["log_entries"]),
    }


# --- the sync process -------------------------------------------------------------------------


@dataclass
class Clients:
    jira: JiraClient
    pagerduty: PagerDutyClient

    def close(self) -> None:
        self.jira.close()
        self.pagerduty.close()

    def requests(self) -> dict[str, dict[str, int]]:
        return {**self.jira.stats.by_endpoint(), **self.pagerduty.stats.by_endpoint()}


PD_RATE_LIMIT: int | None = PAGERDUTY_RATE_LIMIT
"""The PagerDuty client's own limit in a `--run-once` process (`--pagerduty-rate-limit`;
0 on the command line = None, no limit: the sandbox's speed, not PagerDuty's)."""


def open_clients(credentials: dict[str, str]) -> Clients:
    ca = Path(credentials["ACCOUNTABILITY_CA_BUNDLE"])
    return Clients(
        JiraClient(
            credentials["JIRA_URL"],
            email=credentials["JIRA_EMAIL"],
            api_token=SecretStr(credentials["JIRA_API_TOKEN"]),
            ca_bundle=ca,
        ),
        PagerDutyClient(
            SecretStr(credentials["PAGERDUTY_API_TOKEN"]),
            base_url=credentials["PAGERDUTY_API_URL"],
            ca_bundle=ca,
            rate_limit=PD_RATE_LIMIT,
        ),
    )


@dataclass
class Phase:
    """One sync (full or incremental) as measured in the sync process."""

    seconds: float
    jira_seconds: float
    pagerduty_seconds: float
    items: dict[str, int]
    requests: dict[str, dict[str, int]]
    minimum: dict[str, int]
    design: dict[str, int]
    data: dict[str, int]
    max_rss_kb: int
    rss_after_kb: dict[str, int]  # peak RSS when the Jira / PagerDuty jobs ended
    partition_seconds: dict[str, float]  # summed SyncSummary.seconds: jira, incidents, log_entries
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SyncRun:
    summaries: list[SyncSummary]
    requests: dict[str, dict[str, int]]
    seconds: dict[str, float]
    rss_after_kb: dict[str, int]


def run_sync_phase(
    factory: Any,
    credentials: dict[str, str],
    projects: Sequence[str],
    services: Sequence[str],
    start: datetime,
    now: datetime,
    parallel: int,
) -> SyncRun:
    """Every Jira project and PagerDuty once, with fresh clients (fresh request counters)."""
    clients = open_clients(credentials)
    try:
        jobs: dict[str, Callable[[], list[SyncSummary]]] = {
            f"jira/{project}": _jira_job(factory, clients.jira, project, start, now)
            for project in projects
        }
        jobs["pagerduty"] = lambda: sync_pagerduty(
            factory, clients.pagerduty, services, start=start, now=now
        )
        summaries, seconds, rss = _run_jobs(jobs, parallel)
        return SyncRun(summaries, clients.requests(), seconds, rss)
    finally:
        clients.close()


def _jira_job(
    factory: Any, client: JiraClient, project: str, start: datetime, now: datetime
) -> Callable[[], list[SyncSummary]]:
    partition = JiraPartition(f"bench-{project.lower()}", project, None)
    return lambda: [sync_jira_partition(factory, client, partition, start=start, now=now)]


@dataclass
class JobRun:
    summaries: list[SyncSummary]
    seconds: float
    rss_after_kb: int  # the process's peak RSS when the job ended


def _run_jobs(
    jobs: dict[str, Callable[[], list[SyncSummary]]], parallel: int
) -> tuple[list[SyncSummary], dict[str, float], dict[str, int]]:
    """Run the jobs, sequentially or on `parallel` threads: summaries, wall seconds per source
    and in total, and the peak RSS when each source's last job ended (meaningful sequentially)."""
    began = time.perf_counter()
    if parallel <= 1:
        runs = [_timed(job) for job in jobs.values()]
    else:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            runs = list(pool.map(_timed, jobs.values()))
    seconds = {"wall": time.perf_counter() - began, "jira": 0.0, "pagerduty": 0.0}
    rss: dict[str, int] = {}
    for name, run in zip(jobs, runs, strict=True):
        source = name.split("/")[0]
        seconds[source] += run.seconds
        rss[source] = max(rss.get(source, 0), run.rss_after_kb)
    return [s for run in runs for s in run.summaries], seconds, rss


def _timed(job: Callable[[], list[SyncSummary]]) -> JobRun:
    began = time.perf_counter()
    summaries = job()
    return JobRun(
        summaries,
        time.perf_counter() - began,
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )


def items_of(summaries: Sequence[SyncSummary]) -> dict[str, int]:
    items = {
        "issues": 0,
        "incidents": 0,
        "log_entries": 0,
        "changes": 0,
        "quarantined": 0,
        "skipped": 0,
    }
    for s in summaries:
        key = "issues" if s.source == "jira" else s.partition
        items[key] += s.items
        items["changes"] += s.changes
        items["quarantined"] += s.quarantined
        items["skipped"] += s.skipped
    return items


def measured_phase(
    factory: Any,
    sandbox: SandboxProcess,
    projects: Sequence[str],
    services: Sequence[str],
    start: datetime,
    lower: datetime,
    now: datetime,
    parallel: int,
) -> Phase:
    chunks = f"{_ms_span(INCIDENT_CHUNK)} {_ms_span(LOG_ENTRY_CHUNK)}"
    facts = sandbox.ask(f"facts {_ms(lower)} {_ms(now)} {chunks}")
    run = run_sync_phase(
        factory, sandbox.hello["credentials"], projects, services, start, now, parallel
    )
    return Phase(
        seconds=run.seconds["wall"],
        jira_seconds=run.seconds["jira"],
        pagerduty_seconds=run.seconds["pagerduty"],
        items=items_of(run.summaries),
        requests=run.requests,
        minimum=minimum_requests(facts),
        design=design_requests(facts),
        data=data_counts(facts),
        max_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        rss_after_kb=run.rss_after_kb,
        partition_seconds=partition_seconds(run.summaries),
        extra={"jira_round_trips": jira_round_trips(facts, parallel)},
    )


def partition_seconds(summaries: Sequence[SyncSummary]) -> dict[str, float]:
    seconds = {"jira": 0.0, "incidents": 0.0, "log_entries": 0.0}
    for s in summaries:
        seconds["jira" if s.source == "jira" else s.partition] += s.seconds
    return seconds


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _ms_span(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _next_minute(ms: int, plus: timedelta) -> datetime:
    """`ms + plus`, rounded up to a whole minute (sync bounds on whole seconds, as a scheduler)."""
    moment = _from_ms(ms) + plus
    floored = moment.replace(second=0, microsecond=0)
    return floored if floored == moment else floored + timedelta(minutes=1)


@contextmanager
def fresh_database(url: str | None, workdir: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file in `workdir`, or the PostgreSQL database
    named in `url`, dropped and re-created (only names starting with `bench`)."""
    if url is None:
        sqlite_url = f"sqlite:///{workdir / 'bench.db'}"
        migrate.upgrade(sqlite_url)
        yield sqlite_url
        return
    parsed = make_url(url)
    name = parsed.database or ""
    if parsed.get_backend_name() != "postgresql" or not name.startswith("bench"):
        raise SystemExit("--database-url: a PostgreSQL URL whose database name starts with bench")
    _postgres_admin(url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", "CREATE DATABASE {}")
    try:
        migrate.upgrade(url)
        yield url
    finally:
        _postgres_admin(url, "DROP DATABASE IF EXISTS {} WITH (FORCE)")


def _postgres_admin(url: str, *statements: LiteralString) -> None:
    """Run `statements` ({} = the URL's database) from the server's `postgres` database."""
    import psycopg
    from psycopg import sql

    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        for statement in statements:
            conn.execute(sql.SQL(statement).format(sql.Identifier(target.database or "")))


def stored_counts(factory: Any) -> dict[str, int]:
    with factory() as session:
        return {
            name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in (
                ("issues", JiraIssue),
                ("changelog_items", JiraChangelogItem),
                ("incidents", PdIncident),
                ("log_entries", PdLogEntry),
            )
        }


def run_once(args: argparse.Namespace) -> int:
    """`--run-once`: one full + incremental sync against a fresh sandbox and database."""
    global PD_RATE_LIMIT
    PD_RATE_LIMIT = args.pagerduty_rate_limit or None
    limit_malloc_arenas()  # as `pipeline.run_sync` does before a sync's threads start
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    load_before = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    sandbox = SandboxProcess(args.issues, args.incidents, args.seed)
    try:
        with fresh_database(args.database_url, workdir) as url:
            engine = make_engine(url)
            try:
                result = _full_then_incremental(args, sandbox, session_factory(engine))
            finally:
                engine.dispose()
            result["database"] = make_url(url).get_backend_name()
            sqlite_file = workdir / "bench.db"
            if sqlite_file.exists():
                result["sqlite_mb"] = sqlite_file.stat().st_size / 1e6
    finally:
        sandbox.close()
        shutil.rmtree(workdir, ignore_errors=True)
    result["baseline_rss_kb"] = baseline_rss
    result["load_average"] = [load_before, os.getloadavg()[0]]  # 1-minute, before and after
    result["sandbox_built_s"] = sandbox.hello["built_s"]
    result["world"] = sandbox.hello["summary"]
    print(json.dumps(result))
    return 0


def _full_then_incremental(
    args: argparse.Namespace, sandbox: SandboxProcess, factory: Any
) -> dict[str, Any]:
    hello = sandbox.hello
    projects = hello["projects"]
    services = _service_ids(hello["credentials"])
    start = _from_ms(hello["first_ms"] - hello["first_ms"] % DAY_MS - DAY_MS)
    now = _next_minute(hello["latest_ms"], timedelta(hours=1))
    ready_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    full = measured_phase(factory, sandbox, projects, services, start, start, now, args.parallel)
    full.extra["stored"] = stored_counts(factory)

    n = math.ceil(args.issues * args.change_share / ISSUE_SHARE_OF_MUTATIONS)
    mutation = sandbox.ask(f"mutate {n} {_ms(now + timedelta(minutes=1))} {args.seed + 1}")
    later = _next_minute(mutation["end"], timedelta(hours=1))
    incremental = measured_phase(
        factory, sandbox, projects, services, start, now - DEFAULT_OVERLAP, later, args.parallel
    )
    incremental.extra["mutation"] = {
        "changes": n,
        "issues_changed": len(set(mutation["issue_keys"])),
        "histories_added": len(mutation["history_ids"]),
        "log_entries_added": len(mutation["log_entry_ids"]),
        "new_incidents": len(mutation["new_incident_ids"]),
    }
    incremental.extra["stored"] = stored_counts(factory)
    return {
        "issues": args.issues,
        "incidents_requested": args.incidents,
        "seed": args.seed,
        "parallel": args.parallel,
        "ready_rss_kb": ready_rss,
        "full": asdict(full),
        "incremental": asdict(incremental),
    }


def _service_ids(credentials: dict[str, str]) -> list[str]:
    """The sandbox's services, through a client of their own (not counted in the sync's)."""
    clients = open_clients(credentials)
    try:
        return sorted(str(s["id"]) for s in clients.pagerduty.services())
    finally:
        clients.close()


# --- the orchestrator ------------------------------------------------------------------------


def spawn_run(args: argparse.Namespace) -> dict[str, Any]:
    """One `--run-once` sync process; its last stdout line is the result."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--run-once",
        "--issues",
        str(args.issues),
        "--incidents",
        str(args.incidents),
        "--seed",
        str(args.seed),
        "--parallel",
        str(args.parallel),
        "--change-share",
        str(args.change_share),
        "--pagerduty-rate-limit",
        str(args.pagerduty_rate_limit),
    ]
    if args.database_url:
        command += ["--database-url", args.database_url]
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            timeout=args.timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        raise SystemExit(f"a run took longer than --timeout {args.timeout} s: stopped") from None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def derived(run: dict[str, Any]) -> dict[str, float]:
    """The figures the report quotes, for one run."""
    full, incr = run["full"], run["incremental"]
    out = {
        "full_s": full["seconds"],
        "jira_s": full["jira_seconds"],
        "pagerduty_s": full["pagerduty_seconds"],
        "issues_per_s": full["items"]["issues"] / full["jira_seconds"],
        "incidents_per_s": full["items"]["incidents"] / full["pagerduty_seconds"],
        "log_entries_per_s": full["items"]["log_entries"] / full["pagerduty_seconds"],
        "incident_partition_per_s": full["items"]["incidents"]
        / full["partition_seconds"]["incidents"],
        "log_entry_partition_per_s": full["items"]["log_entries"]
        / full["partition_seconds"]["log_entries"],
        "records_per_s": (
            full["items"]["issues"] + full["items"]["incidents"] + full["items"]["log_entries"]
        )
        / full["seconds"],
        "peak_rss_mb": incr["max_rss_kb"] / 1024,
        "peak_rss_full_mb": full["max_rss_kb"] / 1024,
        "rss_after_jira_mb": full["rss_after_kb"]["jira"] / 1024,
        "ready_rss_mb": run["ready_rss_kb"] / 1024,
        "incremental_s": incr["seconds"],
        "incremental_ratio": incr["seconds"] / full["seconds"],
    }
    jira_requests = {
        phase: sum(r["requests"] for e, r in run[phase]["requests"].items() if e in JIRA_ENDPOINTS)
        for phase in ("full", "incremental")
    }
    out["incremental_jira_share"] = jira_requests["incremental"] / jira_requests["full"]
    for phase in ("full", "incremental"):
        actual = sum(r["requests"] for r in run[phase]["requests"].values())
        minimum = sum(run[phase]["minimum"].values())
        out[f"{phase}_requests"] = actual
        out[f"{phase}_minimum"] = minimum
        out[f"{phase}_request_ratio"] = actual / minimum
        out[f"{phase}_floor"] = floor_requests(run[phase]["data"])
        out[f"{phase}_floor_ratio"] = actual / out[f"{phase}_floor"]
        jira_actual = sum(
            r["requests"] for e, r in run[phase]["requests"].items() if e in JIRA_ENDPOINTS
        )
        jira_minimum = sum(run[phase]["minimum"][e] for e in JIRA_ENDPOINTS)
        out[f"{phase}_jira_requests"] = jira_actual
        out[f"{phase}_jira_minimum"] = jira_minimum
        out[f"{phase}_jira_request_ratio"] = jira_actual / jira_minimum
        out[f"{phase}_jira_round_trips"] = run[phase]["extra"]["jira_round_trips"]
    return out


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(pages * page_size / 2**30, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def print_report(args: argparse.Namespace, runs: list[dict[str, Any]], out: IO[str]) -> None:
    figures = [derived(run) for run in runs]
    first = runs[0]
    database = first["database"]
    m = machine()
    print(
        f"machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB, Python {m['python']}",
        file=out,
    )
    print(
        f"world: {first['world']}; database: {database}; partitions "
        f"{'sequential' if args.parallel <= 1 else f'on {args.parallel} threads'}; "
        f"PagerDuty client limit {args.pagerduty_rate_limit or 'none'}/min; "
        f"{len(runs)} run(s): median (min – max)",
        file=out,
    )
    loads = [load for run in runs for load in run["load_average"]]
    print(f"load average (1 min) around the runs: {min(loads):.1f} – {max(loads):.1f}", file=out)

    def row(label: str, key: str, fmt: str) -> None:
        med, low, high = spread([f[key] for f in figures])
        print(f"  {label:<34} {med:{fmt}}  ({low:{fmt}} – {high:{fmt}})", file=out)

    print("full sync", file=out)
    row("wall time, s", "full_s", ",.1f")
    row("  Jira, s", "jira_s", ",.1f")
    row("  PagerDuty, s", "pagerduty_s", ",.1f")
    row("issues/s (Jira time)", "issues_per_s", ",.0f")
    row("incidents/s (PagerDuty time)", "incidents_per_s", ",.0f")
    row("log entries/s (PagerDuty time)", "log_entries_per_s", ",.0f")
    row("incidents/s (incident partition)", "incident_partition_per_s", ",.0f")
    row("log entries/s (log partition)", "log_entry_partition_per_s", ",.0f")
    row("records/s (wall)", "records_per_s", ",.0f")
    row("requests", "full_requests", ",.0f")
    row("requests / minimum", "full_request_ratio", ".3f")
    row("requests / floor (all pages full)", "full_floor_ratio", ".3f")
    row("Jira requests (data endpoints)", "full_jira_requests", ",.0f")
    row("Jira minimum", "full_jira_minimum", ",.0f")
    row("Jira requests / minimum", "full_jira_request_ratio", ".3f")
    row("Jira latency floor, round trips", "full_jira_round_trips", ",.0f")
    row("peak RSS after the Jira part, MB", "rss_after_jira_mb", ",.0f")
    row("peak RSS after full sync, MB", "peak_rss_full_mb", ",.0f")
    print("incremental sync", file=out)
    row("wall time, s", "incremental_s", ",.2f")
    row("time / full sync time", "incremental_ratio", ".4f")
    row("requests", "incremental_requests", ",.0f")
    row("requests / minimum", "incremental_request_ratio", ".3f")
    row("requests / floor (all pages full)", "incremental_floor_ratio", ".3f")
    row("Jira requests / minimum", "incremental_jira_request_ratio", ".3f")
    row("Jira requests / full sync's", "incremental_jira_share", ".4f")
    print("process", file=out)
    row("RSS before the sync, MB", "ready_rss_mb", ",.0f")
    row("peak RSS (whole run), MB", "peak_rss_mb", ",.0f")
    _print_endpoints(first, out)
    _print_changes(first, out)


def _print_endpoints(run: dict[str, Any], out: IO[str]) -> None:
    print("requests per endpoint (first run): actual / minimum / sync's batching", file=out)
    for phase in ("full", "incremental"):
        data = run[phase]
        for endpoint in ENDPOINTS:
            actual = data["requests"].get(endpoint, {"requests": 0, "retries": 0})
            print(
                f"  {phase:<11} {endpoint:<36} {actual['requests']:>6,} / "
                f"{data['minimum'][endpoint]:>6,} / {data['design'][endpoint]:>6,}"
                f"  retries {actual['retries']}",
                file=out,
            )
        counts = ", ".join(f"{k} {v:,}" for k, v in data["data"].items())
        print(f"  {phase:<11} data in the window: {counts}", file=out)
        synced = ", ".join(f"{k} {v:,}" for k, v in data["items"].items())
        print(f"  {phase:<11} synced: {synced}", file=out)


def _print_changes(run: dict[str, Any], out: IO[str]) -> None:
    mutation = run["incremental"]["extra"]["mutation"]
    share = mutation["issues_changed"] / run["issues"]
    print(
        f"change before the incremental sync: {mutation['changes']:,} mutations, "
        f"{mutation['issues_changed']:,} issues changed ({share:.2%}), "
        f"{mutation['log_entries_added']:,} log entries, "
        f"{mutation['new_incidents']:,} new incidents",
        file=out,
    )


def orchestrate(args: argparse.Namespace) -> int:
    runs: list[dict[str, Any]] = []
    for number in range(1, args.runs + 1):
        began = time.perf_counter()
        runs.append(spawn_run(args))
        print(f"run {number}/{args.runs}: {time.perf_counter() - began:.0f} s", file=sys.stderr)
    print_report(args, runs, sys.stdout)
    if args.json:
        payload = {
            "machine": machine(),
            "command": " ".join([".venv/bin/python", "bench/sync.py", *sys.argv[1:]]),
            "runs": runs,
            "figures": [derived(run) for run in runs],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="sync processes; medians reported")
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        help="partitions at once (run_sync uses 3); 1 = one after the other",
    )
    parser.add_argument(
        "--change-share",
        type=float,
        default=0.01,
        help="share of issues changed before the incremental sync",
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL (database name starting with bench, "
        "dropped and re-created per run); default a fresh SQLite file",
    )
    parser.add_argument(
        "--pagerduty-rate-limit",
        type=int,
        default=PAGERDUTY_RATE_LIMIT,
        help="the PagerDuty client's requests a minute (the product's default); 0 = no limit",
    )
    parser.add_argument("--json", help="write the raw figures of every run to this file")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per run")
    parser.add_argument("--run-once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_sandbox:
        return serve_sandbox_main(args.issues, args.incidents, args.seed)
    if args.run_once:
        return run_once(args)
    return orchestrate(args)


if __name__ == "__main__":
    raise SystemExit(main())
