"""The web app's audit rows (SPEC §13): who did what, when, and how they were authenticated.

Written in the same transaction as the action it records, so an action and its audit row are
committed together or not at all; a refusal is written in its own transaction, since the
refused action wrote nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import WebAudit


@dataclass(frozen=True)
class AuditEntry:
    """One audit row before it is written; `outcome` is `done`, `already_done` or `refused`."""

    at: datetime
    person: str | None
    action: str
    target: str | None
    outcome: str
    auth: str
    decision: str | None = None
    week: str | None = None
    reason: str | None = None
    link_nonce: str | None = None
    remote_addr: str | None = None


def record(session: Session, entry: AuditEntry) -> WebAudit:
    row = WebAudit(at=entry.at, person=entry.person, action=entry.action, target=entry.target,
                   decision=entry.decision, week=entry.week, outcome=entry.outcome,
                   reason=entry.reason, auth=entry.auth, link_nonce=entry.link_nonce,
                   remote_addr=entry.remote_addr)
    session.add(row)
    session.flush()
    return row


def link_used(session: Session, nonce: str) -> WebAudit | None:
    """The audit row of the action a link already took, if it took one."""
    query = select(WebAudit).where(WebAudit.link_nonce == nonce, WebAudit.outcome == "done")
    return session.scalars(query).first()


def entries(session: Session) -> list[WebAudit]:
    """Every audit row, oldest first."""
    return list(session.scalars(select(WebAudit).order_by(WebAudit.at, WebAudit.id)))
