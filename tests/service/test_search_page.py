"""The intranet search page at `/` and how the service serves its files and the widget.

Browser tests use real headless Chromium against the real server the widget tests use
too (`widget_server`, one start for both); the serving tests (escaping, caching, gzip)
use plain HTTP against the same server.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, base_env, start_server
from tests.service.hostsite import HostSite

ANSWER_TIMEOUT_MS = 60_000


@pytest.fixture()
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


def wait_for_results(page) -> None:
    page.locator("#trefferliste li").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator("#antwort:not([aria-busy])").wait_for(timeout=ANSWER_TIMEOUT_MS)


@pytest.mark.browser
def test_query_in_url_shows_answer_card_and_highlighted_passages(page, widget_server: Server, artifacts_dir: Path) -> None:
    page.goto(widget_server.url + "/?q=BAKIRA")
    wait_for_results(page)
    assert page.locator("#q").input_value() == "BAKIRA"
    card = page.locator("#antwort")
    assert card.is_visible() and "abstained" not in (card.get_attribute("class") or "")
    assert "Königstein" in card.locator(".answer").inner_text()
    card.locator(".sources .cite").first.click()
    assert card.locator(".passage mark").inner_text()

    marks = page.locator("#trefferliste mark").all_inner_texts()
    assert marks and all(m.lower().startswith("bakira") for m in marks)
    first_hit = page.locator("#trefferliste .hit").first.inner_text()
    assert "BAKIRA" in first_hit
    assert page.title() == "BAKIRA – Tagungssuche"
    assert page.errors == []
    page.screenshot(path=str(artifacts_dir / "search-page.png"), full_page=True)


@pytest.mark.browser
def test_plain_form_on_another_intranet_page_lands_on_results(page, widget_server: Server, host_site: HostSite) -> None:
    form = f"""<!doctype html><html lang="de"><meta charset="utf-8"><title>Intranet</title>
