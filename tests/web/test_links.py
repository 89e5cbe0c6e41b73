"""Signed links: the round trip, and every way a link is refused (SPEC §13, issue #18 item 2).

Each refusal is checked from the outside: the HTTP status, the page's sentence, and the
database after it (the finding still open, no ratification, no decision; the audit row of a
refused POST)."""

from __future__ import annotations

import os
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from accountability.config.errors import UsageError
from accountability.links import BadLink, ExpiredLink, Signer
from accountability.usecases import governance
from rules.registry import parse_registry
from storage import audit
from storage.engine import session_scope
from storage.models import Decision, Finding, Ratification, RiskReview
from tests.alerts.conftest import NOW
from tests.web.conftest import (
    FINDING,
    KEY,
    OTHER_KEY,
    REMOTE,
    REVIEW,
    Web,
)


def _finding(web: Web) -> tuple[str, int]:
    with web.factory() as session:
        finding = session.get(Finding, FINDING)
        assert finding is not None
        count = session.scalar(select(func.count()).select_from(Ratification))
        return finding.status, int(count or 0)


def _decisions(web: Web) -> list[tuple[str, str, str, str, str | None]]:
    with web.factory() as session:
        return [(d.workflow, d.week, d.decision, d.by, d.os_user)
                for d in session.scalars(select(Decision).order_by(Decision.id))]


def _token(path: str) -> str:
    return unquote(path.rsplit("/", 1)[1])


# --- the signature itself -------------------------------------------------------------------


def test_a_link_round_trips_and_binds_person_action_target_and_expiry() -> None:
    signer = Signer(KEY)
    link = signer.link("maria", "decide", "support", now=NOW, days=14, decision="pause",
                       week="2026-W47")
    assert signer.verify(signer.dumps(link), now=NOW) == link
    assert link.expires == NOW + timedelta(days=14)
    other = signer.link("maria", "decide", "support", now=NOW, days=14, decision="pause",
                        week="2026-W47")
    assert other.nonce != link.nonce  # two links for the same act are told apart


