"""Definition questions ("Was ist X?", "Wer ist X?", "What does X mean?"): the sentence
that describes X.

Only sentences that name X itself qualify (every word of X, as stem or compound part).
Among the best of them, one that defines X by its grammar is preferred: X followed by
"ist/sind/steht für/bezeichnet/means", a dash, a colon or a bracket, or X in apposition
("X, ein …", "der X, der …"). Without a sentence naming X there is no answer: a
definition of something the documents do not name cannot be quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.answering.compose import Draft
from service.answering.kinds.fact import FactAnswerer
from service.answering.question import QuestionAnalysis
from service.retrieval import RetrievalResult
from vectorstore.text.analysis import STOPWORDS, terms

_DEFINES_AFTER = re.compile(
    r"^\W{0,3}(?:\([^)]{2,120}\)|\s*(?:ist|sind|war|waren|steht\s+für|stehen\s+für|bezeichnet|bedeutet|meint|heißt|"
    r"is|are|was|were|means|stands\s+for|refers\s+to)\b|\s*[–—:-]\s|,\s*(?:ein|eine|einer|der|die|das|a|an|the|which|who)\b)",
    re.I,
)


# "X’ Botschaft", "Annas Vortrag", "die Rolle von X", "the aim of X": something of X is asked for, a fact.
_OWNED = re.compile(r"\w['’]s?\s+\w|\b(?:von|vom|des|der)\s+\w+|\bof\s+\w+", re.I)


@dataclass(frozen=True)
class DefinitionPolicy:
    margin: float = 0.06  # a defining sentence this close to the best sentence naming X is preferred
    max_subject_words: int = 4


class DefinitionAnswerer:
    """Definition question + retrieval → the sentence that describes its subject."""

    def __init__(self, facts: FactAnswerer, policy: DefinitionPolicy | None = None) -> None:
        self.facts = facts
        self.policy = policy or DefinitionPolicy()

    def run(self, analysis: QuestionAnalysis, retrieval: RetrievalResult) -> Draft:
        subject = analysis.subject
        q = self.facts.analyse_scoped(analysis, retrieval.translations)
        if isinstance(q, str):
            return Draft("definition", reason=q)
        if not subject:
            return self.facts.run(analysis, retrieval)
        subject_terms = [t for t in terms(subject) if t not in STOPWORDS]
        subject_terms = [self.facts.store.keyword.correct(t) or t for t in subject_terms]
        if not subject_terms or len(subject_terms) > self.policy.max_subject_words or _OWNED.search(subject):
            return self.facts.run(analysis, retrieval)  # not a term to define, but a fact asked about
        matcher = self.facts._matcher
        forms = {t: matcher.matches(t) | {t} for t in subject_terms}
        candidates = self.facts._candidates(q, retrieval, analysis.scope.doc_ids)
        naming = [c for c in candidates if all(not forms[t].isdisjoint(c.facts.terms) for t in subject_terms)]
        if not naming:
            if analysis.language == "en":
                return self.facts.run(analysis, retrieval)  # the subject may be English words for German ones
            return Draft("definition", reason=f"no sentence names '{subject}'")
        best = naming[0]
        near = [c for c in naming if best.score - c.score <= self.policy.margin]
        chosen = next((c for c in near if self._defines(subject, c.text)), best)
        if chosen.similarity < self.facts.policy.min_similarity:
            return Draft("definition", reason=f"similarity {chosen.similarity:.3f}")
        piece = self.facts.piece(q, chosen)
        return Draft("definition", (piece.__class__(**{**piece.__dict__, "lead": None}),))

    @staticmethod
    def _defines(subject: str, sentence: str) -> bool:
        """`sentence` names `subject` in a defining construction."""
        words = [w for w in re.findall(r"[\wÄÖÜäöüß-]+", subject) if w.lower() not in STOPWORDS]
        if not words:
            return False
        m = re.search(re.escape(words[-1]) + r"[\wäöüß]*[“”\"»«']?", sentence, re.I)
        return bool(m and _DEFINES_AFTER.match(sentence[m.end():]))
