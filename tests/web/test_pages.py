"""The read pages over real HTTP (uvicorn on a loopback port) on a seeded database: each page
renders, filters and pages return the seeded rows they should, unknown ids are 404, bad
parameters 400, hostile text arrives escaped, action links only for who may act, and a GET
never writes."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from storage.engine import make_engine, session_factory, session_scope
from storage.migrate import upgrade
from storage.models import Finding
from tests.web.seeded_site import (
    BIDI,
    HOSTILE_NAME,
    SCRIPT,
    Site,
    get,
    hostile_registry,
    make_app,
    seed,
    serving,
)

PAGES = ["/", "/workflows/support", "/workflows/renewals", "/workflows/support?week=2026-W40",
         "/workflows/support/map", "/findings", "/findings?page=3",
         "/findings/unauthorized_change:hostile", "/findings/unauthorized_change:0000",
         "/reviews", "/digests", "/digests/2026-W47", "/digests/2026-W46", "/reset"]
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def keys(response: httpx.Response) -> list[str]:
    return re.findall(r'data-key="([^"]+)"', response.text)


def expected(site: Site, **where: object) -> list[str]:
    """The seeded findings' keys matching `where` (a predicate per field), newest first."""
    rows = [r for r in site.seeded.findings
            if all(test(r) for test in where.values())]  # type: ignore[operator]
    rows.sort(key=lambda r: (r["at"], r["key"]), reverse=True)
    return [str(r["key"]) for r in rows]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_strict_headers(site: Site, path: str) -> None:
    response = get(site, path)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src" not in response.headers["content-security-policy"]
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_trend_chart_is_a_png(site: Site) -> None:
    response = get(site, "/workflows/support/trend.png", week="2026-W47")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert 'src="/workflows/support/trend.png?week=2026-W47"' in get(
        site, "/workflows/support").text


def test_overview_shows_each_workflow_latest_week(site: Site) -> None:
    text = get(site, "/").text
    support = text.split('data-workflow="support"')[1].split("</tr>")[0]
    assert "2026-W47" in support and "stabilize" in support
    assert "throughput, unauthorized_changes" in support  # W47 is index 7: 7 % 3 != 0
    open_support = [r for r in site.seeded.findings if r["workflow"] == "support"
                    and r["type"] == "unauthorized_change" and r["status"] == "open"]
    assert f">{len(open_support)} open in all<" in support
    assert ">2</a>" in support  # reviews not closed: W46 acknowledged, W47 open
    onboarding = text.split('data-workflow="onboarding"')[1].split("</tr>")[0]
    assert "no scorecard yet" in onboarding


def test_findings_pages_newest_first_fifty_a_page(site: Site) -> None:
    every = expected(site)
    assert len(every) == 121
    first, second, third = (get(site, "/findings", page=str(n)) for n in (1, 2, 3))
    assert keys(first) == every[:50]
    assert keys(second) == every[50:100]
    assert keys(third) == every[100:]
    assert 'rel="next" href="/findings?page=2"' in first.text
    assert 'rel="prev"' not in first.text
    assert 'rel="prev" href="/findings?page=2"' in third.text and 'rel="next"' not in third.text
    assert keys(get(site, "/findings", page="4")) == []


@pytest.mark.parametrize(("params", "where"), [
    ({"workflow": "support"}, {"w": lambda r: r["workflow"] == "support"}),
    ({"status": "ratified"}, {"s": lambda r: r["status"] == "ratified"}),
    ({"type": "ownership_churn"}, {"t": lambda r: r["type"] == "ownership_churn"}),
    ({"source": "pagerduty"}, {"s": lambda r: r["details"].get("source") == "pagerduty"}),
    ({"person": "dev"}, {"p": lambda r: r["actor"] == "dev" or "dev" in r["from_ids"]
                         or "dev" in r["to_ids"]}),
    ({"person": "sam"}, {"p": lambda r: r["actor"] == "sam" or "sam" in r["from_ids"]}),
    # 2026-W45 in Berlin (UTC+1 in November): Monday Nov 2 00:00 to Monday Nov 9 00:00.
    ({"week": "2026-W45"}, {"w": lambda r: datetime(2026, 11, 1, 23, tzinfo=UTC) <= r["at"]
                            < datetime(2026, 11, 8, 23, tzinfo=UTC)}),
    ({"workflow": "support", "type": "unauthorized_change", "status": "open"},
     {"w": lambda r: r["workflow"] == "support", "t": lambda r: r["type"] ==
      "unauthorized_change", "s": lambda r: r["status"] == "open"}),
], ids=["workflow", "status", "type", "source", "person-from", "person-actor", "week",
        "combined"])
