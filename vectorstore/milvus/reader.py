"""The served side: `MilvusSource` opens the generation the version record names as a `MilvusStore`.

A `MilvusStore` reads only that generation's rows (`visible(g)`) and keeps nothing but
caches, so replicas share one store and switch to a new generation at their next poll.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from vectorstore.errors import StoreCorruptError, StoreMissingError
from vectorstore.milvus.connection import IN_LIST, MilvusConnection, batches, in_list, quote
from vectorstore.milvus.keyword import MilvusKeywordIndex
from vectorstore.milvus.schema import (
    CHUNK_FIELDS, INDEX_TYPES, CollectionSet, Published, chunk_from_entity, document_from_json, visible,
)
from vectorstore.records import Chunk, Document
from vectorstore.settings import Settings


class _LRU(OrderedDict):
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._lock = threading.RLock()

    def get_or(self, key: Any, load: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self:
                self.move_to_end(key)
                return self[key]
        value = load()
        self.put(key, value)
        return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self[key] = value
            self.move_to_end(key)
            while len(self) > self._size:
                self.popitem(last=False)


class Recent(threading.local):
    """Rows the current thread's last searches returned: what its request will read next."""

    def __init__(self) -> None:
        self.rows: list[int] = []

    def add(self, rows: Iterable[int]) -> None:
        self.rows = (self.rows + [int(r) for r in rows])[-256:]


class ChunkRows:
    """Chunk records and vectors by primary key; filled from search results, fetched when missing."""

    def __init__(self, store: "MilvusStore", size: int = 50_000) -> None:
        self._store = store
        self._cache = _LRU(size)  # row → (Chunk, vector)

    def remember(self, entity: Mapping[str, Any]) -> None:
        self._cache.put(int(entity["id"]), (chunk_from_entity(entity), np.asarray(entity["vector"], dtype=np.float32)))

    def __getitem__(self, row: int) -> Chunk:
        return self._entries([int(row)])[0][0]

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros((0, self._store.manifest.dimension), dtype=np.float32)
        return np.stack([vector for _chunk, vector in self._entries([int(r) for r in rows])])

    def _entries(self, rows: list[int]) -> list[tuple[Chunk, np.ndarray]]:
        missing = sorted({r for r in rows if r not in self._cache})
        s = self._store
        for part in batches(missing, IN_LIST):
            for entity in s.conn.call("read chunks", "query", s.names.chunks, filter=in_list("id", part), output_fields=CHUNK_FIELDS):
                self.remember(entity)
        out = []
        for row in rows:
            entry = self._cache.get(row)
            if entry is None:
                raise KeyError(row)
            out.append(entry)
        return out

    def __len__(self) -> int:
        return self._store.published.chunk_count


class ChunkVectors:
    """`store.vectors[rows]` → (n, dim) float32 chunk vectors."""

    def __init__(self, chunks: ChunkRows) -> None:
        self._chunks = chunks

    def __getitem__(self, rows: Sequence[int]) -> np.ndarray:
        return self._chunks.vectors(list(np.asarray(rows).reshape(-1).tolist()))


