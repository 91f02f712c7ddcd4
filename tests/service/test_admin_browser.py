"""The editors' page `/admin` and the widget's feedback, in real Chromium against a real server.

One server for the module, with its own copy of the corpus and the store (uploads and
deletes change them), an admin key, a data folder in tmp (the SQLite file), recording of
unanswered questions on, and CORS for the host site that embeds the widget.

Tests that need an endpoint of the editors' backend first ask the live server whether it
is there and skip with "backend … not yet" when it is not; what the page does on its own
(key prompt, sessionStorage, CSP) is tested unconditionally.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, Server, base_env, start_server
from tests.service.hostsite import HostSite, host_page
from tests.service.test_accessibility_browser import assert_no_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN_KEY = "redaktion-5e1c7a"
ADMIN = {"X-API-Key": ADMIN_KEY}
ANSWER_TIMEOUT_MS = 60_000
INGEST_TIMEOUT_MS = 150_000
FEEDBACK_NOTE = "Mit Ihrer Rückmeldung werden Frage und Antwort an die Redaktion übermittelt."
UNANSWERABLE = "Wie hoch ist der Regelsatz im Bürgergeld 2026?"

# The focused element, looking through shadow roots, with its focus outline.
DEEP_ACTIVE = """() => {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  if (!a) return null;
  const s = getComputedStyle(a);
  return {tag: a.tagName, id: a.id, type: a.type || null, text: a.textContent.trim(), label: a.getAttribute('aria-label'),
          outline: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth)};
}"""


# --- The made-up event: a PDF and a DOCX the corpus has never seen -----------------------------

PDF_NAME = "werkstatttag-aktenfuehrung-2026.pdf"
DOCX_NAME = "werkstatttag-ergebnisse-2026.docx"
PDF_QUESTION = "Wer hat das Verfahren KALMUS vorgestellt?"
DOCX_QUESTION = "Wer leitete den Workshop Scan-Strategien?"


def write_pdf(path: Path) -> Path:
    """A PDF with a text layer (fpdf2, a test dependency)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Dokumentation Werkstatttag Digitale Aktenführung 2026")
    pdf.add_page()
    pdf.set_font("helvetica", style="B", size=16)
    pdf.multi_cell(0, 10, "Dokumentation Werkstatttag Digitale Aktenführung 2026", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, (
        "Der Werkstatttag Digitale Aktenführung fand am 12. März 2026 in Musterhausen statt. "
        "Rund 80 Fachkräfte aus Jobcentern nahmen teil.\n\n"
        "Eröffnungsvortrag\n\n"
        "Den Eröffnungsvortrag hielt Dr. Hedwig Sonnleitner vom Landesamt für Zahlenwesen. "
        "Sie stellte das Verfahren KALMUS zur elektronischen Aktenablage vor. "
        "KALMUS ordnet eingehende Schreiben automatisch der richtigen Akte zu."
    ), new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    """A Word document with headings (python-docx)."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Ergebnisse des Werkstatttags Digitale Aktenführung 2026"
    document.add_heading("Ergebnisse des Werkstatttags Digitale Aktenführung 2026", level=1)
    document.add_paragraph("Der Werkstatttag fand am 12. März 2026 in Musterhausen statt.")
    document.add_heading("Workshop Scan-Strategien", level=2)
    document.add_paragraph(
        "Den Workshop Scan-Strategien leitete Bruno Kaltenbach vom Kreisjobcenter Musterhausen. "
        "Die Teilnehmenden empfahlen, Posteingänge innerhalb von drei Arbeitstagen zu scannen."
    )
    document.save(str(path))
    return path


# --- Fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin_server(built_index: Path, host_site: HostSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server over private copies of the corpus and the store, with an admin key and a data folder."""
    root = tmp_path_factory.mktemp("admin")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(built_index, index, symlinks=True)
    env = base_env(
        index, corpus,
        TAGUNGSBOT_ADMIN_KEYS=ADMIN_KEY,
        TAGUNGSBOT_CORS_ORIGINS=host_site.origin,
        TAGUNGSBOT_DATA_DIR=str(root / "data"),
        TAGUNGSBOT_RECORD_UNANSWERED="1",
        TAGUNGSBOT_RATE_LIMIT_PER_MINUTE="6000",  # every caller here is 127.0.0.1: one bucket for all
    )
    server = start_server(env, root)
    server.corpus = corpus  # type: ignore[attr-defined]
    yield server
    server.stop()


def has_route(server: Server, method: str, path: str, **kwargs) -> bool:
    """Does the live server have this route? FastAPI's own 404 "Not Found" or a 405: not yet."""
    response = httpx.request(method, server.url + path, headers=ADMIN, timeout=30, **kwargs)
    if response.status_code == 405:
        return False
    return not (response.status_code == 404 and response.headers.get("content-type", "").startswith("application/json")
                and response.json().get("detail") == "Not Found")


def need(server: Server, method: str, path: str, **kwargs) -> None:
    if not has_route(server, method, path, **kwargs):
        pytest.skip(f"backend {method} {path} not yet")


def ask(server: Server, question: str) -> dict:
    response = httpx.post(server.url + "/api/ask", json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def documents(server: Server) -> list[dict]:
    response = httpx.get(server.url + "/api/admin/documents", headers=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["documents"]


def log_in(page, server: Server, key: str = ADMIN_KEY) -> None:
    page.goto(server.url + "/admin")
    page.fill("#schluessel", key)
    page.press("#schluessel", "Enter")


def logged_in(page, server: Server) -> None:
    log_in(page, server)
    page.locator("#arbeitsbereich").wait_for()
    page.wait_for_load_state("networkidle")


def wait_for_index(page) -> None:
    """Until the page says the index is current, or shows an error (which fails the test)."""
    done = page.locator("#dokumente-status").filter(has_text="Der Index ist aktuell")
    done.or_(page.locator("#meldung:not(:empty)")).wait_for(timeout=INGEST_TIMEOUT_MS)
    assert page.locator("#meldung").inner_text() == "", "the page shows an error"
    assert done.is_visible()


# --- The page itself -------------------------------------------------------------------------


def test_admin_page_loads_without_a_key_holds_no_data_and_runs_under_its_csp(admin_server: Server) -> None:
    response = httpx.get(admin_server.url + "/admin", timeout=10)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    html = response.text
    assert re.findall(r"<script\b[^>]*>", html) == [re.search(r'<script src="static/admin\.js\?v=\w+" defer>', html)[0]], \
        "one external script, nothing inline"
    assert 'type="password"' in html and 'lang="de"' in html
    assert "fachtagung" not in html.lower(), "the page carries no document data; it comes from the API with the key"
    script = httpx.get(admin_server.url + "/static/admin.js", timeout=10).text
    assert not re.search(r"localStorage\s*[.\[]|document\.cookie", script), "the key goes to sessionStorage only"


def test_key_is_asked_once_kept_in_session_storage_only_and_a_wrong_key_asks_again(
    page_factory, admin_server: Server, artifacts_dir: Path
) -> None:
    page = page_factory()
    page.goto(admin_server.url + "/admin")
    key_field = page.get_by_label("Admin-Schlüssel")
    assert key_field.get_attribute("type") == "password"
    assert page.locator("#arbeitsbereich").is_hidden()

    log_in(page, admin_server, key="falsch-123")
    error = page.locator("#schluessel-fehler")
    error.filter(has_text="nicht angenommen").wait_for()
    assert key_field.get_attribute("aria-invalid") == "true"
    assert page.locator("#arbeitsbereich").is_hidden()
    assert page.evaluate("sessionStorage.length") == 0, "a refused key is not kept"
    page.screenshot(path=str(artifacts_dir / "admin-wrong-key.png"))

    page.fill("#schluessel", ADMIN_KEY)
    page.press("#schluessel", "Enter")
    page.locator("#arbeitsbereich").wait_for()
    assert page.locator("#anmeldung").is_hidden()
    assert page.evaluate("Object.values(sessionStorage)") == [ADMIN_KEY]
    assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""
    assert page.context.cookies() == []
    assert page.locator("#bestand-daten").inner_text().startswith("Version")

    page.reload()  # asked once: the tab keeps the key
    page.locator("#arbeitsbereich").wait_for()
    assert page.locator("#anmeldung").is_hidden()

    other_tab = page.context.new_page()  # sessionStorage is per tab: a new tab asks again
    other_tab.goto(admin_server.url + "/admin")
    other_tab.locator("#schluessel").wait_for()
    assert other_tab.locator("#arbeitsbereich").is_hidden()
    other_tab.close()

    page.get_by_role("button", name="Abmelden").click()
    assert page.locator("#anmeldung").is_visible() and page.locator("#arbeitsbereich").is_hidden()
    assert page.evaluate("sessionStorage.length") == 0
    assert page.locator("#status").inner_text().startswith("Sie sind abgemeldet")
    assert page.evaluate("document.activeElement.id") == "schluessel"
    assert page.errors == []


def test_page_with_data_has_no_axe_violations(page_factory, admin_server: Server, artifacts_dir: Path) -> None:
    """Documents table, feedback list and unanswered groups shown, a dialog open: 0 violations."""
    missing = [what for method, what in [("GET", "/api/admin/documents"), ("GET", "/api/admin/feedback"),
                                         ("GET", "/api/admin/unanswered")] if not has_route(admin_server, method, what)]
    body = ask(admin_server, "Wer hat BAKIRA vorgestellt?")
    if body.get("answer_id") and has_route(admin_server, "POST", "/api/feedback", json={}):
        response = httpx.post(admin_server.url + "/api/feedback", timeout=30, json={
            "answer_id": body["answer_id"], "rating": "up", "comment": "Klar und mit Quelle.",
            "question": "Wer hat BAKIRA vorgestellt?", "answer": body["answer"]})
        assert response.status_code == 201, response.text
    ask(admin_server, UNANSWERABLE)  # recorded (recording is on) for the unanswered section

    page = page_factory(bypass_csp=True)  # axe is injected as a script
    logged_in(page, admin_server)
    if not missing:
        page.locator("#dokumentliste tr[data-id]").first.wait_for()
        page.locator("#rueckmeldeliste li").first.wait_for()
        page.locator("#fragegruppen > li").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "admin-page.png"), full_page=True)
    assert_no_violations(page, "the editors' page after login")
    if not missing:
        page.locator("#dokumentliste button", has_text="Bearbeiten").first.click()
        assert_no_violations(page, "the editors' page with the metadata dialog open")
        page.keyboard.press("Escape")
    page.set_viewport_size({"width": 360, "height": 800})
    assert_no_violations(page, "the editors' page at 360 px")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), \
        "no horizontal scrolling at 360 px (the documents table scrolls inside its own region)"
    if not missing:
        with page.expect_download() as download_info:
            page.locator("#unbeantwortet-csv").click()
        text = Path(download_info.value.path()).read_bytes().decode("utf-8-sig")
        assert UNANSWERABLE in text, text[:500]
    assert page.errors == []
    page.get_by_role("button", name="Abmelden").click()
    assert_no_violations(page, "the login form")
    if missing:
        pytest.skip(f"backend {', '.join(missing)} not yet (the page was checked without their data)")


