"""The scheduled job, said once: sync → evaluate → alert, and the summary of a run (SPEC §8, §10).

Every way of running it goes through here: `accountability run` and the demo run the stages in
this process (`LocalStages`), the `accountability-run` Prefect flow runs each stage as a subflow
whose tasks call the stage functions below (`flows/run.py`). They share:

* `preflight`: the registry, the database schema and the credentials of every source the
  registry uses, checked without a network call, so a run that cannot succeed fails before any
  API call (exit 2 in the CLI; the flow run fails at once);
* one partition plan for the sync (`plan_sync`), run by threads here or by Prefect tasks or
  deployments (`Executor`), each partition through `sync_partition` with its own client;
* the same failure policy: a failing source or stage does not stop the rest (the other
  partitions commit, what is stored is evaluated, alerts go out) and the run then fails naming
  what failed;
* the same summary (`RunSummary`): logged, returned and printed alike.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock, system_clock
from accountability.config.errors import UsageError
from accountability.config.registry_file import load_registry_file
from accountability.config.settings import Settings
from accountability.memory import fewer_collections, limit_malloc_arenas
from accountability.sources import BY_NAME, SOURCES, Partition, Source, SyncSummary, Window
from accountability.sources import source as source_named
from accountability.sources.base import Progress, Throttle, first_sync_start, sync_start_of
from accountability.usecases.databases import open_database
from connectors.errors import AuthError
from rules.registry import LoadedRegistry, Registry
from storage import outbox
from storage.errors import StorageError
from storage.models import Finding

if TYPE_CHECKING:  # imported where a stage runs: `accountability sync` never loads them
    from accountability.usecases import evaluate as evaluation
    from accountability.usecases.dispatch import Channels, DispatchReport

# Findings that are not problems: listed by `findings --all`, never counted as findings here.
_NOT_A_PROBLEM = "authorized_change"


# --- before a run -----------------------------------------------------------------------------


def preflight(settings: Settings, source: str | None = None) -> LoadedRegistry:
    """The registry, the database schema and the credentials of every source the registry
    uses, checked without a network call: a run that cannot succeed fails here, not halfway.

    Raises the project's usage errors (exit 2 in the CLI; the flow run fails at once).
    """
    loaded = load_registry_file(settings.registry)
    check_credentials(settings, plan_sync(loaded.registry, source))
    with open_database(settings.database_url):
        pass  # opening checks the schema: unmigrated or newer → StorageError naming the fix
    return loaded


def plan_sync(
    registry: Registry, source: str | None = None, group: str | None = None
) -> list[Partition]:
    """Every partition the registry asks for, in source order; only `source`'s when given,
    only one fan-out `group`'s (a Jira project) when given."""
    sources = SOURCES if source is None else (source_named(source),)
    partitions = [p for s in sources for p in s.partitions(registry)]
    if group is None:
        return partitions
    grouped = [p for p in partitions if p.group == group]
    if not grouped:
        known = ", ".join(sorted({p.group for p in partitions if p.group})) or "none"
        kinds = " or ".join(s.group_label for s in sources if s.group_label) or "group"
        raise UsageError(f"no workflow reads {kinds} '{group}' (projects: {known})")
    return grouped


def fan_out(plan: Sequence[Partition]) -> list[dict[str, str]]:
    """One flow run's parameters per source and group: the unit several workers share."""
    runs: list[dict[str, str]] = []
    for source in SOURCES:
        own = [p for p in plan if p.source == source.name]
        groups = sorted({p.group for p in own if p.group is not None})
        runs += [{"source": source.name, "project": group} for group in groups]
        if any(p.group is None for p in own):
            runs.append({"source": source.name})
    return runs


def sources_of(plan: Sequence[Partition]) -> list[Source]:
    names = {p.source for p in plan}
    return [s for s in SOURCES if s.name in names]


def check_credentials(settings: Settings, plan: Sequence[Partition]) -> None:
    """Credentials for every source the plan reads, checked without a network call."""
    for source in sources_of(plan):
        source.check_credentials(settings)