class SentenceRows:
    """Sentences per chunk, read from Milvus in one query for all chunks a search just returned."""

    def __init__(self, store: "MilvusStore", size: int = 5_000) -> None:
        self._store = store
        self._by_chunk = _LRU(size)  # chunk row → sentence rows
        self._records: dict[int, tuple[int, int, int]] = {}
        self._vectors: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def rows_of(self, chunk_row: int) -> list[int]:
        chunk_row = int(chunk_row)
        found = self._by_chunk.get(chunk_row)
        if found is None:
            wanted = [chunk_row] + [r for r in self._store.recent.rows if r != chunk_row and r not in self._by_chunk]
            found = self._load(sorted(set(wanted[:IN_LIST])))[chunk_row]
        return found

    def _load(self, chunk_rows: list[int]) -> dict[int, list[int]]:
        s = self._store
        hits = s.conn.call(
            "read sentences", "query", s.names.sentences, filter=in_list("chunk_row", chunk_rows),
            output_fields=["id", "chunk_row", "start", "end", "vector"], limit=16_384,
        )
        grouped: dict[int, list[dict]] = {r: [] for r in chunk_rows}
        for hit in hits:
            grouped[int(hit["chunk_row"])].append(hit)
        with self._lock:
            if len(self._records) > 200_000:  # the per-chunk LRU bounds use; this bounds the lookup tables
                self._records.clear()
                self._vectors.clear()
                self._by_chunk.clear()
            for chunk_row, group in grouped.items():
                group.sort(key=lambda h: int(h["start"]))
                for h in group:
                    self._records[int(h["id"])] = (chunk_row, int(h["start"]), int(h["end"]))
                    self._vectors[int(h["id"])] = np.asarray(h["vector"], dtype=np.float32)
                self._by_chunk.put(chunk_row, [int(h["id"]) for h in group])
        return {chunk_row: [int(h["id"]) for h in group] for chunk_row, group in grouped.items()}

    def record(self, row: int) -> tuple[int, int, int]:
        found = self._records.get(int(row))
        if found is None:
            self._fetch([int(row)])
            found = self._records[int(row)]
        return found

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        missing = [int(r) for r in rows if int(r) not in self._vectors]
        if missing:
            self._fetch(missing)
        if not rows:
            return np.zeros((0, self._store.manifest.dimension), dtype=np.float32)
        return np.stack([self._vectors[int(r)] for r in rows])

    def _fetch(self, rows: list[int]) -> None:
        s = self._store
        for part in batches(rows, IN_LIST):
            hits = s.conn.call(
                "read sentences", "query", s.names.sentences, filter=in_list("id", part),
                output_fields=["id", "chunk_row", "start", "end", "vector"],
            )
            with self._lock:
                for h in hits:
                    self._records[int(h["id"])] = (int(h["chunk_row"]), int(h["start"]), int(h["end"]))
                    self._vectors[int(h["id"])] = np.asarray(h["vector"], dtype=np.float32)
        lost = [r for r in rows if r not in self._records]
        if lost:
            raise KeyError(lost[0])


class SentenceTable:
    """`store.sentences[row]` → (chunk_row, start, end)."""

    def __init__(self, rows: SentenceRows, count: int) -> None:
        self._rows = rows
        self._count = count

    def __getitem__(self, row: int) -> tuple[int, int, int]:
        return self._rows.record(int(row))

    def __len__(self) -> int:
        return self._count


class SentenceVectors:
    """`store.sentence_vectors[[row, ...]]` → (n, dim) float32."""

    def __init__(self, rows: SentenceRows) -> None:
        self._rows = rows

    def __getitem__(self, rows: Sequence[int]) -> np.ndarray:
        return self._rows.vectors(list(rows))


class DocumentMap(Mapping[str, Document]):
    """Documents of one generation by doc_id, read from Milvus on first use."""

    def __init__(self, store: "MilvusStore", size: int = 256) -> None:
        self._store = store
        self._cache = _LRU(size)

    def __getitem__(self, doc_id: str) -> Document:
        return self._cache.get_or(doc_id, lambda: self._fetch(doc_id))

    def _fetch(self, doc_id: str) -> Document:
        s = self._store
        parts = s.conn.call(
            "read a document", "query", s.names.documents,
            filter=f"doc_id == {quote(doc_id)} and {visible(s.generation)}", output_fields=["part", "parts", "body"],
        )
        if not parts:
            raise KeyError(doc_id)
        return self._assemble(doc_id, parts)

    def _assemble(self, doc_id: str, parts: list[dict]) -> Document:
        parts = sorted(parts, key=lambda p: int(p["part"]))
        if len(parts) != int(parts[0]["parts"]):
            raise StoreCorruptError(
                f"document {doc_id!r} in {self._store.names.documents} has {len(parts)} of {parts[0]['parts']} parts; "
                f"re-run `tagungsbot ingest`"
            )
        return document_from_json("".join(p["body"] for p in parts))

    def items(self) -> Iterator[tuple[str, Document]]:  # type: ignore[override]
        """Every document of this generation, read page by page (not one query per document)."""
        s = self._store
        pending: dict[str, list[dict]] = {}
        for row in s.conn.iterate(s.names.documents, visible(s.generation), ["doc_id", "part", "parts", "body"], batch_size=256):
            parts = pending.setdefault(row["doc_id"], [])
            parts.append(row)
            if len(parts) == int(row["parts"]):
                del pending[row["doc_id"]]
                doc = self._assemble(row["doc_id"], parts)
                self._cache.put(doc.doc_id, doc)
                yield doc.doc_id, doc
        if pending:
            raise StoreCorruptError(f"documents {sorted(pending)[:3]} in {s.names.documents} are incomplete; re-run `tagungsbot ingest`")

    def values(self) -> Iterator[Document]:  # type: ignore[override]
        return (doc for _doc_id, doc in self.items())

    def __iter__(self) -> Iterator[str]:
        s = self._store
        for row in s.conn.iterate(s.names.documents, f"part == 0 and {visible(s.generation)}", ["doc_id"]):
            yield row["doc_id"]

    def __len__(self) -> int:
        return self._store.published.document_count


