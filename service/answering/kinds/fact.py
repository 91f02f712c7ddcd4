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

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from service.answering.compose import Draft, Piece
from service.answering.events import EventIndex
from service.answering.layout import Layouts, first_sentences
from service.answering.question import QuestionAnalysis
from service.answering.scoring import CandidateSignals, SentenceScorer, feature_rows
from service.evidence import EvidenceTable, SentenceFacts
from service.retrieval import Passage, RetrievalResult
from service.translation import Dictionary
from vectorstore.store import VectorStore
from vectorstore.text.analysis import STOPWORDS, TermMatcher, compound_match, fold, terms, words
from vectorstore.text.entities import number_values
from vectorstore.text.language import Concept, Language, concepts, concepts_in, expand_terms, synonyms
from vectorstore.text.sentences import split_sentences

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
        "bedeutet bedeuten steht stand stands mean means wurde wurden worden geschah passierte happened inne "
        # The frame of a question that asks for a name or a term ("Wie lautet der Name des …",
        # "Welcher Begriff …"): the answer gives the name, it need not say "Name".
        "Name Namen heißt hieß lautet lauten Begriff Bezeichnung name named term"
    )
)
# "die Tagung", "der Fachtagung", "the event", "this year's conference": the question is about
# the event itself, so a document that reports on no event cannot answer it.
_THE_EVENT = re.compile(
    r"\b(?:the|this|that|die|der|dieser|diese|diesen|jener)\s+(?:[\w'’]+\s+)?"
    r"(?:fach)?(?:tagung|konferenz|veranstaltung|kongress|conference|event|congress)\b",
    re.I,
)
# "Was geschah nach X?", "What happened after X?": asks for what followed X. "nach" and
# "after" alone are too common to mean that, so only this shape of question does.
_AFTER = re.compile(
    r"\bwas\s+(?:geschah|passierte|folgte|kam|gab es)\s+(?:direkt\s+|unmittelbar\s+)?nach\b"
    r"|\bwhat\s+(?:happened|came|followed|was there)\s+(?:right\s+|directly\s+|just\s+)?after\b",
    re.I,
)
# A sentence opening with "Im Anschluss …" names what came after something earlier.
# A sentence that announces what follows ("Er nannte insbesondere", "Dazu gehören"): a list follows.
_INTRODUCES = re.compile(r"\b(?:insbesondere|folgende\w*|unter anderem|namentlich|including|the following|as follows)\s*$", re.I)
_OPENS_AFTERWARDS = re.compile(r"\W*(?:im anschluss|anschließend|danach|afterwards)\b", re.I)
# "Which X …" / "Welche X …": the noun(s) X name what is asked for (the focus of the question).
_FOCUS = re.compile(
    r"\b(?:welche[rsnm]?|was für (?:ein\w*)?|which|what)\s+(?:(?:is|are|was|were|war|waren|ist|sind)\s+)?"
    r"(?:(?:the|a|an|der|die|das|den|dem)\s+)?((?:[\w-]+\s+)?[\w-]+)",
    re.I,
)
_QUOTED = re.compile(r"[„\"“«»‚‘']([^„\"“«»‚‘']{3,80})[“\"”«»‘’']")
_EXPANSION = r"{acronym}[“”\"»«’']?\s?\(([^()]{{3,80}})\)"
_FIND = re.compile(r"\b(find|finde|finden|findet|bekommen|get|see|sehen|nachlesen|read)\b", re.I)
_HOW_OLD = re.compile(r"\b(wie alt|how old)\b", re.I)
_HOW_LONG = re.compile(r"\b(wie lange|how long|seit wann)\b", re.I)
_ORDINALS = frozenset("erste ersten erster erstes zweite zweiten zweiter dritte dritten vierte vierten first second third fourth".split())
_COMPOUND_NUMBER = re.compile(r"^(ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|zwölf)([a-zäöüß]{3,})$", re.I)
_STRONG: dict[str, float] = {"date": 2.0, "place": 2.0}  # a full date; a place after "in"
_NEXT = re.compile(r"\bn(?:ä|ae)chste[nrms]?\b", re.I)
_ROMAN = re.compile(r"[IVX]{1,4}")
_AND: dict[Language, str] = {"de": "und", "en": "and"}
_ASKS_ORG = re.compile(r"job ?cent|jobcenter|organisation|organization|behörde|agency", re.I)
# Words by which a German sentence refers back to what its paragraph named before: personal,
# possessive and relative-demonstrative pronouns and adverbs of place and time (Duden grammar).
_REFERS_BACK = re.compile(
    r"\b(?:er|ihm|ihn|sie|ihr|ihre[mnrs]?|sein|seine[mnrs]?|es|dessen|deren|dieser|diese[mns]?|"
    r"dort|dorthin|damals|daraufhin|derselbe|dieselbe|dasselbe)\b",
    re.I,
)
_HOW_MANY = re.compile(r"\b(wie ?viele?|how many|how much|wie hoch)\s+((?:[\w-]+\s+){0,3})", re.I)

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
    typed_passages: int = 20  # who/when/where/how-many: sentences with the asked-for type from this many passages
    candidates_checked: int = 12
    min_coverage_de: float = 0.5
    min_coverage_de_with_anchors: float = 0.34
    min_similarity_en_without_words: float = 0.86
    event_named_margin: float = 0.02
    min_similarity: float = 0.72
    specificity_margin: float = 0.04
    focus_margin: float = 0.08
    event_margin: float = 0.05  # a second event's sentence this close to the best: answer for both
    max_events: int = 3


