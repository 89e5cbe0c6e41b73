"""The digest file is private (issue 15 item 13): it names people, their findings and
leadership's decisions, so `digest --out` writes it 0600 (a new folder 0700), whatever the
umask, and never leaves a readable temporary file beside it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.digest.conftest import DEMO_WEEK, Workspace


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_digest_out_is_0600_in_a_new_folder_0700(workspace: Workspace, usual_umask: None) -> None:
    result = workspace.run("digest", "--week", DEMO_WEEK, "--out", "reports/w46.html")
    assert result.returncode == 0, result.stderr
    target = workspace.folder / "reports" / "w46.html"
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.parent.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in target.parent.iterdir()] == ["w46.html"]
