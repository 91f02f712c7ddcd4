"""The answer kinds (fact, list, overview, definition, reason) through `QuestionAnswering` over a
REAL small store: three made-up German event reports (fictional places, people, organisations)
ingested by the real `Ingestor` with the bundled model into a FAISS store, built once.

Every answer is checked for the citation invariant: each quoted part is the document text at
its citation's quote offsets, inside the citation's text, which is the document text at the
citation's offsets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.answering.compose import NOT_FOUND
from service.qa import QuestionAnswering
from tests.conftest import MODEL_CACHE

DOCUMENTS = {
    "gartentag-2023.md": """---
title: Rückblick auf den Gartentag Ostermoor 2023
event: Gartentag Ostermoor
event_start: 2023-05-04
place: Kleinbrück
organiser: Gärtnerei Blattwerk
---

# Rückblick auf den Gartentag Ostermoor 2023

Der Gartentag Ostermoor fand am 4. Mai 2023 in Kleinbrück statt. Rund 60 Gäste aus zwölf Nachbarschaftsgärten besuchten die Gärtnerei Blattwerk.

## Eröffnung

Die Eröffnungsrede hielt Ilse Marhold (Gärtnerei Blattwerk). Sie dankte den Helferinnen und Helfern aus dem Ort.

## Rundgänge

Am Vormittag boten die Gastgeber drei Rundgänge an:

- Kräuterpfad mit Ilse Marhold
- Obstwiese und Bienenstände
- Teichufer und Schilfbeet

## Fazit

Der Gartentag zeigte, dass Nachbarschaftsgärten Menschen aus allen Generationen verbinden. Die Gäste wünschten sich ein jährliches Treffen in Kleinbrück.
""",
    "gartentag-2021.md": """---
title: Rückblick auf den Gartentag Ostermoor 2021
event: Gartentag Ostermoor
event_start: 2021-06-12
place: Kleinbrück
---

# Rückblick auf den Gartentag Ostermoor 2021

Der erste Gartentag Ostermoor fand am 12. Juni 2021 unter freiem Himmel in Kleinbrück statt. Etwa 35 Gäste kamen trotz Regen.

## Eröffnung

Die Eröffnungsrede hielt Bernd Quast (Stadtwerke Kleinbrück). Er erinnerte an die Geschichte der Kleingärten am Moor.

## Mittag

Zum Mittag gab es Suppe aus dem Gemeinschaftsbeet.
""",
    "saatgutboerse-2022.md": """---
title: Bericht von der Saatgutbörse Hasenbruch 2022
event: Saatgutbörse Hasenbruch
event_start: 2022-03-19
place: Hasenbruch
---

# Bericht von der Saatgutbörse Hasenbruch 2022

Die Saatgutbörse Hasenbruch lud am 19. März 2022 Hobbygärtnerinnen und Landwirte in die alte Scheune von Hasenbruch ein.

## Das Netzwerk Wurzelwerk

Wurzelwerk ist ein Tauschnetz für alte Gemüsesorten, das Landwirtinnen aus dem Hasenbruch im Jahr 2018 gegründet haben. Auf der Börse stellte Wurzelwerk seine Tauschkisten vor. Viele Gäste nahmen Samen von Wurzelwerk mit nach Hause.

## Vorträge

Karla Senftleben (Landschaftsschule Hasenbruch) sprach über Bodenpflege ohne Torf. Sie empfahl Kompost aus Laub, weil der Abbau von Torf die Moore zerstört.
""",
    "chorabend-2024.md": """---
title: Bericht vom Chorabend Uhlenhorst 2024
event: Chorabend Uhlenhorst
event_start: 2024-11-08
place: Uhlenhorst
---

# Bericht vom Chorabend Uhlenhorst 2024

## Der Chor

