"""From retrieved passages to a cited answer, or an honest "not in the documents".

The answer is extractive: it quotes the sentence of the cited passages that answers the
question, with a `[n]` marker. For who / when / where / how-many / which-organisation
questions it first states the asked-for thing itself (the person with their
organisation, the date, the place, the number), then quotes the sentence.

Whether to answer at all is decided from the evidence, not from a similarity cut-off
(no cut-off separates on-topic unanswerable questions from answerable ones). A sentence
supports an answer only when, in the sentence and the one before it (its context):

- every name, acronym, quoted title and number of the question occurs;
- the kind of thing asked for occurs (a person or organisation for "who", a date for
  "when", a number next to the counted noun for "how many", an expansion in brackets
  for "what does X stand for");
- enough of the question's other words occur: for German questions most of them
  (stems, compound parts, synonyms); for English questions at least one, directly or
  through the small bilingual event vocabulary of `service.lexicon`, or else the
  sentence must be very close to the question in meaning;
- predicates that decide the answer ("moderated", "presented", "organised", "fee")
  occur in some form.

The first sentence, in score order, that passes is quoted; if none of the best few
does, the service abstains: a wrong confident answer is worse than none.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from service.entities import (
    Directory,
    dates,
    distinct_people,
    number_value,
    number_values,
    numbers,
    organisations,
    person_directory,
    places,
    times,
)
from service.language import Language
from service.language import Concept, concepts_in, expand_terms
from service.retrieval import Passage, RetrievalResult
from vectorstore.analysis import STOPWORDS, fold, terms, words
from vectorstore.faiss_store import FaissStore

AnswerType = Literal["person", "organisation", "date", "time", "number", "place", "expansion", "other"]

_TYPE_PATTERNS: list[tuple[AnswerType, re.Pattern[str]]] = [
    ("expansion", re.compile(r"\b(stand|stands) for\b|\bwofür steht\b|\bwas bedeutet\b|\bwhat does \S+ mean\b|\bwas heißt\b|\bwas heisst\b", re.I)),
    ("time", re.compile(r"\b(um wie ?viel uhr|what time|at what time|um welche uhrzeit)\b", re.I)),
    ("number", re.compile(r"^\s*(wie ?viele?|wie hoch|wie alt|wie lange|wie groß|how many|how much|how old|how long|how large|what percentage)\b|\b(wie ?viele|how many|wie viel prozent|um wie viel)\b", re.I)),
    ("date", re.compile(r"^\s*(wann|when|an welchem tag|on which day|on what date|what date|which date|in welchem jahr|in which year|what year|which year)\b|\bdatum\b", re.I)),
    ("organisation", re.compile(
        r"\b(welche[rms]?|which|what)\s+(\w+\s+)?(organisation|organization|institution|behörde|ministerium|ministry|partei|party|"
        r"jobcenter|job ?cent(re|er)|firma|unternehmen|company|agency|body|verband|association)\b|"
        r"\b(work|works|worked) for\b|\bfür wen arbeitet\b|\brepresenting\b|\bvertritt\b|\bvon welchem jobcenter\b", re.I)),
    ("place", re.compile(r"^\s*(wo|where|wohin|woher)\b|\b(in welcher stadt|in which city|which city|welche stadt|welcher stadt|what city|in welchem ort)\b", re.I)),
    ("person", re.compile(
        r"^\s*(wer|wem|wen|who|whom)\b|\b(mit wem|von wem|by whom|wer hat|who\b)|"
        r"\b(which|welche[rms]?)\s+(\w+\s+){0,3}(speaker|person|people|secretary|member|lawmaker|politician|mayor|"
        r"comedian|expert|minister|manager|director|presenter|moderator|redner(in)?|sprecher(in)?|referent(in)?|"
        r"staatssekretär(in)?|abgeordnete[rn]?|politiker(in)?)\b", re.I)),
]

# Words of questions that say nothing about the content ("Tagung", "conference", question verbs).
_GENERIC = frozenset(
    terms(
        "Tagung Fachtagung Konferenz Veranstaltung Event conference event meeting Bericht report Rückblick "
        "genau eigentlich bitte gesagt sagen erzählt erklärt thema topic gibt gab gab's statt stattgefunden "
        "fand finden find did does do done was were is are war waren sind ist hat haben hatte laut according "
        "welche welcher welches which what who whom whose when where why how wer wen wem was wann wo wie warum "
        "many viele viel much dabei darin there here this year jahr jahres womit worum wofür wozu woran wodurch "
        "bedeutet bedeuten steht stand stands mean means"
    )
)
_QUOTED = re.compile(r"[„\"“«»‚‘']([^„\"“«»‚‘']{3,80})[“\"”«»‘’']")
_EXPANSION = r"{acronym}[“”\"»«’']?\s?\(([^()]{{3,80}})\)"
_FIND = re.compile(r"\b(find|finde|finden|findet|bekommen|get|see|sehen|nachlesen|read)\b", re.I)
_HOW_OLD = re.compile(r"\b(wie alt|how old)\b", re.I)
_HOW_LONG = re.compile(r"\b(wie lange|how long|seit wann)\b", re.I)
_ORDINALS = frozenset("erste ersten erster erstes zweite zweiten zweiter dritte dritten vierte vierten first second third fourth".split())
_COMPOUND_NUMBER = re.compile(r"^(ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|zwölf)([a-zäöüß]{3,})$", re.I)
_HOW_MANY = re.compile(r"\b(wie ?viele?|how many|how much|wie hoch)\s+((?:[\w-]+\s+){0,3})", re.I)

MESSAGES: dict[Language, str] = {
    "de": "Dazu finde ich in den vorliegenden Tagungsunterlagen keine Antwort. "
    "Bitte formulieren Sie die Frage anders oder wenden Sie sich an die Servicestelle SGB II.",
    "en": "I could not find an answer to that in the conference documents. "
    "Please rephrase the question or contact the Servicestelle SGB II.",
}
_INTRO: dict[Language, str] = {"de": "Laut Tagungsunterlagen: ", "en": "According to the conference documents: "}
_AND: dict[Language, str] = {"de": "und", "en": "and"}


@dataclass(frozen=True)
class AbstentionPolicy:
    """Weights and thresholds of sentence choice and the evidence checks.

    Chosen on the conference set and XQuAD (see bench/results/eval_grid.md), not on
    single questions.
    """

    lexical_weight: float = 0.2
    rank_weight: float = 0.02
    type_bonus: float = 0.03
    candidate_passages: int = 12
    candidates_checked: int = 12
    min_coverage_de: float = 0.5
    min_coverage_de_with_anchors: float = 0.34
    min_similarity_en_without_words: float = 0.86
    min_similarity: float = 0.72
    specificity_margin: float = 0.04


@dataclass(frozen=True)
class Citation:
    ref: int
    doc_id: str
    title: str
    section: str | None
    text: str
    start: int
    end: int
    score: float
    quote_start: int
    quote_end: int


@dataclass(frozen=True)
class Answer:
    answer: str
    abstained: bool
    citations: list[Citation]
    language: Language
    reason: str = ""
    lead: str | None = None
    debug: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    """What the answer builder needs to know about a question, computed once per request."""

    text: str
    language: Language
    kind: AnswerType
    anchors: tuple[tuple[str, ...], ...]  # per name / acronym / number / quoted title: its stems
    terms: tuple[str, ...]  # content stems, typo-corrected against the corpus vocabulary
    concepts: tuple[Concept, ...]
    values: frozenset[float]  # numbers the question mentions (not the ones it asks for)
    counted: tuple[str, ...]  # stems of the noun a how-many question counts
    acronym: str | None  # the abbreviation a "what does X stand for" question asks about


@dataclass(frozen=True)
class _Candidate:
    passage: Passage
    rank: int
    row: int
    start: int
    end: int
    text: str
    context: str
    similarity: float
    lexical: float
    score: float


def answer_type(question: str) -> AnswerType:
    for kind, pattern in _TYPE_PATTERNS:
        if pattern.search(question):
            return kind
    return "other"


def anchor_words(question: str, language: Language, known_names: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Surface words the evidence must contain: acronyms, names, places.

    German capitalises every noun, so there a capitalised word is an anchor only when it
    is a known person name or place; in English every capitalised word after the first
    is one, unless the event vocabulary translates it ("Federal", "AI").
    """
    from service.entities import is_place

    found: list[str] = []
    for i, word in enumerate(words(question)):
        lower = word.lower()
        if lower in STOPWORDS or len(word) < 2 or any(ch.isdigit() for ch in word) and word.isdigit():
            continue
        vocabulary = bool(concepts_in(word))
        is_acronym = sum(ch.isupper() for ch in word) >= 2 or (any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word))
        is_name = fold(word) in known_names
        if is_acronym and not vocabulary or is_name:
            found.append(word)
        elif word[0].isupper() and i > 0 and not vocabulary:
            if language == "en" or is_place(word):
                found.append(word)
    return found