def test_findings_filters_return_the_seeded_rows(site: Site, params: dict[str, str],
                                                  where: dict[str, object]) -> None:
    wanted = expected(site, **where)
    assert wanted, "the filter should match some seeded rows"
    shown: list[str] = []
    for number in range(1, 5):
        response = get(site, "/findings", **params, page=str(number))
        assert response.status_code == 200
        shown += keys(response)
    assert shown == wanted


def test_filters_survive_paging(site: Site) -> None:
    response = get(site, "/findings", person="maria")
    assert len(keys(response)) == 50
    assert 'href="/findings?person=maria&amp;page=2"' in response.text


def test_finding_detail_explains_it(site: Site) -> None:
    text = get(site, "/findings/unauthorized_change:0000").text
    assert "Reason number 0." in text
    assert "reassignment" in text and "resolution" in text
    assert "Ratified" in text and "fine &lt;script&gt;" in text
    assert 'href="https://acme.atlassian.net/browse/SUP-0"' in text


def test_reviews_filter_and_overdue(site: Site) -> None:
    open_ids = re.findall(r'data-review="([^"]+)"', get(site, "/reviews", status="open").text)
    assert open_ids == ["renewals-2026-W46", "support-2026-W47"]  # newest opened first
    every = get(site, "/reviews", workflow="support").text
    assert re.findall(r'data-review="([^"]+)"', every) == [
        "support-2026-W47", "support-2026-W46", "support-2026-W45"]
    rows = {r: every.split(f'data-review="{r}"')[1].split("</tr>")[0]
            for r in ("support-2026-W47", "support-2026-W46", "support-2026-W45")}
    assert "overdue" in rows["support-2026-W47"]  # due Nov 20, today Nov 23
    assert "overdue" not in rows["support-2026-W45"]  # closed


def test_digest_archive_lists_finished_weeks_and_sends(site: Site) -> None:
    text = get(site, "/digests").text
    weeks = re.findall(r'data-week="([^"]+)"', text)
    assert weeks == [f"2026-W{n}" for n in range(47, 39, -1)]
    assert "dana@acme.example" in text.split('data-week="2026-W46"')[1].split("</tr>")[0]
    digest = get(site, "/digests/2026-W47").text
    assert "Accountability digest 2026-W47" in digest
    assert 'src="/workflows/support/trend.png?week=2026-W47"' in digest
    assert "cid:" not in digest


def test_reset_tracker(site: Site) -> None:
    text = get(site, "/reset").text
    assert "started 2026-11-02" in text and "week 4 of 4" in text
    assert len(re.findall(r"data-item=", text)) == 10


def test_map_is_the_escalation_map(site: Site) -> None:
    text = get(site, "/workflows/support/map").text
    assert "Escalation map" in text and "Support resolution time" in text


@pytest.mark.parametrize(("path", "says"), [
    ("/workflows/nope", "no workflow 'nope'"),
    ("/workflows/nope/map", "no workflow 'nope'"),
    ("/workflows/nope/trend.png", "no workflow 'nope'"),
    ("/workflows/onboarding/trend.png", "no scorecard yet"),
    ("/findings/nope", "no finding with key 'nope'"),
    ("/digests/2026-W10", "no digest for 2026-W10"),
])
def test_unknown_ids_are_404_with_a_clear_page(site: Site, path: str, says: str) -> None:
    response = get(site, path)
    assert response.status_code == 404
    assert says in html.unescape(response.text)
    assert "Traceback" not in response.text


