"""The visible structure of a cleaned document: headings, paragraphs, lists, the lead.

Ingest joins a document's blocks with a blank line and consecutive list items with a
single line break, marking bullet items "• " and numbered ones "1. " (see
`ingest.cleaning`). Headings are their own block, at the offsets the document's sections
record. From that the layout is read back once per document, so list and overview
answers can quote items and paragraphs with exact offsets.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Literal, Mapping

from vectorstore.records import Document

BlockKind = Literal["title", "heading", "paragraph", "list"]
_ITEM = re.compile(r"^(?:[•\-*–]\s+|\d{1,3}[.)]\s+)")


@dataclass(frozen=True)
class Block:
    """A block of the document text; for a list, `items` are the (start, end) of each item's
    text without its bullet or number."""

    kind: BlockKind
    start: int
    end: int
    section: str | None
    items: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Layout:
    doc_id: str
    blocks: tuple[Block, ...]

    def block_at(self, offset: int) -> int | None:
        """Index of the block that contains `offset`."""
        for i, block in enumerate(self.blocks):
            if block.start <= offset < block.end or (block.start <= offset and offset == block.end):
                return i
        return None

    def lead(self, max_paragraphs: int = 2) -> list[Block]:
        """The paragraphs before the first heading (after the title): what the document is about."""
        out: list[Block] = []
        for block in self.blocks:
            if block.kind == "heading":
                break
            if block.kind == "paragraph":
                out.append(block)
                if len(out) >= max_paragraphs:
                    break
        return out

    def headings(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == "heading"]

    def section_blocks(self, heading_index: int) -> list[Block]:
        """The blocks under the heading at `heading_index`, up to the next heading."""
        out = []
        for block in self.blocks[heading_index + 1 :]:
            if block.kind in {"heading", "title"}:
                break
            out.append(block)
        return out

    def list_near(self, offset: int) -> Block | None:
        """The list an offset belongs to: the list containing it, or one that directly follows the
        paragraph containing it (the paragraph introduces the list)."""
        i = self.block_at(offset)
        if i is None:
            return None
        if self.blocks[i].kind == "list":
            return self.blocks[i]
        if i + 1 < len(self.blocks) and self.blocks[i + 1].kind == "list":
            return self.blocks[i + 1]
        return None


def parse_layout(doc: Document) -> Layout:
    text = doc.text
    headings = {s.start: s.heading for s in doc.sections}
    blocks: list[Block] = []
    section: str | None = None
    for m in re.finditer(r"[^\n](?:.|\n(?!\n))*", text):
        start, end = m.start(), m.end()
        body = m.group(0)
        if start in headings and body.strip() == headings[start].strip():
            section = headings[start]
            blocks.append(Block("heading", start, end, section))
            continue
        if not blocks and body.strip() == (doc.title or "").strip():
            blocks.append(Block("title", start, end, None))
            continue
        lines = []
        offset = start
        for line in body.split("\n"):
            lines.append((offset, offset + len(line), line))
            offset += len(line) + 1
        if all(_ITEM.match(line) for _, _, line in lines if line.strip()):
            items = []
            for s, e, line in lines:
                marker = _ITEM.match(line)
                if marker and line[marker.end():].strip():
                    items.append((s + marker.end(), e))
            blocks.append(Block("list", start, end, section, tuple(items)))
        else:
            blocks.append(Block("paragraph", start, end, section))
    return Layout(doc.doc_id, tuple(blocks))


class Layouts:
    """Layouts of a store's documents, parsed on first use and kept (documents do not change
    within a store version)."""

    def __init__(self, documents: Mapping[str, Document]) -> None:
        self.documents = documents
        self._cache: dict[str, Layout] = {}
        self._lock = threading.Lock()

    def run(self, doc_id: str) -> Layout:
        layout = self._cache.get(doc_id)
        if layout is None:
            layout = parse_layout(self.documents[doc_id])
            with self._lock:
                if len(self._cache) > 2048:
                    self._cache.clear()
                self._cache[doc_id] = layout
        return layout


def first_sentences(text: str, spans: tuple[tuple[int, int], ...] | list[tuple[int, int]], limit: int = 12) -> list[tuple[int, int]]:
    """The first sentence of each span (a list item may run over several sentences; a list
    answer quotes each item's opening sentence), at most `limit` of them."""
    from vectorstore.text.sentences import split_sentences  # the splitter ingest used for the sentence table

    out = []
    for start, end in list(spans)[:limit]:
        found = split_sentences(text, start, end)
        out.append(found[0] if found else (start, end))
    return out
