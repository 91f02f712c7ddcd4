"""Turn loaded blocks into one clean document text with section offsets.

The cleaned text is what citations point into: `text[start:end]` of a citation is
shown to the user, so cleaning happens once, here, before any offset is taken.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ingest.loaders import LoadedFile
from vectorstore.records import Document, Section, sha256_text

_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b\u00ad]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f]+")
_MISSING_SPACE = re.compile(r"(?<=[a-zäöüß]{3}[.!?])(?=[A-ZÄÖÜ][a-zäöüß])")


def clean_inline(text: str) -> str:
    """Normalise one block: NFC, no control characters, single spaces, a space after a glued full stop."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    return _MISSING_SPACE.sub(" ", text)


def doc_id_for(path: Path, corpus_dir: Path) -> str:
    """Stable id of a document: its path below the corpus folder, with forward slashes."""
    return path.relative_to(corpus_dir).as_posix()


def clean(loaded: LoadedFile, corpus_dir: Path, source_hash: str) -> Document:
    """Join the blocks into the document text (blank line between blocks) and record sections."""
    pieces: list[str] = []
    sections: list[Section] = []
    offset = 0
    title = clean_inline(loaded.title) if loaded.title else None
    for block in loaded.blocks:
        text = clean_inline(block.text)
        if not text:
            continue
        if pieces:
            separator = "\n" if block.kind == "list_item" and _last_kind(loaded, pieces) else "\n\n"
            pieces.append(separator)
            offset += len(separator)
        if block.section:
            sections.append(Section(offset, block.section))
        if block.kind == "heading" and not (block.level == 1 and text == title and not sections):
            sections.append(Section(offset, text))
        elif block.kind == "heading" and title is None:
            title = text
        pieces.append(text)
        offset += len(text)
    body = "".join(pieces)
    doc_id = doc_id_for(loaded.path, corpus_dir)
    return Document(
        doc_id=doc_id,
        title=title or loaded.path.stem.replace("_", " ").replace("-", " "),
        text=body,
        source_path=doc_id,
        source_hash=source_hash or sha256_text(body),
        sections=tuple(sections),
        metadata=dict(loaded.metadata),
    )


def _last_kind(loaded: LoadedFile, pieces: list[str]) -> bool:
    """True when the previous non-separator piece was a list item (keeps lists tight)."""
    last = next((p for p in reversed(pieces) if p not in {"\n", "\n\n"}), "")
    return last.startswith("• ") or bool(re.match(r"^\d+\. ", last))