class MilvusStore:
    """One published generation, read from Milvus; safe to share between request threads.

    Holds only caches: chunk records seen in search results, sentences and documents of
    recently answered passages, and the keyword vocabulary (for IDF and typo correction).
    """

    def __init__(self, conn: MilvusConnection, published: Published) -> None:
        self.conn = conn
        self.published = published
        self.manifest = published.manifest
        self.generation = published.generation
        self.names = CollectionSet(published.prefix)
        self.path = f"{conn.uri}#{published.prefix}@{published.generation}"
        self.recent = Recent()
        self.chunks = ChunkRows(self)
        self.vectors = ChunkVectors(self.chunks)
        self.documents = DocumentMap(self)
        self._sentences = SentenceRows(self)
        self.sentences = SentenceTable(self._sentences, published.sentence_count)
        self.sentence_vectors = SentenceVectors(self._sentences)
        self.keyword = MilvusKeywordIndex(self, self._load_vocabulary())
        self._search_params = INDEX_TYPES.get(self.manifest.index_type, INDEX_TYPES["AUTOINDEX"])[1]

    def _load_vocabulary(self) -> dict[str, tuple[int, int]]:
        rows = self.conn.iterate(self.names.terms, visible(self.generation), ["term", "term_id", "df"], batch_size=16_384)
        return {r["term"]: (int(r["term_id"]), int(r["df"])) for r in rows}

    def search(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows (primary keys) and cosine scores of the `k` nearest chunks, best first."""
        k = min(k, self.published.chunk_count)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        vector = np.asarray(query_vector, dtype=np.float32).reshape(-1).tolist()
        return self.search_field("vector", vector, k, {"metric_type": "IP", "params": self._search_params(k)})

    def search_field(self, field_name: str, query: Any, k: int, params: dict) -> tuple[np.ndarray, np.ndarray]:
        """Search one vector field among this generation's chunks; remember the records found."""
        result = self.conn.call(
            "search chunks", "search", self.names.chunks, data=[query], anns_field=field_name, limit=k,
            filter=visible(self.generation), output_fields=CHUNK_FIELDS, search_params=params,
        )
        hits = list(result[0]) if result else []
        for hit in hits:
            self.chunks.remember({**hit["entity"], "id": hit["id"]})
        self.recent.add(int(h["id"]) for h in hits)
        rows = np.asarray([int(h["id"]) for h in hits], dtype=np.int64)
        scores = np.asarray([float(h["distance"]) for h in hits], dtype=np.float32)
        return rows, scores

    def sentence_rows(self, chunk_row: int) -> list[int]:
        """Sentence rows (primary keys) of one chunk, in text order."""
        return self._sentences.rows_of(chunk_row)


class MilvusSource:
    """Serves the generation P_meta names; `current_version` is one small query (polled)."""

    def __init__(self, conn: MilvusConnection) -> None:
        self.conn = conn

    @classmethod
    def from_settings(cls, settings: Settings) -> "MilvusSource":
        return cls(MilvusConnection.from_settings(settings))

    def current_version(self) -> str | None:
        published = self.conn.published()
        return published.manifest.version if published else None

    def open(self) -> MilvusStore:
        published = self.conn.published()
        if published is None:
            raise StoreMissingError(
                f"no tagungsbot store in Milvus at {self.conn.uri} (collection {self.conn.collection!r}): run "
                f"`tagungsbot ingest` with the same TAGUNGSBOT_MILVUS_URI and TAGUNGSBOT_MILVUS_COLLECTION first"
            )
        return MilvusStore(self.conn, published)
