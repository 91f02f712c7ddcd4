"""The store on disk: atomic versions, and refusal of anything damaged or foreign."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vectorstore.errors import StoreCorruptError, StoreIncompatibleError, StoreMissingError
from vectorstore.faiss_store import FaissStore, StoreContent, choose_index_type, write_store
from vectorstore.layout import clean_up, current_dir, current_version, start_version
from vectorstore.manifest import Manifest, folder_checksums
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


def reseal(version_dir: Path) -> None:
    """Record the checksums of the files as they are now: a store written inconsistent by a
    bug (checksums match), as opposed to one damaged after writing."""
    data = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    data["checksums"] = folder_checksums(version_dir)
    (version_dir / "manifest.json").write_text(json.dumps(data), encoding="utf-8")


def test_chunk_count_mismatch_is_reported(tmp_path: Path) -> None:
    path = write_tiny(tmp_path)
    lines = (path / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    (path / "chunks.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(StoreCorruptError, match="chunks.jsonl .* is damaged or truncated"):
        FaissStore.load(tmp_path)
    reseal(path)
    with pytest.raises(StoreCorruptError, match="inconsistent"):
        FaissStore.load(tmp_path)


def test_manifest_records_a_checksum_of_every_store_file(tmp_path: Path) -> None:
    path = write_tiny(tmp_path)
    checksums = FaissStore.load(tmp_path).manifest.checksums
    files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert sorted(checksums) == files and "index.faiss" in files and any(f.startswith("keyword/") for f in files)
    assert all(v.startswith("sha256:") and len(v) == 7 + 64 for v in checksums.values())


@pytest.mark.parametrize("name", ["index.faiss", "vectors.npy", "sentence_vectors.npy", "sentences.npy", "documents.jsonl"])
def test_a_flipped_byte_in_any_store_file_is_refused_with_the_file_named(tmp_path: Path, name: str) -> None:
    path = write_tiny(tmp_path)
    data = bytearray((path / name).read_bytes())
    data[len(data) - 3] ^= 0x01  # one bit in the payload, which no parser would notice
    (path / name).write_bytes(bytes(data))
    with pytest.raises(StoreCorruptError, match=f"store file {name} in .* is damaged or truncated"):
        FaissStore.load(tmp_path)


def test_a_missing_store_file_is_named(tmp_path: Path) -> None:
    path = write_tiny(tmp_path)
    (path / "sentence_vectors.npy").unlink()
    with pytest.raises(StoreCorruptError, match="sentence_vectors.npy in .* is missing"):
        FaissStore.load(tmp_path)


def test_store_without_checksums_is_refused_for_serving_but_readable_for_ingest(tmp_path: Path) -> None:
    path = write_tiny(tmp_path)
    data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    del data["checksums"]  # as written before checksums existed
    (path / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StoreCorruptError, match="no file checksums .* re-run `tagungsbot ingest`"):
        FaissStore.load(tmp_path)
    assert len(FaissStore.load(tmp_path, require_checksums=False).chunks) == 3


def test_sentence_rows_out_of_range_are_refused_at_load(tmp_path: Path) -> None:
    path = write_tiny(tmp_path)
    sentences = np.load(path / "sentences.npy")
    sentences[1, 0] = 7  # a chunk row the store does not have
    np.save(path / "sentences.npy", sentences)
    reseal(path)
    with pytest.raises(StoreCorruptError, match="sentences.npy row 1 refers to chunk row 7, but there are 3 chunks"):
        FaissStore.load(tmp_path)
    sentences[1] = (1, 0, 10_000)  # offsets past the chunk's end
    np.save(path / "sentences.npy", sentences)
    reseal(path)
    with pytest.raises(StoreCorruptError, match="sentences.npy row 1 has offsets outside its chunk"):
        FaissStore.load(tmp_path)


def test_zeroed_vectors_are_refused_at_load(tmp_path: Path) -> None:
    path = write_tiny(tmp_path)
    vectors = np.load(path / "vectors.npy")
    np.save(path / "vectors.npy", np.zeros_like(vectors))
    reseal(path)
    with pytest.raises(StoreCorruptError, match="vectors.npy row 0 has norm 0, not 1"):
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
