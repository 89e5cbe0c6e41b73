"""The digest as one e-mail to leadership.

MIME structure, the one Gmail, Outlook and Apple Mail all show with inline images:

    multipart/alternative
    ├── text/plain                 (everything that matters, for text-only clients)
    └── multipart/related
        ├── text/html              (CSS inlined; <img src="cid:…">)
        └── image/png …            (one trend chart per workflow, Content-ID, inline)

Headers go through `connectors.email` (`Mailbox.header`, `one_line`): no header injection
from a name or a subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from accountability.config.settings import Settings
from accountability.messages.digest import RenderedDigest
from connectors.channel_errors import ChannelError
from connectors.email import SUBJECT_LIMIT, Mailbox, SmtpConfig
from connectors.text import one_line
from rules.registry import Registry


@dataclass(frozen=True)
class Recipients:
    to: list[Mailbox]
    people: list[str]  # registry ids of `to`, in the same order
    notes: list[str]  # people of leadership skipped, and why


def leadership(registry: Registry) -> Recipients:
    """Leadership, groups expanded, each person once; people without e-mail skipped with a note.

    An address the mailer cannot put in a header (`Mailbox.header`, as `compose` will) is
    skipped with a note too: one bad mailbox must not fail the digest for everyone else."""
    to: list[Mailbox] = []
    people: list[str] = []
    notes: list[str] = []
    for person_id in sorted(registry.expand(registry.leadership)):
        person = registry.people.get(person_id)
        if person is None:
            notes.append(f"'{person_id}' in leadership is not a person of the registry: skipped")
        elif not person.email:
            notes.append(f"{person.id} ({person.name}) has no email in the registry: "
                         "the digest is not sent to them")
        else:
            mailbox = Mailbox(person.name, person.email)
            try:
                mailbox.header()
            except ChannelError:
                notes.append(f"{person.id} ({person.name}): {person.email!r} is not an address "
                             "the mailer can use: the digest is not sent to them; fix their "
                             "email in the registry")
                continue
            to.append(mailbox)
            people.append(person.id)
    return Recipients(to, people, notes)


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(host=settings.smtp_host, port=settings.smtp_port,
                      username=settings.smtp_username, password=settings.smtp_password,
                      starttls=settings.smtp_starttls, security=settings.smtp_security,
                      from_addr=sender(settings).address,
                      timeout=settings.smtp_timeout, ca_bundle=settings.ca_bundle)


def sender(settings: Settings) -> Mailbox:
    """`SMTP_FROM` may be `Name <address>` or a bare address."""
    name, address = parseaddr(settings.smtp_from)
    return Mailbox(name or "Accountability", address or settings.smtp_from)


def compose(
    rendered: RenderedDigest, *, sender: Mailbox, to: Sequence[Mailbox], date: datetime
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = one_line(rendered.subject, SUBJECT_LIMIT)
    message["From"] = sender.header()
    message["To"] = [m.header() for m in to]
    message["Date"] = format_datetime(date)
    message["Message-ID"] = make_msgid(domain=sender.address.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Accountability-Digest"] = rendered.digest.week
    message.set_content(rendered.text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.email_html, subtype="html", charset="utf-8",
                            cte="quoted-printable")
    html = message.get_body(preferencelist=("html",))
    if not isinstance(html, EmailMessage):  # cannot happen: the part was just added
        raise TypeError("the digest message has no HTML part")
    for chart in rendered.charts:
        # add_related turns the text/html part into multipart/related [html, images…]
        html.add_related(chart.png, maintype="image", subtype="png", cid=f"<{chart.cid}>",
                         filename=chart.filename, disposition="inline")
    return message
