"""The evaluation's judging rules on made-up /api/ask responses (no model, no store).

Each rule of bench/judging.py is checked on both sides: a response that must count as
right, and one a hair away from it that must not.
"""

from __future__ import annotations

import pytest

from bench.datasets import Case, EventCase
from bench.judging import (
    ABSTAINED, RIGHT, WRONG, by_field, contains, judge_conference, judge_event, judge_xquad, quoted_sentences,
    sentence_count, tally,
)


def body(answer: str = "", abstained: bool = False, citations: list[dict] | None = None, **extra) -> dict:
    return {"answer": answer, "abstained": abstained, "citations": citations or [], **extra}


def cite(doc_id: str, text: str = "") -> dict:
    return {"ref": 1, "doc_id": doc_id, "title": "t", "section": None, "text": text, "start": 0, "end": len(text)}


# ----------------------------------------------------------------------------- conference set

ANSWERABLE = Case("c1", "de", "Wo fand das Treffen statt?", True, answers=("Köln",), evidence=("trafen sich in Köln",),
                  kind="place")
UNANSWERABLE = Case("c2", "en", "What did lunch cost?", False, kind="number")


def test_conference_answer_needs_the_expected_text_and_a_citation_with_the_evidence() -> None:
    good = body("Koeln. „Alle trafen sich in KÖLN.“ [1]", citations=[cite("a.md", "Alle trafen sich in Köln.")])
    assert judge_conference(ANSWERABLE, good).status == RIGHT  # case and umlaut spelling do not matter here

    elsewhere = body("Köln. „Köln ist groß.“ [1]", citations=[cite("a.md", "Köln ist groß.")])
    verdict = judge_conference(ANSWERABLE, elsewhere)
    assert verdict.status == WRONG and "evidence" in verdict.reason

    other = body("Bonn. „Alle trafen sich in Köln.“ [1]", citations=[cite("a.md", "Alle trafen sich in Bonn.")])
    assert judge_conference(ANSWERABLE, other).status == WRONG
    assert judge_conference(ANSWERABLE, body("Nicht in den Dokumenten.", abstained=True)).status == ABSTAINED


def test_conference_unanswerable_is_right_only_when_abstained() -> None:
    assert judge_conference(UNANSWERABLE, body("Not in the documents.", abstained=True)).status == RIGHT
    verdict = judge_conference(UNANSWERABLE, body("12 euros. „...“ [1]", citations=[cite("a.md", "x")]))
    assert verdict.status == WRONG and verdict.answered


# ----------------------------------------------------------------------------- event set

LIST = EventCase("e1", "de", "list", "Welche Städte?", "answer",
                 groups=(("Kassel",), ("Hamburg", "Hansestadt"), ("Berlin",)), docs=("a.md", "b.md"))
TRAP = EventCase("e2", "de", "ooc", "Wie viele kamen 2023?", "abstain")
HELLO = EventCase("e3", "en", "smalltalk", "Hi there!", "smalltalk")


def test_event_answer_needs_every_group_case_and_whitespace_insensitive() -> None:
    text = "Die Städte:\n- KASSEL [1]\n- die   Hansestadt [2]\n- Berlin [3]"
    assert judge_event(LIST, body(text, citations=[cite("a.md")])).status == RIGHT

    verdict = judge_event(LIST, body("Kassel und Hamburg. [1]", citations=[cite("a.md")]))
    assert verdict.status == WRONG and "1 of 3 groups missing: Berlin" in verdict.reason
    assert judge_event(LIST, body("Keine Angabe.", abstained=True)).status == ABSTAINED


def test_event_matching_is_not_blind_to_umlaut_spelling() -> None:
    case = EventCase("e4", "de", "factoid", "Wer?", "answer", groups=(("Müller",),), docs=("a.md",))
    assert judge_event(case, body("Herr MÜLLER. [1]")).status == RIGHT
    assert judge_event(case, body("Herr Mueller. [1]")).status == WRONG  # the README's rule: case only


def test_event_abstain_questions_are_right_only_as_abstentions() -> None:
    assert judge_event(TRAP, body("Dazu enthalten die Berichte nichts.", abstained=True)).status == RIGHT
    verdict = judge_event(TRAP, body("Rund 130 kamen. [1]", citations=[cite("c.md")]))
    assert verdict.status == WRONG and "asserted" in verdict.reason


