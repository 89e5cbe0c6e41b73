"""Who is asking (SPEC §13, "who may look"): the SSO header, a session, or nobody.

Three ways in, in this order:

1. **The trusted header** (`ACCOUNTABILITY_TRUSTED_USER_HEADER`, e.g. `X-Forwarded-Email`
   set by oauth2-proxy): honoured only when configured; its value is an e-mail address, mapped
   to the registry person with that address (case-insensitive). It proves whatever the proxy
   authenticated, and nothing at all if a client can reach `serve` without the proxy (which
   would let anyone send the header): docs/operations.md, "Web app".
2. **A session cookie**, set by a sign-in link from the digest (`/signin/{token}`): signed
   with the signing key, bound to a person and an expiry, HttpOnly, SameSite=Lax.
3. Nobody: every path answers 401 with the sign-in explanation, except `/signin…` and the
   signed action links `/l/{token}`, which carry their own proof.

CSRF: every form carries a token signed for its purpose and bound to what authenticated the
page (the session's id, the header's person, the link's nonce), valid two hours. A cross-site
form cannot produce one, since it cannot read our pages nor sign without the key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pydantic import SecretStr
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from accountability.config.settings import Settings, require_signing_key
from accountability.links import DEFAULT_LINK_DAYS, SIGNIN, LinkError, Signer
from accountability.web.context import WebContext
from accountability.web.render import page
from rules.registry import Registry
from storage import audit
from storage.engine import session_scope

SESSION_COOKIE: Final = "accountability_session"
CSRF_LIFETIME: Final = timedelta(hours=2)
OPEN_PREFIXES: Final = ("/signin", "/l/")
"""Paths served without a person: the sign-in pages and the signed action links."""


@dataclass(frozen=True)
class WebSettings:
    """What the web app needs from the configuration (SPEC §9)."""

    signing_key: SecretStr
    public_url: str | None = None
    trusted_user_header: str | None = None
    link_days: int = DEFAULT_LINK_DAYS
    session_hours: int = 12

    @classmethod
    def from_settings(cls, settings: Settings) -> WebSettings:
        """Raises `ConfigError` (exit 2) without a usable signing key."""
        return cls(signing_key=require_signing_key(settings), public_url=settings.public_url,
                   trusted_user_header=(settings.trusted_user_header or "").strip() or None,
                   link_days=settings.link_days)

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS when the public URL is HTTPS (local demo: plain HTTP)."""
        return bool(self.public_url and self.public_url.startswith("https://"))


