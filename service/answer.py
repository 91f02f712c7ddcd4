"""From retrieved passages to a cited answer, or an honest "not in the documents".

The answer is extractive: it quotes the sentence(s) of the cited passages that answer
the question, with `[n]` markers. For who / when / how-many questions it first states
the asked-for thing itself (the person with their organisation, the date, the number).

Whether to answer at all is decided from the evidence, not from a similarity cut-off
alone (no cut-off separates on-topic unanswerable questions from answerable ones):
the question's key terms must occur in the corpus, the chosen sentence must carry the
kind of thing asked for, and it must be close enough to the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from service.entities import Person, dates, numbers, person_directory, surname_mentions
from service.language import Language
from service.retrieval import Passage, RetrievalResult
from vectorstore.analysis import STOPWORDS, terms, words
from vectorstore.faiss_store import FaissStore

AnswerType = Literal["person", "date", "number", "place", "other"]

_TYPE_PATTERNS: list[tuple[AnswerType, re.Pattern[str]]] = [
    ("person", re.compile(r"^\s*(wer|wem|wen|who|whom|which speaker|which person)\b|\b(mit wem|von wem|by whom)\b", re.I)),
    ("date", re.compile(r"^\s*(wann|when|an welchem tag|on which day|on what date|what date|which date)\b|\bdatum\b", re.I)),
    ("number", re.compile(r"^\s*(wie ?viele?|how many|how much)\b", re.I)),
    ("place", re.compile(r"^\s*(wo|where|in welcher stadt|in which city)\b", re.I)),
]

# Words so common in questions about this kind of corpus that their absence says nothing.
_GENERIC = frozenset(
    terms(
        "Tagung Fachtagung Konferenz Veranstaltung conference event meeting Jahr year Bericht report Rückblick "
        "genau eigentlich bitte gesagt sagen erzählt erklärt thema topic speaker sprecher redner"
    )
)

MESSAGES: dict[Language, str] = {
    "de": "Dazu finde ich in den vorliegenden Tagungsunterlagen keine Antwort. "
    "Bitte formulieren Sie die Frage anders oder wenden Sie sich an die Servicestelle SGB II.",
    "en": "I could not find an answer to that in the conference documents. "
    "Please rephrase the question or contact the Servicestelle SGB II.",
}


@dataclass(frozen=True)
class AbstentionPolicy:
    """Thresholds of the evidence checks; chosen on the conference question set."""

    min_sentence_similarity_de: float = 0.76
    min_sentence_similarity_en: float = 0.76
    min_term_coverage_de: float = 0.5
    lexical_weight: float = 0.15
    rank_weight: float = 0.02
    type_bonus: float = 0.03
    candidate_passages: int = 4


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
class _Candidate:
    passage: Passage
    rank: int
    start: int
    end: int
    text: str
    similarity: float
    lexical: float
    score: float


def answer_type(question: str) -> AnswerType:
    for kind, pattern in _TYPE_PATTERNS:
        if pattern.search(question):
            return kind
    return "other"


def anchor_words(question: str, language: Language) -> list[str]:
    """Words the answer's evidence must contain: names, acronyms, numbers (and German nouns)."""
    found: list[str] = []
    tokens = words(question)
    for i, word in enumerate(tokens):
        lower = word.lower()
        if lower in STOPWORDS or len(word) < 2:
            continue
        is_number = word.isdigit()
        is_acronym = word.isupper() and len(word) >= 2
        is_capitalised = word[0].isupper() and (i > 0 or language == "de")
        if is_number or is_acronym or is_capitalised:
            found.append(word)
    return found


