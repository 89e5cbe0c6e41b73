"""The digest as HTML (for e-mail and for a file), plain text and markdown.

Templates are written with a `<style>` block for maintainability; `css_inline` moves the rules
onto the elements, because Gmail and Outlook drop `<style>`. Charts are referenced by
Content-ID in the e-mail (`cid:…`, shown inline by Gmail and Outlook, unlike data URIs) and as
`data:image/png;base64,…` in the file, which then opens alone in a browser.
"""

from __future__ import annotations

import base64
import re
import textwrap
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import make_msgid
from functools import cache
from zoneinfo import ZoneInfo

import css_inline
from jinja2 import Environment

from accountability.links import LinkMaker
from accountability.messages.pages import email_environment
from rules import governance
from rules.digest import Digest, format_value
from rules.registry import Registry


@dataclass(frozen=True)
class Chart:
    workflow: str
    cid: str  # the Content-ID without its angle brackets
    filename: str
    png: bytes


@dataclass(frozen=True)
class DigestLinks:
    """One leader's own links: a sign-in to the web app, and per workflow the four decisions
    (label, URL) for the digest's week."""

    signin: str
    decide: dict[str, list[tuple[str, str]]]
    expires: str


def digest_links(
    registry: Registry, digest: Digest, person: str, maker: LinkMaker, now: datetime,
) -> DigestLinks:
    """`person`'s links, decisions only on workflows they may decide (`rules.governance`)."""
    decide = {
        w.id: [(decision.capitalize(), maker.action(person, "decide", w.id, now=now,
                                                    decision=decision, week=digest.week))
               for decision in governance.DECISIONS]
        for w in digest.workflows
        if w.id in registry.workflows and governance.may_decide(registry, person, w.id) is None
    }
    expires = (now + timedelta(days=maker.days)).astimezone(registry.tz)
    return DigestLinks(signin=maker.signin(person, now=now), decide=decide,
                       expires=expires.strftime("%Y-%m-%d %H:%M %Z"))


@dataclass(frozen=True)
class RenderedDigest:
    digest: Digest
    subject: str
    text: str
    email_html: str  # CSS inlined, charts as cid: references
    file_html: str  # CSS inlined, charts as data URIs
    charts: tuple[Chart, ...]


# Inline syntax only: untrusted text never starts a line in the templates, so block syntax
# (#, -, +, 1.) cannot trigger; with [ and ] escaped no link or image can form.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def markdown_text(value: object) -> str:
    """Untrusted text as literal markdown: HTML and markdown syntax escaped."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def markdown_link(text: object, url: str | None) -> str:
    """`[text](url)`; the URL was checked as http(s) when gathered, parentheses are encoded."""
    label = markdown_text(text)
    if not url:
        return label
    return f"[{label}]({url.replace('(', '%28').replace(')', '%29').replace(' ', '%20')})"


TEXT_WIDTH = 78


def wrap(text: object, indent: int, hanging: int | None = None) -> str:
    """Plain text wrapped at `TEXT_WIDTH`, indented; continuation lines by `hanging`."""
    return textwrap.fill(str(text), width=TEXT_WIDTH, initial_indent=" " * indent,
                         subsequent_indent=" " * (indent if hanging is None else hanging),
                         break_long_words=False, break_on_hyphens=False)


@cache
def _environment() -> Environment:
    env = email_environment()
    env.filters["value"] = lambda value, metric: format_value(metric, value)
    env.filters["wrap"] = wrap
    env.filters["md"] = markdown_text
    env.filters["link"] = markdown_link
    return env


_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def render_text(digest: Digest, links: DigestLinks | None = None) -> str:
    """The plain-text part alone (no charts to draw)."""
    return _tidy(_environment().get_template("digest/digest.txt.j2").render(
        d=digest, generated=_generated(digest), links=links))


def render(digest: Digest, *, cid_domain: str = "accountability.local") -> RenderedDigest:
    """Text, and HTML with its charts (matplotlib is imported only when a chart is drawn)."""
    from accountability.messages.charts import trend_chart

    charts = tuple(
        Chart(workflow=w.id, cid=make_msgid(idstring=f"trend{index}", domain=cid_domain)[1:-1],
              filename=f"trend-{index + 1}.png", png=trend_chart(w.trend_weeks, w.metrics))
        for index, w in enumerate(digest.workflows)
        if w.trend_weeks
    )
    context = {"d": digest, "generated": _generated(digest), "links": None}
    html = _environment().get_template("digest/digest.html.j2")
    email_html = html.render(**context, images={c.workflow: f"cid:{c.cid}" for c in charts})
    file_html = html.render(**context, images={c.workflow: _data_uri(c.png) for c in charts})
    return RenderedDigest(
        digest=digest,
        subject=digest.subject,
        text=render_text(digest),
        email_html=_INLINER.inline(email_html),
        file_html=_INLINER.inline(file_html),
        charts=charts,
    )


def personalize(rendered: RenderedDigest, links: DigestLinks) -> RenderedDigest:
    """The e-mail parts again with one reader's links (charts reused, not redrawn). The file
    and the artifact never carry links: they are read by others than the person signed for."""
    digest = rendered.digest
    html = _environment().get_template("digest/digest.html.j2").render(
        d=digest, generated=_generated(digest), links=links,
        images={c.workflow: f"cid:{c.cid}" for c in rendered.charts})
    return replace(rendered, text=render_text(digest, links),
                   email_html=_INLINER.inline(html))


def render_page(digest: Digest, images: dict[str, str]) -> str:
    """The digest's HTML for a browser (the web app's digest archive): the `<style>` block is
    kept, since a browser reads it (no inlining to pay for), and each workflow's chart is the
    URL `images` gives it (a chart the server draws on request), not a data URI."""
    template = _environment().get_template("digest/digest.html.j2")
    return template.render(d=digest, generated=_generated(digest), images=images,
                           links=None)


def render_markdown(digest: Digest, delivery: list[str] | None = None) -> str:
    """The digest as a Prefect markdown artifact, with what was done with it (`delivery`)."""
    template = _environment().get_template("digest/digest.md.j2")
    return _tidy(template.render(d=digest, delivery=delivery or []))


def _generated(digest: Digest) -> str:
    local = digest.generated_at.astimezone(ZoneInfo(digest.timezone))
    return local.strftime("%Y-%m-%d %H:%M %Z")


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).strip("\n") + "\n"
