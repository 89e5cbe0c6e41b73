"""The escalation map looked at in a real browser: headless Chromium renders and screenshots it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from accountability.config.registry_file import load_registry_file
from accountability.usecases import maps
from tests.app.browser import CHROMIUM, FLAGS, needs_chromium, png_size

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.yaml"


@pytest.mark.browser
@needs_chromium
def test_escalation_map_renders_in_chromium(tmp_path: Path) -> None:
    assert CHROMIUM is not None, "CI=true but chromium is missing: apt-get install chromium"
    loaded = load_registry_file(EXAMPLE)
    page = maps.write_escalation_map(loaded, "support", tmp_path / "support.html")
    shot = tmp_path / "support.png"
    profile = tmp_path / "profile"
    subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--window-size=1280,900",
         f"--screenshot={shot}", page.as_uri()],
        check=True, capture_output=True, timeout=90,
    )
    assert png_size(shot) == (1280, 900)
    # A blank or unstyled page compresses to a few kB; the map's boxes, table and text do not.
    assert shot.stat().st_size > 40_000
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        check=True, capture_output=True, text=True, timeout=90,
    ).stdout
    assert "Decision rights" in dom and "Maria Chen" in dom
