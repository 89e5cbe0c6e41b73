"""Evaluation over generated history (the benchmark's generator, at a small size): 26 weeks of
three workflows with breaches every week, so risk reviews open and the `stop` rule applies.

Evaluating the same history twice must leave every stored result as it was, and an incremental
evaluation after new events must score the weeks as a full one does (SPEC §5)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import select

from accountability.clock import system_clock
from accountability.config.registry_file import load_registry_file
from accountability.usecases import evaluate
from rules.weeks import monday, shift_week, week_of, weeks_between
from storage.engine import make_engine, session_factory, session_scope
from storage.histories import Scope, load_histories, workflow_services
from storage.ingest import jira_issue_row, save_jira_batch
from storage.migrate import upgrade
from storage.models import AlertOutbox, Finding, JiraIssue, RiskReview, Scorecard

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_evaluate", ROOT / "bench" / "evaluate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_evaluate"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synced history of 1,500 items and 8,000 ownership events, never evaluated."""
    path = tmp_path_factory.mktemp("generated") / "pristine.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    try:
        world = bench.compile_world(load_registry_file(bench.REGISTRY).registry, 0.08)
        bench.generate(session_factory(engine), world, 1_500, 8_000, seed=5,
                       synced_at=bench.END)
    finally:
        engine.dispose()
    return path


def _copy(generated: Path, tmp_path: Path, name: str) -> str:
    target = tmp_path / name
    shutil.copyfile(generated, target)
    return f"sqlite:///{target}"


def _evaluate(url: str, bench: ModuleType, *, full: bool, now: Any) -> evaluate.EvaluationReport:
    engine = make_engine(url)
    try:
        return evaluate.evaluate(session_factory(engine), load_registry_file(bench.REGISTRY),
                                 full=full, now=now)
    finally:
        engine.dispose()


