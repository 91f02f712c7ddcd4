"""List questions ("Welche Workshops gab es?", "Which institutes took part?"): the items.

The best sentences for the question are looked at in score order; the first that lies in
a list, or in the paragraph that introduces one, gives the answer: each item's opening
sentence, each cited. The list must be about the question: most of the question's content
words occur in its heading, its introducing paragraph or its items. Without such a list
the fact answer stands in (a sentence that names the items in a row).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.answering.compose import Draft, Piece
from service.answering.kinds.fact import FactAnswerer
from service.answering.layout import Block, first_sentences
from service.answering.question import QuestionAnalysis
from service.retrieval import RetrievalResult
from vectorstore.analysis import terms


@dataclass(frozen=True)
class ListPolicy:
    sentences_checked: int = 8  # best sentences whose neighbourhood may hold the list
    min_coverage: float = 0.5  # share of the question's content words the list region must contain
    max_items: int = 12


class ListAnswerer:
    """List question + retrieval → the items of the list that answers it."""

    def __init__(self, facts: FactAnswerer, policy: ListPolicy | None = None) -> None:
        self.facts = facts
        self.policy = policy or ListPolicy()

    def run(self, analysis: QuestionAnalysis, retrieval: RetrievalResult) -> Draft:
        q = self.facts.analyse(analysis.text, analysis.language, retrieval.translations)
        if isinstance(q, str):
            return Draft("list", reason=q)
        candidates = self.facts._candidates(q, retrieval, analysis.scope.doc_ids)[: self.policy.sentences_checked]
        seen: set[tuple[str, int]] = set()
        for cand in candidates:
            doc_id = cand.facts.doc_id
            layout = self.facts.layouts.run(doc_id)
            block = layout.list_near(cand.facts.start)
            if block is None or (doc_id, block.start) in seen or len(block.items) < 2:
                continue
            seen.add((doc_id, block.start))
            if not self._about_question(q, analysis, doc_id, block, layout):
                continue
            text = self.facts.store.documents[doc_id].text
            event = self.facts.events.event(doc_id)
            pieces = tuple(
                Piece(doc_id=doc_id, start=s, end=e, role="item", event=event.label if event else None,
                      score=cand.passage.score)
                for s, e in first_sentences(text, block.items, self.policy.max_items)
            )
            return Draft("list", pieces)
        fallback = self.facts.run(analysis, retrieval)
        return fallback

    def _about_question(self, q, analysis: QuestionAnalysis, doc_id: str, block: Block, layout) -> bool:
        """Most content words of the question occur around the list (heading, intro, items)."""
        content = list(q.terms)
        if not content:
            return True
        text = self.facts.store.documents[doc_id].text
        i = layout.blocks.index(block)
        region = [text[block.start : block.end]]
        if i > 0 and layout.blocks[i - 1].kind == "paragraph":
            region.append(text[layout.blocks[i - 1].start : layout.blocks[i - 1].end])
        if block.section:
            region.append(block.section)
        window = frozenset(terms(" ".join(region)))
        found = sum(1 for t in content if q.found(t, window))
        return found >= max(1, round(self.policy.min_coverage * len(content)))
