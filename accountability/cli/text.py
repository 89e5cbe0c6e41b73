"""Untrusted text is text on the terminal: one helper for everything the CLI prints.

Jira status names and summaries, PagerDuty titles, server error messages, registry values and
command-line arguments all reach Rich, which reads `[...]` as markup, and the terminal, which
obeys escape sequences. Unescaped, `[link=https://evil]Approve[/link]` becomes a clickable
link, `QA [/]` crashes the command with `MarkupError`, and `\\x1b]8;;…` or `\\x1b[2J` drive
the terminal itself (hyperlinks, cleared screens, a changed window title). `safe_text` is
applied to every such value where it is put into a Rich string or table cell; the markup the
CLI writes itself (`[red]error[/]`) stays outside it.
"""

from __future__ import annotations

from rich.markup import escape

from connectors.text import clean


def safe_text(value: object) -> str:
    """`value` as literal terminal text: control characters (ESC, C1 controls such as CSI, BEL,
    CR …) and bidi overrides removed, line breaks kept, Rich markup escaped."""
    return escape(clean(value, strip=False))
