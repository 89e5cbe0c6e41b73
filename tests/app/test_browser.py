"""The escalation map looked at in a real browser: headless Chromium renders and screenshots it."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from accountability import app_services
from accountability.registry_file import load_registry_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.yaml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium); CI installs it",
)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.browser
@needs_chromium
def test_escalation_map_renders_in_chromium(tmp_path: Path) -> None:
    assert CHROMIUM is not None, "CI=true but chromium is missing: apt-get install chromium"
    loaded = load_registry_file(EXAMPLE)
    page = app_services.write_escalation_map(loaded, "support", tmp_path / "support.html")
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
