"""List questions ("Welche Stände gab es?", "Which institutes took part?"): the items.

The best sentences for the question are looked at in score order; the first that lies in
a list, or in the paragraph that introduces one, gives the answer: each item's opening
sentence, each cited. The list must be about the question: most of the question's content
words occur in its heading, its introducing paragraph or its items. Without such a list
the fact answer stands in (a sentence that names the items in a row).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.answering.compose import Draft, Piece
from service.answering.kinds.fact import FactAnswerer
from service.answering.layout import Block, first_sentences
from service.answering.question import QuestionAnalysis
from service.retrieval import RetrievalResult
from vectorstore.text.analysis import STOPWORDS, terms
from vectorstore.text.sentences import split_sentences

# "Welche Stände …", "Which institutes …": the noun the list must be a list of.
_FOCUS = re.compile(r"^\s*(?:und\s+|and\s+)?(?:welche[rsnm]?|which|what)\s+([\w-]+)", re.I)


@dataclass(frozen=True)
class ListPolicy:
    sentences_checked: int = 8  # best sentences whose neighbourhood may hold the list
    passing_checked: int = 3  # best supported sentences whose neighbourhood may hold the list
    min_coverage: float = 0.5  # share of the question's content words the list region must contain
    max_items: int = 12
    item_sentences: int = 3  # sentences quoted of an item the question names


class ListAnswerer:
    """List question + retrieval → the items of the list that answers it."""

    def __init__(self, facts: FactAnswerer, policy: ListPolicy | None = None) -> None:
        self.facts = facts
        self.policy = policy or ListPolicy()

    def run(self, analysis: QuestionAnalysis, retrieval: RetrievalResult) -> Draft:
        q = self.facts.analyse_scoped(analysis, retrieval.translations)
        if isinstance(q, str):
            return Draft("list", reason=q)
        passing, why = self.facts.supported(q, retrieval, analysis.scope.doc_ids)
        # A list near the best supported sentences; without any, near the best sentences at all
        # (a list item alone rarely holds most of the question's words).
        candidates = passing[: self.policy.passing_checked] or (
            self.facts._candidates(q, retrieval, analysis.scope.doc_ids)[: self.policy.sentences_checked]
        )
        # Further down, a supported sentence that announces a list ("… mit diesen Partnern:") still may.
        candidates += [c for c in passing[self.policy.passing_checked :] if c.text.rstrip().endswith(":")]
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
            named = self._items_naming(q, text, block, layout)
            if named:  # "Which services did X introduce?": the item about X holds the answer
                pieces = tuple(
                    Piece(doc_id=doc_id, start=s, end=e, role="quote", event=event.label if event else None,
                          score=cand.passage.score)
                    for start, end in named for s, e in split_sentences(text, start, end)[: self.policy.item_sentences]
                )
                return Draft("list", pieces)
            pieces = tuple(
                Piece(doc_id=doc_id, start=s, end=e, role="item", event=event.label if event else None,
                      score=cand.passage.score)
                for s, e in first_sentences(text, block.items, self.policy.max_items)
            )
            return Draft("list", pieces)
        return self.facts.run(analysis, retrieval)  # a sentence that names the items in a row

    def _of_focus(self, q, analysis: QuestionAnalysis, doc_id: str, block: Block, layout) -> bool:
        m = _FOCUS.search(analysis.text)
        if not m:
            return True
        focus = [self.facts.store.keyword.correct(t) or t for t in terms(m.group(1)) if t not in STOPWORDS]
        if not focus:
            return True
        forms = self.facts._forms(tuple(focus), language=analysis.language)
        text = self.facts.store.documents[doc_id].text
        i = layout.blocks.index(block)
        intro = text[layout.blocks[i - 1].start : layout.blocks[i - 1].end] if i > 0 and layout.blocks[i - 1].kind == "paragraph" else ""
        intro_terms = frozenset(terms(intro))
        if any(not forms[t].isdisjoint(intro_terms) for t in focus):
            return True
        naming = sum(1 for s, e in block.items if any(not forms[t].isdisjoint(frozenset(terms(text[s:e]))) for t in focus))
        return naming * 2 > len(block.items)

    def _items_naming(self, q, text: str, block: Block, layout) -> list[tuple[int, int]]:
        """The items that name every name of the question, when some items do and others don't
        (and the list's heading and introduction do not: then the whole list is about the names)."""
        if not q.anchors:
            return []
        i = layout.blocks.index(block)
        intro = text[layout.blocks[i - 1].start : layout.blocks[i - 1].end] if i > 0 else ""
        around = frozenset(terms(f"{block.section or ''} {intro}"))
        if all(set(a) <= around for a in q.anchors):  # the names themselves, not parts of them
            return []
        naming = [
            (s, e) for s, e in block.items
            if all(q.anchored(a, frozenset(terms(text[s:e]))) for a in q.anchors)
        ]
        return naming if 0 < len(naming) < len(block.items) else []

    def _about_question(self, q, analysis: QuestionAnalysis, doc_id: str, block: Block, layout) -> bool:
        """The list is of what the question asks for ("Welche Jobcenter …": its introduction or
        most of its items name job centres), and most content words of the question occur around
        it (heading, introduction, items)."""
        if not self._of_focus(q, analysis, doc_id, block, layout):
            return False
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
