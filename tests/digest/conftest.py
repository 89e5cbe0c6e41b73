"""Digest fixtures: the demo company's database (built once by `accountability demo`), a copy
per test that writes to it, the CLI run as a user runs it, and an SMTP server on loopback."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.alerts.conftest import Mailroom, free_port
from tests.alerts.conftest import SmtpServer as AlertsSmtpServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "registry.yaml"
SCRIPT = str(Path(sys.executable).with_name("accountability"))
JIRA_URL = "https://acme.atlassian.net"
DEMO_WEEK = "2026-W46"  # support's bad week: risk review support-2026-W46, recommendation pause


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's SQLite database: synced from the sandbox, evaluated as of 2026-11-23."""
    folder = tmp_path_factory.mktemp("digest-demo")
    subprocess.run([SCRIPT, "demo", "--out", str(folder / "demo")], env=clean_env(), cwd=folder,
                   check=True, capture_output=True, timeout=300)
    database = folder / "demo" / "accountability.db"
    # The demo mails its 2026-W47 digest to its own SMTP capture and records the send; these
    # tests start from a company none of whose digests went out yet.
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("DELETE FROM digest_sends")
    return database


@dataclass
class Workspace:
    """A working folder with its own copy of the demo database."""

    folder: Path
    database: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"sqlite:///{self.database}"

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """The installed console script in a subprocess, exactly as a user runs it."""
        return subprocess.run([SCRIPT, *args], env=self.env | env, cwd=self.folder,
                              capture_output=True, text=True, timeout=180)

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """The same entry point (`accountability.cli.main`: exit codes, messages) in this
        process: a few seconds cheaper per call than a new interpreter."""
        from accountability.cli.commands import main

        stdout, stderr = io.StringIO(), io.StringIO()
        code: int | str | None = 0
        with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            for name in os.environ:
                if name.startswith(CONFIG_PREFIXES):
                    patch.delenv(name)
            for name, value in (self.env | env).items():
                if name.startswith(CONFIG_PREFIXES):
                    patch.setenv(name, value)
            patch.chdir(self.folder)
            patch.setattr(sys, "argv", ["accountability", *args])
            try:
                main()
            except SystemExit as exc:
                code = exc.code
        return subprocess.CompletedProcess(args, int(code or 0), stdout.getvalue(),
                                           stderr.getvalue())


CONFIG_PREFIXES = ("ACCOUNTABILITY_", "JIRA_", "PAGERDUTY_", "SMTP_")


def clean_env() -> dict[str, str]:
    """The environment without any configuration of the user's (no .env is read either)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}


def workspace_at(folder: Path, demo_database: Path) -> Workspace:
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "accountability.db"
    shutil.copyfile(demo_database, database)
    env = clean_env() | {"ACCOUNTABILITY_DATABASE_URL": f"sqlite:///{database}",
                         "ACCOUNTABILITY_REGISTRY": str(EXAMPLE), "JIRA_URL": JIRA_URL}
    return Workspace(folder, database, env)


@pytest.fixture
def workspace(tmp_path: Path, demo_database: Path) -> Workspace:
    """A fresh copy of the demo database, for a test that records or sends something."""
    return workspace_at(tmp_path / "work", demo_database)


@pytest.fixture(scope="module")
def shared_workspace(tmp_path_factory: pytest.TempPathFactory, demo_database: Path) -> Workspace:
    """One copy for a module whose tests only read."""
    return workspace_at(tmp_path_factory.mktemp("digest-read"), demo_database)


# --- SMTP --------------------------------------------------------------------------------------


class SmtpServer(AlertsSmtpServer):
    """The alert tests' aiosmtpd server, with the digest's sender in its environment."""

    def env(self) -> dict[str, str]:
        return {"SMTP_HOST": self.host, "SMTP_PORT": str(self.port),
                "SMTP_FROM": "Accountability <digest@acme.example>", "SMTP_TIMEOUT": "10"}


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer("127.0.0.1", free_port(), Mailroom())
    server.start()
    try:
        yield server
    finally:
        server.stop()
