"""The web app (SPEC §13): read pages, sign-in, and the four signed governance actions.

`create_app` is what `accountability serve`, the demo and the tests call; it reads nothing from
the environment (the `WebContext` and `WebSettings` say everything).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from accountability.links import Signer
from accountability.web import actions, auth, pages
from accountability.web.auth import AuthMiddleware, WebSettings
from accountability.web.context import WebContext


def create_app(ctx: WebContext, settings: WebSettings) -> Starlette:
    """The ASGI app on `ctx`'s database and registry. Every route sits behind
    `AuthMiddleware`, which lets only `/signin…` and `/l/…` through without a person."""
    app = Starlette(
        routes=[*auth.routes(), *actions.routes(), *pages.routes()],
        middleware=[Middleware(AuthMiddleware)],
    )
    app.state.web = ctx
    app.state.settings = settings
    app.state.signer = Signer(settings.signing_key.get_secret_value())
    return app
