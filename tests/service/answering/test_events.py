"""EventIndex / event_of / Scope on made-up documents: which event a document reports on,
and which events a question names (by year, by name words, by kind of event)."""

from __future__ import annotations

from datetime import date

import pytest

from service.answering.events import EventIndex, event_of
from vectorstore.records import Document


def doc(doc_id: str, title: str, metadata: dict | None = None) -> Document:
    return Document(doc_id, title, f"{title}\n\nText.", doc_id, "0" * 64, (), metadata or {})


# --- event_of ------------------------------------------------------------------------------


def test_event_from_front_matter_wins_over_the_title():
    info = event_of(doc("a.md", "Irgendein Titel", {
        "event": "Lichterfest Sonnhalde", "event_start": "2022-09-01", "event_end": "2022-09-03",
        "place": "Sonnhalde", "organiser": "Verein Laternenfreunde",
    }))
    assert info.name == "Lichterfest Sonnhalde"
    assert info.year == 2022
    assert (info.start, info.end) == (date(2022, 9, 1), date(2022, 9, 3))
    assert info.place == "Sonnhalde" and info.organiser == "Verein Laternenfreunde"


def test_one_day_event_ends_on_its_start_and_a_date_value_is_accepted():
    info = event_of(doc("a.md", "x", {"event": "Lichterfest Sonnhalde", "event_start": date(2021, 4, 2)}))
    assert info.start == info.end == date(2021, 4, 2)


@pytest.mark.parametrize(
    ("title", "name", "year"),
    [
        ("Rückblick auf das Waldforum Grünhausen 2023", "Waldforum Grünhausen 2023", 2023),
        ("Bericht vom Küstentag Möwenfeld 2021", "Küstentag Möwenfeld 2021", 2021),
        ("Rückblick: Quellenfest Hasenbruch", "Quellenfest Hasenbruch", None),
        ("Review of the Harbour Summit Eldermoor 2019", "Harbour Summit Eldermoor 2019", 2019),
    ],
)
def test_event_from_a_report_title_when_the_metadata_has_none(title, name, year):
    info = event_of(doc("r.md", title))
    assert info.name == name
    assert info.year == year


def test_a_document_that_reports_on_no_event():
    info = event_of(doc("leitfaden.md", "Leitfaden Kassenprüfung"))
    assert info.name is None and info.year is None
    index = EventIndex([info])
    assert len(index) == 0
    assert index.event("leitfaden.md") is None
    assert index.latest() is None
    assert not index.scope("Wer hat den Leitfaden geschrieben?").narrowed


def test_headings_of_the_document_are_kept_without_the_title():
    from vectorstore.records import Section

    text = "Rückblick auf das Waldforum Grünhausen 2023\n\nLead.\n\nProgramm\n\nA.\n\nFazit\n\nB."
    d = Document("w.md", "Rückblick auf das Waldforum Grünhausen 2023", text, "w.md", "0" * 64,
                 (Section(text.index("Programm"), "Programm"), Section(text.index("Fazit"), "Fazit")), {})
    assert event_of(d).headings == ("Programm", "Fazit")


# --- label -----------------------------------------------------------------------------------


def test_label_adds_the_year_when_the_name_lacks_it():
    assert event_of(doc("a.md", "x", {"event": "Lichterfest Sonnhalde", "event_start": "2022-09-01"})).label == \
        "Lichterfest Sonnhalde 2022"
    assert event_of(doc("b.md", "x", {"event": "Lichterfest Sonnhalde 2022", "event_start": "2022-09-01"})).label == \
        "Lichterfest Sonnhalde 2022"
    assert event_of(doc("c.md", "Rückblick: Quellenfest Hasenbruch")).label == "Quellenfest Hasenbruch"
    assert event_of(doc("d.md", "Leitfaden Kassenprüfung")).label == "Leitfaden Kassenprüfung"


# --- scope -----------------------------------------------------------------------------------


@pytest.fixture()
def index() -> EventIndex:
    """Four made-up events and one document about none."""
    return EventIndex.from_store({d.doc_id: d for d in [
        doc("konferenz-2024.md", "x", {"event": "Jahreskonferenz Lindenau Netzwerk", "event_start": "2024-03-05"}),
        doc("fachtagung-2023.md", "x", {"event": "Fachtagung Lindenau Zukunft", "event_start": "2023-06-01"}),
        doc("kuestentag-2021.md", "Bericht vom Küstentag 2021"),
        doc("waldforum-2022.md", "x", {"event": "Waldforum Grünhausen", "event_start": "2022-10-10"}),
        doc("leitfaden.md", "Leitfaden Kassenprüfung"),
    ]})


def test_events_are_ordered_latest_first(index):
    assert len(index) == 4
    assert index.latest().doc_id == "konferenz-2024.md"
    assert index.event("leitfaden.md") is None
    assert index.event("waldforum-2022.md").name == "Waldforum Grünhausen"


def test_scope_by_a_year_an_event_has(index):
    scope = index.scope("Wer sprach 2023 über Nachwuchs?")
    assert scope.narrowed and scope.doc_ids == {"fachtagung-2023.md"}
    assert scope.year == 2023
    assert [e.doc_id for e in scope.events] == ["fachtagung-2023.md"]


def test_a_year_no_event_has_does_not_scope(index):
    scope = index.scope("Was gab es 2019 Neues?")
    assert not scope.narrowed and scope.doc_ids is None


def test_scope_by_two_distinctive_name_words(index):
    scope = index.scope("Welche Gäste kamen zur Runde Lindenau Netzwerk?")
    assert scope.doc_ids == {"konferenz-2024.md"}
    assert index.scope("Wer moderierte in Lindenau zur Zukunft?").doc_ids == {"fachtagung-2023.md"}


def test_one_shared_name_word_does_not_scope(index):
    # "Lindenau" is in two names; alone it is too little to exclude either event (or the others).
    scope = index.scope("Welche Gäste kamen aus Lindenau?")
    assert not scope.narrowed


def test_a_name_of_a_single_distinctive_word_scopes_by_that_word(index):
    assert index.scope("Wer eröffnete den Küstentag?").doc_ids == {"kuestentag-2021.md"}


def test_scope_by_kind_of_event(index):
    assert index.scope("Wer sprach auf der Fachtagung?").doc_ids == {"fachtagung-2023.md"}
    assert index.scope("Wer sprach bei der Jahreskonferenz?").doc_ids == {"konferenz-2024.md"}


def test_kind_and_year_that_do_not_meet_scope_to_nothing(index):
    """"die Fachtagung 2024" when only a Jahreskonferenz was in 2024: abstain, not the other event."""
    scope = index.scope("Wer sprach auf der Fachtagung 2024?")
    assert scope.narrowed and scope.doc_ids == frozenset()
    assert scope.events == () and scope.year == 2024


def test_kind_and_year_that_meet(index):
    assert index.scope("Wer sprach auf der Fachtagung 2023?").doc_ids == {"fachtagung-2023.md"}


def test_a_year_the_named_event_does_not_have_decides(index):
    scope = index.scope("Wer kam 2023 zur Runde Lindenau Netzwerk?")
    assert scope.doc_ids == {"fachtagung-2023.md"}


def test_a_store_without_events_never_scopes():
    index = EventIndex.from_store({"l.md": doc("l.md", "Leitfaden Kassenprüfung")})
    assert index.scope("Was war 2023 auf der Fachtagung?").doc_ids is None