def test_keyboard_reaches_upload_edit_and_delete_with_visible_focus(page_factory, admin_server: Server) -> None:
    need(admin_server, "GET", "/api/admin/documents")
    page = page_factory()
    logged_in(page, admin_server)
    page.locator("#dokumentliste tr[data-id]").first.wait_for()
    page.evaluate("document.activeElement.blur()")
    reached: dict[str, dict] = {}
    for _ in range(60):
        page.keyboard.press("Tab")
        active = page.evaluate(DEEP_ACTIVE)
        name = ("file input" if active["type"] == "file"
                else "edit" if (active["label"] or "").startswith("Angaben bearbeiten")
                else "delete" if (active["label"] or "").startswith("Löschen")
                else "upload" if active["text"] == "Hochladen" else None)
        if name and name not in reached:
            reached[name] = active
        if len(reached) == 4:
            break
    assert set(reached) == {"file input", "upload", "edit", "delete"}, reached
    for name, active in reached.items():
        assert active["outline"] != "none" and active["outlineWidth"] >= 2, f"no visible focus on {name}: {active}"

    # Delete is focused: Enter asks first, the safe choice has the focus, Escape keeps the document.
    rows = page.locator("#dokumentliste tr[data-id]").count()
    page.keyboard.press("Enter")
    dialog = page.locator("#loeschen-dialog")
    assert dialog.is_visible()
    assert page.evaluate(DEEP_ACTIVE)["text"] == "Abbrechen"
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    assert (page.evaluate(DEEP_ACTIVE)["label"] or "").startswith("Löschen"), "focus returns to the button"
    assert page.locator("#dokumentliste tr[data-id]").count() == rows

    # Shift+Tab to edit: Enter opens the form on the title field, Escape closes it.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert page.locator("#metadaten-dialog").is_visible()
    assert page.evaluate(DEEP_ACTIVE)["id"] == "m-title"
    page.keyboard.press("Escape")
    assert (page.evaluate(DEEP_ACTIVE)["label"] or "").startswith("Angaben bearbeiten")
    assert page.errors == []


