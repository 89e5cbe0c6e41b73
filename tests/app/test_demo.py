"""`accountability demo` as a user relies on it: the whole pipeline offline, emails captured on
disk for the people the registry names, the digest mailed to leadership, a summary table, paths
that exist, and nothing left running afterwards."""

from __future__ import annotations

import io
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from rich.console import Console

from accountability.config.registry_file import load_registry_file
from rules.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "registry.yaml"
SCRIPT = Path(sys.executable).with_name("accountability")
PATH_LINE = re.compile(r"^  (Digest|Map \w+|Emails|Database):\s+(\S+)", re.MULTILINE)


@dataclass
class Demo:
    out: Path
    stdout: str
    stderr: str
    seconds: float

    def printed_paths(self) -> dict[str, str]:
        return dict(PATH_LINE.findall(self.stdout))

    def emails(self) -> list[tuple[Path, EmailMessage]]:
        found = []
        for path in sorted((self.out / "emails").glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            found.append((path, message))
        return found

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.out / "accountability.db") as db:
            return list(db.execute(sql))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The console script in a clean environment, as `make demo` runs it. A Slack webhook and a
    PagerDuty routing key are set as a user's shell might have them: the demo must not use them
    (it is offline and never posts Acme's fictional alerts anywhere real). The umask is the
    usual 022, so the files' modes are the demo's doing."""
    folder = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ACCOUNTABILITY_", "JIRA_", "PAGERDUTY_", "SMTP_"))}
    env |= {"SLACK_WEBHOOK_SUPPORT": "https://hooks.slack.invalid/T000/B000/xyz",
            "PD_ROUTING_KEY_SUPPORT": "R0UT1NGKEY0000000000000000000000"}
    began = time.monotonic()
    result = subprocess.run([str(SCRIPT), "demo", "--out", str(folder / "demo")], cwd=folder,
                            env=env, capture_output=True, text=True, timeout=120,
                            umask=0o022)  # the usual umask: files it makes are group-readable
    seconds = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    return Demo(folder / "demo", result.stdout, result.stderr, seconds)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry_file(EXAMPLE).registry


def addresses(message: EmailMessage, *headers: str) -> set[str]:
    return {a.addr_spec for name in headers
            for a in getattr(message[name], "addresses", ())}


def test_runs_the_pipeline_within_a_minute_and_prints_each_stage(demo: Demo) -> None:
    assert demo.seconds < 60
    assert re.search(r"synced [1-9]\d* items, [1-9]\d* new ownership changes", demo.stdout)
    for stage in ("evaluated", "escalation maps: 3 written", "SMTP capture listening on",
                  "alerts:", "digest 2026-W47 written and emailed", "SMTP capture stopped",
                  "demo finished"):
        assert stage in demo.stdout, stage
    assert "Traceback" not in demo.stderr


def test_the_table_names_each_workflow_with_its_findings_and_recommendation(
    demo: Demo, registry: Registry
) -> None:
    table = demo.stdout[demo.stdout.index("week 2026-W47 (the last scored)"):]
    for workflow_id, workflow in registry.workflows.items():
        assert workflow.name in table and workflow_id in table
    # the planted bad week (docs/sandbox.md): support breached in 2026-W46, pause, review open
    assert re.search(r"2026-W46: 6 → pause", table)
    assert "review open" in table
    for state in ("sent", "pending", "dead"):
        assert re.search(rf"\d+ {state}", table)


def test_the_printed_paths_exist(demo: Demo, registry: Registry) -> None:
    paths = demo.printed_paths()
    assert set(paths) == {"Digest", "Emails", "Database"} | {f"Map {w}"
                                                            for w in registry.workflows}
    for label, value in paths.items():
        target = Path(value.removeprefix("sqlite:///")) if label == "Database" else Path(value)
        assert target.exists(), label
    digest = Path(paths["Digest"]).read_text(encoding="utf-8")
    assert "Week 2026-W47" in digest and "no decision taken" in digest.lower()
    count = len(list(Path(paths["Emails"]).glob("*.eml")))
    assert f"({count} .eml files)" in demo.stdout


def test_alert_emails_are_captured_for_the_outcome_owners(demo: Demo, registry: Registry) -> None:
    """Expected recipients come from the registry and what the database says happened, never
    from the emails themselves."""
    unauthorized = {str(w) for (w,) in demo.query(
        "SELECT DISTINCT workflow FROM findings WHERE type = 'unauthorized_change' "
        "AND status = 'open'")}
    reviewed = {str(w) for (w,) in demo.query("SELECT DISTINCT workflow FROM risk_reviews")}
    assert unauthorized and reviewed  # the demo company has both
    emails = [(p, m) for p, m in demo.emails() if m["X-Accountability-Workflow"]]
    people = {p.email for p in registry.people.values() if p.email}
    assert emails
    for path, message in emails:
        assert re.fullmatch(r"\d{3}-[a-z0-9]+-[a-z0-9-]+\.eml", path.name), path.name
        assert addresses(message, "To", "Cc") <= people  # nobody outside the registry
    for workflow_id in unauthorized | reviewed:
        spec = registry.workflows[workflow_id]
        owner = registry.people[spec.outcome.owner].email
        mine = [m for _, m in emails if m["X-Accountability-Workflow"] == workflow_id]
        assert mine and all(owner in addresses(m, "To") for m in mine), workflow_id
        if workflow_id in reviewed:
            review = [m for m in mine if m["X-Accountability-Kind"] == "risk_review"]
            assert review, workflow_id
            risk_owner = registry.people[spec.risk_owner].email
            assert {owner, risk_owner} <= addresses(review[0], "To")
    quiet = set(registry.workflows) - unauthorized - reviewed
    assert not [m for _, m in emails if m["X-Accountability-Workflow"] in quiet]


def test_the_digest_email_is_captured_for_leadership(demo: Demo, registry: Registry) -> None:
    digests = [(p, m) for p, m in demo.emails() if m["X-Accountability-Digest"]]
    assert len(digests) == 1
    path, message = digests[0]
    leadership = {registry.people[p].email for p in registry.expand(registry.leadership)}
    assert addresses(message, "To") == leadership
    assert message["X-Accountability-Digest"] == "2026-W47"
    html = (demo.out / "digest-2026-W47.html").read_text(encoding="utf-8")
    assert f"<title>{message['Subject']}</title>" in html
    assert demo.query("SELECT week FROM digest_sends") == [("2026-W47",)]


def test_unconfigured_channels_keep_their_alerts_pending_never_lost(demo: Demo) -> None:
    rows = demo.query("SELECT channel, status, last_error FROM alert_outbox")
    assert {status for channel, status, _ in rows if channel == "email"} == {"sent"}
    others = [(channel, status, error) for channel, status, error in rows if channel != "email"]
    assert others  # support declares Slack, PagerDuty and a Jira ticket
    assert all(status == "pending" and "not configured in the demo" in str(error)
               for _, status, error in others)
    assert f"kept pending, retried by `accountability alert` once the channel is configured " \
           f"({len(others)} alerts)" in demo.stdout
    assert "hooks.slack.invalid" not in demo.stdout + demo.stderr


def _listening_sockets() -> set[str]:
    """Socket inodes this process holds that are in LISTEN state (Linux /proc)."""
    own = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            own.add(target[8:-1])
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if Path(table).exists():
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # TCP_LISTEN
                    listening.add(fields[9])
    return own & listening


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux /proc")
def test_nothing_is_left_running(tmp_path: Path) -> None:
    from accountability.cli.demo import run_demo

    threads, sockets = set(threading.enumerate()), _listening_sockets()
    result = run_demo(tmp_path / "demo", Console(file=io.StringIO(), width=100))
    assert len(result.servers) == 2  # the sandbox and the SMTP capture
    assert _listening_sockets() == sockets
    assert [t for t in threading.enumerate() if t not in threads and t.is_alive()] == []
    for host, port in result.servers:
        with pytest.raises(OSError), socket.create_connection((host, port), timeout=2):
            pass


def test_a_folder_that_is_not_a_demo_output_is_never_wiped(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me", encoding="utf-8")
    result = subprocess.run([str(SCRIPT), "demo", "--out", str(tmp_path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "not empty" in result.stderr and "Traceback" not in result.stderr
    assert precious.read_text(encoding="utf-8") == "keep me"


# --- issue 15 item 9: `--out` deletes only what a demo made ------------------------------------


def _deployment_folder(folder: Path) -> dict[Path, str]:
    """What a production working folder holds: the default database name, registry, `.env`."""
    files = {folder / "accountability.db": "production data",
             folder / "registry.yaml": "organization: Acme",
             folder / ".env": "JIRA_API_TOKEN=secret"}
    for path, content in files.items():
        path.write_text(content, encoding="utf-8")
    return files


def _unchanged(files: dict[Path, str]) -> bool:
    return all(path.read_text(encoding="utf-8") == content for path, content in files.items())


def test_out_dot_in_a_deployment_folder_is_refused_and_deletes_nothing(tmp_path: Path) -> None:
    files = _deployment_folder(tmp_path)
    result = subprocess.run([str(SCRIPT), "demo", "--out", "."], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not empty" in result.stderr and "Traceback" not in result.stderr
    assert _unchanged(files)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env", "accountability.db",
                                                          "registry.yaml"]
    # A marker copied into it (or a demo once run there by an older version) changes nothing.
    (tmp_path / ".accountability-demo").write_text("copied", encoding="utf-8")
    result = subprocess.run([str(SCRIPT), "demo", "--out", "."], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is the current folder" in result.stderr and "Traceback" not in result.stderr
    assert _unchanged(files)


def test_out_home_or_a_parent_of_the_current_folder_is_refused(tmp_path: Path) -> None:
    """Refused even when they hold the demo's marker: a marker can be copied anywhere."""
    home, work = tmp_path / "home", tmp_path / "home" / "work"
    work.mkdir(parents=True)
    files = _deployment_folder(home) | _deployment_folder(work)
    for folder in (home, tmp_path):
        (folder / ".accountability-demo").write_text("copied", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTABILITY_")}
    env["HOME"] = str(home)
    for out, said in (("~", "is your home folder"), (str(home), "is your home folder"),
                      ("..", "is your home folder"),
                      (str(tmp_path), "is a parent of the current folder")):
        result = subprocess.run([str(SCRIPT), "demo", "--out", out], cwd=work, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (out, result.stdout + result.stderr)
        assert said in result.stderr and "Traceback" not in result.stderr, out
        assert _unchanged(files), out


def test_a_folder_with_the_default_database_name_but_no_marker_is_never_wiped(
    tmp_path: Path,
) -> None:
    target = tmp_path / "deploy"
    target.mkdir()
    files = _deployment_folder(target)
    result = subprocess.run([str(SCRIPT), "demo", "--out", str(target)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "not empty" in result.stderr and ".accountability-demo" in result.stderr
    assert _unchanged(files)


def test_a_rerun_deletes_the_demos_files_and_keeps_the_users(tmp_path: Path) -> None:
    from accountability.cli.demo import MARKER, _fresh_folder

    out = tmp_path / "demo-output"
    (out / "maps").mkdir(parents=True)
    (out / "emails").mkdir()
    made = [out / MARKER, out / "accountability.db", out / "accountability.db-wal",
            out / "digest-2026-W47.html", out / "maps" / "support.html",
            out / "emails" / "001-maria-x.eml"]
    mine = [out / "notes.txt", out / "maps" / "my-sketch.png", out / "emails" / "keep.txt"]
    for path in made + mine:
        path.write_text("x", encoding="utf-8")
    _fresh_folder(out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        MARKER, "emails/keep.txt", "maps/my-sketch.png", "notes.txt"]
    assert (out / MARKER).read_text(encoding="utf-8") != "x"  # the marker is the demo's own
    (out / "emails" / "keep.txt").unlink()
    _fresh_folder(out)
    assert not (out / "emails").exists()  # an emptied sub-folder of the demo goes too


# --- issue 15 item 13: files that hold data are private ----------------------------------------


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_demo_output_is_private_and_marked(demo: Demo) -> None:
    assert (demo.out / ".accountability-demo").is_file()
    folders = [demo.out, demo.out / "maps", demo.out / "emails"]
    assert {str(f): _mode(f) for f in folders} == {str(f): 0o700 for f in folders}
    files = [p for p in demo.out.rglob("*") if p.is_file()]
    assert {"accountability.db", "digest-2026-W47.html", "support.html"} <= {p.name for p in files}
    assert sum(p.suffix == ".eml" for p in files) >= 3
    assert {str(p): _mode(p) for p in files} == {str(p): 0o600 for p in files}
