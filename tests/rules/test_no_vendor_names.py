"""The rules reason about the kind of an item, never its vendor (docs/architecture.md): a
comparison with "jira" or "pagerduty", or a read of a person's `.jira`, in a rule module fails
here. The modules allowed to name vendors say why."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "rules"
VENDORS = {"jira", "pagerduty"}
ALLOWED = {
    "sources.py": "the table of sources itself",
    "channels.py": "outbound channels are named after the services they post to",
    "ownership.py": "each vendor's records normalized into ownership events",
    "registry/models.py": "the registry format's own keys (SPEC §3)",
}


def _modules() -> list[Path]:
    return sorted(p for p in RULES.rglob("*.py")
                  if p.relative_to(RULES).as_posix() not in ALLOWED)


def _vendor_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                if isinstance(side, ast.Constant) and side.value in VENDORS:
                    found.append(f"line {node.lineno}: compares with {side.value!r}")
        elif isinstance(node, ast.Attribute) and node.attr in VENDORS:
            found.append(f"line {node.lineno}: reads .{node.attr}")
    return found


def test_the_scan_sees_a_vendor_comparison(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("def f(item):\n    return item.source == 'pagerduty' or item.jira\n")
    assert _vendor_uses(planted) == ["line 2: compares with 'pagerduty'", "line 2: reads .jira"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(RULES).as_posix())
def test_no_rule_branches_on_a_vendor_name(path: Path) -> None:
    assert _vendor_uses(path) == []
