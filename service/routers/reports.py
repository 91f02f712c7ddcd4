"""Admin API for what staff said and asked: feedback and unanswered questions, as JSON and CSV (issue 13)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from service.database import Database, DatabaseUnavailable
from service.reports import UnansweredReport, feedback_csv, feedback_item, unanswered_csv
from service.schemas import ErrorResponse
from service.security import require_admin

router = APIRouter(
    prefix="/api/admin", tags=["reports"], dependencies=[Depends(require_admin)],
    responses={
        401: {"model": ErrorResponse, "description": "No admin key sent"},
        403: {"model": ErrorResponse, "description": "The admin key is not valid"},
        422: {"model": ErrorResponse, "description": "A query parameter is not valid"},
        503: {"model": ErrorResponse, "description": "The database cannot be read now"},
    },
)


class FeedbackItem(BaseModel):
    id: int
    created_at: str
    rating: str
    comment: str | None
    question: str
    answer: str
    answer_id: str
    store_version: str | None


class FeedbackList(BaseModel):
    total: int
    items: list[FeedbackItem]


class QuestionGroupOut(BaseModel):
    label: str
    count: int
    questions: list[str]
    first_seen: str
    last_seen: str


class UnansweredOut(BaseModel):
    recording: bool
    retention_days: int
    total: int
    groups: list[QuestionGroupOut]


def _database(request: Request) -> Database:
    return request.app.state.database


def _unavailable(exc: DatabaseUnavailable) -> HTTPException:
    return HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "30"})


def _csv(text: str, filename: str) -> Response:
    return Response(
        content=text.encode("utf-8"), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/feedback", response_model=FeedbackList, summary="Feedback on answers, newest first")
def list_feedback(
    request: Request,
    rating: Literal["up", "down"] | None = Query(None, description="Only thumbs up or only thumbs down."),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> FeedbackList:
    try:
        total, rows = _database(request).feedback(rating, limit, offset)
    except DatabaseUnavailable as exc:
        raise _unavailable(exc) from None
    return FeedbackList(total=total, items=[FeedbackItem(**feedback_item(r)) for r in rows])


@router.get("/feedback.csv", response_class=Response, summary="All feedback as CSV (UTF-8 with BOM)",
            responses={200: {"content": {"text/csv": {}}}})
def feedback_as_csv(
    request: Request, rating: Literal["up", "down"] | None = Query(None, description="Only thumbs up or only thumbs down."),
) -> Response:
    try:
        _, rows = _database(request).feedback(rating)
    except DatabaseUnavailable as exc:
        raise _unavailable(exc) from None
    return _csv(feedback_csv(rows), "feedback.csv" if rating is None else f"feedback-{rating}.csv")


def _unanswered(request: Request) -> dict:
    settings = request.app.state.tagungsbot.settings
    try:
        return UnansweredReport(_database(request), settings.record_unanswered, settings.unanswered_retention_days).run()
    except DatabaseUnavailable as exc:
        raise _unavailable(exc) from None


@router.get("/unanswered", response_model=UnansweredOut, summary="Unanswered questions, grouped by similarity")
def list_unanswered(request: Request) -> UnansweredOut:
    return UnansweredOut(**_unanswered(request))


@router.get("/unanswered.csv", response_class=Response, summary="Groups of unanswered questions as CSV (UTF-8 with BOM)",
            responses={200: {"content": {"text/csv": {}}}})
def unanswered_as_csv(request: Request) -> Response:
    return _csv(unanswered_csv(_unanswered(request)["groups"]), "unanswered.csv")
