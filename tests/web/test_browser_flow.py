"""The web app in a real browser (issue #18 item 5): Debian's chromium, driven by Playwright,
opens the e-mails the demo's SMTP capture received and clicks their links.

One demo run (`run_demo(serve=True)`): while it waits for Enter, the browser acts as Maria
(ratify from her alert e-mail) and Dana (the week's decision from her digest), tries a
tampered link, and afterwards the CLI, the scorecard and the next digest are asked what they
show. JavaScript is off in the browser: every step must work without it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from pydantic import SecretStr
from rich.console import Console

from accountability.web.app import create_app
from accountability.web.auth import WebSettings
from accountability.web.context import WebContext
from storage.engine import make_engine, session_factory
from storage.migrate import upgrade
from tests.app.browser import chromium  # noqa: F401  (fixture)
from tests.web.seeded_site import NOW, SCRIPT, hostile_registry, seed, serving

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "registry.yaml"


def _open_email(page: Page, eml: Path, folder: Path) -> None:
    """Show the HTML part of `eml` as a mail client would: as a page of its own."""
    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    body = message.get_body(("html",))
    assert body is not None, f"{eml.name} has no HTML part"
    shown = folder / f"{eml.stem}.html"
    shown.write_text(body.get_content(), encoding="utf-8")
    page.goto(shown.as_uri())


def _one(folder: Path, pattern: str) -> Path:
    [found] = sorted(folder.glob(pattern))
    return found


@dataclass
class Seen:
    """What the browser saw while the demo served."""

    ratify_title: str = ""
    ratified: str = ""
    ratified_again: str = ""
    decision_page: str = ""
    decided: str = ""
    tampered_status: int = 0
    tampered: str = ""
    pages_before_press: list[str] = field(default_factory=list)


def _browse(browser: Browser, out: Path, shown: Path, seen: Seen) -> None:
    emails = out / "emails"
    page = browser.new_context(java_script_enabled=False).new_page()
    # Maria: her alert e-mail, the first "Ratify" link, then the button (two clicks).
    _open_email(page, _one(emails, "*-maria-*unauthorized-ownership-change*.eml"), shown)
    page.get_by_role("link", name="Ratify").first.click()
    seen.ratify_title = page.locator("h1").inner_text()
    seen.pages_before_press.append(page.url)
    ratify_url = page.url
    page.get_by_role("button").click()
    seen.ratified = page.locator("main").inner_text()
    # The same link again (a replay, or a second click from the mail): nothing more happens.
    page.goto(ratify_url)
    seen.ratified_again = page.locator("main").inner_text()

    # Dana: the leadership digest, "Stabilize" for the first workflow, then the button.
    page = browser.new_context(java_script_enabled=False).new_page()
    _open_email(page, _one(emails, "*-dana-accountability-digest-*.eml"), shown)
    page.get_by_role("link", name="Stabilize").first.click()
    seen.decision_page = page.locator("main").inner_text()
    page.get_by_role("button").click()
    seen.decided = page.locator("main").inner_text()

    # A link with one character changed in its signed part: refused, nothing offered.
    head, _, signature = ratify_url.rpartition(".")
    tampered = f"{head}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    response = page.goto(tampered)
    assert response is not None
    seen.tampered_status = response.status
    seen.tampered = page.locator("main").inner_text()
    assert page.get_by_role("button").count() == 0


def _cli(database_url: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ACCOUNTABILITY_", "JIRA_", "PAGERDUTY_", "SMTP_"))}
    env |= {"ACCOUNTABILITY_DATABASE_URL": database_url, "ACCOUNTABILITY_REGISTRY": str(EXAMPLE)}
    done = subprocess.run([sys.executable, "-m", "accountability.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_maria_ratifies_and_dana_decides_from_their_emails_in_chromium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chromium: Browser,  # noqa: F811
) -> None:
    from accountability.cli.demo import run_demo

    out, shown, seen = tmp_path / "demo", tmp_path / "shown", Seen()
    shown.mkdir()
    before: dict[str, object] = {}

    def browse_while_serving(*_: object) -> str:
        before["findings"] = json.loads(_cli(result_url(out), "findings", "--json"))
        _browse(chromium, out, shown, seen)
        return ""

    def result_url(folder: Path) -> str:
        return f"sqlite:///{folder / 'accountability.db'}"

    monkeypatch.setattr("builtins.input", browse_while_serving)
    result = run_demo(out, Console(file=io.StringIO(), width=200), serve=True, interactive=True)
    assert result.database_url == result_url(out)

    # What the browser saw: a confirmation page first, the act only on the button.
    assert seen.ratify_title.startswith("Ratify"), seen.ratify_title
    assert "is ratified" in seen.ratified, seen.ratified
    assert "already" in seen.ratified_again.lower(), seen.ratified_again
    assert "stabilize" in seen.decision_page.lower(), seen.decision_page
    assert "stabilize" in seen.decided.lower() and "recorded" in seen.decided.lower(), seen.decided
    assert seen.tampered_status == 403 and "refused" in seen.tampered.lower(), seen.tampered

    # The CLI shows exactly one more ratified finding, ratified by Maria from the web.
    findings_before = {f["key"]: f["status"] for f in before["findings"]}  # type: ignore[attr-defined]
    findings_after = {f["key"]: f["status"] for f in
                      json.loads(_cli(result.database_url, "findings", "--json"))}
    changed = {k for k in findings_after if findings_after[k] != findings_before.get(k)}
    assert len(changed) == 1 and findings_after[changed.pop()] == "ratified"
    # The scorecard, once re-evaluated, counts one unauthorized change fewer that week.
    def unauthorized(week: str) -> int:
        [row] = [r for r in json.loads(_cli(result.database_url, "scorecard", "--week", week,
                                            "--json")) if r["workflow"] == "support"]
        return int(row["unauthorized_changes"])

    scored_before = unauthorized("2026-W46")
    _cli(result.database_url, "evaluate")
    assert unauthorized("2026-W46") == scored_before - 1
    # The next digest shows the week's decision Dana recorded from hers.
    digest = _cli(result.database_url, "digest", "--week", "2026-W48")
    assert "Decision for 2026-W47: STABILIZE, recorded by Dana Ruiz" in digest


def test_hostile_ticket_text_stays_text_in_chromium_with_javascript_on(
    tmp_path: Path, chromium: Browser,  # noqa: F811
) -> None:
    """The seeded hostile values (markup, an attribute break-out, a bidi override, a hostile
    person name) on the real app behind its SSO-header sign-in, JavaScript *on*: no script of
    theirs runs, and the reader sees the text as it was written."""
    url = f"sqlite:///{tmp_path / 'accountability.db'}"
    upgrade(url)
    seed(url)
    engine = make_engine(url)
    ctx = WebContext(sessions=session_factory(engine), registry_path=hostile_registry(tmp_path),
                     clock=lambda: NOW)
    settings = WebSettings(signing_key=SecretStr("browser-test-key-0123456789abcdef"),
                           trusted_user_header="X-Forwarded-Email")
    dialogs: list[str] = []
    try:
        with serving(create_app(ctx, settings)) as base:
            context = chromium.new_context(
                extra_http_headers={"X-Forwarded-Email": "maria@acme.example"})
            page = context.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            for path in ("/", "/findings", "/findings/unauthorized_change:hostile",
                         "/workflows/support", "/reviews", "/digests/2026-W47"):
                response = page.goto(base + path)
                assert response is not None and response.status == 200, path
                page.wait_for_load_state("load")
                assert page.evaluate("document.querySelectorAll('body script').length") == 0
                assert page.evaluate("document.querySelectorAll('img[onerror]').length") == 0
                if path in ("/findings", "/findings/unauthorized_change:hostile"):
                    assert SCRIPT in page.locator("body").inner_text(), path
            context.close()
    finally:
        engine.dispose()
    assert dialogs == []
