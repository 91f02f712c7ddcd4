"""Which event each document reports on, and which events a question names.

A store may hold the reports of several events (and documents that report on none).
The event of a document comes from its front matter (`event`, `event_start`,
`event_end`, `place`, `organiser`), or else from its title: the title with report words
("Rückblick auf …", "Bericht", "review of …") taken off, and a year in it.

A question is scoped to events when it names one: a year that some event has ("2023"),
or at least two of the distinctive words of an event's name (words that are not generic
event words such as "Tagung" or "conference"). Anything less ("Welche Jobcenter …") does
not scope: one shared word with a name is too little to exclude the other events.

Built once per store version (`EventIndex.from_store`), asked once per question (`scope`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping

from vectorstore.records import Document
from vectorstore.text.analysis import fold, terms, words

# Kinds of events (German heads of compounds: "Fachtagung", "Herbstkonferenz" are events too), and
# English kinds, which are whole words ("event" must not match "prevent").
EVENT_KIND_HEADS = ("tagung", "konferenz", "kongress", "veranstaltung", "forum", "treffen", "symposium", "workshop")
EVENT_KIND_WORDS = frozenset({"event", "messe", "conference", "congress", "meeting", "symposium", "workshop", "forum"})


def event_kind_word(word: str, heads: tuple[str, ...] = EVENT_KIND_HEADS, whole: frozenset[str] = EVENT_KIND_WORDS) -> bool:
    """`word` names a kind of event: a German word ending in one of `heads`, or one of `whole`."""
    folded = fold(word)
    return folded in whole or (len(folded) >= 5 and folded.endswith(heads))


# General words of event names and reports, German and English, besides the kinds of event: they
# say that something is an event or a report on one, not which one.
_GENERIC_NAME_WORDS = frozenset(
    terms(
        "Rückblick Bericht Nachbericht Dokumentation Rückschau Review Report Recap Summary "
        "annual jährliche auf den die der das dem des im in zum zur the of on a an and und"
    )
)


def _distinctive_terms(name: str) -> frozenset[str]:
    """Stems of an event name's words that say which event it is: no kind of event, no
    general word of reports, no year."""
    return frozenset(
        t for w in words(name) if not event_kind_word(w) for t in terms(w)
        if t not in _GENERIC_NAME_WORDS and not _YEAR.fullmatch(t)
    )
_REPORT_PREFIX = re.compile(
    r"^\s*(?:rückblick|nachbericht|bericht|rückschau|dokumentation|review|report|recap)\b"
    r"(?:\s+(?:auf|über|zu|zur|zum|von|vom|of|on|from))?(?:\s+(?:den|die|das|dem|der|the))?\s*[:–-]?\s*",
    re.I,
)
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")


@dataclass(frozen=True)
class EventInfo:
    """The event one document reports on (`name` None: the document reports on no event)."""

    doc_id: str
    title: str
    name: str | None
    year: int | None
    start: date | None = None
    end: date | None = None
    place: str | None = None
    organiser: str | None = None
    headings: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How an answer names the event ("Tag der Schulen 2023"): its name, with the year if
        the name lacks it."""
        name = self.name or self.title
        if self.year and str(self.year) not in name:
            return f"{name} {self.year}"
        return name


def _as_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def event_of(doc: Document) -> EventInfo:
    """The event of `doc` from its metadata, else from its title."""
    meta = doc.metadata or {}
    start = _as_date(meta.get("event_start") or meta.get("date"))
    end = _as_date(meta.get("event_end")) or start
    name = _text(meta.get("event"))
    title = doc.title or doc.doc_id
    if name is None:
        stripped = _REPORT_PREFIX.sub("", title).strip()
        # A title that is a report about something with a year reads as an event report.
        if stripped != title.strip() or _YEAR.search(title) or start is not None:
            name = stripped or title
    year = start.year if start else None
    if year is None and name:
        found = _YEAR.findall(name) or _YEAR.findall(title)
        year = int(found[-1]) if found else None
    headings = tuple(dict.fromkeys(s.heading for s in doc.sections if s.heading and s.heading != title))
    return EventInfo(
        doc_id=doc.doc_id, title=title, name=name, year=year, start=start, end=end,
        place=_text(meta.get("place")), organiser=_text(meta.get("organiser")), headings=headings,
    )


@dataclass(frozen=True)
class Scope:
    """The documents a question is about: all (`doc_ids` None) or the named events' documents."""

    doc_ids: frozenset[str] | None
    events: tuple[EventInfo, ...] = ()
    year: int | None = None

    @property
    def narrowed(self) -> bool:
        return self.doc_ids is not None


