"""Chunks stay inside one section and point exactly into the cleaned text."""

from __future__ import annotations

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
    doc = make_doc()
    first = Chunker(ChunkingConfig(size=300, overlap=50)).run(doc)
    again = Chunker(ChunkingConfig(size=300, overlap=50)).run(doc)
    assert [c.content_hash for c in first] == [c.content_hash for c in again]
    assert len({c.content_hash for c in first}) == len(first)


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
