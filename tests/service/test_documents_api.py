"""The documents admin API against a real server: refusals change nothing, an upload of a new
event is answered from with a citation while questions keep being answered, deletion takes
its answers away, metadata corrections reach the store without embedding anything.

One server for the module, with its own copies of the corpus and the store (the tests
change them), an admin key, a tool key and a data folder in tmp.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, Server, base_env, start_server
from tests.ingest.test_uploads import image_only_pdf, snapshot, text_pdf, windows_program, word_document

ADMIN_KEY = "redaktion-docs-3f9a"
TOOL_KEY = "werkzeug-docs-77c1"
ADMIN = {"X-API-Key": ADMIN_KEY}
TOOL = {"X-API-Key": TOOL_KEY}
BUNDLED = "fachtagung-qualitaetsarbeit-2025.md"
JOB_TIMEOUT_S = 180

# A made-up event with names no bundled document has.
EVENT = "Forum Wattenmeer 2026"
PDF_NAME = "forum-wattenmeer-2026.pdf"
DOCX_NAME = "forum-wattenmeer-2026-workshops.docx"
PDF_QUESTION = "Wer hat das Messverfahren PRIELWERK vorgestellt?"
DOCX_QUESTION = "Wer leitete den Workshop Salzwiesenpflege?"
BACKGROUND_QUESTION = "Wo fand die Fachtagung Qualitätsarbeit statt?"


@pytest.fixture(scope="module")
def docs_server(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    root = tmp_path_factory.mktemp("documents-api")
    index, corpus = root / "index", root / "corpus"
    shutil.copytree(built_index, index, symlinks=True)
    shutil.copytree(CORPUS, corpus)
    env = base_env(
        index, corpus, TAGUNGSBOT_ADMIN_KEYS=ADMIN_KEY, TAGUNGSBOT_API_KEYS=TOOL_KEY,
        TAGUNGSBOT_DATA_DIR=str(root / "data"), TAGUNGSBOT_RATE_LIMIT_PER_MINUTE="0", TAGUNGSBOT_EMBEDDING_WAIT_S="30",
        TAGUNGSBOT_RELOAD_POLL_S="0.5",
    )
    server = start_server(env, root)
    yield server, corpus
    server.stop()


def wait_for_jobs(url: str, timeout: float = JOB_TIMEOUT_S) -> tuple[dict, list[dict]]:
    """Poll the re-index status until no job runs and none is queued; the final status and every progress seen."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(url + "/api/admin/reindex/status", headers=ADMIN, timeout=10).json()
        if status.get("progress"):
            seen.append(status["progress"])
        if status["status"] != "running" and not status["pending"]:
            return status, seen
        time.sleep(0.05)
    raise AssertionError(f"re-index still running after {timeout} s: {status}")


