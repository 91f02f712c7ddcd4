"""GET /api/suggestions: starter questions made from the served store, for the widget and search page."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from service.dependencies import get_qa
from service.qa import QuestionAnswering
from service.schemas import ErrorResponse

MAX_SUGGESTIONS = 10

router = APIRouter(prefix="/api", tags=["suggestions"])


class SuggestionsResponse(BaseModel):
    suggestions: list[str] = Field(..., description="Questions a new user could ask first, taken from the documents.")
    language: Literal["de", "en"] = Field(..., description="The language of the suggestions.")


@router.get(
    "/suggestions",
    response_model=SuggestionsResponse,
    responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    summary="Starter questions derived from the current store",
)
def suggestions(
    lang: Literal["de", "en"] = Query("de", description="Language of the questions: de or en."),
    n: int = Query(4, ge=1, le=MAX_SUGGESTIONS, description=f"How many questions (1–{MAX_SUGGESTIONS})."),
    qa: QuestionAnswering = Depends(get_qa),
) -> SuggestionsResponse:
    """The same store gives the same questions; they change when the documents change."""
    return SuggestionsResponse(suggestions=qa.starters.run(lang, n), language=lang)


class SuggestionsRequest(BaseModel):
    lang: Literal["de", "en"] = Field("de", description="Language of the questions: de or en.")
    n: int = Field(4, ge=1, le=MAX_SUGGESTIONS, strict=True, description=f"How many questions (1–{MAX_SUGGESTIONS}).")


@router.post(
    "/suggestions",
    response_model=SuggestionsResponse,
    responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    summary="Starter questions derived from the current store (POST)",
)
def suggestions_post(body: SuggestionsRequest, qa: QuestionAnswering = Depends(get_qa)) -> SuggestionsResponse:
    """The same as GET. A browser sends `Origin` with a same-origin POST (not with a GET), so the
    search page asks this way and gets in without a key when keys are configured."""
    return SuggestionsResponse(suggestions=qa.starters.run(body.lang, body.n), language=body.lang)
