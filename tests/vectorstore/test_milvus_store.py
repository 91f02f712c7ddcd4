"""The Milvus backend against a real `milvus-lite server` process, over gRPC.

The records are the real corpus, loaded, cleaned, chunked and split by the ingest
modules; the vectors are seeded random unit vectors, because these tests are about
what the store keeps and returns, not about the model (tests/service covers that).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace

import numpy as np
import pytest

from ingest.chunking import Chunker, ChunkingConfig
from ingest.cleaning import clean
from ingest.loaders import load_file
from tests.conftest import CORPUS, free_port
from tests.milvus_lite import MilvusLiteServer, milvus_server, start_milvus_lite  # noqa: F401  (fixture)
from vectorstore.errors import StoreIncompatibleError, StoreMissingError
from vectorstore.keyword import KeywordIndex
from vectorstore.layout import new_version_name
from vectorstore.manifest import Manifest
from vectorstore.milvus import CollectionSet, MilvusConnection, MilvusSource, MilvusStoreError, MilvusWriter
from vectorstore.milvus.schema import split_utf8
from vectorstore.milvus.writer import _Update
from vectorstore.records import StoreContent
from vectorstore.records import Document, sha256_text
from vectorstore.settings import Settings
from vectorstore.store import FaissSource, VectorStore, check_backend, open_writer, store_source
from vectorstore.text.sentences import split_sentences

DIM = 16


def unit_vectors(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def content_of(documents: list[Document], seed: int = 0) -> StoreContent:
    """Chunks and sentences exactly as ingest makes them, with seeded random vectors."""
    chunker = Chunker(ChunkingConfig(600, 100))
    chunks, sentences = [], []
    for doc in documents:
        for chunk in chunker.run(doc):
            for start, end in split_sentences(doc.text, chunk.start, chunk.end):
                sentences.append((len(chunks), start, end))
            chunks.append(chunk)
    return StoreContent(
        documents, chunks, unit_vectors(len(chunks), seed),
        np.asarray(sentences, dtype=np.int64).reshape(-1, 3), unit_vectors(len(sentences), seed + 1000),
    )


def corpus_document() -> Document:
    path = sorted(CORPUS.glob("*.md"))[0]
    return clean(load_file(path, 50_000_000), CORPUS, sha256_text(path.read_text(encoding="utf-8")))


def text_document(doc_id: str, text: str) -> Document:
    return Document(doc_id=doc_id, title=doc_id.removesuffix(".md").title(), text=text, source_path=doc_id, source_hash=sha256_text(text))


def manifest_for(content: StoreContent) -> Manifest:
    return Manifest(
        version=new_version_name(), model="test-model", dimension=DIM, chunk_size=600, chunk_overlap=100,
        files={d.doc_id: d.source_hash for d in content.documents}, chunk_count=len(content.chunks), index_type="HNSW",
    )


@pytest.fixture()
def conn(milvus_server: MilvusLiteServer) -> MilvusConnection:
    """A connection to a collection name of its own, so tests do not see each other's data."""
    return MilvusConnection(milvus_server.uri, "", f"t_{uuid.uuid4().hex[:10]}", 10.0)


BERLIN = "Die Fachtagung in Berlin war gut besucht. Es ging um Qualitätsarbeit im Jobcenter."
BREMEN = "Das Jobcenter Bremen stellte seine Sprechstunde vor. Sie findet montags statt."


