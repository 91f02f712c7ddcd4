"""One analysis of a question per request, shared by retrieval and the answer kinds.

It says what kind of answer the question asks for (`data/question_kinds.tsv`), what the
question is about (its subject: the words after "Was ist …", "Wer ist …", "Fassen Sie …
zusammen"), and which events it names (`events.EventIndex.scope`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from service.answering.compose import AnswerKind
from service.answering.events import EventIndex, Scope, event_kind_word
from vectorstore.text.analysis import STOPWORDS, terms, words
from vectorstore.text.language import Language

_KIND_ORDER: tuple[AnswerKind, ...] = ("overview", "list", "reason", "definition")

# Words that only frame a question ("bitte", "kurz", "genau"), not what it is about, German and English.
_FRAME_WORDS = frozenset(terms(
    "bitte kurz genau eigentlich nochmal noch einmal mal gerne zusammen zusammenfassen fasse fassen "
    "zusammenfassung überblick übersicht worum ging geht gehts drehte dreht es sätzen satz wenigen paar "
    "wichtigsten wichtigste zentralen zentrale wesentlichen wesentliche "
    "please briefly short few sentences summarize summarise summary overview recap about what was were "
    "is are it the tell me give key main takeaways points messages gist nutshell happened"
))
# General words for an event as such: a question about "die Tagung" (or "die Fachtagung", any
# compound with one of these heads) is about the whole event. Workshops and symposia are parts of one.
_EVENT_HEADS = ("tagung", "konferenz", "veranstaltung", "kongress", "forum", "treffen")
_EVENT_WHOLE_WORDS = frozenset({"event", "conference", "congress", "meeting", "forum"})


def event_words(text: str) -> set[str]:
    """Stems of the words of `text` that speak of an event as such."""
    return {t for w in words(text) if event_kind_word(w, _EVENT_HEADS, _EVENT_WHOLE_WORDS) for t in terms(w)}
_SUBJECT = re.compile(
    r"^\s*(?:und\s+|and\s+)?(?:was|wer|what|who)\s+(?:ist|sind|war|waren|bedeutet|bedeuten|heißt|heisst|meint|"
    r"bezeichnet|is|are|was|were|does)\s+(.+?)\s*(?:mean|stand for|refer to)?\s*[?!.]*\s*$",
    re.I,
)
_SUBJECT_OTHER = re.compile(
    r"(?:versteht\s+man\s+unter|steht|verbirgt\s+sich\s+hinter|steckt\s+sich\s+hinter|hat\s+es\s+mit|meant\s+by)\s+(.+?)\s*[?!.]*\s*$",
    re.I,
)


@dataclass(frozen=True)
class KindCue:
    kind: AnswerKind
    language: Language
    pattern: re.Pattern[str]


@lru_cache(maxsize=1)
def kind_cues() -> tuple[KindCue, ...]:
    """The cue table of `data/question_kinds.tsv`, compiled once."""
    text = resources.files("service.answering").joinpath("data/question_kinds.tsv").read_text(encoding="utf-8")
    cues = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, language, pattern = line.split("\t", 2)
        cues.append(KindCue(kind, language, re.compile(pattern, re.I)))  # type: ignore[arg-type]
    return tuple(cues)


def question_kind(question: str, language: Language) -> AnswerKind:
    """The kind of answer `question` asks for; "fact" unless a cue of another kind matches.

    Cues of both languages are tried (questions mix them: "Worum ging es beim Tag X?"
    is German either way), the question's own language first."""
    cues = kind_cues()
    for kind in _KIND_ORDER:
        for cue in sorted((c for c in cues if c.kind == kind), key=lambda c: c.language != language):
            if cue.pattern.search(question):
                return kind
    return "fact"


def subject_of(question: str) -> str | None:
    """The X of "Was ist X?", "Wer ist X?", "What does X mean?", "Was versteht man unter X?"."""
    for pattern in (_SUBJECT_OTHER, _SUBJECT):
        m = pattern.search(question)
        if m:
            subject = m.group(1).strip(" „“\"'»«")
            subject = re.sub(r"^(?:der|die|das|den|dem|ein|eine|einen|the|a|an)\s+", "", subject, flags=re.I)
            return subject or None
    return None


@dataclass(frozen=True)
class QuestionAnalysis:
    """What every part of the answering core needs to know about the question."""

    text: str
    language: Language
    kind: AnswerKind
    scope: Scope
    subject: str | None
    content_terms: tuple[str, ...]
    """Stems of the words that say what the question is about (no frame words, no event
    names of the scope, no stopwords)."""
    scope_terms: frozenset[str] = frozenset()
    """Stems of the words that named the scope (event names, the year): they chose the
    documents, so the evidence need not repeat them."""

    @property
    def about_an_event(self) -> bool:
        """The question speaks of an event in general words ("die Tagung", "the conference")."""
        return bool(event_words(self.text))

    @property
    def about_whole_event(self) -> bool:
        """Nothing but the event is asked about ("Worum ging es bei der Tagung 2023?")."""
        return not self.content_terms


# How long the answer should be ("in zwei Sätzen", "in a few words"): it says nothing about the
# topic, so its words are no content terms.
_LENGTH_ASKED = re.compile(
    r"\b(?:in\s+)?(?:einem|einen|ein|zwei|drei|vier|fünf|wenigen|ein\s+paar|kurzen|one|two|three|four|five|a\s+few|"
    r"few|short)\s+(?:sätzen|satz|worten|wörtern|zeilen|sentences?|words|lines)\b",
    re.I,
)


class QuestionAnalyser:
    """question text → `QuestionAnalysis`, for one store's events."""

    def __init__(self, events: EventIndex) -> None:
        self.events = events

    def run(self, question: str, language: Language) -> QuestionAnalysis:
        kind = question_kind(question, language)
        scope = self.events.scope(question)
        event_terms: set[str] = set()
        for event in scope.events:
            event_terms.update(terms(event.name or ""))
        kinds = event_words(question)
        content = tuple(
            t for t in dict.fromkeys(terms(_LENGTH_ASKED.sub(" ", question)))
            if t not in _FRAME_WORDS and t not in kinds and t not in event_terms and t not in STOPWORDS
            and not re.fullmatch(r"(19|20)\d\d", t)
        )
        subject = subject_of(question) if kind == "definition" else None
        scope_terms = frozenset(event_terms | ({str(scope.year)} if scope.year else set())) if scope.narrowed else frozenset()
        return QuestionAnalysis(question, language, kind, scope, subject, content, scope_terms)
