"""The read pages (placeholder in the `web-core` branch: the `web-pages` branch replaces this
file with the real pages). `routes()` is the contract `accountability.web.app` mounts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from accountability.web.context import WebContext
from accountability.web.render import page


async def overview(request: Request) -> Response:
    ctx: WebContext = request.app.state.web
    registry = ctx.registry()
    return page(request, "web/overview.html.j2",
                workflows=[(w, spec.name) for w, spec in sorted(registry.workflows.items())])


def routes() -> list[BaseRoute]:
    return [Route("/", overview, methods=["GET"])]
