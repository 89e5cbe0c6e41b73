"""`accountability digest --send`: one message to leadership over SMTP (a real server on
loopback), images by Content-ID, the send recorded, a second send only with --force."""

from __future__ import annotations

import re
import sqlite3
from email.message import EmailMessage

from rules.digest import format_value
from tests.digest.conftest import EXAMPLE, SmtpServer, Workspace

SUBJECT = "Accountability digest 2026-W46: 1 workflow to pause, 1 risk review open"


def parts(message: EmailMessage) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []

    def walk(part: EmailMessage, depth: int) -> None:
        found.append((depth, part.get_content_type()))
        if part.is_multipart():
            for child in part.iter_parts():
                assert isinstance(child, EmailMessage)
                walk(child, depth + 1)

    walk(message, 0)
    return found


def sends(workspace: Workspace) -> list[tuple[str, str, str]]:
    with sqlite3.connect(workspace.database) as db:
        return list(db.execute("SELECT week, recipients, message_id FROM digest_sends"))


def test_one_message_to_leadership_with_charts_by_content_id(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    result = workspace.cli("digest", "--week", "2026-W46", "--send", **smtp_server.env())
    assert result.returncode == 0, result.stderr
    assert SUBJECT in result.stdout and "sent to dana@acme.example, omar@acme.example" in (
        result.stdout)
    (got,) = smtp_server.mailroom.received
    message = got.message
    assert sorted(got.rcpt_tos) == ["dana@acme.example", "omar@acme.example"]
    assert got.mail_from == "digest@acme.example"
    assert message["Subject"].strip() == SUBJECT
    assert str(message["From"]) == "Accountability <digest@acme.example>"
    assert parts(message) == [(0, "multipart/alternative"), (1, "text/plain"),
                              (1, "multipart/related"), (2, "text/html"), (2, "image/png"),
                              (2, "image/png"), (2, "image/png")]
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html = str(html_part.get_content())  # type: ignore[attr-defined]
    text = str(text_part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]
    referenced = set(re.findall(r'src="cid:([^"]+)"', html))
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert referenced == {str(p["Content-ID"]).strip("<>") for p in images}
    assert all(p.get_content_disposition() == "inline" and
               p.get_payload(decode=True)[:4] == b"\x89PNG" for p in images)
    assert "<style" not in html and "data:image" not in html
    # the text part alone says what matters
    assert "Recommended: PAUSE" in text and "support-2026-W46" in text
    assert re.search(rf"^  Throughput +{format_value('throughput', 13)}  min 15", text,
                     re.MULTILINE)
    ((week, recipients, message_id),) = sends(workspace)
    assert (week, message_id) == ("2026-W46", message["Message-ID"])
    assert "dana@acme.example" in recipients and "omar@acme.example" in recipients


def test_a_second_send_needs_force_and_is_recorded_again(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    env = smtp_server.env()
    assert workspace.run("digest", "--week", "2026-W46", "--send", **env).returncode == 0
    first = sends(workspace)
    again = workspace.cli("digest", "--week", "2026-W46", "--send", **env)
    assert again.returncode == 2
    assert "already sent" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr
    assert len(smtp_server.mailroom.received) == 1 and sends(workspace) == first
    forced = workspace.run("digest", "--week", "2026-W46", "--send", "--force", **env)
    assert forced.returncode == 0, forced.stderr
    assert len(smtp_server.mailroom.received) == 2
    ((_, _, message_id),) = sends(workspace)
    assert message_id != first[0][2]
    assert message_id == smtp_server.mailroom.received[1].message["Message-ID"]
    # another week is another send
    assert workspace.run("digest", "--week", "2026-W47", "--send", **env).returncode == 0
    assert sorted(row[0] for row in sends(workspace)) == ["2026-W46", "2026-W47"]


def test_leaders_without_email_are_skipped_with_a_note(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    registry = workspace.folder / "registry.yaml"
    registry.write_text(EXAMPLE.read_text(encoding="utf-8").replace(
        "email: omar@acme.example,   ", ""), encoding="utf-8")
    result = workspace.run("digest", "--week", "2026-W46", "--send", "--registry",
                           str(registry), **smtp_server.env())
    assert result.returncode == 0, result.stderr
    assert "omar (Omar Haddad) has no email" in result.stderr
    (got,) = smtp_server.mailroom.received
    assert got.rcpt_tos == ["dana@acme.example"]


def test_an_unreachable_smtp_server_fails_the_run_and_records_nothing(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    env = smtp_server.env() | {"SMTP_PORT": "1", "SMTP_TIMEOUT": "3"}
    result = workspace.run("digest", "--week", "2026-W46", "--send", "--out", "kept.html",
                           **env)
    assert result.returncode == 1
    assert "unreachable" in result.stderr and "Traceback" not in result.stderr
    assert sends(workspace) == []
    assert (workspace.folder / "kept.html").exists()  # the file is written before the send
