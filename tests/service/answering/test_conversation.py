"""FollowUpResolver: follow-ups become standalone questions; unclear ones ask back."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.answering.conversation import CUES_PATH, FollowUpCues, FollowUpResolver, Turn
from service.answering.events import EventIndex
from tests.service.answering import made_up_documents
from vectorstore.text.entities import people

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def resolver() -> FollowUpResolver:
    return FollowUpResolver(EventIndex.from_store(made_up_documents()))


def turn(question: str, answer: str) -> list[Turn]:
    return [Turn(question, answer)]


def test_without_history_or_with_a_standalone_question_nothing_changes(resolver: FollowUpResolver):
    assert resolver.run("Was hat sie gesagt?", [], "de").followup is False
    history = turn("Was ist LOTSE?", "„LOTSE“ ist ein Werkzeug, das Anträge vorsortiert.")
    for question in ("Wer hat KODA präsentiert?", "Wo fand das Sommerforum Arbeit 2024 statt?", "Wer ist Lena Vogt?"):
        result = resolver.run(question, history, "de")
        assert (result.question, result.followup, result.clarify) == (question, False, None)


def test_question_word_alone_takes_the_rest_and_the_person_of_the_answer(resolver: FollowUpResolver):
    history = turn("Wer hat LOTSE vorgestellt?", "Petra Lindner (Stadtverwaltung Leipzig). Laut Bericht: „… stellte das Werkzeug „LOTSE“ vor.“")
    result = resolver.run("Und wann?", history, "de")
    assert result.followup and result.clarify is None
    assert result.question == "Wann hat Petra Lindner LOTSE vorgestellt?"
    where = resolver.run("Und wo?", turn("Wann fand das Sommerforum Arbeit 2024 statt?", "Am 3. Juli 2024."), "de")
    assert where.question == "Wo fand das Sommerforum Arbeit 2024 statt?"


def test_a_bare_name_or_year_replaces_its_like_in_the_previous_question(resolver: FollowUpResolver):
    assert resolver.run("und KODA?", turn("Was ist LOTSE?", "Ein Werkzeug."), "de").question == "Was ist KODA?"
    history = turn("Wer hielt die Keynote beim Werkstatttag Digitale Verwaltung 2022?", "Markus Feld.")
    assert resolver.run("Und 2024?", history, "de").question == "Wer hielt die Keynote beim Werkstatttag Digitale Verwaltung 2024?"
    unknown = resolver.run("Und die Akten?", turn("Wann war das?", "Im Mai."), "de")
    assert (unknown.question, unknown.clarify) == ("Und die Akten?", "Was möchten Sie zu „die Akten“ wissen?")


def test_pronouns_take_the_person_or_thing_of_the_previous_turn(resolver: FollowUpResolver):
    it = resolver.run("Who presented it?", turn("What is KODA?", "An evaluation programme: „Er präsentierte das Auswertungsprogramm „KODA“.“"), "en")
    assert it.question == "Who presented KODA?"
    she = resolver.run("Was hat sie noch gesagt?", turn("Was hat Petra Lindner vorgestellt?", "Das Werkzeug „LOTSE“."), "de")
    assert she.question == "Was hat Petra Lindner noch gesagt?"
    where_from = resolver.run("Und aus welcher Verwaltung kommt sie?", turn("Was hat Petra Lindner vorgestellt?", "„LOTSE“."), "de")
    assert where_from.question == "Aus welcher Verwaltung kommt Petra Lindner?"


def test_gender_of_the_pronoun_picks_among_several_people(resolver: FollowUpResolver):
    history = turn("Wer saß auf dem Podium?", "Markus Feld (Landesamt für Statistik) und Petra Lindner (Stadtverwaltung Leipzig).")
    assert resolver.run("Was hat sie gesagt?", history, "de").question == "Was hat Petra Lindner gesagt?"
    assert resolver.run("What did he say?", history, "en").question == "What did Markus Feld say?"


def test_possessive_and_event_of_the_previous_question(resolver: FollowUpResolver):
    history = turn("Wer hielt die Keynote beim Sommerforum Arbeit 2024?", "Der Berater Jonas Brandt.")
    result = resolver.run("Und was war seine zentrale Botschaft?", history, "de")
    assert result.question == "Was war Jonas Brandts zentrale Botschaft beim Sommerforum Arbeit 2024?"
    english = resolver.run("What was his main point?", turn("Who gave the keynote at the Sommerforum Arbeit 2024?", "Jonas Brandt."), "en")
    assert english.question == "What was Jonas Brandt's main point at the Sommerforum Arbeit 2024?"


def test_a_follow_up_that_names_no_event_keeps_the_event_words(resolver: FollowUpResolver):
    history = turn("Wo fand das Sommerforum Arbeit 2024 statt?", "In Bremen.")
    result = resolver.run("Und wann war das erste Forum?", history, "de")
    assert result.followup and result.question == "Wann war das erste Forum (Sommerforum Arbeit 2024)?"
    there = resolver.run("Wer hat dort gesprochen?", turn("Worum ging es beim Werkstatttag Digitale Verwaltung 2022?", "Um Beratung."), "de")
    assert there.question == "Wer hat beim Werkstatttag Digitale Verwaltung 2022 gesprochen?"


def test_a_position_in_a_listed_answer(resolver: FollowUpResolver):
    history = turn("Who was on the panel?", "Lena Vogt, Dr. Jonas Brandt and Sabine Kurz, moderated by Petra Lindner.")
    assert resolver.run("What position did the second person on that list hold?", history, "en").question == \
        "What position did Dr. Jonas Brandt hold?"
    assert resolver.run("Und woher kommt die erste Person?", history, "de").question == "Woher kommt Lena Vogt?"


def test_several_equally_likely_people_or_none_ask_back(resolver: FollowUpResolver):
    history = turn("Wer saß auf dem Podium?", "Markus Feld (Landesamt für Statistik) und Jonas Brandt (Agentur Nord).")
    both = resolver.run("Was hat er gesagt?", history, "de")
    assert both.clarify == "Meinen Sie Markus Feld oder Jonas Brandt?" and both.question == "Was hat er gesagt?"
    assert resolver.run("What did he say?", history, "en").clarify == "Do you mean Markus Feld or Jonas Brandt?"
    nobody = resolver.run("Was hat sie gesagt?", turn("Wann fand das Sommerforum Arbeit 2024 statt?", "Am 3. Juli 2024."), "de")
    assert nobody.clarify is not None and "Sie" in nobody.clarify and "Namen" in nobody.clarify
    titles = resolver.run("Wer hat es entwickelt?", turn("Was unterscheidet LOTSE und KODA?", "LOTSE sortiert, KODA wertet aus."), "de")
    assert titles.clarify == "Meinen Sie LOTSE oder KODA?"


def test_expletive_es_and_formal_sie_are_not_pronouns(resolver: FollowUpResolver):
    history = turn("Was ist LOTSE?", "Ein Werkzeug.")
    assert resolver.run("Gab es Workshops in Bremen?", history, "de").followup is False
    assert resolver.run("Können Sie mir sagen, wer KODA präsentiert hat?", history, "de").followup is False


def test_cue_table_parses_and_holds_no_name_of_the_bundled_documents():
    cues = FollowUpCues.from_file(CUES_PATH)
    for kind in ("person_m", "person_f", "thing", "opener", "question", "ordinal"):
        assert cues.of(kind, "de") and cues.of(kind, "en"), kind
    assert cues.ordinals["first"] == 1 and cues.ordinals["letzte"] == -1
    table = CUES_PATH.read_text(encoding="utf-8").lower()
    smalltalk = (CUES_PATH.parent / "smalltalk.tsv").read_text(encoding="utf-8").lower()
    names = {p.surname.lower() for path in (REPO / "corpus").rglob("*.md") for p in people(path.read_text(encoding="utf-8"))}
    assert names, "the corpus names people"
    for name in names:
        assert name not in table and name not in smalltalk, name


def test_the_event_or_place_of_the_previous_turn_as_referent(resolver: FollowUpResolver):
    event = resolver.run("Und wie oft findet er statt?", turn("Seit wann gibt es den Werkstatttag Digitale Verwaltung?", "Seit 2010."), "de")
    assert event.question == "Wie oft findet Werkstatttag Digitale Verwaltung statt?"
    # "die Veranstaltung" is feminine: "er" cannot mean it, and no man was named
    assert resolver.run("Was hat er dort vorgestellt?", turn("Wann fand die Veranstaltung Sommerforum Arbeit 2024 statt?", "Am 3. Juli 2024."), "de").clarify
    place = resolver.run("What is her position there?", turn("Who spoke for the city?", "Petra Lindner from Leipzig."), "en")
    assert place.question == "What is Petra Lindner's position there (Leipzig)?"
    joined = resolver.run("Was haben sie gemeinsam?", turn("Welche Werkzeuge wurden gezeigt?", "„LOTSE“ und „KODA“."), "de")
    assert joined.question == "Was haben LOTSE und KODA gemeinsam?"


def test_a_bare_which_takes_the_noun_the_previous_question_asked_about() -> None:
    from service.answering.conversation import _carry_asked_noun

    assert _carry_asked_noun("Und welches hat einen Kanal?", "Welches Amt hat den Bau geplant?") == \
        "Und welches Amt hat einen Kanal?"
    assert _carry_asked_noun("And which one has a channel?", "Which town hall redesigned its lobby?") == \
        "And which town hall has a channel?"
    assert _carry_asked_noun("Welche Gäste waren da?", "Welches Amt hat X?") == "Welche Gäste waren da?"
