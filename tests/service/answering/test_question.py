"""question_kind (the cue table data/question_kinds.tsv), subject_of and QuestionAnalyser on
made-up German and English questions about fictional events."""

from __future__ import annotations

import pytest

from service.answering.events import EventIndex
from service.answering.question import QuestionAnalyser, kind_cues, question_kind, subject_of
from vectorstore.records import Document

KINDS = {
    "overview": [
        ("de", "Worum ging es beim Gartentag?"),
        ("de", "Worum geht es in dem Bericht?"),
        ("de", "Fassen Sie den Vortrag von Frau Holm kurz zusammen."),
        ("de", "Fasse den Tag in drei Sätzen zusammen"),
        ("de", "Gib mir einen Überblick über das Programm."),
        ("de", "Was waren die wichtigsten Ergebnisse?"),
        ("de", "Was ist das Fazit der Tagung?"),
        ("de", "Was gab es auf dem Gartentag?"),
        ("en", "What was the Harbour Summit about?"),
        ("en", "Summarise the keynote, please."),
        ("en", "What were the key takeaways?"),
        ("en", "Give me an overview of the programme."),
        ("en", "What happened at the summit?"),
        ("en", "What are the main results?"),
    ],
    "list": [
        ("de", "Welche Workshops gab es?"),
        ("de", "Welche Gäste nahmen am Rundgang teil?"),
        ("de", "Welche Themen wurden diskutiert?"),
        ("de", "Nennen Sie die Referenten."),
        ("de", "Wer saß auf dem Podium?"),
        ("de", "Und welche Gärten standen offen?"),
        ("en", "Which workshops were offered?"),
        ("en", "Which speakers took part?"),
        ("en", "What topics were discussed?"),
        ("en", "List the sessions."),
        ("en", "Who spoke on the panel?"),
        ("en", "Name all the speakers."),
    ],
    "reason": [
        ("de", "Warum wurde der Termin verschoben?"),
        ("de", "Wieso kam Frau Holm nicht?"),
        ("de", "Wie gelingt gute Beratung im Garten?"),
        ("de", "Wie wurde das Projekt finanziert?"),
        ("de", "Auf welche Weise wurden die Gäste beteiligt?"),
        ("en", "Why was the venue changed?"),
        ("en", "How can teams share seeds?"),
        ("en", "How did the organisers reach young people?"),
    ],
    "definition": [
        ("de", "Was ist ein Kräutergarten?"),
        ("de", "Was versteht man unter Pflanzentausch?"),
        ("de", "Wer ist Ilse Marhold?"),
        ("de", "Was verbirgt sich hinter dem Projekt Wurzelwerk?"),
        ("de", "Was hat es mit Wurzelwerk auf sich?"),
        ("en", "What is Wurzelwerk?"),
        ("en", "What is meant by seed swapping?"),
        ("en", "Who is Ilse Marhold?"),
    ],
    "fact": [
        # near-misses of the other kinds: they ask for one thing, not a definition or a list
        ("de", "Was ist das Ziel von Wurzelwerk?"),
        ("de", "Was war das Motto?"),
        ("de", "Was ist das Thema des Vortrags?"),
        ("de", "Welche Funktion hat Wurzelwerk?"),
        ("de", "Welcher Workshop war am besten besucht?"),
        ("de", "Wer ist der Leiter der Gärtnerei?"),
        ("de", "Wer war die Moderatorin der Tagung?"),
        ("de", "Wie viele Workshops wurden angeboten?"),
        ("de", "Wie lange dauerte der Rundgang?"),
        ("de", "Was bedeutet GTO?"),
        ("de", "Wann fand der Gartentag statt?"),
        ("de", "Wo fand der Gartentag statt?"),
        ("de", "Wer hat den Rundgang geleitet?"),
        ("de", "Welche Organisation richtete den Gartentag aus?"),
        ("en", "What is the goal of Wurzelwerk?"),
        ("en", "What is the topic of the keynote?"),
        ("en", "What was the result of the vote?"),
        ("en", "How many guests came?"),
        ("en", "How long did the tour last?"),
        ("en", "How often does the summit take place?"),
        ("en", "What does GTO stand for?"),
        ("en", "Who organised the summit?"),
        ("en", "Who was the host of the summit?"),
        ("en", "Which organisation hosted the summit?"),
        ("en", "Which city hosted the summit?"),
        ("en", "When did the summit take place?"),
    ],
}
CASES = [(kind, language, q) for kind, questions in KINDS.items() for language, q in questions]


@pytest.mark.parametrize(("kind", "language", "question"), CASES, ids=[q for _, _, q in CASES])
def test_question_kind(kind, language, question):
    assert question_kind(question, language) == kind


def test_cues_of_the_other_language_are_tried_too():
    # a German overview cue matches even when the language was detected as English
    assert question_kind("Worum ging es beim Harbour Summit?", "en") == "overview"
    assert question_kind("Summary bitte", "de") == "overview"


def test_the_cue_table_has_every_kind_in_both_languages():
    cues = kind_cues()
    assert {(c.kind, c.language) for c in cues} == {
        (k, lang) for k in ("overview", "list", "reason", "definition") for lang in ("de", "en")
    }


