"""POST /api/ask: a cited answer, or an abstention, for one question."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.answering.compose import Answer
from service.dependencies import check_question, get_qa, get_settings
from service.qa import QuestionAnswering
from service.schemas import AskRequest, AskResponse, CitationOut, ErrorResponse, PartOut
from vectorstore.settings import Settings

router = APIRouter(prefix="/api", tags=["ask"])


def answer_to_response(answer: Answer, took_ms: float) -> AskResponse:
    return AskResponse(
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
    )


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    summary="Answer a question from the documents, with citations",
)
def ask(
    body: AskRequest,
    qa: QuestionAnswering = Depends(get_qa),
    settings: Settings = Depends(get_settings),
) -> AskResponse:
    question = check_question(body.question, settings)
    top_k = min(body.top_k or settings.top_k, settings.max_top_k)
    result = qa.ask(question, top_k, history=body.history)
    return answer_to_response(result.answer, result.took_ms)