class AnswerBuilder:
    """question + retrieved passages → `Answer` (cited, or abstained).

    The people of every document are looked up once, when the builder is made (at
    store load), not per request.
    """

    def __init__(self, store: FaissStore, policy: AbstentionPolicy | None = None) -> None:
        self.store = store
        self.policy = policy or AbstentionPolicy()
        self.directories: dict[str, Directory] = {
            doc_id: person_directory(doc.text) for doc_id, doc in store.documents.items()
        }
        self._surnames = {key for directory in self.directories.values() for key in directory}
        self._names = frozenset(
            fold(part) for directory in self.directories.values() for person in directory.values()
            for part in person.name.replace("Dr. ", "").replace("Prof. ", "").split()
        )
        self._vocabulary = sorted(self.store.keyword.vocabulary)
        self._sentence_terms: dict[int, frozenset[str]] = {}

    # -- question analysis -------------------------------------------------------------

    def analyse(self, question: str, language: Language) -> Question | str:
        """The `Question`, or a reason to abstain at once (a name the corpus never mentions)."""
        keyword = self.store.keyword
        kind = answer_type(question)
        anchors: list[tuple[str, ...]] = []
        missing: list[str] = []
        acronym = None
        for word in anchor_words(question, language, self._names):
            stems = [s for s in terms(word) if s not in _GENERIC]
            if not stems:
                continue
            fixed = tuple(keyword.correct(s) or s for s in stems)
            if all(keyword.correct(s) is None and not self._in_vocabulary(s) for s in stems):
                missing.append(word)
            anchors.append(fixed)
            if kind == "expansion" and (word.isupper() or sum(c.isupper() for c in word) >= 2):
                acronym = word
        for quoted in _QUOTED.findall(question):
            stems = tuple(keyword.correct(s) or s for s in terms(quoted))
            if stems and stems not in anchors:
                anchors.append(stems)
        if missing:
            return f"not in the documents: {', '.join(missing)}"
        q_terms = [keyword.correct(t) or t for t in terms(question) if t not in _GENERIC]
        counted: tuple[str, ...] = ()
        m = _HOW_MANY.search(question)
        if m:
            counted = tuple(t for t in terms(m.group(2)) if t not in _GENERIC)
            counted = tuple(expand_terms(counted))
        elif _HOW_OLD.search(question):
            counted = tuple(terms("Jahre alt years old", keep_stopwords=True))
        elif _HOW_LONG.search(question):
            counted = tuple(terms("Jahre Jahren Monate Wochen Tage Stunden Minuten years months weeks days hours minutes"))
        values = frozenset(v for v in number_values(question) if not (kind == "number" and v == 1.0))
        return Question(
            text=question, language=language, kind=kind, anchors=tuple(anchors), terms=tuple(dict.fromkeys(q_terms)),
            concepts=tuple(concepts_in(question)), values=values, counted=counted, acronym=acronym,
        )

    def _terms(self, row: int, text: str) -> frozenset[str]:
        """Index terms of sentence `row`, analysed once per store and kept."""
        found = self._sentence_terms.get(row)
        if found is None:
            found = self._sentence_terms[row] = frozenset(terms(text))
        return found

    def _in_vocabulary(self, stem: str) -> bool:
        """`stem` is a corpus term or the first part of one ("odenwald" → "odenwaldkreis")."""
        if len(stem) < 5:
            return stem in self.store.keyword.vocabulary
        import bisect

        i = bisect.bisect_left(self._vocabulary, stem)
        return i < len(self._vocabulary) and self._vocabulary[i].startswith(stem)

    # -- the run -----------------------------------------------------------------------

    def run(self, question: str, language: Language, retrieval: RetrievalResult) -> Answer:
        if not retrieval.passages:
            return self._abstain(language, "no passages")
        q = self.analyse(question, language)
        if isinstance(q, str):
            return self._abstain(language, q)
        candidates = self._candidates(q, retrieval)
        if not candidates:
            return self._abstain(language, "no sentences")
        checked = candidates[: self.policy.candidates_checked]
        supported = [(c, why) for c, why in ((c, self._unsupported(q, c)) for c in checked)]
        passing = [c for c, why in supported if why is None]
        if not passing:
            return self._abstain(language, "; ".join(f"{why}" for _, why in supported[:3]))
        chosen = self._most_specific(q, passing)
        lead = self._lead(q, chosen)
        return self._compose(q, lead, chosen)

    # -- candidates ----------------------------------------------------------------------

    def _candidates(self, q: Question, retrieval: RetrievalResult) -> list[_Candidate]:
        p = self.policy
        q_terms = list(q.terms)
        out: list[_Candidate] = []
        for rank, passage in enumerate((retrieval.pool or retrieval.passages)[: p.candidate_passages]):
            doc = self.store.documents[passage.chunk.doc_id]
            rows = list(self.store.sentence_rows(passage.row))
            if not rows:
                continue
            sims = retrieval.sentence_similarities(self.store, rows)
            previous_text = ""
            for row, sim in zip(rows, sims):
                _, start, end = (int(x) for x in self.store.sentences[row])
                text = doc.text[start:end]
                if len(re.findall(r"[^\W\d_]{2,}", text)) < 3:
                    continue  # a list number or a stray heading is nothing to quote
                context = f"{passage.chunk.section or ''}\n{previous_text}\n{text}"
                s_terms = self._terms(row, text)
                c_terms = s_terms | set(terms(context))
                hits = 0.0
                for t in q_terms:
                    if _term_in(t, s_terms) or _synonym_in(t, s_terms):
                        hits += 1.0
                    elif _term_in(t, c_terms) or _synonym_in(t, c_terms):
                        hits += 0.5
                lexical = hits / len(q_terms) if q_terms else 0.0
                bonus = p.type_bonus * self._type_strength(q, text, context, doc.doc_id)
                score = sim + p.lexical_weight * lexical + p.rank_weight / (1 + rank) + bonus
                out.append(_Candidate(passage, rank, row, start, end, text, context, sim, lexical, score))
                previous_text = text
                following = doc.text[end : end + 2]
                if "\n" in following:
                    previous_text = ""  # a new paragraph or list item starts: no context carried over
        out.sort(key=lambda c: -c.score)
        return _dedupe(out)

    def _type_strength(self, q: Question, text: str, context: str, doc_id: str) -> float:
        """0 without the asked-for kind of thing, 1 with it, 2 for a full date (day and month)."""
        if q.kind == "date":
            found = dates(text)
            return 0.0 if not found else (2.0 if any(re.search(r"\d\.\s?[A-ZÄÖÜ]", d) for d in found) else 1.0)
        if q.kind in {"person", "organisation"}:
            return 1.0 if self._has_type(q, text, doc_id) else (0.5 if self._has_type(q, context, doc_id) else 0.0)
        if q.kind == "place":
            found = self._places(text, q)
            return 0.0 if not found else (2.0 if re.search(rf"\b(in|im|nach)\s{re.escape(found[0])}\b", text) else 1.0)
        return 1.0 if self._has_type(q, text, doc_id) else 0.0

    def _has_type(self, q: Question, text: str, doc_id: str) -> bool:
        kind = q.kind
        if kind == "person":
            return bool(distinct_people(text, self.directories[doc_id])) or bool(organisations(text))
        if kind == "organisation":
            return bool(organisations(text)) or any(p.org for p in distinct_people(text, self.directories[doc_id]))
        if kind == "date":
            return bool(dates(text))
        if kind == "time":
            return bool(times(text))
        if kind == "number":
            return self._count(q, text) is not None
        if kind == "place":
            return bool(self._places(text, q))
        if kind == "expansion":
            return self._expansion(q, text) is not None
        return False

    # -- evidence checks -----------------------------------------------------------------

    def _unsupported(self, q: Question, cand: _Candidate) -> str | None:
        """Why `cand` does not support an answer to `q`, or None when it does."""
        p = self.policy
        window_terms = set(terms(cand.context))
        for stems in q.anchors:
            if not all(_term_in(s, window_terms) for s in stems):
                return f"'{' '.join(stems)}' not in the evidence"
        if q.values and not q.values <= number_values(cand.context):
            return "a number of the question is not in the evidence"
        for concept in q.concepts:
            if concept.required and not concept.found_in(window_terms):
                return f"nothing about '{concept.name}' in the evidence"
        doc_id = cand.passage.chunk.doc_id
        typed = q.kind in {"person", "date", "time", "number", "organisation", "expansion"} or (
            q.kind == "place" and not _FIND.search(q.text)
        )
        where = cand.context if q.kind in {"person", "organisation"} else cand.text
        if typed and not self._has_type(q, where, doc_id):
            return f"no {q.kind} in the evidence"
        if cand.similarity < p.min_similarity:
            return f"similarity {cand.similarity:.3f}"
        if q.kind == "expansion":
            return None
        content = [t for t in q.terms if not any(t in stems for stems in q.anchors)]
        found = sum(1 for t in content if _term_in(t, window_terms) or _synonym_in(t, window_terms))
        if q.language == "de":
            coverage = p.min_coverage_de_with_anchors if q.anchors else p.min_coverage_de
            need = max(1, int(coverage * len(content) + 0.5)) if content else 0
            if found < need:
                return f"only {found} of {len(content)} question words in the evidence"
        elif content and found == 0 and cand.similarity < p.min_similarity_en_without_words:
            if not (q.kind == "organisation" and self._asked_person_org(q, cand)):
                return f"no question word in the evidence, similarity {cand.similarity:.3f}"
        return None

    def _asked_person_org(self, q: Question, cand: _Candidate) -> str | None:
        """The organisation of a person the question names, if this sentence names them with it."""
        directory = self.directories[cand.passage.chunk.doc_id]
        for word in words(q.text):
            person = directory.get(fold(word))
            if person is not None and person.org and person.org in cand.context:
                return person.org
        return None

    def _most_specific(self, q: Question, passing: list[_Candidate]) -> _Candidate:
        """Among near-equal sentences, the one naming the fewest people (who did it, not who was there)."""
        best = passing[0]
        if q.kind != "person":
            return best
        near = [c for c in passing if best.score - c.score <= self.policy.specificity_margin]

        def count(c: _Candidate) -> int:
            n = len(distinct_people(c.text, self.directories[c.passage.chunk.doc_id]))
            return n if n else 99

        return min(near, key=lambda c: (count(c), -c.score))

    # -- the asked-for thing -----------------------------------------------------------

    def _places(self, text: str, q: Question) -> list[str]:
        """Places in `text` that are not a surname, nor part of an organisation ("Jobcenter Düsseldorf")
        unless the question asks about one ("Which city's job centre …"); places after "in" first."""
        inside = " ".join(organisations(text))
        asks_org = bool(re.search(r"job ?cent|jobcenter|organisation|organization|behörde|agency", q.text, re.I))
        found = [p for p in places(text) if fold(p) not in self._surnames and (asks_org or p not in inside)]
        return sorted(found, key=lambda p: 0 if re.search(rf"\b(in|im|nach)\s{re.escape(p)}\b", text) else 1)

    def _count(self, q: Question, text: str) -> str | None:
        """The number in `text` that counts what the question counts ("130 Führungskräfte").

        The counted noun must follow the number within three words (or be glued to a number
        word: "zweitägig" for "Wie viele Tage"); a number that counts something else is no answer.
        """
        tokens = list(re.finditer(r"[\wäöüÄÖÜß]+(?:[.,]\d+)*", text))
        counted = set(q.counted)
        for i, tok in enumerate(tokens):
            word = tok.group()
            glued = _COMPOUND_NUMBER.match(word)
            if glued and _HOW_MANY.search(q.text) and any(fold(glued.group(2)).startswith(c) for c in counted if len(c) >= 3):
                return word
            value = number_value(word)
            if value is None or word.lower() in _ORDINALS or re.fullmatch(r"(19|20)\d\d", word):
                continue
            if text[tok.end() : tok.end() + 1] == "." and word.isdigit():
                continue  # "8." is a day or a list number, not a count
            following = tokens[i + 1 : i + 4]
            if not counted:
                return text[tok.start() : (following[0].end() if following else tok.end())]
            for j, w in enumerate(following):
                if any(_term_in_any(t, counted) for t in terms(w.group(), keep_stopwords=True)):
                    return text[tok.start() : w.end()]
        return None

    def _expansion(self, q: Question, text: str) -> str | None:
        if not q.acronym:
            return None
        m = re.search(_EXPANSION.format(acronym=re.escape(q.acronym)), text)
        return m.group(1) if m else None

    def _lead(self, q: Question, cand: _Candidate) -> str | None:
        doc_id = cand.passage.chunk.doc_id
        text = cand.text
        joiner = f" {_AND[q.language]} "
        if q.kind == "person":
            named = {fold(w) for w in words(q.text)}
            for where in (text, cand.context):
                people = distinct_people(where, self.directories[doc_id])
                people = [p for p in people if fold(p.surname) not in named] or people
                if people:
                    return _join([p.label() for p in people], joiner)
            orgs = organisations(text) or organisations(cand.context)
            return _join(orgs, joiner) if orgs else None
        if q.kind == "organisation":
            asked = self._asked_person_org(q, cand)
            if asked:
                return asked
            for where in (text, cand.context):
                orgs = [o for o in organisations(where) if fold(o) not in fold(q.text)]
                if orgs:
                    return _join(orgs, joiner)
            return None
        if q.kind == "date":
            found = dates(text)
            return max(found, key=len) if found else None
        if q.kind == "time":
            found = times(text)
            return found[0] if found else None
        if q.kind == "number":
            return self._count(q, text)
        if q.kind == "place":
            found = [p for p in self._places(text, q) if fold(p) not in fold(q.text)]
            return _join(found[:2], joiner) if found else None
        if q.kind == "expansion":
            return self._expansion(q, text)
        return None

    # -- composing -------------------------------------------------------------------

    def _compose(self, q: Question, lead: str | None, chosen: _Candidate) -> Answer:
        chunk = chosen.passage.chunk
        citation = Citation(
            ref=1, doc_id=chunk.doc_id, title=chunk.title, section=chunk.section, text=chunk.text,
            start=chunk.start, end=chunk.end, score=chosen.passage.score,
            quote_start=chosen.start, quote_end=chosen.end,
        )
        body = f"„{chosen.text}“ [1]"
        text = f"{lead}. {_INTRO[q.language]}{body}" if lead else body
        return Answer(
            answer=text, abstained=False, citations=[citation], language=q.language, lead=lead,
            debug={"similarity": round(chosen.similarity, 4), "lexical": round(chosen.lexical, 3), "kind": q.kind},
        )

    def _abstain(self, language: Language, reason: str) -> Answer:
        return Answer(answer=MESSAGES[language], abstained=True, citations=[], language=language, reason=reason)


