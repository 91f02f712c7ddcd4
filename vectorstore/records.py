"""Plain data records that ingest writes, the store keeps and the service reads."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a text (UTF-8); used for content hashes of files and chunks."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Section:
    """A heading and the character offset in the cleaned text where its section starts."""

    start: int
    heading: str


@dataclass(frozen=True)
class Document:
    """One cleaned corpus document: the text that citations point into, plus metadata."""

    doc_id: str
    title: str
    text: str
    source_path: str
    source_hash: str
    sections: tuple[Section, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The stored form (every backend stores documents as this JSON object)."""
        return {
            "doc_id": self.doc_id, "title": self.title, "text": self.text, "source_path": self.source_path,
            "source_hash": self.source_hash, "sections": [[s.start, s.heading] for s in self.sections],
            "metadata": self.metadata,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Document":
        return cls(
            doc_id=data["doc_id"], title=data["title"], text=data["text"], source_path=data["source_path"],
            source_hash=data["source_hash"], sections=tuple(Section(int(s), str(h)) for s, h in data.get("sections", [])),
            metadata=data.get("metadata", {}),
        )

    def section_at(self, offset: int) -> str | None:
        """Heading of the section that contains `offset`, or None before the first heading."""
        current: str | None = None
        for section in self.sections:
            if section.start > offset:
                break
            current = section.heading
        return current


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: `text == document.text[start:end]` always holds."""

    chunk_id: str
    doc_id: str
    title: str
    section: str | None
    text: str
    start: int
    end: int
    content_hash: str

    def embedding_text(self) -> str:
        """What is embedded and keyword-indexed: title and heading give a chunk its context."""
        parts = [self.title]
        if self.section and self.section != self.title:
            parts.append(self.section)
        parts.append(self.text)
        return "\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Chunk":
        return cls(**data)


@dataclass(frozen=True)
class StoreContent:
    """Everything a new store version consists of, as produced by ingest; every backend's
    writer takes it (FAISS and Milvus alike)."""

    documents: list[Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    sentences: np.ndarray
    sentence_vectors: np.ndarray
