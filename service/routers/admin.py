"""Admin API: start a hot re-index, follow it, and see the service's figures.

Every route needs an admin key (`TAGUNGSBOT_ADMIN_KEYS`), see `service.security`.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from service.qa import QuestionAnswering
from service.reindex import ModelNotLoaded, ReindexBusy, ReindexJob, Reindexer
from service.schemas import ErrorResponse
from service.security import require_admin

_errors: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No admin key sent"},
    403: {"model": ErrorResponse, "description": "The key is not an admin key, or admin is disabled"},
}

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(require_admin)], responses=_errors)


class ReindexJobOut(BaseModel):
    """The latest re-index job of the index folder: the same answer from every worker process."""

    id: int = Field(..., description="Job number, counting from 1 for this index folder (0: none yet).")
    status: str = Field(..., description="idle | running | succeeded | failed")
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = Field(None, description="Seconds the job took, or has been running so far.")
    previous_version: str | None = Field(None, description="Store version served when the job started.")
    version: str | None = Field(None, description="Store version the job wrote (or found up to date).")
    report: dict[str, Any] | None = Field(None, description="The ingest report (documents, chunks, embedded, ...).")
    error: str | None = Field(None, description="What went wrong and what to do; the previous store stays served.")
    served_version: str | None = Field(None, description="Store version served when the job ended.")
    worker_pid: int | None = Field(None, description="Service process that runs (ran) the job.")
    child_pid: int | None = Field(None, description="The ingest's own process (it runs at low priority and exits when done).")
    progress: dict[str, Any] | None = Field(
        None, description='While running: {"stage": "reading"|"embedding"|"writing"|"loading", "done": int, "total": int} '
        "(files while reading, texts while embedding).",
    )
    pending: bool = Field(False, description="A follow-up job is queued: it starts when this one ends (changes made meanwhile).")


def _job_out(job: ReindexJob) -> ReindexJobOut:
    data = job.to_json()
    data.pop("started_unix", None)
    return ReindexJobOut(**data)


class StoreStats(BaseModel):
    version: str | None = None
    model: str | None = None
    documents: int | None = None
    chunks: int | None = None
    created_at: str | None = None
    not_ready_reason: str | None = None


class AdminStats(BaseModel):
    uptime_s: float
    store: StoreStats
    reloads_ok: int
    reloads_failed: int
    last_reload_error: str | None
    reindex: ReindexJobOut
    rate_limit_per_minute: int
    rate_limited_clients: int = Field(..., description="Clients with a rate-limit bucket right now.")
    embedding_slots: int
    embedding_slots_in_use: int
    overload_rejections: int
    access: str = Field(..., description="open | keys")


def _reindexer(request: Request) -> Reindexer:
    return request.app.state.reindexer


@router.post(
    "/reindex",
    status_code=202,
    response_model=ReindexJobOut,
    responses={409: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    summary="Ingest the corpus folder again (in a child process) and swap the served store when done",
)
def start_reindex(reindexer: Reindexer = Depends(_reindexer)) -> ReindexJobOut:
    try:
        job = reindexer.start()
    except ReindexBusy as exc:
        raise HTTPException(
            status_code=409, detail=f"{exc}; one re-index runs at a time: poll GET /api/admin/reindex/status until it ends"
        ) from exc
    except ModelNotLoaded as exc:
        raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "30"}) from exc
    return _job_out(job)


@router.get("/reindex/status", response_model=ReindexJobOut, summary="State of the latest re-index job")
def reindex_status(reindexer: Reindexer = Depends(_reindexer)) -> ReindexJobOut:
    return _job_out(reindexer.status())


@router.get("/stats", response_model=AdminStats, summary="Served store, reloads, re-index and load figures")
def stats(request: Request) -> AdminStats:
    app_state = request.app.state
    state = app_state.tagungsbot
    current = state.current()
    if isinstance(current, QuestionAnswering):
        m = current.store.manifest
        store = StoreStats(
            version=m.version, model=m.model, documents=len(current.store.documents),
            chunks=len(current.store.chunks), created_at=m.created_at,
        )
    else:
        store = StoreStats(not_ready_reason=current.reason)
    slots = app_state.embedding_slots
    return AdminStats(
        uptime_s=round(time.monotonic() - app_state.started_monotonic, 1),
        store=store,
        reloads_ok=state.reload_counts["ok"],
        reloads_failed=state.reload_counts["failed"],
        last_reload_error=state.last_reload_error,
        reindex=_job_out(app_state.reindexer.status()),
        rate_limit_per_minute=app_state.rate_limiter.per_minute,
        rate_limited_clients=app_state.rate_limiter.clients(),
        embedding_slots=slots.size,
        embedding_slots_in_use=slots.in_use,
        overload_rejections=slots.rejected,
        access="open" if app_state.access.fully_open else "keys",
    )
