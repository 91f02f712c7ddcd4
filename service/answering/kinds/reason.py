"""Why / how questions: the sentence that gives the reason or the way, and the next one
when it carries the reason ("…, weil …", "Deshalb …", "by …"), else the one the learned
scorer rates next (at most two, as for facts).

The sentence must pass the same evidence checks as a fact answer (every name of the
question, enough of its words); then, within the same paragraph, the following sentence
is added when it states a reason or a way and the chosen one does not.
"""

from __future__ import annotations

import re

from service.answering.compose import Draft
from service.answering.kinds.fact import FactAnswerer
from service.answering.question import QuestionAnalysis
from service.retrieval import RetrievalResult

# Connectives of cause, purpose and manner, German and English (general grammar).
REASON_CUES = re.compile(
    r"\b(?:weil|da|denn|deshalb|daher|deswegen|darum|damit|indem|dadurch|wodurch|sodass|so dass|um\s+\w+(?:\s+\w+){0,6}\s+zu|"
    r"grund|gründe|ziel|zweck|because|since|therefore|thus|so that|in order to|by\s+\w+ing|reason|aim)\b",
    re.I,
)


class ReasonAnswerer:
    """Why/how question + retrieval → the sentence(s) that give the reason or the way."""

    def __init__(self, facts: FactAnswerer) -> None:
        self.facts = facts

    def run(self, analysis: QuestionAnalysis, retrieval: RetrievalResult) -> Draft:
        q = self.facts.analyse_scoped(analysis, retrieval.translations)
        if isinstance(q, str):
            return Draft("reason", reason=q)
        checked = self.facts.checked(q, retrieval, analysis.scope.doc_ids)
        passing = checked.passing
        if not passing:
            return Draft("reason", reason=checked.why)
        # Among near-equal sentences, one that states a reason or a way.
        best = passing[0]
        near = [c for c in passing if best.score - c.score <= 0.03]
        chosen = next((c for c in near if REASON_CUES.search(c.text)), best)
        pieces = [self.facts.piece(q, chosen)]
        if not REASON_CUES.search(chosen.text):
            following = self._next_sentence(chosen)
            if following is not None and REASON_CUES.search(following.text):
                pieces.append(self.facts.piece(q, following))
        if len(pieces) == 1 and not REASON_CUES.search(chosen.text):  # no reason stated: the scorer's next, as for facts
            second = self.facts.second_quote(q, chosen, checked)
            if second is not None:
                pieces.append(self.facts.piece(q, second))
        return Draft("reason", tuple(p.__class__(**{**p.__dict__, "lead": None}) for p in pieces))

    def _next_sentence(self, cand):
        """The candidate for the sentence right after `cand` in the same chunk, if any."""
        sentences = self.facts.evidence.chunk(cand.passage.row)
        for i, facts in enumerate(sentences[:-1]):
            if facts.start == cand.facts.start:
                nxt = sentences[i + 1]
                text = self.facts.store.documents[cand.facts.doc_id].text
                if "\n\n" in text[cand.facts.end : nxt.start]:
                    return None  # a new paragraph: no longer the same point
                return cand.__class__(cand.passage, cand.rank, nxt, cand.similarity, cand.lexical, cand.score)
        return None
