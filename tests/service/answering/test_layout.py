"""parse_layout / Layouts / first_sentences on a made-up report cleaned by the real ingest
(`ingest.loaders.load_markdown` + `ingest.cleaning.clean`): blocks separated by a blank
line, list items by one line break, marked "• " and "1. "."""

from __future__ import annotations


import pytest

from ingest.cleaning import clean
from ingest.loaders import load_markdown
from service.answering.layout import Layouts, first_sentences, parse_layout
from vectorstore.records import Document, Section

REPORT = """---
title: Rückblick auf den Gartentag Ostermoor 2023
event: Gartentag Ostermoor 2023
---

# Rückblick auf den Gartentag Ostermoor 2023

Der Gartentag Ostermoor fand am 4. Mai 2023 in Kleinbrück statt. Rund 60 Gäste kamen.

Die Gärtnerei Blattwerk lud dazu ein.

Ein dritter Absatz vor der ersten Überschrift.

## Programm

Am Vormittag gab es drei Rundgänge:

- Rundgang durch den Kräutergarten. Er dauerte eine Stunde.
- Besuch der Obstwiese
- Führung am Teich

Danach wurde gemeinsam gegessen.

## Ablauf

1. Begrüßung durch Ilse Marhold
2. Pflanzentausch
3. Abschluss am Feuer

## Fazit

Alle waren zufrieden. Der nächste Gartentag folgt 2025.
"""


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Document:
    folder = tmp_path_factory.mktemp("layout")
    path = folder / "gartentag.md"
    path.write_text(REPORT, encoding="utf-8")
    return clean(load_markdown(path, 1_000_000), folder, "")


def block_texts(doc: Document, kind: str) -> list[str]:
    return [doc.text[b.start : b.end] for b in parse_layout(doc).blocks if b.kind == kind]


def test_the_text_is_as_ingest_writes_it(document):
    # the premise of the layout parser: a blank line between blocks, one line break inside a list
    assert "Rundgänge:\n\n• Rundgang" in document.text
    assert "Stunde.\n• Besuch der Obstwiese\n• Führung" in document.text
    assert "1. Begrüßung durch Ilse Marhold\n2. Pflanzentausch\n3. Abschluss" in document.text


def test_title_headings_and_paragraphs(document):
    layout = parse_layout(document)
    assert layout.doc_id == "gartentag.md"
    assert layout.blocks[0].kind == "title"
    assert block_texts(document, "heading") == ["Programm", "Ablauf", "Fazit"]
    paragraphs = block_texts(document, "paragraph")
    assert paragraphs[0] == "Der Gartentag Ostermoor fand am 4. Mai 2023 in Kleinbrück statt. Rund 60 Gäste kamen."
    assert "Am Vormittag gab es drei Rundgänge:" in paragraphs
    assert "Danach wurde gemeinsam gegessen." in paragraphs
    assert not any("•" in p or "\n" in p for p in paragraphs)
    # every block knows its section
    by_text = {document.text[b.start : b.end]: b.section for b in layout.blocks}
    assert by_text["Danach wurde gemeinsam gegessen."] == "Programm"
    assert by_text["Die Gärtnerei Blattwerk lud dazu ein."] is None


def test_bullet_and_numbered_lists_with_item_offsets_without_the_marker(document):
    lists = [b for b in parse_layout(document).blocks if b.kind == "list"]
    assert len(lists) == 2
    bullets, numbered = lists
    assert [document.text[s:e] for s, e in bullets.items] == [
        "Rundgang durch den Kräutergarten. Er dauerte eine Stunde.", "Besuch der Obstwiese", "Führung am Teich",
    ]
    assert [document.text[s:e] for s, e in numbered.items] == [
        "Begrüßung durch Ilse Marhold", "Pflanzentausch", "Abschluss am Feuer",
    ]
    assert bullets.section == "Programm" and numbered.section == "Ablauf"
    for block in lists:
        assert block.items[0][0] > block.start and block.items[-1][1] == block.end
        for s, e in block.items:
            assert document.text[s - 2 : s] in {"• ", ". "}


def test_lead_is_the_paragraphs_before_the_first_heading(document):
    layout = parse_layout(document)
    lead = [document.text[b.start : b.end] for b in layout.lead()]
    assert lead == [
        "Der Gartentag Ostermoor fand am 4. Mai 2023 in Kleinbrück statt. Rund 60 Gäste kamen.",
        "Die Gärtnerei Blattwerk lud dazu ein.",
    ]
    assert len(layout.lead(max_paragraphs=5)) == 3  # never past the first heading


def test_list_near_the_paragraph_that_introduces_it(document):
    layout = parse_layout(document)
    text = document.text
    intro = layout.list_near(text.index("Am Vormittag"))
    assert intro is not None and text[intro.items[1][0] : intro.items[1][1]] == "Besuch der Obstwiese"
    inside = layout.list_near(text.index("Obstwiese"))
    assert inside == intro
    assert layout.list_near(text.index("Danach wurde")) is None  # follows the list, does not introduce it
    assert layout.list_near(text.index("Gärtnerei Blattwerk")) is None
    assert layout.list_near(len(text) + 10) is None


def test_section_blocks_run_to_the_next_heading(document):
    layout = parse_layout(document)
    programm = next(i for i, b in enumerate(layout.blocks) if b.kind == "heading" and b.section == "Programm")
    kinds = [b.kind for b in layout.section_blocks(programm)]
    assert kinds == ["paragraph", "list", "paragraph"]


def test_first_sentences_of_items(document):
    block = next(b for b in parse_layout(document).blocks if b.kind == "list")
    spans = first_sentences(document.text, block.items)
    assert [document.text[s:e] for s, e in spans] == [
        "Rundgang durch den Kräutergarten.", "Besuch der Obstwiese", "Führung am Teich",
    ]
    assert len(first_sentences(document.text, block.items, limit=2)) == 2


def test_layouts_parse_once_per_document(document):
    layouts = Layouts({document.doc_id: document})
    first = layouts.run(document.doc_id)
    assert layouts.run(document.doc_id) is first
    assert first == parse_layout(document)
    with pytest.raises(KeyError):
        layouts.run("unbekannt.md")


def test_a_text_of_one_paragraph_without_title_or_headings():
    text = "Nur ein Absatz ohne Überschrift. Zweiter Satz."
    doc = Document("k.md", "Kurz", text, "k.md", "0" * 64, (), {})
    layout = parse_layout(doc)
    assert [b.kind for b in layout.blocks] == ["paragraph"]
    assert layout.lead()[0].end == len(text)


def test_a_heading_is_only_the_block_at_a_section_offset():
    text = "Titel\n\nFazit\n\nFazit war gut.\n\nFazit"
    doc = Document("h.md", "Titel", text, "h.md", "0" * 64, (Section(7, "Fazit"),), {})
    kinds = [(b.kind, text[b.start : b.end]) for b in parse_layout(doc).blocks]
    assert kinds == [("title", "Titel"), ("heading", "Fazit"), ("paragraph", "Fazit war gut."), ("paragraph", "Fazit")]
