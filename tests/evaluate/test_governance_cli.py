"""The evaluation commands as a user runs them: JSON shapes, permissions, ratification."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(Path(sys.executable).with_name("accountability"))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The demo's database (synced from the sandbox), then `accountability evaluate`."""
    folder = tmp_path_factory.mktemp("gov")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ACCOUNTABILITY_", "JIRA_", "PAGERDUTY_"))}
    subprocess.run([SCRIPT, "demo", "--out", str(folder / "demo")], env=env, cwd=folder,
                   check=True, capture_output=True, timeout=180)
    env.update(ACCOUNTABILITY_DATABASE_URL=f"sqlite:///{folder / 'demo' / 'accountability.db'}",
               ACCOUNTABILITY_REGISTRY=str(ROOT / "examples" / "registry.yaml"))
    subprocess.run([SCRIPT, "evaluate"], env=env, cwd=folder, check=True, capture_output=True,
                   timeout=180)
    env["_CWD"] = str(folder)
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in env.items() if k != "_CWD"}
    return subprocess.run([SCRIPT, *args], env=clean, cwd=env["_CWD"], capture_output=True,
                          text=True, timeout=120)


def as_json(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    result = cli(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # machine output only: nothing but JSON on stdout
    assert isinstance(data, list)
    return data


def test_findings_json_has_the_spec_fields(demo_db: dict[str, str]) -> None:
    findings = as_json(demo_db, "findings")
    assert findings and {"key", "type", "workflow", "item", "at", "actor", "from", "to", "rule",
                         "reason", "status"} <= set(findings[0])
    unauthorized = [f for f in findings if f["type"] == "unauthorized_change"]
    assert len(unauthorized) == 7
    assert all(str(f["at"]).endswith("Z") for f in findings)
    assert not any(f["type"] == "authorized_change" for f in findings)
    everything = as_json(demo_db, "findings", "--all", "--workflow", "support")
    authorized = [f for f in everything if f["type"] == "authorized_change"]
    assert authorized and all(f["rule"] in ("approver", "delegation", "declared-path",
                                            "automation") for f in authorized)
    assert {f["workflow"] for f in everything} == {"support"}


def test_scorecard_json_is_the_last_8_weeks_oldest_first(demo_db: dict[str, str]) -> None:
    rows = as_json(demo_db, "scorecard")
    support = [r for r in rows if r["workflow"] == "support"]
    assert [r["week"] for r in support] == sorted(r["week"] for r in support)
    assert 1 <= len(support) <= 8
    assert {"throughput", "quality_trend", "exception_rate", "rework_volume",
            "decision_latency_hours", "unauthorized_changes", "decision_latency_p90_hours",
            "breaches", "recommendation"} <= set(support[0])
    week = as_json(demo_db, "scorecard", "--week", "2026-W46")
    assert {r["workflow"] for r in week} == {"support", "renewals", "onboarding"}


@pytest.mark.parametrize("week", ["2026-48", "W48", "2026-W54", "next"])
def test_bad_week_exits_2(demo_db: dict[str, str], week: str) -> None:
    result = cli(demo_db, "scorecard", "--week", week)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_risk_review_ack_and_close_only_by_its_owners(demo_db: dict[str, str]) -> None:
    (review,) = as_json(demo_db, "reviews", "--workflow", "support")
    assert {"id", "workflow", "week", "owner", "status", "opened_at", "due", "breaches"} <= set(
        review)
    refused = cli(demo_db, "ack", str(review["id"]), "--by", "sam")
    assert refused.returncode == 2
    assert "lee" in refused.stderr and "maria" in refused.stderr  # says who may
    assert cli(demo_db, "ack", str(review["id"]), "--by", "lee").returncode == 0
    assert as_json(demo_db, "reviews", "--status", "acknowledged")[0]["id"] == review["id"]
    closed = cli(demo_db, "close", str(review["id"]), "--by", "maria", "--note", "Staffing fixed")
    assert closed.returncode == 0, closed.stderr
    assert cli(demo_db, "ack", str(review["id"]), "--by", "lee").returncode == 2  # closed


def test_ratify_only_by_outcome_owner_or_approver_and_it_sticks(demo_db: dict[str, str]) -> None:
    finding = next(f for f in as_json(demo_db, "findings", "--workflow", "support")
                   if f["type"] == "unauthorized_change" and f["item"] == "SUP-210")
    refused = cli(demo_db, "ratify", str(finding["key"]), "--by", "sam", "--note", "fine")
    assert refused.returncode == 2 and "maria" in refused.stderr
    ok = cli(demo_db, "ratify", str(finding["key"]), "--by", "priya", "--note", "agreed by phone")
    assert ok.returncode == 0, ok.stderr
    assert cli(demo_db, "evaluate", "--full").returncode == 0
    again = next(f for f in as_json(demo_db, "findings") if f["key"] == finding["key"])
    assert again["status"] == "ratified"
    week = next(r for r in as_json(demo_db, "scorecard", "--week", "2026-W46")
                if r["workflow"] == "support")
    assert week["unauthorized_changes"] == 5  # 6 before, one ratified


def test_ratifying_an_authorized_change_says_it_needs_none(demo_db: dict[str, str]) -> None:
    authorized = next(f for f in as_json(demo_db, "findings", "--all")
                      if f["type"] == "authorized_change")
    assert authorized["rule"]
    refused = cli(demo_db, "ratify", str(authorized["key"]), "--by", "maria", "--note", "ok")
    assert refused.returncode == 2
    assert "authorized change" in refused.stderr and "Traceback" not in refused.stderr


def test_decide_only_by_outcome_owner_or_leadership(demo_db: dict[str, str]) -> None:
    refused = cli(demo_db, "decide", "support", "pause", "--by", "sam")
    assert refused.returncode == 2 and "dana" in refused.stderr
    bad = cli(demo_db, "decide", "support", "panic", "--by", "dana")
    assert bad.returncode == 2 and "continue, stabilize, pause, stop" in bad.stderr
    ok = cli(demo_db, "decide", "support", "stabilize", "--by", "dana", "--week", "2026-W46",
             "--note", "Hire two agents")
    assert ok.returncode == 0 and "2026-W46" in ok.stdout
