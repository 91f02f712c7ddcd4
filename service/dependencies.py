"""FastAPI dependencies shared by the routers: settings, the served store, errors."""

from __future__ import annotations

from fastapi import HTTPException, Request, Response

from service.qa import QuestionAnswering
from service.schemas import EXAMPLE_QUESTION, UNPAIRED_SURROGATE, has_lone_surrogate
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


def empty_message(field: str) -> str:
    return f"the {field} is empty; type a question, e.g. '{EXAMPLE_QUESTION}'"


def check_question(text: str, settings: Settings, field: str = "question") -> str:
    """Strip and validate a question; 422 for empty or not proper Unicode, 413 for over-long text."""
    stripped = text.strip()
    if not stripped:
        raise HTTPException(status_code=422, detail=empty_message(field))
    if has_lone_surrogate(stripped):
        raise HTTPException(status_code=422, detail=f"the {field} {UNPAIRED_SURROGATE}")
    if len(stripped) > settings.max_question_chars:
        raise HTTPException(
            status_code=413,
            detail=f"the {field} has {len(stripped)} characters; the limit is {settings.max_question_chars}. Shorten it.",
        )
    return stripped
