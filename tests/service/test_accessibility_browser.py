"""axe-core finds no accessibility violations in the search page and the chat widget.

axe-core comes from npm (pinned in tests/package-lock.json, installed by `make browser`)
and runs inside real Debian chromium against the real service: the search page empty
and with an answer, the widget closed, open, in a conversation with a passage shown,
at 320 px (full screen) and in dark mode. The rules are WCAG 2.0-2.2 A and AA plus
axe's best practices; the widget's shadow DOM is checked too (axe looks into open
shadow roots). Any violation fails with its rule, elements and axe's explanation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, Server
from tests.service.hostsite import HostSite, host_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = REPO / "tests" / "node_modules" / "axe-core" / "axe.min.js"
ANSWER_TIMEOUT_MS = 60_000
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map((v) => ({rule: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target, summary: n.failureSummary}))}));
}"""


@pytest.fixture(scope="module")
def axe_source() -> Path:
    if not AXE.exists():
        pytest.fail(f"{AXE.relative_to(REPO)} is missing; run `make browser` (npm ci in tests/)")
    return AXE


@pytest.fixture()
def new_page(page_factory, axe_source: Path):
    """Pages whose CSP does not keep axe's script out (the search page allows only its own files)."""
    return lambda width=1280, height=800, color_scheme="light": page_factory(width, height, True, color_scheme)


def assert_no_violations(page, what: str) -> None:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(RUN_AXE, RULES)
    assert violations == [], f"axe-core: {len(violations)} violation(s) in {what}: {violations}"


def test_search_page_empty_and_with_an_answer(new_page, widget_server: Server) -> None:
    page = new_page()
    page.goto(widget_server.url + "/")
    page.wait_for_load_state("networkidle")
    assert_no_violations(page, "the empty search page")
    page.goto(widget_server.url + "/?q=Wer+hat+BAKIRA+vorgestellt%3F")
    page.locator("#trefferliste li").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator("#antwort .sources .cite").first.click()
    assert_no_violations(page, "the search page with an answer, an open passage and hits")
    page.set_viewport_size({"width": 320, "height": 700})
    assert_no_violations(page, "the search page at 320 px")
    assert page.errors == []


def test_widget_closed_open_and_in_a_conversation(new_page, host_site: HostSite, widget_server: Server) -> None:
    page = new_page()
    page.goto(host_site.add("/axe.html", host_page(widget_server.url)))
    page.locator(".launcher").wait_for()
    assert_no_violations(page, "the host page with the closed widget")
    page.click(".launcher")
    page.wait_for_load_state("networkidle")  # starter suggestions, if the service has them
    assert_no_violations(page, "the open widget (greeting)")
    page.fill("#tb-q", "Wer hat BAKIRA vorgestellt?")
    page.press("#tb-q", "Enter")
    page.locator(".msg.bot").last.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.fill("#tb-q", "Wie hoch ist der Regelsatz im Bürgergeld 2026?")
    page.press("#tb-q", "Enter")
    page.locator(".msg.bot").nth(1).wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator(".msg.answer .sources .cite").first.click()
    assert_no_violations(page, "a conversation with an answer, an open passage and an abstention")
    assert page.errors == []


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_widget_full_screen_at_320px(new_page, host_site: HostSite, widget_server: Server, color_scheme: str) -> None:
    page = new_page(width=320, height=640, color_scheme=color_scheme)
    page.goto(host_site.add("/axe-320.html", host_page(widget_server.url)))
    page.click(".launcher")
    page.fill("#tb-q", "Who presented BAKIRA?")
    page.press("#tb-q", "Enter")
    page.locator(".msg.bot").last.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator(".msg.answer .sources .cite").first.click()
    assert_no_violations(page, f"the full-screen widget at 320 px ({color_scheme})")