def test_event_smalltalk_is_a_reply_without_passages() -> None:
    assert judge_event(HELLO, body("Hello! Ask me about the events.")).status == RIGHT
    assert judge_event(HELLO, body("Hello!", kind="smalltalk")).status == RIGHT
    assert judge_event(HELLO, body("Hello!", kind="fact")).status == WRONG
    assert judge_event(HELLO, body("„Hi.“ [1]", citations=[cite("a.md")])).status == WRONG
    assert judge_event(HELLO, body("Not in the documents.", abstained=True)).status == ABSTAINED


def test_event_citations_are_counted_against_doc_and_docs() -> None:
    verdict = judge_event(LIST, body("Kassel, Hamburg, Berlin", citations=[cite("sub/a.md"), cite("b.md"), cite("z.md")]))
    assert verdict.citations == 3 and verdict.citations_from_doc == 2
    assert judge_event(HELLO, body("Hi")).citations_from_doc is None  # no doc named: not counted


def test_unknown_expectation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown expect"):
        judge_event(EventCase("e9", "de", "factoid", "?", "guess"), body("x"))


# ----------------------------------------------------------------------------- XQuAD

XQ = Case("x1-de", "de", "Wie viele Punkte?", True, answers=("308",), passage_id="xquad-00-03", kind="factoid")


def test_xquad_right_needs_gold_span_gold_passage_and_a_short_quote() -> None:
    gold = cite("xquad-00-03.md")
    ok = body("308. Laut den Dokumenten: „Die Abwehr gab 308 Punkte ab.“ [1]", citations=[gold],
              _ranked_doc_ids=["xquad-01-00.md", "xquad-00-03.md"])
    verdict = judge_xquad(XQ, ok)
    assert verdict.status == RIGHT and verdict.quoted_sentences == 1 and verdict.rank == 2

    wrong_passage = body("„Die Abwehr gab 308 Punkte ab.“ [1]", citations=[cite("xquad-00-04.md")])
    assert judge_xquad(XQ, wrong_passage).reason == "gold passage not cited"
    no_span = body("„Die Abwehr war gut.“ [1]", citations=[gold])
    assert judge_xquad(XQ, no_span).reason == "no gold answer in the text"
    long_quote = body("„Die Abwehr gab 308 Punkte ab. Sie war gut. Das Spiel endete spät.“ [1]", citations=[gold])
    verdict = judge_xquad(XQ, long_quote)
    assert verdict.status == WRONG and verdict.reason == "quotes 3 sentences"
    assert judge_xquad(XQ, body("Nicht in den Dokumenten.", abstained=True)).status == ABSTAINED


def test_quoted_sentences_counts_quotes_not_leads() -> None:
    nested = ("Anna Beispiel (Amt). Laut Tagungsunterlagen: „Beispiel stellte das Werkzeug „ABC“ vor, "
              "das Dr. Muster entwickelt hat.“ [1]")
    assert quoted_sentences(nested) == 1
    listing = "Drei Foren:\n- „Forum Alpha tagte am Morgen.“ [1]\n- „Forum Beta tagte. Es war voll.“ [2]\n- Gamma [3]"
    assert quoted_sentences(listing) == 4
    assert quoted_sentences("Keine Quelle nötig.") == 0
    assert sentence_count("Am 8. Oktober 2025 kamen 130 Personen. Sie sprachen z. B. über KI.") == 2


# ----------------------------------------------------------------------------- figures


def test_tally_precision_coverage_and_citation_precision() -> None:
    verdicts = [
        judge_event(LIST, body("Kassel Hamburg Berlin", citations=[cite("a.md"), cite("x.md")])),  # right, 1 of 2 cited
        judge_event(LIST, body("Kassel", citations=[cite("b.md")])),  # wrong
        judge_event(LIST, body("", abstained=True)),  # abstained
        judge_event(TRAP, body("", abstained=True)),  # right (abstention)
    ]
    figures = tally(verdicts)
    assert (figures["right"], figures["wrong"], figures["abstained"], figures["answered"]) == (2, 1, 1, 2)
    assert figures["precision"] == 0.5  # one right answer of two answers
    assert figures["coverage"] == 0.5 and figures["right_share"] == 0.5
    assert figures["citation_precision"] == round(2 / 3, 4)
    per_kind = by_field(verdicts, "kind")
    assert per_kind["list"]["questions"] == 3 and per_kind["ooc"]["right"] == 1 and per_kind["all"] == figures
    assert tally([])["precision"] is None


def test_contains_ignores_case_and_spacing_but_not_empty_needles() -> None:
    assert contains("Die  Tagung\nfand statt", "tagung fand")
    assert not contains("irgendein Text", "  ")
