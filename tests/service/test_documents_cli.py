"""`tagungsbot documents list|add|remove` on a private corpus and store (no server): the same
checks as the upload API, then the local ingest, embedding only the added document."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import CORPUS, base_env, tagungsbot
from tests.ingest.test_uploads import snapshot, windows_program, word_document

BUNDLED = "fachtagung-qualitaetsarbeit-2025.md"


def test_documents_add_list_remove(index_copy: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    env = base_env(index_copy, corpus, TAGUNGSBOT_DATA_DIR=str(tmp_path / "data"))
    new = tmp_path / "forum-wattenmeer-2026.docx"
    new.write_bytes(word_document("Forum Wattenmeer 2026", (
        "Ort: Husum", "Den Workshop Salzwiesenpflege leitete Hauke Petersen aus Tönning.",
    )))
    fake = tmp_path / "einladung.pdf"
    fake.write_bytes(windows_program())
    before = snapshot(corpus)

    refused = tagungsbot("documents", "add", str(new), str(fake), env=env)
    assert refused.returncode == 1
    assert "einladung.pdf: the name says a PDF, but the content is a Windows program" in refused.stderr
    assert "nothing was added" in refused.stderr
    assert snapshot(corpus) == before

    added = tagungsbot("documents", "add", str(new), "--json", env=env)
    assert added.returncode == 0, added.stderr
    assert "added forum-wattenmeer-2026.docx (docx" in added.stdout
    report = json.loads(added.stdout[added.stdout.index("{"):])
    assert report["documents"] == 2
    assert 0 < report["embedded"] < (report["chunks"] + report["sentences"]) / 4  # only the new document

    again = tagungsbot("documents", "add", str(new), env=env)
    assert again.returncode == 1 and "already in the corpus as forum-wattenmeer-2026.docx" in again.stderr

    listed = tagungsbot("documents", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    docs = {d["id"]: d for d in json.loads(listed.stdout)["documents"]}
    assert set(docs) == {BUNDLED, "forum-wattenmeer-2026.docx"}
    assert docs["forum-wattenmeer-2026.docx"]["indexed"] and docs["forum-wattenmeer-2026.docx"]["chunks"] > 0
    assert docs["forum-wattenmeer-2026.docx"]["place"] == "Husum"
    assert docs["forum-wattenmeer-2026.docx"]["original_filename"] == "forum-wattenmeer-2026.docx"  # from the database

    text = tagungsbot("documents", "list", env=env)
    assert "forum-wattenmeer-2026.docx  [docx" in text.stdout and "indexed" in text.stdout

    removed = tagungsbot("documents", "remove", "forum-wattenmeer-2026.docx", env=env)
    assert removed.returncode == 0, removed.stderr
    assert "removed forum-wattenmeer-2026.docx" in removed.stdout and "1 documents" in removed.stdout
    assert snapshot(corpus) == before
    missing = tagungsbot("documents", "remove", "../../etc/passwd", env=env)
    assert missing.returncode == 1 and "no document '../../etc/passwd'" in missing.stderr
