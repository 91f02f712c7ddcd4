"""Composer / paragraph_window / abstain on made-up documents: every part cited, each citation
the exact document text at its offsets with the quote inside it."""

from __future__ import annotations

import re

import pytest

from service.answering.compose import NOT_FOUND, Composer, Draft, Piece, abstain, paragraph_window
from tests.service.answering import made_up_documents

DOCS = made_up_documents()
WORKSHOP = "werkstatttag-2022.md"
FORUM = "sommerforum-2024.md"


def span(doc_id: str, phrase: str) -> tuple[int, int]:
    start = DOCS[doc_id].text.index(phrase)
    return start, start + len(phrase)


def piece(doc_id: str, phrase: str, **kwargs) -> Piece:
    start, end = span(doc_id, phrase)
    return Piece(doc_id=doc_id, start=start, end=end, **kwargs)


def check_citations(answer) -> None:
    """The invariants of every composed answer."""
    for citation in answer.citations:
        text = DOCS[citation.doc_id].text
        assert citation.text == text[citation.start : citation.end]
        assert citation.start <= citation.quote_start < citation.quote_end <= citation.end
        assert citation.title == DOCS[citation.doc_id].title
    refs = [int(r) for r in re.findall(r"\[(\d+)\]", answer.answer)]
    assert sorted(set(refs)) == [c.ref for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for part in answer.parts:
        if part.ref is not None and part.role != "lead":
            citation = answer.citations[part.ref - 1]
            quoted = DOCS[citation.doc_id].text[citation.quote_start : citation.quote_end].strip()
            assert part.text == quoted and part.text in citation.text


SENTENCE = "Die Keynote hielt Markus Feld (Landesamt für Statistik)."


def test_one_quote_with_a_lead():
    draft = Draft("fact", (piece(WORKSHOP, SENTENCE, lead="Markus Feld (Landesamt für Statistik)", score=0.91234567),))
    answer = Composer(DOCS).run(draft, "de")
    assert not answer.abstained and answer.kind == "fact"
    assert answer.answer == f"Markus Feld (Landesamt für Statistik). Laut den Dokumenten: „{SENTENCE}“ [1]"
    assert answer.lead == "Markus Feld (Landesamt für Statistik)"
    [citation] = answer.citations
    assert (citation.quote_start, citation.quote_end) == span(WORKSHOP, SENTENCE)
    assert citation.section == "Keynote: Neugier als Methode"
    assert citation.score == 0.9123
    assert [p.role for p in answer.parts] == ["lead", "quote"]
    check_citations(answer)


def test_the_citation_is_the_paragraph_around_the_quote_unless_a_window_is_given():
    start, end = span(WORKSHOP, SENTENCE)
    text = DOCS[WORKSHOP].text
    answer = Composer(DOCS).run(Draft("fact", (Piece(WORKSHOP, start, end),)), "de")
    paragraph = "Die Keynote hielt Markus Feld (Landesamt für Statistik). Er präsentierte das Auswertungsprogramm „KODA“ und warb für mehr Neugier."
    assert answer.citations[0].text == paragraph
    window = (start - 10, end + 5)
    answer = Composer(DOCS).run(Draft("fact", (Piece(WORKSHOP, start, end, window=window),)), "de")
    assert (answer.citations[0].start, answer.citations[0].end) == window
    assert answer.citations[0].text == text[window[0] : window[1]]
    check_citations(answer)


def test_several_quotes_are_numbered_in_order_and_a_repeated_span_keeps_its_number():
    first = piece(WORKSHOP, SENTENCE)
    second = piece(FORUM, "Das Forum endete mit dem Wunsch nach mehr Austausch.")
    answer = Composer(DOCS).run(Draft("reason", (first, second, first)), "en")
    assert answer.answer.count("[1]") == 2 and answer.answer.count("[2]") == 1
    assert answer.answer.index("[1]") < answer.answer.index("[2]")
    assert len(answer.citations) == 2
    assert [c.doc_id for c in answer.citations] == [WORKSHOP, FORUM]
    assert "\n" not in answer.answer  # quotes of a reason run on in one paragraph
    check_citations(answer)


def test_list_items_stand_on_their_own_lines_after_the_list_intro():
    items = [piece(FORUM, name, role="item") for name in ("Lena Vogt (Hochschule Bremen)", "Jonas Brandt (Agentur Nord)", "Sabine Kurz")]
    for language, intro in (("de", "Die Dokumente nennen:"), ("en", "The documents list:")):
        answer = Composer(DOCS).run(Draft("list", tuple(items)), language)
        lines = answer.answer.split("\n")
        assert lines == [intro, "- Lena Vogt (Hochschule Bremen) [1]", "- Jonas Brandt (Agentur Nord) [2]", "- Sabine Kurz [3]"]
        assert [p.role for p in answer.parts] == ["text", "item", "item", "item"]
        assert [p.text for p in answer.parts[1:]] == ["Lena Vogt (Hochschule Bremen)", "Jonas Brandt (Agentur Nord)", "Sabine Kurz"]
        check_citations(answer)


def test_an_intro_of_the_draft_replaces_the_list_intro():
    items = (piece(FORUM, "Lena Vogt", role="item"), piece(FORUM, "Jonas Brandt", role="item"))
    answer = Composer(DOCS).run(Draft("overview", items, intro="Gliederung:"), "de")
    assert answer.answer.split("\n")[0] == "Gliederung:"
    assert "Die Dokumente nennen" not in answer.answer


def test_grouped_by_event_names_each_event_once():
    draft = Draft("fact", (
        piece(WORKSHOP, SENTENCE, event="Werkstatttag Digitale Verwaltung 2022", lead="Markus Feld"),
        piece(FORUM, "Jonas Brandt zeigte, wie Beratung digital gelingt.", event="Sommerforum Arbeit 2024", lead="Jonas Brandt"),
    ), grouped_by_event=True)
    answer = Composer(DOCS).run(draft, "de")
    lines = answer.answer.split("\n")
    assert lines[0] == "Dazu gibt es Angaben zu mehreren Veranstaltungen:"
    assert lines[1].startswith("Werkstatttag Digitale Verwaltung 2022: Markus Feld. Laut den Dokumenten: „Die Keynote")
    assert lines[2].startswith("Sommerforum Arbeit 2024: Jonas Brandt. Laut den Dokumenten: „Jonas Brandt zeigte")
    headings = [p.text for p in answer.parts if p.role == "heading"]
    assert headings == ["Werkstatttag Digitale Verwaltung 2022", "Sommerforum Arbeit 2024"]
    assert answer.event is None  # two events: none is the answer's event
    check_citations(answer)
    english = Composer(DOCS).run(draft, "en")
    assert english.answer.startswith("The documents answer this for more than one event:\n")


def test_a_single_event_answer_names_its_event_once_when_the_store_has_several():
    pieces = tuple(piece(FORUM, name, role="item", event="Sommerforum Arbeit 2024") for name in ("Lena Vogt", "Jonas Brandt"))
    named = Composer(DOCS).run(Draft("list", pieces), "de", name_event=True)
    assert named.answer.count("Sommerforum Arbeit 2024") == 1
    assert named.event == "Sommerforum Arbeit 2024"
    plain = Composer(DOCS).run(Draft("list", pieces), "de")
    assert "Sommerforum Arbeit 2024" not in plain.answer
    quote = Composer(DOCS).run(Draft("fact", (piece(WORKSHOP, SENTENCE, event="Werkstatttag 2022"),)), "de", name_event=True)
    assert quote.answer == f"Werkstatttag 2022: „{SENTENCE}“ [1]"


def test_naming_the_event_keeps_every_list_item_on_a_line_of_its_own():
    pieces = tuple(piece(FORUM, name, role="item", event="Sommerforum Arbeit 2024") for name in ("Lena Vogt", "Jonas Brandt"))
    named = Composer(DOCS).run(Draft("list", pieces), "de", name_event=True)
    lines = named.answer.split("\n")
    assert "Sommerforum Arbeit 2024" in named.answer
    assert lines[-2:] == ["- Lena Vogt [1]", "- Jonas Brandt [2]"]


@pytest.mark.parametrize("language", ["de", "en"])
def test_nothing_found_abstains_in_the_question_language(language):
    answer = Composer(DOCS).run(Draft("fact", reason="similarity 0.612"), language)
    assert answer.abstained and answer.citations == [] and answer.parts == []
    assert answer.answer == NOT_FOUND[language]
    assert answer.reason == "similarity 0.612" and answer.kind == "none" and answer.language == language
    assert abstain(language, "x", "Wer?").resolved_question == "Wer?"


def test_abstention_texts_are_german_and_english():
    assert "Dokumenten" in NOT_FOUND["de"] and "keine Antwort" in NOT_FOUND["de"]
    assert "documents" in NOT_FOUND["en"] and "could not find" in NOT_FOUND["en"]


# --- paragraph_window -----------------------------------------------------------------------------


def test_paragraph_window_stays_within_the_blank_lines():
    text = "Erster Absatz.\n\nZweiter Absatz mit Satz eins. Satz zwei.\n\nDritter."
    start = text.index("Satz zwei")
    left, right = paragraph_window(text, start, start + len("Satz zwei."))
    assert text[left:right] == "Zweiter Absatz mit Satz eins. Satz zwei."
    assert paragraph_window(text, 0, 5) == (0, len("Erster Absatz."))
    last = text.index("Dritter")
    assert paragraph_window(text, last, last + 3) == (last, len(text))


def test_a_long_paragraph_is_cut_at_word_boundaries_around_the_quote():
    words = [f"wort{i:03d}" for i in range(300)]
    text = "Vorher.\n\n" + " ".join(words) + "\n\nNachher."
    quote = "wort150 wort151"
    start = text.index(quote)
    left, right = paragraph_window(text, start, start + len(quote), limit=200)
    assert left <= start and start + len(quote) <= right
    assert right - left <= 200 + 10
    assert text[left - 1] == " " and text[right] == " "  # whole words only
    assert "\n" not in text[left:right]