Im Gemeindehaus probt jeden Dienstag ein Chor. Seit 2019 leitet Hanna Grefe die Sängerinnen und Sänger. Die Proben beginnen um 19 Uhr. Im Herbst gewann sie mit dem Chor den Wettbewerb der Landeschöre. Der Eintritt zum Konzert kostet fünf Euro.
""",
}
FAZIT = [
    "Der Gartentag zeigte, dass Nachbarschaftsgärten Menschen aus allen Generationen verbinden.",
    "Die Gäste wünschten sich ein jährliches Treffen in Kleinbrück.",
]
DEFINITION = ("Wurzelwerk ist ein Tauschnetz für alte Gemüsesorten, das Landwirtinnen aus dem Hasenbruch im Jahr 2018 "
              "gegründet haben.")


@pytest.fixture(scope="session")
def qa(tmp_path_factory: pytest.TempPathFactory) -> QuestionAnswering:
    """The made-up reports ingested once with the bundled model (about 10 s of CPU)."""
    from ingest.pipeline import Ingestor
    from vectorstore.embedding import Embedder, passage_backend
    from vectorstore.faiss_store import FaissStore
    from vectorstore.settings import load_settings

    root = tmp_path_factory.mktemp("kinds")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = load_settings().with_overrides(
        corpus_dir=corpus, index_dir=root / "index", model_cache_dir=MODEL_CACHE, show_progress=False,
    )
    embedder = Embedder.load(settings.embedding_model, MODEL_CACHE, 1, backend=passage_backend(settings.embedding_backend))
    Ingestor(settings, embedder_factory=lambda: embedder).run()
    return QuestionAnswering(FaissStore.load(Path(root / "index")), embedder)


def ask(qa: QuestionAnswering, question: str):
    answer = qa.ask(question, 5).answer
    check_citations(qa, answer)
    return answer


def check_citations(qa: QuestionAnswering, answer) -> None:
    documents = qa.store.documents
    assert [c.ref for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for citation in answer.citations:
        text = documents[citation.doc_id].text
        assert citation.text == text[citation.start : citation.end]
        assert citation.start <= citation.quote_start < citation.quote_end <= citation.end
        assert f"[{citation.ref}]" in answer.answer
    for part in answer.parts:
        if part.ref is None or part.role == "lead":
            continue
        citation = answer.citations[part.ref - 1]
        quoted = documents[citation.doc_id].text[citation.quote_start : citation.quote_end].strip()
        assert part.text == quoted, (part, citation)
        assert part.text in citation.text
        assert part.text in answer.answer


def quoted(answer, role: str | None = None) -> list[str]:
    return [p.text for p in answer.parts if p.ref is not None and p.role != "lead" and (role is None or p.role == role)]


def docs_of(answer) -> set[str]:
    return {c.doc_id for c in answer.citations}


# --- lists -------------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["Welche Rundgänge gab es beim Gartentag 2023?", "Welche Rundgänge gab es?"])
def test_a_list_question_returns_the_items_as_parts(qa, question):
    answer = ask(qa, question)
    assert answer.kind == "list" and not answer.abstained, answer.reason
    assert quoted(answer, "item") == ["Kräuterpfad mit Ilse Marhold", "Obstwiese und Bienenstände", "Teichufer und Schilfbeet"]
    assert docs_of(answer) == {"gartentag-2023.md"}
    assert answer.event == "Gartentag Ostermoor 2023"
    lines = answer.answer.split("\n")
    for ref, item in enumerate(quoted(answer, "item"), start=1):
        assert any(line.endswith(f"- {item} [{ref}]") for line in lines), lines
    assert "Am Vormittag" not in answer.answer  # the items, not the sentence that introduces them


def test_a_question_about_a_series_answered_from_one_event_names_it_and_says_there_are_others(qa):
    """"Gartentag Ostermoor" names a series (2021 and 2023); only 2023 had guided tours: the
    answer says which event it is about and that the documents report on others."""
    answer = ask(qa, "Wie viele Rundgänge gab es beim Gartentag Ostermoor?")
    assert not answer.abstained, answer.reason
    assert docs_of(answer) == {"gartentag-2023.md"} and answer.event == "Gartentag Ostermoor 2023"
    note = answer.answer.split("\n")[-1]
    assert note.startswith("(Diese Antwort bezieht sich auf: Gartentag Ostermoor 2023.") and "andere Veranstaltungen" in note
    assert answer.parts[-1].role == "text" and answer.parts[-1].text == note
    year_named = ask(qa, "Wie viele Rundgänge gab es beim Gartentag 2023?")
    assert docs_of(year_named) == {"gartentag-2023.md"} and "andere Veranstaltungen" not in year_named.answer


def test_the_words_of_an_event_name_are_no_evidence_for_what_is_asked_about_it(qa):
    """Every sentence of the 2023 report says "Gartentag"; only the 2021 report says what came
    from the community bed, so only it answers (no sentence of 2023 that merely names the event)."""
    answer = ask(qa, "Was gab es beim Gartentag aus dem Gemeinschaftsbeet?")
    assert not answer.abstained, answer.reason
    assert docs_of(answer) == {"gartentag-2021.md"}
    assert "Zum Mittag gab es Suppe aus dem Gemeinschaftsbeet." in quoted(answer, "quote")


# --- overviews ----------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["Worum ging es beim Gartentag Ostermoor 2023?", "Fassen Sie den Gartentag 2023 zusammen."])
def test_an_overview_returns_the_lead_and_an_outline(qa, question):
    answer = ask(qa, question)
    assert answer.kind == "overview" and not answer.abstained, answer.reason
    assert quoted(answer, "quote") == [
        "Der Gartentag Ostermoor fand am 4. Mai 2023 in Kleinbrück statt.",
        "Rund 60 Gäste aus zwölf Nachbarschaftsgärten besuchten die Gärtnerei Blattwerk.",
    ]
    outline = quoted(answer, "item")  # each section's opening sentence
    assert outline[0] == "Die Eröffnungsrede hielt Ilse Marhold (Gärtnerei Blattwerk)."
    assert FAZIT[0] in outline
    assert docs_of(answer) == {"gartentag-2023.md"}


@pytest.mark.parametrize("question", ["Was ist das Fazit des Gartentags 2023?", "What were the key takeaways of the Gartentag 2023?"])
def test_a_takeaways_question_quotes_the_fazit(qa, question):
    answer = ask(qa, question)
    assert answer.kind == "overview" and not answer.abstained, answer.reason
    assert quoted(answer) == FAZIT
    assert {c.section for c in answer.citations} == {"Fazit"}


@pytest.mark.parametrize("question", ["Was waren die wichtigsten Erkenntnisse des Gartentags 2023?",
                                      "Was waren die zentralen Ergebnisse des Gartentags?"])
def test_the_most_important_results_quote_the_fazit(qa, question):
    answer = ask(qa, question)
    assert not answer.abstained, answer.reason
    assert quoted(answer) == FAZIT


# --- definitions, reasons -----------------------------------------------------------------------


@pytest.mark.parametrize("question", ["Was ist Wurzelwerk?", "Was versteht man unter Wurzelwerk?", "What is Wurzelwerk?"])
def test_a_definition_quotes_the_defining_sentence(qa, question):
    answer = ask(qa, question)
    assert answer.kind == "definition" and not answer.abstained, answer.reason
    # three sentences name Wurzelwerk; the one that says what it is is quoted
    assert quoted(answer) == [DEFINITION]


def test_a_definition_of_something_the_documents_do_not_name_abstains(qa):
    answer = ask(qa, "Was ist ein Hochbeetverband?")
    assert answer.abstained and answer.citations == []


def test_a_why_question_quotes_the_reason(qa):
    answer = ask(qa, "Warum empfahl Karla Senftleben Kompost aus Laub?")
    assert answer.kind == "reason" and not answer.abstained, answer.reason
    assert quoted(answer) == ["Sie empfahl Kompost aus Laub, weil der Abbau von Torf die Moore zerstört."]


# --- facts and abstention -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Wie hoch war der Eintritt beim Gartentag 2023?", "de"),
        ("Wer hat den Kuchen gebacken?", "de"),
        ("Wer hielt die Eröffnungsrede beim Gartentag 2022?", "de"),  # 2022 was the Saatgutbörse, no Gartentag
        ("How much was the entrance fee at the Gartentag 2023?", "en"),
    ],
)
def test_a_fact_the_documents_do_not_contain_abstains(qa, question, language):
    answer = ask(qa, question)
    assert answer.abstained, answer.answer
    assert answer.citations == [] and answer.parts == []
    assert answer.answer == NOT_FOUND[language]


def test_a_fact_with_its_lead(qa):
    answer = ask(qa, "Wer sprach über Bodenpflege?")
    assert answer.kind == "fact" and answer.lead == "Karla Senftleben (Landschaftsschule Hasenbruch)"
    assert quoted(answer) == ["Karla Senftleben (Landschaftsschule Hasenbruch) sprach über Bodenpflege ohne Torf."]
    assert answer.answer.startswith("Saatgutbörse Hasenbruch 2022: ")  # several events in the store: named


def test_an_ambiguous_question_is_answered_for_each_event_with_the_event_named(qa):
    answer = ask(qa, "Wer hielt die Eröffnungsrede?")
    assert not answer.abstained, answer.reason
    headings = [p.text for p in answer.parts if p.role == "heading"]
    assert sorted(headings) == ["Gartentag Ostermoor 2021", "Gartentag Ostermoor 2023"]
    leads = {p.event: p.text for p in answer.parts if p.role == "lead"}
    assert leads == {"Gartentag Ostermoor 2021": "Bernd Quast (Stadtwerke Kleinbrück)",
                     "Gartentag Ostermoor 2023": "Ilse Marhold (Gärtnerei Blattwerk)"}
    for line in answer.answer.split("\n")[1:]:
        event = line.split(":")[0]
        assert event in leads and leads[event] in line
    assert docs_of(answer) == {"gartentag-2021.md", "gartentag-2023.md"}


@pytest.mark.parametrize(
    ("question", "lead", "doc_id"),
    [
        ("Wer hielt 2021 die Eröffnungsrede?", "Bernd Quast (Stadtwerke Kleinbrück)", "gartentag-2021.md"),
        ("Wer hielt die Eröffnungsrede beim Gartentag 2023?", "Ilse Marhold (Gärtnerei Blattwerk)", "gartentag-2023.md"),
        ("Wie viele Gäste kamen 2021?", "35 Gäste", "gartentag-2021.md"),
    ],
)
def test_a_question_naming_one_events_year_answers_from_that_event_only(qa, question, lead, doc_id):
    answer = ask(qa, question)
    assert not answer.abstained, answer.reason
    assert answer.lead == lead
    assert docs_of(answer) == {doc_id}
    assert not any(p.role == "heading" for p in answer.parts)


def test_a_question_naming_a_series_of_two_events_answers_for_each(qa):
    answer = ask(qa, "Wer hielt die Eröffnungsrede beim Gartentag Ostermoor?")
    assert docs_of(answer) == {"gartentag-2021.md", "gartentag-2023.md"}


# -- the question's names (anchors) ------------------------------------------------------


@pytest.mark.parametrize(("question", "anchors"), [
    ("Welche NASA-Gruppe stimmte zu?", ["NASA"]),  # the acronym, not the compound: "die Gruppe der NASA"
    ("Wer gewann das Bowl-Spiel?", []),  # two capitals across a hyphen make no acronym
    ("Wann flog AS-206?", ["AS-206"]),
    ("Who founded the XJ7 network?", ["XJ7"]),
])
def test_an_acronym_inside_a_hyphenated_compound_is_the_name_the_evidence_must_hold(question, anchors):
    from service.answering.kinds.fact import anchor_words

    language = "en" if question.startswith("Who") else "de"
    assert anchor_words(question, language) == anchors


def test_a_capitalised_english_word_is_found_through_its_german_translation(qa):
    """English capitalises what German spells otherwise ("Peat" / "Torf"): with the dictionary's
    translation the word is no unknown name, and the German word counts as finding it."""
    facts = qa.core.facts
    q = facts.analyse("Who spoke about Peat?", "en", {"Peat": ["Torf"]})
    assert not isinstance(q, str), q
    assert any("torf" in forms for forms in q.anchor_forms.values())
    assert facts.analyse("Who spoke about Peat?", "en", {}) == "not in the documents: Peat"


def test_a_name_earlier_in_the_paragraph_counts_for_a_sentence_that_refers_back_to_it(qa):
    """"Im Herbst gewann sie …": "sie" is the Hanna Grefe two sentences before, beyond the
    sentence's context; the paragraph's names count for a sentence that refers back."""
    answer = ask(qa, "Welchen Wettbewerb gewann Hanna Grefe?")
    assert quoted(answer)[:1] == ["Im Herbst gewann sie mit dem Chor den Wettbewerb der Landeschöre."], (answer.answer, answer.reason)


def test_a_name_earlier_in_the_paragraph_is_no_evidence_for_a_sentence_that_does_not_refer_back(qa):
    """"Der Eintritt zum Konzert kostet fünf Euro." speaks of no one: the paragraph's Hanna Grefe
    does not make it an answer about her."""
    answer = ask(qa, "Wie viel Eintritt verlangt Hanna Grefe?")
    assert answer.answer.startswith(NOT_FOUND["de"]), answer.answer
