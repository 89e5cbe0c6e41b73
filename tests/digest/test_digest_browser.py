"""The digest looked at in a real browser: headless Chromium renders and screenshots the file
`accountability digest --out` writes (charts inline, no network), and its DOM says it all."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.app.browser import CHROMIUM, FLAGS, needs_chromium, png_size
from tests.digest.conftest import Workspace

WIDTH, HEIGHT = 800, 2400


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, "CI=true but chromium is missing: apt-get install chromium"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], check=True,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.browser
@needs_chromium
def test_the_digest_renders_in_chromium(shared_workspace: Workspace, tmp_path: Path) -> None:
    result = shared_workspace.run("digest", "--week", "2026-W46", "--out", "browser.html")
    assert result.returncode == 0, result.stderr
    page = (shared_workspace.folder / "browser.html").resolve()
    shot = tmp_path / "digest.png"
    chromium(f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", page.as_uri(),
             profile=tmp_path / "profile")
    assert png_size(shot) == (WIDTH, HEIGHT)
    # tables, badges and three charts compress to far more than a blank or unstyled page
    assert shot.stat().st_size > 150_000
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile").stdout
    for text in ("Week 2026-W46", "1 workflow to pause, 1 risk review open",
                 "Support resolution time", "Renewal-risk reduction", "Onboarding conversion",
                 "support-2026-W46", "Unauthorized ownership changes this week (6)",
                 "Registry gaps (2)", "Dead alerts (0)"):
        assert text in dom, text
    assert dom.count('src="data:image/png;base64,') == 3
