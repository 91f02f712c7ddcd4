"""Starter questions made from the store: what a new user could ask first.

Nothing here is a list of questions. Each suggestion fills a general template with
something the documents hold: an event's name, date and place (`EventIndex`), a section
heading (a heading that is itself a question is used as it stands), or a person named
with an organisation ("Jana Brandt (Landesamt …)") — asked what they presented when a
sentence about them says so, else who they are. So the suggestions change when the
documents change, and each one asks something the documents answer.

The choice is deterministic (same store, same suggestions) and varied: slot i takes the
next event in turn (latest first) and, for that event, the next kind of question in turn
(overview, person, date and place, section), so four suggestions cover four events, or
four kinds of question about one.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Mapping

from service.answering.events import EventIndex, EventInfo
from vectorstore.records import Document
from vectorstore.text.analysis import fold
from vectorstore.text.entities import Person, people
from vectorstore.text.language import Language

KINDS = ("overview", "person", "when_where", "section")

STRUCTURAL_HEADINGS = frozenset(
    fold(word)
    for word in (
        "Fazit Bildergalerie Galerie Fotos Bilder Impressionen Impressum Kontakt Einleitung Inhalt "
        "Inhaltsverzeichnis Anhang Quellen Links Downloads Gallery Photos Pictures Contact Contents "
        "Conclusion Introduction Imprint Appendix Sources"
    ).split()
)
"""First words of headings that name a part of any report, not a programme item (general words)."""

_PRESENTING = re.compile(
    r"\b(?:präsentiert\w*|vorgestellt|stellte\w*\b[^.]{0,200}\bvor\b|zeigte\w*|erläuterte\w*|berichtete\w*|"
    r"informierte\w*|erklärte\w*|referierte\w*|presented|introduced|showed|explained|reported)\b",
    re.I,
)
"""Verbs of presenting something (general German and English): the person presented a thing."""

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]|$)")


def heading_item(heading: str) -> str:
    """The programme item a heading names: the part before a colon ("Keynote: Mut …" → "Keynote")."""
    head, sep, tail = heading.partition(":")
    return head.strip() if sep and head.strip() else heading.strip()


def is_structural(heading: str) -> bool:
    first = heading_item(heading).split()
    return bool(first) and fold(first[0]) in STRUCTURAL_HEADINGS


def main_headings(info: EventInfo | None, doc: Document, limit: int) -> list[str]:
    """The first `limit` section headings that name content, as their programme items."""
    headings = info.headings if info is not None else tuple(s.heading for s in doc.sections if s.heading != doc.title)
    out: list[str] = []
    for heading in headings:
        if is_structural(heading):
            continue
        item = heading_item(heading)
        if item not in out:
            out.append(item)
        if len(out) == limit:
            break
    return out


class StarterQuestions:
    """Suggested first questions for one store version, German and English."""

    def __init__(self, events: EventIndex, documents: Mapping[str, Document]) -> None:
        self.events = events
        self.documents = documents
        ordered = [e.doc_id for e in events.events if e.doc_id in documents]
        ordered += sorted(d for d in documents if d not in set(ordered))
        self._order = ordered
        self._candidates: dict[str, list[dict[str, list[str]]]] = {
            language: [self._for_document(documents[doc_id], language) for doc_id in ordered] for language in ("de", "en")
        }

    def run(self, language: Language, n: int = 4) -> list[str]:
        """`n` starter questions in `language` ('de' or 'en'), the same for the same store."""
        per_doc = self._candidates["en" if language == "en" else "de"]
        if not per_doc or n <= 0:
            return []
        used: list[dict[str, int]] = [dict.fromkeys(KINDS, 0) for _ in per_doc]
        out: list[str] = []
        slot = 0
        idle = 0
        while len(out) < n and idle < len(per_doc):
            d = slot % len(per_doc)
            first_kind = (slot // len(per_doc) + d) % len(KINDS)
            picked = None
            for step in range(len(KINDS)):
                kind = KINDS[(first_kind + step) % len(KINDS)]
                options = per_doc[d][kind]
                while used[d][kind] < len(options) and options[used[d][kind]] in out:
                    used[d][kind] += 1
                if used[d][kind] < len(options):
                    picked = options[used[d][kind]]
                    used[d][kind] += 1
                    break
            if picked is None:
                idle += 1
            else:
                idle = 0
                out.append(picked)
            slot += 1
        return out

    # ------------------------------------------------------------------ candidates
    def _for_document(self, doc: Document, language: str) -> dict[str, list[str]]:
        info = self.events.event(doc.doc_id)
        candidates: dict[str, list[str]] = {kind: [] for kind in KINDS}
        en = language == "en"
        if info is not None:
            label = info.label
            candidates["overview"].append(f"What was {label} about?" if en else f"Worum ging es bei der Veranstaltung {label}?")
            if info.start or info.place:
                candidates["when_where"].append(
                    f"When and where did {label} take place?" if en else f"Wann und wo fand die Veranstaltung {label} statt?"
                )
        else:
            title = doc.title or doc.doc_id
            candidates["overview"].append(f"What is “{title}” about?" if en else f"Worum geht es in „{title}“?")
        for person, presented in self._people(doc):
            if en:
                candidates["person"].append(f"What did {person.name} present?" if presented else f"Who is {person.name}?")
            else:
                candidates["person"].append(f"Was hat {person.name} vorgestellt?" if presented else f"Wer ist {person.name}?")
        headings = info.headings if info is not None else tuple(s.heading for s in doc.sections if s.heading != doc.title)
        for heading in headings:
            if is_structural(heading):
                continue
            if heading.rstrip().endswith("?"):
                if not en:
                    candidates["section"].append(heading.strip())
                continue
            item = heading_item(heading)
            if len(item.split()) < 2:
                item = heading.strip()
            candidates["section"].append(f"What was “{item}” about?" if en else f"Worum ging es bei „{item}“?")
        return candidates

    @staticmethod
    def _people(doc: Document) -> list[tuple[Person, bool]]:
        """People named with an organisation, each once, those who presented something first."""
        sentences = [m.group() for m in _SENTENCE.finditer(doc.text)]
        seen: dict[str, Person] = {}
        for person in people(doc.text):
            key = fold(person.surname)
            if person.org and key not in seen:
                seen[key] = person
        ranked: list[tuple[int, int, Person, bool]] = []
        for position, person in enumerate(seen.values()):
            surname = person.surname
            presented = any(surname in s and _PRESENTING.search(s) for s in sentences)
            ranked.append((0 if presented else 1, position, person, presented))
        ranked.sort(key=lambda r: (r[0], r[1]))
        return [(person, presented) for _, _, person, presented in ranked]


def format_dates(start: date | None, end: date | None, language: str) -> str | None:
    """"8.–9. Oktober 2025" / "8–9 October 2025" (a span), or one day, or None."""
    if start is None:
        return None
    end = end or start
    months = _MONTHS_EN if language == "en" else _MONTHS_DE
    if language == "en":
        if start == end:
            return f"{start.day} {months[start.month - 1]} {start.year}"
        if (start.year, start.month) == (end.year, end.month):
            return f"{start.day}–{end.day} {months[end.month - 1]} {end.year}"
        return f"{start.day} {months[start.month - 1]} – {end.day} {months[end.month - 1]} {end.year}"
    if start == end:
        return f"{start.day}. {months[start.month - 1]} {start.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}.–{end.day}. {months[end.month - 1]} {end.year}"
    return f"{start.day}. {months[start.month - 1]} – {end.day}. {months[end.month - 1]} {end.year}"


_MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
