"""Evaluation over generated history (the benchmark's generator, at a small size): 26 weeks of
three workflows with breaches every week, so risk reviews open and the `stop` rule applies.

Evaluating the same history twice must leave every stored result as it was, and an incremental
evaluation after new events must score the weeks as a full one does (SPEC §5)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import select

from accountability import evaluate
from accountability.registry_file import load_registry_file
from storage.engine import make_engine, session_factory
from storage.migrate import upgrade
from storage.models import AlertOutbox, Finding, RiskReview, Scorecard

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
