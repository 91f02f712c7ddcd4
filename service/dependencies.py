"""FastAPI dependencies shared by the routers: settings, the served store, errors."""

from __future__ import annotations

from fastapi import HTTPException, Request, Response

from service.qa import QuestionAnswering
from service.question_text import QuestionRejected, checked_question
from service.state import ServiceState
from vectorstore.settings import Settings


def get_state(request: Request) -> ServiceState:
    return request.app.state.tagungsbot


def get_settings(request: Request) -> Settings:
    return request.app.state.tagungsbot.settings


STORE_VERSION_HEADER = "X-Tagungsbot-Store"
"""Response header naming the store version that answered (hot re-index is observable)."""


def get_qa(request: Request, response: Response) -> QuestionAnswering:
    """The store version this request will use from start to end, or 503 with the reason."""
    current = request.app.state.tagungsbot.current()
    if isinstance(current, QuestionAnswering):
        response.headers[STORE_VERSION_HEADER] = current.version
        return current
    raise HTTPException(status_code=503, detail=f"not ready: {current.reason}", headers={"Retry-After": "10"})


def check_question(text: str, settings: Settings, field: str = "question") -> str:
    """Strip and validate a question (`service.question_text`); its refusal becomes the HTTP error."""
    try:
        return checked_question(text, settings.max_question_chars, field)
    except QuestionRejected as exc:
        raise HTTPException(status_code=exc.status, detail=str(exc)) from None
