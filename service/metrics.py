"""Prometheus metrics for /metrics, and the per-request access log line.

Everything lives in one `CollectorRegistry` per app (no process-global registry), so
tests can build several apps in one process. Exported:

    tagungsbot_http_requests_total{route,method,status}      counter
    tagungsbot_http_request_duration_seconds{route,method}   histogram
    tagungsbot_answers_total{outcome,language}               counter (outcome: answered|abstained)
    tagungsbot_rate_limited_total{caller}                    counter (429s)
    tagungsbot_overload_rejections_total                     counter (503 "busy")
    tagungsbot_reindex_total{result}                         counter (admin re-index jobs)
    tagungsbot_store_reloads_total{result}                   counter (store swaps: ok|failed; failed also counts
                                                             a damaged version and a store-watcher error)
    tagungsbot_store_reload_failing                          gauge 1 while the latest version could not be loaded
    tagungsbot_store_info{version,model}                     gauge = 1 for the served store
    tagungsbot_store_chunks / _documents                     gauges
    tagungsbot_ready                                         gauge 1/0
    tagungsbot_embedding_slots_in_use                        gauge

`route` is the route template (e.g. /api/search), never the raw path or query string:
queries can hold personal data, and raw paths would make label values unbounded.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, CounterMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.qa import QuestionAnswering

if TYPE_CHECKING:
    from service.limits import EmbeddingSlots
    from service.state import ServiceState

access_log = logging.getLogger("tagungsbot.access")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _StateCollector:
    """Reads store and reload figures from the `ServiceState` at scrape time."""

    def __init__(self, state: "ServiceState", slots: "EmbeddingSlots | None") -> None:
        self.state = state
        self.slots = slots

    def collect(self) -> Iterator[Any]:
        current = self.state.current()
        info = GaugeMetricFamily("tagungsbot_store_info", "The served store version", labels=["version", "model"])
        chunks = GaugeMetricFamily("tagungsbot_store_chunks", "Chunks in the served store")
        documents = GaugeMetricFamily("tagungsbot_store_documents", "Documents in the served store")
        ready = GaugeMetricFamily("tagungsbot_ready", "1 when a store is served")
        if isinstance(current, QuestionAnswering):
            manifest = current.store.manifest
            info.add_metric([manifest.version, manifest.model], 1)
            chunks.add_metric([], len(current.store.chunks))
            documents.add_metric([], len(current.store.documents))
            ready.add_metric([], 1)
        else:
            ready.add_metric([], 0)
        yield from (info, chunks, documents, ready)
        reloads = CounterMetricFamily("tagungsbot_store_reloads", "Store swaps attempted", labels=["result"])
        counts = getattr(self.state, "reload_counts", {})
        for result in ("ok", "failed"):
            reloads.add_metric([result], counts.get(result, 0))
        yield reloads
        failing = GaugeMetricFamily(
            "tagungsbot_store_reload_failing", "1 while the latest store version (or the watcher) failed; see /readyz"
        )
        failing.add_metric([], 1 if getattr(self.state, "last_reload_error", None) else 0)
        yield failing
        if self.slots is not None:
            in_use = GaugeMetricFamily("tagungsbot_embedding_slots_in_use", "Questions being embedded/answered now")
            in_use.add_metric([], self.slots.in_use)
            yield in_use


class ServiceMetrics:
    """The app's metrics; `render()` gives the Prometheus text format."""

    def __init__(self, state: "ServiceState", slots: "EmbeddingSlots | None" = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tagungsbot_http_requests", "HTTP requests by route and status", ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tagungsbot_http_request_duration_seconds", "Time to answer a request", ["route", "method"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.answers = Counter(
            "tagungsbot_answers", "Answers given, by outcome", ["outcome", "language"], registry=self.registry
        )
        self.rate_limited = Counter(
            "tagungsbot_rate_limited", "Requests refused with 429", ["caller"], registry=self.registry
        )
        self.overload_rejections = Counter(
            "tagungsbot_overload_rejections", "Requests refused with 503 because all embedding slots were busy",
            registry=self.registry,
        )
        self.reindex = Counter("tagungsbot_reindex", "Admin re-index jobs by result", ["result"], registry=self.registry)
        self.registry.register(_StateCollector(state, slots))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def observe_answer(self, abstained: bool, language: str) -> None:
        self.answers.labels("abstained" if abstained else "answered", language or "unknown").inc()


class MetricsMiddleware:
    """Counts and times every HTTP request and writes one structured access-log line."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def watched_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        finally:
            seconds = time.perf_counter() - began
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template, method).observe(seconds)
            client = scope.get("client")
            access_log.info(
                "%s %s %d", method, template, status,
                extra={"fields": {
                    "method": method, "route": template, "status": status, "ms": round(seconds * 1000, 2),
                    "client": client[0] if client else None,
                }},
            )


def observed_qa_factory(
    metrics: ServiceMetrics, question_log: logging.Logger | None
) -> Callable[..., QuestionAnswering]:
    """A `QuestionAnswering` factory for `ServiceState` that counts answers and logs questions.

    Question texts go only to `question_log`, which exists only when
    TAGUNGSBOT_LOG_QUESTIONS=1 (they can contain personal data).
    """

    class ObservedQuestionAnswering(QuestionAnswering):
        def ask(self, question: str, *args: Any, **kwargs: Any):  # type: ignore[override]
            result = super().ask(question, *args, **kwargs)
            answer = result.answer
            metrics.observe_answer(answer.abstained, getattr(answer, "language", ""))
            if question_log is not None:
                question_log.info(
                    "ask", extra={"fields": {
                        "kind": "ask", "question": question, "abstained": answer.abstained,
                        "store_version": self.version, "ms": round(result.took_ms, 2),
                    }},
                )
            return result

        def search(self, query: str, *args: Any, **kwargs: Any):  # type: ignore[override]
            result = super().search(query, *args, **kwargs)
            if question_log is not None:
                question_log.info(
                    "search", extra={"fields": {
                        "kind": "search", "question": query, "results": len(result.passages),
                        "store_version": self.version, "ms": round(result.took_ms, 2),
                    }},
                )
            return result

    return ObservedQuestionAnswering