def _term_in(term: str, window: set[str]) -> bool:
    """`term` is in `window`, also as a compound part ("podium" in "podiumsdiskussion") or head."""
    if term in window:
        return True
    if len(term) < 4:
        return False
    return any(len(w) >= 4 and (w.startswith(term) or w.endswith(term) or (len(w) >= 5 and term.startswith(w))) for w in window)


def _term_in_any(term: str, stems: tuple[str, ...] | set[str]) -> bool:
    return _term_in(term, set(stems)) or any(_term_in(s, {term}) for s in stems)


def _synonym_in(term: str, window: set[str]) -> bool:
    return any(_term_in(t, window) for t in expand_terms([term]) if t != term)


def _overlap(q_terms: set[str], s_terms: set[str]) -> int:
    return sum(1 for t in q_terms if _term_in(t, s_terms))


def _dedupe(candidates: list[_Candidate]) -> list[_Candidate]:
    """One entry per sentence (overlapping chunks repeat sentences); the better one wins."""
    seen: set[tuple[str, int]] = set()
    out = []
    for cand in candidates:
        key = (cand.passage.chunk.doc_id, cand.start)
        if key not in seen:
            seen.add(key)
            out.append(cand)
    return out


def _join(labels: list[str], joiner: str) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + joiner + labels[-1]
