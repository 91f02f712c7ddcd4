"""Request and response shapes of the HTTP API (they are the OpenAPI schema)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from service.answering.compose import Answer
    from service.qa import SearchResultSet

EXAMPLE_QUESTION = "Wann und wo findet die Veranstaltung statt?"

_SURROGATE = re.compile("[\ud800-\udfff]")
UNPAIRED_SURROGATE = (
    "contains an unpaired UTF-16 surrogate (a \\ud800-\\udfff escape without its partner), which is not text; "
    "send the text as UTF-8, or write a character outside the BMP as a surrogate pair"
)


def has_lone_surrogate(text: str) -> bool:
    """True when `text` holds a UTF-16 surrogate on its own (it cannot be encoded as UTF-8)."""
    return _SURROGATE.search(text) is not None


def proper_text(value: object) -> object:
    """`value` unchanged unless it is a string with lone surrogates (JSON `"\\ud800"`), which cannot be
    encoded as UTF-8 and would fail deep inside the model; checked before length and pattern."""
    if isinstance(value, str) and has_lone_surrogate(value):
        raise PydanticCustomError("unicode_surrogate", UNPAIRED_SURROGATE)
    return value


Text = Annotated[str, BeforeValidator(proper_text)]
"""A string field that must be proper Unicode (422, not 500, for `"\\ud800"`); use it for every text input."""


MAX_HISTORY_TURNS = 6
MAX_HISTORY_QUESTION_CHARS = 1000
MAX_HISTORY_ANSWER_CHARS = 4000


class TurnIn(BaseModel):
    question: Text = Field(..., max_length=MAX_HISTORY_QUESTION_CHARS, description="An earlier question.")
    answer: Text = Field("", max_length=MAX_HISTORY_ANSWER_CHARS, description="The answer it got (its text).")


class AskRequest(BaseModel):
    question: Text = Field(
        ..., min_length=1, pattern=r"\S", description="The question, in German or English (not empty).",
        examples=[EXAMPLE_QUESTION],
    )
    top_k: int | None = Field(
        None, ge=1, le=50, strict=True, description="How many passages to consider (default from settings).",
    )
    history: list[TurnIn] = Field(
        default_factory=list, max_length=MAX_HISTORY_TURNS,
        description=f"Earlier turns of the conversation, oldest first (at most {MAX_HISTORY_TURNS}); a follow-up "
        "question (\"Und wann?\", \"Who presented it?\") is resolved against them.",
    )


class SearchResult(BaseModel):
    """A passage of a document: what search lists and what every citation points into."""

    ref: int = Field(..., description="Number of the passage; an answer cites it as [ref].")
    doc_id: str
    title: str
    section: str | None
    text: str = Field(..., description="Exactly document_text[start:end].")
    start: int
    end: int
    score: float


class CitationOut(SearchResult):
    """A cited passage with the quoted sentence inside it."""

    quote_start: int = Field(..., description="Offset of the quoted sentence in the document (start <= quote_start).")
    quote_end: int


class PartOut(BaseModel):
    role: str = Field(..., description="lead (the asked-for thing), quote, item (of a list or outline), text, heading (an event).")
    text: str
    ref: int | None = Field(None, description="The citation this part rests on.")
    event: str | None = None


class AskResponse(BaseModel):
    answer: str = Field(..., description="Plain text with [n] markers; list items on their own lines.")
    abstained: bool
    citations: list[CitationOut]
    language: str
    took_ms: float
    kind: str = Field("none", description="fact, definition, list, overview, reason, smalltalk, clarify or none.")
    parts: list[PartOut] = Field(default_factory=list, description="The answer in parts, to render without parsing the text.")
    resolved_question: str | None = Field(None, description="The standalone question that was answered (a follow-up resolved).")
    event: str | None = Field(None, description="The event the answer comes from, when it comes from one.")
    suggestions: list[str] = Field(default_factory=list, description="Questions to offer next (greetings, help, clarifications).")
    answer_id: str = Field(
        "", description="Identifies this answer for POST /api/feedback (empty outside the HTTP service).",
    )

    @classmethod
    def of(cls, answer: "Answer", took_ms: float, answer_id: str = "") -> "AskResponse":
        """The API's shape of `answer` (the CLI's `--json` and the evaluation print the same);
        `answer_id` for feedback: the HTTP service signs one, see service/feedback.py."""
        return cls(
            answer=answer.answer,
            abstained=answer.abstained,
            citations=[CitationOut(**vars(c)) for c in answer.citations],
            language=answer.language,
            took_ms=round(took_ms, 2),
            kind=answer.kind,
            parts=[PartOut(**vars(p)) for p in answer.parts],
            resolved_question=answer.resolved_question,
            event=answer.event,
            suggestions=list(answer.suggestions),
            answer_id=answer_id,
        )


class SearchRequest(BaseModel):
    """POST /api/search: the same as the GET query parameters. Browsers send `Origin` on POST,
    which is how the search page is let in without a key (service/security.py)."""

    q: Text = Field(..., min_length=1, pattern=r"\S", description="Search words or a question (not empty).")
    k: int | None = Field(None, ge=1, le=50, strict=True, description="How many results (default from settings).")


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]
    took_ms: float

    @classmethod
    def of(cls, query: str, result: "SearchResultSet") -> "SearchResponse":
        """The API's shape of a search result; the CLI's `--json` prints the same."""
        return cls(
            query=query,
            results=[
                SearchResult(
                    ref=i + 1, doc_id=p.chunk.doc_id, title=p.chunk.title, section=p.chunk.section,
                    text=p.chunk.text, start=p.chunk.start, end=p.chunk.end, score=p.score,
                )
                for i, p in enumerate(result.passages)
            ],
            took_ms=round(result.took_ms, 2),
        )


class ErrorResponse(BaseModel):
    detail: str = Field(..., description="What went wrong and what to do about it.")


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    store_version: str | None = None
    documents: int | None = None
    chunks: int | None = None
    model: str | None = None
    detail: str | None = None
