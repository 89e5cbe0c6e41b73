"""After an outage a recipient gets what a clean run would have sent (issue 15 item 1): the
same emails, grouped the same way, each item once. Backoff is per destination (a circuit
breaker), so the rows of one email come due together; a row that fails for its own reason (a
refused recipient) still fails alone and holds nobody back."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from accountability.usecases.dispatch import DispatchReport, dispatch
from rules.registry import Registry
from rules.routing import Alert, risk_review_alerts, unauthorized_change_alerts
from storage.engine import session_scope
from storage.models import AlertBreaker, AlertOutbox
from tests.alerts.conftest import (
    NOW,
    Clock,
    Mailroom,
    Received,
    SmtpServer,
    channels_for,
    enqueue,
    free_port,
    outbox,
    review,
    verdict,
)

WORKFLOWS = ("support", "renewals", "onboarding")
TICK = timedelta(seconds=15)
"""How often the scheduler in these tests runs a dispatch."""


def alerts(registry: Registry, *, fresh: bool) -> list[Alert]:
    """Three unauthorized changes and a risk review per workflow (6 emails in a clean run);
    `fresh`: only the change queued while the outage is under way (support's fourth)."""
    if fresh:
        return unauthorized_change_alerts(registry, verdict(4, workflow="support"))
    found: list[Alert] = []
    for w, workflow in enumerate(WORKFLOWS):
        for n in range(1, 4):
            found += unauthorized_change_alerts(registry, verdict(10 * w + n, workflow=workflow))
        found += risk_review_alerts(registry, review(workflow=workflow))
    return found


def shape(mails: list[Received]) -> Counter[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """Each email as its subject, envelope recipients and listed items (order aside)."""
    return Counter((str(m.message["Subject"]).strip(), tuple(sorted(m.rcpt_tos)),
                    tuple(sorted(m.refs()))) for m in mails)


def each_item_per_recipient(mails: list[Received]) -> Counter[tuple[str, str]]:
    return Counter((address, ref) for m in mails for address in m.rcpt_tos for ref in m.refs())


def test_after_smtp_was_down_for_two_dispatches_the_emails_are_those_of_a_clean_run(
    factory: sessionmaker[Session], email_only: Registry, smtp_server: SmtpServer,
    smtp_down: SmtpServer,
) -> None:
    enqueue(factory, alerts(email_only, fresh=False) + alerts(email_only, fresh=True))
    clean_report = dispatch(factory, email_only, channels_for(smtp_server), clock=Clock())
    clean = smtp_server.mailroom.received
    assert clean_report.sent == clean_report.claimed and len(clean) == 6
    with session_scope(factory) as session:
        session.execute(delete(AlertOutbox))

    enqueue(factory, alerts(email_only, fresh=False))
    clock = Clock()
    rand: Callable[[], float] = random.Random(15).random  # the jitter, reproducible
    failed_dispatches = 0
    for tick in range(60):  # a scheduler dispatching every 15 s, for 15 minutes at most
        if tick == 1:  # an evaluation queues one more change while the server is down
            enqueue(factory, alerts(email_only, fresh=True), due=clock.now)
        report = dispatch(factory, email_only, channels_for(smtp_down), clock=clock, rand=rand)
        failed_dispatches += report.failed > 0
        if failed_dispatches == 2 and smtp_down.controller is None:
            smtp_down.start()  # back after its second failed dispatch
        if report.pending == 0 and tick > 0:
            break
        clock.advance(seconds=TICK.total_seconds())
    after = smtp_down.mailroom.received

    assert {r.status for r in outbox(factory)} == {"sent"}
    assert len(after) == len(clean), f"{len(clean)} emails clean, {len(after)} after the outage"
    assert shape(after) == shape(clean)  # the same grouping
    assert set(each_item_per_recipient(after).values()) == {1}  # each item once per recipient
    assert each_item_per_recipient(after) == each_item_per_recipient(clean)


def test_a_fresh_alert_for_a_destination_that_is_down_waits_for_its_breaker(
    factory: sessionmaker[Session], email_only: Registry, smtp_down: SmtpServer,
) -> None:
    enqueue(factory, unauthorized_change_alerts(email_only, verdict(1)))
    clock = Clock()
    failed = dispatch(factory, email_only, channels_for(smtp_down), clock=clock,
                      rand=lambda: 1.0)
    assert failed.failed == 2
    with factory() as session:
        (breaker,) = session.scalars(select(AlertBreaker))
    assert breaker.failures == 1 and breaker.open_until == NOW + timedelta(minutes=1)
    assert {r.next_attempt_at for r in outbox(factory)} == {breaker.open_until}

    smtp_down.start()
    clock.advance(seconds=30)
    enqueue(factory, unauthorized_change_alerts(email_only, verdict(2)), due=clock.now)
    held = dispatch(factory, email_only, channels_for(smtp_down), clock=clock)
    assert (held.claimed, held.pending, len(smtp_down.mailroom.received)) == (0, 4, 0)

    clock.now = breaker.open_until
    report = dispatch(factory, email_only, channels_for(smtp_down), clock=clock)
    (mail,) = smtp_down.mailroom.received  # the old and the fresh change in one email
    assert report.sent == 4 and sorted(mail.refs()) == [verdict(1).key, verdict(2).key]
    with factory() as session:  # the destination is up: its breaker is gone
        assert list(session.scalars(select(AlertBreaker))) == []


class _RefusingDev(Mailroom):
    """A server that refuses one mailbox (dev) and accepts the others."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    async def handle_RCPT(self, server: SMTP, session: SmtpSession, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.startswith("dev@"):
            return f"{self.code} no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.mark.parametrize(("code", "status"), [("550 5.1.1", "dead"), ("450 4.2.1", "pending")],
                         ids=["permanent", "temporary"])
def test_a_refused_address_fails_alone_while_the_others_are_sent(
    factory: sessionmaker[Session], email_only: Registry, code: str, status: str,
) -> None:
    server = SmtpServer("127.0.0.1", free_port(), _RefusingDev(code))
    server.start()
    try:
        enqueue(factory, unauthorized_change_alerts(email_only, verdict(1))
                + risk_review_alerts(email_only, review()))
        clock = Clock()
        report = dispatch(factory, email_only, channels_for(server), clock=clock,
                          rand=lambda: 0.5)
        assert (report.sent, report.failed + report.dead) == (3, 1)
        rows = outbox(factory)
        (refused,) = [r for r in rows if r.status != "sent"]
        assert (refused.recipient, refused.status) == ("dev", status)
        assert "refused dev@acme.example" in (refused.last_error or "")
        assert refused.next_attempt_at == NOW + timedelta(seconds=45)  # its own backoff
        with factory() as session:  # one mailbox is not the server: no breaker
            assert list(session.scalars(select(AlertBreaker))) == []

        # nothing else waits for dev: a change queued now goes out at the next dispatch
        enqueue(factory, unauthorized_change_alerts(email_only, verdict(2, workflow="renewals")),
                due=clock.now)
        later: DispatchReport = dispatch(factory, email_only, channels_for(server), clock=clock)
        assert later.sent == 2 and len(server.mailroom.received) == 3
        assert sorted(sorted(m.rcpt_tos) for m in server.mailroom.received) == [
            ["lee@acme.example", "maria@acme.example"], ["maria@acme.example"],
            ["omar@acme.example", "tomas@acme.example"]]
    finally:
        server.stop()