class EventIndex:
    """The events of one store: which document reports on which event, and question scoping."""

    def __init__(self, events: Iterable[EventInfo]) -> None:
        self.by_doc: dict[str, EventInfo] = {e.doc_id: e for e in events}
        self.events: tuple[EventInfo, ...] = tuple(
            sorted((e for e in self.by_doc.values() if e.name), key=lambda e: (e.start or date.min, e.doc_id), reverse=True)
        )
        self._all_name_terms: dict[str, frozenset[str]] = {e.doc_id: frozenset(terms(e.name or "")) for e in self.events}
        self._every_name_term: frozenset[str] = frozenset().union(*self._all_name_terms.values())
        self._naming: frozenset[str] | None = None  # set by `from_store`, which has the texts
        self._name_words: dict[str, frozenset[str]] = {e.doc_id: frozenset(fold(w) for w in words(e.name or "")) for e in self.events}
        self._name_terms: dict[str, frozenset[str]] = {e.doc_id: _distinctive_terms(e.name or "") for e in self.events}

    @classmethod
    def from_store(cls, documents: Mapping[str, Document]) -> "EventIndex":
        index = cls(event_of(doc) for doc in documents.values())
        index._naming = index._only_in_own_reports(documents)
        return index

    def _only_in_own_reports(self, documents: Mapping[str, Document]) -> frozenset[str]:
        """Name stems that no document outside the events named by them contains ("gartentag"
        of "Gartentag Ostermoor"), unlike the words of a domain that every report uses
        ("schul" of "Tag der Schulen"). Checked as substrings of the folded texts."""
        texts = {doc_id: fold(doc.text) for doc_id, doc in documents.items()}
        out = set()
        for stem in self._every_name_term:
            own = {doc_id for doc_id, name_terms in self._all_name_terms.items() if stem in name_terms}
            if not any(stem in text for doc_id, text in texts.items() if doc_id not in own):
                out.add(stem)
        return frozenset(out)

    def __len__(self) -> int:
        return len(self.events)

    def event(self, doc_id: str) -> EventInfo | None:
        """The event `doc_id` reports on, or None."""
        info = self.by_doc.get(doc_id)
        return info if info is not None and info.name else None

    def name_words(self) -> frozenset[str]:
        """Stems of every word of every event's name."""
        return self._every_name_term

    def naming_words(self) -> frozenset[str]:
        """Stems of event names that only the named events' reports use: they say which event a
        question is about, and are no evidence for what it asks (every sentence of those
        reports is near them). All name stems when the index was built without the texts."""
        return self._every_name_term if self._naming is None else self._naming

    def latest(self) -> EventInfo | None:
        return self.events[0] if self.events else None

    def _of_type(self, question: str) -> list[EventInfo] | None:
        """Events whose name has the kind of event the question says ("die Tagung" → events named
        "…tagung…", "Konferenz" → "Herbstkonferenz"); None when the question names no kind that any
        event has. Compared as folded words: the stemmer cuts "Fachtagung" and "Tagung" differently."""
        kinds = {fold(w) for w in words(question) if len(w) >= 5 and event_kind_word(w)}
        if not kinds:
            return None
        typed = [e for e in self.events if any(n.endswith(k) for k in kinds for n in self._name_words[e.doc_id])]
        return typed or None

    def scope(self, question: str) -> Scope:
        """The events `question` names (by year, name words or kind of event), or no narrowing.
        A year that no event of the named kind has scopes to nothing (the answer is "not in
        the documents", not another event of that year)."""
        if not self.events:
            return Scope(None)
        years = {int(y) for y in _YEAR.findall(question)}
        known_years = {e.year for e in self.events if e.year}
        asked_years = years & known_years
        year = min(asked_years) if asked_years else None
        q_terms = set(terms(question))
        named = [
            e for e in self.events
            if (hits := len(self._name_terms[e.doc_id] & q_terms)) >= 2 or (hits == 1 and len(self._name_terms[e.doc_id]) == 1)
        ]
        typed = self._of_type(question) if not named else None
        if asked_years:
            pool = named or typed or list(self.events)
            chosen = [e for e in pool if e.year in asked_years]
            if not chosen and typed:
                return Scope(frozenset(), year=year)  # "die Fachtagung 2024" when no Fachtagung was in 2024
            if not chosen and named:  # a year the named event does not have: the year decides
                chosen = [e for e in self.events if e.year in asked_years]
        else:
            chosen = named or typed or []
        if not chosen:
            return Scope(None, year=year)
        return Scope(frozenset(e.doc_id for e in chosen), tuple(chosen), year)