@pytest.mark.parametrize(("params", "says"), [
    ({"status": "bogus"}, "'status' must be one of open, ratified, resolved"),
    ({"page": "0"}, "'page' must be a whole number"),
    ({"page": "abc"}, "'page' must be a whole number"),
    ({"week": "2026-W99"}, "'week'"),
    ({"source": "opsgenie"}, "'source' must be one of"),
    ({"person": "x" * 300}, "longer than 200"),
])
def test_bad_parameters_are_400(site: Site, params: dict[str, str], says: str) -> None:
    response = get(site, "/findings", **params)
    assert response.status_code == 400
    assert says in html.unescape(response.text)


def test_malformed_digest_week_is_400(site: Site) -> None:
    assert get(site, "/digests/last-week").status_code == 400


@pytest.mark.parametrize("path", [*PAGES, "/findings?person=%3Cscript%3E"])
def test_hostile_text_is_escaped_everywhere(site: Site, path: str) -> None:
    text = get(site, path).text
    assert SCRIPT not in text
    assert "<img src=x" not in text
    assert BIDI[0] not in text
    assert "javascript:" not in text


@pytest.mark.parametrize("path", ["/findings", "/findings/unauthorized_change:hostile",
                                  "/workflows/support", "/reviews", "/"])
def test_hostile_text_is_shown_as_text(site: Site, path: str) -> None:
    text = get(site, path, as_person="dana").text
    assert ESCAPED_SCRIPT in text
    assert len(text) < 60_000  # the 100,000-character reason and title are cut


def test_hostile_name_in_the_registry_is_escaped(site: Site) -> None:
    for path in ("/", "/workflows/support/map", "/digests/2026-W47"):
        text = get(site, path).text
        assert HOSTILE_NAME.replace("<", "&lt;").replace(">", "&gt;") in text, path
        assert SCRIPT not in text


def test_action_links_only_for_who_may_act(site: Site) -> None:
    ratify = "/act/ratify?target=unauthorized_change%3Ahostile"
    assert ratify in get(site, "/findings", as_person="maria").text  # support's outcome owner
    assert "/act/ratify" not in get(site, "/findings", as_person="sam").text
    decide = "/act/decide?target=support&amp;decision=stop&amp;week=2026-W47"
    assert decide in get(site, "/workflows/support", as_person="dana").text  # leadership
    assert "/act/decide" not in get(site, "/workflows/support", as_person="sam").text
    lee = get(site, "/reviews", as_person="lee", workflow="support").text  # support's risk owner
    assert "/act/acknowledge?target=support-2026-W47" in lee
    assert "/act/close?target=support-2026-W46" in lee
    assert "/act/close?target=support-2026-W45" not in lee  # closed already
    assert "/act/" not in get(site, "/reviews", as_person="sam").text


def test_a_get_never_writes(site: Site) -> None:
    site.statements.clear()
    for path in [*PAGES, "/workflows/support/trend.png", "/findings?person=dev&page=2"]:
        assert get(site, path).status_code == 200
    assert site.statements
    writes = [s for s in site.statements
              if re.match(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)", s, re.I)]
    assert writes == []
    assert site.client.post("/findings").status_code == 405


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    url = f"sqlite:///{tmp_path / 'accountability.db'}"
    upgrade(url)
    seed(url)
    app, engine = make_app(url, hostile_registry(tmp_path, with_reset=False))
    with serving(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client, url
    engine.dispose()


def test_a_kept_digest_is_rebuilt_when_its_data_moves(fresh: tuple[httpx.Client, str]) -> None:
    client, url = fresh
    assert "SUP-9999" not in client.get("/digests/2026-W47").text
    at = datetime(2026, 11, 19, 10, tzinfo=UTC)
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            session.add(Finding(key="unauthorized_change:new", type="unauthorized_change",
                                workflow="support", item="SUP-9999", at=at, actor="sam",
                                from_ids=["alex"], to_ids=["kim"], rule=None,
                                reason="Sam moved it.", status="open",
                                details={"source": "jira"}, first_seen_at=at, updated_at=at))
    finally:
        engine.dispose()
    assert "SUP-9999" in client.get("/digests/2026-W47").text


def test_reset_page_without_a_reset(fresh: tuple[httpx.Client, str]) -> None:
    response = fresh[0].get("/reset")
    assert response.status_code == 200
    assert "No reset is running" in response.text
