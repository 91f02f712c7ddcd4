"""Split documents into overlapping passages with exact character offsets.

Each section (text between two headings) is split on its own with
langchain's `RecursiveCharacterTextSplitter`, preferring paragraph, line and sentence
boundaries, so a chunk never straddles two sections and carries one heading.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from vectorstore.records import Chunk, Document, sha256_text
from vectorstore.settings import Settings

_SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


@dataclass(frozen=True)
class ChunkingConfig:
    """Chunk size and overlap, in characters."""

    size: int = Settings.chunk_size
    overlap: int = Settings.chunk_overlap

    def __post_init__(self) -> None:
        if self.size < 50:
            raise ValueError(f"chunk size {self.size} is too small; use at least 50 characters")
        if not 0 <= self.overlap < self.size:
            raise ValueError(f"chunk overlap {self.overlap} must be at least 0 and below the chunk size {self.size}")


def section_spans(doc: Document) -> list[tuple[int, int, str | None]]:
    """(start, end, heading) of every section body; text before the first heading has heading None."""
    bounds = [s.start for s in doc.sections]
    spans: list[tuple[int, int, str | None]] = []
    starts = [0] + bounds
    ends = bounds + [len(doc.text)]
    for start, end in zip(starts, ends):
        heading = doc.section_at(start) if start in bounds else None
        if heading and doc.text.startswith(heading, start):
            start += len(heading)  # the heading travels as metadata, not as chunk text
        if end > start and doc.text[start:end].strip():
            spans.append((start, end, doc.section_at(start)))
    return spans


class Chunker:
    """Document in, chunks out; `chunk.text == document.text[chunk.start:chunk.end]`."""

    def __init__(self, config: ChunkingConfig) -> None:
        self.config = config
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=config.size,
            chunk_overlap=config.overlap,
            separators=_SEPARATORS,
            keep_separator="end",
            add_start_index=True,
            strip_whitespace=True,
        )

    def run(self, doc: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        for span_start, span_end, heading in section_spans(doc):
            section_text = doc.text[span_start:span_end]
            for piece in self._splitter.create_documents([section_text]):
                local = int(piece.metadata["start_index"])
                if local < 0:  # the splitter could not place the piece; find it ourselves
                    local = section_text.find(piece.page_content)
                start = span_start + local
                end = start + len(piece.page_content)
                text = doc.text[start:end]
                if text != piece.page_content:
                    raise AssertionError(f"chunk offsets drifted in {doc.doc_id} at {start}")
                chunk = Chunk(
                    chunk_id=f"{doc.doc_id}#{start}-{end}",
                    doc_id=doc.doc_id,
                    title=doc.title,
                    section=heading,
                    text=text,
                    start=start,
                    end=end,
                    content_hash="",
                )
                chunks.append(_with_hash(chunk))
        return chunks


def _with_hash(chunk: Chunk) -> Chunk:
    return Chunk(**{**chunk.to_json(), "content_hash": sha256_text(chunk.embedding_text())})
