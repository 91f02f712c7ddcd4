"""The vector store interface both backends satisfy, and the factories that pick one.

    TAGUNGSBOT_VECTOR_BACKEND=faiss    (default) one folder on local disk, see `faiss_store`
    TAGUNGSBOT_VECTOR_BACKEND=milvus   a Milvus server or cluster, see `vectorstore.milvus`

The service reads through a `StoreSource` (which version is current; open it), ingest
writes through a `StoreWriter`. A *row* is the integer handle that `search` and
`keyword.search` return and that `chunks[...]` and `sentence_rows(...)` accept: FAISS
rows are positions 0..n-1, Milvus rows are primary keys. Callers treat rows as opaque.

Example::

    store = open_store(settings)  # the Settings the caller was given
    rows, scores = store.search(embedder.encode_query("Wer hat PLANTA vorgestellt?"), 5)
    print(store.chunks[int(rows[0])].text)
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from vectorstore.keyword import KeywordHits
from vectorstore.manifest import Manifest
from vectorstore.records import Chunk, Document
from vectorstore.settings import Settings

BACKENDS = ("faiss", "milvus")


class ChunkTable(Protocol):
    """Chunk records by row."""

    def __getitem__(self, row: int) -> Chunk: ...

    def __len__(self) -> int: ...


class SentenceTable(Protocol):
    """Sentence records by sentence row: (chunk_row, start, end), offsets into the document text."""

    def __getitem__(self, row: int) -> Sequence[int]: ...

    def __len__(self) -> int: ...


class VectorTable(Protocol):
    """Chunk or sentence vectors: `table[[row, row, ...]]` gives a (n, dim) float32 array."""

    def __getitem__(self, rows: list[int]) -> np.ndarray: ...


class KeywordSearch(Protocol):
    """The BM25 side of hybrid retrieval, with the typo correction the answer checks use."""

    def search(self, query: str, k: int) -> KeywordHits: ...

    def correct(self, term: str) -> str | None: ...

    def query_terms(self, query: str) -> list[str]: ...


@runtime_checkable
class VectorStore(Protocol):
    """One loaded, immutable store version, as `service` reads it."""

    manifest: Manifest
    documents: Mapping[str, Document]
    chunks: ChunkTable
    vectors: VectorTable
    keyword: KeywordSearch
    sentences: SentenceTable
    sentence_vectors: VectorTable

    def search(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and cosine scores of the `k` nearest chunks, best first."""
        ...

    def sentence_rows(self, chunk_row: int) -> Sequence[int]:
        """Sentence rows of one chunk, in text order."""
        ...


class StoreSource(Protocol):
    """Where the served store comes from; polled by the service for hot re-index."""

    def current_version(self) -> str | None:
        """Name of the version ingest published last, or None when there is none yet (cheap)."""
        ...

    def open(self) -> VectorStore:
        """Load the current version; raises a `TagungsbotError` that says how to fix problems."""
        ...


class StoreWriter(Protocol):
    """Where ingest writes a new version."""

    incremental: bool
    """True: `write` takes only new and changed documents plus the ids of documents to retire.
    False: `write` takes the whole corpus and replaces the store."""

    def served_manifest(self) -> Manifest | None:
        """Manifest of the served version with `files` filled in, or None if there is none."""
        ...

    def write(self, content, manifest: Manifest, retire: Sequence[str] = (), rebuild: bool = False) -> Manifest:
        """Publish `content` as `manifest.version`; return the manifest as published."""
        ...


class FaissSource:
    """The served version of an index folder (the CURRENT pointer, see `layout`)."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir

    def current_version(self) -> str | None:
        from vectorstore.layout import current_version

        return current_version(self.index_dir)

    def open(self) -> VectorStore:
        from vectorstore.faiss_store import FaissStore

        return FaissStore.load(self.index_dir)


class FaissWriter:
    """Writes a complete new version folder and switches CURRENT to it."""

    incremental = False

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir

    def served_manifest(self) -> Manifest | None:
        from vectorstore.layout import current_dir, current_version

        if current_version(self.index_dir) is None:
            return None
        return Manifest.read(current_dir(self.index_dir))

    def write(self, content, manifest: Manifest, retire: Sequence[str] = (), rebuild: bool = False) -> Manifest:
        from vectorstore.faiss_store import write_store
        from vectorstore.layout import clean_up

        self.index_dir.mkdir(parents=True, exist_ok=True)
        write_store(self.index_dir, content, manifest)
        clean_up(self.index_dir)
        return manifest


def copy_faiss_store(index_dir: Path, writer: StoreWriter) -> Manifest:
    """Write the served FAISS store of `index_dir` through `writer` as a full build, embedding nothing.

    The way to move an existing deployment to Milvus: vectors, chunks and sentences are
    taken as they are, so the copy answers exactly as the FAISS store did.
    """
    from dataclasses import replace

    from vectorstore.faiss_store import FaissStore
    from vectorstore.records import StoreContent
    from vectorstore.layout import new_version_name

    store = FaissStore.load(index_dir)
    content = StoreContent(
        list(store.documents.values()), store.chunks, np.asarray(store.vectors), np.asarray(store.sentences),
        np.asarray(store.sentence_vectors),
    )
    return writer.write(content, replace(store.manifest, version=new_version_name()), rebuild=True)


def check_backend(settings: Settings) -> str:
    """The configured backend name; a clear error for anything unknown."""
    backend = settings.vector_backend
    if backend not in BACKENDS:
        raise ValueError(
            f"TAGUNGSBOT_VECTOR_BACKEND={backend!r} is not known; use one of {', '.join(BACKENDS)} "
            f"(faiss: local folder, the default; milvus: a Milvus server at TAGUNGSBOT_MILVUS_URI)"
        )
    return backend


def store_source(settings: Settings) -> StoreSource:
    """The source of served stores for the configured backend."""
    if check_backend(settings) == "milvus":
        from vectorstore.milvus import MilvusSource

        return MilvusSource.from_settings(settings)
    return FaissSource(settings.index_dir)


def open_store(settings: Settings) -> VectorStore:
    """Load the current store of the configured backend."""
    return store_source(settings).open()


def open_writer(settings: Settings) -> StoreWriter:
    """The writer ingest uses for the configured backend."""
    if check_backend(settings) == "milvus":
        from vectorstore.milvus import MilvusWriter

        return MilvusWriter.from_settings(settings)
    return FaissWriter(settings.index_dir)
