"""Untrusted text is text on the terminal (issue 15 item 10).

Jira summaries and status names, PagerDuty titles and servers' error messages reach the CLI's
Rich tables and messages. Printed as they are, `[link=…]` becomes a hyperlink, `QA [/]` crashes
the command with `MarkupError`, and an escape sequence (`ESC ] 8 ;;`, an OSC hyperlink) reaches
the terminal. Each command must print them literally, without control characters.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from accountability.cli.text import safe_text
from storage.engine import make_engine, session_factory, session_scope
from storage.migrate import upgrade
from storage.models import AlertOutbox, Finding

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "registry.yaml"
SCRIPT = Path(sys.executable).with_name("accountability")
EVIL = "QA [/] [link=http://x]x\x1b]8;;"
LITERAL = "QA [/] [link=http://x]x]8;;"  # the same text, its ESC removed
AT = datetime(2026, 11, 10, 10, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A database holding a finding and alerts whose Jira and server text is hostile."""
    folder = tmp_path_factory.mktemp("evil")
    url = f"sqlite:///{folder / 'accountability.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            session.add(Finding(
                key="k1", type="unowned_item", workflow="support", item=EVIL, at=AT,
                actor=None, from_ids=[], to_ids=[], rule=None, reason="nobody owns it",
                status="open",
                details={"title": EVIL}, first_seen_at=AT, updated_at=AT))
            # Cells are kept short beside the hostile one: a wrapped cell would split it.
            for status, attempts, subject, error in (("dead", 8, EVIL, "550 refused"),
                                                     ("pending", 1, "SUP-1", EVIL)):
                session.add(AlertOutbox(
                    dedup_key=f"d-{status}", kind="risk_review", workflow="support",
                    channel="email", recipient="maria", subject_ref=subject, payload={},
                    status=status, attempts=attempts, last_error=error, next_attempt_at=AT,
                    created_at=AT))
    finally:
        engine.dispose()
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("ACCOUNTABILITY_", "JIRA_", "PAGERDUTY_", "SMTP_"))}
    return clean | {"ACCOUNTABILITY_DATABASE_URL": url, "ACCOUNTABILITY_REGISTRY": str(EXAMPLE),
                    "_CWD": str(folder)}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], cwd=env["_CWD"], capture_output=True, text=True,
                          timeout=120, env={k: v for k, v in env.items() if k != "_CWD"})


def assert_literal(text: str, times: int) -> None:
    """The hostile text shows as written, `times` times, with no control character at all
    (piped output: Rich adds no escape sequences of its own)."""
    assert text.count(LITERAL) == times, text
    assert not any(ord(c) < 32 and c != "\n" or 0x7f <= ord(c) < 0xa0 for c in text), repr(text)


def test_findings_prints_jira_text_literally(env: dict[str, str]) -> None:
    result = cli(env, "findings")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert_literal(result.stdout, 1)  # the item


def test_alert_status_prints_subjects_and_server_errors_literally(env: dict[str, str]) -> None:
    result = cli(env, "alert", "--status")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert_literal(result.stdout, 2)  # the dead alert's subject, the retrying alert's error


@pytest.mark.parametrize("args", [
    ("ratify", EVIL, "--by", "maria", "--note", "ok"),
    ("decide", EVIL, "pause", "--by", "dana"),
    ("ack", EVIL, "--by", "lee"),
])
def test_an_error_naming_untrusted_text_prints_it_literally(
    env: dict[str, str], args: tuple[str, ...],
) -> None:
    result = cli(env, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")
    assert_literal(result.stderr, 1)


def test_safe_text_on_a_real_terminal_emits_no_hyperlink_and_keeps_the_words() -> None:
    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, color_system="standard", width=200)
    hostile = EVIL + " \u202eevil\x9b2J\r\x07"  # bidi override, CSI (C1), CR, BEL
    terminal.print(f"[red]error[/]: {safe_text(hostile)}", highlight=False)
    output = buffer.getvalue()
    assert "\x1b]" not in output  # no OSC sequence (hyperlink, window title) at all
    assert LITERAL in output and "evil" in output
    assert "\u202e" not in output and "\x9b" not in output and "\x07" not in output
    assert "\x1b[31m" in output  # the CLI's own markup still works


def test_safe_text_keeps_ordinary_text_as_it_is() -> None:
    text = "Maria Schäfer → Lee 李 (SUP-210) done: 100%"
    assert safe_text(text) == text
    assert safe_text("two\nlines") == "two\nlines"
