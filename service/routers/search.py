"""GET /api/search: ranked passages for the intranet search box."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from service.dependencies import check_question, get_qa, get_settings
from service.qa import QuestionAnswering
from service.schemas import ErrorResponse, SearchRequest, SearchResponse
from vectorstore.settings import Settings

router = APIRouter(prefix="/api", tags=["search"])


@router.get(
    "/search",
    response_model=SearchResponse,
    responses={413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    summary="Passages that match a query, best first",
)
def search(
    q: str = Query(..., description="Search words or a question."),
    k: int | None = Query(None, ge=1, le=50, description="How many results (default from settings)."),
    qa: QuestionAnswering = Depends(get_qa),
    settings: Settings = Depends(get_settings),
) -> SearchResponse:
    query = check_question(q, settings, field="query")
    result = qa.search(query, min(k or settings.top_k, settings.max_top_k))
    return SearchResponse.of(query, result)


@router.post(
    "/search",
    response_model=SearchResponse,
    responses={413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    summary="The same search with the query in a JSON body (the search page uses it: browsers send Origin on POST)",
)
def search_post(
    body: SearchRequest,
    qa: QuestionAnswering = Depends(get_qa),
    settings: Settings = Depends(get_settings),
) -> SearchResponse:
    return search(body.q, body.k, qa, settings)
