"""SmallTalk: greetings, thanks, help and identity get short replies; questions get None."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.answering.events import EventIndex
from service.answering.kinds.smalltalk import SmallTalk, load_patterns
from service.answering.suggestions import StarterQuestions
from tests.service.answering import made_up_documents


def small_talk(documents=None) -> SmallTalk:
    documents = made_up_documents() if documents is None else documents
    events = EventIndex.from_store(documents)
    return SmallTalk(events, StarterQuestions(events, documents))


@pytest.fixture(scope="module")
def talk() -> SmallTalk:
    return small_talk()


@pytest.mark.parametrize(
    ("message", "language", "intent"),
    [
        ("Hallo", "de", "greeting"),
        ("Guten Tag!", "de", "greeting"),
        ("Danke!", "de", "thanks"),
        ("Vielen Dank für Ihre Hilfe.", "de", "thanks"),
        ("Tschüss", "de", "goodbye"),
        ("Was können Sie?", "de", "help"),
        ("Hilfe", "de", "help"),
        ("Hallo! Was kannst du eigentlich alles?", "de", "help"),
        ("Wer sind Sie?", "de", "identity"),
        ("Guten Morgen, wie geht's dir heute?", "de", "wellbeing"),
        ("what can you do", "en", "help"),
        ("Are you a bot?", "en", "identity"),
        ("Thanks!", "de", "thanks"),
    ],
)
def test_small_talk_is_recognised(talk: SmallTalk, message: str, language: str, intent: str):
    reply = talk.run(message, language)
    assert reply is not None and reply.intent == intent, reply


@pytest.mark.parametrize(
    "message",
    ["Hallo, wer hat LOTSE vorgestellt?", "Welche Hilfe bietet das Forum?", "Danke, und wann war das Sommerforum?",
     "Wer ist Petra Lindner?", "What can you tell me about KODA?", "Sommerforum"],
)
def test_questions_are_not_small_talk(talk: SmallTalk, message: str):
    assert talk.run(message, "de") is None


def test_greeting_is_formal_and_offers_the_starter_questions(talk: SmallTalk):
    reply = talk.run("Hallo", "de")
    assert " Sie" in reply.text and " du " not in f" {reply.text} "
    assert reply.suggestions == talk.starters.run("de", 4) and len(reply.suggestions) == 4


def test_help_says_what_the_documents_cover(talk: SmallTalk):
    reply = talk.run("Was können Sie?", "de")
    for expected in ("Werkstatttag „Digitale Verwaltung“ 2022", "10.–11. Mai 2022", "Leipzig", "Eröffnung", "Keynote",
                     "Sommerforum Arbeit 2024", "3. Juli 2024", "Bremen", "Podium",
                     "Weitere Dokumente: Leitfaden Aktenführung"):
        assert expected in reply.text, expected
    assert "Bildergalerie" not in reply.text and "Fazit" not in reply.text
    assert 3 <= len(reply.suggestions) <= 4
    english = talk.run("What can you do?", "en")
    assert "10–11 May 2022" in english.text and english.suggestions[0].startswith(("What", "Who", "When"))


def test_help_without_events_lists_document_titles():
    documents = {k: v for k, v in made_up_documents().items() if k == "leitfaden-aktenfuehrung.md"}
    reply = small_talk(documents).run("Hilfe", "de")
    assert "Leitfaden Aktenführung" in reply.text


def test_reply_language_follows_the_words_when_the_detector_cannot_tell(talk: SmallTalk):
    # "Thanks!" has no English function word, so the caller's detector says German
    assert talk.run("Thanks!", "de").text.startswith("You are welcome")
    assert talk.run("Danke!", "de").text.startswith("Gern geschehen")
    assert talk.run("Hi", "en").text.startswith("Hello")
    assert talk.run("Danke!", "de").suggestions == []


def test_a_bad_pattern_line_names_the_line(tmp_path: Path):
    path = tmp_path / "smalltalk.tsv"
    path.write_text("# comment\ngreeting\tde\thallo\nsmalltalk\tde\t(\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"smalltalk\.tsv:3"):
        load_patterns(path)
    path.write_text("greeting\tde\t(unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match="does not compile"):
        load_patterns(path)
