"""Two dispatchers racing over one outbox (threads, each with its own SMTP session and database
connections): every alert arrives exactly once. On PostgreSQL the claims are `FOR UPDATE SKIP
LOCKED`; on SQLite the single writer serializes them."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from accountability.usecases.dispatch import DispatchPolicy, DispatchReport, dispatch
from rules.registry import Registry
from rules.routing import unauthorized_change_alerts
from tests.alerts.conftest import Clock, SmtpServer, channels_for, enqueue, outbox, verdict


def test_two_dispatchers_racing_send_each_alert_exactly_once(
    factory: sessionmaker[Session], email_only: Registry, smtp_server: SmtpServer,
) -> None:
    alerts = [a for n in range(1, 41) for a in unauthorized_change_alerts(email_only, verdict(n))]
    alerts += [a for n in range(41, 61) for a in unauthorized_change_alerts(
        email_only, verdict(n, workflow="renewals"))]
    assert enqueue(factory, alerts) == 120
    smtp_server.mailroom.delay = 0.05  # each email takes a while: the claims interleave
    start = threading.Barrier(2)
    policy = DispatchPolicy(batch_size=10)

    def run(name: str) -> DispatchReport:
        start.wait(timeout=30)
        return dispatch(factory, email_only, channels_for(smtp_server), policy=policy,
                        clock=Clock(), worker=name)

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = [f.result(timeout=120) for f in [pool.submit(run, w) for w in ("w1", "w2")]]

    assert sum(r.sent for r in reports) == 120 and all(r.failed == 0 for r in reports)
    assert all(r.claimed > 0 for r in reports), "both dispatchers should have taken part"
    delivered = Counter((address, ref) for mail in smtp_server.mailroom.received
                        for address in mail.rcpt_tos for ref in mail.refs())
    assert set(delivered.values()) == {1}  # no (recipient, item) twice
    assert len(delivered) == 120
    rows = outbox(factory)
    assert {r.status for r in rows} == {"sent"}
    assert {r.claimed_by for r in rows} == {"w1", "w2"}
