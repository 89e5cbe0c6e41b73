"""The tracker from stored rows, the leader's confirmation (authority, clock, origin), map
writes, the digest's reset section and the map's reset week."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accountability.config.errors import UsageError
from accountability.messages.digest import render, render_markdown, render_text
from accountability.origin import Origin
from accountability.usecases import maps
from accountability.usecases import reset as usecase
from accountability.usecases.digest.gather import gather
from rules.digest import build_digest
from rules.escalation_map import build_escalation_map
from rules.registry import LoadedRegistry
from storage import evaluations, resets
from storage.engine import session_scope
from storage.migrate import upgrade
from storage.models import Finding, ResetConfirmation, Scorecard
from tests.reset.conftest import with_reset

LAPTOP = Origin(os_user="omar", host="laptop-7")


def at(day: int, month: int = 12, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _scorecard(workflow: str, week: str, measured: bool = True) -> Scorecard:
    return Scorecard(workflow=workflow, week=week, throughput=3, quality_trend=None,
                     exception_rate=0.1 if measured else None, rework_volume=0,
                     decision_latency_hours=None, decision_latency_p90_hours=None,
                     unauthorized_changes=0, reopened=0, breaches=[],
                     recommendation="continue", recommendation_rule="", computed_at=at(1))


def test_confirmation_is_leadership_only_and_records_who_when_and_where(
    factory: sessionmaker[Session], loaded: LoadedRegistry,
) -> None:
    with pytest.raises(UsageError, match="only leadership may confirm"), session_scope(
        factory
    ) as session:
        usecase.confirm(session, loaded.registry, "decision-rights", "maria",
                        clock=lambda: at(8), origin=lambda: LAPTOP)
    with pytest.raises(UsageError, match="not a person"), session_scope(factory) as session:
        usecase.confirm(session, loaded.registry, "decision-rights", "nobody",
                        clock=lambda: at(8), origin=lambda: LAPTOP)
    with session_scope(factory) as session:
        usecase.confirm(session, loaded.registry, "decision-rights", "omar",
                        clock=lambda: at(8), origin=lambda: LAPTOP)
    with factory() as session:
        rows = list(session.scalars(select(ResetConfirmation)))
        assert [(r.workflow, r.started, r.item, r.by, r.at, r.os_user, r.host, r.flow_run_id)
                for r in rows] == [("support", date(2026, 11, 30), "decision-rights", "omar",
                                    at(8), "omar", "laptop-7", None)]
        tracker = usecase.tracker(session, loaded.registry, clock=lambda: at(9))
    line = next(x for x in tracker.lines if x.item.startswith("decision rights"))
    assert (line.status, line.evidence) == ("done", "confirmed by Omar Haddad on 2026-12-08")


def test_a_registry_without_reset_or_another_workflow_is_refused(
    factory: sessionmaker[Session], loaded: LoadedRegistry,
) -> None:
    with factory() as session:
        with pytest.raises(UsageError, match="has no reset"):
            usecase.tracker(session, with_reset("").registry, clock=lambda: at(1))
        with pytest.raises(UsageError, match="for workflow 'support', not 'renewals'"):
            usecase.tracker(session, loaded.registry, "renewals", clock=lambda: at(1))


def test_tracker_counts_stored_weeks_decisions_gaps_and_map_writes(
    factory: sessionmaker[Session], loaded: LoadedRegistry,
) -> None:
    with session_scope(factory) as session:
        for week in ("2026-W45", "2026-W46", "2026-W47", "2026-W48"):
            session.add(_scorecard("support", week))
        session.add(_scorecard("support", "2026-W44", measured=False))  # no data
        session.add(_scorecard("support", "2026-W50"))  # the week of "today": not finished
        session.add(_scorecard("renewals", "2026-W43"))  # another workflow
        resets.record_map_write(session, "support", "h", at(29, 11), "map")  # before the start
        session.add(Finding(key="gap-1", type="registry_gap", workflow="support", item=None,
                            at=at(1), reason="unmapped actor", status="open", details={},
                            first_seen_at=at(1), updated_at=at(1)))
        evaluations.record_decision(session, "support", "2026-W49", "stabilize", "dana", None,
                                    at(7), {})
    with factory() as session:
        tracker = usecase.tracker(session, loaded.registry, clock=lambda: at(10))
    status = {line.item: (line.status, line.evidence) for line in tracker.lines}
    assert status["at least 4 baseline weeks"] == (
        "done", "4 finished week(s) with data: 2026-W45, 2026-W46, 2026-W47, 2026-W48")
    assert status["escalation map published"] == (
        "overdue", "no map written since 2026-11-30")
    assert status["registry gaps from escalations closed"] == (
        "open", "1 open registry-gap finding(s): gap-1")
    assert status["weekly decisions recorded for 2 weeks"] == (
        "open", "decisions recorded since the start for 1 week(s): 2026-W49")


def test_a_map_written_through_the_use_case_is_recorded(
    tmp_path: Path, loaded: LoadedRegistry,
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    missing = maps.record_map_write(url, loaded, "support", "map", clock=lambda: at(1))
    assert missing is not None and "no database" in missing
    assert not (tmp_path / "a.db").exists()  # not created to hold the row
    upgrade(url)
    assert maps.record_map_write(url, loaded, "support", "map", clock=lambda: at(1)) is None
    from storage.engine import make_engine, session_factory
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            assert resets.map_writes(session, "support", at(30, 11, 0)) == [at(1)]
            tracker = usecase.tracker(session, loaded.registry, clock=lambda: at(2))
    finally:
        engine.dispose()
    line = next(x for x in tracker.lines if x.item == "escalation map published")
    assert line.status == "done"


@pytest.mark.parametrize(("week", "shown", "reset_week"), [
    ("2026-W48", False, None),  # the week before the start
    ("2026-W49", True, 1),
    ("2026-W52", True, 4),
    ("2026-W53", False, None),  # after week 4
])
def test_the_digest_shows_the_reset_only_while_it_runs(
    factory: sessionmaker[Session], loaded: LoadedRegistry, week: str, shown: bool,
    reset_week: int | None,
) -> None:
    now = at(15)
    with factory() as session:
        inputs = gather(session, loaded, week, now)
    digest = build_digest(loaded.registry, inputs)
    assert (digest.reset is not None) == shown
    assert digest.reset_week == reset_week
    text, markdown = render_text(digest), render_markdown(digest)
    html = render(digest).file_html
    if shown:
        assert f"30-DAY RESET: SUPPORT RESOLUTION TIME (support) · RESET WEEK {reset_week} " \
               "OF 4" in text
        assert "OVERDUE  escalation map published" in text  # W1 ended 12-06, as of 12-15
        assert f"reset week {reset_week} of 4" in markdown
        assert 'data-reset-item="escalation map published" data-status="overdue"' in html
    else:
        assert "30-DAY RESET" not in text and "30-day reset" not in markdown
        assert "data-reset" not in html


def test_the_digest_has_no_reset_section_without_a_reset(factory: sessionmaker[Session]) -> None:
    plain = with_reset("")
    with factory() as session:
        digest = build_digest(plain.registry, gather(session, plain, "2026-W49", at(15)))
    assert digest.reset is None and "30-DAY RESET" not in render_text(digest)


def test_the_map_says_the_reset_week_of_its_workflow_only() -> None:
    registry = with_reset().registry
    assert build_escalation_map(registry, "support", date(2026, 12, 9)).reset_week == 2
    assert build_escalation_map(registry, "support", date(2026, 11, 29)).reset_week is None
    assert build_escalation_map(registry, "support", date(2026, 12, 28)).reset_week is None
    assert build_escalation_map(registry, "renewals", date(2026, 12, 9)).reset_week is None


def test_the_map_page_shows_the_reset_week(tmp_path: Path, loaded: LoadedRegistry) -> None:
    page = maps.write_escalation_map(loaded, "support", tmp_path / "m.html", date(2026, 12, 21))
    assert "reset week 4 of 4" in page.read_text()
    other = maps.write_escalation_map(loaded, "renewals", tmp_path / "r.html", date(2026, 12, 21))
    assert "reset week" not in other.read_text()


# --- the command ---------------------------------------------------------------------------


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACCOUNTABILITY_REGISTRY": str(tmp_path / "registry.yaml"),
           "ACCOUNTABILITY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    script = Path(sys.executable).parent / "accountability"
    return subprocess.run([str(script), *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_cli_refuses_a_non_leader_with_exit_2_and_records_a_leader(tmp_path: Path) -> None:
    (tmp_path / "registry.yaml").write_text(with_reset().text)
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    refused = _cli(tmp_path, "reset", "confirm", "decision-rights", "--by", "maria")
    assert refused.returncode == 2
    assert "only leadership may confirm a reset item: dana, omar" in refused.stderr
    assert _cli(tmp_path, "reset", "confirm", "owners", "--by", "dana").returncode == 2
    assert _cli(tmp_path, "reset", "confirm", "decision-rights").returncode == 2
    ok = _cli(tmp_path, "reset", "confirm", "decision-rights", "--by", "dana")
    assert ok.returncode == 0, ok.stderr
    assert "confirmed by dana" in ok.stdout
    shown = _cli(tmp_path, "reset", "support", "--json")
    assert shown.returncode == 0, shown.stderr
    import json
    lines = json.loads(shown.stdout)["lines"]
    confirmed = next(x for x in lines if x["item"].startswith("decision rights"))
    assert confirmed["status"] == "done" and confirmed["evidence"].startswith(
        "confirmed by Dana Ruiz on ")
    assert _cli(tmp_path, "reset", "renewals").returncode == 2
