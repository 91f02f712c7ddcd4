"""GET /metrics: Prometheus text format (see `service.metrics` for what is exported)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from service.schemas import ErrorResponse
from service.security import require_any_key

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(require_any_key)],
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus metrics"},
        401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
    },
    summary="Prometheus metrics: requests, latency, answers, store version, reloads",
)
def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.render()
    return Response(content=body, media_type=content_type)
