"""What each sentence of a store offers as evidence, computed once per store instead of per question.

The answer builder checks a dozen candidate sentences per question for terms, people,
organisations, places, dates and numbers. None of that depends on the question, so it is
worked out once per sentence and kept with the loaded store in an `EvidenceTable`:

- for a store that holds its sentence table in memory (FAISS), for every sentence when
  the store is loaded (`warm`), so the first question is as fast as the hundredth;
- for a remote store (Milvus), per chunk on first sight, since its sentences are read on
  demand too.

Example::

    table = EvidenceTable(store)
    for facts in table.chunk(row):          # the quotable sentences of one chunk, in order
        print(facts.text, facts.dates, [p.label() for p in facts.people])
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np

from vectorstore.text.analysis import TermMatcher, fold, terms
from vectorstore.text.entities import (
    Directory,
    Person,
    dates,
    distinct_people,
    number_value,
    number_values,
    organisations,
    person_directory,
    places,
    times,
)
from vectorstore.text.language import concepts_in
from vectorstore.text.sentences import split_sentences

WARM_LIMIT = 20_000
"""In-memory stores with up to this many sentences are analysed completely at load (about
1 ms per sentence on one core); larger ones sentence by sentence as questions reach them."""

_MEMO_LIMIT = 50_000  # chunks whose facts are kept for lazily analysed stores

_TOKEN = re.compile(r"[\wäöüÄÖÜß]+(?:[.,]\d+)*")
_LETTER_WORD = re.compile(r"[^\W\d_]{2,}")
_ACRONYM = re.compile(r"\b(?:[A-ZÄÖÜ]{2,}[A-ZÄÖÜ0-9]*|[A-Z][A-Za-z]*\d[A-Za-z0-9]*)\b")
_QUOTED_NAME = re.compile(r"[„\"“«»]([^„\"“«»]{2,80})[“\"”«»]")


@dataclass(frozen=True, slots=True)
class Token:
    """A word or number of a sentence, with what counting needs: its value and stems."""

    word: str
    start: int
    end: int
    value: float | None
    stems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SentenceFacts:
    """One quotable sentence and everything question-independent the evidence checks use.

    The context is the section heading, the paragraph's first sentence (when it names at
    most one person), the sentence before it in the same paragraph and the sentence itself:
    "Das Ergebnis: weniger Krankmeldungen …" needs the sentence that names Brandt's office.
    """

    row: int
    doc_id: str
    start: int
    end: int
    text: str
    context: str
    terms: frozenset[str]  # index terms of the sentence
    window: frozenset[str]  # index terms of the context (the sentence's included)
    values: frozenset[float]  # numbers mentioned in the context
    dates: tuple[str, ...]
    full_date: bool  # a date with day and month ("8. Oktober")
    times: tuple[str, ...]
    people: tuple[Person, ...]  # in the sentence, each once
    context_people: tuple[Person, ...]
    orgs: tuple[str, ...]
    context_orgs: tuple[str, ...]
    places: tuple[str, ...]  # not a known surname; those after "in"/"im"/"nach" first
    places_in_orgs: frozenset[str]  # of `places`, those inside an organisation name ("Jobcenter Musterstadt")
    places_after_in: frozenset[str]
    names: tuple[str, ...]  # acronyms and quoted titles ("PLANTA", „Zukunftsküche“), not organisations
    tokens: tuple[Token, ...]


def _names(text: str, orgs: tuple[str, ...]) -> tuple[str, ...]:
    """Acronyms and quoted titles of `text`: the names of tools, programmes and projects.
    Organisation acronyms ("(BMAS)") and words of the event vocabulary ("KI") are left out."""
    found = [m.group(1) for m in _QUOTED_NAME.finditer(text)]
    found += [m.group() for m in _ACRONYM.finditer(text) if m.group() not in orgs and not concepts_in(m.group())]
    return tuple(dict.fromkeys(found))


def _quotable(text: str) -> bool:
    return len(_LETTER_WORD.findall(text)) >= 3


def _paragraph_context(text: str, start: int) -> tuple[str, str]:
    """The first and the previous sentence of the paragraph (or list item) the sentence at
    `start` belongs to ("" where there is none): a report names the person or project once,
    in a paragraph's first sentence, and then goes on with "Brandt machte deutlich …".
    Sentences before `start` in another chunk count too: chunks cut paragraphs."""
    begin = text.rfind("\n", 0, start) + 1
    before = [text[a:b] for a, b in split_sentences(text, begin, start) if _quotable(text[a:b])]
    if not before:
        return "", ""
    return (before[0] if len(before) > 1 else ""), before[-1]


# Words that make a document a report of an event (its front matter may say so too).
_EVENT_WORDS = re.compile(
    r"\b(?:\w*tagung\w*|\w*konferenz\w*|\w*kongress\w*|veranstaltung\w*|symposium|conference|congress)\b", re.I
)


def is_event_document(title: str, text: str, metadata: dict | None) -> bool:
    """Whether a document reports on an event: front matter naming one (`event`, `event_start`),
    or a title or text that speaks of a Tagung / Konferenz / Veranstaltung / conference."""
    meta = metadata or {}
    if meta.get("event") or meta.get("event_start"):
        return True
    return bool(_EVENT_WORDS.search(title or "") or _EVENT_WORDS.search(text))


class EvidenceTable:
    """Per-store cache of `SentenceFacts`, plus the people directory and term matcher of the store.

    Made once per loaded store (it lives as long as the store's `QuestionAnswering`);
    safe to share between request threads: entries are computed idempotently.
    """

    def __init__(self, store, warm: bool = True) -> None:
        self.store = store
        self.directories: dict[str, Directory] = {
            doc_id: person_directory(doc.text) for doc_id, doc in store.documents.items()
        }
        self.surnames = frozenset(key for directory in self.directories.values() for key in directory)
        self.names = frozenset(
            fold(part) for directory in self.directories.values() for person in directory.values()
            for part in person.name.replace("Dr. ", "").replace("Prof. ", "").split()
        )
        self.event_documents = frozenset(
            doc_id for doc_id, doc in store.documents.items() if is_event_document(doc.title, doc.text, doc.metadata)
        )
        self._by_chunk: dict[int, tuple[SentenceFacts, ...]] = {}
        self._lock = threading.Lock()
        seen: set[str] = set()
        if warm and self.warm():
            seen = {t for facts in self._by_chunk.values() for f in facts for t in f.window}
        self.matcher = TermMatcher(seen.union(store.keyword.vocabulary))

    def warm(self) -> int:
        """Analyse every sentence of an in-memory store now; returns the number of chunks done.

        Stores whose sentence table is not an in-memory array (Milvus) or is larger than
        `WARM_LIMIT` are left to be analysed on first use.
        """
        table = self.store.sentences
        if not isinstance(table, np.ndarray) or len(table) > WARM_LIMIT:
            return 0
        chunk_rows = np.unique(table[:, 0]) if len(table) else []
        for chunk_row in chunk_rows:
            self.chunk(int(chunk_row))
        return len(chunk_rows)

    def chunk(self, chunk_row: int) -> tuple[SentenceFacts, ...]:
        """The quotable sentences of one chunk, in text order."""
        found = self._by_chunk.get(chunk_row)
        if found is None:
            found = self._analyse(chunk_row)
            with self._lock:
                if len(self._by_chunk) >= _MEMO_LIMIT:
                    self._by_chunk.clear()
                self._by_chunk[chunk_row] = found
        return found

    def directory(self, doc_id: str) -> Directory:
        found = self.directories.get(doc_id)
        if found is None:  # a document added after load cannot happen (stores are immutable), but be safe
            found = self.directories[doc_id] = person_directory(self.store.documents[doc_id].text)
        return found

    def _analyse(self, chunk_row: int) -> tuple[SentenceFacts, ...]:
        store = self.store
        chunk = store.chunks[chunk_row]
        doc = store.documents[chunk.doc_id]
        directory = self.directory(chunk.doc_id)
        section = chunk.section or ""
        out: list[SentenceFacts] = []
        for row in store.sentence_rows(chunk_row):
            _, start, end = (int(x) for x in store.sentences[row])
            text = doc.text[start:end]
            if not _quotable(text):
                continue  # a list number or a stray heading is nothing to quote
            lead, previous = _paragraph_context(doc.text, start)
            if len(distinct_people(lead, directory)) > 1:
                lead = ""  # a paragraph opening with a list of people is about all of them, not one
            context = "\n".join(part for part in (section, lead, previous, text) if part)
            out.append(self._facts(int(row), chunk.doc_id, start, end, text, context, directory))
        return tuple(out)

    def _facts(
        self, row: int, doc_id: str, start: int, end: int, text: str, context: str, directory: Directory
    ) -> SentenceFacts:
        sentence_terms = frozenset(terms(text))
        found_dates = tuple(dates(text))
        orgs = tuple(organisations(text))
        inside = " ".join(orgs)
        found_places = [p for p in places(text) if fold(p) not in self.surnames]
        after_in = frozenset(p for p in found_places if re.search(rf"\b(in|im|nach)\s{re.escape(p)}\b", text))
        found_places.sort(key=lambda p: 0 if p in after_in else 1)
        tokens = tuple(
            Token(m.group(), m.start(), m.end(), number_value(m.group()), tuple(terms(m.group(), keep_stopwords=True)))
            for m in _TOKEN.finditer(text)
        )
        return SentenceFacts(
            row=row, doc_id=doc_id, start=start, end=end, text=text, context=context,
            terms=sentence_terms, window=frozenset(terms(context)) | sentence_terms,
            values=frozenset(number_values(context)),
            dates=found_dates, full_date=any(re.search(r"\d\.\s?[A-ZÄÖÜ]", d) for d in found_dates),
            times=tuple(times(text)),
            people=tuple(distinct_people(text, directory)), context_people=tuple(distinct_people(context, directory)),
            orgs=orgs, context_orgs=tuple(organisations(context)),
            places=tuple(found_places), places_in_orgs=frozenset(p for p in found_places if p in inside),
            places_after_in=after_in, names=_names(text, orgs), tokens=tokens,
        )