def test_a_refused_upload_by_file_choice_or_drop_is_explained_and_changes_nothing(page_factory, admin_server: Server, tmp_path: Path) -> None:
    need(admin_server, "GET", "/api/admin/documents")
    before = documents(admin_server)
    fake = tmp_path / "programm.pdf"
    fake.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 2000)  # a Windows program
    page = page_factory()
    logged_in(page, admin_server)
    page.set_input_files("#dateien", str(fake))
    page.get_by_role("button", name="Hochladen", exact=True).click()
    alert = page.get_by_role("alert").filter(has_text="nicht angenommen")
    alert.wait_for()
    assert "programm.pdf" in alert.inner_text(), "the refusal names the file"
    assert "Bestand ist unverändert" in alert.inner_text()
    assert page.locator("#fortschritt").is_hidden()
    assert documents(admin_server) == before
    assert not (admin_server.corpus / "programm.pdf").exists()  # type: ignore[attr-defined]

    # The same file dropped onto the drop zone goes the same way.
    page.evaluate("document.getElementById('meldung').textContent = ''")
    dropped = page.evaluate_handle("""(bytes) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(bytes)], "programm-2.pdf", {type: "application/pdf"}));
      return transfer;
    }""", list(fake.read_bytes()))
    page.dispatch_event("#ablage", "dragenter", {"dataTransfer": dropped})
    assert "over" in page.locator("#ablage").get_attribute("class")
    page.dispatch_event("#ablage", "drop", {"dataTransfer": dropped})
    page.get_by_role("alert").filter(has_text="programm-2.pdf").wait_for()
    assert "over" not in page.locator("#ablage").get_attribute("class")
    assert documents(admin_server) == before
    assert page.errors == []