def ask(url: str, question: str) -> dict:
    response = httpx.post(url + "/api/ask", headers=TOOL, json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def cited(answer: dict) -> set[str]:
    return {c["doc_id"] for c in answer["citations"]}


def documents(url: str) -> dict[str, dict]:
    response = httpx.get(url + "/api/admin/documents", headers=ADMIN, timeout=10)
    assert response.status_code == 200, response.text
    return {d["id"]: d for d in response.json()["documents"]}


def event_pdf() -> bytes:
    return text_pdf(EVENT, (
        f"Rueckblick auf das {EVENT}",
        "Ort: Husum",
        "Datum: 12.-13. Maerz 2026",
        "Veranstalter: Zweckverband Nordfriesische Marschen",
        "Das Messverfahren PRIELWERK wurde von der Deichgraefin Amalie Brodersen vorgestellt.",
        "Es misst die Verlandung der Priele mit schwimmenden Sensoren.",
    ))


def event_docx() -> bytes:
    return word_document(f"{EVENT}: Workshops", (
        "Den Workshop Salzwiesenpflege leitete Hauke Petersen aus Tönning.",
        "Im Workshop wurden Beweidung und Mahd der Salzwiesen verglichen.",
    ))


def upload(url: str, files: list[tuple[str, bytes]]) -> httpx.Response:
    return httpx.post(url + "/api/admin/documents", headers=ADMIN, files=[("files", f) for f in files], timeout=60)


def test_scanned_pdf_exe_60_mb_and_path_names_are_refused_and_nothing_changes(docs_server: tuple[Server, Path]) -> None:
    server, corpus = docs_server
    before, listed, job_before = snapshot(corpus), documents(server.url), httpx.get(
        server.url + "/api/admin/reindex/status", headers=ADMIN).json()["id"]

    scanned = upload(server.url, [("scan-protokoll.pdf", image_only_pdf())])
    assert scanned.status_code == 422
    assert "scan-protokoll.pdf" in scanned.json()["detail"] and "no text layer" in scanned.json()["detail"]
    assert "OCR" in scanned.json()["detail"]

    exe = upload(server.url, [("einladung.pdf", windows_program())])
    assert exe.status_code == 415
    detail = exe.json()["detail"]
    assert "einladung.pdf" in detail and "Windows program" in detail and "accepted are PDF" in detail

    passwd = upload(server.url, [("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n")])
    assert passwd.status_code == 422
    assert "'../../etc/passwd'" in passwd.json()["detail"] and "outside the corpus folder" in passwd.json()["detail"]

    # 60 MB, streamed without a Content-Length: refused once the file passes the 50 MB limit.
    boundary = "grenze7c1"
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="tagungsband.pdf"\r\n'
               f"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n").encode()
        block = b"0" * (1 << 20)
        for _ in range(60):
            sent += len(block)
            yield block
        yield f"\r\n--{boundary}--\r\n".encode()

    began = time.perf_counter()
    big = httpx.post(server.url + "/api/admin/documents", content=body(), timeout=60,
                     headers={**ADMIN, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert big.status_code == 413
    assert "tagungsband.pdf" in big.json()["detail"] and "50,000,000 bytes per file" in big.json()["detail"]
    assert time.perf_counter() - began < 10

    # A declared Content-Length over the whole upload limit is refused before any body byte is read.
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=10) as raw:
        raw.sendall((f"POST /api/admin/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {ADMIN_KEY}\r\n"
                     f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {60 * 1024 ** 3}\r\n\r\n").encode())
        answer = b""
        while chunk := raw.recv(4096):  # the server closes the connection after its answer
            answer += chunk
    head = answer.decode("utf-8")
    assert head.startswith("HTTP/1.1 413") and "the upload is larger than" in head

    # The same content as a document already there.
    again = upload(server.url, [("kopie.md", (corpus / BUNDLED).read_bytes())])
    assert again.status_code == 409 and f"already in the corpus as {BUNDLED}" in again.json()["detail"]

    assert snapshot(corpus) == before
    assert documents(server.url) == listed
    assert httpx.get(server.url + "/api/admin/reindex/status", headers=ADMIN).json()["id"] == job_before  # no job started


def test_uploaded_event_is_answered_with_citations_during_ingest_zero_failures_then_deleted(
    docs_server: tuple[Server, Path],
) -> None:
    server, corpus = docs_server
    stop = threading.Event()
    results: list[int | str] = []

    def keep_asking() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                try:
                    response = client.post(server.url + "/api/ask", headers=TOOL, json={"question": BACKGROUND_QUESTION})
                    results.append(response.status_code)
                except httpx.HTTPError as exc:
                    results.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.05)

    assert PDF_NAME not in cited(ask(server.url, PDF_QUESTION))
    asker = threading.Thread(target=keep_asking, daemon=True)
    asker.start()
    try:
        response = upload(server.url, [(PDF_NAME, event_pdf()), (DOCX_NAME, event_docx())])
        assert response.status_code == 202, response.text
        body = response.json()
        assert [d["id"] for d in body["accepted"]] == [PDF_NAME, DOCX_NAME]
        assert body["accepted"][0]["place"] == "Husum" and body["accepted"][0]["start_date"] == "2026-03-12"
        assert body["accepted"][0]["added_at"] and not body["accepted"][0]["indexed"]
        assert body["job"]["status"] == "running"
        status, progress = wait_for_jobs(server.url)
        assert status["status"] == "succeeded", status
        assert progress, "no progress was reported while the job ran"
        assert {p["stage"] for p in progress} <= {"reading", "embedding", "writing", "loading"}
        assert all(0 <= p["done"] <= p["total"] for p in progress)
        assert any(p["stage"] == "embedding" and p["total"] > 0 for p in progress), progress  # shown while the model loads
        report = status["report"]
        total_texts = report["chunks"] + report["sentences"]
        # Incremental: only the two new documents are embedded, everything else is re-used.
        assert 0 < report["embedded"] < total_texts / 4, report
        print(f"\nupload ingest: embedded {report['embedded']} of {total_texts} texts "
              f"({report['chunks']} chunks), job {status['seconds']} s, ingest {report['seconds']:.1f} s")

        # The store watcher of the server has loaded the new version when the job ends.
        answer = ask(server.url, PDF_QUESTION)
        assert PDF_NAME in cited(answer), answer
        assert "Brodersen" in answer["answer"]
        answer = ask(server.url, DOCX_QUESTION)
        assert DOCX_NAME in cited(answer), answer
        assert "Petersen" in answer["answer"]

        listed = documents(server.url)
        pdf, docx = listed[PDF_NAME], listed[DOCX_NAME]
        assert pdf["indexed"] and docx["indexed"] and pdf["chunks"] > 0 and docx["chunks"] > 0
        assert (pdf["type"], docx["type"]) == ("pdf", "docx")
        assert pdf["place"] == "Husum" and pdf["organiser"] == "Zweckverband Nordfriesische Marschen"
        assert (pdf["start_date"], pdf["end_date"]) == ("2026-03-12", "2026-03-13")
        assert pdf["content_hash"] == hashlib.sha256((corpus / PDF_NAME).read_bytes()).hexdigest()
        assert pdf["added_at"] and pdf["original_filename"] == PDF_NAME

        # Two deletions in a row: the second comes while the first one's job runs and is queued.
        first = httpx.delete(f"{server.url}/api/admin/documents/{PDF_NAME}", headers=ADMIN, timeout=10)
        second = httpx.delete(f"{server.url}/api/admin/documents/{DOCX_NAME}", headers=ADMIN, timeout=10)
        assert (first.status_code, second.status_code) == (202, 202), (first.text, second.text)
        assert second.json()["removed"] == DOCX_NAME
        assert second.json()["job"]["pending"] or second.json()["job"]["id"] > first.json()["job"]["id"]
        status, _ = wait_for_jobs(server.url)
        assert status["status"] == "succeeded", status
    finally:
        stop.set()
        asker.join(timeout=60)
    assert not (corpus / PDF_NAME).exists() and not (corpus / DOCX_NAME).exists()
    assert PDF_NAME not in cited(ask(server.url, PDF_QUESTION))
    assert DOCX_NAME not in cited(ask(server.url, DOCX_QUESTION))
    assert set(documents(server.url)) == {BUNDLED}
    failed = [r for r in results if r != 200]
    assert len(results) >= 20 and failed == [], f"{len(failed)} of {len(results)} questions failed: {failed[:5]}"
    print(f"questions answered meanwhile: {len(results)}, failed: {len(failed)}")


def test_metadata_corrections_are_stored_beside_the_document_and_reach_the_store(docs_server: tuple[Server, Path]) -> None:
    server, corpus = docs_server
    url = f"{server.url}/api/admin/documents/{BUNDLED}/metadata"
    bad = httpx.put(url, headers=ADMIN, json={"start_date": "8. Oktober"}, timeout=10)
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.json()["detail"]
    missing = httpx.put(f"{server.url}/api/admin/documents/gibt-es-nicht.md/metadata", headers=ADMIN, json={}, timeout=10)
    assert missing.status_code == 404 and "gibt-es-nicht.md" in missing.json()["detail"]

    response = httpx.put(url, headers=ADMIN, json={"place": "Potsdam", "organiser": "Redaktion Test"}, timeout=10)
    assert response.status_code == 202, response.text
    assert response.json()["document"]["place"] == "Potsdam" and response.json()["document"]["metadata_corrected"]
    assert (corpus / f"{BUNDLED}.meta.json").exists()
    status, _ = wait_for_jobs(server.url)
    assert status["status"] == "succeeded", status
    assert status["report"]["embedded"] == 0  # only metadata changed: every vector is re-used
    listed = documents(server.url)
    assert set(listed) == {BUNDLED}  # the sidecar is no document
    assert listed[BUNDLED]["place"] == "Potsdam" and listed[BUNDLED]["organiser"] == "Redaktion Test"
    assert listed[BUNDLED]["indexed"]

    cleared = httpx.put(url, headers=ADMIN, json={"place": None, "organiser": None}, timeout=10)
    assert cleared.status_code == 202
    assert not (corpus / f"{BUNDLED}.meta.json").exists()
    status, _ = wait_for_jobs(server.url)
    assert status["status"] == "succeeded"
    assert documents(server.url)[BUNDLED]["place"] == "Berlin"  # from the front matter again


def test_documents_api_needs_the_admin_key(docs_server: tuple[Server, Path]) -> None:
    server, _ = docs_server
    assert httpx.get(server.url + "/api/admin/documents", timeout=10).status_code == 401
    assert httpx.get(server.url + "/api/admin/documents", headers=TOOL, timeout=10).status_code == 403
    refused = httpx.post(server.url + "/api/admin/documents", headers=TOOL, files=[("files", ("a.md", b"# A\n\nB.\n"))], timeout=10)
    assert refused.status_code == 403
    assert httpx.delete(f"{server.url}/api/admin/documents/{BUNDLED}", headers=TOOL, timeout=10).status_code == 403