<form action="{widget_server.url}/" method="get"><input name="q" id="frage"><button>Suchen</button></form>"""
    page.goto(host_site.add("/form.html", form))
    page.fill("#frage", "Wer hat BAKIRA vorgestellt?")
    page.press("#frage", "Enter")
    page.wait_for_url(f"{widget_server.url}/?q=*")
    wait_for_results(page)
    assert "Königstein" in page.locator("#antwort").inner_text()
    marks = {m.lower() for m in page.locator("#trefferliste mark").all_inner_texts()}
    assert "bakira" in marks and not marks & {"wer", "hat"}, "question words are not highlighted"


@pytest.mark.browser
def test_new_search_updates_the_address_and_out_of_corpus_says_so(page, widget_server: Server, artifacts_dir: Path) -> None:
    page.goto(widget_server.url + "/")
    assert page.locator("#antwort").is_hidden()
    page.fill("#q", "Wie hoch ist der Regelsatz im Bürgergeld 2026?")
    page.press("#q", "Enter")
    page.locator("#status", has_text="keine Antwort").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "q=Wie+hoch" in page.url
    card = page.locator("#antwort")
    assert "abstained" in card.get_attribute("class")
    assert "Nicht im Tagungsbericht" in card.inner_text()
    assert card.locator(".cite").count() == 0
    # The nearest passages would be unrelated text under "not in the documents": none are listed.
    assert page.locator("#ergebnisse").is_hidden()
    assert page.locator("#trefferliste li").count() == 0
    page.screenshot(path=str(artifacts_dir / "search-page-not-found.png"))

    page.fill("#q", "BAKIRA")  # a query with an answer lists its passages again
    page.press("#q", "Enter")
    wait_for_results(page)
    assert page.locator("#ergebnisse").is_visible()


@pytest.mark.browser
def test_empty_page_offers_store_examples_and_an_empty_query_is_explained(page, widget_server: Server) -> None:
    page.goto(widget_server.url + "/")
    field = page.locator("#q")
    assert field.get_attribute("maxlength") == "1000", "the length limit is in the field"
    assert "1000 Zeichen" in page.locator("#q-hinweis").inner_text()
    page.press("#q", "Enter")
    assert page.locator("#status").inner_text() == "Bitte geben Sie einen Suchbegriff oder eine Frage ein."
    assert field.get_attribute("aria-invalid") == "true"
    assert page.locator("#antwort").is_hidden() and "q=" not in page.url
    page.fill("#q", "x" * 850)
    assert page.locator("#q-zaehler").inner_text() == "Eingegeben: 850 von 1000."
    page.fill("#q", "")

    starters = httpx.get(widget_server.url + "/api/suggestions", params={"lang": "de"}, timeout=30)
    if starters.status_code == 404:
        assert page.locator("#beispiele").is_hidden()
        pytest.skip("backend GET /api/suggestions not yet")
    expected = starters.json()["suggestions"][:5]
    links = page.locator("#beispielliste a")
    links.first.wait_for(timeout=10_000)
    assert links.all_inner_texts() == expected
    links.first.click()
    page.locator("#antwort:not([aria-busy])").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert page.locator("#q").input_value() == expected[0]
    assert page.locator("#beispiele").is_hidden()
    page.go_back()
    assert page.locator("#beispiele").is_visible(), "back on the empty page, the examples are there again"
    assert page.errors == []


@pytest.mark.browser
def test_search_page_at_320px_has_no_horizontal_scrolling(page, widget_server: Server, artifacts_dir: Path) -> None:
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto(widget_server.url + "/?q=Innovationsr%C3%A4ume")
    wait_for_results(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.screenshot(path=str(artifacts_dir / "search-page-320px.png"))


def test_query_is_escaped_into_the_page(widget_server: Server) -> None:
    response = httpx.get(widget_server.url + "/", params={"q": '"><script>alert(1)</script>'}, timeout=10)
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_widget_is_revalidated_by_etag_and_gzipped(widget_server: Server) -> None:
    plain = httpx.get(widget_server.url + "/widget.js", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/javascript")
    assert plain.headers["cache-control"] == "no-cache"
    etag = plain.headers["etag"]
    again = httpx.get(widget_server.url + "/widget.js", headers={"If-None-Match": etag, "Accept-Encoding": "identity"}, timeout=10)
    assert again.status_code == 304 and again.content == b""

    with httpx.Client() as client:  # read the compressed bytes as they come over the wire
        with client.stream("GET", widget_server.url + "/widget.js", headers={"Accept-Encoding": "gzip"}) as zipped:
            raw = b"".join(zipped.iter_raw())
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw) == plain.content
    assert len(raw) < len(plain.content) / 2


def test_versioned_page_files_are_cached_for_a_year(widget_server: Server) -> None:
    page = httpx.get(widget_server.url + "/", timeout=10).text
    css = page.split('href="', 2)[1].split('"')[0]
    assert css.startswith("static/search.css?v=")
    versioned = httpx.get(f"{widget_server.url}/{css}", timeout=10)
    assert versioned.status_code == 200
    assert "immutable" in versioned.headers["cache-control"]
    stale = httpx.get(f"{widget_server.url}/static/search.css?v=old", timeout=10)
    assert stale.headers["cache-control"] == "no-cache", "an unknown version must not be cached for a year"
    missing = httpx.get(f"{widget_server.url}/static/..%2Fapp.py", timeout=10)
    assert missing.status_code == 404
    assert httpx.get(f"{widget_server.url}/static/search.html", timeout=10).status_code == 404


def test_page_scripts_never_parse_text_as_html() -> None:
    """Guard for the next maintainer: text goes in as nodes; these APIs would parse it as HTML."""
    static = Path(__file__).resolve().parents[2] / "service" / "static"
    for script in ("widget.js", "search.js", "admin.js"):
        source = (static / script).read_text(encoding="utf-8")
        for api in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert api not in source, f"{script} uses {api}"


@pytest.mark.browser
def test_search_page_works_when_tool_routes_need_keys(browser, built_index: Path, tmp_path: Path) -> None:
    """The page carries no key; the browser's `Origin` on its POSTs (the service's own origin) lets it in,
    rate-limited like the widget."""
    env = base_env(built_index, TAGUNGSBOT_API_KEYS="werkzeug-schluessel", TAGUNGSBOT_ADMIN_KEYS="admin-schluessel")
    server = start_server(env, tmp_path)
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(server.url + "/?q=BAKIRA")
        wait_for_results(page)
        assert "Königstein" in page.locator("#antwort .answer").inner_text()
        context.close()
        keyless_tool = httpx.get(server.url + "/api/search", params={"q": "BAKIRA"}, timeout=30)
        assert keyless_tool.status_code == 401
    finally:
        server.stop()