def signer_of(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def settings_of(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def context_of(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def remote(request: Request) -> str | None:
    return request.client.host if request.client else None


# --- CSRF -----------------------------------------------------------------------------------


def csrf_binding(request: Request) -> str:
    """What a form's CSRF token is bound to for this request's authentication."""
    auth = getattr(request.state, "auth", None)
    if auth == "session":
        return f"session:{request.state.session_id}"
    if auth == "header":
        return f"header:{request.state.person}"
    return "none"


def csrf_token(signer: Signer, binding: str, now: datetime) -> str:
    return signer.sign("csrf", [binding, int((now + CSRF_LIFETIME).timestamp())])


def csrf_ok(signer: Signer, token: object, binding: str, now: datetime) -> bool:
    if not isinstance(token, str) or not token:
        return False
    value = signer.unsign("csrf", token)
    if value is None or len(value) != 2:
        return False
    bound, expires = value
    return (secrets.compare_digest(str(bound), binding) and isinstance(expires, int)
            and now.timestamp() < expires)


# --- who is asking --------------------------------------------------------------------------


def person_by_email(registry: Registry, email: str) -> str | None:
    wanted = email.strip().casefold()
    if not wanted:
        return None
    for person in registry.people.values():
        if person.email and person.email.strip().casefold() == wanted:
            return person.id
    return None


class AuthMiddleware(BaseHTTPMiddleware):
    """Sets `request.state.person` and `request.state.auth` ("header" | "session"), or answers
    401 with the sign-in explanation; `/signin…` and `/l/…` pass through to authenticate
    themselves (their handlers set `auth` to "link")."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request.state.person = None
        request.state.auth = None
        open_path = request.url.path.startswith(OPEN_PREFIXES)
        refusal = self._authenticate(request)
        if refusal is not None and not open_path:  # a signed link proves its own person
            return refusal
        if request.state.person is None and not open_path:
            return signin_page(request, status_code=401)
        return await call_next(request)

    def _authenticate(self, request: Request) -> Response | None:
        settings, ctx = settings_of(request), context_of(request)
        header = settings.trusted_user_header
        value = request.headers.get(header) if header else None
        if value is not None:
            person = person_by_email(ctx.registry(), value)
            if person is None:
                return page(request, "web/message.html.j2", 403, title="Not in the registry",
                            ok=False, hint=None,
                            message="Your company sign-in worked, but your e-mail address is "
                                    "not in the owner registry, so this app does not know "
                                    "who you are. Ask the registry's maintainers to add it.")
            request.state.person, request.state.auth = person, "header"
            return None
        cookie = request.cookies.get(SESSION_COOKIE)
        session = signer_of(request).unsign("session", cookie) if cookie else None
        if session is not None and len(session) == 3:
            who, expires, session_id = session
            if (isinstance(who, str) and isinstance(expires, int)
                    and ctx.clock().timestamp() < expires and who in ctx.registry().people):
                request.state.person, request.state.auth = who, "session"
                request.state.session_id = str(session_id)
        return None


def signin_page(request: Request, status_code: int = 200, problem: str | None = None) -> Response:
    settings = settings_of(request)
    return page(request, "web/signin.html.j2", status_code, problem=problem,
                sso=bool(settings.trusted_user_header), session_hours=settings.session_hours,
                link_days=settings.link_days)


# --- sign-in links --------------------------------------------------------------------------


async def signin_explain(request: Request) -> Response:
    return signin_page(request)


def _signin_link(request: Request) -> tuple[str, str] | Response:
    """(person, nonce) of a valid sign-in link, or the refusal page."""
    ctx = context_of(request)
    token = request.path_params["token"]
    try:
        link = signer_of(request).verify(token, now=ctx.clock())
    except LinkError as exc:
        return signin_page(request, exc.status, problem=f"{exc} Ask for a new one.")
    if link.action != SIGNIN:
        return signin_page(request, 403, problem="This is not a sign-in link.")
    if link.person not in ctx.registry().people:
        return signin_page(request, 403, problem=f"'{link.person}' is no longer a person in "
                                                 "the registry.")
    return link.person, link.nonce


async def signin_confirm(request: Request) -> Response:
    """GET of a sign-in link: a confirmation page (mail scanners open links; they must not
    sign anyone in, and a session must start in the person's browser only)."""
    found = _signin_link(request)
    if isinstance(found, Response):
        return found
    person, nonce = found
    ctx = context_of(request)
    return page(request, "web/signin_confirm.html.j2", actor=_name(ctx.registry(), person),
                post_url=request.url.path, session_hours=settings_of(request).session_hours,
                csrf=csrf_token(signer_of(request), f"signin:{nonce}", ctx.clock()))


async def signin_post(request: Request) -> Response:
    found = _signin_link(request)
    if isinstance(found, Response):
        return found
    person, nonce = found
    ctx, signer, settings = context_of(request), signer_of(request), settings_of(request)
    form = await request.form()
    now = ctx.clock()
    if not csrf_ok(signer, form.get("csrf"), f"signin:{nonce}", now):
        return page(request, "web/message.html.j2", 403, title="Refused", ok=False, hint=None,
                    message="This form was not sent from this app's own page (missing or "
                            "wrong CSRF token). Open the link again.")
    with session_scope(ctx.sessions) as session:
        audit.record(session, audit.AuditEntry(at=now, person=person, action=SIGNIN,
                                               target=None, outcome="done", auth="link",
                                               link_nonce=nonce, remote_addr=remote(request)))
    expires = now + timedelta(hours=settings.session_hours)
    cookie = signer.sign("session", [person, int(expires.timestamp()), secrets.token_hex(16)])
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=settings.session_hours * 3600,
                        httponly=True, samesite="lax", secure=settings.secure_cookies)
    return response


async def signout(request: Request) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return response


def _name(registry: Registry, person: str) -> str:
    known = registry.people.get(person)
    return f"{known.name} ({person})" if known is not None else person


def routes() -> list[BaseRoute]:
    return [
        Route("/signin", signin_explain, methods=["GET"]),
        Route("/signin/{token}", signin_confirm, methods=["GET"]),
        Route("/signin/{token}", signin_post, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
    ]
