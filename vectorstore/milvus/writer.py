"""Ingest's side: `MilvusWriter` publishes generations, as full builds or in-place updates.

Versions are generations. An ingest writes new rows with `gen_from = g+1`, marks the
rows of changed and removed documents with `gen_to = g+1`, and then publishes g+1 in
P_meta. A replica serving g searches with `gen_from <= g and gen_to > g`, so it never
sees half an update, and switches to g+1 at its next poll. Rows that neither of the two
newest generations can see are deleted by the next ingest (deferred delete). A change
of model, dimension or chunking builds a new collection set and switches to it in the
same single-record write; the old set is dropped by the next ingest.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from vectorstore.errors import StoreIncompatibleError, TagungsbotError
from vectorstore.manifest import Manifest
from vectorstore.milvus.connection import BATCH, IN_LIST, MilvusConnection, MilvusStoreError, batches, in_list
from vectorstore.milvus.keyword import chunk_weights, term_counts
from vectorstore.milvus.schema import (
    DUMMY, INDEX_TYPES, LIVE, MAX_NAME_BYTES, MAX_TEXT_BYTES, CollectionSet, Published, document_json,
    schema_chunks, schema_documents, schema_meta, schema_sentences, schema_terms, split_utf8, visible,
)
from vectorstore.records import Document, StoreContent
from vectorstore.settings import Settings

log = logging.getLogger("tagungsbot.milvus")


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
            self._create(self.conn.meta, schema_meta, {"_v": ("FLAT", {})})
        if self.fresh:
            dense = (self.index_type, INDEX_TYPES[self.index_type][0])
            self._create(self.names.chunks, schema_chunks, {"vector": dense, "sparse": ("SPARSE_INVERTED_INDEX", {})})
            self._create(self.names.sentences, schema_sentences, {"vector": ("FLAT", {})})
            self._create(self.names.documents, schema_documents, {"_v": ("FLAT", {})})
            self._create(self.names.terms, schema_terms, {"_v": ("FLAT", {})})
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
                    "gen_from": self.generation, "gen_to": LIVE, "_v": DUMMY,
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
             "gen_from": g, "gen_to": LIVE, "_v": DUMMY}
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
        self.conn.call("publish the new version", "upsert", self.conn.meta, [{"key": "current", "value": value, "_v": DUMMY}])
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


def _check_bytes(value: str, limit: int, what: str, fix: str) -> str:
    size = len(value.encode("utf-8"))
    if size > limit:
        raise MilvusStoreError(f"{what} is {size} bytes long, Milvus takes at most {limit}; {fix}")
    return value


def _sparse_keys(value: Any) -> Iterable[int]:
    """Term ids of a sparse vector as pymilvus returns it (a dict, or a scipy row)."""
    if isinstance(value, Mapping):
        return (int(k) for k in value)
    indices = getattr(value, "indices", None)
    return (int(k) for k in indices) if indices is not None else ()
