"""POST /api/feedback: thumbs up or down, with an optional comment, on one answer (issue 13)."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from service.database import DatabaseUnavailable
from service.feedback import FeedbackIn, FeedbackRecorder, TextsDoNotMatch, UnknownAnswer
from service.qa import QuestionAnswering
from service.schemas import ErrorResponse, Text

log = logging.getLogger("tagungsbot.feedback")

router = APIRouter(prefix="/api", tags=["feedback"])

MAX_COMMENT_CHARS = 1000


class FeedbackRequest(BaseModel):
    answer_id: Text = Field(
        ..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="The answer_id of the /api/ask response.",
    )
    rating: Literal["up", "down"] = Field(..., description="Thumbs up or down.")
    comment: Text | None = Field(None, max_length=MAX_COMMENT_CHARS, description="Optional remark (personal data is redacted).")
    question: Text | None = Field(
        None, max_length=4000,
        description="The question as sent to /api/ask; needed when this server may not remember the answer.",
    )
    answer: Text | None = Field(None, max_length=16000, description="The answer text of the response, unchanged.")


class FeedbackCreated(BaseModel):
    id: int
    answer_id: str
    rating: str
    created_at: str = Field(..., description="When it was stored (ISO 8601, UTC).")


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackCreated,
    responses={404: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
               503: {"model": ErrorResponse}},
    summary="Rate an answer (stored only when 201 is returned)",
)
def post_feedback(body: FeedbackRequest, request: Request) -> FeedbackCreated:
    recorder: FeedbackRecorder = request.app.state.feedback
    state = request.app.state.tagungsbot
    current = state.current()
    version = current.version if isinstance(current, QuestionAnswering) else None
    try:
        row = recorder.run(FeedbackIn(body.answer_id, body.rating, body.comment, body.question, body.answer), version)
    except UnknownAnswer as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except TextsDoNotMatch as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    except DatabaseUnavailable as exc:
        log.warning("feedback not stored: %s", exc)
        raise HTTPException(
            status_code=503, headers={"Retry-After": "30"},
            detail=f"the feedback was not stored, the database cannot take it now: {state.public_text.run(str(exc))}. "
                   "Nothing was saved; send it again later.",
        ) from None
    return FeedbackCreated(id=row.id, answer_id=row.answer_id, rating=row.rating, created_at=row.created_at)
