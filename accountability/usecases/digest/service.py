"""Build the digest of a week and deliver it: to a file, to leadership by SMTP, or both.

Shared by `accountability digest` and the Prefect flow; both only choose the options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from accountability.clock import Clock, system_clock
from accountability.config.errors import UsageError
from accountability.config.settings import Settings
from accountability.links import LinkMaker
from accountability.messages.digest import (
    RenderedDigest,
    digest_links,
    personalize,
    render,
    render_markdown,
    render_text,
)
from accountability.private_files import write_private
from accountability.usecases.digest import mail
from accountability.usecases.digest.gather import gather
from connectors.channel_errors import ChannelError
from connectors.email import Mailbox, SmtpSender
from rules.digest import Digest, build_digest
from rules.registry import LoadedRegistry, Registry
from rules.weeks import parse_week, shift_week, week_of
from storage import digests as store
from storage.engine import session_scope


class AlreadySent(UsageError):
    """The digest of this week went out already; sending it again needs `--force`."""


@dataclass
class DigestReport:
    digest: Digest
    text: str
    rendered: RenderedDigest | None = None  # the HTML, when written or sent
    out: Path | None = None
    sent_to: list[str] = field(default_factory=list)
    message_id: str | None = None
    skipped: str | None = None  # why a send asked for did not happen (flow, already sent)
    notes: list[str] = field(default_factory=list)

    @property
    def week(self) -> str:
        return self.digest.week

    @property
    def subject(self) -> str:
        return self.digest.subject

    def delivery(self) -> list[str]:
        lines = [f"written to {self.out}"] if self.out else []
        if self.sent_to:
            lines.append(f"sent to {', '.join(self.sent_to)} (Message-ID {self.message_id})")
        if self.skipped:
            lines.append(f"not sent: {self.skipped}")
        return lines + [f"note: {note}" for note in self.notes]

    def markdown(self) -> str:
        return render_markdown(self.digest, self.delivery())


def default_week(registry: Registry, now: datetime) -> str:
    """The week just ended in the registry's time zone."""
    return shift_week(week_of(now, registry.tz), -1)


def checked_week(week: str) -> str:
    try:
        parse_week(week)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return week


def produce(
    factory: sessionmaker[Session],
    loaded: LoadedRegistry,
    settings: Settings,
    *,
    week: str | None = None,
    out: Path | None = None,
    send: bool = False,
    force: bool = False,
    clock: Clock = system_clock,
    when_sent: Literal["refuse", "skip"] = "refuse",
) -> DigestReport:
    """The digest of `week` (default: the week just ended), written and/or sent.

    A week already sent is refused (`AlreadySent`, exit 2) unless `force`; with
    `when_sent="skip"` (the scheduled flow) it is built but not sent again, and says so.
    Raises `connectors.channel_errors.ChannelError` when the SMTP server does not take it.
    """
    registry = loaded.registry
    now = clock()
    week = checked_week(week) if week is not None else default_week(registry, now)
    recipients = mail.leadership(registry) if send else None
    skipped: str | None = None
    with factory() as session:
        if recipients is not None:
            if not recipients.to:
                raise UsageError("nobody in leadership has an email address in the registry: "
                                 "add `email:` to the people listed under `leadership`")
            skipped = _already_sent(session, week, force, when_sent)
        inputs = gather(session, loaded, week, now, jira_browse_base=settings.jira_url)
    sender = mail.sender(settings)
    digest = build_digest(registry, inputs)
    rendered = (render(digest, cid_domain=sender.address.rpartition("@")[2] or "localhost")
                if out is not None or recipients is not None else None)
    report = DigestReport(digest=digest, text=rendered.text if rendered else render_text(digest),
                          rendered=rendered, skipped=skipped,
                          notes=list(recipients.notes) if recipients else [])
    if out is not None and rendered is not None:
        report.out = write_file(out, rendered.file_html)
    if recipients is not None and rendered is not None and skipped is None:
        maker = settings.link_maker()
        if maker is None:
            _send_one(report, rendered, recipients, settings, sender, now)
        else:
            _send_personal(report, rendered, recipients, settings, sender, now, maker, registry)
        with session_scope(factory) as session:
            store.record_send(session, week, report.sent_to, report.message_id or "",
                              sent_at=now)
    return report


def _send_one(report: DigestReport, rendered: RenderedDigest, recipients: mail.Recipients,
              settings: Settings, sender: Mailbox, now: datetime) -> None:
    """Without links: one e-mail to all of leadership."""
    message = mail.compose(rendered, sender=sender, to=recipients.to, date=now)
    with SmtpSender(mail.smtp_config(settings)) as smtp:
        result = smtp.send(message)
    report.sent_to = [m.address for m in recipients.to if m.address not in result.refused]
    report.message_id = result.message_id
    report.notes += [f"{address} was refused by the SMTP server: {code} {reply}"
                     for address, (code, reply) in result.refused.items()]


def _send_personal(report: DigestReport, rendered: RenderedDigest, recipients: mail.Recipients,
                   settings: Settings, sender: Mailbox, now: datetime, maker: LinkMaker,
                   registry: Registry) -> None:
    """With links: one copy per leader, each with their own signed links (a link acts as the
    person it names, so no copy may carry another's). A copy that fails after others went out
    is noted, not raised, so the copies sent are recorded and not sent again."""
    ids: list[str] = []
    with SmtpSender(mail.smtp_config(settings)) as smtp:
        for mailbox, person in zip(recipients.to, recipients.people, strict=True):
            mine = personalize(rendered, digest_links(registry, rendered.digest, person, maker,
                                                      now))
            try:
                result = smtp.send(mail.compose(mine, sender=sender, to=[mailbox], date=now))
            except ChannelError as exc:
                if not report.sent_to:
                    raise
                report.notes.append(f"{mailbox.address}: not sent: {exc}")
                continue
            if mailbox.address in result.refused:
                code, reply = result.refused[mailbox.address]
                report.notes.append(f"{mailbox.address} was refused by the SMTP server: "
                                    f"{code} {reply}")
                continue
            report.sent_to.append(mailbox.address)
            ids.append(result.message_id)
    report.message_id = " ".join(ids)


def _already_sent(session: Session, week: str, force: bool, when_sent: str) -> str | None:
    previous = store.get_send(session, week)
    if previous is None or force:
        return None
    when = previous.sent_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    reason = (f"the digest of {week} was already sent on {when} to "
              f"{', '.join(previous.recipients) or 'nobody'}")
    if when_sent == "skip":
        return reason + " (force=True sends it again)"
    raise AlreadySent(f"{reason}; use --force to send it again")


def write_file(target: Path, html: str) -> Path:
    """Write atomically (never a half-written page) and 0600: the digest names people, their
    findings and leadership's decisions, so other local users must not read it. `target` must
    be a plain file in its folder (`private_files.inside`)."""
    return write_private(target, html)