class AnswerBuilder:
    """question + retrieved passages → `Answer` (cited, or abstained)."""

    def __init__(self, store: FaissStore, policy: AbstentionPolicy | None = None) -> None:
        self.store = store
        self.policy = policy or AbstentionPolicy()
        self._directories: dict[str, dict[str, Person]] = {}

    def run(self, question: str, language: Language, retrieval: RetrievalResult) -> Answer:
        kind = answer_type(question)
        if not retrieval.passages:
            return self._abstain(language, "no passages")
        missing = self._missing_anchors(question, language)
        if missing:
            return self._abstain(language, f"not in corpus: {', '.join(missing)}")
        coverage = self._term_coverage(question)
        if language == "de" and coverage < self.policy.min_term_coverage_de:
            return self._abstain(language, f"term coverage {coverage:.2f}")
        candidates = self._candidates(question, kind, retrieval)
        if not candidates:
            return self._abstain(language, "no sentences")
        best = candidates[0]
        threshold = (
            self.policy.min_sentence_similarity_de if language == "de" else self.policy.min_sentence_similarity_en
        )
        if best.similarity < threshold and best.lexical == 0:
            return self._abstain(language, f"similarity {best.similarity:.3f}")
        lead, chosen = self._lead(kind, candidates)
        if kind in {"person", "date", "number"} and lead is None:
            return self._abstain(language, f"no {kind} in the evidence")
        return self._compose(language, lead, chosen, candidates, retrieval.passages, best)

    # -- evidence checks -------------------------------------------------------------

    def _missing_anchors(self, question: str, language: Language) -> list[str]:
        keyword = self.store.keyword
        missing = []
        for word in anchor_words(question, language):
            stems = terms(word)
            if not stems:
                continue
            if all(keyword.correct(s) is None for s in stems if s not in _GENERIC):
                if any(s not in _GENERIC for s in stems):
                    missing.append(word)
        return missing

    def _term_coverage(self, question: str) -> float:
        q_terms = [t for t in terms(question) if t not in _GENERIC]
        if not q_terms:
            return 1.0
        keyword = self.store.keyword
        return sum(keyword.correct(t) is not None for t in q_terms) / len(q_terms)

    def _candidates(self, question: str, kind: AnswerType, retrieval: RetrievalResult) -> list[_Candidate]:
        p = self.policy
        q_terms = set(terms(question)) - _GENERIC
        keyword = self.store.keyword
        q_terms = {keyword.correct(t) or t for t in q_terms}
        out: list[_Candidate] = []
        for rank, passage in enumerate(retrieval.passages[: p.candidate_passages]):
            doc = self.store.documents[passage.chunk.doc_id]
            rows = list(self.store.sentence_rows(passage.row))
            if not rows:
                continue
            sims = np.asarray(self.store.sentence_vectors[rows]) @ retrieval.query_vector
            for row, sim in zip(rows, sims.tolist()):
                _, start, end = (int(x) for x in self.store.sentences[row])
                text = doc.text[start:end]
                s_terms = set(terms(text))
                lexical = len(q_terms & s_terms) / len(q_terms) if q_terms else 0.0
                bonus = p.type_bonus if self._has_type(kind, text, doc.doc_id) else 0.0
                score = sim + p.lexical_weight * lexical + p.rank_weight / (1 + rank) + bonus
                out.append(_Candidate(passage, rank, start, end, text, sim, lexical, score))
        out.sort(key=lambda c: -c.score)
        return _dedupe(out)

    def _has_type(self, kind: AnswerType, text: str, doc_id: str) -> bool:
        if kind == "person":
            return bool(surname_mentions(text, self._directory(doc_id)))
        if kind == "date":
            return bool(dates(text))
        if kind == "number":
            return bool(numbers(text))
        return False

    def _directory(self, doc_id: str) -> dict[str, Person]:
        if doc_id not in self._directories:
            self._directories[doc_id] = person_directory(self.store.documents[doc_id].text)
        return self._directories[doc_id]

    # -- composing -------------------------------------------------------------------

    def _lead(self, kind: AnswerType, candidates: list[_Candidate]) -> tuple[str | None, _Candidate]:
        """The asked-for thing and the sentence it came from (the best sentence that has one)."""
        if kind not in {"person", "date", "number"}:
            return None, candidates[0]
        top = candidates[0].score
        for cand in candidates[:6]:
            if top - cand.score > 0.12:
                break
            doc_id = cand.passage.chunk.doc_id
            if kind == "person":
                mentions = surname_mentions(cand.text, self._directory(doc_id))
                if mentions:
                    labels: list[str] = []
                    for _, person in mentions:
                        if person.label() not in labels:
                            labels.append(person.label())
                    return _join(labels), cand
            elif kind == "date":
                found = dates(cand.text)
                if found:
                    return found[0], cand
            elif kind == "number":
                found = [n for n in numbers(cand.text) if not re.fullmatch(r"20\d\d", n)]
                if found:
                    return found[0], cand
        return None, candidates[0]

    def _compose(
        self,
        language: Language,
        lead: str | None,
        chosen: _Candidate,
        candidates: list[_Candidate],
        passages: list[Passage],
        best: _Candidate,
    ) -> Answer:
        quotes = [chosen]
        second = next((c for c in candidates[1:3] if c.passage.row != chosen.passage.row or c.start != chosen.start), None)
        if lead is None and second is not None and second.score >= chosen.score - 0.02 and second.lexical > 0:
            quotes.append(second)
        citations: list[Citation] = []
        ref_of_row: dict[tuple[int, int], int] = {}
        parts: list[str] = []
        for quote in quotes:
            key = (quote.passage.row, quote.start)
            ref = len(citations) + 1
            chunk = quote.passage.chunk
            citations.append(
                Citation(
                    ref=ref, doc_id=chunk.doc_id, title=chunk.title, section=chunk.section, text=chunk.text,
                    start=chunk.start, end=chunk.end, score=quote.passage.score,
                    quote_start=quote.start, quote_end=quote.end,
                )
            )
            ref_of_row[key] = ref
            parts.append(f"„{quote.text}“ [{ref}]")
        body = " ".join(parts)
        if lead:
            intro = "Laut Tagungsbericht: " if language == "de" else "According to the report: "
            text = f"{lead}. {intro}{body}"
        else:
            text = body
        return Answer(
            answer=text, abstained=False, citations=citations, language=language, lead=lead,
            debug={"similarity": round(best.similarity, 4), "lexical": round(best.lexical, 3)},
        )

    def _abstain(self, language: Language, reason: str) -> Answer:
        return Answer(answer=MESSAGES[language], abstained=True, citations=[], language=language, reason=reason)


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


def _join(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " und " + labels[-1]
