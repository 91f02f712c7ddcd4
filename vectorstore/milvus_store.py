"""The distributed backend: chunks, documents, sentences and the keyword index in Milvus.

Everything a service replica reads lives in Milvus, so replicas keep no local files
besides the embedding model and any number of them can serve one store. The same code
talks to Milvus Lite's gRPC server, a Milvus standalone or a cluster, chosen by URI.

Collections (P = TAGUNGSBOT_MILVUS_COLLECTION, <set> = P_<8 hex>, one per full build):

    P_meta             one record "current": the published generation, the collection set,
                       the manifest and counters. Replicas poll it (hot re-index).
    <set>_chunks       chunk records, the dense vector (inner product) and a sparse BM25
                       vector computed with our German analysis (`vectorstore.analysis`)
    <set>_sentences    sentence offsets and vectors, read per chunk when answering
    <set>_documents    cleaned document text as JSON, in parts of at most 60 kB
    <set>_terms        keyword vocabulary: term, sparse id, document frequency per
                       generation; gives the query-side IDF weights and the vocabulary
                       for typo correction

Versions are generations. An ingest writes new rows with `gen_from = g+1`, marks the
rows of changed and removed documents with `gen_to = g+1`, and then publishes g+1 in
P_meta. A replica serving g searches with `gen_from <= g and gen_to > g`, so it never
sees half an update, and switches to g+1 at its next poll. Rows that neither of the two
newest generations can see are deleted by the next ingest (deferred delete). A change
of model, dimension or chunking builds a new collection set and switches to it in the
same single-record write; the old set is dropped by the next ingest.

Keyword scores are Lucene BM25, as `bm25s` computes them: the chunk side stores
tf / (tf + k1 * (1 - b + b * len / avgdl)) per term, the query side sends the terms'
IDF, and Milvus' inner product over the sparse vectors adds them up. avgdl is the one
at the time a chunk was written; it drifts slightly between full builds.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import uuid
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass, replace
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from vectorstore.analysis import terms
from vectorstore.errors import StoreCorruptError, StoreIncompatibleError, StoreMissingError, TagungsbotError
from vectorstore.records import StoreContent
from vectorstore.keyword import KeywordHits, KeywordIndex
from vectorstore.manifest import FORMAT_VERSION, Manifest
from vectorstore.records import Chunk, Document, Section
from vectorstore.settings import Settings

log = logging.getLogger("tagungsbot.milvus")

BM25_K1 = 1.5
BM25_B = 0.75
"""BM25 parameters; the same as `bm25s.BM25()` in `keyword.KeywordIndex.build` uses."""

LIVE = 2**62
"""`gen_to` of rows that no generation has retired yet."""

INDEX_TYPES = {
    "HNSW": ({"M": 16, "efConstruction": 200}, lambda k: {"ef": max(64, 2 * k)}),
    "FLAT": ({}, lambda k: {}),
    "IVF_FLAT": ({"nlist": 256}, lambda k: {"nprobe": 16}),
    "AUTOINDEX": ({}, lambda k: {}),
}
"""Dense index types offered by TAGUNGSBOT_MILVUS_INDEX: (build params, search params for k)."""

MAX_TEXT_BYTES = 65_535
MAX_PART_BYTES = 60_000
MAX_NAME_BYTES = 4_096
MAX_TERM_BYTES = 256
BATCH = 1_000
IN_LIST = 500
_DUMMY = [0.0, 0.0]  # Milvus wants a vector in every collection; meta, documents and terms have none of their own.
_COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
_CHUNK_FIELDS = ["id", "chunk_id", "doc_id", "title", "section", "text", "start", "end", "content_hash", "vector"]


class MilvusStoreError(TagungsbotError):
    """Milvus cannot be reached, refused a request, or holds data this version cannot use."""


# -- small pure helpers ---------------------------------------------------------------


def quote(value: str) -> str:
    """A Milvus filter string literal for `value`."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def in_list(field_name: str, values: Sequence[str | int]) -> str:
    """`field in [...]` filter for strings or ints."""
    items = ", ".join(quote(v) if isinstance(v, str) else str(int(v)) for v in values)
    return f"{field_name} in [{items}]"


def visible(generation: int) -> str:
    """Filter for the rows generation `generation` consists of."""
    return f"gen_from <= {generation} and gen_to > {generation}"


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