def test_plural_results_of_something_is_no_definition():
    assert question_kind("What were the results of the workshop?", "en") == question_kind(
        "What was the result of the workshop?", "en") == "fact"


def test_wie_haben_asks_for_the_way_like_how_did():
    assert question_kind("How did the organisers reach young people?", "en") == "reason"
    assert question_kind("Wie haben die Veranstalter junge Leute erreicht?", "de") == "reason"


def test_who_was_the_role_holder_is_a_fact_question():
    assert question_kind("Who was the moderator?", "en") == "fact"
    assert question_kind("Wer war die Moderatorin?", "de") == "fact"


def test_whats_it_about_is_an_overview():
    assert question_kind("What's the summit about?", "en") == "overview"


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("Was ist Wurzelwerk?", "Wurzelwerk"),
        ("Was ist ein Kräutergarten?", "Kräutergarten"),
        ("Was sind Saatgutbörsen?", "Saatgutbörsen"),
        ("Wer ist Ilse Marhold?", "Ilse Marhold"),
        ("Was versteht man unter Pflanzentausch?", "Pflanzentausch"),
        ("Was verbirgt sich hinter dem Projekt Wurzelwerk?", "Projekt Wurzelwerk"),
        ("Wofür steht GTO?", "GTO"),
        ("Was bedeutet „Blattwerk“?", "Blattwerk"),
        ("und was ist die Obstwiese?", "Obstwiese"),
        ("What is Wurzelwerk?", "Wurzelwerk"),
        ("What is a seed swap?", "seed swap"),
        ("What does GTO stand for?", "GTO"),
        ("What does Wurzelwerk mean?", "Wurzelwerk"),
        ("What is meant by seed swapping?", "seed swapping"),
        ("Who is Ilse Marhold?", "Ilse Marhold"),
    ],
)
def test_subject_of(question, subject):
    assert subject_of(question) == subject


@pytest.mark.parametrize("question", ["Wann fand der Gartentag statt?", "How many guests came?", "Welche Workshops gab es?"])
def test_no_subject_outside_definition_shapes(question):
    assert subject_of(question) is None


# --- QuestionAnalyser --------------------------------------------------------------------------


def _doc(doc_id: str, title: str, metadata: dict) -> Document:
    return Document(doc_id, title, title, doc_id, "0" * 64, (), metadata)


@pytest.fixture()
def analyser() -> QuestionAnalyser:
    docs = [
        _doc("g.md", "Rückblick auf den Gartentag Ostermoor", {"event": "Gartentag Ostermoor", "event_start": "2023-05-04"}),
        _doc("w.md", "Rückblick auf das Waldforum Grünhausen 2021", {}),
    ]
    return QuestionAnalyser(EventIndex.from_store({d.doc_id: d for d in docs}))


def test_analysis_of_a_question_about_a_whole_named_event(analyser):
    analysis = analyser.run("Worum ging es beim Gartentag Ostermoor 2023?", "de")
    assert analysis.kind == "overview"
    assert analysis.scope.doc_ids == {"g.md"}
    assert analysis.content_terms == ()
    assert analysis.about_whole_event
    assert {"gartentag", "ostermoor", "2023"} <= analysis.scope_terms


def test_analysis_keeps_what_the_question_asks_about(analyser):
    analysis = analyser.run("Welche Rundgänge gab es beim Gartentag Ostermoor?", "de")
    assert analysis.kind == "list"
    assert "rundgang" in analysis.content_terms
    assert not {"gartentag", "ostermoor"} & set(analysis.content_terms)
    assert not analysis.about_whole_event


def test_analysis_of_a_definition_has_its_subject_and_no_scope(analyser):
    analysis = analyser.run("Was ist Wurzelwerk?", "de")
    assert (analysis.kind, analysis.subject) == ("definition", "Wurzelwerk")
    assert not analysis.scope.narrowed and analysis.scope_terms == frozenset()
    assert analyser.run("Wann war der Gartentag?", "de").subject is None  # subjects only for definitions


def test_analysis_scoped_by_year_names_the_year(analyser):
    analysis = analyser.run("Wer hielt 2021 die Rede?", "de")
    assert analysis.scope.doc_ids == {"w.md"} and analysis.scope.year == 2021
    assert "2021" in analysis.scope_terms and "2021" not in analysis.content_terms
    assert "red" in analysis.content_terms or "rede" in analysis.content_terms


@pytest.mark.parametrize("question", [
    "Worum ging es beim Gartentag Ostermoor 2023, in zwei Sätzen?",
    "What was the Gartentag Ostermoor 2023 about, in two sentences?",
    "Fassen Sie den Gartentag Ostermoor 2023 in wenigen Worten zusammen.",
])
def test_the_asked_length_of_an_answer_is_no_topic(analyser, question):
    analysis = analyser.run(question, "en" if question.startswith("What") else "de")
    assert not {"zwei", "two", "sentenc", "satz", "satzen", "wenig", "wort"} & set(analysis.content_terms), analysis.content_terms
    assert analysis.about_whole_event