def _stored(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            scorecards = {
                (r.workflow, r.week): (r.throughput, r.quality_trend, r.exception_rate,
                                       r.rework_volume, r.decision_latency_hours,
                                       r.decision_latency_p90_hours, r.unauthorized_changes,
                                       tuple(r.breaches), r.recommendation,
                                       r.recommendation_rule)
                for r in c.execute(select(Scorecard))
            }
            reviews = {(r.workflow, r.week, r.status) for r in c.execute(select(RiskReview))}
            findings = {(r.key, r.type, r.status, r.reason)
                        for r in c.execute(select(Finding))}
            outbox = {r.dedup_key for r in c.execute(select(AlertOutbox))}
    finally:
        engine.dispose()
    return {"scorecards": scorecards, "reviews": reviews, "findings": findings,
            "outbox": outbox}


def test_a_second_full_evaluation_changes_nothing(
    bench: ModuleType, generated: Path, tmp_path: Path
) -> None:
    url = _copy(generated, tmp_path, "twice.db")
    first = _evaluate(url, bench, full=True, now=bench.FULL_NOW)
    after_first = _stored(url)
    assert first.reviews_opened  # the data breaches: reviews open, the stop rule is in play
    assert any(rec == "stop" for *_, rec, _ in after_first["scorecards"].values())
    second = _evaluate(url, bench, full=True, now=bench.FULL_NOW)
    assert second.reviews_opened == [] and second.alerts == 0
    assert _stored(url) == after_first


def test_an_incremental_evaluation_scores_the_weeks_as_a_full_one_does(
    bench: ModuleType, generated: Path, tmp_path: Path
) -> None:
    incremental, full = (_copy(generated, tmp_path, f"{name}.db")
                         for name in ("incremental", "full"))
    world = bench.compile_world(load_registry_file(bench.REGISTRY).registry, 0.08)
    for url in (incremental, full):
        _evaluate(url, bench, full=True, now=bench.FULL_NOW)
        engine = make_engine(url)
        try:
            bench.add_increment(session_factory(engine), world, 200, seed=5)
        finally:
            engine.dispose()
    report = _evaluate(incremental, bench, full=False, now=bench.INCREMENT_NOW)
    _evaluate(full, bench, full=True, now=bench.INCREMENT_NOW)
    assert not report.full and report.verdicts > 0
    got, want = _stored(incremental), _stored(full)
    assert got["scorecards"] == want["scorecards"]
    assert got["reviews"] == want["reviews"]
    assert {f[:3] for f in got["findings"] if f[1] == "unauthorized_change"} == {
        f[:3] for f in want["findings"] if f[1] == "unauthorized_change"}


def _evaluated_twice(
    bench: ModuleType, generated: Path, tmp_path: Path
) -> tuple[str, str]:
    """Two copies of the history, each evaluated in full as of `FULL_NOW`: one to evaluate
    incrementally after the increment, one in full."""
    urls = tuple(_copy(generated, tmp_path, f"{name}.db") for name in ("incremental", "full"))
    for url in urls:
        _evaluate(url, bench, full=True, now=bench.FULL_NOW)
    return urls[0], urls[1]


def _rescored_weeks(bench: ModuleType, first: str) -> list[str]:
    """The weeks an incremental run re-scores when `first` is the earliest affected one: back
    to the week the last evaluation ran in (now, on this clock) if earlier."""
    tz = load_registry_file(bench.REGISTRY).registry.tz
    ran = week_of(datetime.now(UTC) - evaluate.OVERLAP, tz)
    return weeks_between(min(first, ran, key=monday),
                         shift_week(week_of(bench.INCREMENT_NOW, tz), -1))


def _compare(incremental: str, full: str) -> None:
    got, want = _stored(incremental), _stored(full)
    assert got["scorecards"] == want["scorecards"]
    assert got["reviews"] == want["reviews"]
    assert {f[:3] for f in got["findings"] if f[1] == "unauthorized_change"} == {
        f[:3] for f in want["findings"] if f[1] == "unauthorized_change"}


def test_new_ownership_changes_alone_rescore_the_latest_week_only(
    bench: ModuleType, generated: Path, tmp_path: Path
) -> None:
    """The increment holds assignee changes and PagerDuty assignments of the latest week only,
    on items resolved the weeks before: nothing earlier can change, so nothing earlier is
    re-scored (the reopen rule does not reach back without a new status change)."""
    incremental, full = _evaluated_twice(bench, generated, tmp_path)
    world = bench.compile_world(load_registry_file(bench.REGISTRY).registry, 0.08)
    for url in (incremental, full):
        engine = make_engine(url)
        try:
            bench.add_increment(session_factory(engine), world, 200, seed=11)
        finally:
            engine.dispose()
    report = _evaluate(incremental, bench, full=False, now=bench.INCREMENT_NOW)
    _evaluate(full, bench, full=True, now=bench.INCREMENT_NOW)
    assert not report.full and report.verdicts > 0
    assert report.scorecards == 3 * len(_rescored_weeks(bench, "2026-W47"))
    _compare(incremental, full)


def _resolved_long_ago(url: str, bench: ModuleType) -> tuple[str, str]:
    """A support issue first resolved (Done) at least 3 weeks before the latest week, never
    reopened, Done now: its key and the week it was resolved in."""
    registry = load_registry_file(bench.REGISTRY).registry
    terminal = registry.workflows["support"].terminal_statuses()
    latest = week_of(bench.INCREMENT_NOW - timedelta(days=7), registry.tz)
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            for item in load_histories(session, workflow_services(registry), Scope()):
                changes = item.status_changes
                if item.workflow != "support" or not changes or changes[-1].to_status != "Done":
                    continue
                resolved = next(c.at for c in changes if c.to_status in terminal)
                reopened = any(c.from_status in terminal and c.to_status not in terminal
                               for c in changes)
                week = week_of(resolved, registry.tz)
                if not reopened and monday(week) <= monday(shift_week(latest, -3)):
                    return item.item, week
    finally:
        engine.dispose()
    raise AssertionError("no support issue resolved long ago in the generated history")


def _reopen(url: str, bench: ModuleType, key: str, at: datetime) -> None:
    """The sync writes the issue again, reopened (Done → In Progress) at `at`."""
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            raw = session.scalars(select(JiraIssue.raw).where(JiraIssue.key == key)).one()
            fields = {**raw["fields"], "status": {"name": "In Progress"},
                      "updated": bench.iso(at)}
            history = {"id": "990000001", "author": {"accountId": "5b10a2844c20165700edeff1"},
                       "created": bench.iso(at),
                       "items": [bench._status_item("Done", "In Progress")]}
            # stamped by the clock the evaluation's cursor comes from (the default, the system's)
            save_jira_batch(session, [(jira_issue_row({**raw, "fields": fields}), [history])],
                            "support", system_clock())
    finally:
        engine.dispose()


def _reopened_count(url: str, week: str) -> int | None:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return c.scalar(select(Scorecard.reopened).where(
                Scorecard.workflow == "support", Scorecard.week == week))
    finally:
        engine.dispose()


def test_a_reopen_rescores_the_week_the_issue_was_first_resolved(
    bench: ModuleType, generated: Path, tmp_path: Path
) -> None:
    """A reopen synced now lowers the quality rate of the week, weeks ago, the issue was first
    resolved in: the incremental run re-scores from that week, as a full one scores it."""
    incremental, full = _evaluated_twice(bench, generated, tmp_path)
    key, resolved_week = _resolved_long_ago(incremental, bench)
    before = _reopened_count(incremental, resolved_week)
    world = bench.compile_world(load_registry_file(bench.REGISTRY).registry, 0.08)
    at = datetime(2026, 11, 18, 10, 30, tzinfo=UTC)  # Wednesday of 2026-W47
    for url in (incremental, full):
        engine = make_engine(url)
        try:
            bench.add_increment(session_factory(engine), world, 100, seed=13)
        finally:
            engine.dispose()
        _reopen(url, bench, key, at)
    report = _evaluate(incremental, bench, full=False, now=bench.INCREMENT_NOW)
    _evaluate(full, bench, full=True, now=bench.INCREMENT_NOW)
    assert not report.full
    assert report.scorecards == 3 * len(_rescored_weeks(bench, resolved_week))
    assert _reopened_count(incremental, resolved_week) == (before or 0) + 1
    _compare(incremental, full)