def test_round_trip_keeps_records_and_citation_offsets(conn: MilvusConnection) -> None:
    doc = corpus_document()
    content = content_of([doc])
    MilvusWriter(conn).write(content, manifest_for(content), rebuild=True)
    store = MilvusSource(conn).open()
    assert isinstance(store, VectorStore)
    assert len(store.chunks) == len(content.chunks) and len(store.documents) == 1
    assert len(store.sentences) == len(content.sentences)
    assert store.documents[doc.doc_id] == doc
    for i in (0, len(content.chunks) // 2, len(content.chunks) - 1):
        rows, scores = store.search(content.vectors[i], 3)
        assert store.chunks[int(rows[0])] == content.chunks[i]
        np.testing.assert_allclose(store.vectors[rows[:1]], content.vectors[[i]], atol=1e-6)
        assert scores[0] == pytest.approx(1.0, abs=1e-4)
        sentence_rows = store.sentence_rows(int(rows[0]))
        expected = [tuple(s[1:]) for s in content.sentences if s[0] == i]
        assert [tuple(store.sentences[r][1:]) for r in sentence_rows] == expected
        want = content.sentence_vectors[[j for j, s in enumerate(content.sentences) if s[0] == i]]
        np.testing.assert_allclose(store.sentence_vectors[sentence_rows], want, atol=1e-6)
        chunk = store.chunks[int(rows[0])]
        assert store.documents[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text


def test_keyword_scores_match_bm25s_and_typos_are_corrected(conn: MilvusConnection) -> None:
    content = content_of([corpus_document()])
    MilvusWriter(conn).write(content, manifest_for(content), rebuild=True)
    store = MilvusSource(conn).open()
    reference = KeywordIndex.build([c.embedding_text() for c in content.chunks])
    assert store.keyword.vocabulary.keys() == reference.vocabulary.keys()
    for query in ["BAKIRA", "Wer hat BAKRIA vorgestellt?", "Innovationsräume Stuttgart", "Koenigstein", "Fachtagung Oktober 2025"]:
        mine, theirs = store.keyword.search(query, 5), reference.search(query, 5)
        assert len(mine.rows) > 0, query
        chunk_index = {store.chunks[int(r)].chunk_id: float(s) for r, s in zip(mine.rows, mine.scores)}
        reference_scores = {content.chunks[int(r)].chunk_id: float(s) for r, s in zip(theirs.rows, theirs.scores)}
        assert chunk_index.keys() == reference_scores.keys(), query
        for chunk_id, score in reference_scores.items():
            assert chunk_index[chunk_id] == pytest.approx(score, rel=1e-4), (query, chunk_id)
    assert store.keyword.correct("bakria") == "bakira"
    assert store.keyword.correct("franc") is None


def test_update_retires_changed_and_removed_documents_and_old_readers_keep_their_version(conn: MilvusConnection) -> None:
    writer = MilvusWriter(conn)
    berlin, bremen = text_document("berlin.md", BERLIN), text_document("bremen.md", BREMEN)
    first = content_of([berlin, bremen], seed=1)
    writer.write(first, manifest_for(first), rebuild=True)
    source = MilvusSource(conn)
    old = source.open()

    bremen_new = text_document("bremen.md", BREMEN.replace("montags", "dienstags"))
    second = content_of([bremen_new], seed=2)
    published = writer.write(second, manifest_for(second), retire=["berlin.md", "bremen.md"])
    new = source.open()

    assert source.current_version() == published.version != old.manifest.version
    assert set(new.documents) == {"bremen.md"} and new.documents["bremen.md"].text == bremen_new.text
    assert set(old.documents) == {"berlin.md", "bremen.md"} and old.documents["bremen.md"].text == BREMEN
    assert len(new.chunks) == len(second.chunks) and len(new.sentences) == len(second.sentences)
    assert len(new.keyword.search("Berlin", 5).rows) == 0, "removed document still found"
    assert len(old.keyword.search("Berlin", 5).rows) == 1, "a reader of the old version lost its rows"
    assert new.keyword.correct("berlin") is None and old.keyword.correct("berlin") == "berlin"
    assert new.chunks[int(new.keyword.search("dienstags", 5).rows[0])].doc_id == "bremen.md"
    assert len(new.keyword.search("montags", 5).rows) == 0
    assert writer.served_manifest().files == {"bremen.md": bremen_new.source_hash}

    names = CollectionSet(new.published.prefix)
    assert conn.count(names.chunks, "id >= 0") == len(first.chunks) + len(second.chunks)  # deferred delete
    third = content_of([], seed=3)
    writer.write(third, manifest_for(third))
    assert conn.count(names.chunks, "id >= 0") == len(second.chunks), "retired rows were not deleted"
    assert conn.count(names.sentences, "id >= 0") == len(second.sentences)
    assert conn.count(names.documents, "part >= 0") == 1


def test_an_interrupted_update_is_undone_by_the_next_ingest(conn: MilvusConnection) -> None:
    writer = MilvusWriter(conn)
    first = content_of([text_document("berlin.md", BERLIN), text_document("bremen.md", BREMEN)], seed=1)
    writer.write(first, manifest_for(first), rebuild=True)
    served = MilvusSource(conn).open()

    crashed = _Update(conn, conn.published(), DIM, "HNSW", fresh=False)  # an ingest killed before publishing
    crashed.prepare()
    crashed.retire(["berlin.md"])
    crashed.add(content_of([text_document("hamburg.md", "Hamburg berichtete über Hamburg.")], seed=5))
    crashed.save_vocabulary()
    assert MilvusSource(conn).current_version() == served.manifest.version
    still = MilvusSource(conn).open()
    assert len(still.keyword.search("Berlin", 5).rows) == 1 and len(still.keyword.search("Hamburg", 5).rows) == 0

    second = content_of([text_document("bremen.md", BREMEN + " Neu.")], seed=6)
    writer.write(second, manifest_for(second), retire=["bremen.md"])
    after = MilvusSource(conn).open()
    assert set(after.documents) == {"berlin.md", "bremen.md"}
    assert len(after.keyword.search("Hamburg", 5).rows) == 0 and after.keyword.correct("hamburg") is None
    assert len(after.keyword.search("Berlin", 5).rows) == 1
    assert after.keyword.query_weights("Berlin") == still.keyword.query_weights("Berlin"), "document frequencies changed"
    assert len(after.chunks) == conn.count(after.names.chunks, f"gen_to > {after.generation}")


def test_a_full_rebuild_switches_collection_sets_and_drops_the_old_one_later(conn: MilvusConnection) -> None:
    writer = MilvusWriter(conn)
    first = content_of([text_document("berlin.md", BERLIN)], seed=1)
    writer.write(first, manifest_for(first), rebuild=True)
    old_prefix = conn.published().prefix
    writer.write(first, manifest_for(first), rebuild=True)
    new_prefix = conn.published().prefix
    assert new_prefix != old_prefix and conn.has(f"{old_prefix}_chunks")
    writer.write(content_of([], seed=2), manifest_for(content_of([], seed=2)))
    assert not conn.has(f"{old_prefix}_chunks") and conn.has(f"{new_prefix}_chunks")
    assert MilvusSource(conn).open().documents["berlin.md"].text == BERLIN


def test_long_documents_are_split_and_joined_exactly(conn: MilvusConnection) -> None:
    text = ("Qualitätsarbeit für Leistungsberechtigte – größer, schöner, übersichtlicher. " * 1600).strip()
    assert len(text.encode("utf-8")) > 2 * 60_000
    assert "".join(split_utf8(text, 1000)) == text and all(len(p.encode()) <= 1000 for p in split_utf8(text, 1000))
    docs = [text_document("lang.md", text), text_document("kurz.md", BERLIN)]
    content = StoreContent(docs, [], np.zeros((0, DIM), np.float32), np.zeros((0, 3), np.int64), np.zeros((0, DIM), np.float32))
    MilvusWriter(conn).write(content, manifest_for(content), rebuild=True)
    assert MilvusSource(conn).open().documents["lang.md"].text == text
    assert dict(MilvusSource(conn).open().documents.items()) == {d.doc_id: d for d in docs}


def test_no_store_yet_and_unreachable_server_say_what_to_do(conn: MilvusConnection) -> None:
    with pytest.raises(StoreMissingError, match="tagungsbot ingest"):
        MilvusSource(conn).open()
    nowhere = MilvusConnection(f"http://127.0.0.1:{free_port()}", "", "tagungsbot", 2.0)
    with pytest.raises(MilvusStoreError, match="TAGUNGSBOT_MILVUS_URI"):
        MilvusSource(nowhere).current_version()
    with pytest.raises(MilvusStoreError, match="TAGUNGSBOT_MILVUS_COLLECTION"):
        MilvusConnection("http://127.0.0.1:1", "", "bad-name!", 1.0)


def test_dimension_change_without_rebuild_is_refused(conn: MilvusConnection) -> None:
    content = content_of([text_document("berlin.md", BERLIN)])
    MilvusWriter(conn).write(content, manifest_for(content), rebuild=True)
    with pytest.raises(Exception, match="full rebuild"):
        MilvusWriter(conn).write(content, replace(manifest_for(content), dimension=DIM * 2))


def test_factories_follow_the_backend_setting(milvus_server: MilvusLiteServer, tmp_path) -> None:
    faiss = Settings(index_dir=tmp_path)
    assert isinstance(store_source(faiss), FaissSource) and not open_writer(faiss).incremental
    milvus = Settings(vector_backend="milvus", milvus_uri=milvus_server.uri, milvus_collection="factory")
    assert open_writer(milvus).incremental and store_source(milvus).current_version() is None
    with pytest.raises(ValueError, match="TAGUNGSBOT_VECTOR_BACKEND='qdrant'.*faiss, milvus"):
        check_backend(Settings(vector_backend="qdrant"))
    with pytest.raises(MilvusStoreError, match="TAGUNGSBOT_MILVUS_INDEX"):
        open_writer(replace(milvus, milvus_index="DISKANN_XL"))


def test_a_reader_fails_clearly_while_milvus_is_down_and_recovers_after_a_restart(tmp_path) -> None:
    server = start_milvus_lite(tmp_path / "data", tmp_path)
    try:
        conn = MilvusConnection(server.uri, "", "restart", 3.0)
        content = content_of([text_document("berlin.md", BERLIN)])
        published = MilvusWriter(conn).write(content, manifest_for(content), rebuild=True)
        store = MilvusSource(conn).open()
        rows, _ = store.search(content.vectors[0], 1)
        server.stop()
        with pytest.raises(MilvusStoreError, match="TAGUNGSBOT_MILVUS_URI"):
            store.search(content.vectors[0], 1)
        server = start_milvus_lite(tmp_path / "data", tmp_path, port=int(server.uri.rsplit(":", 1)[1]))
        # gRPC reconnects with a backoff of a few seconds, longer on a loaded machine: the same
        # store object recovers without being opened again, within 30 s.
        deadline = time.monotonic() + 30
        while True:
            try:
                found = store.search(content.vectors[0], 1)[0]
                break
            except MilvusStoreError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert found.tolist() == rows.tolist()  # collections loaded again
        assert MilvusSource(conn).current_version() == published.version
    finally:
        server.stop()


def test_a_store_from_another_format_version_is_refused_by_readers_and_rebuilt_by_ingest(conn: MilvusConnection) -> None:
    content = content_of([text_document("berlin.md", BERLIN)])
    writer = MilvusWriter(conn)
    writer.write(content, manifest_for(content), rebuild=True)
    record = json.loads(conn.call("read", "query", conn.meta, filter='key == "current"', output_fields=["value"])[0]["value"])
    record["manifest"]["format_version"] = -1
    conn.call("write", "upsert", conn.meta, [{"key": "current", "value": json.dumps(record), "_v": [0.0, 0.0]}])
    with pytest.raises(StoreIncompatibleError, match="tagungsbot ingest"):
        MilvusSource(conn).open()
    assert writer.served_manifest() is None
    writer.write(content, manifest_for(content), rebuild=True)
    assert MilvusSource(conn).open().documents["berlin.md"].text == BERLIN
