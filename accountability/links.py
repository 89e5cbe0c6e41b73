"""Signed links (SPEC §13): one-click governance actions and sign-in links, per person.

A link names a registry person, an action, its target (a risk review id, a finding key, a
workflow id), for `decide` the decision and the week, an expiry and a random nonce, all signed
with `ACCOUNTABILITY_SIGNING_KEY` (itsdangerous: HMAC-SHA256 over the payload, key derived per
purpose with a salt, so an action link never passes as a session cookie or a CSRF token). What
a link proves is possession of an e-mail sent to that person, within its lifetime
(docs/operations.md, "Web app").

The expiry is inside the signed payload and checked against an injected clock, not against
itsdangerous' own timestamp (which reads the process clock): a test moves the clock 15 days
and the link expires, and a CI run a year ahead changes nothing.

The nonce tells links apart: the web app refuses to act twice on one link (the audit table
holds a unique index on the nonce of a link that acted, `storage/audit.py`).

This module sits beside `clock.py` and `origin.py` because both the dispatcher and the digest
(which write links into e-mails) and the web app (which reads them) need it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

Action = Literal["acknowledge", "close", "ratify", "decide"]
ACTIONS: Final[tuple[Action, ...]] = ("acknowledge", "close", "ratify", "decide")
SIGNIN: Final = "signin"
DEFAULT_LINK_DAYS: Final = 14

_SALTS: Final = {"link": "accountability.link.v1", "session": "accountability.session.v1",
                 "csrf": "accountability.csrf.v1"}


class LinkError(Exception):
    """A token that cannot be trusted: its `status` is the HTTP status the web app answers."""

    status = 403


class BadLink(LinkError):
    """Forged, altered by a byte, or signed with another key: nothing in it can be believed."""


class ExpiredLink(LinkError):
    """Genuine but past its expiry; `link` says for whom and what (for the audit row)."""

    status = 410

    def __init__(self, message: str, link: SignedLink) -> None:
        super().__init__(message)
        self.link = link


@dataclass(frozen=True)
class SignedLink:
    """What a link's signature vouches for. `action` is one of `ACTIONS` or `SIGNIN`; `target`
    is empty for a sign-in link; `decision` and `week` only for `decide`."""

    person: str
    action: str
    target: str
    expires: datetime
    nonce: str
    decision: str | None = None
    week: str | None = None

    def _payload(self) -> list[object]:
        return [self.person, self.action, self.target, self.decision, self.week,
                int(self.expires.timestamp()), self.nonce]

    @classmethod
    def _from_payload(cls, payload: object) -> SignedLink:
        if not isinstance(payload, list) or len(payload) != 7:
            raise BadLink("this link is not one of ours")
        person, action, target, decision, week, expires, nonce = payload
        if not (isinstance(person, str) and isinstance(action, str) and isinstance(target, str)
                and isinstance(expires, int) and isinstance(nonce, str)
                and isinstance(decision, str | None) and isinstance(week, str | None)):
            raise BadLink("this link is not one of ours")
        return cls(person=person, action=action, target=target, decision=decision, week=week,
                   expires=datetime.fromtimestamp(expires, UTC), nonce=nonce)


class Signer:
    """Signs and verifies links, sessions and CSRF tokens with one key.

    Example:
        >>> signer = Signer("a-long-random-key")
        >>> link = signer.link("maria", "ratify", "F-1", now=now, days=14)   # doctest: +SKIP
        >>> signer.verify(signer.dumps(link), now=now) == link               # doctest: +SKIP
        True
    """

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("the signing key is empty")
        sha256 = {"digest_method": hashlib.sha256}  # itsdangerous' default is SHA-1
        self._serializers = {purpose: URLSafeSerializer(key, salt=salt, signer_kwargs=sha256)
                             for purpose, salt in _SALTS.items()}

    def link(
        self, person: str, action: str, target: str, *, now: datetime, days: int,
        decision: str | None = None, week: str | None = None,
    ) -> SignedLink:
        """A new link, valid `days` from `now` (the injected clock's time)."""
        return SignedLink(person=person, action=action, target=target, decision=decision,
                          week=week, expires=_whole_seconds(now + timedelta(days=days)),
                          nonce=secrets.token_urlsafe(12))

    def dumps(self, link: SignedLink) -> str:
        return str(self._serializers["link"].dumps(link._payload()))

    def verify(self, token: str, *, now: datetime) -> SignedLink:
        """The link `token` stands for, or `BadLink` / `ExpiredLink`."""
        link = self.read(token)
        if now >= link.expires:
            raise ExpiredLink(f"this link expired on {link.expires:%Y-%m-%d %H:%M} UTC", link)
        return link

    def read(self, token: str) -> SignedLink:
        """The link, its signature checked but not its expiry."""
        try:
            payload = self._serializers["link"].loads(token)
        except BadSignature:
            raise BadLink("this link's signature does not match: it was altered, or it was "
                          "not made by this server") from None
        return SignedLink._from_payload(payload)

    def sign(self, purpose: Literal["session", "csrf"], value: list[object]) -> str:
        """A session cookie or a CSRF token: `value` signed for that purpose only."""
        return str(self._serializers[purpose].dumps(value))

    def unsign(self, purpose: Literal["session", "csrf"], token: str) -> list[object] | None:
        """The value signed with `sign(purpose, …)`, or None for anything else."""
        try:
            value = self._serializers[purpose].loads(token)
        except BadSignature:
            return None
        return value if isinstance(value, list) else None


def _whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class LinkMaker:
    """Builds the URLs people find in their e-mails: `{public_url}/l/{token}` for an action,
    `{public_url}/signin/{token}` for a sign-in. Built only when both
    `ACCOUNTABILITY_PUBLIC_URL` and `ACCOUNTABILITY_SIGNING_KEY` are set (`from_settings`)."""

    signer: Signer
    public_url: str
    days: int = DEFAULT_LINK_DAYS

    def action(
        self, person: str, action: Action, target: str, *, now: datetime,
        decision: str | None = None, week: str | None = None,
    ) -> str:
        link = self.signer.link(person, action, target, now=now, days=self.days,
                                decision=decision, week=week)
        return f"{self.public_url.rstrip('/')}/l/{quote(self.signer.dumps(link), safe='')}"

    def signin(self, person: str, *, now: datetime) -> str:
        link = self.signer.link(person, SIGNIN, "", now=now, days=self.days)
        return f"{self.public_url.rstrip('/')}/signin/{quote(self.signer.dumps(link), safe='')}"


def link_maker(public_url: str | None, signing_key: str | None,
               days: int = DEFAULT_LINK_DAYS) -> LinkMaker | None:
    """The e-mails' link maker, or None (and e-mails exactly as without the web app) unless
    both the public URL and the key are set."""
    if not public_url or not signing_key:
        return None
    return LinkMaker(Signer(signing_key), public_url, days)