def test_upload_pdf_and_docx_in_the_page_then_answers_cite_them_and_after_delete_do_not(
    page_factory, admin_server: Server, artifacts_dir: Path, tmp_path: Path
) -> None:
    need(admin_server, "GET", "/api/admin/documents")
    pytest.importorskip("docx", reason="python-docx is not installed (make install)")
    pdf, docx_file = write_pdf(tmp_path / PDF_NAME), write_docx(tmp_path / DOCX_NAME)
    assert PDF_NAME not in json.dumps(documents(admin_server))
    page = page_factory()
    logged_in(page, admin_server)
    status = page.locator("#dokumente-status")

    # Questions keep being answered while the new documents are ingested.
    stop, failures, answered = threading.Event(), [], []

    def keep_asking() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                try:
                    r = client.post(admin_server.url + "/api/ask", json={"question": "Wer hat BAKIRA vorgestellt?"})
                    (answered if r.status_code == 200 else failures).append(r.status_code)
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                time.sleep(0.2)

    asker = threading.Thread(target=keep_asking, daemon=True)
    asker.start()
    try:
        page.set_input_files("#dateien", [str(pdf), str(docx_file)])
        page.get_by_role("button", name="Hochladen", exact=True).click()
        progress = page.locator("#fortschritt progress")
        progress.wait_for(state="visible", timeout=30_000)
        assert page.locator("#fortschritt-text").inner_text().strip(), "the progress has a label"
        page.screenshot(path=str(artifacts_dir / "admin-upload-progress.png"))
        wait_for_index(page)
    finally:
        stop.set()
        asker.join(timeout=35)
    assert page.locator("#meldung").inner_text() == "", "no error shown"
    assert failures == [] and len(answered) >= 3, f"questions during the ingest: {len(answered)} answered, failed: {failures}"
    assert progress.is_hidden()

    docs = {d["filename"].rsplit("/", 1)[-1]: d for d in documents(admin_server)}
    assert {PDF_NAME, DOCX_NAME} <= set(docs), sorted(docs)
    for name in (PDF_NAME, DOCX_NAME):
        row = page.locator("#dokumentliste tr").filter(has_text=name)
        assert row.count() == 1
        cells = row.locator("td").all_inner_texts()
        assert cells[-2] == "Ja", f"{name} indexed: {cells}"
        assert int(cells[5]) >= 1, f"{name} has chunks: {cells}"
    page.screenshot(path=str(artifacts_dir / "admin-uploaded.png"), full_page=True)

    cases = [(PDF_NAME, PDF_QUESTION, "Sonnleitner"), (DOCX_NAME, DOCX_QUESTION, "Kaltenbach")]
    for name, question, person in cases:
        body = ask(admin_server, question)
        cited = {c["doc_id"] for c in body["citations"]}
        assert not body["abstained"] and docs[name]["id"] in cited, f"{question}: {body['answer']} {cited}"
        assert person in body["answer"]

    # Correct the PDF's event metadata through the page's form.
    page.locator("#dokumentliste tr").filter(has_text=PDF_NAME).get_by_role("button", name=re.compile("^Angaben bearbeiten")).click()
    dialog = page.locator("#metadaten-dialog")
    assert dialog.get_by_label("Titel").input_value() == docs[PDF_NAME]["title"]
    dialog.get_by_label("Veranstaltung").fill("Werkstatttag Digitale Aktenführung 2026")
    dialog.get_by_label("Beginn").fill("2026-03-12")
    dialog.get_by_label("Ende").fill("2026-03-13")
    dialog.get_by_label("Ort").fill("Musterhausen")
    dialog.get_by_label("Veranstalter").fill("Landesamt für Zahlenwesen")
    dialog.get_by_role("button", name="Speichern").click()
    status.filter(has_text="gespeichert").wait_for(timeout=30_000)
    wait_for_index(page)
    row = page.locator("#dokumentliste tr").filter(has_text=PDF_NAME)
    assert "Angaben korrigiert" in row.inner_text()
    assert row.locator("td").all_inner_texts()[:3] == [
        "Werkstatttag Digitale Aktenführung 2026", "12.03.2026 – 13.03.2026", "Musterhausen"]
    corrected = next(d for d in documents(admin_server) if d["id"] == docs[PDF_NAME]["id"])
    assert (corrected["event"], corrected["start_date"], corrected["end_date"], corrected["place"], corrected["organiser"]) == (
        "Werkstatttag Digitale Aktenführung 2026", "2026-03-12", "2026-03-13", "Musterhausen", "Landesamt für Zahlenwesen")
    assert corrected["metadata_corrected"] and corrected["indexed"]

    # Delete both through the page, the second while the first one's re-index runs (it queues a
    # follow-up job); the page waits for both, and their answers are gone.
    jobs = []
    for name, _, _ in cases:
        row = page.locator("#dokumentliste tr").filter(has_text=name)
        row.get_by_role("button", name=re.compile("^Löschen")).click()
        with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
            page.locator("#loeschen-dialog").get_by_role("button", name="Endgültig löschen").click()
        jobs.append(deleted.value.json()["job"])
        status.filter(has_text=f"{docs[name]['title']}“ wurde entfernt").wait_for(timeout=30_000)
    assert jobs[1]["status"] == "running" and jobs[1]["pending"], f"the second delete queued a follow-up: {jobs}"
    wait_for_index(page)
    job = httpx.get(admin_server.url + "/api/admin/reindex/status", headers=ADMIN, timeout=30).json()
    assert job["status"] == "succeeded" and not job.get("pending"), job
    for name, question, person in cases:
        assert page.locator("#dokumentliste tr").filter(has_text=name).count() == 0
        body = ask(admin_server, question)
        assert docs[name]["id"] not in {c["doc_id"] for c in body["citations"]}, body
        assert person not in body["answer"], body["answer"]
    assert page.locator("#meldung").inner_text() == ""
    assert {d["id"] for d in documents(admin_server)} == {d["id"] for d in docs.values()} - {docs[PDF_NAME]["id"], docs[DOCX_NAME]["id"]}
    assert page.errors == []