def check_sources(settings: Settings, plan: Sequence[Partition]) -> tuple[int, int]:
    """One cheap call per source the plan reads: wrong credentials, or a URL that is not that
    API, fail the run before any write. Returns the (requests, retries) it took."""
    requests = retries = 0
    for source in sources_of(plan):
        client = source.connect(settings)
        try:
            source.preflight(client)
        finally:
            client.close()
            requests, retries = requests + client.stats.requests, retries + client.stats.retries
    return requests, retries


def window_of(settings: Settings, now: datetime, full: bool) -> Window:
    return Window(first_sync_start(now, sync_start_of(settings)), now, full)


# --- the sync ---------------------------------------------------------------------------------


@dataclass
class PartitionResult:
    """What syncing one partition did, and the requests its client made."""

    summaries: list[SyncSummary]
    requests: int = 0
    retries: int = 0


def sync_partition(
    settings: Settings,
    factory: sessionmaker[Session],
    partition: Partition,
    window: Window,
    *,
    throttle: Throttle | None = None,
    progress: Progress | None = None,
    clock: Clock = system_clock,
    fetching: threading.Semaphore | None = None,
) -> PartitionResult:
    """Sync one partition with a client of its own (clients are not shared across threads).

    `fetching` (`in_threads`): the places of the partitions whose requests may be in flight.
    One is taken before the first request and given back as soon as the source says it has
    fetched everything (then it only writes), or at the end."""
    source = BY_NAME[partition.source]
    with _FetchPlace(fetching) as place:
        client = source.connect(settings, throttle)
        try:
            summaries = source.sync(factory, client, partition, window, progress=progress,
                                    clock=clock, fetched=place.give_back)
        finally:
            client.close()
    return PartitionResult(summaries, client.stats.requests, client.stats.retries)


class _FetchPlace:
    """A place in `fetching`, given back once: by the source when its requests are done, or
    when the partition ends."""

    def __init__(self, fetching: threading.Semaphore | None) -> None:
        self._fetching = fetching
        self._held = False

    def __enter__(self) -> _FetchPlace:
        if self._fetching is not None:
            self._fetching.acquire()
            self._held = True
        return self

    def give_back(self) -> None:
        if self._held and self._fetching is not None:
            self._held = False
            self._fetching.release()

    def __exit__(self, *_: object) -> None:
        self.give_back()


@dataclass(frozen=True)
class SourceFailure:
    """A partition whose sync gave up; the other partitions' work is committed regardless."""

    source: str  # "jira" or "pagerduty"
    partition: str
    error: str

    def line(self) -> str:
        return " ".join(filter(None, (self.source, self.partition))) + f": {self.error}"


