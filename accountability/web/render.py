"""Jinja2 for the web app: its own templates plus the e-mail templates' folder, so a page can
include what the alert and digest e-mails render (one scorecard, one finding) instead of a copy.

Autoescaped everywhere: ticket summaries, names and notes come from Jira, PagerDuty and people.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse


@cache
def environment() -> Environment:
    return Environment(
        loader=ChoiceLoader([
            PackageLoader("accountability.web", "templates"),
            PackageLoader("accountability.messages", "templates"),
        ]),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render `template` with the signed-in person (or None) and the request in its context."""
    person = getattr(request.state, "person", None)
    body = environment().get_template(template).render(request=request, person=person, **context)
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


SECURITY_HEADERS = {
    # No scripts at all: the pages work without JavaScript, so none may run (injected or not).
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
                               "data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a signed link in the URL never leaks to another site
    "Cache-Control": "no-store",
}
