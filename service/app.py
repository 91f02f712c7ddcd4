"""The FastAPI application: routers for each surface, state loaded once at start."""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vectorstore.errors import TagungsbotError
from service.database import Database
from service.question_text import empty_message
from service.feedback import AnswerSigner, FeedbackRecorder, RecentAnswers
from service.limits import BodySizeLimit, EmbeddingSlots, RequestTimeout, embedding_slot
from service.logging_config import close_logger, configure_logging, question_logger
from service.metrics import MetricsMiddleware, ServiceMetrics, observed_qa_factory
from service.ratelimit import RateLimiter
from service.redaction import Redactor
from service.reindex import Reindexer
from service.routers import admin, ask, docs, documents, feedback, health, metrics, pages, reports, search, suggestions
from service.schemas import EXAMPLE_QUESTION, ErrorResponse
from service.security import AccessPolicy, ClientAddress, check_exposure, require_tool_access
from service.state import ServiceState
from service.unanswered import UnansweredRecorder
from vectorstore.settings import Settings, load_settings

log = logging.getLogger("tagungsbot.service")

BODY_NOT_JSON = (
    f"the request body is not valid JSON in UTF-8; send e.g. {{\"question\": \"{EXAMPLE_QUESTION}\"}} "
    "with Content-Type: application/json"
)
_EMPTY_TEXT_ERRORS = frozenset({"string_too_short", "string_pattern_mismatch"})


