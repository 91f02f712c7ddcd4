"""Overview questions ("Worum ging es?", "Fassen Sie X zusammen", "What were the key
takeaways?"): the document's own summary, quoted.

- About a whole event or document: its lead (the paragraphs before the first heading,
  where a report says what, when, where and who) and its section headings as an outline.
- About results or takeaways: the opening sentences of its concluding section (a heading
  such as "Fazit", "Ergebnisse", "Conclusion").
- About one part ("Fassen Sie die Keynote zusammen"): the opening sentences of the
  section whose heading or text best matches the question.

The document is the one of the event the question names, else the one of the best
retrieved passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.answering.compose import Draft, Piece
from service.answering.kinds.fact import FactAnswerer
from service.answering.layout import Block, Layout, first_sentences
from service.answering.question import QuestionAnalysis
from service.retrieval import RetrievalResult
from vectorstore.text.analysis import terms
from vectorstore.text.sentences import split_sentences

# Words of headings that conclude a report, and of questions that ask for its conclusions
# (general German and English).
CONCLUSION_HEADING = re.compile(r"\b(?:fazit|schluss\w*|ergebnis\w*|erkenntnis\w*|ausblick|résumé|resümee|zusammenfassung|"
                                r"conclusions?|summary|outlook|results?|takeaways?|lessons)\b", re.I)
ASKS_CONCLUSION = re.compile(r"\b(?:fazit|ergebnis\w*|erkenntnis\w*|botschaft\w*|schlussfolgerung\w*|takeaways?|"
                             r"conclusions?|results?|findings|lessons|messages)\b", re.I)


@dataclass(frozen=True)
class OverviewPolicy:
    lead_sentences: int = 4
    section_sentences: int = 3
    outline_headings: int = 8


class OverviewAnswerer:
    """Overview question + retrieval → lead and outline, conclusions, or one section."""

    def __init__(self, facts: FactAnswerer, policy: OverviewPolicy | None = None) -> None:
        self.facts = facts
        self.policy = policy or OverviewPolicy()

    def run(self, analysis: QuestionAnalysis, retrieval: RetrievalResult) -> Draft:
        doc_id = self._document(analysis, retrieval)
        if doc_id is None:
            return Draft("overview", reason="no document")
        layout = self.facts.layouts.run(doc_id)
        text = self.facts.store.documents[doc_id].text
        event = self.facts.events.event(doc_id)
        label = event.label if event else None
        content = [t for t in analysis.content_terms if not ASKS_CONCLUSION.search(t)]
        if content and label:  # words that only restate the event's name ("the quality conference")
            q = self.facts.analyse_scoped(analysis, retrieval.translations)
            name = frozenset(terms(label))
            if not isinstance(q, str):
                content = [t for t in content if not (t in q.forms and q.found(t, name))]
        if content:
            draft = self._section(analysis, retrieval, doc_id, layout, text, label, content)
            # No section is about what the question names: its best sentences answer it.
            return draft if draft is not None else self.facts.run(analysis, retrieval)
        if ASKS_CONCLUSION.search(analysis.text):
            for i, block in enumerate(layout.blocks):
                if block.kind == "heading" and CONCLUSION_HEADING.search(text[block.start : block.end]):
                    pieces = self._opening(layout.section_blocks(i), text, doc_id, label, self.policy.section_sentences)
                    if pieces:
                        return Draft("overview", tuple(pieces))
        pieces = self._opening(layout.lead(), text, doc_id, label, self.policy.lead_sentences)
        outline: list[Piece] = []
        for i, block in enumerate(layout.blocks):
            if block.kind != "heading" or len(outline) >= self.policy.outline_headings:
                continue
            paragraphs = [b for b in layout.section_blocks(i) if b.kind == "paragraph"]
            if paragraphs:  # a section's opening sentence says what it is about
                opening = self._opening(paragraphs[:1], text, doc_id, label, 1)
                outline.extend(p.__class__(**{**p.__dict__, "role": "item", "section": text[block.start : block.end]}) for p in opening)
        if not pieces and not outline:
            return Draft("overview", reason="the document has no lead and no sections")
        return Draft("overview", tuple(pieces + outline))

    def _document(self, analysis: QuestionAnalysis, retrieval: RetrievalResult) -> str | None:
        pool = retrieval.pool or retrieval.passages
        if analysis.scope.narrowed:
            ranked = [p.chunk.doc_id for p in pool if p.chunk.doc_id in analysis.scope.doc_ids]
            if ranked:
                return ranked[0]
            return sorted(analysis.scope.doc_ids)[0]
        return pool[0].chunk.doc_id if pool else None

    def _section(self, analysis, retrieval, doc_id: str, layout: Layout, text: str, label, content) -> Draft | None:
        """The opening sentences of the section the question is about."""
        q = self.facts.analyse_scoped(analysis, retrieval.translations)
        if isinstance(q, str):
            return Draft("overview", reason=q)
        best_index, best = None, (0, 0)
        for i, block in enumerate(layout.blocks):
            if block.kind != "heading":
                continue
            heading_terms = frozenset(terms(text[block.start : block.end]))
            body_terms = frozenset(terms(" ".join(text[b.start : b.end] for b in layout.section_blocks(i))))
            hits = (sum(q.found(t, heading_terms) for t in q.terms), sum(q.found(t, body_terms) for t in q.terms))
            if hits[0] and hits > best:
                best_index, best = i, hits
        if best_index is None:
            return None  # no heading names what the question asks about: overview of the whole document
        pieces = self._opening(layout.section_blocks(best_index), text, doc_id, label, self.policy.section_sentences)
        if not pieces:
            return Draft("overview", reason="empty section")
        return Draft("overview", tuple(pieces))

    @staticmethod
    def _opening(blocks: list[Block], text: str, doc_id: str, label, limit: int) -> list[Piece]:
        """The first `limit` sentences of `blocks` (a list counts each item's first sentence)."""
        out: list[Piece] = []
        for block in blocks:
            spans = first_sentences(text, block.items) if block.kind == "list" else split_sentences(text, block.start, block.end)
            for s, e in spans:
                out.append(Piece(doc_id=doc_id, start=s, end=e, role="item" if block.kind == "list" else "quote", event=label))
                if len(out) >= limit:
                    return out
        return out
