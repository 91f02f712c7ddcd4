"""From the parts an answer kind chose to the answer the user reads, every part cited.

A kind returns `Piece`s: spans of a document's text (a quoted sentence, a list item, a
paragraph) with an optional lead (the asked-for thing, taken from that span) and the
event the document reports on. `Composer.run` numbers them, writes the plain text with
`[n]` markers (list items on their own lines) and one `Citation` per piece whose `text`
is exactly the document text between `start` and `end`, with the quoted span inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

from vectorstore.records import Document
from vectorstore.text.language import Language

AnswerKind = Literal["fact", "definition", "list", "overview", "reason", "smalltalk", "clarify", "none"]
PartRole = Literal["lead", "quote", "item", "text", "heading"]

NOT_FOUND: dict[Language, str] = {
    "de": "Dazu finde ich in den vorliegenden Dokumenten keine Antwort. "
    "Bitte formulieren Sie die Frage anders oder fragen Sie nach einem anderen Thema der Dokumente.",
    "en": "I could not find an answer to that in the documents. "
    "Please rephrase the question or ask about another topic of the documents.",
}
_INTRO: dict[Language, str] = {"de": "Laut den Dokumenten: ", "en": "According to the documents: "}
_LIST_INTRO: dict[Language, str] = {"de": "Die Dokumente nennen:", "en": "The documents list:"}
_EVENTS_INTRO: dict[Language, str] = {
    "de": "Dazu gibt es Angaben zu mehreren Veranstaltungen:",
    "en": "The documents answer this for more than one event:",
}
_CONTEXT_CHARS = 600  # the most of a paragraph a citation shows around its quote


@dataclass(frozen=True)
class Piece:
    """One span of a document an answer rests on."""

    doc_id: str
    start: int
    end: int
    role: PartRole = "quote"
    lead: str | None = None
    event: str | None = None
    score: float = 0.0
    window: tuple[int, int] | None = None  # the citation's passage; default: the paragraph around the span
    section: str | None = None


@dataclass(frozen=True)
class Draft:
    """What an answer kind found: pieces in reading order, or nothing (`reason` says why)."""

    kind: AnswerKind
    pieces: tuple[Piece, ...] = ()
    reason: str = ""
    intro: str | None = None  # a sentence before the pieces (e.g. an outline's heading line)
    grouped_by_event: bool = False

    @property
    def found(self) -> bool:
        return bool(self.pieces)


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
class Part:
    """A piece of the answer as clients render it: `ref` points to a citation."""

    role: PartRole
    text: str
    ref: int | None = None
    event: str | None = None


@dataclass(frozen=True)
class Answer:
    answer: str
    abstained: bool
    citations: list[Citation]
    language: Language
    kind: AnswerKind = "none"
    parts: list[Part] = field(default_factory=list)
    reason: str = ""
    lead: str | None = None
    event: str | None = None
    resolved_question: str | None = None
    suggestions: list[str] = field(default_factory=list)
    debug: dict = field(default_factory=dict)


def paragraph_window(text: str, start: int, end: int, limit: int = _CONTEXT_CHARS) -> tuple[int, int]:
    """The paragraph (blank-line separated block) around `text[start:end]`, cut to about
    `limit` characters around the span at word boundaries."""
    left = text.rfind("\n\n", 0, start)
    left = 0 if left < 0 else left + 2
    right = text.find("\n\n", end)
    right = len(text) if right < 0 else right
    if right - left > limit:
        spare = max(0, limit - (end - start)) // 2
        if start - left > spare:
            cut = text.rfind(" ", left, start - spare)
            left = max(left, cut + 1 if cut >= 0 else start - spare)
        if right - end > spare:
            cut = text.find(" ", end + spare, right)
            right = cut if cut >= 0 else right
    return left, right


def line_window(text: str, start: int, end: int) -> tuple[int, int]:
    """The line around `text[start:end]`: a list item is cited as its own line, not the whole list."""
    left = text.rfind("\n", 0, start) + 1
    right = text.find("\n", end)
    return left, len(text) if right < 0 else right


def abstain(language: Language, reason: str, resolved: str | None = None) -> Answer:
    return Answer(answer=NOT_FOUND[language], abstained=True, citations=[], language=language, kind="none",
                  reason=reason, resolved_question=resolved)


class Composer:
    """Draft → `Answer`: numbered citations, plain text with [n] markers, parts for clients."""

    def __init__(self, documents: Mapping[str, Document]) -> None:
        self.documents = documents

    def run(self, draft: Draft, language: Language, name_event: bool = False) -> Answer:
        """`name_event`: the store holds several events, so a single-event answer says which."""
        if not draft.found:
            return abstain(language, draft.reason)
        citations: list[Citation] = []
        parts: list[Part] = []
        lines: list[str] = []
        refs: dict[tuple[str, int, int], int] = {}
        if draft.intro:
            parts.append(Part("text", draft.intro))
        elif draft.kind == "list" and not draft.grouped_by_event:
            parts.append(Part("text", _LIST_INTRO[language]))
        if draft.grouped_by_event:
            parts.append(Part("text", _EVENTS_INTRO[language]))
        if parts:
            lines.append(parts[-1].text if len(parts) == 1 else " ".join(p.text for p in parts))
        last_event: str | None = None
        for piece in draft.pieces:
            doc = self.documents[piece.doc_id]
            quote = doc.text[piece.start : piece.end].strip()
            key = (piece.doc_id, piece.start, piece.end)
            ref = refs.get(key)
            if ref is None:
                ref = len(citations) + 1
                refs[key] = ref
                left, right = piece.window or (
                    line_window(doc.text, piece.start, piece.end) if piece.role == "item"
                    else paragraph_window(doc.text, piece.start, piece.end)
                )
                citations.append(Citation(
                    ref=ref, doc_id=doc.doc_id, title=doc.title, section=piece.section or doc.section_at(piece.start),
                    text=doc.text[left:right], start=left, end=right, score=round(piece.score, 4),
                    quote_start=piece.start, quote_end=piece.end,
                ))
            prefix = ""
            if name_event and not draft.grouped_by_event and piece.event and last_event is None:
                last_event = piece.event
                if piece.role == "item":  # a list keeps its items as items: the event heads it
                    lines.append(f"{piece.event}:")
                    parts.append(Part("heading", piece.event, event=piece.event))
                else:
                    prefix = f"{piece.event}: "
            if draft.grouped_by_event and piece.event and piece.event != last_event:
                prefix = f"{piece.event}: "
                parts.append(Part("heading", piece.event, event=piece.event))
                last_event = piece.event
            if piece.lead:
                parts.append(Part("lead", piece.lead, ref, piece.event))
            parts.append(Part(piece.role if piece.role != "lead" else "quote", quote, ref, piece.event))
            body = f"„{quote}“ [{ref}]"
            if piece.role == "item":
                lines.append(f"{prefix}- {quote} [{ref}]")
            elif piece.lead:
                lines.append(f"{prefix}{piece.lead}. {_INTRO[language]}{body}")
            else:
                lines.append(f"{prefix}{body}")
        separator = "\n" if draft.kind in {"list", "overview"} or draft.grouped_by_event else " "
        first = draft.pieces[0]
        events = {p.event for p in draft.pieces if p.event}
        return Answer(
            answer=separator.join(lines), abstained=False, citations=citations, language=language, kind=draft.kind,
            parts=parts, reason=draft.reason, lead=first.lead, event=next(iter(events)) if len(events) == 1 else None,
        )