def test_a_link_from_another_key_or_with_a_changed_byte_is_bad() -> None:
    token = Signer(OTHER_KEY).dumps(Signer(OTHER_KEY).link("maria", "ratify", FINDING, now=NOW,
                                                           days=14))
    with pytest.raises(BadLink):
        Signer(KEY).verify(token, now=NOW)
    good = Signer(KEY).dumps(Signer(KEY).link("maria", "ratify", FINDING, now=NOW, days=14))
    for index in (0, len(good) // 2, len(good) - 1):
        altered = good[:index] + _flip_top_bit(good[index]) + good[index + 1:]
        with pytest.raises(BadLink):
            Signer(KEY).verify(altered, now=NOW)


def _flip_top_bit(char: str) -> str:
    """Another character whose decoded bits differ. Not just any other character: the last
    character of a base64 segment carries padding bits in its low end ("A" and "B" can decode
    to the same bytes, the same link), so the top of its six bits is the one changed."""
    if char not in BASE64URL:
        return "A"  # a separator: the token's structure changes
    return BASE64URL[BASE64URL.index(char) ^ 0b100000]


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_a_link_expires_on_the_injected_clock() -> None:
    signer = Signer(KEY)
    token = signer.dumps(signer.link("maria", "ratify", FINDING, now=NOW, days=14))
    signer.verify(token, now=NOW + timedelta(days=13, hours=23))
    with pytest.raises(ExpiredLink):
        signer.verify(token, now=NOW + timedelta(days=14))


# --- GET confirms, POST acts ----------------------------------------------------------------


def test_maria_ratifies_from_her_link_in_two_clicks(web: Web) -> None:
    path = web.link("maria", "ratify", FINDING)
    page = web.client.get(path)  # click 1: the confirmation page
    assert page.status_code == 200
    assert "Ratify a finding" in page.text and "Maria Chen (maria)" in page.text
    assert "Ratified from the alert e-mail link" in page.text  # the prefilled, editable note
    assert _finding(web) == ("open", 0) and web.audit() == []  # a GET never acts
    csrf = web.csrf(path)
    done = web.client.post(path, data={"csrf": csrf, "note": "Ratified from the alert e-mail "
                                                             "link"})  # click 2
    assert done.status_code == 200 and "is ratified" in done.text
    assert _finding(web) == ("ratified", 1)
    with web.factory() as session:
        row = session.scalars(select(Ratification)).one()
        assert (row.by, row.at, row.os_user, row.flow_run_id) == (
            "maria", NOW, "web:link", None)
    [entry] = web.audit()
    assert (entry.person, entry.action, entry.target, entry.outcome, entry.auth, entry.at,
            entry.remote_addr) == ("maria", "ratify", FINDING, "done", "link", NOW, REMOTE)
    token = _token(path)
    assert entry.link_nonce and entry.link_nonce in Signer(KEY).read(token).nonce
    assert token not in str([getattr(entry, c) for c in ("reason", "link_nonce", "target")])


def test_a_replayed_link_says_already_done_and_acts_once(web: Web) -> None:
    path = web.link("dana", "decide", "support", decision="pause", week="2026-W47")
    csrf = web.csrf(path)
    assert web.client.post(path, data={"csrf": csrf}).status_code == 200
    again = web.client.post(path, data={"csrf": csrf})
    assert again.status_code == 200 and "Already done" in again.text
    assert "used already" in web.client.get(path).text
    assert _decisions(web) == [("support", "2026-W47", "pause", "dana", "web:link")]
    assert [e.outcome for e in web.audit()] == ["done"]  # no second audit row either


@pytest.mark.parametrize("forge", ["garbage", "altered", "other-key"])
def test_a_forged_or_altered_link_is_refused_and_changes_nothing(web: Web, forge: str) -> None:
    path = web.link("maria", "ratify", FINDING)
    token = _token(path)
    if forge == "garbage":
        bad = "eyJub3QiOiJvdXJzIn0.c2lnbmF0dXJl"
    elif forge == "altered":  # one byte of the payload: the target, the person, anything
        bad = token[:10] + ("x" if token[10] != "x" else "y") + token[11:]
    else:
        other = Signer(OTHER_KEY)
        bad = other.dumps(other.link("maria", "ratify", FINDING, now=NOW, days=14))
    page = web.client.get(f"/l/{bad}")
    assert page.status_code == 403 and "cannot be used" in page.text
    refused = web.client.post(f"/l/{bad}", data={"csrf": web.csrf(path), "note": "x"})
    assert refused.status_code == 403
    assert _finding(web) == ("open", 0)
    [entry] = web.audit()
    assert (entry.outcome, entry.person, entry.auth, entry.link_nonce) == (
        "refused", None, "link", None)  # nothing in a forged link is believed


def test_an_expired_link_is_refused_with_410(web: Web) -> None:
    path = web.link("maria", "ratify", FINDING)
    csrf = web.csrf(path)
    web.clock.advance(days=15)
    page = web.client.get(path)
    assert page.status_code == 410 and "expired" in page.text
    assert web.client.post(path, data={"csrf": csrf, "note": "late"}).status_code == 410
    assert _finding(web) == ("open", 0)
    [entry] = web.audit()
    assert (entry.outcome, entry.person, entry.action, entry.target) == (
        "refused", "maria", "ratify", FINDING)
    assert "expired" in (entry.reason or "")


def test_a_link_for_someone_without_the_right_is_refused_as_the_cli_refuses(web: Web) -> None:
    with web.factory() as session:
        registry = parse_registry(web.registry_path.read_text(), "r").registry
        with pytest.raises(UsageError) as cli:
            governance.ratify(session, registry, FINDING, "sam", "mine")
    path = web.link("sam", "ratify", FINDING)
    refused = web.client.post(path, data={"csrf": web.csrf(path), "note": "mine"})
    assert refused.status_code == 403
    assert str(cli.value).replace("'", "&#39;") in refused.text
    assert _finding(web) == ("open", 0)
    [entry] = web.audit()
    assert (entry.outcome, entry.person, entry.reason) == ("refused", "sam", str(cli.value))


def test_a_link_for_a_person_removed_from_the_registry_is_refused(web: Web) -> None:
    path = web.link("zoe", "decide", "support", decision="stop", week="2026-W47")
    csrf = web.csrf(path)
    text = web.registry_path.read_text()
    web.registry_path.write_text(text.replace("leadership: [dana, omar, zoe]",
                                              "leadership: [dana, omar]").replace(
        "  zoe:    {name: Zoe Park, email: zoe@acme.example}\n", ""))
    stat = web.registry_path.stat()
    os.utime(web.registry_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    refused = web.client.post(path, data={"csrf": csrf})
    assert refused.status_code == 403
    assert "&#39;zoe&#39; is not a person in the registry" in refused.text
    assert _decisions(web) == []


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(web: Web) -> None:
    path = web.link("maria", "ratify", FINDING)
    other = web.link("maria", "ratify", FINDING)
    for data in ({"note": "x"}, {"csrf": "", "note": "x"}, {"csrf": web.csrf(other), "note": "x"}):
        refused = web.client.post(path, data=data)
        assert refused.status_code == 403 and "CSRF" in refused.text
    assert _finding(web) == ("open", 0)
    assert [(e.outcome, e.reason) for e in web.audit()] == [
        ("refused", "missing or wrong CSRF token")] * 3
    assert web.client.post(path, data={"csrf": web.csrf(path), "note": "ok"}).status_code == 200


def test_close_needs_a_note_as_the_cli_does(web: Web) -> None:
    path = web.link("lee", "close", REVIEW)
    page = web.client.get(path)
    assert "Closed from the alert e-mail link" in page.text
    refused = web.client.post(path, data={"csrf": web.csrf(path), "note": "  "})
    assert refused.status_code == 403 and "--note must say why" in refused.text
    done = web.client.post(path, data={"csrf": web.csrf(path), "note": "Staffing fixed"})
    assert done.status_code == 200
    with web.factory() as session:
        review = session.get(RiskReview, REVIEW)
        assert review is not None
        assert (review.status, review.closed_by, review.close_note, review.closed_os_user) == (
            "closed", "lee", "Staffing fixed", "web:link")


def test_acknowledge_twice_from_two_links_is_already_done(web: Web) -> None:
    first, second = web.link("lee", "acknowledge", REVIEW), web.link("maria", "acknowledge",
                                                                      REVIEW)
    assert web.client.post(first, data={"csrf": web.csrf(first)}).status_code == 200
    again = web.client.post(second, data={"csrf": web.csrf(second)})
    assert again.status_code == 200 and "acknowledged already" in again.text
    with web.factory() as session:
        review = session.get(RiskReview, REVIEW)
        assert review is not None and review.acknowledged_by == "lee"
    assert [e.outcome for e in web.audit()] == ["done", "already_done"]


def test_a_signin_link_is_not_an_action_link(web: Web) -> None:
    url = web.links.signin("maria", now=NOW)
    token = url.rsplit("/", 1)[1]
    assert web.client.get(f"/l/{token}").status_code == 403


def test_a_page_never_shows_the_key_or_another_persons_link(web: Web) -> None:
    maria = web.link("maria", "ratify", FINDING)
    dana = web.link("dana", "decide", "support", decision="continue", week="2026-W47")
    bodies = [web.client.get(maria).text,
              web.client.post(maria, data={"csrf": web.csrf(maria), "note": "ok"}).text,
              web.client.get("/", headers={"X-Forwarded-Email": "maria@acme.example"}).text,
              web.client.get("/signin").text]
    for body in bodies:
        assert KEY not in body
        assert _token(dana) not in body and dana not in body



def test_the_audit_index_lets_an_action_link_act_once_only(web: Web) -> None:
    """What holds when two clicks race past the "used already" check: the second `done` row
    for one nonce cannot be written, so its transaction (the action with it) rolls back. A
    refusal or a sign-in may repeat."""
    def entry(action: str, outcome: str) -> audit.AuditEntry:
        return audit.AuditEntry(at=NOW, person="omar", action=action, target="renewals",
                                outcome=outcome, auth="link", link_nonce="n-1")

    for action, outcome in (("decide", "refused"), ("signin", "done"), ("decide", "done")):
        for _ in range(2 if outcome != "done" or action == "signin" else 1):
            with session_scope(web.factory) as session:
                audit.record(session, entry(action, outcome))
    with pytest.raises(IntegrityError), session_scope(web.factory) as session:
        audit.record(session, entry("decide", "done"))
    assert len(web.audit()) == 5
