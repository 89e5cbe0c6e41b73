"""`accountability baseline` over stored scorecards with planted values (SPEC §12).

The scorecards are written straight into a migrated SQLite database, so the right answers are
known by construction: the values below are the same planted distribution as in
`tests/rules/test_baseline.py`, whose proposals are worked out by hand there. Time is pinned:
the use case gets a clock, the CLI process a libfaketime clock (`tests.clock.pinned_env`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from accountability.config.errors import UsageError
from accountability.usecases import baseline as usecase
from accountability.usecases import databases
from rules.baseline import NotEnoughWeeksError
from rules.escalation_map import UnknownWorkflowError
from rules.facts import WeekScore
from rules.registry import parse_registry
from storage import evaluations as store
from storage.engine import make_engine, session_factory, session_scope
from tests.clock import pinned_env

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(Path(sys.executable).with_name("accountability"))
REGISTRY = ROOT / "examples" / "registry.yaml"

# Monday 2026-11-23 00:30 in Berlin is still Sunday 23:30 UTC: W47 has just finished there.
NOW = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
WEEKS = [f"2026-W{n:02d}" for n in range(40, 48)]

PLANTED: dict[str, list[float]] = {
    "throughput": [50, 10, 80, 30, 20, 70, 40, 60],
    "quality_trend": [0.01, -0.30, 0.05, 0.0, 0.03, -0.05, 0.04, 0.02],
    "exception_rate": [0.14, 0.40, 0.10, 0.22, 0.12, 0.18, 0.16, 0.20],
    "rework_volume": [3, 0, 12, 1, 2, 1, 3, 2],
    "decision_latency_hours": [30.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
    "unauthorized_changes": [0, 0, 2, 0, 0, 5, 0, 0],
}
EXPECTED = {  # by hand: see tests/rules/test_baseline.py
    "throughput": {"min": 17}, "quality_trend": {"min": -0.13},
    "exception_rate": {"max": 0.28}, "rework_volume": {"max": 6},
    "decision_latency_hours": {"max": 14}, "unauthorized_changes": {"max": 0},
}


def score(workflow: str, week: str, **values: object) -> WeekScore:
    base: dict[str, object] = dict(
        workflow=workflow, week=week, throughput=30, quality_trend=0.0, exception_rate=0.1,
        rework_volume=1, decision_latency_hours=5.0, decision_latency_p90_hours=9.0,
        unauthorized_changes=0, breaches=(), recommendation="continue",
        recommendation_rule="", has_data=True, reopened=0)
    base.update(values)
    return WeekScore(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """support: the planted 8 weeks, plus a wild week in progress (W48) that must be ignored;
    renewals: only 3 weeks with data."""
    url = f"sqlite:///{tmp_path_factory.mktemp('baseline') / 'acc.db'}"
    databases.upgrade_database(url)
    scores = [score("support", w, **{k: v[i] for k, v in PLANTED.items()})
              for i, w in enumerate(WEEKS)]
    scores.append(score("support", "2026-W48", throughput=0, exception_rate=9.0,
                        unauthorized_changes=99))
    scores += [score("renewals", w) for w in WEEKS[-3:]]
    engine = make_engine(url)
    with session_scope(session_factory(engine)) as session:
        store.save_scorecards(session, scores, NOW)
    engine.dispose()
    yield url


def test_use_case_reads_the_finished_weeks_in_the_registry_zone(db: str) -> None:
    loaded = parse_registry(REGISTRY.read_text(encoding="utf-8"), str(REGISTRY))
    with databases.open_database(db) as factory:
        report = usecase.baseline(factory, loaded, "support", clock=lambda: NOW)
        assert report.baseline.weeks == tuple(WEEKS)  # W48 is in progress: not a baseline week
        assert report.proposed == EXPECTED
        # Sunday 22:30 UTC is Sunday 23:30 in Berlin: W47 is not finished yet.
        earlier = usecase.baseline(factory, loaded, "support",
                                   clock=lambda: datetime(2026, 11, 22, 22, 30, tzinfo=UTC))
        assert earlier.baseline.weeks_with_data == tuple(WEEKS[:-1])
        with pytest.raises(UnknownWorkflowError):
            usecase.baseline(factory, loaded, "nope", clock=lambda: NOW)
        with pytest.raises(UsageError):
            usecase.baseline(factory, loaded, "support", weeks=0, clock=lambda: NOW)
        with pytest.raises(NotEnoughWeeksError):
            usecase.baseline(factory, loaded, "support", weeks=3, clock=lambda: NOW)


def cli(db: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTABILITY_")}
    env |= pinned_env(NOW) | {"ACCOUNTABILITY_DATABASE_URL": db}
    return subprocess.run([SCRIPT, "baseline", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_json_has_summary_proposal_rule_and_breaches(db: str, tmp_path: Path) -> None:
    result = cli(db, tmp_path, "support", "--registry", str(REGISTRY), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["weeks"] == WEEKS and data["weeks_with_data"] == WEEKS
    metrics = {m["metric"]: m for m in data["metrics"]}
    assert list(metrics) == list(PLANTED)
    t = metrics["throughput"]
    assert (t["median"], t["q1"], t["q3"], t["min"], t["max"]) == (45, 27.5, 62.5, 10, 80)
    assert t["proposed"] == {"min": 17} and t["breaches"] == 1
    assert t["breached_weeks"] == ["2026-W41"] and t["current"] == {"min": 15}
    assert metrics["unauthorized_changes"]["breaches"] == 2
    assert {k: m["proposed"] for k, m in metrics.items()} == EXPECTED
    assert all(m["rule"] for m in metrics.values())


def test_table_names_each_rule(db: str, tmp_path: Path) -> None:
    result = cli(db, tmp_path, "support", "--registry", str(REGISTRY))
    assert result.returncode == 0, result.stderr
    assert "8 of 8 finished weeks with data (2026-W40 – 2026-W47)" in result.stdout
    assert "the 90th percentile of 8 baseline weeks (0.274), rounded up to 0.01" in result.stdout
    assert "a policy, not a statistic" in result.stdout


def test_too_few_weeks_says_how_many_it_has_and_needs(db: str, tmp_path: Path) -> None:
    result = cli(db, tmp_path, "renewals", "--registry", str(REGISTRY))
    assert result.returncode == 1
    assert "has 3 finished week(s) with data in the last 8" in result.stderr
    assert "needs at least 4" in result.stderr and "Traceback" not in result.stderr


def test_unknown_workflow_exits_2(db: str, tmp_path: Path) -> None:
    result = cli(db, tmp_path, "nope", "--registry", str(REGISTRY))
    assert result.returncode == 2
    assert "unknown workflow 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_patch_onto_an_existing_file_is_refused(db: str, tmp_path: Path) -> None:
    target = tmp_path / "exists.patch"
    target.write_text("keep me\n")
    result = cli(db, tmp_path, "support", "--registry", str(REGISTRY), "--patch", str(target))
    assert result.returncode == 2 and "already exists" in result.stderr
    assert target.read_text() == "keep me\n"


def _copy_registry(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "repo"
    (folder / "examples").mkdir(parents=True)
    shutil.copyfile(REGISTRY, folder / "examples" / "registry.yaml")
    return folder, REGISTRY.read_text(encoding="utf-8")


def _thresholds(text: str, workflow: str) -> dict[str, dict[str, float]]:
    card = parse_registry(text, "patched.yaml").registry.workflows[workflow].scorecard
    return {k: {b: v for b in ("min", "max") if (v := getattr(t, b)) is not None}
            for k, t in card.thresholds.items()}


@pytest.mark.parametrize("tool", [["patch", "-p0", "-i"], ["git", "apply", "-p0"]])
def test_patch_applies_to_the_registry_and_gives_the_proposal(
    db: str, tmp_path: Path, tool: list[str]
) -> None:
    if shutil.which(tool[0]) is None:
        pytest.skip(f"{tool[0]} is not installed")
    folder, original = _copy_registry(tmp_path)
    result = cli(db, folder, "support", "--registry", "examples/registry.yaml",
                 "--patch", "support.patch")
    assert result.returncode == 0, result.stderr
    patch = (folder / "support.patch").read_text()
    assert patch.startswith("--- examples/registry.yaml\n+++ examples/registry.yaml\n")
    assert (folder / "examples" / "registry.yaml").read_text() == original  # never edited
    applied = subprocess.run([*tool, "support.patch"], cwd=folder, capture_output=True,
                             text=True, timeout=60)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    patched = (folder / "examples" / "registry.yaml").read_text()
    assert _thresholds(patched, "support") == EXPECTED
    # Only the support scorecard's thresholds changed: every other line is as it was.
    old_lines, new_lines = original.splitlines(), patched.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert changed and all(old_lines[i].strip().startswith(tuple(PLANTED)) for i in changed)
    assert _thresholds(patched, "renewals") == _thresholds(original, "renewals")


def test_patch_adds_a_scorecard_block_a_workflow_lacks(tmp_path: Path) -> None:
    """The rules' patch on a registry whose workflow has no scorecard: appended to the
    workflow, the registry still valid, the next workflow untouched."""
    from rules import baseline as rules

    original = REGISTRY.read_text(encoding="utf-8")
    start = original.index("    scorecard:\n", original.index("  renewals:"))
    end = original.index("\n\n", start) + 1
    without = original[:start] + original[end:]
    proposal = {"throughput": {"min": 3.0}, "unauthorized_changes": {"max": 0.0}}
    new = rules.patched_registry(without, "renewals", proposal, 1)
    assert _thresholds(new, "renewals") == proposal
    assert _thresholds(new, "onboarding") == _thresholds(original, "onboarding")
    assert new.replace(new[new.index("    scorecard:\n", new.index("  renewals:")):
                           new.index("\n\n", new.index("  renewals:")) + 1], "") == without


def test_patch_keeps_line_endings_and_a_missing_last_newline() -> None:
    """A CRLF registry gets CRLF lines; a file without a final newline keeps lacking it."""
    from rules import baseline as rules

    original = REGISTRY.read_text(encoding="utf-8")
    proposal = {"throughput": {"min": 3.0}, "unauthorized_changes": {"max": 0.0}}
    plain = rules.patched_registry(original, "onboarding", proposal, 2)
    crlf = rules.patched_registry(original.replace("\n", "\r\n"), "onboarding", proposal, 2)
    assert crlf == plain.replace("\n", "\r\n")
    assert rules.patched_registry(original.rstrip("\n"), "onboarding", proposal, 2) == \
        plain.rstrip("\n")
    assert _thresholds(plain, "onboarding") == proposal
    assert parse_registry(plain, "p.yaml").registry.workflows["onboarding"].scorecard \
        .consecutive_weeks == 2


def test_a_metric_the_registry_does_not_guard_is_added(db: str) -> None:
    """onboarding's registry has no quality_trend threshold: the proposal adds one."""
    loaded = parse_registry(REGISTRY.read_text(encoding="utf-8"), str(REGISTRY))
    engine = make_engine(db)
    with session_scope(session_factory(engine)) as session:
        store.save_scorecards(session, [
            score("onboarding", w, quality_trend=q)
            for w, q in zip(WEEKS[-4:], [0.0, -0.2, 0.1, 0.05], strict=True)], NOW)
    engine.dispose()
    with databases.open_database(db) as factory:
        report = usecase.baseline(factory, loaded, "onboarding", clock=lambda: NOW)
    assert "quality_trend" not in report.current
    # sorted -0.2, 0, 0.05, 0.1: p10 h=0.3 → -0.2 + 0.3·0.2 = -0.14 → down to -0.14
    assert report.proposed["quality_trend"] == {"min": pytest.approx(-0.14)}
    patched = rules_patch(loaded.text, report)
    assert _thresholds(patched, "onboarding")["quality_trend"] == {"min": pytest.approx(-0.14)}


def rules_patch(text: str, report: usecase.BaselineReport) -> str:
    from rules import baseline as rules

    return rules.patched_registry(text, report.baseline.workflow, report.proposed,
                                  report.consecutive_weeks)
