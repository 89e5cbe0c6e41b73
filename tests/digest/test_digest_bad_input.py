"""Bad input: weeks without data, malformed weeks, untrusted text, the default week."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from rules.weeks import shift_week, week_of
from tests.digest.conftest import Workspace

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.mark.parametrize(
    ("week", "message"),
    [("2026-48", "YYYY-Www"), ("W48", "YYYY-Www"), ("2026-W54", "does not exist"),
     ("next week", "YYYY-Www")],
    ids=["2026-48", "W48", "2026-W54", "next week"],
)
def test_a_week_that_is_not_yyyy_www_exits_2(
    shared_workspace: Workspace, week: str, message: str
) -> None:
    run = shared_workspace.cli if week == "2026-48" else shared_workspace.run  # one for real
    result = run("digest", "--week", week)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_week_without_data_says_so_per_workflow(shared_workspace: Workspace) -> None:
    result = shared_workspace.run("digest", "--week", "2026-W48", "--out", "w48.html")
    assert result.returncode == 0, result.stderr
    assert "Accountability digest 2026-W48: no data for 3 workflows, 1 risk review open" in (
        result.stdout)
    html = (shared_workspace.folder / "w48.html").read_text(encoding="utf-8")
    for workflow in ("support", "renewals", "onboarding"):
        assert f'data-no-data="{workflow}"' in html
    assert "data-metric=" not in html  # no metric table of zeros
    text = shared_workspace.run("digest", "--week", "2026-W48").stdout
    assert text.count("NO DATA for 2026-W48") == 3
    assert "(last data: 2026-W47)" in text
    # the trend still shows the weeks that had data, this week as a gap
    assert "Trend, 2026-W41 to 2026-W48" in text
    assert "   13*     38       ·" in text


def test_the_default_week_is_the_week_just_ended_in_the_registry_time_zone(
    shared_workspace: Workspace,
) -> None:
    expected = shift_week(week_of(datetime.now(UTC), ZoneInfo("Europe/Berlin")), -1)
    result = shared_workspace.run("digest")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Acme · Accountability digest {expected}\n")


def test_untrusted_text_is_escaped(workspace: Workspace) -> None:
    with sqlite3.connect(workspace.database) as db:
        db.execute(
            "UPDATE findings SET reason = ?, details = json_set(details, '$.title', ?, '$.url', ?) "
            "WHERE type = 'unauthorized_change' AND item = 'SUP-210'",
            (f"sam {EVIL} reassigned\r\nBcc: x@evil.example", f"Invoices {EVIL}",
             "javascript:alert(1)"))
        db.execute("INSERT INTO decisions (workflow, week, decision, by, note, recorded_at) "
                   "VALUES ('support', '2026-W45', 'continue', 'dana', ?, "
                   "'2026-11-10 09:00:00.000000')", (f"ok {EVIL}",))
    result = workspace.run("digest", "--week", "2026-W46", "--out", "evil.html")
    assert result.returncode == 0, result.stderr
    html = (workspace.folder / "evil.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html
    # the Jira link is rebuilt from JIRA_URL, not taken from the stored one
    assert 'href="https://acme.atlassian.net/browse/SUP-210"' in html
    text = workspace.run("digest", "--week", "2026-W46").stdout
    assert "reassigned Bcc: x@evil.example" in " ".join(text.split())  # one line, no CR/LF


def test_untrusted_text_is_literal_in_the_markdown_artifact() -> None:
    from accountability.messages.digest import markdown_link, markdown_text

    assert markdown_text(f"[click](javascript:alert(1)) {EVIL} | *x*") == (
        r"\[click\](javascript:alert(1)) &lt;script&gt;alert(\"x\")&lt;/script&gt;"
        r"&lt;img src=x onerror=alert(1)&gt; \| \*x\*").replace('\\"', '"')
    assert markdown_link("SUP-1 [x]", "https://acme.atlassian.net/browse/SUP-1 (a)") == (
        r"[SUP-1 \[x\]](https://acme.atlassian.net/browse/SUP-1%20%28a%29)")
    assert markdown_link("Q1", None) == "Q1"
