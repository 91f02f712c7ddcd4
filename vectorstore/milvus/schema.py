"""How the store lies in Milvus: collection names and schemas, the version record, row encodings.

Collections (P = TAGUNGSBOT_MILVUS_COLLECTION, <set> = P_<8 hex>, one per full build):

    P_meta             one record "current": the published generation, the collection set,
                       the manifest and counters. Replicas poll it (hot re-index).
    <set>_chunks       chunk records, the dense vector (inner product) and a sparse BM25
                       vector computed with our German analysis (`vectorstore.text.analysis`)
    <set>_sentences    sentence offsets and vectors, read per chunk when answering
    <set>_documents    cleaned document text as JSON, in parts of at most 60 kB
    <set>_terms        keyword vocabulary: term, sparse id, document frequency per
                       generation; gives the query-side IDF weights and the vocabulary
                       for typo correction

Rows carry `gen_from` and `gen_to`: generation g consists of the rows `visible(g)`, so a
replica serving g never sees half of the next ingest (see `writer`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping

from vectorstore.errors import StoreCorruptError, StoreIncompatibleError
from vectorstore.manifest import FORMAT_VERSION, Manifest
from vectorstore.records import Chunk, Document

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
DUMMY = [0.0, 0.0]  # Milvus wants a vector in every collection; meta, documents and terms have none of their own.
CHUNK_FIELDS = ["id", "chunk_id", "doc_id", "title", "section", "text", "start", "end", "content_hash", "vector"]


def visible(generation: int) -> str:
    """Filter for the rows generation `generation` consists of."""
    return f"gen_from <= {generation} and gen_to > {generation}"


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


def document_json(doc: Document) -> str:
    return json.dumps(doc.to_json(), ensure_ascii=False)


def document_from_json(raw: str) -> Document:
    return Document.from_json(json.loads(raw))


def chunk_from_entity(entity: Mapping[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=entity["chunk_id"], doc_id=entity["doc_id"], title=entity["title"], section=entity["section"] or None,
        text=entity["text"], start=int(entity["start"]), end=int(entity["end"]), content_hash=entity["content_hash"],
    )


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


# -- collection schemas (pymilvus is imported only when a collection is created)


def schema_chunks(client: Any, dim: int) -> Any:
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


def schema_sentences(client: Any, dim: int) -> Any:
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


def schema_documents(client: Any, _dim: int) -> Any:
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


def schema_terms(client: Any, _dim: int) -> Any:
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


def schema_meta(client: Any, _dim: int) -> Any:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    s.add_field("value", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    s.add_field("_v", DataType.FLOAT_VECTOR, dim=2)
    return s
