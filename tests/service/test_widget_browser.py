"""The chat widget in real headless Chromium, embedded in a page of another origin.

A host page served by `host_site` (another port, so another origin) carries the one
widget tag; the real service answers it with CORS. The browser, the service, the model
and the store are all real. Screenshots go to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, base_env, free_port, start_server
from tests.service.hostsite import HostSite, host_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ANSWER_TIMEOUT_MS = 60_000
# A message of the bot that has finished: an answer, an abstention or an error.
DONE = ".msg.bot"

# The focused element, looking through shadow roots.
DEEP_ACTIVE = """() => {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  if (!a) return null;
  const s = getComputedStyle(a);
  return {tag: a.tagName, cls: String(a.className), text: a.textContent, expanded: a.getAttribute('aria-expanded'),
          outline: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth)};
}"""

# WCAG contrast ratio of each element's text against the first opaque background behind it.
CONTRAST = """(selectors) => {
  const root = document.querySelector('[data-tagungsbot]').shadowRoot;
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (node) => {
    for (let n = node; n; n = n.parentElement || (n.getRootNode() && n.getRootNode().host)) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = {};
  for (const sel of selectors) {
    const node = root.querySelector(sel);
    if (!node) { out[sel] = null; continue; }
    const a = lum(rgb(getComputedStyle(node).color).slice(0, 3)), b = lum(background(node));
    out[sel] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  return out;
}"""


@pytest.fixture()
def page_factory(browser) -> Iterator:
    """New pages in fresh contexts; each records JavaScript dialogs and page errors."""
    contexts = []

    def make(width: int = 1280, height: int = 800):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        page.errors = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        return page

    yield make
    for context in contexts:
        context.close()


def open_and_ask(page, question: str) -> None:
    page.click(".launcher")
    page.fill("#tb-q", question)
    page.press("#tb-q", "Enter")
    page.locator(DONE).last.wait_for(timeout=ANSWER_TIMEOUT_MS)


def test_german_question_from_another_origin_names_koenigstein_and_opens_the_passage(
    page_factory, host_site: HostSite, widget_server: Server, artifacts_dir: Path
) -> None:
    page = page_factory()
    page.goto(host_site.add("/de.html", host_page(widget_server.url, lang="de")))
    assert page.locator(".launcher").inner_text().strip() == "Fragen zur Tagung"
    open_and_ask(page, "Wer hat BAKIRA vorgestellt?")

    answer = page.locator(".msg.answer").last
    assert "Königstein" in answer.locator("p").first.inner_text()
    citation = answer.locator(".sources .cite").first
    assert citation.get_attribute("aria-expanded") == "false"
    citation.click()
    assert citation.get_attribute("aria-expanded") == "true"
    passage = answer.locator(".passage")
    assert passage.is_visible()
    assert passage.locator(".doc").inner_text().startswith("Quelle [1]: ")
    assert "Fachtagung Qualitätsarbeit" in passage.locator(".doc").inner_text()  # the document title
    marked = passage.locator("mark").inner_text()
    assert marked and marked in passage.locator("blockquote").inner_text()
    assert "Königstein" in passage.inner_text() or "BAKIRA" in passage.inner_text()
    assert page.dialogs == [] and page.errors == []
    page.screenshot(path=str(artifacts_dir / "widget-desktop.png"))


def test_english_host_page_gets_english_ui_and_an_answer_with_citation(
    page_factory, host_site: HostSite, widget_server: Server, artifacts_dir: Path
) -> None:
    page = page_factory()
    page.goto(host_site.add("/en.html", host_page(widget_server.url, lang="en")))
    assert page.locator(".launcher").inner_text().strip() == "Ask about the conference"
    open_and_ask(page, "Who presented BAKIRA?")
    answer = page.locator(".msg.answer").last
    assert "Königstein" in answer.inner_text()
    assert page.locator("[role=dialog]").get_attribute("aria-labelledby") == "tb-title"
    assert page.locator("#tb-title").inner_text() == "Ask about the conference"
    answer.locator(".cite").first.click()
    assert answer.locator(".passage mark").count() == 1
    page.screenshot(path=str(artifacts_dir / "widget-english.png"))


def test_data_lang_overrides_the_page_language(page_factory, host_site: HostSite, widget_server: Server) -> None:
    page = page_factory()
    page.goto(host_site.add("/de-en.html", host_page(widget_server.url, lang="de", attrs=' data-lang="en"')))
    assert page.locator(".launcher").inner_text().strip() == "Ask about the conference"


def test_keyboard_only_open_ask_read_cite_close(page_factory, host_site: HostSite, widget_server: Server) -> None:
    page = page_factory()
    page.goto(host_site.add("/keys.html", host_page(widget_server.url)))
    for _ in range(10):  # Tab through the host page until the launcher has focus
        page.keyboard.press("Tab")
        if "launcher" in (page.evaluate(DEEP_ACTIVE) or {}).get("cls", ""):
            break
    focused = page.evaluate(DEEP_ACTIVE)
    assert "launcher" in focused["cls"]
    assert focused["outline"] != "none" and focused["outlineWidth"] >= 2, "keyboard focus must be visible"

    page.keyboard.press("Enter")
    assert page.locator("[role=dialog]").is_visible()
    assert page.evaluate(DEEP_ACTIVE)["tag"] == "INPUT"
    page.keyboard.type("Wer hat BAKIRA vorgestellt?")
    page.keyboard.press("Enter")
    page.locator(DONE).last.wait_for(timeout=ANSWER_TIMEOUT_MS)
    log = page.locator("[role=log]")
    assert log.get_attribute("aria-live") == "polite"
    assert "Königstein" in log.inner_text()

    page.keyboard.press("Shift+Tab")  # from the input back into the answer's sources
    focused = page.evaluate(DEEP_ACTIVE)
    assert "cite" in focused["cls"] and focused["outline"] != "none"
    page.keyboard.press("Enter")
    assert page.evaluate(DEEP_ACTIVE)["expanded"] == "true"
    assert page.locator(".msg.answer .passage mark").is_visible()

    page.keyboard.press("Escape")
    assert page.locator("[role=dialog]").is_hidden()
    focused = page.evaluate(DEEP_ACTIVE)
    assert "launcher" in focused["cls"], "focus returns to the launcher"
    assert page.locator(".launcher").get_attribute("aria-expanded") == "false"


def test_out_of_corpus_question_says_not_in_the_report(page_factory, host_site: HostSite, widget_server: Server) -> None:
    page = page_factory()
    page.goto(host_site.add("/abstain.html", host_page(widget_server.url)))
    open_and_ask(page, "Wie hoch ist der Regelsatz im Bürgergeld 2026?")
    message = page.locator(DONE).last
    assert "abstained" in message.get_attribute("class")
    assert message.locator("strong").inner_text() == "Nicht im Tagungsbericht"
    assert message.locator(".cite").count() == 0


def test_320px_wide_screen_fits_and_text_has_contrast(
    page_factory, host_site: HostSite, widget_server: Server, artifacts_dir: Path
) -> None:
    page = page_factory(width=320, height=640)
    page.goto(host_site.add("/small.html", host_page(widget_server.url)))
    open_and_ask(page, "Wer hat BAKIRA vorgestellt?")
    selectors = [".intro", ".msg.user p", ".msg.answer p", "h2", "input", ".send", ".cite"]
    ratios = page.evaluate(CONTRAST, selectors)
    page.locator(".msg.answer .sources .cite").first.click()
    ratios.update({f"{sel} (passage open)": r for sel, r in page.evaluate(CONTRAST, [".cite", "mark", ".doc"]).items()})
    low = {sel: r and round(r, 2) for sel, r in ratios.items() if r is None or r < 4.5}
    assert not low, f"text contrast below 4.5:1 (None: element missing): {low}"

    box = page.locator("[role=dialog]").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 320
    overflow = page.evaluate("""() => {
      const log = document.querySelector('[data-tagungsbot]').shadowRoot.querySelector('.log');
      return log.scrollWidth - log.clientWidth;
    }""")
    assert overflow <= 0, "no horizontal scrolling inside the panel at 320 px"
    page.screenshot(path=str(artifacts_dir / "widget-320px.png"))


def test_host_page_styles_do_not_leak_into_the_widget(page_factory, host_site: HostSite, widget_server: Server) -> None:
    page = page_factory()
    page.goto(host_site.add("/styles.html", host_page(widget_server.url)))
    style = page.evaluate("""() => {
      const b = document.querySelector('[data-tagungsbot]').shadowRoot.querySelector('.launcher');
      const s = getComputedStyle(b);
      return {bg: s.backgroundColor, font: s.fontFamily, size: s.fontSize};
    }""")
    assert style["bg"] == "rgb(29, 79, 145)"  # not the host page's `button {background: hotpink !important}`
    assert "Georgia" not in style["font"] and style["size"] == "15px"


def test_inline_mode_renders_into_the_target_without_launcher(
    page_factory, host_site: HostSite, widget_server: Server
) -> None:
    page = page_factory()
    html = host_page(widget_server.url, attrs=' data-target="#assistent"', body='<div id="assistent"></div>')
    page.goto(host_site.add("/inline.html", html))
    assert page.locator("#assistent [data-tagungsbot]").count() == 1
    assert page.locator(".launcher").count() == 0
    assert page.locator("[role=region]").is_visible()
    page.fill("#tb-q", "Wer hat BAKIRA vorgestellt?")
    page.press("#tb-q", "Enter")
    page.locator(DONE).last.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "Königstein" in page.locator(".msg.answer").inner_text()


def test_unreachable_service_and_rejected_question_get_friendly_messages(
    page_factory, host_site: HostSite, widget_server: Server
) -> None:
    page = page_factory()
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    page.goto(host_site.add("/down.html", host_page(widget_server.url, api=closed)))
    open_and_ask(page, "Wer hat BAKIRA vorgestellt?")
    error = page.locator(".msg.error").last
    assert "nicht erreichbar" in error.inner_text()

    page.goto(host_site.add("/long.html", host_page(widget_server.url)))
    open_and_ask(page, "Wer " * 400)
    error = page.locator(".msg.error").last.inner_text()
    assert "nicht angenommen" in error and "1000" in error  # the server's own explanation
    assert page.errors == []


# --- Hostile corpus: markup inside documents must render as inert text -------------------

HOSTILE_MD = textwrap.dedent("""\
    ---
    title: "Prüfbericht <img src=x onerror=alert('title')>"
    ---
    # Prüfbericht <script>alert('h1')</script>

    ## Werkzeuge <img src=x onerror=alert('section')>

    Maria Testfrau (Jobcenter Musterstadt) stellte das Werkzeug ZORBAX vor <script>alert(1)</script>, das Anträge <img src=x onerror=alert(2)> automatisch prüft.

    Das Werkzeug ZORBAX <svg onload=alert(3)></svg> wurde in Musterstadt <iframe src="javascript:alert(4)"></iframe> erprobt und <a href="javascript:alert(5)">hier</a> beschrieben.
""")
PAYLOADS = ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>")

# Elements that only markup from the documents could have created, in the page and the shadow root.
INJECTED = """() => {
  const sel = 'img, iframe, svg[onload], a[href^="javascript"], script:not([src]), [onerror], [onload]';
  const found = [...document.querySelectorAll(sel)].map((e) => e.outerHTML);
  for (const host of document.querySelectorAll('[data-tagungsbot]'))
    found.push(...[...host.shadowRoot.querySelectorAll(sel + ', script')].map((e) => e.outerHTML));
  return found;
}"""


@pytest.fixture(scope="module")
def extra_servers(host_site: HostSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """Two more servers, started side by side to save time (both load the model).

    `hostile`: a tmp corpus whose only document is full of HTML and script, indexed by
    the running service itself (admin re-index API, no second model load).
    `unready`: no store at all (every question is 503) and one question a minute (429).
    """
    root = tmp_path_factory.mktemp("extra")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "pruefbericht.md").write_text(HOSTILE_MD, encoding="utf-8")
    envs = {
        "hostile": base_env(root / "index", corpus, TAGUNGSBOT_CORS_ORIGINS=host_site.origin),
        "unready": base_env(root / "no-index", corpus, TAGUNGSBOT_CORS_ORIGINS=host_site.origin,
                            TAGUNGSBOT_RATE_LIMIT_PER_MINUTE="1", TAGUNGSBOT_RATE_LIMIT_BURST="1"),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(start_server, env, root, False) for name, env in envs.items()}
    servers = {name: future.result() for name, future in futures.items() if future.exception() is None}
    try:
        for future in futures.values():
            future.result()  # a server that did not start fails the fixture; the others are stopped below
        hostile = servers["hostile"]
        started = httpx.post(hostile.url + "/api/admin/reindex", timeout=10)
        assert started.status_code == 202, started.text
        deadline = time.monotonic() + 120
        while (ready := httpx.get(hostile.url + "/readyz", timeout=5)).status_code != 200:
            job = httpx.get(hostile.url + "/api/admin/reindex/status", timeout=5).json()
            assert job["status"] != "failed" and time.monotonic() < deadline, (job, ready.text, hostile.log()[-3000:])
            time.sleep(0.2)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module")
def hostile_server(extra_servers: dict[str, Server]) -> Server:
    return extra_servers["hostile"]


@pytest.fixture(scope="module")
def unready_server(extra_servers: dict[str, Server]) -> Server:
    return extra_servers["unready"]


def test_not_ready_and_rate_limited_service_get_friendly_messages(
    page_factory, host_site: HostSite, unready_server: Server
) -> None:
    page = page_factory()
    page.goto(host_site.add("/unready.html", host_page(unready_server.url)))
    open_and_ask(page, "Wer hat BAKIRA vorgestellt?")
    assert "vorbereitet oder gewartet" in page.locator(".msg.error").last.inner_text()  # 503
    page.fill("#tb-q", "Und wer noch?")
    page.press("#tb-q", "Enter")
    page.locator(".msg.error >> nth=1").wait_for(timeout=ANSWER_TIMEOUT_MS)
    limited = page.locator(".msg.error").last.inner_text()  # 429: the wait comes from Retry-After
    assert "viele Fragen" in limited
    seconds = int(re.search(r"in (\d+) Sekunden", limited).group(1))
    assert 1 <= seconds <= 60
    page.fill("#tb-q", "Noch einmal?")
    page.press("#tb-q", "Enter")  # refused in the browser until Retry-After has passed
    page.locator(".msg.error >> nth=2").wait_for(timeout=5_000)
    assert page.locator(".msg.user").count() == 2
    assert page.errors == []


def test_hostile_document_text_is_served_raw_by_the_api(hostile_server: Server) -> None:
    """Precondition of the two tests below: the markup really reaches the browser."""
    body = httpx.post(hostile_server.url + "/api/ask", json={"question": "Wer hat ZORBAX vorgestellt?"}, timeout=60).json()
    assert not body["abstained"], body
    served = body["answer"] + "".join(c["text"] + c["title"] + (c["section"] or "") for c in body["citations"])
    assert all(p in served for p in PAYLOADS)
    assert "onerror=alert('title')" in served


def test_hostile_document_renders_inert_in_the_widget(
    page_factory, host_site: HostSite, hostile_server: Server, artifacts_dir: Path
) -> None:
    page = page_factory()
    page.goto(host_site.add("/hostile.html", host_page(hostile_server.url)))
    open_and_ask(page, "Wer hat ZORBAX vorgestellt?")
    answer = page.locator(".msg.answer").last
    for button in answer.locator(".sources .cite").all():
        button.click()
        shown = answer.locator(".passage").inner_text()
        assert any(p in shown for p in PAYLOADS), "the markup shows as text"
    assert "<img src=x onerror=alert('title')>" in answer.inner_text()
    page.wait_for_timeout(300)  # give any injected handler the chance to fire
    assert page.dialogs == [], f"a script from the corpus ran: {page.dialogs}"
    assert page.evaluate(INJECTED) == []
    assert page.errors == []
    page.screenshot(path=str(artifacts_dir / "widget-hostile.png"))


def test_hostile_document_renders_inert_in_the_search_page(page_factory, hostile_server: Server) -> None:
    page = page_factory()
    page.goto(hostile_server.url + "/?q=Wer+hat+ZORBAX+vorgestellt%3F")
    page.locator("#trefferliste .hit").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator("#antwort .sources").wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator("#antwort .sources .cite").first.click()
    text = page.locator("main").inner_text()
    assert all(p in text for p in PAYLOADS)
    assert page.locator("#trefferliste mark", has_text="ZORBAX").count() >= 1
    page.wait_for_timeout(300)
    assert page.dialogs == [], f"a script from the corpus ran: {page.dialogs}"
    assert page.evaluate(INJECTED) == []
    assert page.errors == []
