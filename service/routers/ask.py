"""POST /api/ask: a cited answer, or an abstention, for one question."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from service.dependencies import check_question, get_qa, get_settings
from service.qa import QuestionAnswering
from service.schemas import AskRequest, AskResponse, ErrorResponse
from service.unanswered import Unanswered
from vectorstore.settings import Settings

router = APIRouter(prefix="/api", tags=["ask"])


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    summary="Answer a question from the documents, with citations",
)
def ask(
    body: AskRequest,
    request: Request,
    qa: QuestionAnswering = Depends(get_qa),
    settings: Settings = Depends(get_settings),
) -> AskResponse:
    question = check_question(body.question, settings)
    top_k = min(body.top_k or settings.top_k, settings.max_top_k)
    result = qa.ask(question, top_k, history=body.history)
    answer = result.answer
    # Signing is microseconds; recording an abstention only queues it (redaction, embedding and the
    # write happen in the background), so neither adds disk time to the request.
    answer_id = request.app.state.feedback.remember(question, answer.answer, qa.version)
    if answer.abstained:
        request.app.state.unanswered.offer(Unanswered(answer.resolved_question or question, answer.language, qa.version))
    return AskResponse.of(answer, result.took_ms, answer_id)
