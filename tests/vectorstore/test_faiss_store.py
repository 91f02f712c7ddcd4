"""The store on disk: atomic versions, and refusal of anything damaged or foreign."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vectorstore.errors import StoreCorruptError, StoreIncompatibleError, StoreMissingError
from vectorstore.faiss_store import FaissStore, StoreContent, choose_index_type, write_store
from vectorstore.layout import clean_up, current_dir, current_version, start_version
from vectorstore.manifest import Manifest
from vectorstore.records import Chunk, Document


def tiny_content(texts: list[str], dim: int = 8) -> StoreContent:
    text = "\n\n".join(texts)
    doc = Document("a.md", "A", text, "a.md", "h")
    chunks, offset = [], 0
    for i, t in enumerate(texts):
        chunks.append(Chunk(f"a.md#{i}", "a.md", "A", None, t, offset, offset + len(t), f"h{i}"))
        offset += len(t) + 2
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(texts), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sentences = np.asarray([(i, c.start, c.end) for i, c in enumerate(chunks)], dtype=np.int64)
    return StoreContent([doc], chunks, vectors, sentences, vectors.copy())


def tiny_manifest(count: int, version: str, model: str = "m", dim: int = 8) -> Manifest:
    return Manifest(version, model, dim, 600, 100, {"a.md": "h"}, count, choose_index_type(count))


def write_tiny(index_dir: Path, version: str = "v1", texts: list[str] | None = None) -> Path:
    texts = texts or ["Heiko Königstein präsentierte BAKIRA.", "Anja Roth sprach über Führung.", "Berlin im Oktober."]
    return write_store(index_dir, tiny_content(texts), tiny_manifest(len(texts), version))


def test_written_store_loads_and_finds_its_own_vectors(tmp_path: Path) -> None:
    write_tiny(tmp_path)
    store = FaissStore.load(tmp_path)
    rows, scores = store.search(store.vectors[1], 2)
    assert rows[0] == 1 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert store.keyword.search("Königstein BAKIRA", 3).rows[0] == 0
    assert list(store.sentence_rows(2)) == [2]


def test_new_version_replaces_current_and_old_versions_are_pruned(tmp_path: Path) -> None:
    for i in range(5):
        write_tiny(tmp_path, version=f"v{i}")
    assert current_version(tmp_path) == "v4"
    clean_up(tmp_path)
    assert sorted(p.name for p in (tmp_path / "versions").iterdir()) == ["v2", "v3", "v4"]


def test_half_written_version_is_never_served_and_is_cleaned_up(tmp_path: Path) -> None:
    write_tiny(tmp_path, version="v1")
    tmp = start_version(tmp_path)
    (tmp / "chunks.jsonl").write_text("{half", encoding="utf-8")
    assert FaissStore.load(tmp_path).manifest.version == "v1"
    clean_up(tmp_path)
    assert not tmp.exists()


def test_missing_store_says_to_run_ingest(tmp_path: Path) -> None:
    with pytest.raises(StoreMissingError, match="tagungsbot ingest"):
        FaissStore.load(tmp_path / "leer")


def test_pointer_to_a_deleted_version_is_reported(tmp_path: Path) -> None:
    write_tiny(tmp_path)
    (tmp_path / "CURRENT").write_text("gibt-es-nicht\n", encoding="utf-8")
    with pytest.raises(StoreCorruptError, match="gibt-es-nicht"):
        current_dir(tmp_path)


def test_truncated_index_file_is_reported_as_damaged(tmp_path: Path) -> None:
    path = write_tiny(tmp_path)
    data = (path / "index.faiss").read_bytes()
    (path / "index.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreCorruptError, match="re-run `tagungsbot ingest`"):
        FaissStore.load(tmp_path)


def test_chunk_count_mismatch_is_reported(tmp_path: Path) -> None:
    path = write_tiny(tmp_path)
    lines = (path / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    (path / "chunks.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(StoreCorruptError, match="inconsistent"):
        FaissStore.load(tmp_path)


def test_other_format_version_is_refused(tmp_path: Path) -> None:
    path = write_tiny(tmp_path)
    data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    data["format_version"] = 99
    (path / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StoreIncompatibleError, match="format version"):
        FaissStore.load(tmp_path)


def test_store_of_another_model_is_refused_with_the_fix(tmp_path: Path) -> None:
    write_tiny(tmp_path)
    manifest = FaissStore.load(tmp_path).manifest
    with pytest.raises(StoreIncompatibleError, match="TAGUNGSBOT_EMBEDDING_MODEL=m"):
        manifest.check_model("anderes-modell")
    with pytest.raises(StoreIncompatibleError, match="384-d"):
        manifest.check_model("m", 384)


def test_large_stores_switch_from_exact_to_approximate_search() -> None:
    assert choose_index_type(10_000) == "Flat"
    assert choose_index_type(1_000_000) != "Flat"
