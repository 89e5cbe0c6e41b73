"""HTML pages rendered from Jinja2 templates (autoescaped: names come from user files)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from rules.escalation_map import EscalationMap


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("accountability.messages", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def email_environment() -> Environment:
    """A fresh environment for the e-mail templates (alerts, digest): only `.html.j2` is
    escaped, since escaping the plain-text part would show `&lt;` to the reader."""
    return Environment(
        loader=PackageLoader("accountability.messages", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False,
                                     default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_escalation_map(view: EscalationMap, registry_hash: str) -> str:
    """A self-contained page: inline CSS, no scripts, no external assets, prints on one page."""
    template = _environment().get_template("escalation_map.html.j2")
    return template.render(m=view, registry_hash=registry_hash[:12])
