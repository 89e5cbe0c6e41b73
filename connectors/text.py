"""Making untrusted text (Jira summaries, PagerDuty titles, names) safe for an outbound channel.

Escaping belongs to each format (Jinja2 autoescape for HTML, `connectors.slack.escape` for
mrkdwn, JSON for the APIs); what every channel shares is here: no control characters where a
line is expected (a CR/LF in a header is header injection), no bidi override characters (they
make "Trojan source" spoofing of names and links possible; RTL letters need none of them), and a
length cut that says it cut.
"""

from __future__ import annotations

import re
import unicodedata

ELLIPSIS = "…"

# Explicit bidi embeddings/overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI).
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
_LINE_BREAKS = re.compile(r"[\r\n\u0085\u2028\u2029\t\v\f]+")
_SPACES = re.compile(r"[ \u00a0]{2,}")


def _printable(char: str) -> bool:
    # Cc: C0/C1 controls; Cs: lone surrogates (not encodable); the rest of Unicode stays,
    # emoji and right-to-left letters included.
    return unicodedata.category(char) not in ("Cc", "Cs")


def clean(text: object, limit: int | None = None, *, strip: bool = True) -> str:
    """Multi-line text: controls other than newlines removed, bidi overrides removed, cut."""
    value = str(text).replace("\r\n", "\n").replace("\r", "\n").translate(_BIDI_CONTROLS)
    value = "".join(c for c in value if c == "\n" or _printable(c))
    value = value.strip() if strip else value
    return truncate(value, limit) if limit is not None else value


def one_line(text: object, limit: int | None = None) -> str:
    """One line (headers, subjects, summaries): every line break becomes a space, then cut."""
    value = _LINE_BREAKS.sub(" ", str(text)).translate(_BIDI_CONTROLS)
    if not value.isprintable():  # fast path: printable text holds no Cc or Cs character
        value = "".join(c for c in value if _printable(c))
    value = _SPACES.sub(" ", value).strip()
    return truncate(value, limit) if limit is not None else value


def truncate(text: str, limit: int | None) -> str:
    """`text` cut to at most `limit` characters, the cut marked with an ellipsis."""
    if limit is None or len(text) <= limit:
        return text
    if limit < 1:
        return ""
    return text[: limit - 1].rstrip() + ELLIPSIS


def safe_url(url: object) -> str | None:
    """An http(s) URL fit for a link, or None (a `javascript:` or malformed link is dropped)."""
    if not isinstance(url, str):
        return None
    value = url.strip()
    if not re.fullmatch(r"https?://[^\s<>\"'|`\\\x00-\x1f\x7f]+", value, flags=re.IGNORECASE):
        return None
    return value
