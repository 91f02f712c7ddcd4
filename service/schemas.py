"""Request and response shapes of the HTTP API (they are the OpenAPI schema)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AskRequest(BaseModel):
    question: str = Field(..., description="The question, in German or English.", examples=["Wer hat BAKIRA vorgestellt?"])
    top_k: int | None = Field(None, ge=1, le=50, description="How many passages to consider (default from settings).")


class CitationOut(BaseModel):
    ref: int = Field(..., description="Number used as [ref] in the answer text.")
    doc_id: str
    title: str
    section: str | None
    text: str = Field(..., description="Exactly document_text[start:end].")
    start: int
    end: int
    score: float
    quote_start: int = Field(..., description="Offset of the quoted sentence in the document (start <= quote_start).")
    quote_end: int


class AskResponse(BaseModel):
    answer: str
    abstained: bool
    citations: list[CitationOut]
    language: str
    took_ms: float


class SearchResult(BaseModel):
    ref: int
    doc_id: str
    title: str
    section: str | None
    text: str
    start: int
    end: int
    score: float


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]
    took_ms: float


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