def _validation_message(exc: RequestValidationError) -> str:
    """One readable sentence for all validation errors; the caller's input is never echoed.

    An empty question and text that is not proper Unicode get their own sentences (what is
    wrong and how to fix it); everything else is `field: pydantic's message`.
    """
    sentences, parts = [], []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        # A lone surrogate in a JSON key would make the message itself unencodable.
        where = ".".join(loc).encode("utf-8", "backslashreplace").decode("utf-8")
        if error.get("type") in _EMPTY_TEXT_ERRORS and loc[-1:] in (["question"], ["q"]):
            sentences.append(empty_message("question" if loc[-1] == "question" else "query"))
        elif error.get("type") == "unicode_surrogate":
            sentences.append(f"the {where or 'text'} {error.get('msg')}")
        else:
            parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    if parts:
        sentences.append("invalid request: " + "; ".join(parts))
    return "; ".join(sentences)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the API documents at `path` (the OpenAPI schema knows all routes of a path)."""
    operations = app.openapi().get("paths", {}).get(path, {})
    return sorted(m.upper() for m in operations if m in {"get", "post", "put", "patch", "delete", "head", "options"})


def create_app(settings: Settings) -> FastAPI:
    """Build the app from the caller's settings; the model and store are loaded when the server starts."""
    check_exposure(settings)
    state = ServiceState(settings)
    slots = EmbeddingSlots(settings.max_concurrent_embeddings, settings.embedding_wait_s)
    service_metrics = ServiceMetrics(state, slots)
    questions = question_logger(settings)
    state.qa_factory = observed_qa_factory(service_metrics, questions)

    # Feedback and unanswered questions (issue 13): one SQLite file in the data folder. A database
    # that cannot be opened leaves the service answering, without recording (logged).
    database = Database(settings.data_dir, settings.feedback_retention_days, settings.unanswered_retention_days)
    redactor = Redactor()
    unanswered = UnansweredRecorder(
        database, redactor, lambda text: state.embedder.encode_query(text), settings.record_unanswered,  # type: ignore[union-attr]
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database.open()
        app.state.feedback = FeedbackRecorder(database, AnswerSigner.from_data_dir(settings.data_dir), RecentAnswers(), redactor)
        unanswered.start()
        if settings.record_unanswered:
            log.info("recording unanswered questions (redacted) in %s, kept %d days", database.path,
                     settings.unanswered_retention_days)
        state.start()
        yield
        state.stop()
        unanswered.stop()
        database.close()
        close_logger(questions)

    app = FastAPI(
        title="tagungsbot",
        version="0.1.0",
        description="Answers questions about conference documents, with citations. Offline.",
        lifespan=lifespan,
        docs_url=None,  # /docs comes from routers/docs.py with its files served offline; no CDN-bound /redoc
        redoc_url=None,
    )
    app.state.tagungsbot = state
    app.state.access = AccessPolicy(settings)
    app.state.client_address = ClientAddress(settings.trusted_proxies)
    app.state.rate_limiter = RateLimiter(
        settings.rate_limit_per_minute, settings.rate_limit_burst, max_clients=settings.rate_limit_max_clients
    )
    app.state.embedding_slots = slots
    app.state.metrics = service_metrics
    app.state.reindexer = Reindexer(state, on_result=lambda result: service_metrics.reindex.labels(result).inc())
    app.state.started_monotonic = time.monotonic()
    app.state.database = database
    app.state.unanswered = unanswered

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            exc.detail = BODY_NOT_JSON  # FastAPI's words for undecodable bodies say nothing about the fix
        if exc.status_code == 405:
            # Starlette names only the methods of the first route on the path; a path served by two
            # routes (GET and POST /api/search) must list both.
            methods = allowed_methods(request.app, request.url.path)
            if methods:
                exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
        return await http_exception_handler(request, exc)

    @app.exception_handler(TagungsbotError)
    async def on_store_error(_request: Request, exc: TagungsbotError) -> JSONResponse:
        # A backend that fails mid-request (Milvus down, a store file gone) is a 503 with the reason.
        log.error("request failed: %s", exc)
        return JSONResponse(status_code=503, content={"detail": state.public_text.run(str(exc))}, headers={"Retry-After": "10"})  # no server paths

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _validation_message(exc)})

    # Innermost first: body size and timeout run inside CORS, so their 413/504 carry CORS headers.
    # The document upload has its own limits (files of many megabytes; see service.routers.documents).
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, routes=documents.upload_body_limit(settings))
    app.add_middleware(RequestTimeout, timeout_s=settings.request_timeout_s, routes=documents.upload_timeout())
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Content-Type", "Authorization", "X-API-Key"],
            expose_headers=["Retry-After"],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware, metrics=service_metrics)
    # Tool routes: API key or allowed widget origin, per-client rate limit, bounded embedding work.
    tool_errors: dict[int | str, dict] = {
        400: {"model": ErrorResponse, "description": "The body is not JSON in UTF-8"},
        401: {"model": ErrorResponse, "description": "No API key sent (and no allowed Origin)"},
        403: {"model": ErrorResponse, "description": "The API key is not valid"},
        429: {"model": ErrorResponse, "description": "Rate limit reached; see Retry-After"},
        503: {"model": ErrorResponse, "description": "Not ready, or busy; see Retry-After"},
    }
    for router in (ask.router, search.router):
        app.include_router(
            router, dependencies=[Depends(require_tool_access), Depends(embedding_slot)], responses=tool_errors
        )
    # Starter questions: same access and rate limit as the tool routes, no embedding work.
    app.include_router(suggestions.router, dependencies=[Depends(require_tool_access)], responses=tool_errors)
    # Feedback on an answer: same access and rate limit as asking.
    app.include_router(feedback.router, dependencies=[Depends(require_tool_access)], responses=tool_errors)
    for router in (health.router, metrics.router, admin.router, documents.router, reports.router, pages.router, docs.router):
        app.include_router(router)
    return app


def create_worker_app() -> FastAPI:
    """App factory for each worker process of `tagungsbot serve --workers N`.

    A worker is a fresh process: it sets up the same JSON logging as a single-process
    server before anything else. A setting it cannot start with ends the worker with
    uvicorn's start-up failure code, so the parent stops instead of restarting it forever.
    uvicorn starts it from an import string, so it is the one app-side entry point that loads
    the settings (those the parent exported, `Settings.export_for_workers`).
    """
    import sys

    from uvicorn.config import STARTUP_FAILURE

    try:
        settings = load_settings()
        configure_logging(settings)
        return create_app(settings)
    except (TagungsbotError, ValueError) as exc:
        log.error("worker cannot start: %s", exc)
        sys.exit(STARTUP_FAILURE)
