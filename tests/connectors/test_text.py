"""`one_line` skips its per-character filter for printable text (the digest cleans thousands of
findings per build): the fast path must give what the filter gives, for every kind of text."""

from __future__ import annotations

import unicodedata

import pytest

from connectors.text import _BIDI_CONTROLS, _LINE_BREAKS, _SPACES, one_line


def reference(text: str) -> str:
    """`one_line` without the fast path: every character tested."""
    value = _LINE_BREAKS.sub(" ", text).translate(_BIDI_CONTROLS)
    value = "".join(c for c in value if unicodedata.category(c) not in ("Cc", "Cs"))
    return _SPACES.sub(" ", value).strip()


@pytest.mark.parametrize("text", [
    "plain ASCII summary", "Ünïcödé ✓ 🚒 مرحبا 日本語", "  padded  twice  ", "a\u00a0\u00a0b",
    "zero\u200bwidth", "soft\u00adhyphen", "private\ue000use", "line\u2028sep", "nul\x00byte",
    "esc\x1b]8;;link", "del\x7fchar", "c1\x85\x9bcontrols", "bidi\u202eevil\u2066", "tab\tand\nnl",
], ids=lambda t: t.encode("unicode_escape").decode()[:20])
def test_fast_path_gives_what_the_filter_gives(text: str) -> None:
    assert one_line(text) == reference(text)
