"""The demo week's digest looked at as a reader would: every workflow, every metric, the
numbers of `accountability scorecard --json`, the risk review, the links, the subject — in the
HTML file and in the plain-text part alone."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from rules.digest import METRIC_LABELS, format_value
from rules.registry import METRICS
from tests.digest.conftest import DEMO_WEEK, JIRA_URL, Workspace

SUBJECT = "Accountability digest 2026-W46: 1 workflow to pause, 1 risk review open"


class Page(HTMLParser):
    """The digest page's structure: metric rows per workflow, links, images, style tags."""

    def __init__(self) -> None:
        super().__init__()
        self.workflow: str | None = None
        self.metrics: dict[tuple[str, str], str] = {}
        self.links: list[str] = []
        self.images: list[str] = []
        self.style_tags = 0
        self.reviews: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if "data-workflow" in attr:
            self.workflow = attr["data-workflow"]
        if tag == "tr" and "data-metric" in attr and self.workflow:
            self.metrics[(self.workflow, str(attr["data-metric"]))] = attr["data-value"] or ""
        if tag == "tr" and "data-review" in attr:
            self.reviews.append(str(attr["data-review"]))
        if tag == "a" and attr.get("href"):
            self.links.append(str(attr["href"]))
        if tag == "img":
            self.images.append(str(attr.get("src")))
        if tag == "style":
            self.style_tags += 1


@pytest.fixture(scope="module")
def html(shared_workspace: Workspace) -> str:
    result = shared_workspace.cli("digest", "--week", DEMO_WEEK, "--out", "w46.html")
    assert result.returncode == 0, result.stderr
    assert SUBJECT in result.stdout and "w46.html" in result.stdout
    return (shared_workspace.folder / "w46.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(html: str) -> Page:
    parsed = Page()
    parsed.feed(html)
    return parsed


@pytest.fixture(scope="module")
def text(shared_workspace: Workspace) -> str:
    """The plain-text part, as `digest` without --out or --send prints it."""
    result = shared_workspace.run("digest", "--week", DEMO_WEEK)
    assert result.returncode == 0, result.stderr
    return result.stdout


def as_json(workspace: Workspace, *args: str) -> list[dict[str, Any]]:
    result = workspace.run(*args, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


@pytest.fixture(scope="module")
def scorecards(shared_workspace: Workspace) -> list[dict[str, Any]]:
    rows = as_json(shared_workspace, "scorecard", "--week", DEMO_WEEK)
    assert {r["workflow"] for r in rows} == {"support", "renewals", "onboarding"}
    return rows


def section(text: str, title: str) -> str:
    """One workflow's block of the text part (from its title to the next rule)."""
    start = text.index(title)
    end = text.find("=" * 78, start)
    return text[start:end if end != -1 else None]


def test_every_workflow_and_metric_with_the_numbers_of_scorecard_json(
    page: Page, scorecards: list[dict[str, Any]]
) -> None:
    assert {w for w, _ in page.metrics} == {r["workflow"] for r in scorecards}
    assert len(page.metrics) == len(scorecards) * len(METRICS) > 0
    for row in scorecards:
        for metric in METRICS:
            shown = page.metrics[(row["workflow"], metric)]
            expected = row[metric]
            assert (float(shown) if shown else None) == expected, (row["workflow"], metric)


def test_the_plain_text_part_alone_carries_the_same_numbers(
    text: str, scorecards: list[dict[str, Any]]
) -> None:
    names = {"support": "SUPPORT RESOLUTION TIME (support)",
             "renewals": "RENEWAL-RISK REDUCTION (renewals)",
             "onboarding": "ONBOARDING CONVERSION (onboarding)"}
    assert {row["workflow"] for row in scorecards} == set(names) and METRICS
    for row in scorecards:
        block = section(text, names[row["workflow"]])
        assert f"Recommended: {row['recommendation'].upper()}" in block
        for metric in METRICS:
            label = re.escape(METRIC_LABELS[metric])
            value = re.escape(format_value(metric, row[metric]))
            assert re.search(rf"^  {label} +{value}  ", block, re.MULTILINE), (
                row["workflow"], metric)
        latency = format_value("decision_latency_hours", row["decision_latency_p90_hours"])
        assert f"Decision latency p90: {latency} h" in block


def test_thresholds_changes_and_the_recommendation_with_its_rule(
    html: str, text: str, scorecards: list[dict[str, Any]]
) -> None:
    support = next(r for r in scorecards if r["workflow"] == "support")
    block = section(text, "SUPPORT RESOLUTION TIME")
    # throughput 13 against min 15, down 21 from 34 in 2026-W45; every metric breaches
    assert re.search(r"^  Throughput +13  min 15 +-21 +BREACH$", block, re.MULTILINE)
    assert block.count("BREACH") == len(support["breaches"]) == 6
    rule = support["recommendation_rule"]
    assert rule.startswith("pause: ") and " ".join(rule.split()) in " ".join(block.split())
    assert "pause: unauthorized_changes is 6" in html


def test_the_risk_review_is_listed(page: Page, text: str) -> None:
    assert page.reviews == ["support-2026-W46"]
    assert "support-2026-W46 · Support resolution time · risk owner Lee Okafor" in text


def test_the_weeks_unauthorized_changes_with_their_links(
    shared_workspace: Workspace, page: Page, text: str
) -> None:
    findings = [f for f in as_json(shared_workspace, "findings", "--since", "2026-11-08")
                if f["type"] == "unauthorized_change"
                and "2026-11-08T23" <= f["at"] < "2026-11-15T23"]  # the week, Berlin time
    assert len(findings) == 6  # = unauthorized_changes of support that week
    block = section(text, "UNAUTHORIZED OWNERSHIP CHANGES THIS WEEK (6)")
    for finding in findings:
        link = finding["url"] or f"{JIRA_URL}/browse/{finding['item']}"
        assert link in page.links and link in block
        assert finding["item"] in block
    assert "https://acme-sandbox.pagerduty.com/incidents/Q4ZYWXV" in page.links


def test_subject_churn_gaps_and_dead_alerts(html: str, text: str) -> None:
    assert f"<title>{SUBJECT}</title>" in html
    assert text.splitlines()[3] == "1 workflow to pause, 1 risk review open."
    assert "OWNERSHIP CHURN THIS WEEK (6)" in text and "SUP-210" in section(text, "CHURN")
    assert "REGISTRY GAPS (2)" in text and "Awaiting approval" in text
    assert "DEAD ALERTS (0)" in text
    assert "No decision recorded for 2026-W45 (none needed: no breaches)." in text


def test_the_file_stands_alone_charts_inline_and_css_inlined(html: str, page: Page) -> None:
    assert page.style_tags == 0 and 'style="' in html  # mail clients drop <style>
    assert len(page.images) == 3 and "cid:" not in html
    for src in page.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        assert base64.b64decode(src[len(prefix):])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing fetched