@dataclass
class SyncReport:
    """A whole sync: its partitions, the requests their clients made, what failed."""

    summaries: list[SyncSummary]
    requests: int
    retries: int
    seconds: float
    failures: list[SourceFailure] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(s.items for s in self.summaries)

    @property
    def changes(self) -> int:
        return sum(s.changes for s in self.summaries)

    @property
    def quarantined(self) -> int:
        return sum(s.quarantined for s in self.summaries)

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.summaries)

    def line(self) -> str:
        return (
            f"synced {self.items} items, {self.changes} new ownership changes, "
            f"{self.requests} requests ({self.retries} retries), {self.quarantined} quarantined, "
            f"{self.skipped} skipped, in {self.seconds:.1f} s"
        )

    def as_dict(self) -> dict[str, Any]:
        """`partitions` (a summary per partition) and `failures` (one line each), as the sync
        flow returns them; the rest so that `from_dict` gives the report back."""
        return {"partitions": [asdict(s) for s in self.summaries],
                "failures": [f.line() for f in self.failures],
                "failed": [asdict(f) for f in self.failures],
                "requests": self.requests, "retries": self.retries, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncReport:
        known = {f.name for f in fields(SyncSummary)}
        summaries = [SyncSummary(**{k: v for k, v in row.items() if k in known})
                     for row in data.get("partitions", [])]
        return cls(summaries, int(data.get("requests", 0)), int(data.get("retries", 0)),
                   float(data.get("seconds", 0.0)),
                   [SourceFailure(**row) for row in data.get("failed", [])])

    def failure_line(self) -> str:
        """Which sources failed and why, in one sentence; empty when none did."""
        if not self.failures:
            return ""
        return "sync failed for " + "; ".join(f.line() for f in self.failures)


Outcome = PartitionResult | BaseException
Executor = Callable[[Sequence[Partition], Window], list[Outcome]]
"""Runs every partition of a plan to its end and returns each one's result or exception, in
plan order: threads in this process (`in_threads`), or Prefect tasks (`flows/sync.py`)."""


def in_threads(
    settings: Settings,
    factory: sessionmaker[Session],
    *,
    max_parallel: int = 3,
    progress: Progress | None = None,
    clock: Clock = system_clock,
) -> Executor:
    """Partitions run side by side in this process, `max_parallel` of them fetching at a
    time. A partition whose requests are all done (its last batch is in) gives its place to
    the next one and writes meanwhile: the writes, one at a time on SQLite, no longer hold up
    the next partition's round trips (`bench/side_by_side.py`). Two threads more than
    `max_parallel`, so two partitions at a time finish their writes that way. Measured
    (`bench/sync.py` at 100k issues beside 50k incidents, one run each; the side by side's
    data phase against its floor): one more, 110.4 s, 289 MB, 1.57x; two more, 100.8 – 103.2 s,
    278 – 288 MB, 1.41x; twice as many, 114.8 – 125.4 s, up to 310 MB, 1.42x (finishing
    partitions held the Jira batch budget, `connectors.jira.BATCHES_IN_MEMORY`, that the
    fetching ones waited for)."""

    def execute(plan: Sequence[Partition], window: Window) -> list[Outcome]:
        lanes = max(1, max_parallel)
        width = max(1, min(lanes + 2, len(plan) or 1))  # the fetching ones and two writing
        fetching = threading.BoundedSemaphore(lanes)
        with ThreadPoolExecutor(max_workers=width) as pool:
            futures = [pool.submit(sync_partition, settings, factory, p, window,
                                   progress=progress, clock=clock, fetching=fetching)
                       for p in plan]
            outcomes: list[Outcome] = []
            for future in futures:
                try:
                    outcomes.append(future.result())
                except Exception as exc:  # collected: the other partitions still commit
                    outcomes.append(exc)
            return outcomes

    return execute


def run_sync(
    settings: Settings,
    registry: Registry,
    execute: Executor,
    *,
    source: str | None = None,
    group: str | None = None,
    full: bool = False,
    now: datetime | None = None,
    raise_on_failure: bool = True,
    clock: Clock = system_clock,
) -> SyncReport:
    """Sync every partition the registry names (or `source`'s, or one `group`'s).

    Credentials are checked before anything is written, then one call per source checks that
    the API answers; a failing partition does not stop the others from committing what they
    read. Its error is raised at the end, or, with `raise_on_failure=False` (the scheduled run,
    which evaluates what did sync), reported in `SyncReport.failures`.
    """
    began = time.monotonic()
    plan = plan_sync(registry, source, group)
    check_credentials(settings, plan)
    requests, retries = check_sources(settings, plan)
    limit_malloc_arenas()  # before either executor starts its threads: accountability/memory.py
    with fewer_collections():  # the records die by reference counting: accountability/memory.py
        outcomes = execute(plan, window_of(settings, now or clock(), full))
    summaries: list[SyncSummary] = []
    failures: list[SourceFailure] = []
    for partition, outcome in zip(plan, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            if raise_on_failure:
                raise outcome
            failures.append(SourceFailure(partition.source, partition.name, str(outcome)))
            continue
        summaries += outcome.summaries
        requests, retries = requests + outcome.requests, retries + outcome.retries
    return SyncReport(summaries, requests, retries, time.monotonic() - began, failures)


# --- the run ----------------------------------------------------------------------------------


class Stages(Protocol):
    """The three stages of a run, however they execute; each may raise."""

    def sync(self) -> SyncReport: ...

    def evaluate(self) -> evaluation.EvaluationReport: ...

    def alert(self) -> DispatchReport: ...


@dataclass
class LocalStages:
    """Every stage in this process: `accountability run` and the demo."""

    settings: Settings
    loaded: LoadedRegistry
    factory: sessionmaker[Session]
    full: bool = False
    channels: Channels | None = None  # default: from the settings
    links: bool = True  # alerts link to the item in Jira (JIRA_URL)
    as_of: datetime | None = None  # evaluate and alert as of this moment (the demo)
    progress: Progress | None = None
    clock: Clock = system_clock
    max_parallel: int = 3

    def sync(self) -> SyncReport:
        execute = in_threads(self.settings, self.factory, max_parallel=self.max_parallel,
                             progress=self.progress, clock=self.clock)
        return run_sync(self.settings, self.loaded.registry, execute, full=self.full,
                        raise_on_failure=False, clock=self.clock)

    def evaluate(self) -> evaluation.EvaluationReport:
        return evaluate_stage(self.settings, self.loaded, self.factory, full=self.full,
                              now=self.as_of, links=self.links, clock=self.clock)

    def alert(self) -> DispatchReport:
        clock = self.clock if self.as_of is None else _fixed(self.as_of)
        return alert_stage(self.settings, self.loaded.registry, self.factory,
                           channels=self.channels, clock=clock)


def evaluate_stage(
    settings: Settings,
    loaded: LoadedRegistry,
    factory: sessionmaker[Session],
    *,
    full: bool = False,
    now: datetime | None = None,
    links: bool = True,
    clock: Clock = system_clock,
) -> evaluation.EvaluationReport:
    """Judge what changed (or everything): findings, scorecards, reviews and their alerts in
    one transaction; with `links`, alerts link to the item in Jira."""
    from accountability.usecases import evaluate as evaluation

    return evaluation.evaluate(factory, loaded, full=full, now=now, clock=clock,
                               jira_browse_base=settings.jira_url if links else None)


def alert_stage(
    settings: Settings,
    registry: Registry,
    factory: sessionmaker[Session],
    *,
    channels: Channels | None = None,
    clock: Clock = system_clock,
) -> DispatchReport:
    """Send what the outbox holds that is due (the outbox is the retry layer)."""
    from accountability.usecases.dispatch import Channels, DispatchPolicy, dispatch

    policy = DispatchPolicy(max_attempts=settings.alert_max_attempts)
    return dispatch(factory, registry, channels or Channels.from_settings(settings),
                    policy=policy, clock=clock)


def _fixed(moment: datetime) -> Clock:
    return lambda: moment


class Watch(Protocol):
    """How a run shows itself: around each stage (a spinner), and after it (its line)."""

    def stage(self, name: str) -> AbstractContextManager[object]: ...

    def done(self, name: str, line: str) -> None: ...


class Quiet:
    """Shows nothing (the flow logs its summary itself)."""

    def stage(self, name: str) -> AbstractContextManager[object]:
        return nullcontext()

    def done(self, name: str, line: str) -> None:
        return None


@dataclass
class Totals:
    """What the database holds after a run: findings by type, the outbox by status."""

    findings: dict[str, int] = field(default_factory=dict)
    open_findings: int = 0
    alerts: dict[str, int] = field(default_factory=dict)


@dataclass
class RunSummary:
    """One run of the scheduled job, as logged, returned and shown (SPEC §8 `run`)."""

    items_synced: int = 0
    changes_synced: int = 0
    quarantined: int = 0
    new_findings: dict[str, int] = field(default_factory=dict)
    totals: Totals = field(default_factory=Totals)
    alerts_sent: int = 0
    alerts_failed: int = 0
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)  # "jira support/SUP: …", "evaluate: …"
    # This run's reports, for whoever shows them (not part of the returned summary).
    sync: SyncReport | None = None
    evaluation: evaluation.EvaluationReport | None = None
    alerts: DispatchReport | None = None

    def line(self) -> str:
        new = sum(self.new_findings.values())
        total = sum(self.totals.findings.values())
        outbox = self.totals.alerts
        text = (
            f"run: {self.items_synced} items synced ({self.changes_synced} ownership changes, "
            f"{self.quarantined} quarantined); findings {new} new / {total} total "
            f"({self.totals.open_findings} open); alerts {self.alerts_sent} sent, "
            f"{outbox.get('pending', 0)} pending, {outbox.get('dead', 0)} dead; "
            f"{self.seconds:.1f} s"
        )
        if self.failed:
            text += "; FAILED: " + "; ".join(self.failed)
        return text

    def failure_line(self) -> str:
        """What failed, in one sentence: the sources that did not sync, then the stages."""
        partitions = {f.line() for f in self.sync.failures} if self.sync else set()
        stages = [line for line in self.failed if line not in partitions]
        sync = self.sync.failure_line() if self.sync else ""
        return "; ".join(filter(None, [sync, *stages]))

    def as_dict(self) -> dict[str, Any]:
        return {
            "items_synced": self.items_synced,
            "changes_synced": self.changes_synced,
            "quarantined": self.quarantined,
            "findings": {"new": dict(self.new_findings), "total": dict(self.totals.findings),
                         "open": self.totals.open_findings},
            "alerts": {"sent": self.alerts_sent, "failed": self.alerts_failed,
                       "pending": self.totals.alerts.get("pending", 0),
                       "dead": self.totals.alerts.get("dead", 0)},
            "duration_seconds": round(self.seconds, 1),
            "failed": list(self.failed),
            "line": self.line(),
        }


def run(stages: Stages, database_url: str, watch: Watch | None = None) -> RunSummary:
    """Sync, evaluate, alert; a stage that fails is named in the summary and the next ones
    still run (evaluate judges what is stored: a failed partition's cursor did not move, so
    it is consistent, only older). Configuration found wrong on the way stops the run."""
    began = time.monotonic()
    watch = watch or Quiet()
    summary = RunSummary()
    summary.sync = _attempt(summary, "sync", watch, stages.sync)
    if summary.sync is not None:
        summary.items_synced, summary.changes_synced = summary.sync.items, summary.sync.changes
        summary.quarantined = summary.sync.quarantined
        summary.failed += [f.line() for f in summary.sync.failures]
    summary.evaluation = _attempt(summary, "evaluate", watch, stages.evaluate)
    if summary.evaluation is not None:
        summary.new_findings = dict(summary.evaluation.new_findings)
    summary.alerts = _attempt(summary, "alert", watch, stages.alert)
    if summary.alerts is not None:
        summary.alerts_sent, summary.alerts_failed = summary.alerts.sent, summary.alerts.failed
    with open_database(database_url) as factory:
        summary.totals = totals(factory)
    summary.seconds = time.monotonic() - began
    return summary


STOPS_THE_RUN = (UsageError, AuthError, StorageError)
"""Bad configuration (a missing variable, a rejected token, an unmigrated database): going on
could not succeed, so the run stops (exit 2 in the CLI)."""

_Report = TypeVar("_Report", SyncReport, "evaluation.EvaluationReport", "DispatchReport")


def _attempt(
    summary: RunSummary, name: str, watch: Watch, stage: Callable[[], _Report]
) -> _Report | None:
    """One stage, shown by `watch`; its failure is recorded as `"<stage>: <error>"`."""
    with watch.stage(name):
        try:
            report = stage()
        except STOPS_THE_RUN:
            raise
        except Exception as exc:  # recorded: the next stages still run
            summary.failed.append(f"{name}: {exc}")
            return None
    watch.done(name, report.line())
    return report


def totals(factory: sessionmaker[Session]) -> Totals:
    with factory() as session:
        by_type = Counter[str]()
        open_findings = 0
        rows = session.execute(
            select(Finding.type, Finding.status, func.count())
            .where(Finding.type != _NOT_A_PROBLEM)
            .group_by(Finding.type, Finding.status)
        )
        for kind, status, number in rows:
            by_type[str(kind)] += int(number)
            open_findings += int(number) if status == "open" else 0
        alerts = outbox.counts_by_status(session)
    return Totals(dict(sorted(by_type.items())), open_findings, alerts)

