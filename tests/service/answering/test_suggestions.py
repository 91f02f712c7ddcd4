"""StarterQuestions: questions made from the store, deterministic, varied, and changing with it."""

from __future__ import annotations

from service.answering.events import EventIndex
from service.answering.suggestions import StarterQuestions, format_dates
from tests.service.answering import made_up_documents


def starters(documents) -> StarterQuestions:
    return StarterQuestions(EventIndex.from_store(documents), documents)


def test_suggestions_name_things_of_the_store_and_cover_every_event():
    questions = starters(made_up_documents()).run("de", 4)
    assert len(questions) == 4 and len(set(questions)) == 4
    anchors = {
        "werkstatttag": ["Werkstatttag „Digitale Verwaltung“ 2022", "Petra Lindner", "Markus Feld", "Neugier als Methode",
                         "Ein Haus für alle"],
        "sommerforum": ["Sommerforum Arbeit 2024", "Jonas Brandt", "Lena Vogt", "Arbeit im Wandel", "Was ist das Sommerforum?"],
        "leitfaden": ["Leitfaden Aktenführung", "Grundsätze"],
    }
    covered = set()
    for question in questions:
        found = {doc for doc, words in anchors.items() if any(w in question for w in words)}
        assert question.endswith("?") and found, question
        covered |= found
    assert covered == set(anchors)  # four suggestions over three documents: each one is asked about
    assert any("Sommerforum Arbeit 2024" in q for q in questions)  # the latest event by name


def test_a_person_who_presented_something_is_asked_about_it():
    questions = starters(made_up_documents()).run("de", 10)
    assert "Was hat Petra Lindner vorgestellt?" in questions or "Was hat Markus Feld vorgestellt?" in questions
    # Sabine Kurz is named without an organisation: not suggested
    assert not any("Sabine Kurz" in q for q in questions)


def test_same_store_same_suggestions_and_they_change_with_the_documents():
    documents = made_up_documents()
    first = starters(documents).run("de", 4)
    assert starters(made_up_documents()).run("de", 4) == first
    without_forum = {k: v for k, v in documents.items() if k != "sommerforum-2024.md"}
    changed = starters(without_forum).run("de", 4)
    assert changed != first
    assert not any("Sommerforum" in q or "Jonas Brandt" in q for q in changed)


def test_structural_headings_are_never_suggested_and_there_are_no_duplicates():
    questions = starters(made_up_documents()).run("de", 50)
    assert len(questions) == len(set(questions)) > 6
    assert not any("Bildergalerie" in q or "Fazit" in q for q in questions)
    assert "Was ist das Sommerforum?" in questions  # a heading that is a question is asked as it stands


def test_english_suggestions_are_english_questions():
    questions = starters(made_up_documents()).run("en", 4)
    assert len(questions) == 4
    assert all(q.split()[0] in {"What", "Who", "When"} for q in questions), questions
    assert starters({}).run("en", 4) == []


def test_dates_are_written_per_language():
    from datetime import date

    assert format_dates(date(2022, 5, 10), date(2022, 5, 11), "de") == "10.–11. Mai 2022"
    assert format_dates(date(2022, 5, 10), date(2022, 5, 11), "en") == "10–11 May 2022"
    assert format_dates(date(2024, 7, 3), None, "de") == "3. Juli 2024"