def split_utf8(text: str, limit: int = MAX_PART_BYTES) -> list[str]:
    """Split `text` into pieces of at most `limit` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8")
    parts: list[str] = []
    begin = 0
    while begin < len(data):
        end = min(begin + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(data[begin:end].decode("utf-8"))
        begin = end
    return parts or [""]


def term_counts(text: str) -> Counter[str]:
    """Keyword terms of a chunk's embedding text and how often each occurs."""
    return Counter(t for t in terms(text) if len(t.encode("utf-8")) <= MAX_TERM_BYTES)


def idf(df: int, n: int) -> float:
    """Lucene IDF, as bm25s computes it."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def chunk_weights(counts: Mapping[str, int], ids: Mapping[str, int], length: int, avgdl: float) -> dict[int, float]:
    """Chunk-side BM25 term weights, keyed by sparse term id."""
    norm = BM25_K1 * (1.0 - BM25_B + BM25_B * length / (avgdl or 1.0))
    return {ids[t]: tf / (tf + norm) for t, tf in counts.items() if t in ids}


def document_json(doc: Document) -> str:
    return json.dumps(
        {
            "doc_id": doc.doc_id, "title": doc.title, "text": doc.text, "source_path": doc.source_path,
            "source_hash": doc.source_hash, "sections": [[s.start, s.heading] for s in doc.sections],
            "metadata": doc.metadata,
        },
        ensure_ascii=False,
    )


def document_from_json(raw: str) -> Document:
    data = json.loads(raw)
    return Document(
        doc_id=data["doc_id"], title=data["title"], text=data["text"], source_path=data["source_path"],
        source_hash=data["source_hash"], sections=tuple(Section(int(s), str(h)) for s, h in data["sections"]),
        metadata=data.get("metadata", {}),
    )


def chunk_from_entity(entity: Mapping[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=entity["chunk_id"], doc_id=entity["doc_id"], title=entity["title"], section=entity["section"] or None,
        text=entity["text"], start=int(entity["start"]), end=int(entity["end"]), content_hash=entity["content_hash"],
    )


def _check_bytes(value: str, limit: int, what: str, fix: str) -> str:
    size = len(value.encode("utf-8"))
    if size > limit:
        raise MilvusStoreError(f"{what} is {size} bytes long, Milvus takes at most {limit}; {fix}")
    return value


# -- the published state ---------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """The record P_meta["current"]: what replicas serve and what the next ingest continues from."""

    generation: int
    prefix: str
    manifest: Manifest
    next_row: int = 0
    next_term: int = 0
    chunk_count: int = 0
    sentence_count: int = 0
    document_count: int = 0
    total_length: int = 0
    retired_prefixes: tuple[str, ...] = ()

    def to_json(self) -> str:
        data = asdict(self)
        data["manifest"] = replace(self.manifest, files={}).to_json()
        data["retired_prefixes"] = list(self.retired_prefixes)
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str, where: str) -> "Published":
        try:
            data = json.loads(raw)
            manifest_data = data.pop("manifest")
            if manifest_data.get("format_version") != FORMAT_VERSION:
                raise StoreIncompatibleError(
                    f"the Milvus store at {where} has format version {manifest_data.get('format_version')!r}, this "
                    f"tagungsbot reads version {FORMAT_VERSION}; re-run `tagungsbot ingest` to rebuild it"
                )
            data["retired_prefixes"] = tuple(data.get("retired_prefixes", ()))
            return cls(manifest=Manifest(**manifest_data), **data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise StoreCorruptError(
                f"the version record in {where} is unreadable ({type(exc).__name__}: {exc}); "
                f"re-run `tagungsbot ingest` to publish a new version"
            ) from exc

    @property
    def avgdl(self) -> float:
        return self.total_length / self.chunk_count if self.chunk_count else 1.0


@dataclass(frozen=True)
class CollectionSet:
    """Names of the four data collections of one full build."""

    prefix: str

    @property
    def chunks(self) -> str:
        return f"{self.prefix}_chunks"

    @property
    def sentences(self) -> str:
        return f"{self.prefix}_sentences"

    @property
    def documents(self) -> str:
        return f"{self.prefix}_documents"

    @property
    def terms(self) -> str:
        return f"{self.prefix}_terms"

    def all(self) -> tuple[str, ...]:
        return (self.chunks, self.sentences, self.documents, self.terms)


# -- connection ------------------------------------------------------------------------


class MilvusConnection:
    """One `MilvusClient` per process, opened on first use; every call's errors made readable."""

    def __init__(self, uri: str, token: str, collection: str, timeout_s: float) -> None:
        if not _COLLECTION_NAME.match(collection):
            raise MilvusStoreError(
                f"TAGUNGSBOT_MILVUS_COLLECTION={collection!r} is not a valid Milvus collection name; use letters, "
                f"digits and underscores, starting with a letter (e.g. tagungsbot)"
            )
        self.uri = uri
        self.collection = collection
        self.meta = f"{collection}_meta"
        self.timeout_s = timeout_s
        self._token = token
        self._client: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "MilvusConnection":
        return cls(settings.milvus_uri, settings.milvus_token, settings.milvus_collection, settings.milvus_timeout_s)

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    from pymilvus import MilvusClient
                except ImportError as exc:
                    raise MilvusStoreError(
                        "TAGUNGSBOT_VECTOR_BACKEND=milvus needs pymilvus; run `pip install -e '.[milvus]'`"
                    ) from exc
                # pymilvus logs every failed call with a traceback (and its iterators warn on
                # Milvus Lite); we raise our own error with the same message and a fix instead.
                for name in ("pymilvus", "pymilvus.milvus_client"):
                    logging.getLogger(name).setLevel(logging.CRITICAL)
                try:
                    self._client = MilvusClient(uri=self.uri, token=self._token, timeout=self.timeout_s)
                except Exception as exc:  # pymilvus raises MilvusException or grpc errors
                    raise self._error("connect", exc) from exc
            return self._client

    def call(self, action: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """`client.<method>(*args, **kwargs)`; failures become a `MilvusStoreError` naming `action`.

        Two failures are repaired: an unreachable Milvus (restarting, a proxy failing over)
        is tried twice more after 0.5 s and 1 s, and a collection that is not loaded (Milvus
        Lite after a restart, a cluster after a release) is loaded once.
        """
        waits = [0.5, 1.0]
        loaded = False
        while True:
            client = self.client
            try:
                return getattr(client, method)(*args, timeout=self.timeout_s, **kwargs)
            except TagungsbotError:
                raise
            except Exception as exc:
                if waits and _unreachable(exc):
                    log.warning("Milvus at %s unreachable (%s); trying again", self.uri, _message(exc))
                    time.sleep(waits.pop(0))
                    continue
                if not loaded and _not_loaded(exc) and args and isinstance(args[0], str):
                    loaded = True
                    log.warning("Milvus collection %s was not loaded; loading it", args[0])
                    try:
                        client.load_collection(args[0], timeout=self.timeout_s)
                    except Exception as load_exc:
                        raise self._error(action, load_exc) from load_exc
                    continue
                raise self._error(action, exc) from exc

    def _error(self, action: str, exc: Exception) -> MilvusStoreError:
        message = _message(exc)
        if _unreachable(exc):
            fix = (
                "check that Milvus is running there and reachable, or set TAGUNGSBOT_MILVUS_URI "
                "(and TAGUNGSBOT_MILVUS_TOKEN if it requires authentication)"
            )
        else:
            fix = "if the collections were changed by hand, re-run `tagungsbot ingest` to rebuild them"
        return MilvusStoreError(f"Milvus at {self.uri}: {action} failed ({message}); {fix}")

    def has(self, name: str) -> bool:
        return bool(self.call(f"look up collection {name}", "has_collection", name))

    def published(self) -> Published | None:
        """The current version record, or None when nothing was ever published."""
        if not self.has(self.meta):
            return None
        rows = self.call("read the version record", "query", self.meta, filter='key == "current"', output_fields=["value"])
        if not rows:
            return None
        return Published.from_json(rows[0]["value"], f"{self.uri} ({self.meta})")

    def published_for_rebuild(self) -> Published | None:
        """The version record, or None when it is missing or from an older tagungsbot (then ingest rebuilds)."""
        try:
            return self.published()
        except (StoreIncompatibleError, StoreCorruptError) as exc:
            log.warning("%s; building a new store", exc)
            return None

    def iterate(self, collection: str, filter_expr: str, fields: list[str], batch_size: int = 4_096) -> Iterator[dict]:
        """All rows matching `filter_expr`, in pages (Milvus caps a single query's result size)."""
        iterator = self.call(
            f"read {collection}", "query_iterator", collection, batch_size=batch_size, filter=filter_expr, output_fields=fields
        )
        try:
            while True:
                try:
                    page = iterator.next()
                except Exception as exc:
                    raise self._error(f"read {collection}", exc) from exc
                if not page:
                    return
                yield from page
        finally:
            iterator.close()

    def count(self, collection: str, filter_expr: str) -> int:
        rows = self.call(f"count rows of {collection}", "query", collection, filter=filter_expr, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0


# -- reading ---------------------------------------------------------------------------


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
            for entity in s.conn.call("read chunks", "query", s.names.chunks, filter=in_list("id", part), output_fields=_CHUNK_FIELDS):
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


class MilvusKeywordIndex(KeywordIndex):
    """BM25 over the sparse vectors in `<set>_chunks`; typo correction as in `KeywordIndex`.

    Query analysis and correction are inherited, so both backends treat a question the
    same way; only the scoring runs in Milvus.
    """

    def __init__(self, store: "MilvusStore", vocabulary: dict[str, tuple[int, int]]) -> None:
        super().__init__(SimpleNamespace(vocab_dict={t: i for t, (i, _df) in vocabulary.items()}), len(store.chunks))  # type: ignore[arg-type]
        self._store = store
        self._terms = vocabulary

    def query_weights(self, query: str) -> dict[int, float]:
        """Sparse query vector: IDF of each (corrected) query term, keyed by term id."""
        n = self._store.published.chunk_count
        weights: dict[int, float] = {}
        for term in self.query_terms(query):
            found = self._terms.get(term)
            if found is not None:
                weights[found[0]] = idf(found[1], n)
        return weights

    def search(self, query: str, k: int) -> KeywordHits:
        weights = self.query_weights(query)
        k = min(k, self._store.published.chunk_count)
        if not weights or k <= 0:
            return KeywordHits(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        rows, scores = self._store.search_field("sparse", weights, k, {"metric_type": "IP", "params": {}})
        keep = scores > 0
        return KeywordHits(rows[keep], scores[keep])

    def save(self, directory) -> None:  # pragma: no cover - the vocabulary lives in Milvus
        raise TypeError("the Milvus keyword index lives in Milvus and is written by `tagungsbot ingest`")


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
            filter=visible(self.generation), output_fields=_CHUNK_FIELDS, search_params=params,
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


# -- writing ---------------------------------------------------------------------------


def _schema_chunks(client: Any, dim: int) -> Any:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("chunk_id", DataType.VARCHAR, max_length=MAX_NAME_BYTES)
    s.add_field("doc_id", DataType.VARCHAR, max_length=MAX_NAME_BYTES)
    s.add_field("doc_key", DataType.VARCHAR, max_length=MAX_NAME_BYTES + 32)
    s.add_field("title", DataType.VARCHAR, max_length=MAX_NAME_BYTES)
    s.add_field("section", DataType.VARCHAR, max_length=MAX_NAME_BYTES)
    s.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    s.add_field("start", DataType.INT64)
    s.add_field("end", DataType.INT64)
    s.add_field("content_hash", DataType.VARCHAR, max_length=64)
    s.add_field("length", DataType.INT64)
    s.add_field("gen_from", DataType.INT64)
    s.add_field("gen_to", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    return s


def _schema_sentences(client: Any, dim: int) -> Any:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("chunk_row", DataType.INT64)
    s.add_field("doc_key", DataType.VARCHAR, max_length=MAX_NAME_BYTES + 32)
    s.add_field("start", DataType.INT64)
    s.add_field("end", DataType.INT64)
    s.add_field("gen_from", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    return s


def _schema_documents(client: Any, _dim: int) -> Any:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("part_id", DataType.VARCHAR, is_primary=True, max_length=MAX_NAME_BYTES + 64)
    s.add_field("doc_id", DataType.VARCHAR, max_length=MAX_NAME_BYTES)
    s.add_field("doc_key", DataType.VARCHAR, max_length=MAX_NAME_BYTES + 32)
    s.add_field("source_hash", DataType.VARCHAR, max_length=64)
    s.add_field("part", DataType.INT64)
    s.add_field("parts", DataType.INT64)
    s.add_field("body", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    s.add_field("gen_from", DataType.INT64)
    s.add_field("gen_to", DataType.INT64)
    s.add_field("_v", DataType.FLOAT_VECTOR, dim=2)
    return s


def _schema_terms(client: Any, _dim: int) -> Any:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=MAX_TERM_BYTES + 24)  # term@generation
    s.add_field("term", DataType.VARCHAR, max_length=MAX_TERM_BYTES)
    s.add_field("term_id", DataType.INT64)
    s.add_field("df", DataType.INT64)
    s.add_field("gen_from", DataType.INT64)
    s.add_field("gen_to", DataType.INT64)
    s.add_field("_v", DataType.FLOAT_VECTOR, dim=2)
    return s


def _schema_meta(client: Any, _dim: int) -> Any:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    s.add_field("value", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    s.add_field("_v", DataType.FLOAT_VECTOR, dim=2)
    return s


class MilvusWriter:
    """Publishes generations: full builds into a new collection set, or in-place updates."""

    incremental = True

    def __init__(self, conn: MilvusConnection, index_type: str = "HNSW") -> None:
        if index_type not in INDEX_TYPES:
            raise MilvusStoreError(
                f"TAGUNGSBOT_MILVUS_INDEX={index_type!r} is not offered; use one of {', '.join(INDEX_TYPES)}"
            )
        self.conn = conn
        self.index_type = index_type

    @classmethod
    def from_settings(cls, settings: Settings) -> "MilvusWriter":
        return cls(MilvusConnection.from_settings(settings), settings.milvus_index)

    def served_manifest(self) -> Manifest | None:
        """Manifest of the served generation; `files` maps each doc_id to its source hash."""
        published = self.conn.published_for_rebuild()
        if published is None:
            return None
        names = CollectionSet(published.prefix)
        rows = self.conn.iterate(names.documents, f"part == 0 and {visible(published.generation)}", ["doc_id", "source_hash"])
        files = {r["doc_id"]: r["source_hash"] for r in rows}
        return replace(published.manifest, files=files, chunk_count=published.chunk_count)

    def write(self, content: StoreContent, manifest: Manifest, retire: Sequence[str] = (), rebuild: bool = False) -> Manifest:
        """Retire documents `retire`, add `content`, publish as `manifest.version`; return the manifest.

        A document in `content` replaces the served one with its doc_id. `rebuild` (or no
        store yet) writes a new collection set holding `content` only.
        """
        if len(content.chunks) != len(content.vectors):
            raise ValueError("every chunk needs exactly one vector")
        previous = self.conn.published_for_rebuild()
        if previous is not None and not rebuild and previous.manifest.dimension != manifest.dimension:
            raise StoreIncompatibleError(
                f"the Milvus store holds {previous.manifest.dimension}-d vectors, the model gives {manifest.dimension}-d; "
                f"a full rebuild is needed (`tagungsbot ingest` does it when the model changes)"
            )
        update = _Update(self.conn, previous, manifest.dimension, self.index_type, fresh=rebuild or previous is None)
        update.prepare()
        update.retire(sorted(set(retire) | {doc.doc_id for doc in content.documents}))
        update.add(content)
        update.save_vocabulary()
        update.flush()
        published = update.publish(manifest)
        update.collect_garbage()
        return published.manifest


class _Update:
    """The work of one ingest on Milvus: from the published generation g to g+1."""

    def __init__(self, conn: MilvusConnection, previous: Published | None, dim: int, index_type: str, fresh: bool) -> None:
        self.conn = conn
        self.previous = previous
        self.dim = dim
        self.index_type = index_type
        self.fresh = fresh
        self.generation = (previous.generation if previous else 0) + 1
        if fresh:
            self.names = CollectionSet(f"{conn.collection}_{uuid.uuid4().hex[:8]}")
            self.next_row = self.next_term = 0
            self.chunk_count = self.sentence_count = self.document_count = self.total_length = 0
        else:
            assert previous is not None
            self.names = CollectionSet(previous.prefix)
            self.next_row, self.next_term = previous.next_row, previous.next_term
            self.chunk_count, self.sentence_count = previous.chunk_count, previous.sentence_count
            self.document_count, self.total_length = previous.document_count, previous.total_length
        self.vocabulary: dict[str, list[int]] = {}  # term → [term_id, df]
        self.served_df: dict[str, int] = {}  # df of each term in the served generation
        self.served_key: dict[str, str] = {}  # primary key of that term's row
        self.term_of_id: dict[int, str] = {}
        self.touched: set[str] = set()

    # -- setup

    def prepare(self) -> None:
        """Create collections (full build) or undo what an interrupted ingest left behind."""
        if self.previous is not None:  # without a readable record, nothing is known to be unused
            self._drop_strays()
        if not self.conn.has(self.conn.meta):
            self._create(self.conn.meta, _schema_meta, {"_v": ("FLAT", {})})
        if self.fresh:
            dense = (self.index_type, INDEX_TYPES[self.index_type][0])
            self._create(self.names.chunks, _schema_chunks, {"vector": dense, "sparse": ("SPARSE_INVERTED_INDEX", {})})
            self._create(self.names.sentences, _schema_sentences, {"vector": ("FLAT", {})})
            self._create(self.names.documents, _schema_documents, {"_v": ("FLAT", {})})
            self._create(self.names.terms, _schema_terms, {"_v": ("FLAT", {})})
            return
        self._roll_back()
        rows = list(self.conn.iterate(self.names.terms, visible(self.generation - 1), ["key", "term", "term_id", "df"], batch_size=16_384))
        self.vocabulary = {r["term"]: [int(r["term_id"]), int(r["df"])] for r in rows}
        self.served_df = {r["term"]: int(r["df"]) for r in rows}
        self.served_key = {r["term"]: r["key"] for r in rows}
        self.term_of_id = {term_id: term for term, (term_id, _df) in self.vocabulary.items()}

    def _create(self, name: str, schema_fn: Callable[[Any, int], Any], indexes: dict[str, tuple[str, dict]]) -> None:
        client = self.conn.client
        params = client.prepare_index_params()
        for field_name, (index_type, index_params) in indexes.items():
            params.add_index(field_name, index_type=index_type, metric_type="IP", params=index_params)
        self.conn.call(f"create collection {name}", "create_collection", name, schema=schema_fn(client, self.dim), consistency_level="Strong")
        # sync=False: the collection is empty, so there is nothing to wait for (pymilvus would poll for 0.5 s per index).
        self.conn.call(f"index collection {name}", "create_index", name, params, sync=False)
        self.conn.call(f"load collection {name}", "load_collection", name)

    def _drop_strays(self) -> None:
        """Drop collection sets neither served nor retired (left by failed full builds or a failed clean-up)."""
        keep = {self.names.prefix}
        if self.previous is not None:
            keep |= {self.previous.prefix, *self.previous.retired_prefixes}
        pattern = re.compile(rf"^{re.escape(self.conn.collection)}_([0-9a-f]{{8}})_(chunks|sentences|documents|terms)$")
        for name in self.conn.call("list collections", "list_collections"):
            match = pattern.match(name)
            if match and f"{self.conn.collection}_{match.group(1)}" not in keep:
                log.info("dropping %s, left over from an interrupted full build", name)
                self.conn.call(f"drop {name}", "drop_collection", name)

    def _roll_back(self) -> bool:
        """Delete rows of an unpublished generation and revive rows it retired; True if there were any."""
        g = self.generation - 1
        names = self.names
        found = False
        for collection in (names.chunks, names.documents, names.sentences, names.terms):
            if self.conn.count(collection, f"gen_from > {g}"):
                found = True
                self.conn.call("undo an interrupted ingest", "delete", collection, filter=f"gen_from > {g}")
        for collection, key in ((names.chunks, "id"), (names.documents, "part_id"), (names.terms, "key")):
            revive = [r[key] for r in self.conn.iterate(collection, f"gen_to > {g} and gen_to < {LIVE}", [key])]
            for part in batches(revive, BATCH):
                found = True
                self.conn.call("undo an interrupted ingest", "upsert", collection, [{key: k, "gen_to": LIVE} for k in part], partial_update=True)
        if found:
            log.warning("undid the rows of an interrupted ingest in %s", names.prefix)
        return found

    # -- changes

    def retire(self, doc_ids: list[str]) -> None:
        """Hide the served versions of `doc_ids` from the new generation."""
        if self.fresh or not doc_ids:
            return
        g, names = self.generation - 1, self.names
        for part in batches(doc_ids, IN_LIST):
            docs = list(self.conn.iterate(names.documents, f"{in_list('doc_id', part)} and {visible(g)}", ["part_id", "doc_key", "part"]))
            keys = sorted({d["doc_key"] for d in docs})
            if not keys:
                continue
            for key_part in batches(keys, IN_LIST):
                chunks = list(self.conn.iterate(names.chunks, f"{in_list('doc_key', key_part)} and {visible(g)}", ["id", "sparse", "length"]))
                for rows in batches(chunks, BATCH):
                    self.conn.call("retire chunks", "upsert", names.chunks, [{"id": r["id"], "gen_to": self.generation} for r in rows], partial_update=True)
                for row in chunks:
                    for term_id in _sparse_keys(row["sparse"]):
                        self._count_term_id(int(term_id), -1)
                self.chunk_count -= len(chunks)
                self.total_length -= sum(int(r["length"]) for r in chunks)
                self.sentence_count -= self.conn.count(names.sentences, in_list("doc_key", key_part))
            for rows in batches(docs, BATCH):
                self.conn.call("retire documents", "upsert", names.documents, [{"part_id": d["part_id"], "gen_to": self.generation} for d in rows], partial_update=True)
            self.document_count -= len(keys)

    def _count_term_id(self, term_id: int, delta: int) -> None:
        term = self.term_of_id.get(term_id)
        if term is not None:
            self.vocabulary[term][1] += delta
            self.touched.add(term)

    def add(self, content: StoreContent) -> None:
        """Insert documents, chunks (dense + BM25 sparse vectors) and sentences of the new generation."""
        g = self.generation
        keys = {doc.doc_id: f"{doc.doc_id}@g{g}" for doc in content.documents}
        self._insert(self.names.documents, self._document_rows(content.documents, keys))
        counts = [term_counts(c.embedding_text()) for c in content.chunks]
        for chunk_terms in counts:
            for term in chunk_terms:
                if term not in self.vocabulary:
                    self.vocabulary[term] = [self.next_term, 0]
                    self.term_of_id[self.next_term] = term
                    self.next_term += 1
                self.vocabulary[term][1] += 1
                self.touched.add(term)
        lengths = [sum(c.values()) for c in counts]
        self.chunk_count += len(content.chunks)
        self.total_length += sum(lengths)
        self.document_count += len(content.documents)
        avgdl = self.total_length / self.chunk_count if self.chunk_count else 1.0
        ids = {t: v[0] for t, v in self.vocabulary.items()}
        first_row = self.next_row
        self.next_row += len(content.chunks)
        chunk_rows = []
        for i, (chunk, tf, length) in enumerate(zip(content.chunks, counts, lengths)):
            chunk_rows.append({
                "id": first_row + i,
                "chunk_id": _check_bytes(chunk.chunk_id, MAX_NAME_BYTES, f"chunk id {chunk.chunk_id[:80]!r}", "shorten the file name"),
                "doc_id": chunk.doc_id, "doc_key": keys[chunk.doc_id],
                "title": _check_bytes(chunk.title, MAX_NAME_BYTES, f"title of {chunk.doc_id}", "shorten the title"),
                "section": _check_bytes(chunk.section or "", MAX_NAME_BYTES, f"a heading in {chunk.doc_id}", "shorten the heading"),
                "text": _check_bytes(chunk.text, MAX_TEXT_BYTES, f"a chunk of {chunk.doc_id}", "lower TAGUNGSBOT_CHUNK_SIZE"),
                "start": chunk.start, "end": chunk.end, "content_hash": chunk.content_hash, "length": length,
                "gen_from": g, "gen_to": LIVE,
                "vector": np.asarray(content.vectors[i], dtype=np.float32).tolist(),
                "sparse": chunk_weights(tf, ids, length, avgdl),
            })
        self._insert(self.names.chunks, chunk_rows)
        sentences = np.asarray(content.sentences, dtype=np.int64).reshape(-1, 3)
        first_sentence = self.next_row
        self.next_row += len(sentences)
        self.sentence_count += len(sentences)
        sentence_rows = [
            {
                "id": first_sentence + i, "chunk_row": first_row + int(chunk_row),
                "doc_key": keys[content.chunks[int(chunk_row)].doc_id], "start": int(start), "end": int(end),
                "gen_from": g, "vector": np.asarray(content.sentence_vectors[i], dtype=np.float32).tolist(),
            }
            for i, (chunk_row, start, end) in enumerate(sentences)
        ]
        self._insert(self.names.sentences, sentence_rows)

    def _document_rows(self, documents: Iterable[Document], keys: Mapping[str, str]) -> list[dict]:
        rows = []
        for doc in documents:
            _check_bytes(doc.doc_id, MAX_NAME_BYTES, f"document id {doc.doc_id[:80]!r}", "shorten the file's path below the corpus folder")
            parts = split_utf8(document_json(doc))
            for i, body in enumerate(parts):
                rows.append({
                    "part_id": f"{keys[doc.doc_id]}/{i}", "doc_id": doc.doc_id, "doc_key": keys[doc.doc_id],
                    "source_hash": doc.source_hash, "part": i, "parts": len(parts), "body": body,
                    "gen_from": self.generation, "gen_to": LIVE, "_v": _DUMMY,
                })
        return rows

    def _insert(self, collection: str, rows: list[dict]) -> None:
        for part in batches(rows, BATCH):
            self.conn.call(f"insert into {collection}", "insert", collection, list(part))

    def save_vocabulary(self) -> None:
        """New rows for terms whose document frequency changed; their served rows are retired."""
        g = self.generation
        changed = sorted(t for t in self.touched if self.vocabulary[t][1] != self.served_df.get(t, 0))
        retired = [{"key": self.served_key[t], "gen_to": g} for t in changed if t in self.served_key]
        for part in batches(retired, BATCH * 4):
            self.conn.call("save the keyword vocabulary", "upsert", self.names.terms, list(part), partial_update=True)
        rows = [
            {"key": f"{t}@{g}", "term": t, "term_id": self.vocabulary[t][0], "df": self.vocabulary[t][1],
             "gen_from": g, "gen_to": LIVE, "_v": _DUMMY}
            for t in changed if self.vocabulary[t][1] > 0
        ]
        self._insert(self.names.terms, rows)

    # -- switch and clean up

    def flush(self) -> None:
        """Seal what this ingest wrote into indexed segments (once per ingest, as Milvus advises)."""
        for name in self.names.all():
            self.conn.call(f"flush {name}", "flush", name)

    def publish(self, manifest: Manifest) -> Published:
        """Switch every replica to the new generation: one upsert of the version record."""
        retired = (self.previous.prefix,) if self.fresh and self.previous is not None else ()
        manifest = replace(
            manifest, backend="milvus", index_type=self.index_type, chunk_count=self.chunk_count,
            extra={**manifest.extra, "sentences": self.sentence_count, "generation": self.generation, "collections": self.names.prefix},
        )
        published = Published(
            generation=self.generation, prefix=self.names.prefix, manifest=manifest, next_row=self.next_row,
            next_term=self.next_term, chunk_count=self.chunk_count, sentence_count=self.sentence_count,
            document_count=self.document_count, total_length=self.total_length, retired_prefixes=retired,
        )
        value = published.to_json()
        if len(value.encode("utf-8")) > MAX_TEXT_BYTES:
            slim = replace(manifest, extra={**manifest.extra, "skipped": manifest.extra.get("skipped", [])[:50]})
            published = replace(published, manifest=slim)
            value = published.to_json()
        self.conn.call("publish the new version", "upsert", self.conn.meta, [{"key": "current", "value": value, "_v": _DUMMY}])
        return published

    def collect_garbage(self) -> None:
        """Delete what neither the new nor the previous generation can see; drop retired sets.

        Runs after publishing, so a failure here costs disk space, never correctness; the
        next ingest tries again.
        """
        try:
            if self.previous is not None and not self.fresh:
                self._delete_invisible(self.previous.generation)
            for prefix in self.previous.retired_prefixes if self.previous else ():
                for name in CollectionSet(prefix).all():
                    if self.conn.has(name):
                        self.conn.call(f"drop {name}", "drop_collection", name)
        except TagungsbotError as exc:
            log.warning("clean-up of old rows failed, the next ingest retries: %s", exc)

    def _delete_invisible(self, older: int) -> None:
        names = self.names
        gone = sorted({r["doc_key"] for r in self.conn.iterate(names.documents, f"gen_to <= {older}", ["doc_key"])})
        for part in batches(gone, IN_LIST):
            self.conn.call("delete old sentences", "delete", names.sentences, filter=in_list("doc_key", part))
        self.conn.call("delete old chunks", "delete", names.chunks, filter=f"gen_to <= {older}")
        self.conn.call("delete old documents", "delete", names.documents, filter=f"gen_to <= {older}")
        self.conn.call("delete old terms", "delete", names.terms, filter=f"gen_to <= {older}")


def _message(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)


def _unreachable(exc: Exception) -> bool:
    """Whether the call failed because Milvus could not be reached."""
    message = _message(exc).lower()
    return getattr(exc, "code", None) == 2 or "connect" in message or "unavailable" in message


def _not_loaded(exc: Exception) -> bool:
    """Whether Milvus refused because the collection is not loaded (released)."""
    message = _message(exc).lower()
    return "not loaded" in message or "released" in message or "load()" in message


def _sparse_keys(value: Any) -> Iterable[int]:
    """Term ids of a sparse vector as pymilvus returns it (a dict, or a scipy row)."""
    if isinstance(value, Mapping):
        return (int(k) for k in value)
    indices = getattr(value, "indices", None)
    return (int(k) for k in indices) if indices is not None else ()
