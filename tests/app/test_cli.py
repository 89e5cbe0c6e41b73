"""The `accountability` command as a user runs it: exit codes, messages, files written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "registry.yaml"


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script in a clean environment (no .env, no inherited config)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ACCOUNTABILITY_", "JIRA_",
                                                                      "PAGERDUTY_", "SMTP_"))}
    base.update(env or {})
    script = Path(sys.executable).with_name("accountability")
    return subprocess.run([str(script), *args], cwd=cwd, env=base, capture_output=True,
                          text=True, timeout=120)


def test_validate_example_registry_exits_0(tmp_path: Path) -> None:
    result = run("registry", "validate", str(EXAMPLE), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "is valid: 3 workflows" in result.stdout


def test_validate_reads_accountability_registry_by_default(tmp_path: Path) -> None:
    result = run("registry", "validate", cwd=tmp_path,
                 env={"ACCOUNTABILITY_REGISTRY": str(EXAMPLE)})
    assert result.returncode == 0, result.stderr


def test_broken_registry_exits_2_with_line_numbers_and_no_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "registry.yaml"
    broken.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            "{id: resolution, owner: sam,", "{id: resolution, owner: smm,"
        ),
        encoding="utf-8",
    )
    line = next(
        n for n, text in enumerate(broken.read_text().splitlines(), 1) if "owner: smm" in text
    )
    result = run("registry", "validate", str(broken), cwd=tmp_path)
    assert result.returncode == 2
    assert f"registry.yaml:{line}:" in result.stderr
    assert "workflows.support.stages[1].owner" in result.stderr
    assert "smm" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_registry_file_exits_2(tmp_path: Path) -> None:
    result = run("registry", "validate", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_map_writes_html_page(tmp_path: Path) -> None:
    target = tmp_path / "out" / "support.html"
    result = run("map", "support", "--out", str(target), "--registry", str(EXAMPLE), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Support resolution time" in html
    assert "http://" not in html and "https://" not in html  # self-contained: no external assets


def test_map_unknown_workflow_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "x.html"
    result = run("map", "billing", "--out", str(target), "--registry", str(EXAMPLE), cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown workflow 'billing'" in result.stderr
    assert not target.exists()


def test_db_upgrade_then_commands_accept_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    first = run("db", "upgrade", cwd=tmp_path, env={"ACCOUNTABILITY_DATABASE_URL": url})
    assert first.returncode == 0, first.stderr
    again = run("db", "upgrade", cwd=tmp_path, env={"ACCOUNTABILITY_DATABASE_URL": url})
    assert again.returncode == 0, again.stderr


def test_invalid_setting_exits_2_naming_the_variable(tmp_path: Path) -> None:
    result = run("db", "upgrade", cwd=tmp_path, env={"SMTP_PORT": "not-a-port"})
    assert result.returncode == 2
    assert "SMTP_PORT" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["--help"], ["registry", "--help"], ["db", "--help"]])
def test_help_works(tmp_path: Path, command: list[str]) -> None:
    assert run(*command, cwd=tmp_path).returncode == 0


def test_map_is_written_0600_in_a_new_folder_0700(tmp_path: Path) -> None:
    """The map names people and their contacts: private whatever the umask (issue 15 item 13);
    a map written over an older, readable one becomes private too."""
    target = tmp_path / "maps" / "support.html"
    script = Path(sys.executable).with_name("accountability")
    args = [str(script), "map", "support", "--out", str(target), "--registry", str(EXAMPLE)]
    result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            umask=0o022)
    assert result.returncode == 0, result.stderr
    assert (target.stat().st_mode & 0o777, target.parent.stat().st_mode & 0o777) == (0o600,
                                                                                    0o700)
    target.chmod(0o644)
    result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            umask=0o022)
    assert result.returncode == 0, result.stderr
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["support.html"]  # no temp left


def test_the_console_command_ends_as_python_would(tmp_path: Path) -> None:
    """`accountability.cli.entry.run` skips only the teardown of modules and objects: a
    non-daemon thread is waited for, atexit handlers run, piped output is complete, in order."""
    code = (
        "import atexit, sys, threading, time\n"
        "from accountability.cli import entry\n"
        "atexit.register(lambda: print('atexit handler ran', flush=True))\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), print('thread finished'))).start()\n"
        "sys.argv = ['accountability', '--help']\n"
        "entry.run()\n"
        "print('never printed: run() ends the process')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Usage: accountability" in out and "never printed" not in out
    assert out.index("Usage: accountability") < out.index("thread finished") < out.index(
        "atexit handler ran")


@pytest.mark.parametrize(("code", "status", "said"), [
    (None, 0, ""), (0, 0, ""), (2, 2, ""), ("bad input", 1, "bad input\n")])
def test_exit_codes_are_pythons(
    code: object, status: int, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from accountability.cli.entry import exit_status

    assert exit_status(code) == status
    assert capsys.readouterr().err == said


def test_a_failing_command_gives_its_exit_code_and_message_through_the_console_command(
    tmp_path: Path,
) -> None:
    result = run("sync", "--registry", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "missing.yaml" in result.stderr and "Traceback" not in result.stderr
