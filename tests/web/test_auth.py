"""Who may look (SPEC §13, issue #18 item 3): the trusted SSO header, sign-in links and their
sessions, and nothing but the sign-in explanation for anyone else."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, select

from storage.models import Decision, RiskReview
from tests.alerts.conftest import NOW
from tests.web.conftest import HEADER, KEY, REVIEW, Web, make_web

PATHS = ["/", "/findings", "/reviews", "/act/ratify?target=x", "/act/decide", "/nowhere"]


@pytest.mark.parametrize("path", PATHS)
def test_an_unauthenticated_request_gets_only_the_signin_explanation(web: Web,
                                                                     path: str) -> None:
    page = web.client.get(path)
    assert page.status_code == 401
    assert "Sign in" in page.text and "sign-in link" in page.text
    assert "Customer Support" not in page.text and "support" not in page.text.lower().replace(
        "supports", "")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_a_post_without_a_person_is_refused_and_changes_nothing(web: Web) -> None:
    assert web.client.post("/act/acknowledge", data={"target": REVIEW}).status_code == 401
    with web.factory() as session:
        review = session.get(RiskReview, REVIEW)
        assert review is not None and review.status == "open"


def test_the_trusted_header_maps_an_email_to_a_person_case_insensitively(web: Web) -> None:
    page = web.client.get("/", headers={HEADER: "Maria@ACME.example"})
    assert page.status_code == 200 and "Signed in as maria" in page.text


def test_an_unknown_email_in_the_header_is_refused_naming_nothing(web: Web) -> None:
    page = web.client.get("/", headers={HEADER: "mallory@evil.example"})
    assert page.status_code == 403 and "not in the owner registry" in page.text
    assert "mallory" not in page.text and "maria" not in page.text


def test_a_signed_link_works_for_someone_whose_sso_email_is_unknown(web: Web) -> None:
    path = web.link("lee", "acknowledge", REVIEW)
    who = {HEADER: "lee.private@example.org"}
    assert web.client.get("/", headers=who).status_code == 403
    page = web.client.get(path, headers=who)
    assert page.status_code == 200
    done = web.client.post(path, headers=who, data={"csrf": web.csrf(path, **who)})
    assert done.status_code == 200 and [(e.person, e.auth) for e in web.audit()] == [
        ("lee", "link")]


def test_the_header_is_ignored_unless_configured(engine: Engine, registry_path: Path) -> None:
    web = make_web(engine, registry_path, header=None)
    assert web.client.get("/", headers={HEADER: "maria@acme.example"}).status_code == 401


def test_a_signed_in_person_acts_through_the_header_with_csrf(web: Web) -> None:
    who = {HEADER: "dana@acme.example"}
    path = "/act/decide?target=support&decision=stabilize&week=2026-W47"
    csrf = web.csrf(path, **who)
    form = {"target": "support", "decision": "stabilize", "week": "2026-W47", "csrf": csrf}
    assert web.client.post("/act/decide", data={**form, "csrf": ""}, headers=who
                           ).status_code == 403
    # a token made for another person's page does not pass either
    other = web.csrf(path, **{HEADER: "omar@acme.example"})
    assert web.client.post("/act/decide", data={**form, "csrf": other}, headers=who
                           ).status_code == 403
    assert web.client.post("/act/decide", data=form, headers=who).status_code == 200
    again = web.client.post("/act/decide", data=form, headers=who)
    assert "Already done" in again.text
    with web.factory() as session:
        rows = [(d.decision, d.by, d.os_user) for d in session.scalars(select(Decision))]
    assert rows == [("stabilize", "dana", "web:header")]
    assert [(e.outcome, e.auth) for e in web.audit()] == [
        ("refused", "header"), ("refused", "header"), ("done", "header"),
        ("already_done", "header")]


def test_the_person_is_never_taken_from_the_form(web: Web) -> None:
    who = {HEADER: "sam@acme.example"}
    csrf = web.csrf(f"/act/acknowledge?target={REVIEW}", **who)
    refused = web.client.post("/act/acknowledge", headers=who,
                              data={"target": REVIEW, "csrf": csrf, "by": "lee",
                                    "person": "lee"})
    assert refused.status_code == 403 and "only the risk owner or the outcome owner" in \
        refused.text


def test_a_signin_link_opens_a_session_after_its_confirmation(web: Web) -> None:
    path = urlsplit(web.links.signin("lee", now=NOW)).path
    confirm = web.client.get(path)
    assert confirm.status_code == 200 and "Sign in as Lee Okafor (lee)" in confirm.text
    assert "set-cookie" not in confirm.headers  # a mail scanner's GET signs nobody in
    assert web.client.post(path, data={}).status_code == 403  # no CSRF token
    signed_in = web.client.post(path, data={"csrf": web.csrf(path)})
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "Signed in as lee" in web.client.get("/").text
    action = f"/act/acknowledge?target={REVIEW}"
    done = web.client.post("/act/acknowledge", data={"target": REVIEW,
                                                      "csrf": web.csrf(action)})
    assert done.status_code == 200
    with web.factory() as session:
        review = session.get(RiskReview, REVIEW)
        assert review is not None
        assert (review.acknowledged_by, review.acknowledged_os_user) == ("lee", "web:session")
    assert [(e.action, e.auth, e.outcome) for e in web.audit()] == [
        ("signin", "link", "done"), ("acknowledge", "session", "done")]
    web.clock.advance(hours=13)  # the session lasts 12 hours
    assert web.client.get("/").status_code == 401


def test_a_forged_session_cookie_is_ignored(web: Web) -> None:
    web.client.cookies.set("accountability_session", '["maria", 9999999999, "x"]')
    assert web.client.get("/").status_code == 401


def test_an_expired_signin_link_is_refused(web: Web) -> None:
    path = urlsplit(web.links.signin("lee", now=NOW)).path
    web.clock.advance(days=15)
    page = web.client.get(path)
    assert page.status_code == 410 and "expired" in page.text
    assert KEY not in page.text
