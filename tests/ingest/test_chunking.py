"""Chunks stay inside one section and point exactly into the cleaned text."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ingest.chunking import Chunker, ChunkingConfig
from vectorstore.records import Document, Section
from vectorstore.text.sentences import split_sentences


def make_doc() -> Document:
    intro = "Einleitung. " * 30
    heading = "Workshops"
    body = " ".join(f"Satz {i} über den Workshop Nummer {i}." for i in range(60))
    text = f"{intro.strip()}\n\n{heading}\n\n{body}"
    return Document("d.md", "Titel", text, "d.md", "h", (Section(text.index(heading), heading),))


def test_chunks_are_exact_slices_and_respect_size() -> None:
    doc = make_doc()
    chunks = Chunker(ChunkingConfig(size=300, overlap=50)).run(doc)
    assert len(chunks) > 4
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= 300


def test_no_chunk_straddles_a_heading_and_headings_are_metadata() -> None:
    doc = make_doc()
    chunks = Chunker(ChunkingConfig(size=300, overlap=50)).run(doc)
    heading_at = doc.sections[0].start
    assert all(c.end <= heading_at or c.start >= heading_at for c in chunks)
    assert all(c.text != "Workshops" for c in chunks)
    assert {c.section for c in chunks} == {None, "Workshops"}
    assert "Workshops" in next(c for c in chunks if c.section).embedding_text()


def test_consecutive_chunks_overlap() -> None:
    chunks = Chunker(ChunkingConfig(size=300, overlap=80)).run(make_doc())
    body = [c for c in chunks if c.section == "Workshops"]
    assert any(b.start < a.end for a, b in zip(body, body[1:]))


def test_content_hash_changes_with_text_only() -> None:
    """The hash is of what is embedded (title, heading, text): the same under another source
    hash; one word changed in the text changes the hash of the chunks that hold it, and only
    theirs; another title changes every chunk's (the title is embedded with each)."""
    doc = make_doc()
    chunker = Chunker(ChunkingConfig(size=300, overlap=50))
    first = chunker.run(doc)
    assert len({c.content_hash for c in first}) == len(first)
    moved = chunker.run(replace(doc, source_hash="other", source_path="elsewhere/d.md"))
    assert [c.content_hash for c in moved] == [c.content_hash for c in first]
    retitled = chunker.run(replace(doc, title="Anderer Titel"))
    assert all(a.content_hash != b.content_hash for a, b in zip(first, retitled))
    position = doc.text.index("Satz 30 ")
    edited = chunker.run(replace(doc, text=doc.text[:position] + "Zeit" + doc.text[position + 4 :]))
    assert [(c.start, c.end) for c in edited] == [(c.start, c.end) for c in first]  # same length, same cuts
    changed = {i for i, (a, b) in enumerate(zip(first, edited)) if a.content_hash != b.content_hash}
    holding = {i for i, c in enumerate(first) if c.start <= position < c.end}
    assert changed == holding and holding


@pytest.mark.parametrize("size,overlap", [(10, 0), (600, 600), (600, -1)])
def test_impossible_chunking_settings_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="chunk"):
        ChunkingConfig(size=size, overlap=overlap)


def test_sentences_keep_abbreviations_and_dates_together() -> None:
    text = "Silvio Witt, Oberbürgermeister a.D. von Neubrandenburg, sprach am 9. Oktober 2025. Dr. Wentzel folgte."
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Silvio Witt, Oberbürgermeister a.D. von Neubrandenburg, sprach am 9. Oktober 2025.",
        "Dr. Wentzel folgte.",
    ]


def test_a_list_bullet_is_not_part_of_the_sentence() -> None:
    text = "• Maximilian Großmann (K4K) und Heiko Königstein zeigten KI-Anwendungen.\n• Zweiter Punkt."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Maximilian Großmann (K4K) und Heiko Königstein zeigten KI-Anwendungen.",
        "Zweiter Punkt.",
    ]