def test_thumbs_down_with_a_comment_in_the_widget_reaches_the_editors_page_and_its_csv(
    page_factory, host_site: HostSite, admin_server: Server, artifacts_dir: Path
) -> None:
    question = "Wer hat BAKIRA vorgestellt?"
    if not ask(admin_server, question).get("answer_id"):
        pytest.skip("backend answer_id in POST /api/ask not yet")
    need(admin_server, "POST", "/api/feedback", json={})
    need(admin_server, "GET", "/api/admin/feedback")
    comment = f"Die Organisation fehlt in der Antwort ({uuid.uuid4().hex[:8]})."

    page = page_factory(bypass_csp=True)  # the host page has no CSP anyway; axe is injected
    sent: list[dict] = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data))
            if r.url.endswith("/api/feedback") and r.method == "POST" else None)
    page.goto(host_site.add("/feedback.html", host_page(admin_server.url)))
    page.click(".launcher")
    with page.expect_response(lambda r: r.url.endswith("/api/ask")) as asked:
        page.fill("#tb-q", question)
        page.press("#tb-q", "Enter")
    answer_body = asked.value.json()
    answer = page.locator(".msg.answer").last
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)
    up = answer.get_by_role("button", name="Antwort hilfreich")
    down = answer.get_by_role("button", name="Antwort nicht hilfreich")
    assert up.get_attribute("aria-pressed") == "false" and down.get_attribute("aria-pressed") == "false"
    assert answer.locator(".fb-note").inner_text() == FEEDBACK_NOTE
    assert answer.get_by_role("button", name="Antwort kopieren").count() == 1

    down.click()
    assert down.get_attribute("aria-pressed") == "true"
    field = answer.get_by_label(re.compile("Was hat gefehlt"))
    assert field.is_visible() and field.get_attribute("maxlength") == "1000"
    assert page.evaluate(DEEP_ACTIVE)["tag"] == "TEXTAREA", "the comment field gets the focus"
    field.fill(comment)
    assert_no_violations(page, "the widget with the feedback comment open")
    answer.get_by_role("button", name="Rückmeldung senden").click()
    answer.locator(".fb-result", has_text="Danke für Ihre Rückmeldung").wait_for(timeout=30_000)
    assert sent == [{"answer_id": answer_body["answer_id"], "rating": "down", "comment": comment,
                     "question": question, "answer": answer_body["answer"]}]
    assert answer.get_by_label(re.compile("Was hat gefehlt")).is_hidden()
    page.screenshot(path=str(artifacts_dir / "widget-feedback.png"))

    # Thumbs on an abstention too (a missing answer is worth hearing about), none on a greeting;
    # thumbs up sends at once, by keyboard as well.
    for text in ("Hallo", UNANSWERABLE):
        before = page.locator(".msg.bot").count()
        page.fill("#tb-q", text)
        page.press("#tb-q", "Enter")
        page.locator(".msg.bot").nth(before).wait_for(timeout=ANSWER_TIMEOUT_MS)
    greeting, abstention = page.locator(".msg.bot").nth(-2), page.locator(".msg.bot").last
    assert greeting.locator(".thumb").count() == 0, "no thumbs on small talk"
    assert "abstained" in abstention.get_attribute("class")
    abstention_up = abstention.get_by_role("button", name="Antwort hilfreich")
    abstention_up.focus()
    page.keyboard.press("Enter")
    abstention.locator(".fb-result", has_text="Danke für Ihre Rückmeldung").wait_for(timeout=30_000)
    assert abstention_up.get_attribute("aria-pressed") == "true"
    assert sent[-1]["rating"] == "up" and sent[-1]["comment"] is None and sent[-1]["question"] == UNANSWERABLE
    assert abstention.get_by_label(re.compile("Was hat gefehlt")).is_hidden(), "thumbs up asks for no comment"

    page.reload()  # the rating is kept with the conversation
    restored = page.locator(".msg.answer").first
    restored.wait_for()
    restored_down = restored.get_by_role("button", name="Antwort nicht hilfreich")
    assert restored_down.get_attribute("aria-pressed") == "true" and restored_down.get_attribute("aria-disabled") == "true"
    restored_down.click(force=True)  # aria-disabled: Playwright would wait for it to be enabled
    assert len(sent) == 2, "a sent rating is not sent twice"
    assert page.errors == []

    editors = page_factory()
    logged_in(editors, admin_server)
    entry = editors.locator("#rueckmeldeliste li").filter(has_text=comment)
    entry.wait_for()
    editors.select_option("#bewertung", "up")
    editors.locator("#rueckmeldungen-status").filter(has_text="hilfreiche").wait_for()
    assert entry.count() == 0, "the filter 'Hilfreich' hides a thumbs down"
    editors.select_option("#bewertung", "down")
    entry.wait_for()
    assert "Nicht hilfreich" in entry.inner_text() and question in entry.inner_text()
    with editors.expect_download() as download_info:
        editors.get_by_role("button", name="Als CSV herunterladen").first.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, so spreadsheet programs read the umlauts"
    text = raw.decode("utf-8-sig")
    assert comment in text and question in text
    assert "heruntergeladen" in editors.locator("#rueckmeldungen-status").inner_text()
    editors.screenshot(path=str(artifacts_dir / "admin-feedback.png"), full_page=True)
    assert editors.errors == []