NAME_WORDS_ONLY = "only words of an event's name in the evidence"
"""The verdict on a sentence that has the question's event name but nothing of what it asks."""


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
    focus: tuple[str, ...] = ()  # stems of X in "Which X …" (other questions only)
    about_event: bool = False  # "die Tagung", "the conference": only an event report can answer
    after: tuple[str, ...] = ()  # "what came after X": the stems of X
    forms: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per stem of `terms`: the corpus terms that count as finding it (itself, compounds
    containing it, and the same for its synonyms in the event vocabulary)."""
    ranking_forms: dict[str, frozenset[str]] = field(default_factory=dict)
    """`forms` plus the corpus terms of dictionary translations (English questions): they
    help choose the sentence, but do not count as evidence (too loose for that)."""
    anchor_forms: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per stem of `anchors`: itself and compounds containing it (names have no synonyms)."""
    event_named: bool = False
    """The question named an event: its name made every sentence of the event's report similar
    to the question, so similarity must be higher to stand in for the question's words."""

    def found(self, stem: str, window: frozenset[str]) -> bool:
        """Content stem `stem`, or a form of it, occurs among `window`'s terms."""
        return not self.forms[stem].isdisjoint(window)

    def anchored(self, stems: tuple[str, ...], window: frozenset[str]) -> bool:
        """Every stem of one name / number / title occurs among `window`'s terms."""
        return all(not self.anchor_forms[s].isdisjoint(window) for s in stems)


@dataclass(frozen=True, slots=True)
class _Candidate:
    passage: Passage
    rank: int
    facts: SentenceFacts
    similarity: float
    lexical: float
    score: float

    @property
    def text(self) -> str:
        return self.facts.text

    @property
    def context(self) -> str:
        return self.facts.context


@dataclass(frozen=True)
class Checked:
    """The candidate sentences the evidence checks looked at, each with its verdict."""

    candidates: list[_Candidate]
    verdicts: list[str | None]  # None: every rule holds; else why not

    @property
    def passing(self) -> list[_Candidate]:
        return [c for c, v in zip(self.candidates, self.verdicts) if v is None]

    @property
    def why(self) -> str:
        """Why the best candidates failed ("no sentences" when there were none), "" when one passed."""
        if not self.candidates:
            return "no sentences"
        return "" if self.passing else "; ".join(v for v in self.verdicts[:3] if v)


def answer_type(question: str) -> AnswerType:
    for kind, pattern in _TYPE_PATTERNS:
        if pattern.search(question):
            return kind
    return "other"


def _is_acronym(word: str) -> bool:
    """Two capitals ("NASA", "McKinsey") or letters with digits ("A380"); one part of a
    hyphenated word at a time, so "Bowl-Spiel" is no acronym."""
    return sum(ch.isupper() for ch in word) >= 2 or (any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word))


