"""The escalation map as a COO reads it: owners, stages in order, decision rights, delegations."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from accountability.config.registry_file import load_registry_file
from accountability.usecases import maps
from rules.escalation_map import UnknownWorkflowError, build_escalation_map
from rules.registry import parse_registry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.yaml"


class _Text(HTMLParser):
    """Visible text of a page, in document order (what a reader sees, without markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " | ".join(parser.parts)


def render_support(tmp_path: Path, today: date) -> str:
    loaded = load_registry_file(EXAMPLE)
    target = maps.write_escalation_map(loaded, "support", tmp_path / "m.html", today)
    return target.read_text(encoding="utf-8")


def test_map_names_the_accountable_people_and_objective(tmp_path: Path) -> None:
    text = visible_text(render_support(tmp_path, date(2026, 11, 5)))
    assert "Support resolution time" in text
    assert "Median resolution under 8 hours" in text
    assert re.search(r"Outcome owner \| Maria Chen", text)
    assert re.search(r"Workflow owner \| Dev Patel", text)
    assert re.search(r"Risk owner \| Lee Okafor", text)
    assert re.search(r"Escalate to \| Dana Ruiz, Omar Haddad", text)


def test_stages_appear_in_registry_order_with_owners_and_statuses(tmp_path: Path) -> None:
    text = visible_text(render_support(tmp_path, date(2026, 11, 5)))
    stages = ("intake", "resolution", "exception", "done")
    positions = [text.index(f"| {stage} |") for stage in stages]
    assert positions == sorted(positions)
    resolution = text[text.index("| resolution |") : text.index("| exception |")]
    assert "Sam Rivera" in resolution and "In Progress" in resolution
    assert "support-oncall" in resolution  # who may hold items in that stage
    done = text[text.index("| done |") :]
    assert "none needed" in done.split("Decision rights")[0]


def test_decision_rights_table_lists_each_role(tmp_path: Path) -> None:
    html = render_support(tmp_path, date(2026, 11, 5))
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    reassignment = next(visible_text(r) for r in rows if "reassignment" in r)
    cells = [c.strip() for c in reassignment.split("|")]
    assert cells[0] == "reassignment"
    assert "Stage owner" in cells  # recommends
    assert "Dev Patel" in cells and "Priya Raman" in cells  # approves
    assert "Maria Chen" in cells  # informed
    policy = next(visible_text(r) for r in rows if "policy-exception" in r)
    assert "pending while in Awaiting approval" in policy


def test_delegation_shown_only_while_in_force_or_upcoming(tmp_path: Path) -> None:
    during = visible_text(render_support(tmp_path, date(2026, 11, 13)))  # last day, inclusive
    assert "Jordan Blake | may decide | reassignment | for Priya Raman" in during
    assert "In force: 2026-11-02 → 2026-11-13" in during
    before = visible_text(render_support(tmp_path, date(2026, 10, 30)))
    assert "Upcoming: 2026-11-02" in before
    after = visible_text(render_support(tmp_path, date(2026, 11, 14)))
    assert "Jordan Blake" not in after
    assert "No delegation in force or upcoming." in after


def test_targets_and_when_a_risk_review_opens(tmp_path: Path) -> None:
    text = visible_text(render_support(tmp_path, date(2026, 11, 5)))
    assert "Throughput (items done / week) | : at least 15" in text
    assert "Unauthorized ownership changes | : at most 0" in text
    assert "A risk review opens when any target is missed 1 week in a row" in text


def test_untrusted_names_are_escaped(tmp_path: Path) -> None:
    source = EXAMPLE.read_text(encoding="utf-8").replace(
        "name: Support resolution time", "name: \"<script>alert('x')</script>\""
    )
    loaded = parse_registry(source, "registry.yaml")
    html_path = maps.write_escalation_map(loaded, "support", tmp_path / "x.html")
    html = html_path.read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


def test_unknown_workflow_lists_the_known_ones() -> None:
    loaded = load_registry_file(EXAMPLE)
    with pytest.raises(UnknownWorkflowError, match="known: onboarding, renewals, support"):
        build_escalation_map(loaded.registry, "billing", date(2026, 11, 5))
