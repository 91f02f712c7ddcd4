"""The chat widget in real headless Chromium, embedded in a page of another origin.

A host page served by `host_site` (another port, so another origin) carries the one
widget tag; the real service answers it with CORS. The browser, the service, the model
and the store are all real. Screenshots go to test-artifacts/ for people to look at.

Tests that need the conversation fields of `/api/ask` (`resolved_question`, `parts`,
`suggestions`) or `GET /api/suggestions` first ask the live service whether it provides
them and skip with "backend … not yet" when it does not; everything the widget does on
its own (history it sends, sessionStorage, focus trap, theming) is tested unconditionally.
"""

from __future__ import annotations

import json
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


def ask_in_widget(page, question: str) -> None:
    """Type a question into the open widget and wait for the bot's next message."""
    before = page.locator(DONE).count()
    page.fill("#tb-q", question)
    page.press("#tb-q", "Enter")
    page.locator(DONE).nth(before).wait_for(timeout=ANSWER_TIMEOUT_MS)


def open_and_ask(page, question: str) -> None:
    page.click(".launcher")
    ask_in_widget(page, question)


def live_ask(server: Server, question: str, history: list[dict] | None = None) -> dict:
    """The live service's answer (for capability checks of fields the backend adds)."""
    body = {"question": question, **({"history": history} if history else {})}
    response = httpx.post(server.url + "/api/ask", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


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

    for _ in range(4):  # from the input back over the answer's buttons into its sources
        page.keyboard.press("Shift+Tab")
        focused = page.evaluate(DEEP_ACTIVE)
        if "cite" in focused["cls"]:
            break
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
    selectors = [".welcome p", ".welcome .note", ".msg.user p", ".msg.answer p", "h2", "input", ".send", ".cite", ".copy"]
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

    assert page.locator("#tb-q").input_value() == "Wer hat BAKIRA vorgestellt?", "the question stays in the input"

    page.goto(host_site.add("/long.html", host_page(widget_server.url)))
    page.click(".launcher")
    page.fill("#tb-q", "Wer " * 240)  # 960 characters: the counter appears near the limit
    page.locator("#tb-q").dispatch_event("input")
    assert page.locator(".count").inner_text() == "959 von 1000 Zeichen"
    long_question = "Wer " * 400
    ask_in_widget(page, long_question)
    error = page.locator(".msg.error").last.inner_text()
    assert "zu lang" in error and "1599 Zeichen" in error and "höchstens 1000" in error  # German, with the numbers
    assert page.locator("#tb-q").input_value() == long_question.strip()
    assert page.locator(".count").get_attribute("class") == "count over"
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
    `unready`: no store at all (every question is 503) and two requests, then one a minute (429);
    the widget's starter-suggestions request on opening may be one of the two.
    """
    root = tmp_path_factory.mktemp("extra")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "pruefbericht.md").write_text(HOSTILE_MD, encoding="utf-8")
    envs = {
        "hostile": base_env(root / "index", corpus, TAGUNGSBOT_CORS_ORIGINS=host_site.origin),
        "unready": base_env(root / "no-index", corpus, TAGUNGSBOT_CORS_ORIGINS=host_site.origin,
                            TAGUNGSBOT_RATE_LIMIT_PER_MINUTE="1", TAGUNGSBOT_RATE_LIMIT_BURST="2"),
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
    for _ in range(3):  # until the rate limit answers 429
        ask_in_widget(page, "Und wer noch?")
        limited = page.locator(".msg.error").last.inner_text()  # 429: the wait comes from Retry-After
        if "viele Fragen" in limited:
            break
    errors = page.locator(".msg.error").count()
    assert "viele Fragen" in limited
    seconds = int(re.search(r"in (\d+) Sekunden", limited).group(1))
    assert 1 <= seconds <= 60
    assert page.locator("#tb-q").input_value() == "Und wer noch?"
    page.wait_for_timeout(1300)
    later = int(re.search(r"in (\d+) Sekunden", page.locator(".msg.error").last.inner_text()).group(1))
    assert later < seconds, "the wait counts down in place"
    page.fill("#tb-q", "Noch einmal?")
    page.press("#tb-q", "Enter")  # refused in the browser until Retry-After has passed, without a new message
    page.locator(".status", has_text="Bitte warten Sie noch").wait_for(timeout=5_000)
    assert page.locator(".msg.error").count() == errors, "no stacked rate-limit messages"
    assert page.locator(".msg.user").count() == errors
    assert page.locator("#tb-q").input_value() == "Noch einmal?"
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


# --- Conversation: greeting, suggestions, history, navigation, lists --------------------

# Inside the shadow root: is the focused element inside the chat panel?
FOCUS_IN_PANEL = """() => {
  const root = document.querySelector('[data-tagungsbot]').shadowRoot;
  const active = root.activeElement;
  return Boolean(active && root.querySelector('.panel').contains(active)) && document.activeElement.hasAttribute('data-tagungsbot');
}"""


def test_open_widget_greets_with_the_note_on_personal_data_and_store_suggestions(
    page_factory, host_site: HostSite, widget_server: Server, artifacts_dir: Path
) -> None:
    page = page_factory()
    page.goto(host_site.add("/greet.html", host_page(widget_server.url)))
    page.click(".launcher")
    welcome = page.locator(".welcome")
    assert "Guten Tag" in welcome.inner_text()
    note = page.locator(".welcome .note").inner_text()
    assert "automatisierter Assistent" in note and "personenbezogenen Daten" in note
    dialog = page.locator("[role=dialog]")
    assert dialog.get_attribute("aria-describedby") == "tb-hello tb-note", "screen readers hear greeting and note on open"

    starters = httpx.get(widget_server.url + "/api/suggestions", params={"lang": "de"}, timeout=30)
    if starters.status_code == 404:
        assert page.locator(".welcome .suggest").is_hidden(), "no endpoint: no suggestion list"
        pytest.skip("backend GET /api/suggestions not yet")
    expected = starters.json()["suggestions"][:4]
    assert expected, "the store yields starter questions"
    buttons = page.locator(".welcome .suggest button")
    buttons.first.wait_for()
    assert buttons.all_inner_texts() == expected
    page.screenshot(path=str(artifacts_dir / "widget-greeting.png"))
    buttons.first.click()
    page.locator(DONE).first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert page.locator(".msg.user").inner_text().endswith(expected[0]), "a click asks the suggestion"
    assert page.errors == []


def test_hallo_gets_a_greeting_with_suggestions_and_a_click_asks_one(
    page_factory, host_site: HostSite, widget_server: Server
) -> None:
    reply = live_ask(widget_server, "Hallo")
    if not reply.get("suggestions"):
        pytest.skip("backend greeting with suggestions not yet")
    page = page_factory()
    page.goto(host_site.add("/hallo.html", host_page(widget_server.url)))
    open_and_ask(page, "Hallo")
    message = page.locator(DONE).last
    assert "abstained" not in message.get_attribute("class")
    assert message.locator(".cite").count() == 0
    offered = message.locator(".suggest button")
    assert offered.count() >= 1
    first = offered.first.inner_text()
    offered.first.click()
    page.locator(DONE).nth(1).wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert page.locator(".msg.user").last.inner_text().endswith(first)


def test_follow_up_sends_the_earlier_turns_and_shows_what_was_understood(
    page_factory, host_site: HostSite, widget_server: Server
) -> None:
    page = page_factory()
    sent: list[dict] = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/ask") and r.method == "POST" else None)
    page.goto(host_site.add("/follow.html", host_page(widget_server.url)))
    open_and_ask(page, "Wer hat BAKIRA vorgestellt?")
    first = live_ask(widget_server, "Wer hat BAKIRA vorgestellt?")
    ask_in_widget(page, "Und aus welcher Organisation kommt er?")

    assert "history" not in sent[0], "a first question carries no history"
    history = sent[1]["history"]
    assert history == [{"question": first.get("resolved_question") or "Wer hat BAKIRA vorgestellt?", "answer": first["answer"]}]

    resolved = live_ask(widget_server, "Und aus welcher Organisation kommt er?", history).get("resolved_question")
    if not resolved or resolved.strip(" ?").lower() == "und aus welcher organisation kommt er":
        assert page.locator(".understood").count() == 0, "nothing is shown when the service resolved nothing"
        pytest.skip("backend resolved_question for follow-ups not yet")
    understood = page.locator(".msg.bot").last.locator(".understood")
    assert understood.inner_text() == f"Verstanden als: „{resolved}“"


def test_conversation_survives_navigation_and_new_conversation_clears_it(
    page_factory, host_site: HostSite, widget_server: Server
) -> None:
    page = page_factory()
    starters: list[str] = []
    page.on("request", lambda r: starters.append(r.url) if "/api/suggestions" in r.url else None)
    link = '<p><a id="weiter" href="/nav-2.html">Zur nächsten Seite</a></p>'
    first_url = host_site.add("/nav-1.html", host_page(widget_server.url, body=link))
    host_site.add("/nav-2.html", host_page(widget_server.url, body="<p>Zweite Seite</p>"))
    page.goto(first_url)
    open_and_ask(page, "Wer hat BAKIRA vorgestellt?")
    answer = page.locator(".msg.answer").last.inner_text()
    page.click("#weiter")
    page.wait_for_url("**/nav-2.html")
    assert page.locator("[role=dialog]").is_visible(), "an open chat stays open on the next page (large screens)"
    assert page.locator(".msg.user").inner_text().endswith("Wer hat BAKIRA vorgestellt?")
    assert page.locator(".msg.answer").inner_text() == answer
    page.locator(".msg.answer .sources .cite").first.click()  # restored answers work like fresh ones
    assert page.locator(".msg.answer .passage mark").is_visible()
    page.wait_for_load_state("networkidle")
    assert len(starters) == 1, f"starter questions are asked for once per tab, not per page: {starters}"

    page.get_by_role("button", name="Neue Unterhaltung").click()
    assert page.locator(".msg").count() == 0
    assert page.locator(".welcome").is_visible()
    assert page.evaluate(DEEP_ACTIVE)["tag"] == "INPUT"
    page.reload()
    assert page.locator(".msg").count() == 0, "the cleared conversation stays cleared"


def test_list_answer_renders_items_as_a_list_with_sources(
    page_factory, host_site: HostSite, widget_server: Server
) -> None:
    candidates = ["Welche Workshops gab es?", "Welche Workshops gab es auf der Fachtagung?", "Wer hat auf der Tagung gesprochen?"]
    question = next((q for q in candidates
                     if any(p.get("role") == "item" for p in live_ask(widget_server, q).get("parts") or [])), None)
    if question is None:
        pytest.skip("backend parts with list items not yet")
    body = live_ask(widget_server, question)
    items = [p for p in body["parts"] if p["role"] == "item"]
    page = page_factory()
    page.goto(host_site.add("/list.html", host_page(widget_server.url)))
    open_and_ask(page, question)
    answer = page.locator(".msg.answer").last
    rendered = answer.locator("ul.items > li")
    assert rendered.count() == len(items)
    for li, item in zip(rendered.all(), items):
        assert item["text"] in li.inner_text()
        if item.get("ref") is not None:
            assert li.locator(f".cite[data-ref='{item['ref']}']").count() == 1, "each item links its source"


def test_english_answer_is_marked_english_and_its_german_quote_german(
    page_factory, host_site: HostSite, widget_server: Server
) -> None:
    page = page_factory()
    page.goto(host_site.add("/lang.html", host_page(widget_server.url)))  # a German page
    open_and_ask(page, "Who presented BAKIRA?")
    answer = page.locator(".msg.answer").last
    assert answer.get_attribute("lang") == "en"
    quote = answer.locator("p [lang=de]").first
    assert quote.count() == 1 and "BAKIRA" in quote.inner_text()
    assert answer.locator(".passage").get_attribute("hidden") is not None


def test_copy_button_and_typing_indicator(page_factory, host_site: HostSite, widget_server: Server) -> None:
    page = page_factory()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(host_site.add("/copy.html", host_page(widget_server.url)))
    page.click(".launcher")
    page.evaluate("""() => {  // remember whether a typing indicator came and went
      const log = document.querySelector('[data-tagungsbot]').shadowRoot.querySelector('.log');
      window.__typing = [];
      new MutationObserver((records) => { for (const r of records) {
        for (const n of r.addedNodes) if (n.classList && n.classList.contains('typing')) window.__typing.push('added');
        for (const n of r.removedNodes) if (n.classList && n.classList.contains('typing')) window.__typing.push('removed');
      } }).observe(log, {childList: true});
    }""")
    ask_in_widget(page, "Wer hat BAKIRA vorgestellt?")
    assert page.evaluate("window.__typing") == ["added", "removed"]
    answer = page.locator(".msg.answer").last
    answer.locator(".copy").click()
    page.locator(".status", has_text="kopiert").wait_for(timeout=5_000)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Königstein" in copied and "[1]" in copied and "Quellen:" in copied


def test_page_not_cleared_by_cors_tells_the_console_what_to_set(
    page_factory, host_site: HostSite, widget_server: Server
) -> None:
    page = page_factory()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.goto(host_site.add("/cors.html", host_page(widget_server.url)).replace(host_site.origin, host_site.other_origin))
    open_and_ask(page, "Wer hat BAKIRA vorgestellt?")
    assert "nicht freigeschaltet" in page.locator(".msg.error").last.inner_text()
    hint = [line for line in console if "TAGUNGSBOT_CORS_ORIGINS" in line]
    assert hint and f"TAGUNGSBOT_CORS_ORIGINS={host_site.other_origin}" in hint[0]


def test_full_screen_on_a_phone_is_modal_and_keyboard_focus_never_leaves_it(
    page_factory, host_site: HostSite, widget_server: Server, artifacts_dir: Path
) -> None:
    page = page_factory(width=375, height=700)
    link = '<p><a href="#oben">Nach oben</a> <a href="#unten">Nach unten</a></p>'
    page.goto(host_site.add("/phone.html", host_page(widget_server.url, body=link)))
    for _ in range(10):
        page.keyboard.press("Tab")
        if "launcher" in (page.evaluate(DEEP_ACTIVE) or {}).get("cls", ""):
            break
    page.keyboard.press("Enter")
    dialog = page.locator("[role=dialog]")
    assert dialog.get_attribute("aria-modal") == "true"
    box = dialog.bounding_box()
    assert box == {"x": 0, "y": 0, "width": 375, "height": 700}
    page.keyboard.type("Wer hat BAKIRA vorgestellt?")
    page.keyboard.press("Enter")
    page.locator(DONE).last.wait_for(timeout=ANSWER_TIMEOUT_MS)

    seen = set()
    for key in ["Tab"] * 25 + ["Shift+Tab"] * 25:
        page.keyboard.press(key)
        assert page.evaluate(FOCUS_IN_PANEL), f"focus left the full-screen chat after {key}: {page.evaluate(DEEP_ACTIVE)}"
        seen.add(page.evaluate(DEEP_ACTIVE)["cls"])
    assert {"new", "close", "send", "cite", "copy"} <= {c.split()[0] for c in seen if c}, seen

    small = page.evaluate("""() => [...document.querySelector('[data-tagungsbot]').shadowRoot
        .querySelectorAll('.panel button, .panel input, .panel a')]
        .filter((n) => n.getClientRects().length && !n.closest('.msg p, .msg .items'))  // inline [n] in text are exempt
        .map((n) => ({cls: n.className || n.tagName, w: n.getBoundingClientRect().width, h: n.getBoundingClientRect().height}))
        .filter((b) => b.w < 44 || b.h < 44)""")
    assert small == [], f"touch targets under 44 px: {small}"
    assert page.evaluate("document.documentElement.style.overflow") == "hidden", "the page behind does not scroll"
    page.screenshot(path=str(artifacts_dir / "widget-phone.png"))
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    assert page.evaluate("document.documentElement.style.overflow") == ""


def test_theming_through_data_attributes_dark_mode_and_print(
    page_factory, host_site: HostSite, widget_server: Server, artifacts_dir: Path
) -> None:
    attrs = (' data-accent="#ffd500" data-title="Fragen an die Redaktion" data-position="left"'
             ' data-welcome="Willkommen beim Assistenten." data-accessibility-url="/barrierefreiheit.html"')
    page = page_factory()
    page.emulate_media(color_scheme="dark")
    page.goto(host_site.add("/theme.html", host_page(widget_server.url, attrs=attrs)))
    launcher = page.locator(".launcher")
    assert launcher.inner_text().strip() == "Fragen an die Redaktion"
    style = page.evaluate("""() => {
      const root = document.querySelector('[data-tagungsbot]').shadowRoot;
      const s = (sel, prop) => getComputedStyle(root.querySelector(sel))[prop];
      return {launcherBg: s('.launcher', 'backgroundColor'), launcherFg: s('.launcher', 'color'),
              panelBg: s('.panel', 'backgroundColor'), left: root.querySelector('.launcher').getBoundingClientRect().left};
    }""")
    assert style["launcherBg"] == "rgb(255, 213, 0)"
    assert style["launcherFg"] == "rgb(26, 26, 26)", "dark text on a light accent"
    assert style["left"] == 16
    launcher.click()
    assert page.locator("#tb-title").inner_text() == "Fragen an die Redaktion"
    assert page.locator("#tb-hello").inner_text() == "Willkommen beim Assistenten."
    link = page.locator(".foot a")
    assert link.inner_text() == "Erklärung zur Barrierefreiheit"
    assert link.get_attribute("href") == host_site.origin + "/barrierefreiheit.html"
    panel_bg = page.evaluate("getComputedStyle(document.querySelector('[data-tagungsbot]').shadowRoot.querySelector('.panel')).backgroundColor")
    assert panel_bg == "rgb(31, 33, 37)", "dark mode follows prefers-color-scheme"
    page.screenshot(path=str(artifacts_dir / "widget-theme-dark.png"))
    page.emulate_media(media="print")
    assert page.locator("[role=dialog]").is_hidden() and launcher.is_hidden(), "printing the page leaves the chat out"


def test_javascript_url_is_not_taken_as_accessibility_statement(
    page_factory, host_site: HostSite, widget_server: Server
) -> None:
    page = page_factory()
    page.goto(host_site.add("/bad-url.html", host_page(widget_server.url, attrs=' data-accessibility-url="javascript:alert(1)"')))
    page.click(".launcher")
    assert page.locator(".foot a").count() == 0