def anchor_words(question: str, language: Language, known_names: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Surface words the evidence must contain: acronyms, names, places.

    German capitalises every noun, so there a capitalised word is an anchor only when it
    is a known person name or place; in English every capitalised word after the first
    is one, unless the event vocabulary translates it ("Federal", "AI").
    """
    from vectorstore.text.entities import is_place

    found: list[str] = []
    for i, word in enumerate(words(question)):
        lower = word.lower()
        if lower in STOPWORDS or len(word) < 2 or any(ch.isdigit() for ch in word) and word.isdigit():
            continue
        if _ROMAN.fullmatch(word):
            continue  # "II" of a title's edition is a number, not a name
        vocabulary = bool(concepts_in(word))
        parts = word.split("-")
        acronym_parts = [p for p in parts if _is_acronym(p)]
        plain_parts = [p for p in parts if not _is_acronym(p) and not p.isdigit()]
        is_name = fold(word) in known_names
        if acronym_parts and plain_parts and not vocabulary and not is_name:
            # A compound of an acronym and plain words ("NASA-Gruppe") anchors on the acronym:
            # the evidence may say it in other words ("die Gruppe der NASA").
            found.extend(acronym_parts)
        elif acronym_parts and not vocabulary or is_name:
            found.append(word)
        elif word[0].isupper() and i > 0 and not vocabulary:
            if language == "en" or is_place(word):
                found.append(word)
    return found


class FactAnswerer:
    """A fact question + retrieved passages → the sentence that answers it, or a reason not to.

    Everything about the store's sentences that does not depend on the question (terms,
    people, organisations, places, dates, numbers) is worked out once per store in an
    `EvidenceTable` when the builder is made (at store load); a request only intersects
    the question's terms with it and looks things up.
    """

    def __init__(
        self, store: VectorStore, evidence: EvidenceTable, events: EventIndex, layouts: Layouts,
        policy: AbstentionPolicy | None = None, dictionary: Dictionary | None = None,
        scorer: SentenceScorer | None = None,
    ) -> None:
        self.scorer = scorer
        self.store = store
        self.policy = policy or AbstentionPolicy()
        self.dictionary = dictionary or Dictionary.empty()
        self.evidence = evidence
        self.events = events
        self.layouts = layouts
        self.directories = self.evidence.directories
        self._surnames = self.evidence.surnames
        self._names = self.evidence.names
        self._matcher: TermMatcher = self.evidence.matcher
        # Per paragraph (doc id, start) its terms and numbers; per sentence (doc id, start) its
        # windows for the question's names and numbers. Filled on first use, per store version.
        self._paragraphs: dict[tuple[str, int], tuple[frozenset[str], frozenset[float]]] = {}
        self._sentence_windows: dict[tuple[str, int], tuple[frozenset[str], frozenset[float]]] = {}

    # -- question analysis -------------------------------------------------------------

    def analyse(
        self, question: str, language: Language, translations: dict[str, list[str]] | None = None,
    ) -> Question | str:
        """The `Question`, or a reason to abstain at once (a name the corpus never mentions).

        `translations` are the dictionary's German words per English word, as retrieval
        searched them; without them they are looked up here."""
        keyword = self.store.keyword
        kind = answer_type(question)
        anchors: list[tuple[str, ...]] = []
        missing: list[str] = []
        acronym = None
        german_names = self._anchor_translations(question, language, translations)
        for word in anchor_words(question, language, self._names):
            stems = [s for s in terms(word) if s not in _GENERIC]
            if not stems:
                continue
            fixed = tuple(keyword.correct(s) or s for s in stems)
            if all(keyword.correct(s) is None and not self._in_vocabulary(s) for s in stems) and not german_names.get(word):
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
        q_terms = tuple(dict.fromkeys(keyword.correct(t) or t for t in terms(question) if t not in _GENERIC))
        question_concepts = concepts_in(question)
        if _NEXT.search(question):  # "die nächste Tagung": the evidence must speak of a coming one
            question_concepts += [c for c in concepts() if c.name == "next" and c not in question_concepts]
        afterwards = next(c for c in concepts() if c.name == "afterwards")
        after: tuple[str, ...] = ()
        if _AFTER.search(question):  # "Was geschah nach X?" asks what the text says came "im Anschluss"
            q_terms = tuple(dict.fromkeys((*q_terms, *terms("Anschluss"))))  # its synonyms: anschließend, danach …
            question_concepts += [afterwards] if afterwards not in question_concepts else []
        if afterwards in question_concepts:
            after = tuple(t for t in q_terms if t not in afterwards.stems)
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
        focus: tuple[str, ...] = ()
        m = _FOCUS.search(question)
        if kind == "other" and m:
            focus = tuple(t for t in (keyword.correct(s) or s for s in terms(m.group(1))) if t in q_terms)
        return Question(
            text=question, language=language, kind=kind, anchors=tuple(anchors), terms=q_terms,
            about_event=bool(_THE_EVENT.search(question)), after=after,
            concepts=tuple(question_concepts), values=values, counted=counted, acronym=acronym, focus=focus,
            forms=self._forms(q_terms, language=language),
            ranking_forms=self._forms(q_terms, self._translations(question, language, translations), language),
            anchor_forms=self._anchor_forms(anchors, german_names, question, language),
        )

    def _anchor_translations(
        self, question: str, language: Language, by_word: dict[str, list[str]] | None,
    ) -> dict[str, set[str]]:
        """Per capitalised word of an English question: the stems of its German dictionary
        translations that the corpus uses. English capitalises what German spells otherwise
        ("Bible" / "Bibel", "Swiss" / "Schweizer"): such a word is found through them."""
        if language != "en" or not len(self.dictionary):
            return {}
        if by_word is None:
            by_word = self.dictionary.by_word(question, self.store.keyword.vocabulary)
        return {word: {t for g in german for t in terms(g)} for word, german in by_word.items() if word[:1].isupper()}

    def _anchor_forms(
        self, anchors: list[tuple[str, ...]], german_names: dict[str, set[str]], question: str, language: Language,
    ) -> dict[str, frozenset[str]]:
        """Per anchor stem: itself and compounds containing it; for a word of an English
        question, also the corpus terms of its German translations."""
        forms = {s: set(self._matcher.matches(s)) for stems in anchors for s in stems}
        if language == "en":
            for word, german in german_names.items():
                for s in terms(word):
                    fixed = self.store.keyword.correct(s) or s
                    if fixed in forms:
                        for g in german:
                            forms[fixed] |= self._matcher.matches(g) | ({g} if g in self._matcher else set())
        return {s: frozenset(f) for s, f in forms.items()}

    def analyse_scoped(self, analysis: QuestionAnalysis, translations: dict[str, list[str]] | None) -> Question | str:
        """`analyse`, less what named the event scope: documents of the named event were chosen
        by it, so their sentences need not repeat the event's name or year."""
        q = self.analyse(analysis.text, analysis.language, translations)
        if isinstance(q, str) or not analysis.scope_terms:
            return q
        gone = analysis.scope_terms
        quoted = {tuple(terms(t)) for t in _QUOTED.findall(analysis.text)}
        # A quoted title stays a name the evidence must hold, even when it also named the event
        # ("„Gartenforum II“" must not be answered from edition "I").
        anchors = tuple(a for a in q.anchors if not set(a) <= gone or any(set(a) <= set(t) for t in quoted))
        values = frozenset(v for v in q.values if not (analysis.scope.year and v == float(analysis.scope.year)))
        kept = tuple(t for t in q.terms if t not in gone)
        # The event's name made every sentence of its report similar to the question, so
        # similarity alone no longer stands in for the question's words.
        return replace(q, anchors=anchors, values=values, terms=kept, about_event=False, event_named=True)

    def _translations(
        self, question: str, language: Language, by_word: dict[str, list[str]] | None,
    ) -> dict[str, set[str]]:
        """Per (typo-corrected) stem of an English question word: the stems of its German
        dictionary translations that the corpus uses (see `service.translation`)."""
        if language != "en" or not len(self.dictionary):
            return {}
        keyword = self.store.keyword
        if by_word is None:
            by_word = self.dictionary.by_word(question, keyword.vocabulary)
        out: dict[str, set[str]] = {}
        for word, german in by_word.items():
            stems = {t for g in german for t in terms(g)}
            for s in terms(word):
                out.setdefault(keyword.correct(s) or s, set()).update(stems)
        return out

    def _forms(
        self, q_terms: tuple[str, ...], translations: dict[str, set[str]] | None = None, language: Language = "de",
    ) -> dict[str, frozenset[str]]:
        """Corpus terms that count as each content stem: compounds of it, of its synonyms and
        of its dictionary translations. An English word is no part of a German compound
        ("band" in "Verband"), so an English question's own stems count only as themselves."""
        match = self._matcher.matches
        forms = {}
        for t in q_terms:
            found = set(match(t)) if language == "de" else ({t} | (match(t) if t in self._matcher else set()))
            for other in synonyms(t) | (translations or {}).get(t, set()):
                found |= match(other)
            forms[t] = frozenset(found)
        return forms

    def _in_vocabulary(self, stem: str) -> bool:
        """`stem` is a corpus term or a part of one ("nordsee" → "nordseekreis", "garten" →
        "kleingarten"): the same compound matching the evidence checks use."""
        if len(stem) < 5:
            return stem in self._matcher
        return len(self._matcher.matches(stem)) > 1 or stem in self._matcher

    # -- the run -----------------------------------------------------------------------

    def run(self, analysis: QuestionAnalysis, retrieval: RetrievalResult) -> Draft:
        """The sentence that answers a fact question (with its lead), per event when the
        question does not name one and several events answer it; or a reason to abstain."""
        if not retrieval.passages:
            return Draft("fact", reason="no passages")
        q = self.analyse_scoped(analysis, retrieval.translations)
        if isinstance(q, str):
            return Draft("fact", reason=q)
        checked = self.checked(q, retrieval, analysis.scope.doc_ids)
        passing = checked.passing
        if not passing:
            return Draft("fact", reason=checked.why)
        # Unscoped, or scoped to several events (a series): answer per event when several answer.
        groups = self._by_event(passing) if not analysis.scope.narrowed or len(analysis.scope.events) > 1 else []
        if len(groups) > 1:
            pieces = [self.piece(q, self._choose(q, group)) for group in groups]
            return Draft("fact", tuple(pieces), grouped_by_event=True)
        chosen = self._choose(q, passing)
        following = self._list_after(chosen)
        if following:
            return Draft("fact", (self.piece(q, chosen), *following))
        main = self.piece(q, chosen)
        context = self._lead_context(main, chosen)
        if context is not None:  # the lead comes from the sentence before: quote it as well
            return Draft("fact", (replace(context, lead=main.lead), replace(main, lead=None)))
        second = self.second_quote(q, chosen, checked)
        if second is None:
            return Draft("fact", (self.piece(q, chosen),))
        extra = self.piece(q, second)
        return Draft("fact", (self.piece(q, chosen), replace(extra, lead=None)))

    def supported(
        self, q: Question, retrieval: RetrievalResult, doc_ids: frozenset[str] | None = None,
    ) -> tuple[list[_Candidate], str]:
        """The checked candidate sentences that pass every evidence check, in ranking order, and
        (when none does) why the best ones failed."""
        checked = self.checked(q, retrieval, doc_ids)
        return checked.passing, checked.why

    def second_quote(self, q: Question, chosen: _Candidate, checked: "Checked") -> _Candidate | None:
        """Another sentence the learned scorer finds likely to hold the answer (a fact answer
        quotes at most two): the best other checked candidate with every name and number of the
        question, when its probability reaches the scorer's threshold."""
        if self.scorer is None or not checked.candidates:
            return None
        probabilities = self.scorer.run(feature_rows(self.signals(q, checked.candidates, checked.verdicts)))
        event = self.events.event(chosen.facts.doc_id)
        others = [
            (p, c) for p, c, verdict in zip(probabilities.tolist(), checked.candidates, checked.verdicts)
            if (c.facts.doc_id, c.facts.start) != (chosen.facts.doc_id, chosen.facts.start) and self._hard_evidence(q, c)
            and verdict != NAME_WORDS_ONLY  # a sentence that merely names the event
            and self.events.event(c.facts.doc_id) == event  # the answer is about one event
        ]
        if not others:
            return None
        p, best = max(others, key=lambda pc: pc[0])
        return best if p >= self.scorer.second_quote_threshold else None

    def checked(self, q: Question, retrieval: RetrievalResult, doc_ids: frozenset[str] | None = None) -> "Checked":
        """The candidates the evidence checks look at, with each one's verdict (None: all rules hold)."""
        candidates = self._candidates(q, retrieval, doc_ids)
        # Every name and number of the question must be in the evidence: look first at the
        # sentences that have them, however far down the similarity order they are.
        named = [c for c in candidates if all(q.anchored(a, self._anchor_window(c)) for a in q.anchors) and (not q.values or q.values <= self._number_window(c))]
        if named and (q.anchors or q.values):
            candidates = named
        looked_at = candidates[: self.policy.candidates_checked]
        return Checked(looked_at, [self._unsupported(q, c) for c in looked_at])

    def _hard_evidence(self, q: Question, cand: _Candidate) -> bool:
        """What no score can outweigh: the question's names and numbers in the evidence, and an
        event question answered from an event report."""
        window = self._anchor_window(cand)
        if not all(q.anchored(a, window) for a in q.anchors) or not q.values <= self._number_window(cand):
            return False
        for concept in q.concepts:
            if concept.required and not concept.found_in(window):
                return False
        return not (q.about_event and cand.facts.doc_id not in self.evidence.event_documents)

    def signals(self, q: Question, checked: list[_Candidate], verdicts: list[str | None]) -> list[CandidateSignals]:
        """The scorer's raw signals for each checked candidate."""
        typed = q.kind != "other"
        return [
            CandidateSignals(
                similarity=c.similarity, lexical=c.lexical, passage_rank=c.rank, score=c.score, order=i,
                type_strength=self._type_strength(q, c.facts) if typed else 0.0,
                has_type=typed and self._has_type(q, c.facts, False), typed_question=typed,
                rules_pass=v is None, anchored=all(q.anchored(a, c.facts.window) for a in q.anchors),
                english=q.language == "en", length=len(c.text),
            )
            for i, (c, v) in enumerate(zip(checked, verdicts))
        ]

    def _choose(self, q: Question, passing: list[_Candidate]) -> _Candidate:
        return self._on_focus(q, passing) or self._most_specific(q, passing)

    def _by_event(self, passing: list[_Candidate]) -> list[list[_Candidate]]:
        """Passing sentences grouped by the event their document reports on, when more than one
        event has a sentence nearly as good as the best (the question is ambiguous across events)."""
        if len(self.events) < 2:
            return []
        best = passing[0].score
        groups: dict[str, list[_Candidate]] = {}
        for cand in passing:
            event = self.events.event(cand.facts.doc_id)
            if event is None or best - cand.score > self.policy.event_margin:
                continue
            groups.setdefault(event.label, []).append(cand)
        return list(groups.values())[: self.policy.max_events] if len(groups) > 1 else []

    def piece(self, q: Question, cand: _Candidate) -> Piece:
        """The cited sentence of `cand`, with the lead taken from it (and its context)."""
        chunk = cand.passage.chunk
        event = self.events.event(chunk.doc_id)
        return Piece(
            doc_id=chunk.doc_id, start=cand.facts.start, end=cand.facts.end, role="quote", lead=self._lead(q, cand),
            event=event.label if event else None, score=cand.passage.score, window=(chunk.start, chunk.end),
            section=chunk.section,
        )

    def _lead_context(self, piece: Piece, cand: _Candidate) -> Piece | None:
        """When the lead's words are not in the quoted sentence, the earlier sentence of its
        paragraph that has them (the context the lead was taken from)."""
        if not piece.lead:
            return None
        names = [n for n in re.split(r",\s*|\s+(?:und|and)\s+", piece.lead) if n]
        surnames = [re.sub(r"\s*\(.*\)$", "", n).split()[-1] for n in names if n.split()]
        if all(fold(s) in fold(cand.text) for s in surnames):
            return None
        text = self.store.documents[cand.facts.doc_id].text
        begin = text.rfind("\n\n", 0, cand.facts.start)
        begin = 0 if begin < 0 else begin + 2
        for start, end in reversed(split_sentences(text, begin, cand.facts.start)):
            if any(fold(s) in fold(text[start:end]) for s in surnames):
                return replace(piece, start=start, end=end, window=None)  # its own paragraph window
        return None

    def _list_after(self, cand: _Candidate) -> list[Piece]:
        """A sentence that introduces a list ("Auf dem Podium saßen:") is answered with the list."""
        text = cand.facts.text.rstrip()
        if not text.endswith(":") and not _INTRODUCES.search(text):
            return []
        layout = self.layouts.run(cand.facts.doc_id)
        block = layout.list_near(cand.facts.start)
        if block is None or block.start < cand.facts.end:
            return []
        event = self.events.event(cand.facts.doc_id)
        return [
            Piece(doc_id=cand.facts.doc_id, start=s, end=e, role="item", event=event.label if event else None,
                  score=cand.passage.score)
            for s, e in first_sentences(self.store.documents[cand.facts.doc_id].text, block.items)
        ]

    def _anchor_window(self, cand: _Candidate) -> frozenset[str]:
        """Where the question's names may stand: the sentence's context; and the rest of its
        paragraph when the sentence refers back to it ("er", "seine", "dort"). A paragraph names
        its subject once and then speaks of it so; a sentence that does not refer back may be
        about another matter than the name earlier in its paragraph."""
        return self._windows(cand)[0]

    def _number_window(self, cand: _Candidate) -> frozenset[float]:
        """Where the question's numbers may stand: as its names (a number of a question often
        belongs to a name it gives: "im 15. Jahrhundert")."""
        return self._windows(cand)[1]

    def _windows(self, cand: _Candidate) -> tuple[frozenset[str], frozenset[float]]:
        """Both windows of `cand`'s sentence, worked out once per sentence (the paragraph's terms
        once per paragraph)."""
        facts = cand.facts
        key = (facts.doc_id, facts.start)
        found = self._sentence_windows.get(key)
        if found is None:
            if not _REFERS_BACK.search(facts.text):
                found = (facts.window, facts.values)
            else:
                text = self.store.documents[facts.doc_id].text
                begin = text.rfind("\n\n", 0, facts.start)
                begin = 0 if begin < 0 else begin
                paragraph = self._paragraphs.get((facts.doc_id, begin))
                if paragraph is None:
                    end = text.find("\n\n", facts.end)
                    chunk = text[begin : len(text) if end < 0 else end]
                    paragraph = self._paragraphs[(facts.doc_id, begin)] = (
                        frozenset(terms(chunk)), frozenset(number_values(chunk)))
                found = (facts.window | paragraph[0], facts.values | paragraph[1])
            self._sentence_windows[key] = found
        return found

    # -- candidates ----------------------------------------------------------------------

    def _candidates(self, q: Question, retrieval: RetrievalResult, doc_ids: frozenset[str] | None = None) -> list[_Candidate]:
        p = self.policy
        forms = [(q.ranking_forms or q.forms)[t] for t in q.terms]
        out: list[_Candidate] = []
        depth = max(p.candidate_passages, p.typed_passages if q.kind != "other" else 0)
        pool = retrieval.pool or retrieval.passages
        if doc_ids is not None:
            pool = [p_ for p_ in pool if p_.chunk.doc_id in doc_ids]
        for rank, passage in enumerate(pool[:depth]):
            sentences = self.evidence.chunk(passage.row)
            if not sentences:
                continue
            sims = retrieval.sentence_similarities(self.store, [f.row for f in sentences])
            for facts, sim in zip(sentences, sims):
                if rank >= p.candidate_passages and self._type_strength(q, facts) < _STRONG.get(q.kind, 1.0):
                    continue  # from the deeper passages only sentences with the asked-for date, place, …
                hits = 0.0
                for found in forms:
                    if not found.isdisjoint(facts.terms):
                        hits += 1.0
                    elif not found.isdisjoint(facts.window):
                        hits += 0.5
                lexical = hits / len(forms) if forms else 0.0
                bonus = p.type_bonus * self._type_strength(q, facts)
                score = sim + p.lexical_weight * lexical + p.rank_weight / (1 + rank) + bonus
                out.append(_Candidate(passage, rank, facts, sim, lexical, score))
        out.sort(key=lambda c: -c.score)
        return _dedupe(out)

    def _type_strength(self, q: Question, facts: SentenceFacts) -> float:
        """0 without the asked-for kind of thing, 1 with it, 2 for a full date (day and month)."""
        if q.kind == "date":
            return 0.0 if not facts.dates else (2.0 if facts.full_date else 1.0)
        if q.kind in {"person", "organisation"}:
            return 1.0 if self._has_type(q, facts, False) else (0.5 if self._has_type(q, facts, True) else 0.0)
        if q.kind == "place":
            found = self._places(facts, q)
            return 0.0 if not found else (2.0 if found[0] in facts.places_after_in else 1.0)
        return 1.0 if self._has_type(q, facts, False) else 0.0

    def _has_type(self, q: Question, facts: SentenceFacts, in_context: bool) -> bool:
        """The asked-for kind of thing is in the sentence (or, `in_context`, its context)."""
        kind = q.kind
        people = facts.context_people if in_context else facts.people
        orgs = facts.context_orgs if in_context else facts.orgs
        if kind == "person":
            return bool(people) or bool(orgs)
        if kind == "organisation":
            return bool(orgs) or any(p.org for p in people)
        if kind == "date":
            return bool(facts.dates)
        if kind == "time":
            return bool(facts.times)
        if kind == "number":
            return self._count(q, facts) is not None
        if kind == "place":
            return bool(self._places(facts, q))
        if kind == "expansion":
            return self._expansion(q, facts.text) is not None
        return False

    # -- evidence checks -----------------------------------------------------------------

    def _unsupported(self, q: Question, cand: _Candidate) -> str | None:
        """Why `cand` does not support an answer to `q`, or None when it does."""
        p = self.policy
        facts = cand.facts
        window = facts.window
        for stems in q.anchors:
            if not q.anchored(stems, self._anchor_window(cand)):
                return f"'{' '.join(stems)}' not in the evidence"
        if q.values and not q.values <= self._number_window(cand):
            return "a number of the question is not in the evidence"
        if q.about_event and facts.doc_id not in self.evidence.event_documents:
            return "the question is about the event; this document reports on none"
        if q.after and _OPENS_AFTERWARDS.match(facts.text) and all(q.found(t, facts.terms) for t in q.after):
            return "the sentence says what came after something else"  # "Im Anschluss gaben X …" asked "after X"
        for concept in q.concepts:
            if concept.required and not concept.found_in(window):
                return f"nothing about '{concept.name}' in the evidence"
        typed = q.kind in {"person", "date", "time", "number", "organisation", "expansion"} or (
            q.kind == "place" and not _FIND.search(q.text)
        )
        if typed and not self._has_type(q, facts, q.kind in {"person", "organisation"}):
            return f"no {q.kind} in the evidence"
        if cand.similarity < p.min_similarity:
            return f"similarity {cand.similarity:.3f}"
        if q.kind == "expansion":
            return None
        content = [t for t in q.terms if not any(t in stems for stems in q.anchors)]
        counted = set(q.counted) if q.kind == "number" else set()  # the type check found them next to the number
        found = sum(1 for t in content if t in counted or q.found(t, window))
        # Words of an event's name say which event, not what is asked about it: every sentence
        # of that event's report has them. When the question asks something besides the name,
        # the evidence must hold some of that too ("beim Gartentag zum Mittag": "Mittag").
        naming = self.events.naming_words()
        asked = [t for t in content if t not in naming]
        if asked and len(asked) < len(content) and not any(t in counted or q.found(t, window) for t in asked):
            return NAME_WORDS_ONLY
        if q.language == "de":
            coverage = p.min_coverage_de_with_anchors if q.anchors else p.min_coverage_de
            need = max(1, int(coverage * len(content) + 0.5)) if content else 0
            if found < need:
                return f"only {found} of {len(content)} question words in the evidence"
        elif content and found == 0 and cand.similarity < p.min_similarity_en_without_words + (p.event_named_margin if q.event_named else 0.0):
            if not (q.kind == "organisation" and self._asked_person_org(q, cand)):
                return f"no question word in the evidence, similarity {cand.similarity:.3f}"
        return None

    def _asked_person_org(self, q: Question, cand: _Candidate) -> str | None:
        """The organisation of a person the question names, if this sentence names them with it."""
        directory = self.directories[cand.facts.doc_id]
        for word in words(q.text):
            person = directory.get(fold(word))
            if person is not None and person.org and person.org in cand.context:
                return person.org
        return None

    def _on_focus(self, q: Question, passing: list[_Candidate]) -> _Candidate | None:
        """For "Which X …" questions: among the near-best sentences that speak of X (in the
        sentence or its context), one that names something the question does not ("die neue
        Software PLANTA"): an X is asked for by its name. None when no near-best sentence
        mentions X (then the best one stands)."""
        if not q.focus:
            return None
        best = passing[0].score
        near = [
            c for c in passing
            if best - c.score <= self.policy.focus_margin and any(q.found(t, c.facts.window) for t in q.focus)
        ]
        if not near:
            return None
        asked = fold(q.text)
        return max(near, key=lambda c: (any(fold(n) not in asked for n in c.facts.names), c.score))

    def _most_specific(self, q: Question, passing: list[_Candidate]) -> _Candidate:
        """Among near-equal sentences, the one naming the fewest people (who did it, not who was there)."""
        best = passing[0]
        if q.kind != "person":
            return best
        near = [c for c in passing if best.score - c.score <= self.policy.specificity_margin]
        return min(near, key=lambda c: (len(c.facts.people) or 99, -c.score))

    # -- the asked-for thing -----------------------------------------------------------

    def _places(self, facts: SentenceFacts, q: Question) -> list[str]:
        """Places in the sentence that are not a surname, nor part of an organisation ("Jobcenter
        Musterstadt") unless the question asks about one ("Which city's job centre …"); places
        after "in" first."""
        if not facts.places:
            return []
        if _ASKS_ORG.search(q.text):
            return list(facts.places)
        return [p for p in facts.places if p not in facts.places_in_orgs]

    def _count(self, q: Question, facts: SentenceFacts) -> str | None:
        """The number in the sentence that counts what the question counts ("60 Gäste").

        The counted noun must follow the number within three words (or be glued to a number
        word: "zweitägig" for "Wie viele Tage"); a number that counts something else is no answer.
        """
        text = facts.text
        tokens = facts.tokens
        counted = set(q.counted)
        how_many = _HOW_MANY.search(q.text)
        for i, tok in enumerate(tokens):
            word = tok.word
            glued = _COMPOUND_NUMBER.match(word)
            if glued and how_many and any(fold(glued.group(2)).startswith(c) for c in counted if len(c) >= 3):
                return word
            if tok.value is None or word.lower() in _ORDINALS or re.fullmatch(r"(19|20)\d\d", word):
                continue
            if text[tok.end : tok.end + 1] == "." and word.isdigit():
                continue  # "8." is a day or a list number, not a count
            following = tokens[i + 1 : i + 4]
            if not counted:
                return text[tok.start : (following[0].end if following else tok.end)]
            for w in following:
                if any(_term_in_any(t, counted) for t in w.stems):
                    return text[tok.start : w.end]
        return None

    def _expansion(self, q: Question, text: str) -> str | None:
        if not q.acronym:
            return None
        m = re.search(_EXPANSION.format(acronym=re.escape(q.acronym)), text)
        return m.group(1) if m else None

    def _lead(self, q: Question, cand: _Candidate) -> str | None:
        facts = cand.facts
        joiner = f" {_AND[q.language]} "
        if q.kind == "person":
            named = {fold(w) for w in words(q.text)}
            # Whom the sentence names; else whom its context names (then `run` quotes that sentence
            # too, so the lead always stands in a quoted sentence).
            for people in (facts.people, facts.context_people):
                chosen = [p for p in people if fold(p.surname) not in named] or list(people)
                if chosen:
                    return _join([p.label() for p in chosen], joiner)
            orgs = facts.orgs or facts.context_orgs
            return _join(list(orgs), joiner) if orgs else None
        if q.kind == "organisation":
            asked = self._asked_person_org(q, cand)
            if asked:
                return asked
            for found in (facts.orgs, facts.context_orgs):
                orgs = [o for o in found if fold(o) not in fold(q.text)]
                if orgs:
                    return _join(orgs, joiner)
            return None
        if q.kind == "date":
            return max(facts.dates, key=len) if facts.dates else None
        if q.kind == "time":
            return facts.times[0] if facts.times else None
        if q.kind == "number":
            return self._count(q, facts)
        if q.kind == "place":
            found = [p for p in self._places(facts, q) if fold(p) not in fold(q.text)]
            return _join(found[:2], joiner) if found else None
        if q.kind == "expansion":
            return self._expansion(q, facts.text)
        return None



def _term_in_any(term: str, stems: tuple[str, ...] | set[str]) -> bool:
    """`term` and one of `stems` match as compound parts, either way round."""
    return any(compound_match(term, s) or compound_match(s, term) for s in stems)


def _dedupe(candidates: list[_Candidate]) -> list[_Candidate]:
    """One entry per sentence (overlapping chunks repeat sentences); the better one wins."""
    seen: set[tuple[str, int]] = set()
    out = []
    for cand in candidates:
        key = (cand.facts.doc_id, cand.facts.start)
        if key not in seen:
            seen.add(key)
            out.append(cand)
    return out


def _join(labels: list[str], joiner: str) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + joiner + labels[-1]
