"""Decisions in the digest: last week's decision beside what followed, and the call-out when a
workflow with breaches has had no decision for two weeks."""

from __future__ import annotations

from tests.digest.conftest import Workspace


def test_a_recorded_decision_shows_in_next_weeks_digest_beside_what_followed(
    workspace: Workspace,
) -> None:
    decided = workspace.run("decide", "support", "stabilize", "--by", "dana", "--week",
                            "2026-W46", "--note", "Hire two agents")
    assert decided.returncode == 0, decided.stderr
    result = workspace.run("digest", "--week", "2026-W47", "--out", "w47.html")
    assert result.returncode == 0, result.stderr
    assert "no decision taken" not in result.stdout
    html = (workspace.folder / "w47.html").read_text(encoding="utf-8")
    assert 'data-follow-up="support"' in html and "data-no-decision" not in html
    text = workspace.run("digest", "--week", "2026-W47").stdout
    flat = " ".join(text.split())
    assert ("Decision for 2026-W46: STABILIZE, recorded by Dana Ruiz on" in flat
            and "(recommended: pause)" in flat and "Note: Hire two agents" in flat)
    assert ("What followed: All 6 breaches of 2026-W46 cleared in 2026-W47 (throughput, "
            "quality_trend, exception_rate, rework_volume, decision_latency_hours, "
            "unauthorized_changes).") in flat
    assert "NO DECISION TAKEN" not in text


def test_breaches_without_a_decision_for_two_weeks_are_called_out(
    shared_workspace: Workspace,
) -> None:
    result = shared_workspace.run("digest", "--week", "2026-W47")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.splitlines()[3] == (
        "All 3 workflows continue, 1 with no decision taken, 1 risk review open.")
    flat = " ".join(text.split())
    assert ("NO DECISION TAKEN: Support resolution time breached throughput, quality_trend, "
            "exception_rate, rework_volume, decision_latency_hours, unauthorized_changes in "
            "2026-W46 (recommended: pause), and no decision has been recorded for 2026-W46 or "
            "2026-W47.") in flat
    assert "accountability decide support DECISION --by PERSON --week 2026-W47" in text
    # the other workflows had no breaches: nothing to decide, nothing called out
    assert flat.count("NO DECISION TAKEN:") == 1
