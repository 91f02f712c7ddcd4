"""Limits that keep the service answering under load: body size, time, concurrency.

* `BodySizeLimit` (ASGI middleware): bodies over `TAGUNGSBOT_MAX_BODY_BYTES` get 413
  before they are read into memory (checked on Content-Length and while streaming).
  Routes named in `routes` (the document upload) have their own, larger limit.
* `RequestTimeout` (ASGI middleware): a request that has not started its response after
  `TAGUNGSBOT_REQUEST_TIMEOUT_S` gets 504. The worker thread cannot be killed and
  finishes in the background; the caller is not kept waiting.
* `EmbeddingSlots` (dependency): at most `TAGUNGSBOT_MAX_CONCURRENT_EMBEDDINGS` questions
  are embedded and answered at once. A request waits up to `TAGUNGSBOT_EMBEDDING_WAIT_S`
  for a slot, then gets 503 with `Retry-After`: under overload the service sheds load
  quickly instead of queueing until every caller times out.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass
from typing import AsyncIterator, Mapping

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def _send_json(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    """Raised from inside `receive` when a streamed body passes the limit (FastAPI keeps HTTPExceptions)."""

    def __init__(self, limit: int, message: str | None = None) -> None:
        super().__init__(status_code=413, detail=message or body_limit_message(limit))


def body_limit_message(limit: int) -> str:
    return f"the request body is larger than {limit:,} bytes; send a shorter question (TAGUNGSBOT_MAX_BODY_BYTES)"


@dataclass(frozen=True)
class RouteBodyLimit:
    """A route's own body limit, and the sentence that explains it when it is passed."""

    max_bytes: int
    message: str


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413, without buffering them.

    `routes` maps (method, path) to a route's own limit (the document upload takes files of
    many megabytes; every other route keeps the small limit)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, routes: Mapping[tuple[str, str], RouteBodyLimit] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = dict(routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get((scope.get("method", ""), scope.get("path", ""))) if scope["type"] == "http" else None
        max_bytes = route.max_bytes if route is not None else self.max_bytes
        message = route.message if route is not None else body_limit_message(max_bytes)
        if scope["type"] != "http" or max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > max_bytes
            except ValueError:
                await _send_json(send, 400, "the Content-Length header is not a number")
                return
            if too_big:
                await _send_json(send, 413, message, {"connection": "close"})
                return
        seen = 0
        limit_message = message

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise BodyTooLarge(max_bytes, limit_message)
            return message

        await self.app(scope, counted_receive, send)


class RequestTimeout:
    """Answer 504 when the app has not begun its response within `timeout_s` (or a route's own
    time in `routes`, e.g. the document upload)."""

    def __init__(self, app: ASGIApp, timeout_s: float, routes: Mapping[tuple[str, str], float] | None = None) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.routes = dict(routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        timeout_s = self.timeout_s
        if scope["type"] == "http":
            timeout_s = self.routes.get((scope.get("method", ""), scope.get("path", "")), timeout_s)
        if scope["type"] != "http" or timeout_s <= 0:
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, watched_send), timeout_s)
        except asyncio.TimeoutError:
            if started:  # too late for a status code; the connection just ends
                return
            await _send_json(
                send, 504,
                f"the request took longer than {timeout_s:g} s and was stopped; retry later or ask a "
                f"shorter question (the limit is TAGUNGSBOT_REQUEST_TIMEOUT_S)",
                {"Retry-After": str(max(1, math.ceil(timeout_s / 4)))},
            )


class EmbeddingSlots:
    """A bounded number of concurrent embedding/answering jobs, with a short wait for a slot."""

    def __init__(self, size: int, wait_s: float) -> None:
        self.size = max(1, size)
        self.wait_s = max(0.0, wait_s)
        self._semaphore = asyncio.Semaphore(self.size)
        self.in_use = 0
        self.rejected = 0

    async def acquire(self) -> bool:
        """True when a slot was taken within `wait_s`; the caller must `release()` it."""
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.wait_s or 0.001)
        except asyncio.TimeoutError:
            self.rejected += 1
            return False
        self.in_use += 1
        return True

    def release(self) -> None:
        self.in_use -= 1
        self._semaphore.release()

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.wait_s))


async def embedding_slot(request: Request) -> AsyncIterator[None]:
    """Router dependency: hold one embedding slot for the request, or answer 503."""
    slots: EmbeddingSlots = request.app.state.embedding_slots
    if not await slots.acquire():
        metrics = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.overload_rejections.inc()
        raise HTTPException(
            status_code=503,
            detail=(
                f"the service is busy ({slots.size} questions are being answered); "
                f"retry in {slots.retry_after_s} s"
            ),
            headers={"Retry-After": str(slots.retry_after_s)},
        )
    try:
        yield
    finally:
        slots.release()
